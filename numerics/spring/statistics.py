"""Load curve, elongations and the summary statistics v and c of simulated chains.

The definitions live in :mod:`springblock.theory.spring.chain` (Shi, Pan & Dokmanic 2025; reference
sections 1 and 3); this module compiles them for arrays whose last axis is the block index.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import sympy as sp
from jaxtyping import Array, Float

from springblock.numerics.compile import vector_function
from springblock.theory.spring import chain


class LoadStatistics(NamedTuple):
    """Per-configuration load curve y - x_l (l = 0..L), elongations d_l (l = 1..L+1),
    spread v = std(d) and curvature c = d_1 - d_{L+1}."""

    load_curve: Float[Array, "... L+1"]
    elongations: Float[Array, "... L+1"]
    spread: Float[Array, "..."]
    curvature: Float[Array, "..."]


@functools.cache
def _compiled(blocks: int):
    geometry = chain.ChainGeometry(blocks)
    d_syms = sp.symbols(f"d_1:{blocks + 2}", real=True)
    params = (chain.y,)
    return (
        vector_function(geometry.x, params, geometry.load_curve),
        vector_function(geometry.x, params, geometry.elongations),
        vector_function(d_syms, (), [chain.spread(d_syms), chain.curvature(d_syms)]),
    )


def load_statistics(positions: Float[Array, "... L"], target: float = 1.0) -> LoadStatistics:
    """Load curve, elongations, v and c of positions x_1..x_L (any leading batch axes)."""
    load, elong, summary = _compiled(positions.shape[-1])
    d = elong(positions, (target,))
    vc = summary(d, ())
    return LoadStatistics(load(positions, (target,)), d, vc[..., 0], vc[..., 1])
