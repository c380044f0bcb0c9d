"""Panel sweeps (resume after an interruption), the nets CLI contract, and the
theory-vs-nets fit (recovery of a planted map, a shuffled negative control)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from springblock.params import ParameterError
from springblock.validation.compare import theory_vs_nets as compare
from springblock.validation.nets import sweep
from springblock.validation.nets.data import Dataset


@pytest.fixture(scope="module")
def toy():
    """Three well-separated Gaussian classes in 6 dimensions: trains in a few epochs."""
    rng = np.random.default_rng(0)
    means = rng.normal(0, 2, (3, 6))
    y = rng.integers(0, 3, 120)
    x = (means[y] + rng.normal(size=(120, 6))).astype(np.float32)
    return Dataset("toy", x[:90], y[:90].astype(np.int32), x[90:], y[90:].astype(np.int32), 3)


def tiny_spec(**kw):
    base = dict(
        knob="data-noise",
        dataset="toy",
        alphas=(0.0, 1.0),
        values=(0.0, 0.5),
        seeds=2,
        epochs=3,
        depth=3,
        width=8,
        train_size=None,
    )
    return sweep.SweepSpec(**{**base, **kw})


class Interrupt(Exception):
    pass


def test_interrupted_sweep_resumes_to_identical_results(toy, tmp_path):
    spec = tiny_spec()
    reference = sweep.run(spec, tmp_path / "straight", toy)
    assert bool(reference["complete"])

    def stop_after_three(done, total):
        if done == 3:
            raise Interrupt

    store = tmp_path / "interrupted"
    with pytest.raises(Interrupt):
        sweep.run(spec, store, toy, stop_after_three)
    kept = sorted((store / "nets").glob("*.npz"))
    assert len(kept) == 3  # what finished before the interruption is on disk
    partial = sweep.collect(spec, store)
    assert not bool(partial["complete"]) and np.isnan(partial["test_accuracy"]).sum() == 5
    calls = []
    resumed = sweep.run(spec, store, toy, lambda d, t: calls.append(d))
    assert calls[-1] == spec.nets
    for name in ("separation_pinv", "test_accuracy", "curvature", "weight_change"):
        np.testing.assert_array_equal(resumed[name], reference[name])


def test_batched_sweep_matches_streamed(toy, tmp_path):
    streamed = sweep.run(tiny_spec(), tmp_path / "a", toy)
    batched = sweep.run(tiny_spec(batched=True), tmp_path / "b", toy)
    # float32, vmapped vs one at a time over 3 Adam steps: summation order only.
    np.testing.assert_allclose(batched["separation_trace"], streamed["separation_trace"], atol=1e-3)


def test_records_have_the_documented_keys(toy, tmp_path):
    spec = tiny_spec(seeds=1)
    fields = sweep.run(spec, tmp_path, toy)
    recs = sweep.records(spec, fields)
    assert len(recs) == spec.nets
    for rec in recs:
        for key in ("alpha", "value", "seed", "test_accuracy", "load_curve", "spread", "curvature"):
            assert key in rec
        assert len(rec["load_curve"]) == spec.depth  # h_0 .. h_{depth-1}
        d = -np.diff(rec["load_curve"])
        assert rec["curvature"] == pytest.approx(d[0] - d[-1], abs=1e-6)
        assert rec["spread"] == pytest.approx(np.std(d), abs=1e-6)
    json.dumps(recs)  # serialisable


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("knob", "temperature"),
        ("alphas", (1.5,)),
        ("values", (-0.1,)),
        ("seeds", 0),
        ("measure", "cka"),
    ],
)
def test_bad_sweep_spec_names_the_parameter(field, value):
    with pytest.raises(ParameterError) as err:
        tiny_spec(**{field: value})
    assert err.value.name == field


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
