"""The activation and the initialization (C_b, C_W, gamma, xi) of a PDLT computation.

PDLT (Roberts, Yaida & Hanin, arXiv 2106.10165) studies an MLP, or the residual block
z' = gamma z + xi (b + W sigma(z)), at the initialization Var b = C_b, Var W = C_W / fan-in
(:mod:`springblock.theory.pdlt.criticality`). The commands default to the *critical*
initialization of the activation (chapter 5: chi_par = chi_perp = 1 at the fixed point),
which is only known after classifying the activation, i.e. after some work (sympy and,
for half-stable activations, adaptive quadrature). So :class:`Initialization` leaves
C_b, C_W at None ("critical") and :func:`resolve` fills them in when the computation
starts. Importing this module imports no jax; validating a name imports sympy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from springblock.params import ParameterError, check_real

if TYPE_CHECKING:
    from springblock.theory.pdlt.criticality import Criticality

#: The leaky-ReLU slope is kept where C_W = 2 / (1 + a^2) stays a normal float64.
MAX_LEAKY_SLOPE = 100.0


def activation_names() -> tuple[str, ...]:
    from springblock.theory.pdlt import gaussian as pg

    return tuple(pg.NAMED)


def allowed_activations() -> str:
    return (
        "one of "
        + ", ".join(activation_names())
        + f" (leaky_relu:SLOPE with |SLOPE| <= {MAX_LEAKY_SLOPE:g})"
    )


def check_activation(name: object) -> str:
    """``name`` normalised ("Tanh " -> "tanh"), if it names an activation of
    :data:`springblock.theory.pdlt.gaussian.NAMED`; else ParameterError("activation")."""
    from springblock.theory.pdlt import gaussian as pg

    if not isinstance(name, str):
        raise ParameterError("activation", name, allowed_activations())
    spec = name.strip().lower()
    base, _, slope = spec.partition(":")
    try:
        pg.named(spec)
        if slope and abs(float(slope)) > MAX_LEAKY_SLOPE:
            raise ValueError(slope)
    except (KeyError, ValueError, TypeError):
        raise ParameterError("activation", name, allowed_activations()) from None
    return spec if base == "leaky_relu" else base


@dataclass(frozen=True)
class Initialization:
    """C_b >= 0 and C_W > 0 (None: the activation's critical values), residual shortcut
    weight gamma and branch weight xi (MLP: gamma = 0, xi = 1). xi = 0 is refused: the
    branch, and with it every dependence on the activation, would vanish."""

    C_b: float | None = None
    C_W: float | None = None
    gamma: float = 0.0
    xi: float = 1.0

    def __post_init__(self):
        if self.C_b is not None:
            object.__setattr__(self, "C_b", check_real("C_b", self.C_b, minimum=0.0))
        if self.C_W is not None:
            object.__setattr__(self, "C_W", check_real("C_W", self.C_W, minimum=0.0, strict=True))
        object.__setattr__(self, "gamma", check_real("gamma", self.gamma))
        xi = check_real("xi", self.xi)
        if xi == 0.0:
            raise ParameterError("xi", self.xi, "a finite nonzero real number")
        object.__setattr__(self, "xi", xi)

    @property
    def residual(self) -> bool:
        return not (self.gamma == 0.0 and self.xi == 1.0)


@dataclass(frozen=True)
class Resolved:
    """An initialization with every number filled in, and the activation's criticality."""

    C_b: float
    C_W: float
    gamma: float
    xi: float
    criticality: Criticality

    @property
    def critical(self) -> bool:
        """Whether (C_b, C_W) are the activation's critical values (for an MLP)."""
        c = self.criticality
        return (self.C_b, self.C_W) == (c.C_b, c.C_W)


def resolve(activation: str, init: Initialization) -> Resolved:
    """Classify ``activation`` (:func:`springblock.numerics.pdlt.recursions.criticality`)
    and fill in the critical C_b, C_W that ``init`` leaves open. An activation without a
    critical point (class "none": softplus, sigmoid) needs both given: ParameterError
    naming the missing one otherwise."""
    from springblock.numerics.pdlt import recursions as pr

    crit = pr.criticality(activation)
    cb, cw = init.C_b, init.C_W
    if cb is None or cw is None:
        if crit.C_b is None or crit.C_W is None:
            missing = "C_W" if cw is None else "C_b"
            raise ParameterError(
                missing,
                None,
                f"given: {crit.activation} has no critical initialization "
                "(universality class 'none'), so both C_b and C_W are needed",
            )
        cb = crit.C_b if cb is None else cb
        cw = crit.C_W if cw is None else cw
    assert math.isfinite(cb) and math.isfinite(cw)
    return Resolved(cb, cw, init.gamma, init.xi, crit)
