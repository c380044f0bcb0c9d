"""Tests of :mod:`springblock.theory.spring.drift`: mean drift g, mobility g', F*, relaxation time.

Independent references: a Monte Carlo average of S(F + sigma xi) with numpy, quadrature of
S(F + sigma z) phi(z) with scipy, sympy differentiation, central finite differences,
Brent's method for the root of g, and numpy eigenvalues of the chain matrix.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from springblock.theory import OverdampedModel
from springblock.theory.spring import drift, friction
from springblock.theory.spring import overdamped as od

SETTINGS = settings(max_examples=50, deadline=None)

mu_R, mu_L, F, sigma = friction.mu_R, friction.mu_L, drift.F, drift.sigma

forces = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False)
noises = st.floats(min_value=0.01, max_value=3.0, allow_nan=False)
frictions = st.floats(min_value=0.0, max_value=2.0, allow_nan=False)
positive_frictions = st.floats(min_value=0.01, max_value=2.0, allow_nan=False)


def S_clip(f, right, left):
    """S(f) = f - clip(f, -mu_L, mu_R), written independently of the theory module."""
    return f - np.clip(f, -left, right)


def quad_drift(force, noise, right, left):
    """E[S(F + sigma z)] by quadrature, split at the kinks z = (mu_R - F)/s, (-mu_L - F)/s.

    phi(z) < 1e-300 beyond |z| = 38, so the integrals are cut at +-40; the standard normal
    mass sits near z = 0, which is passed to quad as a break point when inside.
    """
    cut = 40.0
    z_hi = max((right - force) / noise, -cut)
    z_lo = min((-left - force) / noise, cut)
    phi = stats.norm.pdf
    total = 0.0
    if z_hi < cut:
        pts = [0.0] if z_hi < 0 else None
        total += integrate.quad(
            lambda z: (force + noise * z - right) * phi(z),
            z_hi,
            cut,
            points=pts,
            epsabs=1e-13,
            epsrel=1e-12,
            limit=200,
        )[0]
    if z_lo > -cut:
        pts = [0.0] if z_lo > 0 else None
        total += integrate.quad(
            lambda z: (force + noise * z + left) * phi(z),
            -cut,
            z_lo,
            points=pts,
            epsabs=1e-13,
            epsrel=1e-12,
            limit=200,
        )[0]
    return total


def chain_matrix(n: int) -> np.ndarray:
    return -2.0 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)


# ---------------------------------------------------------------- g(F)


@pytest.mark.parametrize(
    ("force", "noise", "right", "left"),
    [
        (0.0, 0.1, 0.1, 0.1),
        (0.05, 0.1, 0.1, 0.2),
        (0.5, 0.2, 0.1, 0.1),
        (-0.7, 0.3, 0.2, 0.4),
        (0.0, 1.0, 0.003, 0.004),
        (1.5, 2.0, 0.5, 0.0),
    ],
)
def test_mean_drift_matches_monte_carlo(force, noise, right, left):
    rng = np.random.default_rng(20240719)
    n = 1_000_000
    samples = S_clip(force + noise * rng.standard_normal(n), right, left)
    mean, stderr = samples.mean(), samples.std(ddof=1) / math.sqrt(n)
    g = drift.mean_drift_value(force, noise, right, left)
    # 5 Monte Carlo standard errors (two-sided p ~ 6e-7), fixed seed; + 1e-12 for the
    # rare case where the sample is almost constant
    assert abs(g - mean) <= 5 * stderr + 1e-12


@SETTINGS
@given(force=forces, noise=noises, right=frictions, left=frictions)
def test_mean_drift_matches_quadrature(force, noise, right, left):
    g = drift.mean_drift_value(force, noise, right, left)
    # quad is asked for 1e-12 relative / 1e-13 absolute; the closed form rounds terms of
    # size <= |F| + mu + sigma ~ 8 at 1e-16 each: 1e-9 absolute leaves a wide margin.
    assert g == pytest.approx(quad_drift(force, noise, right, left), abs=1e-9, rel=1e-9)


@SETTINGS
@given(
    force=forces, noise=st.floats(min_value=1e-9, max_value=3.0), right=frictions, left=frictions
)
def test_mean_drift_within_lipschitz_bound_of_S(force, noise, right, left):
    # S is 1-Lipschitz, so |E S(F + s xi) - S(F)| <= s E|xi| = s sqrt(2/pi); 1e-14 for
    # rounding of O(1) numbers.
    g = drift.mean_drift_value(force, noise, right, left)
    assert abs(g - S_clip(force, right, left)) <= noise * math.sqrt(2 / math.pi) + 1e-14


@pytest.mark.parametrize("force", [-1.0, -0.2, 0.0, 0.1, 0.3, 2.0])
def test_mean_drift_tends_to_S_as_noise_vanishes(force):
    right, left = 0.1, 0.2
    errors = [
        abs(drift.mean_drift_value(force, s, right, left) - S_clip(force, right, left))
        for s in (1e-1, 1e-2, 1e-3, 1e-4, 1e-6)
    ]
    assert errors[-1] <= 1e-6  # Lipschitz bound 0.8e-6
    assert all(b <= a + 1e-15 for a, b in zip(errors, errors[1:], strict=False))
    # noise = 0 is exactly the friction map
    assert drift.mean_drift_value(force, 0, right, left) == S_clip(force, right, left)


# ---------------------------------------------------------------- g'(F)


def test_mobility_is_derivative_of_mean_drift_symbolically():
    assert sp.simplify(sp.diff(drift.mean_drift(), F) - drift.mobility()) == 0


_dg = sp.lambdify((F, sigma, mu_R, mu_L), sp.diff(drift.mean_drift(), F), [drift.NUMERIC, "scipy"])


@SETTINGS
@given(force=forces, noise=noises, right=frictions, left=frictions)
def test_mobility_numeric_derivative(force, noise, right, left):
    slope = drift.mobility_value(force, noise, right, left)
    # sympy's unsimplified derivative, evaluated numerically: same function, terms that
    # cancel are O(|a| phi(a)) <= 1, so 1e-12 absolute
    assert slope == pytest.approx(float(_dg(force, noise, right, left)), abs=1e-12)
    # central difference, h = 1e-5: truncation h^2 |g'''| / 6 <= 1e-10 / 6 * 0.25 / s^2
    # <= 5e-7 at s = 0.01, rounding ~ 1e-16 * 8 / h ~ 1e-10: tolerance 1e-6
    h = 1e-5
    fd = (
        drift.mean_drift_value(force + h, noise, right, left)
        - drift.mean_drift_value(force - h, noise, right, left)
    ) / (2 * h)
    assert slope == pytest.approx(fd, abs=1e-6)
    # independent meaning: g'(F) = P(block moves) = P(F + s xi > mu_R) + P(F + s xi < -mu_L)
    p_move = stats.norm.sf((right - force) / noise) + stats.norm.cdf((-left - force) / noise)
    assert slope == pytest.approx(p_move, abs=1e-13)


@SETTINGS
@given(force=forces, noise=noises, right=frictions, left=frictions)
def test_mobility_between_zero_and_one(force, noise, right, left):
    # S is non-decreasing and 1-Lipschitz, so 0 <= g' <= 1 (1e-15 rounding margin)
    slope = drift.mobility_value(force, noise, right, left)
    assert -1e-15 <= slope <= 1 + 1e-15


@SETTINGS
@given(noise=noises, right=frictions, left=frictions)
def test_noise_lubricates(noise, right, left):
    # The mathematical claim holds for every sigma > 0; mobility_value resolves it only
    # while Phi(-mu/sigma) is not lost to 1 + erf(...) cancellation (mu/sigma <~ 8; beyond
    # that see test_mobility_keeps_relative_accuracy_in_the_tail, xfail). Keep mu/s <= 6.
    noise = max(noise, max(right, left) / 6)
    slope0 = drift.mobility_value(0.0, noise, right, left)
    assert slope0 > 0
    # and it is the probability of moving, to 1e-9 relative (Phi(-6) ~ 1e-9 is carried by
    # 1 + erf with absolute error ~1e-16, i.e. ~1e-7 relative at worst): rel 1e-6
    expected = stats.norm.cdf(-right / noise) + stats.norm.cdf(-left / noise)
    assert slope0 == pytest.approx(expected, rel=1e-6)
    # g is strictly increasing through 0 (finite difference, independent of the formula)
    h = 1e-3 * noise
    assert drift.mean_drift_value(h, noise, right, left) > drift.mean_drift_value(
        -h, noise, right, left
    )


def test_mobility_keeps_relative_accuracy_in_the_tail():
    slope0 = drift.mobility_value(0.0, 0.0625, 1.0, 1.0)
    assert slope0 > 0
    assert slope0 == pytest.approx(2 * stats.norm.cdf(-16.0), rel=1e-6)


def test_noiseless_mobility_vanishes_in_dead_zone():
    # limiting case: as sigma -> 0, g'(0) -> 0 when 0 is inside the dead zone
    assert drift.mobility_value(0.0, 1e-3, 0.1, 0.1) < 1e-15
    assert drift.mobility_value(0.0, 1e3, 0.1, 0.1) == pytest.approx(1.0, abs=1e-3)


# ---------------------------------------------------------------- F*


@SETTINGS
@given(noise=noises, right=positive_frictions, left=positive_frictions)
def test_stationary_force_is_the_brent_root(noise, right, left):
    a = (right + left) / 2
    noise = max(noise, a / 3)  # keep g'(F*) >= 2 Phi(-3): the root is well conditioned
    f_star = float(drift.stationary_force(right, left))
    assert -left <= f_star <= right
    root = optimize.brentq(
        lambda f: drift.mean_drift_value(f, noise, right, left),
        -left,
        right,
        xtol=1e-15,
        rtol=4 * np.finfo(float).eps,
    )
    # g rounds at ~1e-16 * 8, divided by g' >= 2.7e-3: ~3e-13; tolerance 1e-10
    assert f_star == pytest.approx(root, abs=1e-10)
    assert abs(drift.mean_drift_value(f_star, noise, right, left)) <= 1e-12


def test_stationary_force_symbolic_residual():
    g_at_star = drift.mean_drift(drift.stationary_force())
    assert sp.simplify(g_at_star) == 0
    # the mobility there is the documented 2 Phi(-(mu_R + mu_L) / (2 sigma))
    slope = drift.mobility(drift.stationary_force())
    assert sp.simplify(slope - drift.stationary_mobility()) == 0


def test_stationary_force_sign_is_the_ratchet_direction():
    # symmetric friction: no ratchet; mu_R > mu_L: the chain rests at a positive force
    assert drift.stationary_force(sp.Rational(1, 10), sp.Rational(1, 10)) == 0
    assert drift.stationary_force(0.3, 0.1) > 0 > drift.stationary_force(0.1, 0.3)
    # g(0) has the opposite sign of F* (g increasing): blocks creep toward the weaker side
    assert (
        drift.mean_drift_value(0.0, 0.2, 0.3, 0.1) < 0 < drift.mean_drift_value(0.0, 0.2, 0.1, 0.3)
    )


# ---------------------------------------------------------------- relaxation


@pytest.mark.parametrize("L", [1, 2, 3, 7, 16, 31, 60])
def test_laplacian_slowest_rate_is_smallest_eigenvalue(L):
    eig = np.linalg.eigvalsh(chain_matrix(L))
    assert np.all(eig < 0)
    # eigvalsh is backward stable: absolute error ~ 1e-15 on eigenvalues >= 2.6e-3
    assert float(drift.laplacian_slowest_rate(L)) == pytest.approx(np.min(np.abs(eig)), rel=1e-11)


def test_relaxation_time_symbolic_form():
    L, k, s = sp.symbols("L k s", positive=True)
    lam1 = 4 * sp.sin(sp.pi / (2 * (L + 1))) ** 2
    assert sp.simplify(drift.relaxation_time(L, k, s) - 1 / (k * s * lam1)) == 0


@SETTINGS
@given(
    L=st.integers(min_value=1, max_value=40),
    k=st.floats(min_value=0.05, max_value=5.0),
    noise=noises,
    right=positive_frictions,
    left=positive_frictions,
)
def test_relaxation_time_value_recomputed_independently(L, k, noise, right, left):
    a = (right + left) / 2
    noise = max(noise, a / 3)
    f_star = optimize.brentq(
        lambda f: drift.mean_drift_value(f, noise, right, left), -left, right, xtol=1e-15
    )
    p_move = stats.norm.sf((right - f_star) / noise) + stats.norm.cdf((-left - f_star) / noise)
    lam1 = np.min(np.abs(np.linalg.eigvalsh(chain_matrix(L))))
    expected = 1.0 / (k * p_move * lam1)
    # relative errors: eigvalsh ~1e-13, root error 1e-13 times g''/g' <= 1/s: 1e-9 overall
    assert drift.relaxation_time_value(L, k, noise, right, left) == pytest.approx(
        expected, rel=1e-9
    )


def test_relaxation_time_limits():
    with pytest.raises(ValueError):
        drift.relaxation_time_value(5, 1.0, 0.0, 0.1, 0.1)
    # mobility underflows (a / sigma = 1000): the chain is frozen
    assert drift.relaxation_time_value(5, 1.0, 1e-4, 0.1, 0.1) == math.inf
    # huge noise: g' -> 1, tau -> 1 / (k lambda_1) (the free chain)
    lam1 = 4 * math.sin(math.pi / 12) ** 2
    assert drift.relaxation_time_value(5, 2.0, 1e6, 0.1, 0.1) == pytest.approx(
        1 / (2.0 * lam1), rel=1e-6
    )


@pytest.mark.parametrize(
    ("L", "k", "noise", "right", "left"), [(3, 1.0, 0.1, 0.1, 0.1), (6, 0.5, 0.05, 0.03, 0.08)]
)
def test_relaxation_time_is_slowest_mode_of_mean_field_jacobian(L, k, noise, right, left):
    """Linearise the mean-field flow of model (a) about its stationary state numerically."""
    model = OverdampedModel(L)
    flow = sp.lambdify((model.x, model.parameters), model.mean_field_flow, [drift.NUMERIC, "scipy"])
    y = 1.0
    f_star = optimize.brentq(
        lambda f: drift.mean_drift_value(f, noise, right, left), -left, right, xtol=1e-15
    )
    # stationary state: k (A x + y e_L) = F* for every block
    b = np.zeros(L)
    b[-1] = y
    x_star = np.linalg.solve(chain_matrix(L), f_star / k - b)
    params = (k, y, right, left, noise, 0.01)
    assert np.allclose(flow(x_star, params), 0.0, atol=1e-12)
    h = 1e-6
    J = np.empty((L, L))
    for j in range(L):
        e = np.zeros(L)
        e[j] = h
        up, down = np.array(flow(x_star + e, params)), np.array(flow(x_star - e, params))
        J[:, j] = (up - down) / (2 * h)
    slowest = -np.max(np.linalg.eigvals(J).real)
    tau = drift.relaxation_time_value(L, k, noise, right, left)
    # central differences with h = 1e-6: truncation ~h^2 g''' k ~ 1e-8, rounding ~1e-10;
    # the eigenvalue carries ~1e-7 relative error
    assert 1 / tau == pytest.approx(slowest, rel=1e-6)


def test_mean_field_flow_uses_eps_bar_not_drift_sigma():
    # the overdamped model's noise symbol is eps_bar, distinct from drift.sigma; the flow
    # must use eps_bar (otherwise parameters would not reach it)
    model = OverdampedModel(2)
    assert all(od.eps_bar in row.free_symbols for row in model.mean_field_flow)
    assert all(drift.sigma not in row.free_symbols for row in model.mean_field_flow)
