"""underdamped (model b): weak convergence on the linear (frictionless) chain, exact
sticking, convergence of the tanh regularisation, and the stability guard."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from springblock.numerics.spring import underdamped
from springblock.params import Chain, Friction, ParameterError, Underdamped

# Linear test case: mu = 0, so dx = v dt, dv = (k Lap x + k y e_L - gamma v)/m dt
# + eps exp(-lambda t) dW is a linear SDE with additive noise. m != 1 checks where the
# mass enters (the noise is per unit mass: it is not divided by m).
L, K, Y, M, GAMMA, EPS, LAM, T = 3, 1.0, 1.0, 1.5, 1.0, 0.5, 0.2, 3.0
DT, SEEDS = 0.05, 4000
Z = 4.0  # standard errors allowed


def laplacian():
    return -2 * np.eye(L) + np.eye(L, k=1) + np.eye(L, k=-1)


def noise_columns(shared):
    return np.ones((L, 1)) if shared else np.eye(L)


def drift_matrices():
    A = np.zeros((2 * L, 2 * L))
    A[:L, L:] = np.eye(L)
    A[L:, :L] = K * laplacian() / M
    A[L:, L:] = -GAMMA / M * np.eye(L)
    b = np.zeros(2 * L)
    b[-1] = K * Y / M
    return A, b


def exact_moments(shared):
    """Mean by the matrix exponential of the affine system; covariance by integrating
    dP/dt = A P + P A^T + Q(t), Q = eps^2 e^{-2 lambda t} [[0, 0], [0, B B^T]]."""
    A, b = drift_matrices()
    aug = np.zeros((2 * L + 1, 2 * L + 1))
    aug[:-1, :-1], aug[:-1, -1] = A, b
    mean = scipy.linalg.expm(aug * T)[:-1, -1]
    B = noise_columns(shared)

    def rhs(t, p):
        P = p.reshape(2 * L, 2 * L)
        Q = np.zeros_like(P)
        Q[L:, L:] = EPS**2 * np.exp(-2 * LAM * t) * B @ B.T
        return (A @ P + P @ A.T + Q).ravel()

    cov = (
        solve_ivp(rhs, (0, T), np.zeros(4 * L * L), method="DOP853", rtol=1e-12, atol=1e-14)
        .y[:, -1]
        .reshape(2 * L, 2 * L)
    )
    return mean[L - 1], cov[L - 1, L - 1]


def scheme_moments(method, shared, dt):
    """Exact mean and variance of x_L after T/dt steps of each scheme, written out in
    numpy from the module docstrings (both schemes are affine with Gaussian increments):

    smoothed (Euler-Maruyama, f_delta = 0 at mu = 0): z' = z + h (A z + b) + G_n dW;
    stick-slip (mu = 0): v' = (v + h F(x)/m + s_n dW)/(1 + gamma h/m), x' = x + h v';
    with s_n = eps exp(-lambda t_n) at the start of the step and dW ~ N(0, h)."""
    A, b = drift_matrices()
    B = noise_columns(shared)
    I = np.eye(L)
    if method == "smoothed":
        step, offset = np.eye(2 * L) + dt * A, dt * b
        kick = np.vstack([np.zeros_like(B), B])
    else:
        c = 1 / (1 + GAMMA * dt / M)
        to_v = np.hstack([c * dt * K * laplacian() / M, c * I])
        step = np.vstack([np.hstack([I, np.zeros((L, L))]) + dt * to_v, to_v])
        push = np.zeros(L)
        push[-1] = c * dt * K * Y / M
        offset = np.concatenate([dt * push, push])
        kick = np.vstack([dt * c * B, c * B])
    mean, cov = np.zeros(2 * L), np.zeros((2 * L, 2 * L))
    for n in range(round(T / dt)):
        s = EPS * np.exp(-LAM * n * dt)
        mean = step @ mean + offset
        cov = step @ cov @ step.T + dt * s**2 * kick @ kick.T
    return mean[L - 1], cov[L - 1, L - 1]


def config(shared, dt, noise=EPS):
    return Underdamped(
        chain=Chain(blocks=L, stiffness=K, target=Y),
        friction=Friction(right=0.0, left=0.0),
        mass=M,
        damping=GAMMA,
        noise=noise,
        decay=LAM,
        shared_noise=shared,
        dt=dt,
        steps=round(T / dt),
        smoothing=0.1,
    )


def final_x_last(cfg, seeds, method, key=0):
    run = underdamped.simulate(cfg, seeds, method=method, saves=1, key=key)
    np.testing.assert_allclose(float(run.times[-1]), T, rtol=1e-12)
    return np.asarray(run.positions[:, -1, L - 1], np.float64)


@pytest.mark.parametrize("shared", [False, True], ids=["independent", "shared"])
@pytest.mark.parametrize("method", ["stick-slip", "smoothed"])
def test_linear_sde_weak_convergence(method, shared):
    mean, var = exact_moments(shared)

    # 1. Bias of the mean. With additive zero-mean noise and an affine scheme, E[x_n] is
    #    the noiseless run itself: it must match the numpy scheme and approach the exact
    #    mean at first order (ratio 2 + O(dt) when dt halves).
    biases = []
    for dt in (DT, DT / 2):
        quiet = final_x_last(config(shared, dt, noise=0.0), 1, method)[0]
        scheme_mean, _ = scheme_moments(method, shared, dt)
        assert abs(quiet - scheme_mean) < 1e-5  # float32 rounding over 120 steps
        biases.append(quiet - mean)
    assert abs(biases[1]) < abs(biases[0])
    assert 1.7 < biases[0] / biases[1] < 2.3, biases
    assert abs(biases[0]) < 0.1 * abs(mean)  # the bias is a small correction

    # 2. Monte Carlo mean and variance at dt = 0.05 against the exact SDE, within Z
    #    standard errors plus the scheme's own O(dt) bias (computed in numpy above).
    #    x_L(T) is exactly Gaussian here, so SE(variance) = var sqrt(2/(N-1)).
    x = final_x_last(config(shared, DT), SEEDS, method, key=17)
    scheme_mean, scheme_var = scheme_moments(method, shared, DT)
    se_mean = np.sqrt(scheme_var / SEEDS)
    se_var = scheme_var * np.sqrt(2 / (SEEDS - 1))
    assert abs(x.mean() - mean) <= Z * se_mean + abs(scheme_mean - mean)
    assert abs(x.var(ddof=1) - var) <= Z * se_var + abs(scheme_var - var)
    # the variance bias is O(dt) too, and smaller than the variance
    half_mean, half_var = scheme_moments(method, shared, DT / 2)
    assert abs(half_var - var) < abs(scheme_var - var) < 0.15 * var
    # the sample spread itself is consistent with the scheme's (not a vacuous test)
    assert abs(x.std(ddof=1) / np.sqrt(scheme_var) - 1) < 0.05


def stuck_config(blocks, target, steps=400):
    return Underdamped(
        chain=Chain(blocks=blocks, stiffness=1.0, target=target),
        friction=Friction(right=0.1, left=0.1),
        mass=1.0,
        damping=1.0,
        noise=0.0,
        decay=0.0,
        dt=0.05,
        steps=steps,
    )


@pytest.mark.parametrize("blocks", [1, 3])
def test_stick_slip_block_below_threshold_stays_at_rest(blocks):
    """At rest with y = 0.05 only the last block feels a force, k y = 0.05 < mu = 0.1:
    the trial velocity h k y cannot beat the friction impulse h mu, so v' = 0 exactly."""
    run = underdamped.simulate(stuck_config(blocks, 0.05), 1, saves=20)
    np.testing.assert_array_equal(np.asarray(run.positions), 0.0)
    np.testing.assert_array_equal(np.asarray(run.velocities), 0.0)
    # above the threshold (k y = 0.2 > mu) the last block does move
    moved = underdamped.simulate(stuck_config(blocks, 0.2), 1, saves=20)
    assert float(moved.positions[0, -1, -1]) > 0.01


