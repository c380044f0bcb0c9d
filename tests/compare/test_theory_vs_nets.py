"""The theory-vs-nets fit (validation.compare.theory_vs_nets): recovery of a planted map,
a shuffled negative control, monotone maps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from springblock.validation.compare import theory_vs_nets as compare


@pytest.fixture(scope="module")
def table():
    # A coarse table keeps the test fast; the fit only interpolates in it.
    return compare.model_table(6, mu_points=9, noise_points=11)


def test_fit_recovers_a_planted_map(table):
    """Nets whose c and v are exactly a model prediction under some monotone map: the fit on
    half the cells predicts the other half (sign of c, ranks of c and v)."""
    alphas = np.linspace(0, 1, 6)
    values = np.linspace(0, 0.8, 8)
    theta = np.array([np.log(0.2), 0.0, np.log(0.004), np.log(0.3), 0.3, np.log(3.0)])
    A, U = np.meshgrid(alphas, compare.knob_coordinate("data-noise", values), indexing="ij")
    mu, sigma, scale = compare.maps(theta, A, U)
    c_of, v_of = table.interpolators()
    points = np.stack([mu, np.log(sigma)], -1)
    c, v = scale * c_of(points), scale * v_of(points)
    result = compare.compare("data-noise", alphas, values, c, v, depth=8, table=table, starts=6)
    held = result["held_out"]
    nonzero = np.abs(c[~compare.checkerboard(c.shape)]) > 1e-3 * np.abs(c).max()
    assert held["sign_agreement_c"] >= nonzero.mean() - 1e-9
    assert held["spearman_c"] > 0.9 and held["spearman_v"] > 0.9


def test_shuffled_nets_score_worse(table):
    """Negative control: the same planted data with cells shuffled loses its rank agreement."""
    alphas, values = np.linspace(0, 1, 6), np.linspace(0, 0.8, 8)
    theta = np.array([np.log(0.2), 0.0, np.log(0.004), np.log(0.3), 0.3, np.log(3.0)])
    A, U = np.meshgrid(alphas, values, indexing="ij")
    mu, sigma, scale = compare.maps(theta, A, U)
    c_of, v_of = table.interpolators()
    points = np.stack([mu, np.log(sigma)], -1)
    c, v = scale * c_of(points), scale * v_of(points)
    perm = np.random.default_rng(0).permutation(c.size)
    shuffled = compare.compare(
        "data-noise",
        alphas,
        values,
        c.ravel()[perm].reshape(c.shape),
        v.ravel()[perm].reshape(v.shape),
        depth=8,
        table=table,
        starts=4,
    )
    planted = compare.compare("data-noise", alphas, values, c, v, depth=8, table=table, starts=4)
    assert shuffled["held_out"]["spearman_c"] < planted["held_out"]["spearman_c"] - 0.3


@given(theta=st.lists(st.floats(-2, 1), min_size=6, max_size=6))
def test_maps_are_monotone(theta):
    """Friction falls with alpha (to 0 at the linear net); noise rises with the knob."""
    a = np.linspace(0, 1, 11)
    u = np.linspace(0, 1, 11)
    mu, sigma, scale = compare.maps(np.array(theta), a, u)
    assert np.all(np.diff(mu) <= 0) and mu[-1] == 0
    assert np.all(np.diff(sigma) >= 0) and scale > 0


def test_knob_coordinate_orders_noise():
    assert np.all(np.diff(compare.knob_coordinate("batch-size", np.array([5, 50, 500]))) < 0)
    assert np.all(
        np.diff(compare.knob_coordinate("learning-rate", np.array([1e-4, 1e-2, 0.5]))) > 0
    )
