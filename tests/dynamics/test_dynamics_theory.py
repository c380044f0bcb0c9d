"""Symbolic checks of theory.dynamics.representation and its compiled solutions
(numerics.dynamics.solve).

Independent references: sympy differentiation and simplification, long diffrax
integrations, scipy quadrature of t(u) = int tau du / f(u) for the deep-linear mode.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from springblock.numerics.checks import UnfinishedSolve
from springblock.numerics.dynamics import solve as ds
from springblock.params import ParameterError
from springblock.theory.dynamics import representation as dr


@pytest.mark.parametrize("perturbation", dr.PERTURBATIONS)
def test_conserved_quantity_is_conserved_symbolically(perturbation):
    """dC/dt = 0 for the pair equations and for the perturbed w equations (C involves only
    the h and y equations), so conservation alone cannot tell the controls apart."""
    assert dr.PairModel(perturbation).conservation_residual() == 0


def test_fixed_point_and_final_distance():
    assert dr.PairModel().fixed_point_residual() == [0, 0, 0]
    assert dr.final_distance_residual() == 0
    assert sp.simplify(dr.rich_limit() - sp.sqrt(dr.ratio * dr.dx2 * dr.dy2)) == 0
    # the implied ratio inverts the final-distance formula
    r = dr.ratio_from_final_state()
    back = dr.final_distance(r=r).subs(dr.h_final, sp.Rational(7, 5))
    values = {dr.h0: sp.Rational(1, 2), dr.y0: sp.Rational(1, 10), dr.dx2: 1, dr.dy2: 2}
    assert sp.nsimplify(back.subs(values)) == sp.Rational(7, 5)


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_deep_linear_mode_equation_from_layer_flows(depth):
    assert dr.DeepLinearMode(depth).layer_flow_residual() == 0


def test_deep_linear_closed_forms():
    for depth in (1, 2):
        assert dr.DeepLinearMode(depth).closed_form_residual() == (0, 0)
    assert dr.DeepLinearMode(2).learning_time_residual() == 0
    with pytest.raises(NotImplementedError):
        dr.DeepLinearMode(3).closed_form()
    with pytest.raises(ParameterError, match="perturbation"):
        dr.PairModel("other")


#: Every solve in this module uses 4 pairs and 40 saved times: one compilation.
TIMES = np.geomspace(1e-2, 2e4, 40)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_conservation_along_solutions(seed):
    """C stays constant along diffrax solutions of 4 random pairs: relative drift < 1e-6
    (solver rtol 1e-9 over ~1e3 steps; a wrong right-hand side drifts at O(1)). Starts are
    states a network can have: w = y - (output difference).(target difference), so
    w0 = y0 - cosine sqrt(y0 dy2) with |cosine| <= 1; cosine >= 0 here (anti-aligned outputs
    can drive h to 0 before y, where the equations are singular)."""
    rng = np.random.default_rng(seed)
    h0 = 10 ** rng.uniform(-3, 1.3, 4)
    y0 = rng.uniform(0, 2, 4) * h0
    dy2 = rng.uniform(0.05, 2, 4)
    w0 = y0 - rng.uniform(0, 1, 4) * np.sqrt(y0 * dy2)
    eta_h, eta_y = 10 ** rng.uniform(-3, -1, 4), 10 ** rng.uniform(-3, -1, 4)
    tr = ds.solve_pairs(TIMES, h0, y0, w0, eta_h, eta_y, 1.0, dy2)
    assert np.all(np.isfinite(tr.h))
    scale = eta_y * h0 + eta_h * y0 / h0 + eta_y * np.abs(tr.h).max(axis=1)
    drift = np.abs(tr.conserved - tr.conserved[:, :1]).max(axis=1)
    assert np.all(drift < 1e-6 * scale)


def test_converged_pair_finishes_the_horizon():
    """Regression: the third start of seed 45191 above. The implicit Kvaerno5 used to stall
    at t = 19640 of 2e4 after convergence (chord iterations reading round-off, module
    docstring of numerics.dynamics.solve) and returned inf there. Now the convergence event
    holds the fixed point (h_inf(C), dy2, 0): the last save is finite, equals the closed
    form to 1e-8 (solver rtol 1e-9; the held value is exact for the C of the event state),
    and C keeps its starting value to 1e-8 relative. (Four copies: the shapes of the
    property test, so the compilation is shared; the lanes are independent.)"""
    h0, y0, w0 = 0.036192358742873874, 0.005608406100818104, -0.031268888400773645
    eta_h, eta_y, dy2 = 0.02095260796666199, 0.005282699449532321, 1.4546637103196036
    tr = ds.solve_pairs(TIMES, np.full(4, h0), y0, w0, eta_h, eta_y, 1.0, dy2)
    assert np.all(np.isfinite(tr.h)) and np.all(np.isfinite(tr.w))
    final = ds.final_distance(h0, y0, eta_h, eta_y, 1.0, dy2)
    np.testing.assert_allclose(tr.h[0, -1], final[0], rtol=1e-8)
    np.testing.assert_allclose(tr.y[0, -1], dy2, rtol=1e-8)
    assert tr.w[0, -1] == 0.0  # held fixed point
    np.testing.assert_allclose(tr.conserved[0], tr.conserved[0, 0], rtol=1e-8)


def test_unfinished_solve_is_flagged_and_raises_naming_the_parameters(monkeypatch):
    """A solve that runs out of steps is reported unfinished (3 steps cannot integrate
    dz/dt = -z to t = 2e4 at rtol 1e-9), and solve_pairs turns an unfinished pair into an
    error naming its parameters instead of returning inf frames."""
    with jax.enable_x64(True):
        solved = jax.jit(
            lambda t, z: ds._solve(
                lambda z, p: -z, ds._mode_fixed_point, t, z, (0.0,), 1.0, max_steps=3, hold=False
            )
        )(jnp.asarray(TIMES), jnp.ones(1))
    assert not bool(solved.finished) and int(solved.steps) == 3

    def budget_exhausted(times, start, params):
        return jnp.full((*start.shape[:1], times.shape[0], 3), jnp.inf), jnp.zeros(2, bool)

    monkeypatch.setattr(ds, "_pair_solver", lambda: budget_exhausted)
    with pytest.raises(UnfinishedSolve, match=r"2 of 2 solves stopped.*eta_h=0\.0123"):
        ds.solve_pairs(TIMES, [0.5, 0.6], 0.1, 0.0, 0.0123, 0.05, 1.0, 0.5)


def test_closed_form_final_distance_matches_long_time_solution():
    """h(t) at t = 1e6 (>= 1e3 relaxation times 1/(eta min(h, dx2/h))) vs the closed form,
    from rich, intermediate and lazy starts: rtol 1e-6; y -> dy2, w -> 0."""
    h0 = np.array([1e-4, 0.05, 5.0, 40.0])
    y0 = np.array([1e-8, 1e-3, 3.0, 10.0])
    w0 = y0 - np.array([0.9, 0.5, 0.2, 0.8]) * np.sqrt(y0 * 0.5)  # consistent starts
    args = (0.02, 0.05, 1.0, 0.5)
    tr = ds.solve_pairs(np.geomspace(1, 1e6, 40), h0, y0, w0, *args)
    np.testing.assert_allclose(tr.h[:, -1], ds.final_distance(h0, y0, *args), rtol=1e-6)
    np.testing.assert_allclose(tr.y[:, -1], 0.5, rtol=1e-6)
    assert np.abs(tr.w[:, -1]).max() < 1e-6


def test_rich_limit_is_independent_of_initialisation():
    """Starts with h0 from 1e-7 to 1e-4 (y0 = h0^2, two small layers) end at
    sqrt(eta_h/eta_y dx2 dy2) within 1e-3 relative, whatever w0; lazy starts keep h0."""
    h0 = np.array([1e-7, 1e-6, 1e-5, 1e-4])
    w0 = np.array([0.0, -1e-4, 1e-5, -1e-3]) * h0
    eta_h, eta_y, dx2, dy2 = 0.01, 0.04, 2.0, 0.5
    tr = ds.solve_pairs(np.geomspace(1, 1e8, 40), h0, h0**2, w0, eta_h, eta_y, dx2, dy2)
    np.testing.assert_allclose(tr.h[:, -1], np.sqrt(eta_h / eta_y * dx2 * dy2), rtol=1e-3)
    lazy = ds.final_distance(np.array([1e3, 1e4]), 1.0, eta_h, eta_y, dx2, dy2)
    np.testing.assert_allclose(lazy, [1e3, 1e4], rtol=1e-3)


def test_fit_recovers_rates_and_rejects_perturbed_equations():
    """A trajectory generated with known (eta_h, eta_y) = (3e-3, 1e-3) is fitted back to
    1e-5 relative (the fit integrates at rtol 1e-7); the perturbed equations (negative
    controls, same fitting) leave residuals at least 100x larger. 100 samples after t = 0,
    one pair: the shapes of the trained-net comparisons, so the compilation is shared."""
    times = np.linspace(0, 3000, 101)
    h0, y0, w0 = np.array([0.05, 0.3, 1.0, 2.0]), np.array([0.01, 0.02, 0.1, 0.2]), -0.05
    tr = ds.solve_pairs(times[1:], h0, y0, w0, 3e-3, 1e-3, 1.0, np.array([0.5, 1.5, 1, 1]))
    h, y, w = (np.concatenate([[s], v[0]]) for s, v in ((h0[0], tr.h), (y0[0], tr.y), (w0, tr.w)))
    fit = ds.fit_rates(times, h, y, w, 1.0, 0.5)
    assert fit.refined  # Levenberg-Marquardt converged and improved on the grid
    assert fit.eta_h == pytest.approx(3e-3, rel=1e-5)
    assert fit.eta_y == pytest.approx(1e-3, rel=1e-5)
    assert fit.loss < 1e-10
    for name in ("decoder", "encoder"):
        control = ds.fit_rates(times, h, y, w, 1.0, 0.5, perturbation=name)
        assert control.loss > 100 * max(fit.loss, 1e-8), name


@pytest.mark.parametrize("depth", [2, 3])
def test_deep_linear_solutions(depth):
    """diffrax solution of tau du/dt = D u^(2-2/D)(s - u) vs the closed form (D = 2) and vs
    the times t(u) = int_u0^u tau du'/(D u'^(2-2/D)(s - u')) by scipy quadrature (any D):
    relative 1e-6."""
    s, u0, tau = np.array([3.0, 1.0]), 1e-2, 2.0
    times = np.linspace(0, 40, 81)
    ode = ds.deep_linear(times, s, u0, tau, depth, method="ode")
    if depth == 2:
        np.testing.assert_allclose(ode, ds.deep_linear(times, s, u0, tau, depth), rtol=1e-6)
    for mode, sv in enumerate(s):
        for index in (10, 30, 60):
            u = ode[mode, index]
            if u > 0.999 * sv:
                continue
            elapsed, _ = integrate.quad(
                lambda v, sv=sv: tau / (depth * v ** (2 - 2 / depth) * (sv - v)),
                u0,
                u,
                epsabs=0,
                epsrel=1e-10,
                limit=200,
            )
            assert elapsed == pytest.approx(times[index], rel=1e-6)


def test_bad_input_names_the_parameter():
    with pytest.raises(ParameterError, match="h0"):
        ds.solve_pairs([1.0], 0.0, 0.1, 0.0, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ParameterError, match="eta_y"):
        ds.final_distance(1.0, 0.1, 1.0, -1.0, 1.0, 1.0)
    with pytest.raises(ParameterError, match="times"):
        ds.solve_pairs([2.0, 1.0], 0.1, 0.1, 0.0, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ParameterError, match="method"):
        ds.deep_linear([1.0], [1.0], 0.1, depth=3, method="closed")
    for times in ([2.0, 1.0], [-5.0, 1.0]):
        with pytest.raises(ParameterError, match="times"):
            ds.deep_linear(times, [1.0], 0.1)
    with pytest.raises(ParameterError, match="u_final"):
        ds.learning_time(1.0, 0.1, 2.0)
    with pytest.raises(ParameterError, match="u_final"):
        ds.learning_time(1.0, 0.5, 0.2)
    with pytest.raises(ParameterError, match="tau"):
        ds.learning_time(1.0, 0.1, 0.5, tau=-1.0)