def test_stick_slip_block_comes_to_rest_exactly():
    """A pulled block slides, then sticks in finite time with v = 0 exactly and a net
    force inside the friction cone |F| <= mu (for L = 1, F = k (y - 2x))."""
    run = underdamped.simulate(stuck_config(1, 0.5, steps=2000), 1, saves=20)
    x = np.asarray(run.positions, np.float64)[0, :, 0]
    v = np.asarray(run.velocities)[0, :, 0]
    assert x.max() > 0.1  # it moved
    assert v[-1] == 0.0 and v[-2] == 0.0
    assert x[-1] == x[-2]
    assert abs(1.0 * (0.5 - 2 * x[-1])) <= 0.1 + 1e-6  # float32 rounding


def test_smoothing_gap_shrinks_with_smoothing():
    """Default chain (L = 7, k = 0.1, mu = 0.003/0.004), noise off, T = 20, h = 0.002.
    The tanh friction differs from Coulomb's only for |v| <~ delta, so the gap falls
    roughly in proportion to delta until the O(h) difference between the two first-order
    time steppings remains. Bound: 1e-3 at delta = 1e-4, below 0.2 % of the largest
    displacement (~0.6) and of order h/2."""
    gaps = []
    for delta in (1e-2, 1e-3, 1e-4):
        cfg = Underdamped(dt=0.002, steps=10_000, smoothing=delta)
        gaps.append(underdamped.smoothing_gap(cfg))
    assert gaps[0] > gaps[1] > gaps[2], gaps
    assert gaps[0] / gaps[1] > 2 and gaps[1] / gaps[2] > 2, gaps  # at least ~ delta^0.3
    assert gaps[2] < 1e-3, gaps


