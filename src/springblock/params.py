"""Validated parameter objects shared by the theory, the numerics and the CLI.

A value a user types reaches the solvers through one of these frozen dataclasses; each
checks its fields on construction, so bad input fails before any work starts, with a
message that names the parameter and its allowed range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


class ParameterError(ValueError):
    """A parameter is outside its allowed range. ``str(err)`` names both."""

    def __init__(self, name: str, value: object, allowed: str):
        self.name = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid {name}={value!r}: must be {allowed}")


def check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]`` or raise :class:`ParameterError`."""
    allowed = (
        f"an integer >= {minimum}" if maximum is None else (f"an integer in [{minimum}, {maximum}]")
    )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(name, value, allowed)
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise ParameterError(name, value, allowed)
    ivalue = int(value)
    if ivalue < minimum or (maximum is not None and ivalue > maximum):
        raise ParameterError(name, value, allowed)
    return ivalue


def check_real(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite float in the stated range or raise :class:`ParameterError`.

    ``strict`` makes the lower bound exclusive (``value > minimum``).
    """
    lo = "" if minimum is None else (f"> {minimum:g}" if strict else f">= {minimum:g}")
    hi = "" if maximum is None else f"<= {maximum:g}"
    allowed = (
        "a finite real number"
        + (f" {lo}" if lo else "")
        + (f"{' and ' if lo else ' '}{hi}" if hi else "")
    )
    if isinstance(value, bool):
        raise ParameterError(name, value, allowed)
    try:
        fvalue = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterError(name, value, allowed) from None
    if not math.isfinite(fvalue):
        raise ParameterError(name, value, allowed)
    if minimum is not None and (fvalue <= minimum if strict else fvalue < minimum):
        raise ParameterError(name, value, allowed)
    if maximum is not None and fvalue > maximum:
        raise ParameterError(name, value, allowed)
    return fvalue


@dataclass(frozen=True)
class Chain:
    """Geometry of the chain: ``blocks`` = L blocks, spring constant k, target y.

    The wall sits at x_0 = 0 and the target at x_{L+1} = y (Shi, Pan & Dokmanic 2025,
    the mechanical model; ../shared/reference/spring-block.md section 3).
    """

    blocks: int = 7
    stiffness: float = 1.0
    target: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "blocks", check_int("blocks", self.blocks, 1, 10_000))
        object.__setattr__(
            self, "stiffness", check_real("stiffness", self.stiffness, minimum=0.0, strict=True)
        )
        object.__setattr__(self, "target", check_real("target", self.target))


@dataclass(frozen=True)
class Friction:
    """Coulomb friction thresholds: ``right`` resists motion to +x, ``left`` to -x."""

    right: float = 0.1
    left: float | None = None  # None: symmetric, equal to ``right``

    def __post_init__(self):
        right = check_real("mu_right", self.right, minimum=0.0)
        left = right if self.left is None else check_real("mu_left", self.left, minimum=0.0)
        object.__setattr__(self, "right", right)
        object.__setattr__(self, "left", left)


@dataclass(frozen=True)
class Overdamped:
    """Model (a): overdamped chain with static friction and force noise.

    ``noise`` is eps_bar, the standard deviation of the Gaussian force added to every
    block at every step; ``dt`` is the step eta. ``shared_noise`` draws one noise value
    per step for all blocks instead of one per block.
    """

    chain: Chain = field(default_factory=Chain)
    friction: Friction = field(default_factory=Friction)
    noise: float = 0.1
    shared_noise: bool = False
    dt: float = 0.01
    steps: int = 10_000

    def __post_init__(self):
        object.__setattr__(self, "noise", check_real("noise", self.noise, minimum=0.0))
        object.__setattr__(self, "dt", check_real("dt", self.dt, minimum=0.0, strict=True))
        object.__setattr__(self, "steps", check_int("steps", self.steps, 1, 100_000_000))

    @property
    def duration(self) -> float:
        """Training time T = steps * dt."""
        return self.steps * self.dt


@dataclass(frozen=True)
class Underdamped:
    """Model (b): underdamped Langevin chain with kinetic friction and decaying noise.

    ``noise`` is eps, the amplitude of the Brownian forcing per unit mass, decaying as
    exp(-decay * t); ``smoothing`` is the velocity scale delta of the regularized
    friction (see :mod:`springblock.theory.spring.friction`).
    """

    chain: Chain = field(default_factory=lambda: Chain(stiffness=0.1))
    friction: Friction = field(default_factory=lambda: Friction(right=0.003, left=0.004))
    mass: float = 1.0
    damping: float = 1.0
    noise: float = 0.003
    decay: float = 0.001
    shared_noise: bool = True
    dt: float = 0.05
    steps: int = 14_000
    smoothing: float = 4e-4

    def __post_init__(self):
        object.__setattr__(self, "mass", check_real("mass", self.mass, minimum=0.0, strict=True))
        object.__setattr__(self, "damping", check_real("damping", self.damping, minimum=0.0))
        object.__setattr__(self, "noise", check_real("noise", self.noise, minimum=0.0))
        object.__setattr__(self, "decay", check_real("decay", self.decay, minimum=0.0))
        object.__setattr__(self, "dt", check_real("dt", self.dt, minimum=0.0, strict=True))
        object.__setattr__(self, "steps", check_int("steps", self.steps, 1, 100_000_000))
        object.__setattr__(
            self, "smoothing", check_real("smoothing", self.smoothing, minimum=0.0, strict=True)
        )

    @property
    def duration(self) -> float:
        return self.steps * self.dt


#: Solvers of model (b): exact stick-slip stepping or a diffrax SDE with smoothed friction.
UNDERDAMPED_METHODS = ("stick-slip", "smoothed")

#: Largest number of stored floats (seeds x saved frames x blocks) of one ensemble run.
MAX_STORED = 200_000_000


@dataclass(frozen=True)
class Simulation:
    """One ensemble run: ``model`` (:class:`Overdamped` = model a or :class:`Underdamped` =
    model b) from rest for ``seeds`` noise realisations, ``saves`` frames kept, base
    ``seed``; ``method`` picks model (b)'s solver (``smoothed`` needs a smoothing scale
    above dt max(mu)/(2m) for a stable explicit step)."""

    model: Overdamped | Underdamped = field(default_factory=Overdamped)
    seeds: int = 16
    saves: int = 200
    seed: int = 0
    method: str = "stick-slip"

    def __post_init__(self):
        check_int("seeds", self.seeds, 1, 1_000_000)
        check_int("saves", self.saves, 1, 1_000_000)
        check_int("seed", self.seed, 0, 2**31 - 1)
        if self.method not in UNDERDAMPED_METHODS:
            raise ParameterError("method", self.method, f"one of {', '.join(UNDERDAMPED_METHODS)}")
        stored = self.seeds * min(self.saves, self.model.steps) * self.model.chain.blocks
        if stored > MAX_STORED:
            raise ParameterError(
                "seeds",
                self.seeds,
                f"small enough that seeds x saves x blocks <= {MAX_STORED:.0e} (here {stored:.3g})",
            )
        model = self.model
        if isinstance(model, Underdamped) and self.method == "smoothed":
            assert model.friction.left is not None
            smallest = model.dt * max(model.friction.right, model.friction.left) / (2 * model.mass)
            if model.smoothing <= smallest:
                raise ParameterError(
                    "smoothing",
                    model.smoothing,
                    f"> dt*max(mu)/(2m) = {smallest:g} for a stable explicit step "
                    "(or use --method stick-slip)",
                )

    @property
    def variant(self) -> str:
        return "overdamped" if isinstance(self.model, Overdamped) else "underdamped"
