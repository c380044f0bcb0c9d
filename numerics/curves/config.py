"""Validated configurations of the learning-curve computations (no jax here).

One frozen dataclass per computation carries every parameter from the caller (the CLI,
a notebook, the docs jobs) to the solver; its defaults are the library's defaults and its
``__post_init__`` refuses bad values with a :class:`~springblock.params.ParameterError`
naming the field, before any work. Building one imports sympy (the activation names and
the degeneracies come from :mod:`springblock.theory.curves.spectrum`) but not jax, so the
CLI validates options without starting jax.

* :class:`KernelSpec`: the wide MLP whose NNGP or NTK is studied.
* :class:`PredictConfig`: kernel + regression problem (target, ridge, label noise, sample
  sizes, harmonic cut-off) of ``curves predict``.
* :class:`TuneConfig`: the hyperparameter grid of ``curves tune``.

The measured side (``curves compare``) has its own config in
:mod:`springblock.validation.curves.compare`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from springblock.params import ParameterError, check_int, check_real
from springblock.theory.curves import spectrum as cs

KINDS = ("nngp", "ntk")

#: Largest l_max used by default, and the cap on the number of harmonics it may cover.
DEFAULT_L_MAX, MAX_HARMONICS = 64, 10**8
#: Largest harmonic cut-off accepted: the quadrature table of P_l at 2 l_max + 200 nodes
#: holds (l_max + 1)(2 l_max + 200) doubles, 0.4 GB at 5000.
MAX_L_MAX = 5000
#: Largest predicted sample size: the formulas hold at any N, but beyond 1e9 N lambda_l
#: exceeds sigma^2 / (1e-16 k(1)) for every retained mode, so rounding decides kappa.
MAX_PREDICTED_N = 10**9
#: Most sample sizes (or other list entries) per call.
MAX_LIST = 10_000

Target = tuple[tuple[int, float], ...]


# --- the kernel ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KernelSpec:
    """A wide MLP's kernel on S^(dim-1): ``depth`` hidden layers with ``activation``,
    weight variance C_W = ``weight``, bias variance C_b = ``bias``; the first layer's
    weight variance ``input_weight`` (default C_W) and the readout's bias variance
    ``readout_bias`` (default C_b). ``kind``: "nngp" (K) or "ntk" (Theta)."""

    activation: str = "relu"
    kind: str = "nngp"
    depth: int = 1
    weight: float = 2.0
    bias: float = 0.0
    input_weight: float | None = None
    readout_bias: float | None = None
    dim: int = 3

    def __post_init__(self):
        cs.named_activation(self.activation)  # ParameterError naming "activation"
        if self.kind not in KINDS:
            raise ParameterError("kind", self.kind, "'nngp' or 'ntk'")
        object.__setattr__(self, "depth", check_int("depth", self.depth, 1, 1000))
        object.__setattr__(
            self, "weight", check_real("weight", self.weight, minimum=0.0, strict=True)
        )
        object.__setattr__(self, "bias", check_real("bias", self.bias, minimum=0.0))
        if self.input_weight is not None:
            object.__setattr__(
                self,
                "input_weight",
                check_real("input_weight", self.input_weight, minimum=0.0, strict=True),
            )
        if self.readout_bias is not None:
            object.__setattr__(
                self, "readout_bias", check_real("readout_bias", self.readout_bias, minimum=0.0)
            )
        object.__setattr__(self, "dim", cs.check_dimension(self.dim))

    @property
    def values(self) -> tuple[float, float, float, float]:
        """(C_W, C_b, C_in, readout C_b) with the defaults filled in."""
        return (
            self.weight,
            self.bias,
            self.weight if self.input_weight is None else self.input_weight,
            self.bias if self.readout_bias is None else self.readout_bias,
        )

    def label(self) -> str:
        """One line naming the kernel (figure titles, the CLI's first line)."""
        w, b, cin, bout = self.values
        return (
            f"{self.activation} {self.kind.upper()}, depth {self.depth}, C_W={w:g}, C_b={b:g}"
            + (f", C_in={cin:g}" if cin != w else "")
            + (f", readout C_b={bout:g}" if bout != b else "")
            + f", S^{self.dim - 1}"
        )


# --- the regression problem -----------------------------------------------------------------


def parse_target(text: str) -> Target:
    """'2:1' or '1:0.5,2:1' -> ((degree, power), ...); power = sum_m g_lm^2 >= 0."""
    pairs = []
    for item in str(text).replace(" ", "").split(","):
        if not item:
            continue
        try:
            degree, power = item.split(":")
            pairs.append((int(degree), float(power)))
        except ValueError:
            raise ParameterError(
                "target", text, "comma-separated DEGREE:POWER pairs, e.g. '2:1' or '1:0.5,2:1'"
            ) from None
    return check_target(tuple(pairs))


def check_target(pairs) -> Target:
    """Validate (degree, power) pairs: degrees distinct integers >= 0, powers >= 0, some > 0.
    A string is parsed first (:func:`parse_target`)."""
    if isinstance(pairs, str):
        return parse_target(pairs)
    out = []
    try:
        items = [tuple(p) for p in pairs]
    except TypeError:
        raise ParameterError("target", pairs, "(degree, power) pairs") from None
    for item in items:
        if len(item) != 2:
            raise ParameterError("target", pairs, "(degree, power) pairs")
        degree, power = item
        out.append(
            (check_int("target", degree, 0, 10_000), check_real("target", power, minimum=0.0))
        )
    degrees = [dg for dg, _ in out]
    if not out or len(set(degrees)) != len(degrees) or sum(p for _, p in out) <= 0:
        raise ParameterError("target", pairs, "distinct degrees with powers >= 0, not all 0")
    return tuple(sorted(out))


def default_l_max(dim: int) -> int:
    """The largest l <= 64 whose harmonics of degree <= l number at most 1e8. Rounding of
    a computed eigenvalue (~1e-16 k(1)) is multiplied by N(d, l) ~ l^(d-2)/(d-2)!, so high
    dimensions need a lower cut; the modes above it enter through the tail trace."""
    total, l_max = 0, 0
    for l in range(DEFAULT_L_MAX + 1):
        total += cs.degeneracy(l, dim)
        if total > MAX_HARMONICS:
            break
        l_max = l
    return max(l_max, 4)


def resolve_l_max(l_max: int | None, dim: int, target: Target) -> int:
    """``l_max`` checked (or :func:`default_l_max`), and above every degree of the target
    (the theory needs the target's modes among the resolved ones)."""
    resolved = default_l_max(dim) if l_max is None else check_int("l_max", l_max, 1, MAX_L_MAX)
    top = max(degree for degree, _ in target)
    if top > resolved:
        raise ParameterError(
            "target", target, f"degrees <= l_max = {resolved} (raise --l-max or lower the degree)"
        )
    return resolved


def check_values(
    name: str, values, check, *, maximum_count: int = MAX_LIST, distinct: bool = True
) -> tuple:
    """A non-empty tuple of ``check(name, v)`` values; distinct ones when ``distinct``
    (they become coordinates of the results), at most ``maximum_count``."""
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        values = (values,)
    items = tuple(v.item() if isinstance(v, np.generic) else v for v in values)
    if not items:
        raise ParameterError(name, list(items), "at least one value")
    if len(items) > maximum_count:
        raise ParameterError(name, f"{len(items)} values", f"at most {maximum_count} values")
    checked = tuple(check(name, v) for v in items)
    if distinct and len(set(checked)) != len(checked):
        raise ParameterError(name, list(items), "distinct values")
    return checked


def check_sizes(values, maximum: int, name: str = "n") -> tuple[int, ...]:
    """Distinct sample sizes N in [1, maximum]."""
    return check_values(name, values, lambda nm, v: check_int(nm, v, 1, maximum))


def _predicted_sizes() -> tuple[int, ...]:
    """20 log-spaced N from 10 to 2000 (rounded, duplicates dropped)."""
    return tuple(int(v) for v in np.unique(np.geomspace(10, 2000, 20).round()))


@dataclass(frozen=True)
class PredictConfig:
    """``curves predict``: the spectrum of ``kernel`` (degrees 0..l_max, default
    :func:`default_l_max`) and the predicted test error of kernel ridge regression with
    ridge sigma^2 = ``ridge`` and label-noise variance eps^2 = ``noise`` on a target with
    power ``target`` = ((degree, power), ...) per degree, at the sample sizes ``n``.
    Fields are normalised on construction (``target`` may be given as '1:0.5,2:1')."""

    kernel: KernelSpec = field(default_factory=KernelSpec)
    target: Target = ((2, 1.0),)
    ridge: float = 0.05
    noise: float = 0.0
    n: tuple[int, ...] = field(default_factory=_predicted_sizes)
    l_max: int | None = None

    def __post_init__(self):
        normalise_problem(self, MAX_PREDICTED_N)


def normalise_problem(config, max_n: int) -> None:
    """Validate and normalise, in place, the problem fields that the predicted and the
    measured curves share: kernel, target, ridge (> 0), noise (>= 0), n, l_max."""
    if not isinstance(config.kernel, KernelSpec):
        raise ParameterError("kernel", config.kernel, "a KernelSpec")
    target = check_target(config.target)
    set_ = object.__setattr__
    set_(config, "target", target)
    set_(config, "ridge", check_real("ridge", config.ridge, minimum=0.0, strict=True))
    set_(config, "noise", check_real("noise", config.noise, minimum=0.0))
    set_(config, "n", check_sizes(config.n, max_n))
    set_(config, "l_max", resolve_l_max(config.l_max, config.kernel.dim, target))


# --- the hyperparameter grid ----------------------------------------------------------------

#: Most grid settings per tuning call (each one computes a spectrum: ~0.1 MB of work space).
MAX_SETTINGS = 100_000


@dataclass(frozen=True)
class TuneConfig:
    """``curves tune``: the self-consistent prediction on the grid ``depths`` x ``weights``
    (C_W) x ``biases`` (C_b) x ``ridges`` (sigma^2) for one activation, kernel kind and
    sphere, at the sample sizes ``n``; ``top`` settings are ranked per N. The first layer's
    weight variance and the readout's bias variance follow C_W and C_b (KernelSpec
    defaults). Grid values must be distinct (they label the results' coordinates)."""

    activation: str = "relu"
    kind: str = "nngp"
    dim: int = 3
    depths: tuple[int, ...] = (1, 2, 3, 4)
    weights: tuple[float, ...] = (1.0, 1.5, 2.0, 2.5)
    biases: tuple[float, ...] = (0.0, 0.1, 0.5)
    ridges: tuple[float, ...] = (1e-3, 1e-2, 0.1, 1.0)
    target: Target = ((1, 0.5), (2, 1.0), (3, 0.25))
    noise: float = 0.0
    n: tuple[int, ...] = (50, 200, 800)
    top: int = 5
    l_max: int | None = None

    def __post_init__(self):
        spec = KernelSpec(activation=self.activation, kind=self.kind, dim=self.dim)
        set_ = object.__setattr__
        set_(self, "dim", spec.dim)
        set_(self, "depths", check_values("depths", self.depths, _int_in(1, 1000)))
        set_(self, "weights", check_values("weights", self.weights, _real(strict=True)))
        set_(self, "biases", check_values("biases", self.biases, _real(strict=False)))
        set_(self, "ridges", check_values("ridges", self.ridges, _real(strict=True)))
        settings = math.prod(map(len, (self.depths, self.weights, self.biases, self.ridges)))
        if settings > MAX_SETTINGS:
            raise ParameterError(
                "ridges",
                f"{settings} settings",
                f"a grid of at most {MAX_SETTINGS} settings (depths x weights x biases x ridges)",
            )
        target = check_target(self.target)
        set_(self, "target", target)
        set_(self, "noise", check_real("noise", self.noise, minimum=0.0))
        set_(self, "n", check_sizes(self.n, MAX_PREDICTED_N))
        set_(self, "top", check_int("top", self.top, 1, MAX_SETTINGS))
        set_(self, "l_max", resolve_l_max(self.l_max, self.dim, target))

    @property
    def settings(self) -> int:
        return len(self.depths) * len(self.weights) * len(self.biases) * len(self.ridges)


def _int_in(lo: int, hi: int):
    return lambda name, v: check_int(name, v, lo, hi)


def _real(*, strict: bool):
    return lambda name, v: check_real(name, v, minimum=0.0, strict=strict)


__all__ = [
    "KINDS",
    "KernelSpec",
    "PredictConfig",
    "TuneConfig",
    "check_sizes",
    "check_target",
    "default_l_max",
    "parse_target",
    "resolve_l_max",
]
