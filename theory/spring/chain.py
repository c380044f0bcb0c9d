"""Geometry of the spring-block chain: positions, spring forces, elongations, load curve.

Shi, Pan & Dokmanic, "Spring-block theory of feature learning in deep neural networks"
(arXiv 2407.19353, PRL 2025), the mechanical model (reference section 3): L blocks at
x_1..x_L, a wall at x_0 = 0, the last block tied by a spring of constant k to the target
x_{L+1} = y. The net spring force on block l is

    F_l = k (x_{l+1} - 2 x_l + x_{l-1}),

the elongations d_l = x_l - x_{l-1} (l = 1..L+1) sum to y, and the load curve, the
analogue of the per-layer data separation log D_l, is y - x_l (l = 0..L).

The summary statistics follow the authors' analysis code (reference section 1): the spread
v = std_l(d_l) (population standard deviation, ddof = 0) and the signed curvature
c = sum_l (d_l - d_{l+1}) = d_1 - d_{L+1}; c < 0 is a concave load curve (deep layers carry
the load), c > 0 convex (shallow layers carry it). We take all L+1 elongations, the last
spring (the loss) included.

Everything here is sympy; the numerics compile these expressions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import sympy as sp

#: Symbols shared by every model.
k = sp.Symbol("k", positive=True)  # spring constant
y = sp.Symbol("y", real=True)  # target position (the loss pulls the last block there)


def position_symbols(blocks: int) -> tuple[sp.Symbol, ...]:
    """The L position symbols x_1..x_L."""
    if blocks < 1:
        raise ValueError(f"blocks must be >= 1, got {blocks}")
    return tuple(sp.Symbol(f"x_{l}", real=True) for l in range(1, blocks + 1))


def padded(x: Sequence[sp.Expr], target: sp.Expr = y) -> list[sp.Expr]:
    """[x_0, x_1, ..., x_L, x_{L+1}] with the wall x_0 = 0 and the target x_{L+1}."""
    return [sp.Integer(0), *x, target]


def spring_forces(x: Sequence[sp.Expr], stiffness: sp.Expr = k, target: sp.Expr = y):
    """F_l = k (x_{l+1} - 2 x_l + x_{l-1}), l = 1..L (reference section 3)."""
    p = padded(x, target)
    return [stiffness * (p[l + 1] - 2 * p[l] + p[l - 1]) for l in range(1, len(x) + 1)]


def elongations(x: Sequence[sp.Expr], target: sp.Expr = y):
    """d_l = x_l - x_{l-1}, l = 1..L+1 (reference section 3)."""
    p = padded(x, target)
    return [p[l] - p[l - 1] for l in range(1, len(p))]


def load_curve(x: Sequence[sp.Expr], target: sp.Expr = y):
    """y - x_l, l = 0..L: the model's analogue of log D_l (reference section 3)."""
    p = padded(x, target)
    return [target - p[l] for l in range(len(x) + 1)]


def positions_from_elongations(d: Sequence[sp.Expr]):
    """x_l = d_1 + ... + d_l, l = 1..L (inverse of :func:`elongations`)."""
    out, total = [], sp.Integer(0)
    for dl in d[:-1]:
        total = total + dl
        out.append(total)
    return out


def curvature(d: Sequence[sp.Expr]) -> sp.Expr:
    """c = sum_l (d_l - d_{l+1}) = d_1 - d_{L+1} (authors' analysis code, reference s.1)."""
    return sp.Add(*[d[l] - d[l + 1] for l in range(len(d) - 1)])


def spread(d: Sequence[sp.Expr]) -> sp.Expr:
    """v = std_l(d_l), population standard deviation (reference section 1)."""
    n = len(d)
    mean = sp.Add(*d) / n
    return sp.sqrt(sp.Add(*[(dl - mean) ** 2 for dl in d]) / n)


@dataclass(frozen=True)
class ChainGeometry:
    """The symbolic chain of ``blocks`` blocks: positions, forces, elongations.

    >>> ChainGeometry(2).forces
    [k*(-2*x_1 + x_2), k*(x_1 - 2*x_2 + y)]
    """

    blocks: int

    @cached_property
    def x(self) -> tuple[sp.Symbol, ...]:
        return position_symbols(self.blocks)

    @cached_property
    def forces(self) -> list[sp.Expr]:
        return spring_forces(self.x)

    @cached_property
    def elongations(self) -> list[sp.Expr]:
        return elongations(self.x)

    @cached_property
    def load_curve(self) -> list[sp.Expr]:
        return load_curve(self.x)

    def latex(self) -> str:
        """The generic (any-L) force law and definitions, as LaTeX."""
        return (
            r"F_\ell = k\,(x_{\ell+1} - 2x_\ell + x_{\ell-1}),\quad x_0 = 0,\ x_{L+1} = y,"
            r"\quad d_\ell = x_\ell - x_{\ell-1},\quad \sum_{\ell=1}^{L+1} d_\ell = y"
        )


@dataclass(frozen=True)
class ChainModel:
    """Base of the two model variants: a chain of ``blocks`` blocks and its positions."""

    blocks: int

    @cached_property
    def geometry(self) -> ChainGeometry:
        return ChainGeometry(self.blocks)

    @property
    def x(self) -> tuple[sp.Symbol, ...]:
        return self.geometry.x
