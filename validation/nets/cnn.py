"""The authors' CNN as pure functions over an equinox parameter container.

Shi, Pan & Dokmanic (arXiv 2407.19353), the authors' ``src/model.py`` (class ``CNN``) and
``src/main_cnn.py``: images (N, H, W, C) channels-last (theirs are NCHW; the products are
the same), BatchNorm on the input, then ``blocks`` blocks of

    conv 3x3 (padding 1, ``channels`` out) -> BatchNorm -> LeakyReLU_alpha -> MaxPool 2
    -> nearest Upsample x2 -> dropout p,

so every block sees an H x W map again, and one Linear from the flattened last map
(channels x H x W) to the class logits. Initialisation as PyTorch's defaults
(``nn.Conv2d`` and ``nn.Linear``: weight and bias uniform on [-1/sqrt(fan_in),
1/sqrt(fan_in)], fan_in = in channels x 9 for a 3x3 kernel; ``nn.BatchNorm2d``: scale 1,
shift 0, running mean 0, variance 1, momentum 0.1, eps 1e-5). BatchNorm2d normalises each
channel over the batch and both spatial axes (the biased variance; the running variance is
updated with the unbiased one over N x H x W values), as PyTorch does: the MLP's
:func:`~springblock.validation.nets.mlp.batch_norm`, which reduces every axis but the last.

The features the separation reads, as the authors' ``get_mid_output``: the normalised
input, flattened (N, H W C), and each block's pooled map before upsampling, flattened
(N, channels x H/2 x W/2).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from springblock.params import ParameterError
from springblock.validation.nets.mlp import batch_norm, leaky_relu

KERNEL = 3


class CNN(eqx.Module):
    """Trainable parameters: conv kernels (3, 3, in, out) and biases, BatchNorm scales and
    shifts (entry 0 the input's, entry l block l's), the linear head (classes, H W channels)."""

    kernels: tuple[Float[Array, "3 3 cin cout"], ...]
    biases: tuple[Float[Array, " cout"], ...]
    bn_scale: tuple[Float[Array, " c"], ...]
    bn_shift: tuple[Float[Array, " c"], ...]
    head_weight: Float[Array, "K F"]
    head_bias: Float[Array, " K"]


class BatchStats(eqx.Module):
    """Running BatchNorm statistics per channel (not trained; updated in training mode)."""

    mean: tuple[Float[Array, " c"], ...]
    var: tuple[Float[Array, " c"], ...]


def check_image_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(H, W, C) of channels-last images; H and W even (pooling by 2 then upsampling by 2
    must give the map back, as the authors' 10 x 10 images do)."""
    if len(shape) != 3 or any(int(s) < 1 for s in shape):
        raise ParameterError("dataset", shape, "images of shape (H, W, C)")
    h, w, c = (int(s) for s in shape)
    if h % 2 or w % 2:
        raise ParameterError("dataset", shape, "images with an even height and width")
    return h, w, c


def init(
    key: PRNGKeyArray,
    image_shape: tuple[int, int, int],
    channels: int,
    blocks: int,
    classes: int,
    dtype=jnp.float32,
) -> tuple[CNN, BatchStats]:
    """PyTorch-default initialisation (module docstring)."""
    h, w, c = check_image_shape(image_shape)
    keys = jax.random.split(key, blocks + 1)
    kernels, biases = [], []
    for l in range(blocks):
        cin = c if l == 0 else channels
        bound = 1.0 / jnp.sqrt(cin * KERNEL * KERNEL)
        kw, kb = jax.random.split(keys[l])
        kernels.append(
            jax.random.uniform(kw, (KERNEL, KERNEL, cin, channels), dtype, -bound, bound)
        )
        biases.append(jax.random.uniform(kb, (channels,), dtype, -bound, bound))
    features = h * w * channels
    bound = 1.0 / jnp.sqrt(features)
    kw, kb = jax.random.split(keys[-1])
    sizes = [c] + [channels] * blocks
    params = CNN(
        tuple(kernels),
        tuple(biases),
        tuple(jnp.ones(n, dtype) for n in sizes),
        tuple(jnp.zeros(n, dtype) for n in sizes),
        jax.random.uniform(kw, (classes, features), dtype, -bound, bound),
        jax.random.uniform(kb, (classes,), dtype, -bound, bound),
    )
    stats = BatchStats(
        tuple(jnp.zeros(n, dtype) for n in sizes), tuple(jnp.ones(n, dtype) for n in sizes)
    )
    return params, stats


