"""Model (a) at the authors' notebook settings (DaDaCheng/DNN_Spring,
spring/first_order_iteration.ipynb): L = 7, k = 1, eta = 0.01, eps_bar = 0.1,
mu_L = mu_R = 0.1, y = 1, 10^4 steps from rest.

springblock.simulate is compared with a numpy transcription of the notebook's loop, and
with the mean-field flow (flows.solve), on the mean load curve y - x_l and the mean
curvature, at t = 20, 50 and 100.
"""

import jax
import numpy as np
import pytest

from springblock.numerics.spring import flows, overdamped

L, K, ETA, EPS, Y, STEPS = 7, 1.0, 0.01, 0.1, 1.0, 10_000
MU_RIGHT = MU_LEFT = 0.1
FRAMES = {20.0: 1, 50.0: 4, 100.0: 9}  # time -> index among 10 saved frames (every 1000 steps)
NUMPY_SEEDS, JAX_SEEDS = 64, 256
Z = 4.0  # standard errors allowed per compared number (deterministic seeds, ~30 numbers)


def authors_loop(seeds, rng, record_steps):
    """The notebook's per-block loop; the seed axis is vectorised, nothing else changed:
    each block's force comes from its neighbours' OLD positions, noise is added to the
    force, the threshold is mu_left for a negative force and mu_right otherwise, a force
    within the threshold is zeroed, and the block moves by eta * (force - thre*sign)."""
    old = np.zeros((seeds, L))
    frames = {}
    for step in range(1, STEPS + 1):
        new = np.zeros_like(old)
        for i in range(L):
            left = old[:, i - 1] if i > 0 else 0.0
            right = old[:, i + 1] if i < L - 1 else Y
            force = ((right - old[:, i]) - (old[:, i] - left)) * K + rng.standard_normal(
                seeds
            ) * EPS
            thre = np.where(force < 0, MU_LEFT, MU_RIGHT)
            force = np.where(np.abs(force) <= thre, 0.0, force - thre * np.sign(force))
            new[:, i] = old[:, i] + force * ETA
        old = new
        if step in record_steps:
            frames[step] = old.copy()
    return np.stack([frames[s] for s in sorted(frames)], axis=1)  # (seeds, frames, L)


def load_and_curvature(x):
    """Load curve y - x_l (l = 0..L) and curvature d_1 - d_{L+1}, in numpy."""
    p = np.concatenate([np.zeros(x.shape[:-1] + (1,)), x, np.full(x.shape[:-1] + (1,), Y)], axis=-1)
    d = np.diff(p, axis=-1)
    return Y - p[..., :-1], d[..., 0] - d[..., -1]


def mean_and_se(samples):
    return samples.mean(axis=0), samples.std(axis=0, ddof=1) / np.sqrt(len(samples))


@pytest.fixture(scope="module")
def springblock_run():
    run = overdamped.simulate(
        L,
        stiffness=K,
        target=Y,
        mu_right=MU_RIGHT,
        mu_left=MU_LEFT,
        noise=EPS,
        dt=ETA,
        steps=STEPS,
        seeds=JAX_SEEDS,
        saves=10,
        key=2024,
    )
    np.testing.assert_allclose(np.asarray(run.times), ETA * 1000 * np.arange(1, 11))
    return np.asarray(run.positions, np.float64)  # (seeds, 10, L)


def test_springblock_matches_authors_loop(springblock_run):
    record = [round(t / ETA) for t in FRAMES]
    ours = springblock_run[:, list(FRAMES.values())]
    theirs = authors_loop(NUMPY_SEEDS, np.random.default_rng(20240719), set(record))
    (load_a, c_a), (load_b, c_b) = load_and_curvature(theirs), load_and_curvature(ours)
    (m_a, se_a), (m_b, se_b) = mean_and_se(load_a), mean_and_se(load_b)
    # the wall layer l = 0 carries y - 0 exactly in both
    np.testing.assert_array_equal(m_a[..., 0], Y)
    np.testing.assert_array_equal(m_b[..., 0], Y)
    combined = np.sqrt(se_a**2 + se_b**2)[..., 1:]
    assert np.all(combined > 0)
    assert np.all(np.abs(m_a - m_b)[..., 1:] <= Z * combined), (m_a - m_b)[..., 1:] / combined
    (mc_a, sc_a), (mc_b, sc_b) = mean_and_se(c_a), mean_and_se(c_b)
    assert np.all(np.abs(mc_a - mc_b) <= Z * np.sqrt(sc_a**2 + sc_b**2)), (mc_a, mc_b)
    # the comparison has power: at t = 100 every block has moved well away from rest
    # (load 1 everywhere), by far more than the combined standard errors (< 1e-3).
    assert np.all(m_b[-1, 1:] < 0.9)


def test_mean_field_flow_matches_mean_load_curve(springblock_run):
    """The map's mean follows the mean-field flow dx/dt = g(F) up to Euler's O(eta) bias.

    Each trajectory fluctuates about the flow by O(eps_bar sqrt(eta tau)) (seen here as
    the per-seed spread, covered by the standard error); the mean deviates by the Euler
    error of the averaged dynamics, at most about (eta/2) * integral |x''| dt <=
    (eta/2) max|x'(0)| <= (eta/2) k y for this contracting flow, plus a fluctuation-induced
    term O(Var F) = O(eta) that is smaller still. Allowance: (eta/2) k y = 0.005, against
    load steps of 1/8 between layers and a mean-field curve that moves by 0.06 at t = 20
    when eps_bar is scaled by sqrt(2)."""
    allowance = ETA / 2 * K * Y
    with jax.enable_x64(True):
        flow = flows.solve(
            L,
            stiffness=K,
            target=Y,
            mu_right=MU_RIGHT,
            mu_left=MU_LEFT,
            noise=EPS,
            duration=STEPS * ETA,
            saves=10,
        )
    np.testing.assert_allclose(np.asarray(flow.times), ETA * 1000 * np.arange(1, 11))
    load_flow, c_flow = load_and_curvature(np.asarray(flow.positions))
    load, c = load_and_curvature(springblock_run)
    (m, se), (mc, sc) = mean_and_se(load), mean_and_se(c)
    assert np.all(np.abs(m - load_flow) <= Z * se + allowance), np.max(np.abs(m - load_flow))
    # curvature is a difference of two elongations: twice the allowance
    assert np.all(np.abs(mc - c_flow) <= Z * sc + 2 * allowance), (mc, c_flow)
