"""Ensembles of model (a), the overdamped chain with static friction, iterated exactly.

Model (a) is a discrete-time random map (Shi, Pan & Dokmanic 2025, reference section 3),

    x_l <- x_l + eta S(F_l + eps_bar xi_l),

compiled here from :class:`springblock.theory.OverdampedModel` and iterated with
``jax.lax.scan``. The noise is drawn ahead of each block of steps between two saved frames
(one ``jax.random.normal`` call per block, not per step) and the state is batch-major,
(trajectories, L), so one compiled step advances every trajectory of every grid cell.

Noise comes from JAX's threefry generator in its non-partitionable mode, which draws
normals faster on CPU than the partitionable default (measured by benchmarks/
sde_ensemble.py); the switch is local to this module's calls. Each trajectory's noise
depends only on its seed index, not on the grid it sits in, so the
same seed gives the same noise in every cell (common random numbers) and in every run.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from springblock.numerics.compile import vector_function
from springblock.theory import OverdampedModel

#: Steps whose noise is drawn in one call: large enough to amortise the call, small enough
#: for the block (NOISE_BLOCK x trajectories x L floats) to stay in cache. Of 50, 100, 250
#: and 500, 100 timed best on 2 cores for the benchmark problem (differences ~20 %).
NOISE_BLOCK = 100


class Trajectories(NamedTuple):
    """Saved frames of an ensemble: ``times`` (S,), ``positions`` (..., S, L)."""

    times: Float[Array, " S"]
    positions: Float[Array, "... S L"]


def schedule(steps: int, saves: int) -> tuple[int, int, int]:
    """(lead, every, saves): run ``lead`` steps, then ``saves`` blocks of ``every`` steps."""
    saves = max(1, min(saves, steps))
    every = steps // saves
    return steps - every * saves, every, saves


@functools.cache
def compiled_step(blocks: int, shared_noise: bool):
    """One step of model (a), ``step(x, xi, params) -> x'`` (x: (..., L), xi: (..., L or 1),
    params: (k, y, mu_R, mu_L, eps_bar, eta)), compiled from the sympy update rule."""
    model = OverdampedModel(blocks, shared_noise)
    return vector_function(model.x, model.parameters, model.update, extra=[model.xi])


@functools.cache
def _iterate_given_noise(blocks: int, shared_noise: bool):
    step = compiled_step(blocks, shared_noise)

    @jax.jit
    def run(x0, noise, params):
        return jax.lax.scan(lambda x, xi: (step(x, xi, params), None), x0, noise)[0]

    return run


def iterate_given_noise(
    x0: Float[Array, "B L"],
    noise: Float[Array, "N B W"],
    params: tuple,
    *,
    shared_noise: bool = False,
) -> Float[Array, "B L"]:
    """Apply N steps of model (a) to x0 with the given standard normal draws xi.

    ``noise[n, b]`` holds the L (or, with shared noise, 1) draws of step n for trajectory
    b; ``params`` = (k, y, mu_R, mu_L, eps_bar, eta), scalars or (B,) arrays. Used to
    compare implementations on identical noise (tests, benchmarks).
    """
    return _iterate_given_noise(x0.shape[-1], shared_noise)(x0, noise, params)


@functools.cache
def _kernel(blocks: int, shared_noise: bool, lead: int, every: int, saves: int):
    step = compiled_step(blocks, shared_noise)
    width = 1 if shared_noise else blocks

    def draw(keys, count, dtype):
        """(count, trajectories, width) normals; trajectory b uses only keys[b]."""
        return jax.vmap(lambda kk: jax.random.normal(kk, (count, width), dtype), out_axes=1)(keys)

    def iterate(x, noise, params):
        return jax.lax.scan(lambda x, xi: (step(x, xi, params), None), x, noise)[0]

    def advance(x, keys, params, count, frame):
        """``count`` steps of every trajectory, noise drawn in blocks of NOISE_BLOCK steps."""
        frame_keys = jax.vmap(jax.random.fold_in, (0, None))(keys, frame)
        full, rest = divmod(count, NOISE_BLOCK)

        def block(x, b):
            block_keys = jax.vmap(jax.random.fold_in, (0, None))(frame_keys, b)
            return iterate(x, draw(block_keys, NOISE_BLOCK, x.dtype), params), None

        if full:
            x = jax.lax.scan(block, x, jnp.arange(full))[0]
        if rest:
            rest_keys = jax.vmap(jax.random.fold_in, (0, None))(frame_keys, full)
            x = iterate(x, draw(rest_keys, rest, x.dtype), params)
        return x

    @jax.jit
    def run(x0, keys, params):
        x = advance(x0, keys, params, lead, -1) if lead else x0

        def frame(x, i):
            x = advance(x, keys, params, every, i)
            return x, x

        return jax.lax.scan(frame, x, jnp.arange(saves))[1]

    return run


def shard_trajectories(tree):
    """Spread the leading (trajectory) axis of every array in ``tree`` over all devices.

    With one device this is the identity. With several (GPUs, hosts after
    ``jax.distributed.initialize()``, or CPU devices from
    ``XLA_FLAGS=--xla_force_host_platform_device_count=N``) the trajectories are padded,
    by repeating the last one, to a multiple of the device count and placed with a
    ``NamedSharding`` over a one-axis mesh; the compiled scan then runs on every device in
    parallel. Trajectories are independent, so results equal the single-device ones.
    """
    devices = jax.devices()
    if len(devices) == 1:
        return tree
    leaves, treedef = jax.tree.flatten(tree)
    n = leaves[0].shape[0]
    padded = -(-n // len(devices)) * len(devices)
    mesh = jax.sharding.Mesh(np.array(devices), ("trajectories",))
    spec = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("trajectories"))

    def place(a):
        if padded > n:
            a = jnp.concatenate([a, jnp.repeat(a[-1:], padded - n, axis=0)])
        return jax.device_put(a, spec)

    return jax.tree.unflatten(treedef, [place(a) for a in leaves])


def simulate(
    blocks: int,
    *,
    stiffness: float | Float[ArrayLike, "..."] = 1.0,
    target: float | Float[ArrayLike, "..."] = 1.0,
    mu_right: float | Float[ArrayLike, "..."] = 0.1,
    mu_left: float | Float[ArrayLike, "..."] = 0.1,
    noise: float | Float[ArrayLike, "..."] = 0.1,
    dt: float | Float[ArrayLike, "..."] = 0.01,
    steps: int = 10_000,
    seeds: int = 1,
    shared_noise: bool = False,
    saves: int = 100,
    key: int | jax.Array = 0,
    dtype=jnp.float32,
) -> Trajectories:
    """Run model (a) from rest for every parameter combination and seed, in one call.

    Parameters may be arrays; they are broadcast to a common grid shape G. Returns
    positions of shape (*G, seeds, saves, L) at ``times`` = step index * dt (times for
    the first grid cell's dt; saved frames are at the same step indices in every cell).
    Compiles once per (L, shared_noise, steps, saves); the grid and seed count are traced.
    """
    grid = jnp.broadcast_arrays(
        *[jnp.asarray(v, dtype) for v in (stiffness, target, mu_right, mu_left, noise, dt)]
    )
    shape = grid[0].shape
    base = jax.random.key(key) if isinstance(key, int) else key
    seed_keys = jax.vmap(jax.random.fold_in, (None, 0))(base, jnp.arange(seeds))
    count = int(np.prod(shape, dtype=int))
    keys = jnp.tile(seed_keys, count)
    params = tuple(jnp.repeat(p.reshape(-1), seeds) for p in grid)
    lead, every, saves = schedule(steps, saves)
    run = _kernel(blocks, shared_noise, lead, every, saves)
    x0 = jnp.zeros((count * seeds, blocks), dtype)
    x0, keys, params = shard_trajectories((x0, keys, params))
    with jax.threefry_partitionable(False):  # faster noise on CPU; see module docstring
        frames = run(x0, keys, params)  # (saves, trajectories, L)
    frames = frames[:, : count * seeds]  # drop the padding of shard_trajectories
    positions = jnp.moveaxis(frames, 0, 1).reshape(*shape, seeds, saves, blocks)
    step_index = lead + every * jnp.arange(1, saves + 1)
    return Trajectories(step_index * grid[5].reshape(-1)[0], positions)
