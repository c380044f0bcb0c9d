"""The rate of one matrix product alone: a jitted loop of ``repeats`` products, each fed
the last result (so XLA can neither hoist the product out of the loop nor drop it), on
operands that stay in cache. ``sweep.py`` takes it as the matmul limit of the protocol net,
``step_profile.py`` for the rate each of the trainer's product shapes reaches alone.

Imported by those scripts as a sibling module (they run as ``python3 benchmarks/NAME.py``,
which puts this folder first on ``sys.path``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import jax


def seconds_per_product(
    product: Callable[[jax.Array], jax.Array],
    start: jax.Array,
    repeats: int = 300,
    tries: int = 5,
) -> float:
    """Least seconds per call of ``product`` over ``tries`` runs of a loop of ``repeats``
    calls, ``c <- c + 1e-6 product(c)`` from ``start`` (``product(c)`` has ``c``'s shape;
    the small step keeps the values finite over the loop). Compiled before the timings."""
    looped = jax.jit(
        lambda c0: jax.lax.fori_loop(0, repeats, lambda i, c: c + 1e-6 * product(c), c0)
    )
    jax.block_until_ready(looped(start))
    best = math.inf
    for _ in range(tries):
        started = time.perf_counter()
        jax.block_until_ready(looped(start))
        best = min(best, time.perf_counter() - started)
    return best / repeats
