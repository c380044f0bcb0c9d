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
def _stick_slip_step(blocks: int, shared: bool):
    """One compiled stick-slip step ``step(state, dW, (t, h, *parameters)) -> state'``."""
    model = UnderdampedModel(blocks, shared)
    return vector_function(
        model.state,
        (underdamped.t, underdamped.h, *model.parameters),
        model.stick_slip_update,
        extra=[model.dW],
    )


@functools.cache
def _stick_slip_kernel(blocks: int, shared: bool, lead: int, every: int, saves: int):
    step = _stick_slip_step(blocks, shared)
    width = len(UnderdampedModel(blocks, shared).dW)

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
            # frames use keys 0..saves-1, so the lead steps take key ``saves``
            state, t = advance(state, jax.random.fold_in(key, saves), t, h, params, lead)

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


#: Steps whose Brownian increments are drawn at once by :func:`ensemble_mean_positions`
#: (bounds the memory of a long run: chunk x seeds x noise width floats).
NOISE_CHUNK = 256


@functools.cache
def _ensemble_kernel(blocks: int, counts: tuple[int, ...], chunk: int):
    """Stick-slip runs of model (b) with shared noise on a grid of parameter sets, every
    set driven by the same ``seeds`` noise paths; saved after each segment of ``counts``
    steps plus one fractional step (so a save lands exactly on its time).

    Segment i draws its whole steps in chunks keyed fold(fold(key, i), 0) then the chunk
    index (a last partial chunk takes the first draws of its chunk's key: threefry draws
    of a shorter length are a prefix of a longer one's), and its fractional step from
    fold(fold(key, i), 1). The segments run in one scan, so the program holds the step
    three times whatever the number of saves (a Python loop over 16 saves put ~50 copies
    of it in one program: model (b)'s default table took 26 s to compile, 2 s to run)."""
    step = _stick_slip_step(blocks, True)
    fold = jax.vmap(jax.random.fold_in, (0, None))  # one key per seed
    whole_chunks = np.array([c // chunk for c in counts], np.int32)
    rests = np.array([c % chunk for c in counts], np.int32)

    @jax.jit
    def run(key, h, fractions, params):
        # params: (G, 1) arrays; state (G, S, 2L); noise (S, 1) broadcast over the grid
        grid, seeds = params[0].shape[0], key.shape[0]
        dtype = h.dtype
        state = jnp.zeros((grid, seeds, 2 * blocks), dtype)

        def one(carry, dW):
            s, t = carry
            return (step(s, dW, (t, h, *params)), t + h), None

        def draw(k, shape):
            # (*shape[:-1], 1, S, 1): one increment per seed, broadcast over the grid axis
            z = jax.vmap(lambda kk: jax.random.normal(kk, shape, dtype), out_axes=-2)(k)
            return z[..., None, :, :]

        def segment(carry, inputs):
            i, full, rest, fraction = inputs
            keys = fold(key, i)
            steps = fold(keys, 0)

            def chunk_of_steps(j, c):
                return jax.lax.scan(one, c, jnp.sqrt(h) * draw(fold(steps, j), (chunk, 1)))[0]

            carry = jax.lax.fori_loop(0, full, chunk_of_steps, carry)
            last = jnp.sqrt(h) * draw(fold(steps, full), (chunk, 1))  # (chunk, 1, S, 1)
            s, t = jax.lax.fori_loop(0, rest, lambda j, c: one(c, last[j])[0], carry)
            dW = jnp.sqrt(fraction) * draw(fold(keys, 1), (1,))  # (1, S, 1)
            s = step(s, dW, (t, fraction, *params))
            return (s, t + fraction), jnp.mean(s[..., :blocks], axis=1)

        inputs = (jnp.arange(len(counts)), whole_chunks, rests, fractions)
        (state, _), frames = jax.lax.scan(segment, (state, jnp.zeros((), dtype)), inputs)
        return jnp.moveaxis(frames, 0, 1), jnp.all(jnp.isfinite(state))

    return run


def ensemble_mean_positions(
    blocks: int,
    mu_right,
    mu_left,
    noise,
    times,
    *,
    stiffness: float = 1.0,
    target: float = 1.0,
    mass: float = 1.0,
    damping: float = 1.0,
    decay: float = 0.001,
    dt: float = 0.05,
    seeds: int = 32,
    key: int = 0,
    dtype=jnp.float32,
) -> np.ndarray:
    """Mean positions (G, T, L) over ``seeds`` noise realisations of model (b) with
    shared noise, run by stick-slip from rest, at each of the increasing ``times`` (T,), for
    each of the G parameter sets (``mu_right``, ``mu_left``, ``noise``: (G,) each).

    Every parameter set is driven by the same noise paths (common random numbers: the
    table built from it is smooth in the parameters, and a sub-grid reproduces the same
    entries). A save at time t runs floor(t / dt) whole steps and one fractional step, so it
    lands on t exactly. A non-finite state stops with the parameters that produced it.
    """
    times = np.asarray(times, float)
    if times.ndim != 1 or times.size == 0 or np.any(np.diff(times) <= 0) or times[0] <= 0:
        raise ParameterError("times", times.tolist(), "increasing positive times")
    whole = np.floor(times / dt + 1e-9).astype(int)
    counts = tuple(int(c) for c in np.diff(np.concatenate([[0], whole])))
    fractions = times - whole * dt
    mu_right, mu_left, noise = (
        np.atleast_1d(np.asarray(x, float)) for x in (mu_right, mu_left, noise)
    )
    grid = mu_right.shape[0]
    column = lambda x: jnp.asarray(np.broadcast_to(x, (grid,))[:, None], dtype)  # noqa: E731
    params = (
        column(stiffness),
        column(target),
        column(mu_right),
        column(mu_left),
        column(mass),
        column(damping),
        column(noise),
        column(decay),
        column(1.0),  # the smoothing scale delta: unused by the stick-slip update
    )
    keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(key), jnp.arange(seeds))
    run = _ensemble_kernel(blocks, counts, NOISE_CHUNK)
    means, finite = run(keys, jnp.asarray(dt, dtype), jnp.asarray(fractions, dtype), params)
    means = np.asarray(means, float)
    if not bool(finite) or not np.all(np.isfinite(means)):
        bad = ~np.all(np.isfinite(means), axis=(1, 2))
        raise FloatingPointError(
            "model (b) ensemble went non-finite at mu_right = "
            f"{mu_right[bad].tolist()}, mu_left = {mu_left[bad].tolist()}, noise = "
            f"{noise[bad].tolist()} (dt = {dt})"
        )
    return means


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
