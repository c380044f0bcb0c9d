"""The authors' CNN (validation/nets/cnn.py) against loop-by-loop numpy references and
finite differences."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from springblock.params import ParameterError
from springblock.validation.nets import cnn, mlp


def test_convolution_pooling_and_upsampling_match_direct_loops():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 6, 3))
    k = rng.normal(size=(3, 3, 3, 5))
    b = rng.normal(size=5)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    direct = np.zeros((2, 4, 6, 5))
    for i in range(4):
        for j in range(6):
            patch = padded[:, i : i + 3, j : j + 3, :]  # cross-correlation, as nn.Conv2d
            direct[:, i, j, :] = np.einsum("nabc,abcd->nd", patch, k) + b
    with jax.enable_x64(True):
        got = np.asarray(cnn.conv_3x3(jnp.asarray(x), jnp.asarray(k), jnp.asarray(b)))
        pooled = np.asarray(cnn.max_pool_2(jnp.asarray(x)))
        up = np.asarray(cnn.upsample_2(jnp.asarray(pooled)))
    np.testing.assert_allclose(got, direct, rtol=1e-12, atol=1e-12)
    for i in range(2):
        for j in range(3):
            np.testing.assert_array_equal(
                pooled[:, i, j], x[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max(axis=(1, 2))
            )
            for di in range(2):
                for dj in range(2):
                    np.testing.assert_array_equal(up[:, 2 * i + di, 2 * j + dj], pooled[:, i, j])


def test_batch_norm_2d_normalises_each_channel_over_batch_and_space():
    rng = np.random.default_rng(1)
    z = rng.normal(3.0, 2.0, size=(5, 4, 4, 3))
    with jax.enable_x64(True):
        out, mean, var = mlp.batch_norm(
            jnp.asarray(z), jnp.ones(3), jnp.zeros(3), jnp.zeros(3), jnp.ones(3), train=True
        )
    flat = z.reshape(-1, 3)
    expected = (z - flat.mean(0)) / np.sqrt(flat.var(0) + mlp.BN_EPS)
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(mean), 0.1 * flat.mean(0), rtol=1e-12)
    # running variance updated with the unbiased variance over N x H x W = 80 values
    np.testing.assert_allclose(np.asarray(var), 0.9 + 0.1 * flat.var(0, ddof=1), rtol=1e-12)


def test_shapes_features_and_initialisation_bounds():
    params, stats = cnn.init(jax.random.key(0), (4, 6, 2), channels=3, blocks=2, classes=4)
    x = jax.random.normal(jax.random.key(1), (7, 4, 6, 2))
    logits, new_stats, feats = cnn.forward(params, stats, x, alpha=0.2, train=True)
    assert logits.shape == (7, 4)
    assert [f.shape for f in feats] == [(7, 48), (7, 18), (7, 18)]  # input, pooled maps
    assert all(not jnp.allclose(a, b) for a, b in zip(new_stats.mean, stats.mean, strict=True))
    assert float(jnp.abs(params.kernels[0]).max()) <= 1 / np.sqrt(2 * 9)
    assert float(jnp.abs(params.kernels[1]).max()) <= 1 / np.sqrt(3 * 9)
    assert float(jnp.abs(params.head_weight).max()) <= 1 / np.sqrt(4 * 6 * 3)
    with pytest.raises(ParameterError, match="even"):
        cnn.init(jax.random.key(0), (5, 6, 2), channels=3, blocks=2, classes=4)


def test_gradient_matches_finite_differences():
    """The training loss's gradient (train-mode BatchNorm, dropout masks fixed) against
    central differences on 30 random coordinates, in float64. Step 1e-5: truncation
    ~1e-10 relative; the random inputs keep max-pool ties and LeakyReLU kinks away."""
    with jax.enable_x64(True):
        params, stats = cnn.init(
            jax.random.key(0), (4, 4, 2), channels=3, blocks=2, classes=3, dtype=jnp.float64
        )
        x = jax.random.normal(jax.random.key(1), (6, 4, 4, 2), jnp.float64)
        y = jnp.array([0, 1, 2, 0, 1, 2])
        masks = jax.random.bernoulli(jax.random.key(2), 0.8, (2, 6, 4, 4, 3))
        theta, unravel = ravel_pytree(params)

        @jax.jit  # 61 evaluations: eagerly, each would dispatch every operation alone
        def loss(flat):
            logits, _, _ = cnn.forward(
                unravel(flat), stats, x, alpha=0.3, train=True, masks=masks, keep=0.8
            )
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        grad = np.asarray(jax.grad(loss)(theta))
        picks = np.random.default_rng(3).choice(theta.size, 30, replace=False)
        h = 1e-5
        for i in picks:
            e = jnp.zeros_like(theta).at[i].set(h)
            fd = (float(loss(theta + e)) - float(loss(theta - e))) / (2 * h)
            assert fd == pytest.approx(grad[i], rel=1e-6, abs=1e-9), i


def test_forward_composes_the_blocks_in_the_authors_order():
    """Evaluation mode by hand, in numpy: input BatchNorm, then per block conv -> BatchNorm
    -> LeakyReLU -> pool (the feature) -> upsample; the head on the last map."""
    with jax.enable_x64(True):
        params, stats = cnn.init(
            jax.random.key(4), (4, 4, 1), channels=2, blocks=2, classes=3, dtype=jnp.float64
        )
        x = jax.random.normal(jax.random.key(5), (3, 4, 4, 1), jnp.float64)
        logits, _, feats = cnn.forward(params, stats, x, alpha=0.25, train=False)
        p = jax.tree.map(np.asarray, params)

        def bn(z, l):  # running statistics at initialisation: mean 0, variance 1
            return z / np.sqrt(1 + mlp.BN_EPS) * p.bn_scale[l] + p.bn_shift[l]

        h = bn(np.asarray(x), 0)
        expected = [h.reshape(3, -1)]
        for l in range(2):
            z = np.asarray(cnn.conv_3x3(jnp.asarray(h), params.kernels[l], params.biases[l]))
            a = bn(z, l + 1)
            a = np.where(a >= 0, a, 0.25 * a)
            pooled = a.reshape(3, 2, 2, 2, 2, 2).max(axis=(2, 4))
            expected.append(pooled.reshape(3, -1))
            h = pooled.repeat(2, axis=1).repeat(2, axis=2)
        for got, want in zip(feats, expected, strict=True):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12)
        want_logits = h.reshape(3, -1) @ p.head_weight.T + p.head_bias
        np.testing.assert_allclose(np.asarray(logits), want_logits, rtol=1e-12)
