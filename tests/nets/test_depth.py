"""The load's distribution over depth: the deep share's closed forms and symmetry, and the
per-(alpha, depth) reduction of a depth panel."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from springblock.validation.nets import depth


@pytest.mark.parametrize("loads", [1, 2, 3, 7, 15])
def test_equal_loads_put_half_in_the_deeper_half_at_every_depth(loads):
    np.testing.assert_allclose(depth.deep_share(np.full(loads, 1.0 / loads), loads), 0.5)


def test_closed_forms_of_the_weights():
    # three loads on [0, 1/3], [1/3, 2/3], [2/3, 1]: the middle one straddles 1/2
    np.testing.assert_allclose(depth.deep_half_weights(3), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(depth.deep_half_weights(4), [0.0, 0.0, 1.0, 1.0])
    last = np.zeros(5)
    last[-1] = 1.0
    # float rounding of the interval edges (k / 5): 1e-12
    np.testing.assert_allclose(depth.deep_share(last, 5), 1.0, atol=1e-12)
    np.testing.assert_allclose(depth.deep_share(last[::-1], 5), 0.0, atol=1e-12)


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20).filter(lambda w: sum(w) > 1e-3))
def test_reversing_the_loads_mirrors_the_deep_share(weights):
    w = np.array(weights) / np.sum(weights)
    share = depth.deep_share(w, w.size)
    assert -1e-12 <= share <= 1 + 1e-12
    np.testing.assert_allclose(share + depth.deep_share(w[::-1], w.size), 1.0, atol=1e-12)


def _depth_panel(fractions_by_depth, seeds=3):
    """A minimal labelled depth panel: one alpha, the given per-depth load fractions for
    every seed (total load 2), NaN beyond each depth."""
    depths = [len(f) + 1 for f in fractions_by_depth]
    loads = max(depths) - 1
    elong = np.full((1, len(depths), seeds, loads), np.nan)
    for j, f in enumerate(fractions_by_depth):
        elong[0, j, :, : len(f)] = 2.0 * np.asarray(f)
    dims = ("alpha", "depth", "seed")
    return xr.Dataset(
        {
            "elongations": ((*dims, "load"), elong),
            "total_load": (dims, np.full(elong.shape[:3], 2.0)),
            "normalised_curvature": (dims, elong[..., 0] / 2.0 - 0.1),
        },
        coords={
            "alpha": [0.5],
            "depth": np.array(depths, float),
            "seed": np.arange(seeds),
            "net_depth": ("depth", depths),
        },
        attrs={"knob": "depth"},
    )


def test_load_by_depth_reduces_each_depth_on_its_own_loads():
    ds = _depth_panel([[0.5, 0.5], [0.1, 0.2, 0.3, 0.4]])
    by = depth.load_by_depth(ds)
    np.testing.assert_allclose(by["deep_share_mean"].values, [[0.5, 0.7]])
    np.testing.assert_allclose(by["deep_share_sem"].values, [[0.0, 0.0]], atol=1e-15)
    assert (by["deep_share_nets"].values == 3).all()
    assert np.isnan(by["load_fraction_mean"].values[0, 0, 2:]).all()
    rows = depth.summary(by)
    assert [r["depth"] for r in rows] == [3, 5] and rows[1]["deep_share"] == pytest.approx(0.7)


def test_undefined_shapes_are_left_out_and_only_depth_panels_are_accepted():
    ds = _depth_panel([[0.5, 0.5], [0.1, 0.2, 0.3, 0.4]])
    ds["normalised_curvature"][0, 1, :2] = np.nan  # two nets without a defined shape
    by = depth.load_by_depth(ds)
    assert int(by["deep_share_nets"][0, 1]) == 1 and np.isnan(by["deep_share_sem"][0, 1])
    with pytest.raises(ValueError, match="depth panel"):
        depth.load_by_depth(ds.assign_attrs(knob="width"))
