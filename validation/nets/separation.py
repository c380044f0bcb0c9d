"""Per-layer data separation D_l and the load-curve statistics of trained nets.

Definitions (Shi, Pan & Dokmanic 2025; ../shared/reference/spring-block.md section 1). For
the features h_i of one layer (row i = training sample i, N samples, K classes, n_k samples
in class k, class means mu_k, global mean mu):

    Sigma_b = (1/N) sum_k n_k (mu_k - mu)(mu_k - mu)^T                  between-class
    Sigma_w = (1/N) sum_k sum_{i in k} (h_i - mu_k)(h_i - mu_k)^T       within-class

and two separation measures (smaller = better separated):

- trace ratio: ``D = log(tr Sigma_w / tr Sigma_b)`` (the paper's CNN script);
- He & Su, "A law of data separation in deep learning", PNAS 2023:
  ``D = log tr(Sigma_w pinv(Sigma_b))`` (the authors' ``smeasure_logD`` in ``src/utils.py``).

Everything is computed with one-hot matrix products (no Python loop over classes), is
jittable (``num_classes`` static) and vmappable over layers of equal width. Empty classes
(n_k = 0) contribute nothing.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int


def _centred(features: Float[Array, "N F"], labels: Int[Array, " N"], num_classes: int):
    """Within-class deviations W (N, F), rows h_i - mu_{y_i}, and the weighted centred
    class means B (K, F), rows sqrt(n_k / N) (mu_k - mu); so that Sigma_w = W^T W / N and
    Sigma_b = B^T B. Features are centred on mu first, which keeps float32 accurate."""
    n = features.shape[0]
    onehot = jax.nn.one_hot(labels, num_classes, dtype=features.dtype)  # (N, K)
    centred = features - jnp.mean(features, axis=0, keepdims=True)
    counts = jnp.sum(onehot, axis=0)  # (K,)
    means = (onehot.T @ centred) / jnp.maximum(counts, 1)[:, None]  # mu_k - mu, (K, F)
    within = centred - onehot @ means
    between = jnp.sqrt(counts / n)[:, None] * means
    return within, between


@functools.partial(jax.jit, static_argnames="num_classes")
def within_between(
    features: Float[Array, "N F"], labels: Int[Array, " N"], num_classes: int
) -> tuple[Float[Array, "F F"], Float[Array, "F F"]]:
    """(Sigma_w, Sigma_b) of reference section 1: both divided by N, the between-class
    covariance weighted by the class counts n_k. Labels must lie in [0, num_classes)
    (not checked: the function is jitted)."""
    within, between = _centred(features, labels, num_classes)
    return within.T @ within / features.shape[0], between.T @ between


@functools.partial(jax.jit, static_argnames="num_classes")
def separation_trace(
    features: Float[Array, "N F"], labels: Int[Array, " N"], num_classes: int
) -> Float[Array, ""]:
    """D = log(tr Sigma_w / tr Sigma_b) (trace ratio). +inf when Sigma_b = 0 (all class
    means equal).

    Invariant under orthogonal maps and uniform scaling of the features."""
    within, between = _centred(features, labels, num_classes)
    return jnp.log(jnp.sum(within**2) / features.shape[0]) - jnp.log(jnp.sum(between**2))


@functools.partial(jax.jit, static_argnames=("num_classes", "rtol"))
def separation_pinv(
    features: Float[Array, "N F"],
    labels: Int[Array, " N"],
    num_classes: int,
    rtol: float | None = None,
) -> Float[Array, ""]:
    """D = log tr(Sigma_w pinv(Sigma_b)) (He & Su, PNAS 2023).

    Sigma_b has rank <= K - 1 (the K centred class means, weighted, sum to zero), so its
    pseudo-inverse keeps only the eigen-directions with eigenvalue > rtol * (largest
    eigenvalue); ``rtol`` defaults to F * eps(dtype), the default of
    ``torch.linalg.pinv`` that the authors call (F x F matrix). With Sigma_b = B^T B and
    the thin SVD B = U S V^T, pinv(Sigma_b) = V_+ S_+^{-2} V_+^T over the kept singular
    values, hence

        tr(Sigma_w pinv(Sigma_b)) = sum_{j kept} |W v_j|^2 / (N s_j^2),

    which needs only a K x F SVD and leaves the null eigenvalues exactly zero instead of
    at rounding level. Invariant under orthogonal maps and uniform scaling of the
    features. -inf when Sigma_b = 0 exactly (all class means equal: nothing kept); near
    that limit the relative cutoff keeps rounding-level directions, as torch does, and D
    is ill-conditioned. Note that it measures
    separation inside the span of the class means only: merging two classes' means fully
    drops a direction and can lower D (for K = 2 it gives -inf).
    """
    n, f = features.shape
    within, between = _centred(features, labels, num_classes)
    _, s, vt = jnp.linalg.svd(between, full_matrices=False)  # s descending, vt (r, F)
    tol = (f * jnp.finfo(features.dtype).eps) if rtol is None else rtol
    keep = s**2 > tol * s[0] ** 2
    projected = jnp.sum((within @ vt.T) ** 2, axis=0) / n  # v_j^T Sigma_w v_j
    ratio = jnp.where(keep, projected / jnp.where(keep, s**2, 1.0), 0.0)
    return jnp.log(jnp.sum(ratio))


#: The two measures by name (for the CLI and figure labels).
MEASURES = {"trace": separation_trace, "pinv": separation_pinv}


class LoadCurveStatistics(NamedTuple):
    """Elongations d_l = D_{l-1} - D_l (l = 1..L-1 for L layers D_0..D_{L-1}), spread
    v = std_l d_l (ddof 0) and signed curvature c = d_first - d_last."""

    elongations: Float[Array, "... L-1"]
    spread: Float[Array, "..."]
    curvature: Float[Array, "..."]


def load_curve_statistics(separation: Float[ArrayLike, "... L"]) -> LoadCurveStatistics:
    """Statistics of load curves D_0..D_{L-1} on the last axis (any leading batch axes).

    As the authors' ``v_and_c`` (``src/utils.py``) and reference section 1: load of layer
    l is d_l = D_{l-1} - D_l; v = std(d) is 0 for a linear load curve (equal load on every
    layer); c = sum_l (d_l - d_{l+1}) = d_first - d_last, c < 0 when deep layers carry
    more load (concave curve: D flat, then dropping), c > 0 when shallow layers do.
    The caller drops the logits layer first (the authors' ``remove_last_layer``).
    """
    separation = jnp.asarray(separation)
    if separation.ndim < 1 or separation.shape[-1] < 2:
        raise ValueError(f"need at least 2 layers on the last axis, got {separation.shape}")
    return _load_curve_statistics(separation)


@jax.jit
def _load_curve_statistics(separation):
    d = separation[..., :-1] - separation[..., 1:]
    return LoadCurveStatistics(d, jnp.std(d, axis=-1), d[..., 0] - d[..., -1])
