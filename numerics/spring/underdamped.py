"""Ensembles of model (b), the underdamped Langevin chain with kinetic friction.

Both solvers are compiled from :class:`springblock.theory.UnderdampedModel` (Shi, Pan &
Dokmanic 2025, the mechanical model, second variant; reference section 3):

* ``method="stick-slip"`` (default): the Moreau-Jean time stepping of the theory module,
  exact Coulomb friction (blocks stick with v = 0 exactly), iterated with ``lax.scan``.
  Friction and damping are implicit, so any step size is stable.
* ``method="smoothed"``: a diffrax Ito SDE (Euler-Maruyama) with the tanh-regularised
  friction f_delta. Explicit Euler is stable only while h mu / (m delta) < 2, so
  :func:`simulate` rejects smaller ``smoothing`` values before any work starts;
  :func:`smoothing_gap` measures how far the smoothed solution is from the stick-slip one.

The two are independent treatments of the discontinuity; the tests check that they agree
as delta and h shrink.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from springblock.numerics import checks
from springblock.numerics.compile import vector_function
from springblock.numerics.spring.overdamped import schedule
from springblock.params import ParameterError, Underdamped
from springblock.theory import UnderdampedModel
from springblock.theory.spring import underdamped


class Trajectories(NamedTuple):
    """Saved frames: ``times`` (S,), ``positions`` and ``velocities`` (..., S, L)."""

    times: Float[Array, " S"]
    positions: Float[Array, "... S L"]
    velocities: Float[Array, "... S L"]


def _parameter_values(config: Underdamped) -> tuple[float, ...]:
    c, f = config.chain, config.friction
    assert f.left is not None  # Friction.__post_init__ fills it in
    return (
        c.stiffness,
        c.target,
        f.right,
        f.left,
        config.mass,
        config.damping,
        config.noise,
        config.decay,
        config.smoothing,
    )


@functools.cache
def _stick_slip_kernel(blocks: int, shared: bool, lead: int, every: int, saves: int):
    model = UnderdampedModel(blocks, shared)
    step = vector_function(
        model.state,
        (underdamped.t, underdamped.h, *model.parameters),
        model.stick_slip_update,
        extra=[model.dW],
    )
    width = len(model.dW)

    def advance(state, key, t0, h, params, count):
        dW = jnp.sqrt(h) * jax.random.normal(key, (count, width), state.dtype)

        def one(carry, increment):
            s, t = carry
            return (step(s, increment, (t, h, *params)), t + h), None

        return jax.lax.scan(one, (state, t0), dW)[0]

    @jax.jit
    def run(key, h, params):
        state = jnp.zeros(2 * blocks, dtype=h.dtype)
        t = jnp.zeros((), h.dtype)
        if lead:
            state, t = advance(state, jax.random.fold_in(key, -1), t, h, params, lead)

        def frame(carry, i):
            s, t = advance(carry[0], jax.random.fold_in(key, i), carry[1], h, params, every)
            return (s, t), s

        return jax.lax.scan(frame, (state, t), jnp.arange(saves))[1]

    return jax.vmap(run, in_axes=(0, None, None))


@functools.cache
def _smoothed_kernel(blocks: int, shared: bool, steps: int, saves: int):
    model = UnderdampedModel(blocks, shared)
    args = (underdamped.t, *model.parameters)
    drift = vector_function(model.state, args, model.smoothed_drift)
    flat = vector_function(model.state, args, list(model.diffusion))
    width = model.diffusion.shape[1]

    def diffusion(t, state, params):
        return flat(state, (t, *params)).reshape(2 * blocks, width)

    def run(key, h, params):
        duration = h * steps
        brownian = diffrax.UnsafeBrownianPath(
            shape=jax.ShapeDtypeStruct((width,), h.dtype), key=key
        )
        terms = diffrax.MultiTerm(
            diffrax.ODETerm(lambda t, s, p: drift(s, (t, *p))),
            diffrax.ControlTerm(diffusion, brownian),
        )
        sol = diffrax.diffeqsolve(
            terms,
            diffrax.Euler(),
            t0=jnp.zeros((), h.dtype),
            t1=duration,
            dt0=h,
            y0=jnp.zeros(2 * blocks, dtype=h.dtype),
            args=params,
            saveat=diffrax.SaveAt(ts=duration * jnp.arange(1, saves + 1) / saves),
            max_steps=steps + 1,
            adjoint=diffrax.ForwardMode(),
            throw=False,
        )
        return sol.ys, checks.successful(sol)

    return jax.jit(jax.vmap(run, in_axes=(0, None, None)))


def simulate(
    config: Underdamped,
    seeds: int = 1,
    *,
    method: str = "stick-slip",
    saves: int = 100,
    key: int = 0,
    dtype=jnp.float32,
) -> Trajectories:
    """Run model (b) from rest for ``seeds`` noise realisations in one compiled call."""
    if method not in ("stick-slip", "smoothed"):
        raise ParameterError("method", method, "'stick-slip' or 'smoothed'")
    assert config.friction.left is not None  # Friction.__post_init__ fills it in
    mu_max = max(config.friction.right, config.friction.left)
    smallest = config.dt * mu_max / (2 * config.mass)
    if method == "smoothed" and config.smoothing <= smallest:
        raise ParameterError(
            "smoothing",
            config.smoothing,
            f"> dt*max(mu)/(2m) = {smallest:g} for a stable explicit step "
            "(or use method='stick-slip')",
        )
    blocks = config.chain.blocks
    keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(key), jnp.arange(seeds))
    params = tuple(jnp.asarray(v, dtype) for v in _parameter_values(config))
    h = jnp.asarray(config.dt, dtype)
    if method == "stick-slip":
        lead, every, saves = schedule(config.steps, saves)
        frames = _stick_slip_kernel(blocks, config.shared_noise, lead, every, saves)(
            keys, h, params
        )
        times = config.dt * (lead + every * np.arange(1, saves + 1))
    else:
        saves = max(1, min(saves, config.steps))
        frames, finished = _smoothed_kernel(blocks, config.shared_noise, config.steps, saves)(
            keys, h, params
        )
        checks.require_finished(
            "model (b), smoothed SDE",
            np.asarray(finished),
            np.asarray(frames),
            {
                "seed": np.arange(seeds),
                "noise": np.asarray(config.noise),
                "smoothing": np.asarray(config.smoothing),
            },
        )
        times = config.duration * np.arange(1, saves + 1) / saves
    return Trajectories(jnp.asarray(times), frames[..., :blocks], frames[..., blocks:])


def smoothing_gap(config: Underdamped, seeds: int = 1) -> float:
    """Max |x_smoothed - x_stick-slip| over blocks and saved times, noise switched off.

    Without noise both methods are deterministic, so the gap measures the error of the
    friction regularisation (plus the O(h) difference of the two time steppings).
    """
    quiet = Underdamped(
        chain=config.chain,
        friction=config.friction,
        mass=config.mass,
        damping=config.damping,
        noise=0.0,
        decay=config.decay,
        shared_noise=config.shared_noise,
        dt=config.dt,
        steps=config.steps,
        smoothing=config.smoothing,
    )
    exact = simulate(quiet, seeds, method="stick-slip", saves=config.steps)
    smooth = simulate(quiet, seeds, method="smoothed", saves=config.steps)
    return float(jnp.max(jnp.abs(exact.positions - smooth.positions)))
