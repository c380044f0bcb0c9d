"""flows.solve: long-time limits of the noiseless and mean-field flows of model (a), and
the eta -> 0 limit of the noisy map.

All flows use L = 7 and 10 saved frames so that one compiled solver serves every test.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from springblock.numerics.spring import flows, overdamped
from springblock.theory.spring import drift, equilibrium, phases

L, K = 7, 1.0

# (target, mu_R, mu_L, noise, duration); the noisy durations are 25 relaxation times.
CASES = {
    "noiseless, no stuck block": (1.0, 0.02, 0.07, 0.0, 300.0),
    "noiseless, 4 stuck blocks": (1.0, 0.1, 0.07, 0.0, 300.0),
    "noiseless, pushed (y < 0)": (-1.0, 0.05, 0.1, 0.0, 300.0),
    "noiseless, 5 stuck blocks": (1.0, 0.3, 0.05, 0.0, 300.0),
    "mean field, symmetric": (1.0, 0.1, 0.1, 0.1, None),
    "mean field, symmetric, weak noise": (1.0, 0.1, 0.1, 0.05, None),
    "mean field, mu_L > mu_R": (1.0, 0.05, 0.15, 0.1, None),
    "mean field, mu_R > mu_L, y = 0.5": (0.5, 0.12, 0.04, 0.08, None),
}


def duration(case):
    y, mu_r, mu_l, noise, t = case
    if t is not None:
        return t
    # the slowest linear mode decays as exp(-t/tau): 25 tau leaves exp(-25) ~ 1e-11
    return 25 * drift.relaxation_time_value(L, K, noise, mu_r, mu_l)


@pytest.fixture(scope="module")
def final_positions():
    """Every case in one grid: one compilation, one diffrax call."""
    table = np.array([[*c[:4], duration(c)] for c in CASES.values()])
    y, mu_r, mu_l, noise, t = table.T
    with jax.enable_x64(True):
        run = flows.solve(
            L, stiffness=K, target=y, mu_right=mu_r, mu_left=mu_l, noise=noise, duration=t, saves=10
        )
        positions = np.asarray(run.positions)
    assert positions.dtype == np.float64
    np.testing.assert_allclose(np.asarray(run.times)[:, -1], t)
    return dict(zip(CASES, positions[:, -1], strict=True))


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("noiseless")])
def test_noiseless_flow_reaches_pulled_equilibrium(final_positions, name):
    y, mu_r, mu_l, _, _ = CASES[name]
    eq = equilibrium.pulled_equilibrium(L, K, mu_r, mu_l, y)
    # moving blocks approach F = mu_R exponentially, at rate >= k * 4 sin^2(pi/16) = 0.15
    # (e^-45 at t = 300); the adaptive solver (rtol 1e-6, atol 1e-9) leaves ~1e-6.
    np.testing.assert_allclose(final_positions[name], eq.positions, atol=1e-5)


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("mean field")])
def test_mean_field_flow_reaches_stationary_profile(final_positions, name):
    """At T = 25 tau every block feels F* (g(F*) = 0): a linear load curve for symmetric
    friction, x_l = l y/(L+1); otherwise elongations stepping by F*/k (theory.phases)."""
    y, mu_r, mu_l, _, _ = CASES[name]
    x = final_positions[name]
    if mu_r == mu_l:
        expected = np.arange(1, L + 1) * y / (L + 1)
    else:
        d = phases.stationary_elongations(
            L, K, sp.nsimplify(y), sp.nsimplify(mu_r), sp.nsimplify(mu_l)
        )
        expected = np.cumsum([float(v) for v in d])[:-1]
        # the asymmetric profile is far from linear, so this is a different check
        assert np.max(np.abs(expected - np.arange(1, L + 1) * y / (L + 1))) > 0.05
    # residual exp(-25) of the slowest mode plus the solver's ~1e-6 tolerance
    np.testing.assert_allclose(x, expected, atol=1e-5)


def test_noisy_map_converges_to_mean_field_flow():
    """Each trajectory of the map fluctuates about the mean-field flow by O(sqrt(eta)):
    the RMS distance (over seeds and blocks) at T = 40 must shrink by about
    sqrt(0.02/0.005) = 2 from eta = 0.02 to eta = 0.005."""
    mu, eps, T, seeds = 0.1, 0.1, 40.0, 256
    etas = np.array([0.02, 0.005])
    run = overdamped.simulate(
        L,
        stiffness=K,
        mu_right=mu,
        mu_left=mu,
        noise=eps,
        dt=etas,
        steps=8000,
        saves=4,
        seeds=seeds,
        key=99,
    )
    positions = np.asarray(run.positions, np.float64)
    at_T = np.stack([positions[0, :, 0], positions[1, :, 3]])  # steps 2000 and 8000: t = 40
    with jax.enable_x64(True):
        flow = flows.solve(L, stiffness=K, mu_right=mu, mu_left=mu, noise=eps, duration=T, saves=10)
    exact = np.asarray(flow.positions)[-1]
    rms = np.sqrt(np.mean((at_T - exact) ** 2, axis=(1, 2)))
    assert rms[0] > rms[1]
    # sqrt(eta) scaling predicts 2; the O(eta) bias of the mean adds a little to the
    # larger step, and the RMS over 256 x 7 correlated values carries ~5 % noise each.
    assert 1.6 < rms[0] / rms[1] < 2.6, rms
    # both are small against the profile itself (loads step by 1/8 per layer)
    assert rms[0] < 0.03, rms


def test_flow_float32_fallback_without_x64():
    """Without jax_enable_x64 the solver falls back to float32 (documented) and still
    reaches the linear profile to float32 accuracy."""
    tau = drift.relaxation_time_value(L, K, 0.1, 0.1, 0.1)
    run = flows.solve(L, noise=jnp.array([0.1]), duration=jnp.array([25 * tau]), saves=10)
    assert run.positions.dtype == jnp.float32
    np.testing.assert_allclose(
        np.asarray(run.positions)[0, -1], np.arange(1, L + 1) / (L + 1), atol=1e-4
    )


def test_an_unfinished_flow_is_an_error_naming_its_parameters():
    """A step budget far too small for the horizon: the solve stops early, and instead of
    returning the frames it has (inf past the stop), it raises with the parameters."""
    from springblock.numerics.checks import UnfinishedSolve

    with pytest.raises(UnfinishedSolve) as err:
        flows.solve(3, mu_right=0.05, mu_left=0.05, noise=0.1, duration=1e4, max_steps=5)
    message = str(err.value)
    assert "stopped before their end time" in message and "noise=0.1" in message
    assert err.value.failures[0]["duration"] == 1e4
