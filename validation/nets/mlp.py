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

from springblock.validation.nets import batch_norm_kernel, random_bits

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
    """BatchNorm over every axis but the last (features, or an image's channels): (N, F)
    per feature over the batch, the CNN's (N, H, W, C) per channel over the batch and both
    spatial axes, as ``nn.BatchNorm1d`` and ``nn.BatchNorm2d`` (the MLP's training pass
    uses the fused, feature-major :func:`batch_norm_activation` instead). Returns
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


def batch_norm_activation_of(kernels: bool = True):
    """:func:`batch_norm_activation` computed by the CPU kernels where they are built, the
    program is compiled for the CPU and the batch has at least
    :data:`batch_norm_kernel.MIN_SAMPLES` samples (``kernels=True``), else by XLA's fusions
    of the same maths in ``jax.numpy`` (``kernels=False`` everywhere;
    benchmarks/train_step.py times both)."""

    def on_kernels_if_built(kernel, xla, *operands):
        z = operands[0]
        if not (kernels and batch_norm_kernel.supports(z.dtype, z.shape[-1])):
            return xla(*operands)
        return jax.lax.platform_dependent(*operands, cpu=kernel, default=xla)

    def values(z, bias, scale, shift, alpha):
        alpha = jnp.asarray(alpha, z.dtype)
        return on_kernels_if_built(
            batch_norm_kernel.forward, _bn_activation_xla, z, bias, scale, shift, alpha
        )

    @jax.custom_vjp
    def batch_norm_activation(z, bias, scale, shift, alpha):
        """Training-mode BatchNorm of feature-major activations z (F, N) + bias (F,) over the
        batch axis, then LeakyReLU_alpha: returns (h, batch mean, biased batch variance), with a
        hand-written reverse pass. ``bias`` is the preceding Linear layer's (zeros for the
        input BatchNorm): folding it in saves a pass over the activations.

        Forward, per feature: y = z + bias, m = mean(y), v = mean((y - m)^2),
        xhat = (y - m) / sqrt(v + eps), u = scale xhat + shift, h = LeakyReLU_alpha(u).
        Reverse (the standard BatchNorm gradient, Ioffe & Szegedy 2015, section 3, written for
        the sums once): with g = dh LeakyReLU'(u),

            dshift = sum g,   dscale = sum g xhat,
            dz = scale / (N sqrt(v + eps)) (N g - dshift - xhat dscale)
                 + dm / N + 2 dv (y - m) / N,
            dbias = sum dz,   dalpha = sum dh min(u, 0),

        the dm and dv terms only when the mean and variance outputs carry a cotangent
        (``symbolic_zeros``: in training they feed the running statistics, never the loss).
        The reverse pass keeps no activation-sized residual: it recomputes xhat and u from z
        and the batch statistics.

        On the CPU both directions run as compiled kernels (:mod:`batch_norm_kernel`), where
        they are built; elsewhere as the same maths in ``jax.numpy`` (XLA's fusions;
        :func:`batch_norm_activation_of` ``(kernels=False)`` chooses them everywhere). XLA's
        own reverse pass of the plain formula makes several more passes over the activations;
        with the features on the leading axis the sums run along contiguous rows
        (benchmarks/train_step.py measures each)."""
        return values(z, bias, scale, shift, alpha)

    def forward(z, bias, scale, shift, alpha):
        operands = (z.value, bias.value, scale.value, shift.value, alpha.value)
        h, mean, var = values(*operands)
        return (h, mean, var), (*operands, mean, var)

    def reverse(residuals, cotangents):
        z, bias, scale, shift, alpha, mean, var = residuals
        dh, dmean, dvar = cotangents
        n = z.shape[-1]
        if isinstance(dh, jax.custom_derivatives.SymbolicZero):
            dz = jnp.zeros_like(z)
            zero = jnp.zeros_like(scale)
            dbias, dscale, dshift, dalpha = zero, zero, zero, jnp.zeros_like(alpha)
        else:
            dz, dbias, dscale, dshift, dalpha = on_kernels_if_built(
                batch_norm_kernel.reverse,
                _bn_activation_reverse_xla,
                z,
                bias,
                scale,
                shift,
                jnp.asarray(alpha, z.dtype),
                mean,
                var,
                dh,
            )
            dalpha = dalpha.astype(jnp.result_type(alpha))  # the primal's dtype
        if not isinstance(dmean, jax.custom_derivatives.SymbolicZero):
            dz = dz + dmean[..., None] / n
            dbias = dbias + dmean
        if not isinstance(dvar, jax.custom_derivatives.SymbolicZero):
            through_var = (2.0 / n) * dvar[..., None] * (z + bias[..., None] - mean[..., None])
            dz = dz + through_var
            dbias = dbias + through_var.sum(axis=-1)
        return dz, dbias, dscale, dshift, dalpha

    batch_norm_activation.defvjp(forward, reverse, symbolic_zeros=True)
    return batch_norm_activation


def _bn_activation_xla(z, bias, scale, shift, alpha):
    y = z + bias[..., None]
    mean = y.mean(axis=-1)
    centred = y - mean[..., None]
    var = jnp.mean(centred * centred, axis=-1)
    u = centred * (jax.lax.rsqrt(var + BN_EPS) * scale)[..., None] + shift[..., None]
    return leaky_relu(u, jnp.asarray(alpha)[..., None, None]), mean, var


def _bn_activation_reverse_xla(z, bias, scale, shift, alpha, mean, var, dh):
    n = z.shape[-1]
    rstd = jax.lax.rsqrt(var + BN_EPS)
    xhat = (z + bias[..., None] - mean[..., None]) * rstd[..., None]
    u = xhat * scale[..., None] + shift[..., None]
    negative = u < 0
    slope = jnp.asarray(alpha)[..., None, None]
    g = jnp.where(negative, slope * dh, dh)
    dalpha = jnp.sum(jnp.where(negative, dh * u, 0.0), axis=(-2, -1)).astype(z.dtype)
    dshift = g.sum(axis=-1)
    dscale = (g * xhat).sum(axis=-1)
    dz = (scale * rstd / n)[..., None] * (n * g - dshift[..., None] - xhat * dscale[..., None])
    return dz, dz.sum(axis=-1), dscale, dshift, jnp.reshape(dalpha, jnp.shape(alpha))


batch_norm_activation = batch_norm_activation_of(kernels=True)


#: Dropout masks compare 16-bit random integers with round(keep x 2^16): p is resolved to
#: 1/65536, and :func:`kept_fraction` is the keep probability realised exactly.
MASK_BITS = 16


def dropout_masks(key: PRNGKeyArray, p, shape: tuple[int, ...]) -> Bool[Array, "..."]:
    """Keep-masks of ``shape`` for inverted dropout with drop probability ``p``: each entry
    kept with probability round((1 - p) 2^16) / 2^16, independently (the top 16 bits of
    :func:`random_bits.bits`)."""
    draws = random_bits.bits(key, shape) >> (32 - MASK_BITS)
    threshold = jnp.round((1.0 - p) * 2**MASK_BITS).astype(jnp.uint32)
    return draws < threshold


def kept_fraction(p) -> Float[Array, ""]:
    """The keep probability the masks realise (1 - p rounded to 1/65536)."""
    return jnp.round((1.0 - p) * 2**MASK_BITS) / 2**MASK_BITS


def mask_shape(depth: int, n: int, width: int) -> tuple[int, int, int]:
    """The dropout masks' shape of :func:`forward` on n samples: (depth - 1, width, n),
    feature-major like the activations."""
    return (depth - 1, width, n)


def forward(
    params: MLP,
    stats: BatchStats,
    x: Float[Array, "N D"],
    *,
    alpha: Float[Array, ""] | float,
    train: bool,
    masks: Bool[Array, "L W N"] | None = None,
    keep: Float[Array, ""] | float = 1.0,
) -> tuple[Float[Array, "N K"], BatchStats, list[Float[Array, "N F"]]]:
    """(logits, updated running statistics, features h_0..h_{depth-1}).

    ``train`` selects batch statistics (and updates the running ones, with the unbiased
    variance); in evaluation mode the running statistics are used. ``masks`` (one per
    hidden layer, :func:`mask_shape`, from :func:`dropout_masks`) apply inverted dropout
    after each activation: kept entries are divided by ``keep``. Features are taken before
    dropout. Inside, activations are feature-major (F, N) (see
    :func:`batch_norm_activation`); inputs, logits and features are sample-major.
    """
    means, vars_ = list(stats.mean), list(stats.var)
    n = x.shape[0]

    def normalise(z, bias, l, slope):
        if not train:
            rstd = jax.lax.rsqrt(vars_[l] + BN_EPS)
            u = (z + bias[:, None] - means[l][:, None]) * (rstd * params.bn_scale[l])[:, None]
            return leaky_relu(u + params.bn_shift[l][:, None], slope)
        h, batch_mean, batch_var = batch_norm_activation(
            z, bias, params.bn_scale[l], params.bn_shift[l], jnp.asarray(slope, z.dtype)
        )
        means[l] = (1 - BN_MOMENTUM) * means[l] + BN_MOMENTUM * batch_mean
        vars_[l] = (1 - BN_MOMENTUM) * vars_[l] + BN_MOMENTUM * batch_var * n / max(n - 1, 1)
        return h

    # the input BatchNorm: no bias, no activation (slope 1)
    h = normalise(x.T, jnp.zeros(x.shape[1], x.dtype), 0, 1.0)
    features = [h]
    depth = len(params.weights)
    for l in range(1, depth):
        h = normalise(params.weights[l - 1] @ h, params.biases[l - 1], l, alpha)
        features.append(h)
        if masks is not None:
            h = jnp.where(masks[l - 1], h / keep, 0.0).astype(h.dtype)
    logits = (params.weights[-1] @ h).T + params.biases[-1][None]
    return logits, BatchStats(tuple(means), tuple(vars_)), [f.T for f in features]