@given(
    dt=st.floats(1e-4, 0.1),
    mu_right=st.floats(0.0, 0.5),
    mu_left=st.floats(0.0, 0.5),
    mass=st.floats(0.1, 5.0),
    fraction=st.floats(1e-3, 1.0),
)
def test_simulate_rejects_unstable_smoothing(dt, mu_right, mu_left, mass, fraction):
    smallest = dt * max(mu_right, mu_left) / (2 * mass)
    assume(smallest * fraction > 0)
    cfg = Underdamped(
        friction=Friction(right=mu_right, left=mu_left),
        mass=mass,
        dt=dt,
        steps=1,
        smoothing=smallest * fraction,
    )
    with pytest.raises(ParameterError) as err:
        underdamped.simulate(cfg, method="smoothed")
    assert err.value.name == "smoothing"
    assert "smoothing" in str(err.value)


def test_simulate_accepts_smoothing_just_above_bound():
    """The guard is sharp: just above dt max(mu)/(2m) the explicit step runs, and the
    exact stick-slip method ignores smoothing altogether."""
    friction = Friction(right=0.003, left=0.004)
    bound = 0.05 * 0.004 / (2 * 2.0)
    ok = Underdamped(friction=friction, mass=2.0, dt=0.05, steps=2, smoothing=1.01 * bound)
    run = underdamped.simulate(ok, method="smoothed", saves=1)
    assert run.positions.shape == (1, 1, 7)
    low = Underdamped(friction=friction, mass=2.0, dt=0.05, steps=2, smoothing=0.5 * bound)
    with pytest.raises(ParameterError):
        underdamped.simulate(low, method="smoothed")
    assert underdamped.simulate(low, method="stick-slip", saves=1).positions.shape == (1, 1, 7)
    with pytest.raises(ParameterError) as err:
        underdamped.simulate(ok, method="euler")
    assert err.value.name == "method"
    assert jnp.all(jnp.isfinite(run.positions))


def test_saves_that_do_not_divide_the_steps():
    """1001 steps in 10 saves: one lead step, then 10 frames of 100 (the lead steps draw
    from their own key; a negative key used to crash here)."""
    cfg = Underdamped(chain=Chain(blocks=2), steps=1001, dt=0.05)
    run = underdamped.simulate(cfg, seeds=2, saves=10)
    assert run.positions.shape == (2, 10, 2)
    np.testing.assert_allclose(np.asarray(run.times), 0.05 * (1 + 100 * np.arange(1, 11)))
    assert np.all(np.isfinite(np.asarray(run.positions)))
