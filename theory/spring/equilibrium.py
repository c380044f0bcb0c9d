"""Equilibria of the chain: the static set, the noiseless pulled state, zero friction.

Shi, Pan & Dokmanic (arXiv 2407.19353), reference sections 3 and 4 (the pulled state and
the lazy/active boundary are "inferred" there; derived below and checked in the tests).

Static equilibria. A configuration is at rest under static friction iff every block's net
force lies inside the friction cone, -mu_L <= F_l <= mu_R, l = 1..L: a convex polytope of
positions (:func:`static_equilibrium_conditions`).

Noiseless pulled equilibrium. Start at rest at x = 0 with the target at y > 0 and let the
overdamped flow dx_l/dt = S(F_l) run. The flow is order preserving (F_l increases with the
neighbours' positions), so positions only increase and a block that has moved comes to rest
exactly at F_l = mu_R. The n elongations next to the target are positive and step down by
mu_R / k per block, the others are zero:

    d_l = max(0, d_{L+1} - (L+1-l) mu_R / k),   d_{L+1} = y/n + (mu_R/k)(n-1)/2,

with n the smallest integer such that n(n+1) >= r = 2 y k / mu_R, capped at L+1:

    n = min(L+1, ceil((sqrt(1 + 4r) - 1) / 2)).

The L+1-n blocks next to the wall never move (lazy shallow layers). Stuck blocks appear at
mu_R / k >= 2y / (L(L+1)), and at least s blocks are stuck iff
mu_R / k >= 2y / ((L+1-s)(L+2-s)): the lazy/active boundaries. For y < 0 the picture is
mirrored, with mu_L in place of mu_R.

Zero friction: d_l = y / (L+1) for every l, a linear load curve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from springblock.theory.spring import chain, friction


def static_equilibrium_conditions(
    x, stiffness=chain.k, target=chain.y, right=friction.mu_R, left=friction.mu_L
) -> list[sp.Rel]:
    """The 2L inequalities -mu_L <= F_l <= mu_R that define a static equilibrium."""
    conds = []
    for F in chain.spring_forces(x, stiffness, target):
        conds += [F <= right, F >= -left]
    return conds


def moving_count_expr(blocks, stiffness=chain.k, target=chain.y, mu=friction.mu_R) -> sp.Expr:
    """n = min(L+1, ceil((sqrt(1 + 8 y k / mu) - 1) / 2)): positive elongations, y > 0."""
    return sp.Min(blocks + 1, sp.ceiling((sp.sqrt(1 + 8 * target * stiffness / mu) - 1) / 2))


def stuck_blocks_expr(blocks, stiffness=chain.k, target=chain.y, mu=friction.mu_R) -> sp.Expr:
    """L + 1 - n: blocks that never move under a noiseless pull (y > 0, mu > 0)."""
    return blocks + 1 - moving_count_expr(blocks, stiffness, target, mu)


def lazy_threshold(blocks, stuck: int, stiffness=chain.k, target=chain.y) -> sp.Expr:
    """mu_R at and above which at least ``stuck`` (1..L) blocks stay put: 2yk/((L+1-s)(L+2-s))."""
    return 2 * target * stiffness / ((blocks + 1 - stuck) * (blocks + 2 - stuck))


def pulled_elongations(
    blocks: int, moving: int, stiffness=chain.k, target=chain.y, mu=friction.mu_R
) -> list[sp.Expr]:
    """d_1..d_{L+1} of the pulled state with ``moving`` = n positive elongations."""
    last = target / moving + (mu / stiffness) * sp.Rational(moving - 1, 2)
    L = blocks
    return [
        last - (L + 1 - l) * mu / stiffness if l >= L + 2 - moving else sp.Integer(0)
        for l in range(1, L + 2)
    ]


def zero_friction_elongations(blocks: int, target=chain.y) -> list[sp.Expr]:
    """d_l = y / (L+1): equal load on every spring."""
    return [target / (blocks + 1)] * (blocks + 1)


def _moving_count(blocks: int, ratio) -> int:
    """Smallest n >= 1 with n(n+1) >= ratio, capped at L+1.

    ``ratio`` is an exact sympy Rational (or inf): the float estimate only seeds the search,
    the comparisons that decide n are exact.
    """
    if ratio == math.inf:
        return blocks + 1
    n = max(1, math.ceil((math.sqrt(1.0 + 4.0 * float(ratio)) - 1.0) / 2.0))
    while n > 1 and (n - 1) * n >= ratio:  # guard against rounding up past the boundary
        n -= 1
    while n * (n + 1) < ratio:
        n += 1
    return min(blocks + 1, n)


@dataclass(frozen=True)
class PulledEquilibrium:
    """Numeric pulled equilibrium: elongations d_1..d_{L+1}, positions x_1..x_L."""

    elongations: tuple[float, ...]
    positions: tuple[float, ...]
    stuck_blocks: int
    moving_elongations: int


def pulled_equilibrium(
    blocks: int, stiffness: float, mu_right: float, mu_left: float, target: float = 1.0
) -> PulledEquilibrium:
    """The noiseless pulled equilibrium (module docstring), evaluated in exact rationals.

    Inputs are converted to the exact rationals their binary floats stand for
    (``sympy.Rational(float)``), so the returned floats carry only the final rounding.
    """
    if target == 0:
        zeros = (0.0,) * blocks
        return PulledEquilibrium((0.0,) * (blocks + 1), zeros, blocks, 0)
    sign = 1 if target > 0 else -1
    mu = mu_right if sign > 0 else mu_left
    k_, y_, mu_ = (sp.Rational(v) for v in (stiffness, abs(target), mu))
    ratio = math.inf if mu == 0 else 2 * y_ * k_ / mu_
    n = _moving_count(blocks, ratio)
    d = pulled_elongations(blocks, n, k_, y_, mu_)
    x = chain.positions_from_elongations(d)
    return PulledEquilibrium(
        elongations=tuple(sign * float(v) for v in d),
        positions=tuple(sign * float(v) for v in x),
        stuck_blocks=blocks + 1 - n,
        moving_elongations=n,
    )
