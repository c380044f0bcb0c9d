"""validation.lazy: relative weight change and feature-kernel change (1 - linear CKA),
against explicit numpy computations, invariances and limiting cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from springblock.validation.nets import lazy

# (N, F, G): feature-space form (F, G <= N) and the N x N Gram form (F > N)
SHAPES = [(40, 6, 6), (30, 8, 3), (10, 25, 25), (12, 5, 30)]


def numpy_cka(x, y):
    """Kornblith et al. 2019, eq. for linear HSIC: K = X X^T, L = Y Y^T, centring matrix
    H = I - 11^T/N, CKA = <HKH, HLH>_F / (||HKH||_F ||HLH||_F), all N x N."""
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = h @ (x @ x.T) @ h, h @ (y @ y.T) @ h
    return np.sum(k * l) / (np.linalg.norm(k) * np.linalg.norm(l))


def random_orthogonal(rng, f):
    q, r = np.linalg.qr(rng.normal(size=(f, f)))
    return q * np.sign(np.diag(r))


def features(seed, shape):
    n, f, g = shape
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, f)) * rng.uniform(0.1, 3.0, f)
    # y partly depends on x so CKA spans (0, 1), not only its independent-features value
    y = np.tanh(x @ rng.normal(size=(f, g))) + rng.uniform(0, 2) * rng.normal(size=(n, g))
    return x, y


@given(shape=st.sampled_from(SHAPES), seed=st.integers(0, 2**32 - 1))
def test_cka_matches_explicit_gram_matrices(shape, seed):
    x, y = features(seed, shape)
    with jax.enable_x64(True):
        got = float(lazy.linear_cka(jnp.asarray(x), jnp.asarray(y)))
        change = np.asarray(lazy.feature_kernel_change([x, y], [y, x]))
    # float64, sums of N^2 products of O(1) numbers
    assert got == pytest.approx(numpy_cka(x, y), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(change, 1 - numpy_cka(x, y), rtol=1e-9, atol=1e-12)
    assert 0.0 <= got <= 1.0 + 1e-12  # Cauchy-Schwarz


@given(shape=st.sampled_from(SHAPES), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 2**32 - 1))
def test_cka_invariant_to_orthogonal_maps_scaling_and_shifts(shape, scale, seed):
    x, y = features(seed, shape)
    rng = np.random.default_rng(seed + 1)
    moved = scale * x @ random_orthogonal(rng, shape[1]) + rng.normal(size=(1, shape[1]))
    with jax.enable_x64(True):
        base = float(lazy.linear_cka(jnp.asarray(x), jnp.asarray(y)))
        got = float(lazy.linear_cka(jnp.asarray(moved), jnp.asarray(y)))
        same = np.asarray(lazy.feature_kernel_change([x, y], [moved, y]))
    assert got == pytest.approx(base, rel=1e-9, abs=1e-12)  # float64 rounding
    np.testing.assert_allclose(same, 0.0, atol=1e-9)  # the layer's kernel did not change


def test_identical_inputs_give_zero_change():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(100, 100)), rng.normal(size=(100,)), rng.normal(size=(10, 100))]
    feats = [rng.normal(size=(256, 100)).astype(np.float32), rng.normal(size=(256, 10))]
    np.testing.assert_array_equal(np.asarray(lazy.relative_weight_change(weights, weights)), 0)
    # float32 CKA of X with itself: ||G||^2 / (||G|| ||G||), rounding ~1e-6
    np.testing.assert_allclose(np.asarray(lazy.feature_kernel_change(feats, feats)), 0, atol=1e-5)


@given(
    shapes=st.sampled_from([[(5, 3)], [(4,), (2, 3, 2)], [(7, 7), (7,), (1, 7)]]),
    seed=st.integers(0, 2**32 - 1),
    factor=st.floats(-3.0, 3.0),
)
def test_relative_weight_change_matches_numpy(shapes, seed, factor):
    rng = np.random.default_rng(seed)
    w0 = [rng.normal(size=s) for s in shapes]
    w1 = [w + rng.normal(size=s) for w, s in zip(w0, shapes, strict=True)]
    with jax.enable_x64(True):
        got = np.asarray(lazy.relative_weight_change(w0, w1))
        scaled = np.asarray(lazy.relative_weight_change(w0, [(1 + factor) * w for w in w0]))
    expected = [
        np.linalg.norm((b - a).ravel()) / np.linalg.norm(a.ravel())
        for a, b in zip(w0, w1, strict=True)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-12)  # float64 rounding
    np.testing.assert_allclose(scaled, abs(factor), rtol=1e-9, atol=1e-12)  # W1 = (1+t) W0


def test_independent_features_give_large_change():
    """Known case: for independent Gaussian X (N x F) and Y (N x G), E||Y^T X||^2 = N F G
    and ||X^T X||_F ~ N sqrt(F), so CKA ~ sqrt(F G) / N = 0.005 here; the change is near 1
    (0.97 leaves room for fluctuations of order CKA)."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(2000, 10)), rng.normal(size=(2000, 10))
    change = float(lazy.feature_kernel_change([x.astype(np.float32)], [y.astype(np.float32)])[0])
    assert 0.97 < change <= 1.0


def test_mismatched_inputs_are_rejected():
    with pytest.raises(ValueError, match="2 initial but 1 final"):
        lazy.relative_weight_change([np.ones(2), np.ones(2)], [np.ones(2)])
    with pytest.raises(ValueError, match="layer 0: shapes"):
        lazy.relative_weight_change([np.ones(2)], [np.ones(3)])
    with pytest.raises(ValueError, match="same N samples"):
        lazy.feature_kernel_change([np.ones((4, 2))], [np.ones((5, 2))])
