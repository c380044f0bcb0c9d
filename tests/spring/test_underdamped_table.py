"""Model (b)'s ensemble for the theory-vs-nets table (underdamped.ensemble_mean_positions,
table with model "b"): the grid kernel against the independent per-seed driver
(underdamped.simulate), exactly without noise and within Monte Carlo error with it; the
frictionless chain's equi-separation limit; common random numbers (a sub-grid reproduces
the same entries); the table's fractions sum to one; a program whose size does not grow
with the number of saves."""

import numpy as np
import pytest

from springblock.numerics.spring import table, underdamped
from springblock.params import Chain, Friction, ParameterError, Underdamped

L = 5


def config(noise, steps=1200, mu=(0.05, 0.08)):
    return Underdamped(
        chain=Chain(blocks=L, stiffness=1.0),
        friction=Friction(*mu),
        noise=noise,
        decay=0.01,
        dt=0.05,
        steps=steps,
    )


def test_noiseless_grid_kernel_equals_the_per_seed_driver():
    """Without noise both drivers step the same compiled update, so they agree to float32
    rounding (measured 1e-7; allowed 1e-5) at every saved time, for two parameter sets at
    once (each grid point is its own chain)."""
    ref_a = underdamped.simulate(config(0.0), seeds=1, saves=4)
    ref_b = underdamped.simulate(config(0.0, mu=(0.0, 0.0)), seeds=1, saves=4)
    means = underdamped.ensemble_mean_positions(
        L, [0.05, 0.0], [0.08, 0.0], [0.0, 0.0], np.asarray(ref_a.times), decay=0.01, seeds=2
    )
    np.testing.assert_allclose(means[0], np.asarray(ref_a.positions[0]), atol=1e-5)
    np.testing.assert_allclose(means[1], np.asarray(ref_b.positions[0]), atol=1e-5)


def test_noisy_ensemble_mean_agrees_with_the_per_seed_driver():
    """Independent noise streams: the two ensemble means differ by Monte Carlo error only
    (every block and time within 4 combined standard errors; seeds fixed, so the test is
    deterministic)."""
    seeds = 400
    ref = underdamped.simulate(config(0.2), seeds=seeds, saves=4)
    x = np.asarray(ref.positions, float)
    mine = underdamped.ensemble_mean_positions(
        L, [0.05], [0.08], [0.2], np.asarray(ref.times), decay=0.01, seeds=seeds, key=11
    )[0]
    se = x.std(0, ddof=1) / np.sqrt(seeds)
    z = np.abs(mine - x.mean(0)) / (np.sqrt(2) * se)
    assert z.max() < 4.0, z.max()
    # and the noise does move the chain: the noiseless run is many standard errors away
    quiet = underdamped.simulate(config(0.0), seeds=1, saves=4)
    assert np.max(np.abs(np.asarray(quiet.positions[0]) - x.mean(0)) / se) > 10


def test_frictionless_chain_relaxes_to_equal_elongations():
    """mu = 0, no noise: the damped chain relaxes to x_l = l y / (L + 1) (reference section
    4, zero friction). Its slowest mode decays like exp(-0.2 t) here, so by t = 300 the
    error is far below the 1e-5 allowed (float32)."""
    means = underdamped.ensemble_mean_positions(L, [0.0], [0.0], [0.0], [300.0], seeds=1)
    np.testing.assert_allclose(means[0, 0], np.arange(1, L + 1) / (L + 1), atol=1e-5)


def test_a_save_between_steps_lands_on_its_time():
    """A save at t = n dt + f runs n whole steps and one of length f: without noise and
    friction, a save at 1.0 (20 steps) followed by one at 1.0 + 1e-7 differs by at most
    |v| 1e-7 (float32: 1e-6 allowed), and saves at whole steps match the per-step driver."""
    near = underdamped.ensemble_mean_positions(L, [0.0], [0.0], [0.0], [1.0, 1.0 + 1e-7], seeds=1)
    np.testing.assert_allclose(near[0, 0], near[0, 1], atol=1e-6)
    fractional = underdamped.ensemble_mean_positions(L, [0.0], [0.0], [0.0], [1.01], seeds=1)
    after = underdamped.ensemble_mean_positions(L, [0.0], [0.0], [0.0], [1.05], seeds=1)
    # moving right from rest: the last block is between its 20- and 21-step positions
    assert near[0, 0, -1] < fractional[0, 0, -1] < after[0, 0, -1]


def test_bad_times_are_refused():
    with pytest.raises(ParameterError, match="times"):
        underdamped.ensemble_mean_positions(L, [0.0], [0.0], [0.0], [2.0, 1.0])


def small_spec(**grid):
    base = dict(
        blocks=3,
        model="b",
        mu_max=0.2,
        noise_points=2,
        asymmetry_points=2,
        time_min=1.0,
        time_max=50.0,
        time_points=3,
        seeds=8,
    )
    return table.TableSpec(**(base | grid))


def test_table_b_has_common_random_numbers_and_fractions_summing_to_one():
    """Every grid point sees the same noise paths, so a coarser grid (mu in {0, 0.2})
    reproduces the finer one's (mu in {0, 0.1, 0.2}) entries (float32 rounding allowed:
    1e-5), and each entry's elongations sum to y = 1."""
    fine = table.tabulate(small_spec(mu_points=3))
    coarse = table.tabulate(small_spec(mu_points=2))
    np.testing.assert_allclose(coarse.elongations, fine.elongations[[0, 2]], atol=1e-5)
    np.testing.assert_allclose(fine.elongations.sum(-1), 1.0, atol=1e-6)
    # the noise moves the curves: different noise levels give different entries
    assert np.max(np.abs(np.diff(fine.elongations, axis=1))) > 1e-3


def test_default_spec_of_each_model():
    a, b = table.default_spec("a", 6), table.default_spec("b", 6)
    assert (a.model, b.model, a.blocks, b.blocks) == ("a", "b", 6, 6)
    # the same friction and noise ranges as the model stage; model (b) ends when its noise
    # has decayed (lambda t_max = 10)
    assert (a.mu_max, a.noise_min, a.noise_max) == (b.mu_max, b.noise_min, b.noise_max)
    assert b.decay * b.time_max == pytest.approx(10.0)
    with pytest.raises(ParameterError, match="model"):
        table.default_spec("c", 6)


def _equation_count(jaxpr) -> int:
    """Equations of ``jaxpr`` and of every sub-jaxpr (loop bodies, branches), counted."""
    import jax

    total = 0
    for eqn in jaxpr.eqns:
        total += 1
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            total += _equation_count(sub)
    return total


def test_the_ensemble_program_does_not_grow_with_the_number_of_saves():
    """The save segments run in one scan: the traced program of 16 saves is exactly as
    large as that of 2 (a Python loop over the segments repeated the stick-slip step in
    every one, and model (b)'s default table took 26 s to compile)."""
    import jax
    import jax.numpy as jnp

    def size(saves: int) -> int:
        counts = (300,) + (257,) * (saves - 1)  # whole chunks and a partial one each
        run = underdamped._ensemble_kernel(L, counts, underdamped.NOISE_CHUNK)
        keys = jax.random.split(jax.random.key(0), 2)
        params = tuple(jnp.ones((3, 1), jnp.float32) for _ in range(9))
        h, fractions = jnp.float32(0.05), jnp.zeros(saves, jnp.float32)
        return _equation_count(jax.make_jaxpr(run)(keys, h, fractions, params).jaxpr)

    assert size(16) == size(2)
