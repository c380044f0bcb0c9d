"""overdamped.iterate_given_noise and overdamped.simulate (model a, the random map)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from springblock.numerics.spring import flows, overdamped
from springblock.theory.spring import equilibrium
from tests.spring.reference_numpy import map_step

B, N, L = 5, 300, 4


def numpy_iterate(x0, noise, params):
    x = np.asarray(x0, np.float64)
    for xi in noise:
        x = map_step(x, xi, *params)
    return x


def given_noise_case(shared):
    rng = np.random.default_rng(11 if shared else 12)
    x0 = rng.normal(0.0, 0.3, (B, L))
    noise = rng.normal(size=(N, B, 1 if shared else L))
    # per-trajectory k, mu_R, eps_bar (arrays of shape (B,)), scalar y, mu_L, eta; noise
    # comparable to the friction so that every branch of S is taken many times.
    params = (
        rng.uniform(0.5, 2.0, B),
        1.0,
        rng.uniform(0.0, 0.3, B),
        0.2,
        rng.uniform(0.1, 0.5, B),
        0.05,
    )
    return x0, noise, params


def run_given_noise(x0, noise, params, shared, dtype):
    return np.asarray(
        overdamped.iterate_given_noise(
            jnp.asarray(x0, dtype),
            jnp.asarray(noise, dtype),
            tuple(jnp.asarray(p, dtype) for p in params),
            shared_noise=shared,
        )
    )


@pytest.mark.parametrize("shared", [False, True])
def test_iterate_given_noise_float64(shared):
    case = given_noise_case(shared)
    with jax.enable_x64(True):
        got = run_given_noise(*case, shared, jnp.float64)
        assert got.dtype == np.float64
    # 300 steps of a contracting map in float64: rounding stays near 1e-15.
    np.testing.assert_allclose(got, numpy_iterate(*case), atol=1e-10)


@pytest.mark.parametrize("shared", [False, True])
def test_iterate_given_noise_float32(shared):
    case = given_noise_case(shared)
    got = run_given_noise(*case, shared, jnp.float32)
    assert got.dtype == np.float32
    # float32 inputs and arithmetic: ~300 steps x 6e-8 relative rounding on O(1) values.
    np.testing.assert_allclose(got, numpy_iterate(*case), atol=1e-4)


def test_noiseless_map_limit_is_pulled_equilibrium():
    """Without noise and for eta < 1/(2k) the map is order preserving and never overshoots
    F = mu_R: a moving block keeps F_l' - mu_R >= (1 - 2 k eta)(F_l - mu_R) > 0, since
    its neighbours only move forward. So it converges to the pulled equilibrium itself,
    not to an O(eta) neighbour of it, and there is no first-order error to see at fixed
    T: what is left at time T is the tail (1 - eta k lambda_1)^(T/eta) <= exp(-k lambda_1 T),
    lambda_1 >= 4 sin^2(pi/12) = 0.27 for L = 5, i.e. < 1e-18 at T = 160."""
    mus = np.array([0.05, 0.1, 0.2])  # 0, 1 and 2 stuck blocks
    dts = np.array([0.04, 0.02, 0.01])
    with jax.enable_x64(True):
        run = overdamped.simulate(
            5,
            stiffness=1.0,
            mu_right=mus[:, None],
            mu_left=0.3,
            noise=0.0,
            dt=dts[None, :],
            steps=16_000,
            saves=4,
            dtype=jnp.float64,
        )
    positions = np.asarray(run.positions)[:, :, 0]  # (mu, dt, saves, L); one seed
    frame_at_T = [0, 1, 3]  # steps 4000, 8000, 16000: T = 160 for each dt
    for i, mu in enumerate(mus):
        eq = np.array(equilibrium.pulled_equilibrium(5, 1.0, mu, 0.3).positions)
        for j in range(len(dts)):
            np.testing.assert_allclose(positions[i, j, frame_at_T[j]], eq, atol=1e-10)


def test_noiseless_map_converges_to_flow_at_first_order():
    """Mid-transient (t = 10, blocks still moving) the noiseless map is Euler's method for
    dx/dt = S(F): its error against the flow (diffrax, rtol 1e-6) is first order in eta."""
    mu, t = 0.05, 10.0
    dts = np.array([0.04, 0.02, 0.01])
    with jax.enable_x64(True):
        flow = flows.solve(7, mu_right=mu, mu_left=mu, noise=0.0, duration=t, saves=10)
        run = overdamped.simulate(
            7, mu_right=mu, mu_left=mu, noise=0.0, dt=dts, steps=1000, saves=4, dtype=jnp.float64
        )
    exact = np.asarray(flow.positions)[-1]
    positions = np.asarray(run.positions)[:, 0]
    errors = np.array(
        [np.max(np.abs(positions[j, f] - exact)) for j, f in enumerate([0, 1, 3])]
    )  # steps 250, 500, 1000: t = 10
    ratios = errors[:-1] / errors[1:]
    # first order: ratio 2 + O(eta); the kinks of S and the flow's own 1e-6 error are far
    # too small to move it outside [1.8, 2.2].
    assert np.all((ratios > 1.8) & (ratios < 2.2)), ratios
    # Euler's global error is about (eta/2) * integral |x''| dt <= (eta/2) * max|x'(0)|
    # (the flow contracts), and |x'(0)| <= k y = 1.
    assert errors[-1] < 0.5 * dts[-1], errors


SIM = dict(seeds=3, steps=200, saves=5)


def test_same_seed_same_noise_in_every_grid_cell():
    """Common random numbers: trajectory `seed` draws the same xi in every cell and grid.

    Check 1: a cell of a 3-cell grid equals the 1-cell run with the same parameters
    (bit for bit). Check 2: with mu = 0 and y = 0 the map is linear and x is proportional
    to eps_bar, so cells differing only in eps_bar are exact multiples of each other."""
    one = overdamped.simulate(4, noise=0.1, key=7, **SIM).positions
    grid = overdamped.simulate(4, noise=jnp.array([0.05, 0.1, 0.2]), key=7, **SIM).positions
    np.testing.assert_array_equal(np.asarray(grid[1]), np.asarray(one))
    fewer = overdamped.simulate(4, noise=0.1, key=7, seeds=2, steps=200, saves=5).positions
    np.testing.assert_array_equal(np.asarray(fewer), np.asarray(one[:2]))

    with jax.enable_x64(True):
        linear = np.asarray(
            overdamped.simulate(
                4,
                target=0.0,
                mu_right=0.0,
                mu_left=0.0,
                noise=jnp.array([0.05, 0.2]),
                key=7,
                dtype=jnp.float64,
                **SIM,
            ).positions
        )
    assert np.max(np.abs(linear[0])) > 1e-3  # the noise did move the blocks
    # float64 rounding of a linear recursion: relative 1e-15 per step.
    np.testing.assert_allclose(linear[1], 4.0 * linear[0], rtol=1e-10, atol=1e-14)


def test_shared_noise_keeps_mirror_symmetry():
    """With y = 0 both chain ends are walls at 0, so reversing the block order maps the
    chain onto itself (friction need not be symmetric: reflection does not flip the
    direction of motion). Shared noise gives every block the same xi, so a symmetric start
    stays symmetric, x_l = x_{L+1-l}; independent noise breaks the symmetry."""
    kw = dict(target=0.0, mu_right=0.05, mu_left=0.15, noise=0.5, key=3, dtype=jnp.float64, **SIM)
    with jax.enable_x64(True):
        shared = np.asarray(overdamped.simulate(5, shared_noise=True, **kw).positions)
        independent = np.asarray(overdamped.simulate(5, shared_noise=False, **kw).positions)
    assert np.max(np.abs(shared)) > 1e-3
    # the mirrored forces sum the same terms in another order: rounding only.
    np.testing.assert_allclose(shared, shared[..., ::-1], atol=1e-12)
    assert np.max(np.abs(independent - independent[..., ::-1])) > 1e-3


def test_reproducible_keys():
    a = overdamped.simulate(3, key=5, **SIM).positions
    b = overdamped.simulate(3, key=5, **SIM).positions
    typed = overdamped.simulate(3, key=jax.random.key(5), **SIM).positions
    other = overdamped.simulate(3, key=6, **SIM).positions
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(typed))
    # eps_bar = 0.1 kicks of 1e-3 over 200 steps: different noise moves x by >> 1e-4.
    assert np.max(np.abs(np.asarray(a) - np.asarray(other))) > 1e-4
    # different seeds within one run differ too
    assert np.max(np.abs(np.asarray(a[0]) - np.asarray(a[1]))) > 1e-4
