"""Tests of the symbolic models: :class:`OverdampedModel` (a) and :class:`UnderdampedModel` (b).

The compiled sympy right-hand sides are compared with the same equations written directly
in numpy (Laplacian matrix, S(f) = f - clip(f, -mu_L, mu_R)), with a Monte Carlo average of
the noisy update, and with a rigorous large-noise bound for the mean-field flow.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from springblock.theory import OverdampedModel, UnderdampedModel
from springblock.theory.spring import chain, drift, friction
from springblock.theory.spring import overdamped as od
from springblock.theory.spring import underdamped as ud

SETTINGS = settings(max_examples=30, deadline=None)

blocks = st.integers(min_value=1, max_value=8)  # each L compiles once (cached)
coord = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False)
pos = st.floats(min_value=0.05, max_value=3.0, allow_nan=False)
fric = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def numpy_forces(x, stiffness, target):
    n = len(x)
    A = -2.0 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
    b = np.zeros(n)
    b[-1] = target
    return stiffness * (A @ x + b)


def S_clip(f, right, left):
    return f - np.clip(f, -left, right)


def compile_overdamped(model: OverdampedModel, rows):
    args = (model.x, model.xi, model.parameters)
    return sp.lambdify(args, rows, [drift.NUMERIC, "scipy"])


@functools.cache
def overdamped_update(L: int, shared: bool):
    """Compiled update map of model (a), cached so hypothesis examples stay fast."""
    model = OverdampedModel(L, shared_noise=shared)
    return compile_overdamped(model, model.update)


@functools.cache
def overdamped_noiseless_flow(L: int):
    model = OverdampedModel(L)
    return sp.lambdify((model.x, model.parameters), model.noiseless_flow, "numpy")


@functools.cache
def overdamped_mean_field_flow(L: int):
    model = OverdampedModel(L)
    return sp.lambdify((model.x, model.parameters), model.mean_field_flow, [drift.NUMERIC, "scipy"])


# ---------------------------------------------------------------- model (a)


@SETTINGS
@given(
    data=st.data(),
    L=blocks,
    k=pos,
    y=coord,
    right=fric,
    left=fric,
    eta=st.floats(min_value=1e-6, max_value=0.1),
)
def test_overdamped_update_without_noise_is_x_plus_eta_S_of_F(data, L, k, y, right, left, eta):
    x = np.array(data.draw(st.lists(coord, min_size=L, max_size=L)))
    update = overdamped_update(L, False)
    xi = np.array(data.draw(st.lists(coord, min_size=L, max_size=L)))
    got = np.array(update(x, xi, (k, y, right, left, 0.0, eta)), dtype=float)
    expected = x + eta * S_clip(numpy_forces(x, k, y), right, left)
    # O(1) numbers, a handful of float operations: 1e-12 absolute. With eps_bar = 0 the
    # xi values must not matter at all.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # (update - x) / eta is S(F) itself, i.e. the noiseless flow
    flow = overdamped_noiseless_flow(L)
    np.testing.assert_allclose(
        np.array(flow(x, (k, y, right, left, 0.0, eta)), dtype=float),
        S_clip(numpy_forces(x, k, y), right, left),
        rtol=0,
        atol=1e-12,
    )


@SETTINGS
@given(
    data=st.data(),
    L=blocks,
    k=pos,
    y=coord,
    right=fric,
    left=fric,
    eps=st.floats(min_value=0.0, max_value=2.0),
    shared=st.booleans(),
)
def test_overdamped_update_with_noise(data, L, k, y, right, left, eps, shared):
    x = np.array(data.draw(st.lists(coord, min_size=L, max_size=L)))
    model = OverdampedModel(L, shared_noise=shared)
    xi = np.array(data.draw(st.lists(coord, min_size=len(model.xi), max_size=len(model.xi))))
    eta = 0.01
    got = np.array(overdamped_update(L, shared)(x, xi, (k, y, right, left, eps, eta)), dtype=float)
    noise = np.full(L, xi[0]) if shared else xi  # one kick for all blocks when shared
    expected = x + eta * S_clip(numpy_forces(x, k, y) + eps * noise, right, left)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("L", [1, 3, 7])
def test_noise_symbols_shared_and_independent(L):
    shared = OverdampedModel(L, shared_noise=True)
    assert len(shared.xi) == 1
    noise_in_update = set().union(*(e.free_symbols for e in shared.update)) & set(shared.xi)
    assert noise_in_update == {shared.xi[0]}
    assert all(shared.xi[0] in e.free_symbols for e in shared.update)

    indep = OverdampedModel(L)
    assert len(set(indep.xi)) == L
    for l, row in enumerate(indep.update):
        # row l depends on xi_l and on no other noise symbol
        assert row.free_symbols & set(indep.xi) == {indep.xi[l]}
        assert indep.noise_for_block(l) == indep.xi[l]


def test_overdamped_parameters_and_latex():
    model = OverdampedModel(4)
    assert model.parameters == (chain.k, chain.y, friction.mu_R, friction.mu_L, od.eps_bar, od.eta)
    # every symbol the right-hand sides use is a state, noise or parameter symbol
    allowed = set(model.x) | set(model.xi) | set(model.parameters)
    for row in (*model.update, *model.mean_field_flow):
        assert row.free_symbols <= allowed
    text = model.latex()
    assert isinstance(text, str)
    for piece in (r"\eta", r"\xi_\ell", r"\bar\epsilon", r"\mu_{R}", r"\mu_{L}", "F_\\ell"):
        assert piece in text
    text_shared = OverdampedModel(4, shared_noise=True).latex()
    assert r"\xi_\ell" not in text_shared and r"\xi" in text_shared


@pytest.mark.parametrize(
    ("F", "eps", "right", "left"),
    [(0.05, 0.1, 0.1, 0.1), (0.3, 0.1, 0.1, 0.2), (-0.2, 0.5, 0.05, 0.3), (0.0, 1.0, 0.4, 0.1)],
)
def test_mean_field_flow_is_monte_carlo_mean_of_update(F, eps, right, left):
    """(update - x)/eta averaged over xi equals the mean-field flow (L = 1, so F is free)."""
    # choose x_1 so that F_1 = k (y - 2 x_1) = F with k = 1, y = 1
    x1 = (1.0 - F) / 2.0
    mean_field = float(overdamped_mean_field_flow(1)((x1,), (1.0, 1.0, right, left, eps, 0.01))[0])
    rng = np.random.default_rng(12345)
    n = 1_000_000
    step = overdamped_update(1, False)
    xi = rng.standard_normal(n)
    samples = (
        np.asarray(step(np.full(1, x1), (xi,), (1.0, 1.0, right, left, eps, 0.01))[0]) - x1
    ) / 0.01
    stderr = samples.std() / math.sqrt(n)
    # 5 standard errors of the Monte Carlo mean (two-sided p ~ 6e-7), fixed seed.
    assert abs(samples.mean() - mean_field) <= 5 * stderr + 1e-12


@SETTINGS
@given(
    F=st.floats(min_value=-5.0, max_value=5.0),
    right=fric,
    left=fric,
    eps=st.floats(min_value=100.0, max_value=1e5),
)
def test_mean_field_flow_large_noise_limit(F, right, left, eps):
    """g(F) -> F - (mu_R - mu_L)/2 as eps_bar -> infinity.

    Rigorous bound (our derivation): with u = F - c, c = (mu_R - mu_L)/2, a = (mu_R + mu_L)/2,
    g(F) - u = -E[clip(u + s xi, -a, a) - clip(s xi, -a, a)]; the bracket is at most |u| and
    vanishes unless |s xi| <= a + |u|, which has probability <= 2 (a + |u|) / (s sqrt(2 pi)).
    """
    x1 = (1.0 - F) / 2.0  # F_1 = F with k = y = 1
    g = float(overdamped_mean_field_flow(1)((x1,), (1.0, 1.0, right, left, eps, 0.01))[0])
    c, a, u = (right - left) / 2, (right + left) / 2, F - (right - left) / 2
    bound = abs(u) * 2 * (a + abs(u)) / (eps * math.sqrt(2 * math.pi))
    # the closed form cancels terms of size eps * phi(0) ~ 4e4: allow 1e-16 * 10 eps rounding
    assert abs(g - (F - c)) <= bound + 1e-15 * 10 * eps


@SETTINGS
@given(
    F=st.floats(min_value=-3.0, max_value=3.0),
    right=fric,
    left=fric,
    eps=st.floats(min_value=1e-9, max_value=1e-3),
)
def test_mean_field_flow_small_noise_limit_is_noiseless_flow(F, right, left, eps):
    x1 = (1.0 - F) / 2.0
    params = (1.0, 1.0, right, left, eps, 0.01)
    g = float(overdamped_mean_field_flow(1)((x1,), params)[0])
    s = float(overdamped_noiseless_flow(1)((x1,), params)[0])
    # S is 1-Lipschitz, so |E S(F + eps xi) - S(F)| <= eps E|xi| = eps sqrt(2/pi);
    # 1e-14 absolute covers rounding of numbers of size ~3.
    assert abs(g - s) <= eps * math.sqrt(2 / math.pi) + 1e-14


def test_mean_field_flow_uses_mean_drift_at_each_force():
    model = OverdampedModel(3)
    for F, row in zip(model.forces, model.mean_field_flow, strict=True):
        assert sp.simplify(row - drift.mean_drift(F, sigma=od.eps_bar)) == 0


# ---------------------------------------------------------------- model (b)


def numpy_underdamped_drift(x, v, k, y, right, left, m, gamma, friction_of_v):
    accel = (numpy_forces(x, k, y) - gamma * v - friction_of_v(v)) / m
    return np.concatenate([v, accel])


@SETTINGS
@given(
    data=st.data(),
    L=blocks,
    k=pos,
    y=coord,
    right=fric,
    left=fric,
    m=pos,
    gamma=st.floats(min_value=0.0, max_value=2.0),
    shared=st.booleans(),
)
def test_underdamped_drift_rows(data, L, k, y, right, left, m, gamma, shared):
    model = UnderdampedModel(L, shared_noise=shared)
    x = np.array(data.draw(st.lists(coord, min_size=L, max_size=L)))
    v = np.array(
        data.draw(
            st.lists(
                st.floats(min_value=0.01, max_value=3.0).flatmap(
                    lambda a: st.sampled_from([a, -a])
                ),
                min_size=L,
                max_size=L,
            )
        )
    )
    params = (k, y, right, left, m, gamma, 0.0, 0.0, 1e-3)
    exact = sp.lambdify((model.state, model.parameters), model.drift, "numpy")
    got = np.array(exact(np.concatenate([x, v]), params), dtype=float)

    def coulomb(vv):
        return np.where(vv > 0, right, np.where(vv < 0, -left, 0.0))

    expected = numpy_underdamped_drift(x, v, k, y, right, left, m, gamma, coulomb)
    # first L rows are exactly the velocities
    np.testing.assert_array_equal(got[:L], v)
    # O(10) numbers divided by m >= 0.05: 1e-10 absolute is well above rounding
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-10)

    # smoothed drift with delta << |v|: |f_delta - f| <= 2 mu exp(-2 |v| / delta) = 0 here
    delta_value = 1e-4
    smooth = sp.lambdify((model.state, model.parameters), model.smoothed_drift, "numpy")
    got_s = np.array(smooth(np.concatenate([x, v]), (*params[:-1], delta_value)), dtype=float)
    np.testing.assert_allclose(got_s, expected, rtol=1e-12, atol=1e-10)


def test_underdamped_drift_symbolic_form():
    model = UnderdampedModel(3)
    L = 3
    assert len(model.drift) == 2 * L
    assert model.drift[:L] == list(model.v)
    for l in range(L):
        F = model.geometry.forces[l]
        vl = model.v[l]
        expected = (F - ud.gamma * vl - friction.kinetic_friction(vl)) / ud.m
        assert sp.simplify(model.drift[L + l] - expected) == 0
        # at rest the exact Coulomb friction vanishes: m a = F
        assert sp.simplify(model.drift[L + l].subs(vl, 0) - F / ud.m) == 0


@pytest.mark.parametrize("L", [1, 2, 5])
def test_underdamped_diffusion_shapes_and_entries(L):
    amplitude = ud.eps * sp.exp(-ud.lam * ud.t)
    shared = UnderdampedModel(L, shared_noise=True).diffusion
    assert shared.shape == (2 * L, 1)
    assert shared[:L, :] == sp.zeros(L, 1)
    assert shared[L:, :] == sp.ones(L, 1) * amplitude

    indep = UnderdampedModel(L, shared_noise=False).diffusion
    assert indep.shape == (2 * L, L)
    assert indep[:L, :] == sp.zeros(L, L)
    assert indep[L:, :] == sp.eye(L) * amplitude
    # noise covariances: all-ones block (fully correlated) versus identity (independent)
    assert sp.simplify(
        shared * shared.T - sp.diag(sp.zeros(L, L), sp.ones(L, L) * amplitude**2)
    ) == sp.zeros(2 * L, 2 * L)
    assert sp.simplify(
        indep * indep.T - sp.diag(sp.zeros(L, L), sp.eye(L) * amplitude**2)
    ) == sp.zeros(2 * L, 2 * L)


def test_underdamped_latex_and_parameters():
    shared = UnderdampedModel(3)
    assert shared.shared_noise  # model (b) defaults to one shared Brownian motion
    assert shared.parameters == (
        chain.k,
        chain.y,
        friction.mu_R,
        friction.mu_L,
        ud.m,
        ud.gamma,
        ud.eps,
        ud.lam,
        friction.delta,
    )
    allowed = set(shared.state) | set(shared.parameters)
    for row in (*shared.drift, *shared.smoothed_drift):
        assert row.free_symbols <= allowed
    text = shared.latex()
    assert isinstance(text, str)
    for piece in (
        "dx_\\ell = v_\\ell",
        r"\gamma v_\ell",
        "f(v_\\ell)",
        "dW_t",
        r"e^{-\lambda t}",
        r"\mu_{R}",
        r"- \mu_{L}",
        "F_\\ell",
    ):
        assert piece in text
    assert r"dW_{\ell,t}" in UnderdampedModel(3, shared_noise=False).latex()


# ---------------------------------------------------------------- model (b): stick-slip step


@functools.cache
def stick_slip(L: int, shared: bool):
    model = UnderdampedModel(L, shared_noise=shared)
    args = (model.state, model.dW, (*model.parameters, ud.h, ud.t))
    return model, sp.lambdify(args, model.stick_slip_update, "numpy")


@pytest.mark.parametrize("L", [1, 4])
def test_stick_slip_shapes_and_noise_symbols(L):
    shared, _ = stick_slip(L, True)
    indep, _ = stick_slip(L, False)
    assert len(shared.dW) == 1 and len(indep.dW) == L
    assert len(shared.stick_slip_update) == len(indep.stick_slip_update) == 2 * L
    for l in range(L):
        v_row = indep.stick_slip_update[L + l]
        assert v_row.free_symbols & set(indep.dW) == {indep.dW[l]}
        assert shared.dW[0] in shared.stick_slip_update[L + l].free_symbols


@SETTINGS
@given(
    data=st.data(),
    L=blocks,
    k=pos,
    y=coord,
    m=pos,
    hstep=st.floats(1e-4, 0.1),
    eps=st.floats(0.0, 1.0),
    shared=st.booleans(),
)
def test_stick_slip_without_friction_is_symplectic_euler(data, L, k, y, m, hstep, eps, shared):
    model, step = stick_slip(L, shared)
    x = np.array(data.draw(st.lists(coord, min_size=L, max_size=L)))
    v = np.array(data.draw(st.lists(coord, min_size=L, max_size=L)))
    dW = np.array(data.draw(st.lists(coord, min_size=len(model.dW), max_size=len(model.dW))))
    params = (k, y, 0.0, 0.0, m, 0.0, eps, 0.0, 1e-3, hstep, 0.0)  # mu = gamma = lambda = 0
    got = np.array(step(np.concatenate([x, v]), dW, params), dtype=float)
    kick = np.full(L, dW[0]) if shared else dW
    v_new = v + hstep * numpy_forces(x, k, y) / m + eps * kick
    # O(10) numbers, a few operations: 1e-10 absolute
    np.testing.assert_allclose(got[L:], v_new, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got[:L], x + hstep * v_new, rtol=0, atol=1e-10)


@SETTINGS
@given(
    L=blocks,
    k=pos,
    y=st.floats(0.0, 1.0),
    m=pos,
    hstep=st.floats(1e-4, 0.1),
    margin=st.floats(0.0, 2.0),
)
def test_stick_slip_holds_a_block_inside_the_friction_cone(L, k, y, m, hstep, margin):
    # at rest at x = 0, the only force is k y on the last block; with mu_R >= k y the trial
    # velocity h k y / m is within the friction impulse h mu_R / m: nothing moves, exactly
    _, step = stick_slip(L, True)
    # (a relative margin of 1e-9 keeps the float products h k y / m and h mu / m, rounded
    # in different orders, on the right side of the exact boundary mu = k y)
    mu = k * y * (1 + 1e-9) + margin
    params = (k, y, mu, mu, m, 0.5, 0.0, 0.0, 1e-3, hstep, 0.0)
    got = np.array(step(np.zeros(2 * L), np.zeros(1), params), dtype=float)
    np.testing.assert_array_equal(got, 0.0)


@SETTINGS
@given(
    data=st.data(),
    L=blocks,
    k=st.floats(0.1, 3.0),
    y=coord,
    right=fric,
    left=fric,
    m=st.floats(0.5, 3.0),
    gamma=st.floats(0.0, 1.0),
)
def test_stick_slip_step_is_consistent_with_the_coulomb_drift(data, L, k, y, right, left, m, gamma):
    """(x' - x)/h -> v and (v' - v)/h -> (F - gamma v - f(v))/m for sliding blocks (v != 0)."""
    model, step = stick_slip(L, True)
    x = np.array(data.draw(st.lists(coord, min_size=L, max_size=L)))
    v = np.array(
        data.draw(
            st.lists(
                st.floats(min_value=0.1, max_value=3.0).flatmap(lambda a: st.sampled_from([a, -a])),
                min_size=L,
                max_size=L,
            )
        )
    )
    hstep = 1e-6
    params = (k, y, right, left, m, gamma, 0.0, 0.0, 1e-3, hstep, 0.0)
    got = np.array(step(np.concatenate([x, v]), np.zeros(1), params), dtype=float)
    coulomb = np.where(v > 0, right, -left)
    accel = (numpy_forces(x, k, y) - gamma * v - coulomb) / m
    # one implicit step differs from the drift by |a| gamma h / m (exact for this scheme
    # once the block slides: (v'-v)/h = a / (1 + gamma h/m)); rounding of v' - v ~ 1e-15
    # divided by h adds 1e-8
    tol = np.abs(accel) * gamma * hstep / m + 1e-8
    assert np.all(np.abs((got[L:] - v) / hstep - accel) <= tol)
    assert np.all(np.abs((got[:L] - x) / hstep - got[L:]) <= 1e-8)
