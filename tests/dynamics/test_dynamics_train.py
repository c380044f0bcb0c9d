"""Trained networks vs the representation-dynamics theory (validation.dynamics.train).

Deep linear nets: gradient descent at small learning rate vs the Saxe et al. closed form
(first-order convergence in the step). Two-point task: nets of width 64 and 6 hidden
layers at rich, intermediate and lazy gains, fitted by the van Rossem-Saxe equations and
by a perturbed (wrong) version as a negative control.
"""

from __future__ import annotations

import numpy as np
import pytest

from springblock.numerics.dynamics import solve as ds
from springblock.params import ParameterError
from springblock.validation.dynamics import train as dt


def _linear_error(lr, depth):
    """Max |u_GD - u_theory| over modes and time, time measured as steps x lr (tau = 1)."""
    duration = 6.0
    run = dt.train_deep_linear(
        [3.0, 1.5, 0.5],
        u0=1e-2,
        depth=depth,
        lr=lr,
        steps=int(round(duration / lr)),
        seed=1,
        records=100,
    )
    theory = ds.deep_linear(run.times * lr, run.singular_values, 1e-2, 1.0, depth)
    return np.abs(run.strengths - theory).max()


@pytest.mark.parametrize("depth", [2, 3])
def test_deep_linear_gradient_descent_converges_to_the_theory(depth):
    """Gradient descent is the Euler discretisation of the gradient flow, so its distance to
    the exact solution (closed form for D = 2, diffrax for D = 3) is O(lr): halving lr
    halves it (ratio in [1.7, 2.3]), and at lr = 1e-3 it is below 1% of the largest s."""
    coarse, fine = _linear_error(2e-3, depth), _linear_error(1e-3, depth)
    assert 1.7 < coarse / fine < 2.3
    assert fine < 0.01 * 3.0


#: (gain, learning rate) of the three regimes for width 64, 6 hidden layers, layer 3.
REGIMES = {"rich": (0.8, 0.05), "intermediate": (1.2, 0.01), "lazy": (2.0, 3e-4)}


@pytest.fixture(scope="module")
def two_point_runs():
    x, t = dt.two_point_task(1.0, 0.5)
    runs = {}
    for name, (gain, lr) in REGIMES.items():
        cfg = dt.NetConfig(width=64, hidden_layers=6, tracked_layer=3, gain=gain, lr=lr, steps=1500)
        runs[name] = dt.compare_pairs(
            dt.train_pairs(cfg, x, t, seed=0, every=15), points=101, controls=("decoder",)
        )
    return runs


def test_pair_equations_fit_trained_nets(two_point_runs):
    """In every regime the fitted equations follow h, y, w with a mean squared scaled
    residual below 5e-3 (measured 1e-4 to 4e-3), and the final distance predicted from the
    initial state by the closed form matches the trained net within 1% (rich,
    intermediate) and 8% (lazy: the net's h drifts down by ~5% while the theory keeps it)."""
    for name, comparison in two_point_runs.items():
        assert comparison.fit.loss < 5e-3, name
        tolerance = 0.08 if name == "lazy" else 0.01
        np.testing.assert_allclose(
            comparison.final_predicted, comparison.final_measured, rtol=tolerance, err_msg=name
        )


def test_perturbed_equations_fit_worse(two_point_runs):
    """Negative control: the w equation with 3w replaced by w (it conserves C too), fitted
    the same way, leaves residuals at least 10x larger in the rich and intermediate regimes
    (measured > 50x) and 2x in the lazy one (measured 3x: h hardly moves there, so the
    trajectories constrain the w equation less)."""
    for name, comparison in two_point_runs.items():
        factor = 2 if name == "lazy" else 10
        assert comparison.controls["decoder"].loss > factor * comparison.fit.loss, name


def test_rich_and_lazy_regimes(two_point_runs):
    """Rich: the representation distance grows from ~1% of dx2 to the target scale; lazy:
    it changes by less than 10%; and only the rich run is near the initialisation-free
    limit sqrt(eta_h/eta_y dx2 dy2) (within 15%)."""
    rich, lazy = two_point_runs["rich"], two_point_runs["lazy"]
    assert rich.final_measured[0] > 10 * rich.run.h[0, 0]
    assert abs(lazy.final_measured[0] / lazy.run.h[0, 0] - 1) < 0.1
    for comparison, near in ((rich, True), (lazy, False)):
        limit = np.sqrt(comparison.fit.eta_h / comparison.fit.eta_y * 0.5)
        assert (abs(comparison.final_measured[0] / limit - 1) < 0.15) == near


def test_rich_limit_is_independent_of_gain():
    """Two rich initialisations (gains 0.7 and 0.8, h0 differing by more than 2x) end at the same
    representation distance within 5%."""
    x, t = dt.two_point_task(1.0, 0.5)
    finals = []
    for gain in (0.7, 0.8):
        cfg = dt.NetConfig(
            width=64, hidden_layers=6, tracked_layer=3, gain=gain, lr=0.05, steps=1500
        )
        run = dt.train_pairs(cfg, x, t, seed=0, every=15)
        finals.append((run.h[0, 0], run.h[0, -1]))
    assert finals[1][0] > 2 * finals[0][0]
    assert finals[0][1] == pytest.approx(finals[1][1], rel=0.05)


def test_diverging_training_is_an_error_naming_the_learning_rate():
    """A learning rate far above the lazy net's stability (gain 2, rate 1 instead of 3e-4)
    blows the loss up within a few steps; the run stops with an error naming lr instead
    of returning non-finite trajectories (same architecture and record count as above,
    so the compilation is shared)."""
    cfg = dt.NetConfig(width=64, hidden_layers=6, tracked_layer=3, gain=2.0, lr=1.0, steps=100)
    with pytest.raises(ParameterError, match="lr"):
        dt.train_pairs(cfg, *dt.two_point_task(1.0, 0.5), records=100)


def test_record_steps_are_evenly_spaced_integers():
    np.testing.assert_array_equal(dt.record_steps(10, 4), [0, 2, 5, 8, 10])
    np.testing.assert_array_equal(dt.record_steps(1500, 100), np.arange(0, 1501, 15))
    with pytest.raises(ParameterError, match="records"):
        dt.record_steps(10, 11)


def test_bad_input():
    with pytest.raises(ParameterError, match="tracked_layer"):
        dt.NetConfig(hidden_layers=3, tracked_layer=3)
    with pytest.raises(ParameterError, match="gain"):
        dt.NetConfig(gain=0.0)
    with pytest.raises(ParameterError, match="every"):
        dt.train_pairs(dt.NetConfig(steps=10), *dt.two_point_task(), every=3)
    with pytest.raises(ParameterError, match="singular_values"):
        dt.train_deep_linear([1.0, -1.0])
    # the stability limit 2/(D s_max^(2-2/D)) is 1/3 for D = 2, s_max = 3
    assert dt.stability_limit([3.0, 1.0], 2) == pytest.approx(1 / 3)
    with pytest.raises(ParameterError, match="lr"):
        dt.train_deep_linear([3.0, 1.0], lr=0.34)
    with pytest.raises(ParameterError, match="width"):
        dt.NetConfig(width=4096, hidden_layers=6)
