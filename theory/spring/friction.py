"""Coulomb friction laws of the two model variants, as sympy expressions.

Shi, Pan & Dokmanic (arXiv 2407.19353), mechanical model; reference section 3.

* Static friction (model a): a block under net force f moves only by what exceeds the
  threshold in the direction of motion,

      S(f) = f - mu_R   if f >  mu_R
             f + mu_L   if f < -mu_L
             0          otherwise.

* Kinetic friction (model b): a sliding block feels f(v) = mu_R if v > 0, -mu_L if v < 0.
  The discontinuity at v = 0 is regularised here (our choice, reference section 3 asks
  for one) by

      f_delta(v) = mu_R tanh(v / delta)  (v >= 0),   mu_L tanh(v / delta)  (v < 0),

  which is continuous, vanishes at rest, keeps the asymmetry, and tends to f(v) for every
  v != 0 as delta -> 0. The numerics check convergence in delta.
"""

from __future__ import annotations

import sympy as sp

mu_R = sp.Symbol("mu_R", nonnegative=True)  # friction against motion to +x
mu_L = sp.Symbol("mu_L", nonnegative=True)  # friction against motion to -x
delta = sp.Symbol("delta", positive=True)  # velocity scale of the smoothed friction


def static_friction(f: sp.Expr, right: sp.Expr = mu_R, left: sp.Expr = mu_L) -> sp.Expr:
    """S(f) = f - min(max(f, -mu_L), mu_R): the part of f that moves a block.

    The clip form equals the three-case definition above (tested) and compiles to two
    min/max operations instead of a three-way select.
    """
    return f - sp.Min(sp.Max(f, -left), right)


def static_friction_cases(f: sp.Expr, right: sp.Expr = mu_R, left: sp.Expr = mu_L) -> sp.Expr:
    """S(f) as the three-case Piecewise of the module docstring (for display and tests)."""
    return sp.Piecewise((f - right, f > right), (f + left, f < -left), (0, True))


def kinetic_friction(v: sp.Expr, right: sp.Expr = mu_R, left: sp.Expr = mu_L) -> sp.Expr:
    """f(v): Coulomb kinetic friction opposing velocity v (zero at rest)."""
    return sp.Piecewise((right, v > 0), (-left, v < 0), (0, True))


def smoothed_kinetic_friction(
    v: sp.Expr, right: sp.Expr = mu_R, left: sp.Expr = mu_L, scale: sp.Expr = delta
) -> sp.Expr:
    """f_delta(v): the tanh regularisation of :func:`kinetic_friction`."""
    return sp.Piecewise((right * sp.tanh(v / scale), v >= 0), (left * sp.tanh(v / scale), True))
