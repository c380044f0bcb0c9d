"""Predicted load-curve shape of model (a) and its phase boundaries.

Shi, Pan & Dokmanic (arXiv 2407.19353), reference section 4: comparing the chain's slowest
relaxation time with the training time gives phase boundaries in (noise, friction) space.
The construction below is ours ("inferred" in the reference) and is checked against the
simulated chain by the tests and the phase-diagram command.

Two limiting load curves bracket a run of duration T started from rest:

* T << tau (noise too weak to unlock the blocks): the noiseless pulled equilibrium d^0
  (:mod:`springblock.theory.spring.equilibrium`), concave, curvature c_0 < 0.
* T >> tau: the stationary profile of the noise-averaged flow, on which every block feels
  the stationary force F* = (mu_R - mu_L)/2 (:mod:`springblock.theory.spring.drift`):

      d^inf_l = y/(L+1) + (F*/k)(l - 1 - L/2),   c_inf = -L F*/k = L (mu_L - mu_R)/(2k),
      v_inf = |F*|/k sqrt(L(L+2)/12).

  c_inf > 0 (convex) when mu_L > mu_R: blocks slip forward more easily than back.

In between we interpolate with the slowest mode, d(T) = d^inf + (d^0 - d^inf) exp(-T/tau),
tau = 1/(2 k lambda_1 Phi(-a/sigma)), a = (mu_R + mu_L)/2, lambda_1 = 4 sin^2(pi/(2(L+1))).
A load curve is concave when c < -c_tol, convex when c > c_tol, linear otherwise.

Boundaries in closed form: c(T) equals a level c_b (-c_tol or +c_tol) on

    sigma_b = -a / Phi^{-1}(p),   p = ln((c_0 - c_inf) / (c_b - c_inf)) / (2 lambda_1 k T),

which exists when 0 < (c_b - c_inf)/(c_0 - c_inf) < 1 and p < 1/2
(Phi^{-1}(p) = sqrt 2 erfinv(2p - 1)). c_0 depends on mu_R through the pulled state; c_inf
does not depend on sigma, so the convex phase needs L (mu_L - mu_R) / (2k) > c_tol.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from springblock.theory.spring import chain, drift, equilibrium, friction

L_sym = sp.Symbol("L", positive=True, integer=True)
T = sp.Symbol("T", positive=True)  # training time (steps * eta)
c_tol = sp.Symbol("c_tol", positive=True)  # half-width of the "linear" band in c
c_0 = sp.Symbol("c_0", real=True)  # curvature of the noiseless pulled state
c_b = sp.Symbol("c_b", real=True)  # curvature level that defines a boundary

PHASES = ("concave", "linear", "convex")


def stationary_elongations(
    blocks: int, stiffness=chain.k, target=chain.y, right=friction.mu_R, left=friction.mu_L
):
    """d^inf_l = y/(L+1) + (F*/k)(l - 1 - L/2), l = 1..L+1."""
    force = drift.stationary_force(right, left)
    return [
        target / (blocks + 1) + (force / stiffness) * (l - 1 - sp.Rational(blocks, 2))
        for l in range(1, blocks + 2)
    ]


def stationary_curvature(
    blocks=L_sym, stiffness=chain.k, right=friction.mu_R, left=friction.mu_L
) -> sp.Expr:
    """c_inf = -L F*/k = L (mu_L - mu_R) / (2k)."""
    return -blocks * drift.stationary_force(right, left) / stiffness


def stationary_spread(
    blocks=L_sym, stiffness=chain.k, right=friction.mu_R, left=friction.mu_L
) -> sp.Expr:
    """v_inf = |F*|/k sqrt(L(L+2)/12)."""
    force = drift.stationary_force(right, left)
    return sp.Abs(force) / stiffness * sp.sqrt(blocks * (blocks + 2) / sp.Integer(12))


def relaxation_time_expr(
    blocks=L_sym, stiffness=chain.k, noise=drift.sigma, right=friction.mu_R, left=friction.mu_L
) -> sp.Expr:
    """tau = 1 / (k g'(F*) lambda_1) with g'(F*) = 2 Phi(-(mu_R + mu_L)/(2 sigma))."""
    return drift.relaxation_time(blocks, stiffness, drift.stationary_mobility(noise, right, left))


def curvature_expr(
    c0=c_0,
    duration=T,
    blocks=L_sym,
    stiffness=chain.k,
    noise=drift.sigma,
    right=friction.mu_R,
    left=friction.mu_L,
) -> sp.Expr:
    """c(T) = c_inf + (c_0 - c_inf) exp(-T/tau)."""
    c_inf = stationary_curvature(blocks, stiffness, right, left)
    tau = relaxation_time_expr(blocks, stiffness, noise, right, left)
    return c_inf + (c0 - c_inf) * sp.exp(-duration / tau)


def elongations_expr(
    blocks: int,
    moving: int,
    duration=T,
    stiffness=chain.k,
    target=chain.y,
    noise=drift.sigma,
    right=friction.mu_R,
    left=friction.mu_L,
):
    """d(T) = d^inf + (d^0 - d^inf) exp(-T/tau) for a pulled state with ``moving`` = n.

    Its :func:`springblock.theory.spring.chain.curvature` and
    :func:`~springblock.theory.spring.chain.spread` are the predicted c(T) and v(T) as sympy
    expressions of (friction, noise, L, T).
    """
    d0 = equilibrium.pulled_elongations(blocks, moving, stiffness, target, right)
    d_inf = stationary_elongations(blocks, stiffness, target, right, left)
    decay = sp.exp(-duration / relaxation_time_expr(blocks, stiffness, noise, right, left))
    return [a + (b - a) * decay for a, b in zip(d_inf, d0, strict=True)]


def boundary_expr(
    level=c_b,
    c0=c_0,
    duration=T,
    blocks=L_sym,
    stiffness=chain.k,
    right=friction.mu_R,
    left=friction.mu_L,
) -> sp.Expr:
    """sigma_b at which c(T) = ``level`` (module docstring)."""
    c_inf = stationary_curvature(blocks, stiffness, right, left)
    p = sp.log((c0 - c_inf) / (level - c_inf)) / (
        2 * drift.laplacian_slowest_rate(blocks) * stiffness * duration
    )
    return -(right + left) / 2 / (sp.sqrt(2) * sp.erfinv(2 * p - 1))


#: Half-width of the linear band: a load curve is linear when its normalised curvature
#: c / (total load) lies in [-LINEAR_TOLERANCE, LINEAR_TOLERANCE] (for a chain the total load
#: is y, for a net D_0 - D_last). The one tolerance of the three classes, used by the phase
#: diagram, the nets' summaries and claims, the figures and the theory-vs-nets scores
#: (docs/validation.md, "Three classes").
LINEAR_TOLERANCE = 0.05


def classify(curvature: float, tolerance: float = LINEAR_TOLERANCE) -> str:
    """'concave' (c < -tol), 'convex' (c > tol) or 'linear' (|c| <= tol)."""
    if curvature < -tolerance:
        return "concave"
    if curvature > tolerance:
        return "convex"
    return "linear"


def phase_index(curvature, tolerance: float = LINEAR_TOLERANCE) -> np.ndarray:
    """Index into :data:`PHASES` of every entry of an array of (normalised) curvatures:
    0 concave, 1 linear, 2 convex (the rule of :func:`classify`); -1 where NaN."""
    c = np.asarray(curvature, dtype=float)
    index = np.where(c < -tolerance, 0, np.where(c > tolerance, 2, 1))
    return np.where(np.isnan(c), -1, index)


@dataclass(frozen=True)
class Prediction:
    """Predicted load-curve shape after training time ``duration``."""

    elongations: tuple[float, ...]
    curvature: float
    spread: float
    relaxation_time: float
    stationary_force: float


def pulled_curvature(
    blocks: int, stiffness: float, mu_right: float, mu_left: float, target: float = 1.0
) -> float:
    """c_0 = d_1 - d_{L+1} of the noiseless pulled equilibrium."""
    d = equilibrium.pulled_equilibrium(blocks, stiffness, mu_right, mu_left, target).elongations
    return d[0] - d[-1]


def predict(
    blocks: int,
    stiffness: float,
    mu_right: float,
    mu_left: float,
    noise: float,
    duration: float,
    target: float = 1.0,
) -> Prediction:
    """Numeric d(T), c(T), v(T) of the relaxation-time interpolation (module docstring)."""
    d0 = np.array(
        equilibrium.pulled_equilibrium(blocks, stiffness, mu_right, mu_left, target).elongations
    )
    f_star = float(drift.stationary_force(mu_right, mu_left))
    if noise == 0:
        d, tau = d0, math.inf
    else:
        tau = drift.relaxation_time_value(blocks, stiffness, noise, mu_right, mu_left)
        l = np.arange(1, blocks + 2)
        d_inf = target / (blocks + 1) + (f_star / stiffness) * (l - 1 - blocks / 2)
        d = d_inf + (d0 - d_inf) * math.exp(-duration / tau)
    return Prediction(
        tuple(float(v) for v in d), float(d[0] - d[-1]), float(np.std(d)), tau, f_star
    )


_boundary = sp.lambdify(
    (c_b, c_0, T, L_sym, chain.k, friction.mu_R, friction.mu_L), boundary_expr(), "scipy"
)


def boundary_noise(
    level: float,
    blocks: int,
    stiffness: float,
    mu_right: float,
    mu_left: float,
    duration: float,
    target: float = 1.0,
) -> float:
    """sigma_b at which the predicted c(T) equals ``level``; NaN where no such sigma exists.

    ``level = -c_tol`` gives the concave/linear boundary, ``+c_tol`` the linear/convex one.
    """
    c0 = pulled_curvature(blocks, stiffness, mu_right, mu_left, target)
    c_inf = blocks * (mu_left - mu_right) / (2 * stiffness)
    if c0 == c_inf:
        return math.nan
    fraction = (level - c_inf) / (c0 - c_inf)
    if not 0 < fraction < 1:
        return math.nan
    p = -math.log(fraction) / (
        2 * 4 * math.sin(math.pi / (2 * (blocks + 1))) ** 2 * stiffness * duration
    )
    if p >= 0.5:
        return math.nan
    return float(_boundary(level, c0, duration, blocks, stiffness, mu_right, mu_left))
