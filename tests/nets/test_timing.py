"""Wall-time estimates of a sweep from a sample of its nets: the sample covers every knob
value, the extrapolation is exact on a panel whose nets cost what the sample measured,
and an unusable sample is refused."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from springblock.validation.nets import sweep, timing
from springblock.validation.nets.executor import Execution
from tests.toy import write_toy_npz


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory):
    return write_toy_npz(tmp_path_factory.mktemp("data") / "toy.npz")


def spec_of(dataset, **kw):
    base = dict(dataset=str(dataset), seeds=10, epochs=2, depth=3, width=4)
    return sweep.SweepSpec(**{**base, **kw})


@given(per_value=st.integers(1, 40), seeds=st.integers(1, 10))
def test_sample_has_per_value_nets_of_every_value_and_the_panel_protocol(
    toy_file, per_value, seeds
):
    spec = spec_of(toy_file, knob="batch-size", values=(5, 10, 40), seeds=seeds)
    sample = timing.sample_spec(spec, per_value)
    assert sample.values == spec.values
    expected = min(per_value, seeds * len(spec.alphas))
    # whole alpha rows of seeds: at least per_value nets, fewer than one row more
    assert expected <= sample.nets // len(spec.values) < expected + seeds
    assert sample.alphas == spec.alphas[: len(sample.alphas)]
    same = ("knob", "epochs", "depth", "width", "learning_rate", "optimizer", "dataset")
    assert all(getattr(sample, f) == getattr(spec, f) for f in same)


def synthetic_sample(spec, per_net, compile_s, first):
    """Labelled results whose nets took per_net[v] seconds, plus compile_s where first."""
    assert spec.values is not None
    shape = (len(spec.alphas), len(spec.values), spec.seeds)
    seconds = np.broadcast_to(np.asarray(per_net)[None, :, None], shape) + compile_s * first
    dims = ("alpha", spec.dim, "seed")
    return xr.Dataset({"train_seconds": (dims, seconds), "first_of_shape": (dims, first * 1.0)})


@given(
    per_net=st.lists(st.floats(0.01, 10.0), min_size=3, max_size=3),
    compile_s=st.floats(0.0, 30.0),
    overhead=st.floats(0.0, 20.0),
    workers=st.integers(1, 4),
)
def test_extrapolation_is_exact_when_every_net_costs_what_the_sample_measured(
    toy_file, per_net, compile_s, overhead, workers
):
    """Each worker compiles each shape once (in parallel); the panel then costs
    sum_v n_v t_v / W + S c + o, which is what the estimate from any sample must give."""
    for knob, values in (("batch-size", (5, 10, 40)), ("dropout", (0.0, 0.1, 0.2))):
        panel = spec_of(toy_file, knob=knob, values=values)
        sample = timing.sample_spec(panel, 3)
        first = np.zeros((len(sample.alphas), 3, sample.seeds), bool)
        if knob == "batch-size":
            first[0, :, 0] = True  # every value is its own shape
        else:
            first[0, 0, 0] = True
        measured = synthetic_sample(sample, per_net, compile_s, first)
        wall = float(measured["train_seconds"].sum()) / workers + overhead
        got = timing.estimate(panel, measured, wall, workers)
        shapes = 3 if knob == "batch-size" else 1
        panel_wall = panel.nets / 3 * sum(per_net) / workers + shapes * compile_s + overhead
        np.testing.assert_allclose(got.total_s, panel_wall, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(got.seconds_per_net, per_net, rtol=1e-9)
        assert got.shapes == shapes and got.nets == panel.nets


def test_a_sample_without_compiled_nets_or_with_missing_nets_is_refused(toy_file):
    panel = spec_of(toy_file, knob="batch-size", values=(5, 10))
    sample = timing.sample_spec(panel, 1)
    first = np.ones((1, 2, 1), bool)
    with pytest.raises(ValueError, match=r"batch-size = \[10.0\]|at least 2 nets"):
        timing.estimate(panel, synthetic_sample(sample, [1.0, 1.0], 5.0, first), 10.0, 1)
    sample = timing.sample_spec(panel, 2)
    measured = synthetic_sample(sample, [1.0, 1.0], 0.0, np.zeros((1, 2, 2), bool))
    measured["train_seconds"][0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="incomplete"):
        timing.estimate(panel, measured, 10.0, 1)


def test_measured_estimate_of_a_real_panel(toy_file, tmp_path):
    panel = spec_of(toy_file, knob="data-noise", values=(0.0, 0.5))
    got = timing.measure(panel, tmp_path, per_value=2, execution=Execution(workers=0))
    assert got.sampled_nets == 4 and got.workers == 1 and got.nets == panel.nets
    assert all(t > 0 for t in got.seconds_per_net) and got.compile_s >= 0
    assert got.training_s == pytest.approx(panel.nets / 2 * sum(got.seconds_per_net))
    assert got.total_s == pytest.approx(got.training_s + got.compile_s + got.overhead_s)
