"""Tests of :mod:`springblock.theory.spring.phases`: stationary profile, prediction, boundaries.

Independent references: the chain forces of the stationary profile recomputed with
``chain.spring_forces`` and a numpy Laplacian, the stationary force found by Brent's
method, boundaries re-found with Brent's method on ``predict``, and 30-digit sympy
evaluation of the closed-form boundary substituted back into the curvature.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from scipy import optimize

from springblock.theory.spring import chain, drift, equilibrium, friction, phases

SETTINGS = settings(max_examples=40, deadline=None)

blocks = st.integers(min_value=1, max_value=30)
stiffness = st.floats(min_value=0.1, max_value=5.0)
frictions = st.floats(min_value=0.001, max_value=0.5)
targets = st.floats(min_value=0.1, max_value=5.0)
noises = st.floats(min_value=1e-3, max_value=2.0)


def numpy_forces(x, k, y):
    n = len(x)
    A = -2.0 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
    b = np.zeros(n)
    b[-1] = y
    return k * (A @ np.asarray(x, dtype=float) + b)


def brent_stationary_force(noise, right, left):
    return optimize.brentq(
        lambda f: drift.mean_drift_value(f, noise, right, left), -left, right, xtol=1e-15
    )


# ---------------------------------------------------------------- stationary profile


@pytest.mark.parametrize("L", [1, 2, 3, 7, 30])
def test_stationary_elongations_symbolic(L):
    d = phases.stationary_elongations(L)
    assert len(d) == L + 1
    assert sp.simplify(sp.Add(*d) - chain.y) == 0
    x = list(itertools.accumulate(d[:-1]))
    f_star = (friction.mu_R - friction.mu_L) / 2
    for F in chain.spring_forces(x):
        assert sp.simplify(F - f_star) == 0
    assert sp.simplify(chain.curvature(d) - phases.stationary_curvature(L)) == 0


@SETTINGS
@given(
    L=blocks,
    k=stiffness,
    y=targets,
    right=frictions,
    left=frictions,
    noise=st.floats(min_value=0.05, max_value=2.0),
)
def test_stationary_profile_balances_the_stationary_force(L, k, y, right, left, noise):
    d = np.array([float(v) for v in phases.stationary_elongations(L, k, y, right, left)])
    x = np.cumsum(d)[:-1]
    # sum of elongations and positions of size <= 30 * 5: rounding ~1e-13
    assert d.sum() == pytest.approx(y, abs=1e-11)
    noise = max(noise, (right + left) / 6)  # F* well conditioned as a root of g
    f_star = brent_stationary_force(noise, right, left)
    # every block feels F* (found here as the root of g, not from the closed form)
    np.testing.assert_allclose(numpy_forces(x, k, y), f_star, rtol=0, atol=1e-9)


@SETTINGS
@given(L=blocks, k=stiffness, y=targets, right=frictions, left=frictions)
def test_stationary_curvature_and_spread(L, k, y, right, left):
    d = np.array([float(v) for v in phases.stationary_elongations(L, k, y, right, left)])
    c_inf = float(phases.stationary_curvature(L, k, right, left))
    v_inf = float(phases.stationary_spread(L, k, right, left))
    # numpy statistics of the profile; O(1) numbers: 1e-12 absolute
    assert c_inf == pytest.approx(d[0] - d[-1], abs=1e-12)
    assert v_inf == pytest.approx(np.std(d), abs=1e-12)
    # sympy statistics of the same profile, computed by chain
    assert float(chain.curvature(d)) == pytest.approx(c_inf, abs=1e-12)
    assert float(chain.spread(list(d))) == pytest.approx(v_inf, abs=1e-12)
    # convex exactly when mu_L > mu_R (blocks slip forward more easily than back)
    assert phases.classify(c_inf, 0.0) == (
        "convex" if left > right else "concave" if left < right else "linear"
    )


def test_stationary_spread_symbolic_general_L():
    L, k = phases.L_sym, chain.k
    expr = phases.stationary_spread(L, k)
    for n in (1, 4, 9):
        d = phases.stationary_elongations(n)
        diff = (expr.subs(L, n) - chain.spread(d)).subs(
            {
                friction.mu_R: sp.Rational(3, 10),
                friction.mu_L: sp.Rational(1, 7),
                chain.k: sp.Rational(2),
                chain.y: sp.Rational(1),
            }
        )
        assert sp.simplify(diff) == 0


# ---------------------------------------------------------------- boundaries


_boundary_args = (
    phases.c_b,
    phases.c_0,
    phases.T,
    phases.L_sym,
    chain.k,
    friction.mu_R,
    friction.mu_L,
)
_boundary_mp = sp.lambdify(_boundary_args, phases.boundary_expr(), "mpmath")
_curvature_mp = sp.lambdify(
    (*_boundary_args[1:], drift.sigma), phases.curvature_expr(), [{"Phi": mpmath.ncdf}, "mpmath"]
)


@SETTINGS
@given(
    L=blocks,
    k=stiffness,
    right=frictions,
    left=frictions,
    c0=st.floats(min_value=-5.0, max_value=5.0),
    fraction=st.floats(min_value=0.01, max_value=0.99),
    p=st.floats(min_value=1e-3, max_value=0.49),
)
def test_boundary_expr_solves_curvature_equation(L, k, right, left, c0, fraction, p):
    """Pick a valid (level, T) from the fraction and p of the docstring; substitute back."""
    c_inf = L * (left - right) / (2 * k)
    assume(abs(c0 - c_inf) > 1e-3)
    level = c_inf + fraction * (c0 - c_inf)
    lam1 = 4 * math.sin(math.pi / (2 * (L + 1))) ** 2
    duration = -math.log(fraction) / (2 * lam1 * k * p)
    with mpmath.workdps(30):  # 30-digit evaluation of both closed forms
        sigma_b = _boundary_mp(level, c0, duration, L, k, right, left)
        residual = _curvature_mp(c0, duration, L, k, right, left, sigma_b) - level
    # an exact identity evaluated at 30 digits: the residual is ~1e-25; 1e-9 as asked
    assert abs(float(residual)) <= 1e-9
    # and the boundary is a positive noise level
    assert sigma_b > 0


params = st.tuples(
    blocks,
    stiffness,
    frictions,
    frictions,
    st.floats(min_value=1.0, max_value=1e4),
    st.floats(min_value=1e-3, max_value=1.0),
    st.sampled_from([-1, 1]),
)


@SETTINGS
@given(params)
def test_boundary_noise_is_brent_root_of_predicted_curvature(args):
    L, k, right, left, duration, tol, sign = args
    level = sign * tol

    def h(log_sigma):
        return phases.predict(L, k, right, left, math.exp(log_sigma), duration).curvature - level

    sigma_b = phases.boundary_noise(level, L, k, right, left, duration)
    a = (right + left) / 2
    lo, hi = math.log(a / 50), math.log(a * 1e8)  # c = c_0 at lo (Phi(-50) = 0); ~c(inf) at hi
    h_lo, h_hi = h(lo), h(hi)
    event("no boundary" if math.isnan(sigma_b) else "boundary")
    if math.isnan(sigma_b):
        # no crossing: the predicted curvature stays on one side of the level for all sigma
        assert h_lo * h_hi > 0 or h_lo == 0
        return
    assert h_lo * h_hi < 0
    # defining property: the predicted curvature at sigma_b is the level (O(1) numbers
    # through erfinv, erfc, exp: 1e-10 absolute)
    assert abs(h(math.log(sigma_b))) <= 1e-10
    root = math.exp(optimize.brentq(h, lo, hi, xtol=1e-14, rtol=1e-14))
    # the root in log sigma is located to 1e-14; the closed form goes through erfinv and a
    # log, so relative agreement of 1e-6 is a safe bound away from flat directions
    assert sigma_b == pytest.approx(root, rel=1e-6)
    # and the two sides are classified differently (the boundary separates phases)
    below = phases.predict(L, k, right, left, sigma_b * (1 - 1e-3), duration).curvature
    above = phases.predict(L, k, right, left, sigma_b * (1 + 1e-3), duration).curvature
    assert phases.classify(below, tol) != phases.classify(above, tol)


@SETTINGS
@given(
    L=blocks,
    k=stiffness,
    right=frictions,
    left=frictions,
    fraction=st.floats(min_value=0.02, max_value=0.98),
    p=st.floats(min_value=0.01, max_value=0.45),
)
def test_boundary_noise_where_a_boundary_exists(L, k, right, left, fraction, p):
    """Levels strictly between c_0 and c(sigma = inf), so a crossing exists by construction."""
    c0 = phases.pulled_curvature(L, k, right, left)
    c_inf = L * (left - right) / (2 * k)
    assume(abs(c0 - c_inf) > 1e-3)
    level = c_inf + fraction * (c0 - c_inf)
    lam1 = 4 * math.sin(math.pi / (2 * (L + 1))) ** 2
    duration = -math.log(fraction) / (2 * lam1 * k * p)  # then exp(-T/tau(inf)) < fraction

    def h(log_sigma):
        return phases.predict(L, k, right, left, math.exp(log_sigma), duration).curvature - level

    sigma_b = phases.boundary_noise(level, L, k, right, left, duration)
    assert math.isfinite(sigma_b) and sigma_b > 0
    a = (right + left) / 2
    lo, hi = math.log(a / 50), math.log(a * 1e3)
    assert h(lo) * h(hi) < 0
    root = math.exp(optimize.brentq(h, lo, hi, xtol=1e-14, rtol=1e-14))
    # p in [0.01, 0.45] keeps a / sigma_b in [0.12, 2.4], where c(sigma) is steep: 1e-8
    assert sigma_b == pytest.approx(root, rel=1e-8)
    # the predicted curvature at sigma_b is the level (O(1) numbers, 1e-10 absolute)
    assert abs(h(math.log(sigma_b))) <= 1e-10 * (1 + abs(c0) + abs(c_inf))


def test_boundary_noise_examples_with_both_boundaries():
    # L = 7, mu_L > mu_R: c_0 < -tol (concave), c_inf > tol (convex); both boundaries exist
    L, k, right, left, duration, tol = 7, 1.0, 0.1, 0.3, 100.0, 0.05
    c0 = phases.pulled_curvature(L, k, right, left)
    c_inf = L * (left - right) / (2 * k)
    assert c0 < -tol and c_inf > tol
    s1 = phases.boundary_noise(-tol, L, k, right, left, duration)
    s2 = phases.boundary_noise(tol, L, k, right, left, duration)
    assert 0 < s1 < s2
    # phase order in sigma: concave, linear, convex
    shapes = [
        phases.classify(phases.predict(L, k, right, left, s, duration).curvature, tol)
        for s in (s1 / 2, math.sqrt(s1 * s2), 2 * s2)
    ]
    assert shapes == ["concave", "linear", "convex"]
    # symmetric friction: c_inf = 0 is linear, so no linear/convex boundary exists
    assert math.isnan(phases.boundary_noise(tol, L, k, 0.2, 0.2, duration))
    assert not math.isnan(phases.boundary_noise(-tol, L, k, 0.2, 0.2, duration))


# ---------------------------------------------------------------- predict


@SETTINGS
@given(
    L=blocks,
    k=stiffness,
    right=frictions,
    left=frictions,
    y=targets,
    duration=st.floats(min_value=0.0, max_value=1e6),
)
def test_predict_without_noise_is_the_pulled_equilibrium(L, k, right, left, y, duration):
    pred = phases.predict(L, k, right, left, 0.0, duration, y)
    state = equilibrium.pulled_equilibrium(L, k, right, left, y)
    np.testing.assert_array_equal(pred.elongations, state.elongations)
    d = np.array(state.elongations)
    # c and v recomputed with numpy from the same elongations: 1e-12 absolute
    assert pred.curvature == pytest.approx(d[0] - d[-1], abs=1e-12)
    assert pred.spread == pytest.approx(np.std(d), abs=1e-12)
    assert pred.relaxation_time == math.inf
    assert pred.curvature == pytest.approx(phases.pulled_curvature(L, k, right, left, y), abs=1e-12)
    # the pulled profile is concave whenever mu_R > 0 (elongations grow toward the target)
    assert pred.curvature < 0


@SETTINGS
@given(
    L=blocks,
    k=stiffness,
    right=frictions,
    left=frictions,
    y=targets,
    noise=st.floats(min_value=0.05, max_value=2.0),
)
def test_predict_long_training_reaches_stationary_profile(L, k, right, left, y, noise):
    noise = max(noise, (right + left) / 6)
    tau = phases.predict(L, k, right, left, noise, 1.0, y).relaxation_time
    pred = phases.predict(L, k, right, left, noise, 1e3 * tau, y)  # exp(-1000) = 0
    d = np.array(pred.elongations)
    f_star = brent_stationary_force(noise, right, left)
    x = np.cumsum(d)[:-1]
    # every spring force is F* (root of g by Brent) and the elongations sum to y
    np.testing.assert_allclose(numpy_forces(x, k, y), f_star, rtol=0, atol=1e-9)
    assert d.sum() == pytest.approx(y, abs=1e-11)
    assert pred.curvature == pytest.approx(-L * f_star / k, abs=1e-9)
    assert pred.stationary_force == pytest.approx(f_star, abs=1e-10)


@SETTINGS
@given(
    L=blocks,
    k=stiffness,
    right=frictions,
    left=frictions,
    noise=noises,
    durations=st.lists(st.floats(min_value=0.0, max_value=1e4), min_size=2, max_size=2),
)
def test_predicted_curvature_moves_monotonically_from_c0_to_c_inf(
    L, k, right, left, noise, durations
):
    short, long = sorted(durations)
    c0 = phases.pulled_curvature(L, k, right, left)
    c_inf = L * (left - right) / (2 * k)
    c_short = phases.predict(L, k, right, left, noise, short).curvature
    c_long = phases.predict(L, k, right, left, noise, long).curvature
    # c(T) = c_inf + (c_0 - c_inf) e^{-T/tau}: |c - c_inf| shrinks with T (1e-12 rounding)
    assert abs(c_long - c_inf) <= abs(c_short - c_inf) + 1e-12
    assert min(c0, c_inf) - 1e-12 <= c_long <= max(c0, c_inf) + 1e-12


@SETTINGS
@given(
    L=blocks,
    k=stiffness,
    right=frictions,
    left=frictions,
    noise=noises,
    duration=st.floats(min_value=0.0, max_value=1e4),
)
def test_predict_matches_symbolic_curvature_expr(L, k, right, left, noise, duration):
    # a / sigma <= 5: beyond that the 30-digit evalf of 1 + erf(-a/(sigma sqrt 2)) in the
    # symbolic tau loses its digits to cancellation (a limitation of the reference only)
    noise = max(noise, (right + left) / 10)
    pred = phases.predict(L, k, right, left, noise, duration)
    c0 = phases.pulled_curvature(L, k, right, left)
    values = {
        phases.c_0: c0,
        phases.T: duration,
        phases.L_sym: L,
        chain.k: k,
        drift.sigma: noise,
        friction.mu_R: right,
        friction.mu_L: left,
    }
    expected = float(
        phases.curvature_expr().evalf(30, subs={s: sp.Rational(v) for s, v in values.items()})
    )
    # numpy path vs 30-digit sympy; the numeric tau uses erfc, the symbolic one erf:
    # O(1) curvatures, 1e-9 absolute
    assert pred.curvature == pytest.approx(expected, abs=1e-9)
    tau = float(
        phases.relaxation_time_expr().evalf(
            30,
            subs={
                phases.L_sym: L,
                chain.k: sp.Rational(k),
                drift.sigma: sp.Rational(noise),
                friction.mu_R: sp.Rational(right),
                friction.mu_L: sp.Rational(left),
            },
        )
    )
    assert pred.relaxation_time == pytest.approx(tau, rel=1e-9)


@settings(max_examples=25, deadline=None)  # 30-digit evalf of L + 1 expressions each
@given(
    L=st.integers(min_value=1, max_value=8),
    k=stiffness,
    right=frictions,
    left=frictions,
    y=targets,
    noise=st.floats(min_value=0.05, max_value=2.0),
    duration=st.floats(min_value=0.0, max_value=1e3),
)
def test_elongations_expr_matches_predict(L, k, right, left, y, noise, duration):
    noise = max(noise, (right + left) / 10)  # a / sigma <= 5 (see test above)
    pred = phases.predict(L, k, right, left, noise, duration, y)
    n = equilibrium.pulled_equilibrium(L, k, right, left, y).moving_elongations
    d = phases.elongations_expr(L, n)
    values = {
        phases.T: duration,
        chain.k: k,
        chain.y: y,
        drift.sigma: noise,
        friction.mu_R: right,
        friction.mu_L: left,
    }
    values = {s: sp.Rational(v) for s, v in values.items()}
    got = [float(dl.evalf(30, subs=values)) for dl in d]
    # symbolic d(T) at 30 digits vs the numpy interpolation: O(1) numbers, 1e-9 absolute
    np.testing.assert_allclose(got, pred.elongations, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("L", "n"), [(1, 1), (3, 2), (5, 6)])
def test_elongations_expr_limits_and_sum(L, n):
    d = phases.elongations_expr(L, n)
    assert sp.simplify(sp.Add(*d) - chain.y) == 0
    # T = 0: the pulled state; T -> oo: the stationary profile
    d0 = equilibrium.pulled_elongations(L, n)
    assert all(sp.simplify(a.subs(phases.T, 0) - b) == 0 for a, b in zip(d, d0, strict=True))
    # (tau > 0, so exp(-T/tau) -> 0; sympy's limit cannot see the sign through erf, so
    # the decaying factor is set to zero structurally)
    d_inf = phases.stationary_elongations(L)

    def at_infinity(expr):
        return expr.replace(lambda e: e.func == sp.exp and e.has(phases.T), lambda e: 0)

    assert all(sp.simplify(at_infinity(a) - b) == 0 for a, b in zip(d, d_inf, strict=True))
    # its curvature is curvature_expr with c_0 the pulled curvature
    c0 = chain.curvature(d0)
    diff = chain.curvature(d) - phases.curvature_expr(c0, blocks=L)
    assert sp.simplify(diff) == 0


# ---------------------------------------------------------------- classify


@SETTINGS
@given(c=st.floats(min_value=-10.0, max_value=10.0), tol=st.floats(min_value=0.0, max_value=5.0))
def test_classify_partitions_by_tolerance(c, tol):
    shape = phases.classify(c, tol)
    assert shape in phases.PHASES
    assert (shape == "concave") == (c < -tol)
    assert (shape == "convex") == (c > tol)
    assert (shape == "linear") == (-tol <= c <= tol)


def test_classify_boundaries_are_linear():
    tol = 0.05
    assert phases.classify(-tol, tol) == "linear"
    assert phases.classify(tol, tol) == "linear"
    assert phases.classify(math.nextafter(-tol, -1), tol) == "concave"
    assert phases.classify(math.nextafter(tol, 1), tol) == "convex"
    assert phases.classify(0.0, 0.0) == "linear"
