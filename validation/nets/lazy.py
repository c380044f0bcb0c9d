"""Per-layer lazy/active indicators: how far training moved each layer.

A layer is "lazy" (reference section 1: the shallow or deep layers that carry no load)
when training barely changes it. Two measurements, per layer l, between initialization
(0) and the end of training (1):

- relative weight change ||W1_l - W0_l||_F / ||W0_l||_F;
- feature kernel change 1 - CKA(K0_l, K1_l), with the linear centred kernel alignment of
  Kornblith, Norouzi, Lee & Hinton, "Similarity of neural network representations
  revisited", ICML 2019: for features X (N, F), Y (N, G) with column-centred versions
  Xc, Yc and Gram matrices K = Xc Xc^T, L = Yc Yc^T,

      CKA = <K, L>_F / (||K||_F ||L||_F)
          = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F),

  the second form (the feature-space identity tr(Xc Xc^T Yc Yc^T) = ||Yc^T Xc||_F^2)
  avoiding N x N matrices. CKA = 1 for features equal up to an orthogonal map and an
  isotropic scaling, so the change is 0 for a lazy layer and near 1 for unrelated features.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


@jax.jit
def _relative_change(w0: Array, w1: Array) -> Float[Array, ""]:
    return jnp.sqrt(jnp.sum((w1 - w0) ** 2) / jnp.sum(w0**2))


def relative_weight_change(w0: Sequence[Array], w1: Sequence[Array]) -> Float[Array, " L"]:
    """||W1_l - W0_l||_F / ||W0_l||_F for each layer l (arrays of any shape, paired by
    position). inf/nan when W0_l = 0."""
    if len(w0) != len(w1):
        raise ValueError(f"{len(w0)} initial but {len(w1)} final weight arrays")
    values = []
    for l, (a, b) in enumerate(zip(w0, w1, strict=True)):
        if jnp.shape(a) != jnp.shape(b):
            raise ValueError(f"layer {l}: shapes {jnp.shape(a)} and {jnp.shape(b)} differ")
        values.append(_relative_change(jnp.asarray(a), jnp.asarray(b)))
    return jnp.stack(values)


@jax.jit
def linear_cka(x: Float[Array, "N F"], y: Float[Array, "N G"]) -> Float[Array, ""]:
    """Linear CKA of two feature matrices of the same N samples (Kornblith et al. 2019).

    Uses the F x G feature-space form when max(F, G) <= N, the N x N Gram form otherwise
    (whichever has the smaller matrices; both are the same number). nan when either
    feature matrix is constant over samples (a zero kernel)."""
    n = x.shape[0]
    xc = x - jnp.mean(x, axis=0, keepdims=True)
    yc = y - jnp.mean(y, axis=0, keepdims=True)
    if max(x.shape[1], y.shape[1]) <= n:
        cross = jnp.sum((yc.T @ xc) ** 2)
        norm_x = jnp.sqrt(jnp.sum((xc.T @ xc) ** 2))
        norm_y = jnp.sqrt(jnp.sum((yc.T @ yc) ** 2))
    else:
        k, g = xc @ xc.T, yc @ yc.T
        cross = jnp.sum(k * g)
        norm_x, norm_y = jnp.sqrt(jnp.sum(k**2)), jnp.sqrt(jnp.sum(g**2))
    return cross / (norm_x * norm_y)


def feature_kernel_change(
    f0: Sequence[Float[Array, "N F"]], f1: Sequence[Float[Array, "N F"]]
) -> Float[Array, " L"]:
    """1 - CKA(K0_l, K1_l) for each layer l: features of the same N samples (same order)
    at initialization (f0) and after training (f1). 0: the layer's kernel did not change
    (lazy); near 1: unrelated kernels."""
    if len(f0) != len(f1):
        raise ValueError(f"{len(f0)} initial but {len(f1)} final feature arrays")
    values = []
    for l, (a, b) in enumerate(zip(f0, f1, strict=True)):
        if jnp.ndim(a) != 2 or jnp.ndim(b) != 2 or jnp.shape(a)[0] != jnp.shape(b)[0]:
            raise ValueError(
                f"layer {l}: need (N, F) features of the same N samples, got "
                f"{jnp.shape(a)} and {jnp.shape(b)}"
            )
        values.append(1.0 - linear_cka(jnp.asarray(a), jnp.asarray(b)))
    return jnp.stack(values)
