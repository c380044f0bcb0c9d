"""Model (a): the overdamped chain with static friction and force noise.

Shi, Pan & Dokmanic (arXiv 2407.19353), mechanical model, first variant (reference
section 3, the authors' ``first_order_iteration`` notebook). One step of size eta:

    x_l <- x_l + eta * S(F_l + eps_bar * xi_l),     xi_l ~ N(0, 1),

with S the static-friction map (:mod:`springblock.theory.spring.friction`), independent xi_l per
block, or one xi shared by all blocks (``shared_noise``).

The model is a discrete-time random map, so the numerics iterate it exactly. Two
continuous-time companions follow from it and are built here too:

* noiseless flow (eps_bar = 0, eta -> 0):  dx_l/dt = S(F_l). S is continuous and
  piecewise linear, so this ODE is Lipschitz and needs no smoothing.
* noise-averaged (mean-field) flow:  dx_l/dt = g(F_l), g(F) = E[S(F + eps_bar xi)]
  (:mod:`springblock.theory.spring.drift`). For fixed eps_bar, the fluctuation accumulated over
  a time T is of order sqrt(eta T), so this ODE is the eta -> 0 limit of the map, for
  independent and for shared noise alike (our derivation; tested against the map).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from springblock.theory.spring import chain, drift, friction

eta = sp.Symbol("eta", positive=True)  # step size
eps_bar = sp.Symbol(r"\bar{\epsilon}", nonnegative=True)  # force-noise standard deviation


@dataclass(frozen=True)
class OverdampedModel(chain.ChainModel):
    """Symbolic model (a) for ``blocks`` blocks.

    Attributes (sympy): ``x`` positions, ``xi`` noise symbols (L of them, or one when
    ``shared_noise``), ``forces`` F_l, ``update`` the one-step map, ``noiseless_flow`` and
    ``mean_field_flow`` the right-hand sides of the two ODEs above.
    """

    shared_noise: bool = False

    @property
    def forces(self) -> list[sp.Expr]:
        return self.geometry.forces

    @cached_property
    def xi(self) -> tuple[sp.Symbol, ...]:
        if self.shared_noise:
            return (sp.Symbol("xi", real=True),)
        return tuple(sp.Symbol(f"xi_{l}", real=True) for l in range(1, self.blocks + 1))

    def noise_for_block(self, l: int) -> sp.Symbol:
        """The noise symbol acting on block l (0-based index)."""
        return self.xi[0] if self.shared_noise else self.xi[l]

    @cached_property
    def update(self) -> list[sp.Expr]:
        """x_l + eta S(F_l + eps_bar xi_l), l = 1..L."""
        return [
            xl + eta * friction.static_friction(F + eps_bar * self.noise_for_block(l))
            for l, (xl, F) in enumerate(zip(self.x, self.forces, strict=True))
        ]

    @cached_property
    def noiseless_flow(self) -> list[sp.Expr]:
        """dx_l/dt = S(F_l)."""
        return [friction.static_friction(F) for F in self.forces]

    @cached_property
    def mean_field_flow(self) -> list[sp.Expr]:
        """dx_l/dt = g(F_l) with g the noise-averaged drift at sigma = eps_bar."""
        return [drift.mean_drift(F, sigma=eps_bar) for F in self.forces]

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Parameter symbols in the order the compiled functions take them."""
        return (chain.k, chain.y, friction.mu_R, friction.mu_L, eps_bar, eta)

    def latex(self) -> str:
        """The generic update rule and friction map, as LaTeX."""
        noise = r"\xi" if self.shared_noise else r"\xi_\ell"
        f = sp.Symbol("f")
        return (
            rf"x_\ell \leftarrow x_\ell + \eta\, S\!\left(F_\ell + \bar\epsilon\,{noise}\right),"
            rf"\quad {noise} \sim \mathcal{{N}}(0,1),\quad "
            rf"S(f) = {sp.latex(friction.static_friction_cases(f))},\quad {self.geometry.latex()}"
        )
