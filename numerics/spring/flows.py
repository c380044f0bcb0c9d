"""Deterministic flows of model (a), solved with diffrax.

Compiled from :class:`springblock.theory.OverdampedModel` (Shi, Pan & Dokmanic 2025, the
mechanical model; the flows are derived in the theory module's docstring):

* noiseless flow  dx_l/dt = S(F_l), the eta -> 0 limit of the map without noise;
* mean-field flow dx_l/dt = g(F_l), the eta -> 0 limit of the noisy map at fixed eps_bar.

S is continuous and piecewise linear, so both right-hand sides are Lipschitz and an
adaptive explicit Runge-Kutta method (Tsit5 with a PID step-size controller) handles the
kinks at F = mu_R and F = -mu_L by shrinking its steps there; no smoothing is involved.
The solves are never differentiated, so they run under ``diffrax.ForwardMode`` (a plain
while loop, about a fifth cheaper to trace than the default checkpointed one). A solve
that does not reach its end time (step budget ``max_steps``) or produces
non-finite values raises :class:`springblock.numerics.checks.UnfinishedSolve` naming its
parameters.
"""

from __future__ import annotations

import functools

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from springblock.numerics import checks
from springblock.numerics.compile import vector_function
from springblock.numerics.spring.overdamped import Trajectories
from springblock.theory import OverdampedModel

#: Solvers by name: Tsit5 (explicit, the default: fast over a few relaxation times) and
#: Kvaerno5 (implicit, L-stable: its steps can grow without bound once the chain has
#: settled, so horizons of 1e5 relaxation times stay cheap; an explicit method is held to
#: steps of order 1/(4k) by the chain's fastest mode even at rest).
METHODS = {"tsit5": diffrax.Tsit5, "kvaerno5": diffrax.Kvaerno5}


@functools.cache
def _solver(
    blocks: int,
    saves: int,
    rtol: float,
    atol: float,
    max_steps: int,
    method: str = "tsit5",
    times: tuple[float, ...] | None = None,
):
    model = OverdampedModel(blocks)
    noiseless = vector_function(model.x, model.parameters, model.noiseless_flow)
    mean_field = vector_function(model.x, model.parameters, model.mean_field_flow)

    def vector_field(t, x, params):
        k, y, mu_r, mu_l, noise = params
        with_noise = mean_field(x, (k, y, mu_r, mu_l, jnp.where(noise > 0, noise, 1.0), 1.0))
        without = noiseless(x, (k, y, mu_r, mu_l, noise, 1.0))
        return jnp.where(noise > 0, with_noise, without)

    def solve_one(params, duration):
        if times is None:
            ts = duration * jnp.arange(1, saves + 1) / saves
        else:
            ts = jnp.asarray(times, dtype=params[0].dtype)
            duration = ts[-1]
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field),
            METHODS[method](),
            t0=0.0,
            t1=duration,
            dt0=None,
            y0=jnp.zeros(blocks, dtype=params[0].dtype),
            args=params,
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
            max_steps=max_steps,
            throw=False,
            adjoint=diffrax.ForwardMode(),
        )
        return ts, sol.ys, checks.successful(sol)

    return jax.jit(jax.vmap(solve_one))


def solve(
    blocks: int,
    *,
    stiffness: float | Float[Array, "..."] = 1.0,
    target: float | Float[Array, "..."] = 1.0,
    mu_right: float | Float[Array, "..."] = 0.1,
    mu_left: float | Float[Array, "..."] = 0.1,
    noise: float | Float[Array, "..."] = 0.1,
    duration: float | Float[Array, "..."] = 100.0,
    saves: int = 100,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    max_steps: int = 100_000,
    dtype=jnp.float64,
    method: str = "tsit5",
    times=None,
) -> Trajectories:
    """Mean-field (noise > 0) or noiseless (noise = 0) flow of model (a) from rest.

    Parameters broadcast to a grid shape G; returns positions (*G, saves, L) at ``times``
    (*G, saves), evenly spaced up to ``duration`` or, when ``times`` (an increasing 1-d
    array, shared by the grid) is given, at those times (``duration`` is then unused).
    ``method``: :data:`METHODS`. One compiled, vmapped diffrax call. float64 by default
    (needs ``jax_enable_x64``; falls back to float32 otherwise).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    if times is not None:
        times = tuple(float(x) for x in np.asarray(times, float).ravel())
        if (
            not times
            or times[0] <= 0
            or any(b <= a for a, b in zip(times[:-1], times[1:], strict=True))
        ):
            raise ValueError("times must be positive and increasing")
        saves = len(times)
    if not jax.config.jax_enable_x64:  # type: ignore[attr-defined]  # dynamic jax config attribute
        dtype = jnp.float32
    grid = jnp.broadcast_arrays(
        *[jnp.asarray(v, dtype) for v in (stiffness, target, mu_right, mu_left, noise, duration)]
    )
    shape = grid[0].shape
    flat = [g.reshape(-1) for g in grid]
    ts, ys, finished = _solver(blocks, saves, rtol, atol, max_steps, method, times)(
        tuple(flat[:5]), flat[5]
    )
    names = ("stiffness", "target", "mu_right", "mu_left", "noise", "duration")
    checks.require_finished(
        f"flow of model (a), {blocks} blocks",
        np.asarray(finished),
        np.asarray(ys),
        {name: np.asarray(value) for name, value in zip(names, flat, strict=True)},
    )
    return Trajectories(ts.reshape(*shape, saves), ys.reshape(*shape, saves, blocks))
