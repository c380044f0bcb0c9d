"""The counter-based draws against what the nets need of them, by Monte Carlo: uniform
words, independent entries and steps, the same draws under vmap, and normals that pass a
Kolmogorov-Smirnov test. Every draw uses fixed keys, so each test is deterministic; the
thresholds (p > 1e-4, or 5 standard errors) are what a good generator fails once in 10^4
or more keys, not tuned to these keys."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy import stats

from springblock.validation.nets import random_bits

SIZE = 1 << 20


def words(seed: int, shape=(SIZE,)) -> np.ndarray:
    return np.asarray(random_bits.bits(jax.random.key(seed), shape))


def test_bytes_of_every_position_are_uniform():
    """Chi-square over 256 values of each byte of 2^20 words (255 degrees of freedom)."""
    w = words(0)
    for shift in (0, 8, 16, 24):
        counts = np.bincount((w >> shift) & 0xFF, minlength=256)
        assert stats.chisquare(counts).pvalue > 1e-4, shift


def test_neighbouring_entries_and_steps_are_uncorrelated():
    """Pearson correlation of the words as numbers: standard error 1/sqrt(n) ~ 1e-3;
    neighbours in a row, in a column of a (1024, 1024) draw, and the same entry under
    two keys (two steps)."""
    grid = words(1, (1024, 1024)).astype(np.float64)
    other = words(2, (1024, 1024)).astype(np.float64)
    se = 1 / np.sqrt(grid.size)
    for a, b in [
        (grid[:, :-1], grid[:, 1:]),
        (grid[:-1], grid[1:]),
        (grid, other),
    ]:
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 5 * se


def test_a_draw_never_repeats_a_word():
    """i -> x_i is a bijection for fixed keys: 2^20 distinct words (random words would
    collide ~128 times)."""
    assert np.unique(words(3)).size == SIZE


def test_draws_are_the_same_under_vmap_and_one_by_one():
    keys = jax.random.split(jax.random.key(4), 3)
    batched = jax.vmap(lambda k: random_bits.bits(k, (5, 7)))(keys)
    for k, row in zip(keys, batched, strict=True):
        np.testing.assert_array_equal(np.asarray(random_bits.bits(k, (5, 7))), np.asarray(row))


def test_uniforms_and_normals():
    """Uniforms on [0, 1) pass a KS test; normals have mean 0, variance 1 and kurtosis 3
    within 5 standard errors (1/sqrt(n), sqrt(2/n), sqrt(96/n)) and pass a KS test."""
    u = np.asarray(random_bits.uniform(jax.random.key(5), (SIZE,)))
    assert u.min() >= 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    z = np.asarray(random_bits.normal(jax.random.key(6), (SIZE,))).astype(np.float64)
    assert np.isfinite(z).all()
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs((z**4).mean() - 3) < 5 * np.sqrt(96 / n)
    assert stats.kstest(z, "norm").pvalue > 1e-4


def test_a_draw_larger_than_the_counter_is_refused():
    with pytest.raises(ValueError, match="32-bit counter"):
        random_bits.bits(jax.random.key(0), (1 << 16, 1 << 16))
