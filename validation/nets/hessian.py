"""Curvature of a trained net's loss: the Hessian's top eigenvalue and its trace.

The authors' training script (GitHub DaDaCheng/DNN_Spring, ``src/main.py``) logs, for every
trained net, the top eigenvalue and the trace of the Hessian of the training loss with
respect to all trainable parameters, computed by PyHessian on the whole training set with
the net in evaluation mode (BatchNorm on its running statistics, no dropout). Neither needs
the Hessian itself, only Hessian-vector products H v = d/dt grad L(theta + t v) at t = 0
(forward-over-reverse differentiation: one gradient's cost, twice).

- Top eigenvalue: ``steps`` of Lanczos with full reorthogonalisation from a random unit
  vector. The largest Ritz value theta of the tridiagonal T_k is a lower bound on
  lambda_max, and some eigenvalue of H lies within |beta_k s_k| of theta (s the Ritz
  vector's last entry; Parlett, *The Symmetric Eigenvalue Problem*, section 13.2), returned
  as ``residual``.
- Trace: Hutchinson's estimator tr H = E[z^T H z] for Rademacher z (entries +-1), the mean
  of ``samples`` draws, with its standard error s / sqrt(samples).

Everything is float32 when the net is; the tolerances of the tests (against the dense
Hessian of a tiny net) follow from that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, Int, PRNGKeyArray

from springblock.validation.nets import mlp

Flat = Float[Array, " P"]


def evaluation_loss(
    params, stats, x: Float[Array, "N D"], y: Int[Array, " N"], alpha, forward=mlp.forward
) -> Float[Array, ""]:
    """Mean cross-entropy of the net in evaluation mode (running BatchNorm statistics, no
    dropout), the loss whose Hessian the authors log; ``forward`` the architecture's
    (:func:`springblock.validation.nets.train.forward_of`)."""
    logits, _, _ = forward(params, stats, x, alpha=alpha, train=False)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def flat_hvp(loss: Callable[[Flat], Float[Array, ""]], theta: Flat) -> Callable[[Flat], Flat]:
    """v -> H v for the Hessian of ``loss`` at ``theta`` (forward over reverse)."""

    def hvp(v: Flat) -> Flat:
        return jax.jvp(jax.grad(loss), (theta,), (v,))[1]

    return hvp


class TopEigenvalue(NamedTuple):
    value: Float[Array, ""]  # the largest Ritz value (a lower bound on lambda_max)
    residual: Float[Array, ""]  # some eigenvalue of H lies within this of ``value``


def lanczos_top(
    hvp: Callable[[Flat], Flat], size: int, key: PRNGKeyArray, steps: int = 32, dtype=jnp.float32
) -> TopEigenvalue:
    """The largest eigenvalue of the symmetric operator ``hvp`` on R^size by ``steps`` of
    Lanczos with full reorthogonalisation (module docstring); ``steps`` is capped at
    ``size``. Jittable (``size`` and ``steps`` static)."""
    steps = max(1, min(int(steps), int(size)))
    v0 = jax.random.normal(key, (size,), dtype)
    v0 = v0 / jnp.linalg.norm(v0)
    basis = jnp.zeros((steps + 1, size), v0.dtype).at[0].set(v0)
    tiny = jnp.finfo(v0.dtype).tiny

    def body(j, carry):
        basis, alphas, betas = carry
        v = basis[j]
        w = hvp(v)
        alpha = jnp.vdot(w, v)
        # full reorthogonalisation against every vector so far (rows > j are still zero),
        # twice: once is not enough in float32 ("twice is enough", Parlett)
        for _ in range(2):
            w = w - basis.T @ (basis @ w)
        beta = jnp.linalg.norm(w)
        # an exhausted Krylov space (beta = 0) continues with zero vectors: their Ritz
        # values are 0 and sit beside, not above, the converged ones
        nxt = jnp.where(beta > tiny, w / jnp.where(beta > tiny, beta, 1.0), 0.0)
        return basis.at[j + 1].set(nxt), alphas.at[j].set(alpha), betas.at[j].set(beta)

    zeros = jnp.zeros(steps, v0.dtype)
    _, alphas, betas = jax.lax.fori_loop(0, steps, body, (basis, zeros, zeros))
    tridiagonal = jnp.diag(alphas) + jnp.diag(betas[:-1], 1) + jnp.diag(betas[:-1], -1)
    ritz, vectors = jnp.linalg.eigh(tridiagonal)
    return TopEigenvalue(ritz[-1], jnp.abs(betas[-1] * vectors[-1, -1]))


class TraceEstimate(NamedTuple):
    value: Float[Array, ""]
    standard_error: Float[Array, ""]


def hutchinson_trace(
    hvp: Callable[[Flat], Flat], size: int, key: PRNGKeyArray, samples: int = 64, dtype=jnp.float32
) -> TraceEstimate:
    """tr H ~ mean of z^T H z over ``samples`` Rademacher vectors z, with its standard
    error (sample standard deviation / sqrt(samples)). Jittable (``size``, ``samples``
    static); the draws run one after another (``lax.map``) to keep memory at one vector."""
    samples = max(2, int(samples))

    def quadratic(k):
        z = jax.random.rademacher(k, (size,), dtype)
        return jnp.vdot(z, hvp(z))

    draws = jax.lax.map(quadratic, jax.random.split(key, samples))
    return TraceEstimate(draws.mean(), draws.std(ddof=1) / jnp.sqrt(samples))


class Curvature(NamedTuple):
    """The loss curvature of one trained net (module docstring)."""

    top_eigenvalue: Float[Array, ""]
    top_eigenvalue_residual: Float[Array, ""]
    trace: Float[Array, ""]
    trace_standard_error: Float[Array, ""]


@functools.partial(jax.jit, static_argnames=("steps", "samples", "forward"))
def curvature(
    params: mlp.MLP,
    stats: mlp.BatchStats,
    x: Float[Array, "N D"],
    y: Int[Array, " N"],
    alpha,
    key: PRNGKeyArray,
    steps: int = 32,
    samples: int = 64,
    forward=mlp.forward,
) -> Curvature:
    """Top eigenvalue (Lanczos, ``steps``) and trace (Hutchinson, ``samples``) of the
    Hessian of :func:`evaluation_loss` with respect to every trainable parameter."""
    theta, unravel = ravel_pytree(params)

    def loss(flat):
        return evaluation_loss(unravel(flat), stats, x, y, alpha, forward)

    hvp = flat_hvp(loss, theta)
    k_top, k_trace = jax.random.split(key)
    top = lanczos_top(hvp, theta.size, k_top, steps, theta.dtype)
    trace = hutchinson_trace(hvp, theta.size, k_trace, samples, theta.dtype)
    return Curvature(top.value, top.residual, trace.value, trace.standard_error)


def dense_hessian(params, stats, x, y, alpha, forward=mlp.forward) -> np.ndarray:
    """The full (P, P) Hessian of :func:`evaluation_loss` in float64, the reference the
    Hessian-vector measures are checked against; only for tiny nets (P^2 entries)."""
    with jax.enable_x64(True):
        as64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), (params, stats))
        theta, unravel = ravel_pytree(as64[0])
        x64 = jnp.asarray(x, jnp.float64)

        def loss(flat):
            return evaluation_loss(unravel(flat), as64[1], x64, y, alpha, forward)

        # compiled: run eagerly, the Hessian's forward-over-reverse pass dispatches (and
        # compiles) each of its operations on its own
        return np.asarray(jax.jit(jax.hessian(loss))(theta))
