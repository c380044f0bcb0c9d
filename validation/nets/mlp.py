"""The paper's MLP as pure functions over an equinox parameter container.

Shi, Pan & Dokmanic (arXiv 2407.19353), the experiment (reference section 2): an MLP of
``depth`` Linear layers of width ``width`` with bias; BatchNorm on the input and after every
hidden Linear; LeakyReLU with negative slope alpha (alpha = 1: linear net, 0: ReLU);
dropout p after every activation; a final Linear to the class logits (no BatchNorm):

    h_0 = BN_0(x),   h_l = drop(LeakyReLU_alpha(BN_l(W_l h_{l-1} + b_l))),  l = 1..depth-1,
    logits = W_depth h_{depth-1} + b_depth.

Initialisation matches PyTorch's defaults (``nn.Linear``: weight and bias uniform on
[-1/sqrt(fan_in), 1/sqrt(fan_in)]; ``nn.BatchNorm1d``: scale 1, shift 0, running mean 0,
running variance 1, momentum 0.1, eps 1e-5). In training mode BatchNorm normalises with the
batch mean and the biased batch variance and updates the running statistics with the
unbiased variance; in evaluation mode it uses the running statistics, as PyTorch does.

The features the separation measures read (reference section 1) are h_0 (normalised input)
and the activations of hidden layers 1..depth-1 before dropout.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

BN_MOMENTUM = 0.1
BN_EPS = 1e-5


class MLP(eqx.Module):
    """Trainable parameters: Linear weights (out, in) and biases, BatchNorm scales/shifts.

    ``bn_scale[0]``/``bn_shift[0]`` belong to the input BatchNorm, entry l to hidden layer l.
    """

    weights: tuple[Float[Array, "out in"], ...]
    biases: tuple[Float[Array, " out"], ...]
    bn_scale: tuple[Float[Array, " f"], ...]
    bn_shift: tuple[Float[Array, " f"], ...]


class BatchStats(eqx.Module):
    """Running BatchNorm statistics (not trained; updated in training mode)."""

    mean: tuple[Float[Array, " f"], ...]
    var: tuple[Float[Array, " f"], ...]


def init(
    key: PRNGKeyArray, in_features: int, width: int, depth: int, classes: int, dtype=jnp.float32
) -> tuple[MLP, BatchStats]:
    """PyTorch-default initialisation of the paper's MLP (module docstring)."""
    sizes = [in_features] + [width] * (depth - 1) + [classes]
    weights, biases = [], []
    for k, (fan_in, fan_out) in zip(
        jax.random.split(key, depth), zip(sizes[:-1], sizes[1:], strict=True), strict=True
    ):
        kw, kb = jax.random.split(k)
        bound = 1.0 / jnp.sqrt(fan_in)
        weights.append(jax.random.uniform(kw, (fan_out, fan_in), dtype, -bound, bound))
        biases.append(jax.random.uniform(kb, (fan_out,), dtype, -bound, bound))
    bn_sizes = [in_features] + [width] * (depth - 1)
    params = MLP(
        tuple(weights),
        tuple(biases),
        tuple(jnp.ones(n, dtype) for n in bn_sizes),
        tuple(jnp.zeros(n, dtype) for n in bn_sizes),
    )
    stats = BatchStats(
        tuple(jnp.zeros(n, dtype) for n in bn_sizes), tuple(jnp.ones(n, dtype) for n in bn_sizes)
    )
    return params, stats


def leaky_relu(z: Array, alpha: Float[Array, ""] | float) -> Array:
    """LeakyReLU with negative slope alpha (traced, so one compile serves every alpha)."""
    return jnp.where(z >= 0, z, alpha * z)


