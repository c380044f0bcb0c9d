"""Model (b): the underdamped Langevin chain with kinetic friction and decaying noise.

Shi, Pan & Dokmanic (arXiv 2407.19353), mechanical model, second variant (reference
section 3, the authors' ``sdeint`` notebook). In Ito form, for l = 1..L,

    dx_l = v_l dt
    dv_l = [F_l - gamma v_l - f(v_l)] / m dt + eps exp(-lambda t) dW,

with f the kinetic Coulomb friction (:mod:`springblock.theory.spring.friction`) and dW either
one Brownian motion shared by all blocks (``shared_noise``) or independent ones dW_l.
(The authors' notebook multiplies L independent Brownian motions by an all-ones matrix:
that is our shared noise with eps replaced by eps * sqrt(L).)

The state is (x_1..x_L, v_1..v_L); ``drift`` and ``diffusion`` are the sympy right-hand
sides that the numerics compile into a diffrax SDE. ``smoothed_drift`` replaces f by its
tanh regularisation f_delta.

Exact Coulomb friction is handled by a stick-slip time stepping (Moreau's midpoint-free
"catching-up" scheme, J. J. Moreau 1988; M. Jean 1999), treating friction and damping
implicitly and the spring force and noise explicitly over a step h:

    w_l  = v_l + (h/m) F_l + eps exp(-lambda t) Delta W,
    v_l' = S(w_l; h mu_R / m, h mu_L / m) / (1 + gamma h / m),
    x_l' = x_l + h v_l',

with S the static-friction map: a block whose trial velocity w_l cannot beat the
friction impulse sticks (v_l' = 0) exactly, with no regularisation. ``stick_slip_update``
holds these expressions; Delta W ~ N(0, h).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from springblock.theory.spring import chain, friction

t = sp.Symbol("t", nonnegative=True)
m = sp.Symbol("m", positive=True)  # block mass
gamma = sp.Symbol("gamma", nonnegative=True)  # viscous damping
eps = sp.Symbol("epsilon", nonnegative=True)  # noise amplitude per unit mass
lam = sp.Symbol("lambda", nonnegative=True)  # noise decay rate
h = sp.Symbol("h", positive=True)  # time step of the stick-slip scheme


@dataclass(frozen=True)
class UnderdampedModel(chain.ChainModel):
    """Symbolic model (b) for ``blocks`` blocks."""

    shared_noise: bool = True

    @cached_property
    def v(self) -> tuple[sp.Symbol, ...]:
        return tuple(sp.Symbol(f"v_{l}", real=True) for l in range(1, self.blocks + 1))

    @property
    def state(self) -> tuple[sp.Symbol, ...]:
        return (*self.x, *self.v)

    def _drift(self, friction_law) -> list[sp.Expr]:
        forces = self.geometry.forces
        accel = [
            (F - gamma * vl - friction_law(vl)) / m for F, vl in zip(forces, self.v, strict=True)
        ]
        return [*self.v, *accel]

    @cached_property
    def drift(self) -> list[sp.Expr]:
        """Drift of (x, v) with the exact Coulomb friction."""
        return self._drift(friction.kinetic_friction)

    @cached_property
    def smoothed_drift(self) -> list[sp.Expr]:
        """Drift of (x, v) with the tanh-regularised friction f_delta."""
        return self._drift(friction.smoothed_kinetic_friction)

    @cached_property
    def diffusion(self) -> sp.Matrix:
        """2L x (1 or L) diffusion matrix: zero rows for x, eps exp(-lambda t) for v."""
        amplitude = eps * sp.exp(-lam * t)
        L = self.blocks
        columns = 1 if self.shared_noise else L
        rows = [[sp.Integer(0)] * columns for _ in range(L)]
        for l in range(L):
            rows.append(
                [amplitude]
                if self.shared_noise
                else [amplitude if j == l else sp.Integer(0) for j in range(L)]
            )
        return sp.Matrix(rows)

    @cached_property
    def dW(self) -> tuple[sp.Symbol, ...]:
        """Brownian increments of one step (one, or one per block)."""
        if self.shared_noise:
            return (sp.Symbol("Delta_W", real=True),)
        return tuple(sp.Symbol(f"Delta_W_{l}", real=True) for l in range(1, self.blocks + 1))

    @cached_property
    def stick_slip_update(self) -> list[sp.Expr]:
        """(x', v') after one stick-slip step of size h (module docstring)."""
        amplitude = eps * sp.exp(-lam * t)
        new_v = []
        for l, (F, vl) in enumerate(zip(self.geometry.forces, self.v, strict=True)):
            dW = self.dW[0] if self.shared_noise else self.dW[l]
            trial = vl + h * F / m + amplitude * dW
            new_v.append(
                friction.static_friction(trial, h * friction.mu_R / m, h * friction.mu_L / m)
                / (1 + gamma * h / m)
            )
        return [*(xl + h * vl for xl, vl in zip(self.x, new_v, strict=True)), *new_v]

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Parameter symbols in the order the compiled functions take them."""
        return (chain.k, chain.y, friction.mu_R, friction.mu_L, m, gamma, eps, lam, friction.delta)

    def latex(self) -> str:
        noise = "dW_t" if self.shared_noise else r"dW_{\ell,t}"
        v = sp.Symbol("v")
        return (
            r"dx_\ell = v_\ell\,dt,\quad m\,dv_\ell = \left[F_\ell - \gamma v_\ell - f(v_\ell)"
            rf"\right]dt + m\,\epsilon\,e^{{-\lambda t}}\,{noise},\quad "
            rf"f(v) = {sp.latex(friction.kinetic_friction(v))},\quad {self.geometry.latex()}"
        )