def _per_channel(v: Float[Array, " C"]) -> Float[Array, "1 1 1 C"]:
    return v[None, None, None, :]


def conv_3x3(x: Float[Array, "N H W C"], kernel, bias) -> Float[Array, "N H W D"]:
    """3x3 convolution with zero padding 1 (cross-correlation, as ``nn.Conv2d``), as one
    matrix product of the 9 shifted copies of the padded map (im2col) with the kernel.

    Why not ``lax.conv_general_dilated``: inside the trainer's loop (a ``scan`` in a
    ``while_loop``) XLA's CPU backend ran its gradient about 25x slower than the same
    gradient outside a loop (140 s against 5.6 s for one full-batch step of the authors'
    CNN on 2 cores, jaxlib 0.10), while matrix products keep their speed in loops (5.9 s).
    """
    n, h, w, c = x.shape
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    shifted = [padded[:, i : i + h, j : j + w, :] for i in range(KERNEL) for j in range(KERNEL)]
    columns = jnp.concatenate(shifted, axis=-1).reshape(n * h * w, KERNEL * KERNEL * c)
    out = columns @ kernel.reshape(KERNEL * KERNEL * c, -1)  # HWIO rows match (i, j, c)
    return out.reshape(n, h, w, -1) + _per_channel(bias)


def max_pool_2(x: Float[Array, "N H W C"]) -> Float[Array, "N H/2 W/2 C"]:
    """2 x 2 max pooling with stride 2 (H and W even)."""
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def upsample_2(x: Float[Array, "N H W C"]) -> Float[Array, "N 2H 2W C"]:
    """Nearest-neighbour upsampling by 2 (each entry copied into a 2 x 2 square)."""
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def forward(
    params: CNN,
    stats: BatchStats,
    x: Float[Array, "N H W C"],
    *,
    alpha: Float[Array, ""] | float,
    train: bool,
    masks: Bool[Array, "B N H W D"] | None = None,
    keep: Float[Array, ""] | float = 1.0,
) -> tuple[Float[Array, "N K"], BatchStats, list[Float[Array, "N F"]]]:
    """(logits, updated running statistics, features): the module docstring's network.

    ``masks`` (one per block, on the upsampled map) apply inverted dropout after each
    block's upsampling: kept entries are divided by ``keep``. Features are taken after
    pooling, before upsampling and dropout, flattened per sample."""
    means, vars_ = list(stats.mean), list(stats.var)
    h, means[0], vars_[0] = batch_norm(
        x, params.bn_scale[0], params.bn_shift[0], means[0], vars_[0], train
    )
    n = x.shape[0]
    features = [h.reshape(n, -1)]
    for l, (kernel, bias) in enumerate(zip(params.kernels, params.biases, strict=True), 1):
        z = conv_3x3(h, kernel, bias)
        z, means[l], vars_[l] = batch_norm(
            z, params.bn_scale[l], params.bn_shift[l], means[l], vars_[l], train
        )
        pooled = max_pool_2(leaky_relu(z, alpha))
        features.append(pooled.reshape(n, -1))
        h = upsample_2(pooled)
        if masks is not None:
            h = jnp.where(masks[l - 1], h / keep, 0.0).astype(h.dtype)
    logits = h.reshape(n, -1) @ params.head_weight.T + params.head_bias[None]
    return logits, BatchStats(tuple(means), tuple(vars_)), features