def batch_norm(z, scale, shift, mean, var, train: bool):
    """BatchNorm over every axis but the last (features, or an image's channels): the
    MLP's (N, F) per feature over the batch, the CNN's (N, H, W, C) per channel over the
    batch and both spatial axes, as ``nn.BatchNorm1d`` and ``nn.BatchNorm2d``. Returns
    (normalised, new running mean, new running variance); training mode uses the batch
    statistics and updates the running ones with the unbiased variance over the reduced
    entries, evaluation mode uses the running ones."""
    reduced = tuple(range(z.ndim - 1))

    def broadcast(v):
        return v.reshape((1,) * len(reduced) + (-1,))

    if train:
        batch_mean = z.mean(axis=reduced)
        batch_var = z.var(axis=reduced)
        n = math.prod(z.shape[:-1])
        new_mean = (1 - BN_MOMENTUM) * mean + BN_MOMENTUM * batch_mean
        new_var = (1 - BN_MOMENTUM) * var + BN_MOMENTUM * batch_var * n / max(n - 1, 1)
        normed = (z - broadcast(batch_mean)) * broadcast(jax.lax.rsqrt(batch_var + BN_EPS))
        return normed * broadcast(scale) + broadcast(shift), new_mean, new_var
    return (
        (z - broadcast(mean)) * broadcast(jax.lax.rsqrt(var + BN_EPS)) * broadcast(scale)
        + broadcast(shift),
        mean,
        var,
    )


#: Dropout masks compare 16-bit random integers with round(keep x 2^16): p is resolved to
#: 1/65536. One 32-bit random word gives two mask entries, a quarter of the random bits
#: (and none of the float conversions) of drawing a uniform float per entry, which on a
#: CPU made dropout nets ~1.5x slower to train (benchmarks/sweep.py).
MASK_BITS = 16


def dropout_masks(key: PRNGKeyArray, p, layers: int, n: int, width: int) -> Bool[Array, "L N W"]:
    """Keep-masks (layers, n, width) of inverted dropout with drop probability ``p``: each
    entry kept with probability round((1 - p) 2^16) / 2^16, independently."""
    half = (width + 1) // 2
    words = jax.random.bits(key, (layers, n, half), jnp.uint32)
    draws = jnp.concatenate([words & 0xFFFF, words >> 16], axis=-1)[..., :width]
    threshold = jnp.round((1.0 - p) * 2**MASK_BITS).astype(jnp.uint32)
    return draws < threshold


def kept_fraction(p) -> Float[Array, ""]:
    """The keep probability the masks realise (1 - p rounded to 1/65536)."""
    return jnp.round((1.0 - p) * 2**MASK_BITS) / 2**MASK_BITS


def forward(
    params: MLP,
    stats: BatchStats,
    x: Float[Array, "N D"],
    *,
    alpha: Float[Array, ""] | float,
    train: bool,
    masks: Bool[Array, "L N W"] | None = None,
    keep: Float[Array, ""] | float = 1.0,
) -> tuple[Float[Array, "N K"], BatchStats, list[Float[Array, "N F"]]]:
    """(logits, updated running statistics, features h_0..h_{depth-1}).

    ``train`` selects batch statistics (and updates the running ones); in evaluation mode
    the running statistics are used. ``masks`` (one per hidden layer, from
    :func:`dropout_masks`) apply inverted dropout after each activation: kept entries are
    divided by ``keep``. Features are taken before dropout.
    """
    means, vars_ = list(stats.mean), list(stats.var)
    h, means[0], vars_[0] = batch_norm(
        x, params.bn_scale[0], params.bn_shift[0], means[0], vars_[0], train
    )
    features = [h]
    depth = len(params.weights)
    for l in range(1, depth):
        z = h @ params.weights[l - 1].T + params.biases[l - 1][None]
        z, means[l], vars_[l] = batch_norm(
            z, params.bn_scale[l], params.bn_shift[l], means[l], vars_[l], train
        )
        h = leaky_relu(z, alpha)
        features.append(h)
        if masks is not None:
            h = jnp.where(masks[l - 1], h / keep, 0.0).astype(h.dtype)
    logits = h @ params.weights[-1].T + params.biases[-1][None]
    return logits, BatchStats(tuple(means), tuple(vars_)), features
