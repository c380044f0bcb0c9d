"""The infinite-width kernel, its perturbations and the NTK through depth, with fitted
power laws: what ``springblock pdlt kernel`` computes.

PDLT (Roberts, Yaida & Hanin, arXiv 2106.10165) chapters 4-5 and 8, compiled in
:mod:`springblock.numerics.pdlt.recursions`: the single-input kernel K, four-point vertex
V and NTK H (:func:`~springblock.numerics.pdlt.recursions.profile`); the full 2x2 kernel
and NTK of an input pair with Gram entries q_ab = x_a.x_b / n_0
(:func:`~springblock.numerics.pdlt.recursions.pair_profile`), whose angle
theta = arccos(K12 / sqrt(K11 K22)) shows how fast inputs become alike; and the
gamma-basis perturbation K_[2] (:func:`~springblock.numerics.pdlt.recursions.perturbation_profile`,
PDLT sec. 5.1) started with K_[1] = 0, so that K_[2]' = chi_perp K_[2] is linear and its
starting value only sets its scale. Criticality predicts power laws X ~ l^(-p) for these
(chapter 5); :func:`fit_exponent` measures p.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from jaxtyping import Float

from springblock import results
from springblock.numerics.pdlt.initialization import Initialization, Resolved, check_activation
from springblock.params import ParameterError, check_int, check_real

if TYPE_CHECKING:
    import xarray as xr

MAX_DEPTH = 100_000
#: K_[2] at layer 1, relative to K^(1) (a scale only: the map is linear when K_[1] = 0).
PERTURBATION_START = 1e-3
#: The quantities whose depth exponent is fitted, and the arrays they are fitted on.
FITTED = ("K - K*", "angle", "K_[2]", "H")


@dataclass(frozen=True)
class DepthProfileSpec:
    """``activation`` (a name), ``depth`` layers, the initialization (critical by default)
    and the input Gram entries q11 = x_a.x_a/n_0 > 0, q22 > 0, q12 with q12^2 <= q11 q22."""

    activation: str
    depth: int = 1000
    initialization: Initialization = field(default_factory=Initialization)
    q11: float = 1.0
    q12: float = 0.5
    q22: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "activation", check_activation(self.activation))
        object.__setattr__(self, "depth", check_int("depth", self.depth, 2, MAX_DEPTH))
        for name in ("q11", "q22"):
            object.__setattr__(
                self, name, check_real(name, getattr(self, name), minimum=0.0, strict=True)
            )
        q12 = check_real("q12", self.q12)
        if q12 * q12 > self.q11 * self.q22:
            raise ParameterError(
                "q12", self.q12, f"a Gram entry with q12^2 <= q11 q22 = {self.q11 * self.q22:g}"
            )
        object.__setattr__(self, "q12", q12)


def fit_exponent(
    layers: Float[np.ndarray, " depth"], values: Float[np.ndarray, " depth"]
) -> float | None:
    """p in |values| ~ l^(-p): least squares of log|values| on log l over the deeper half
    of the layers (l >= depth/2, where the power law has set in), finite nonzero values
    only. None when fewer than 3 such values remain."""
    layers = np.asarray(layers, float)
    values = np.abs(np.asarray(values, float))
    keep = (layers >= layers[-1] / 2) & (values > 0) & np.isfinite(values)
    if keep.sum() < 3:
        return None
    slope = np.polyfit(np.log(layers[keep]), np.log(values[keep]), 1)[0]
    return float(-slope)


@dataclass(frozen=True)
class DepthProfile:
    """Arrays over layers l = 1..depth (see the module docstring); ``fitted`` maps the
    names of :data:`FITTED` to p (or None); ``non_finite`` the first layer at which a
    quantity left float64 (the recursion overflowed), for each such quantity."""

    spec: DepthProfileSpec
    init: Resolved
    arrays: dict[str, np.ndarray]
    fitted: dict[str, float | None]
    non_finite: dict[str, int]

    @property
    def layers(self) -> np.ndarray:
        return np.arange(1, self.spec.depth + 1)


def compute(spec: DepthProfileSpec, init: Resolved) -> DepthProfile:
    from springblock.numerics.pdlt import recursions as pr

    kw: dict[str, Any] = dict(C_b=init.C_b, C_W=init.C_W, gamma=init.gamma, xi=init.xi)
    single = pr.profile(spec.activation, spec.depth, q=spec.q11, **kw)
    pair = pr.pair_profile(
        spec.activation, spec.depth, q11=spec.q11, q12=spec.q12, q22=spec.q22, **kw
    )
    k_first = float(single.K[0])
    _, _, k2 = pr.perturbation_profile(
        spec.activation, spec.depth, K0=k_first, K1=0.0, K2=PERTURBATION_START * k_first, **kw
    )
    with np.errstate(invalid="ignore"):
        angle = np.arccos(np.clip(np.asarray(pair.cos_angle), -1.0, 1.0))
    arrays = {
        "K": np.asarray(single.K),
        "K12": np.asarray(pair.K12),
        "K22": np.asarray(pair.K22),
        "angle": angle,
        "chi_par": np.asarray(single.chi_par),
        "chi_perp": np.asarray(single.chi_perp),
        "h": np.asarray(single.h),
        "K_2": np.asarray(k2),
        "V": np.asarray(single.V),
        "H": np.asarray(single.H),
        "H12": np.asarray(pair.H12),
    }
    layers = np.arange(1, spec.depth + 1)
    k_star = init.criticality.K_star or 0.0
    fitted_on = {
        "K - K*": arrays["K"] - k_star,
        "angle": angle,
        "K_[2]": arrays["K_2"],
        "H": arrays["H"],
    }
    fitted = {name: fit_exponent(layers, fitted_on[name]) for name in FITTED}
    non_finite = {
        name: int(np.argmax(~np.isfinite(a))) + 1
        for name, a in arrays.items()
        if not np.isfinite(a).all()
    }
    return DepthProfile(spec, init, arrays, fitted, non_finite)


#: Layers listed in the text output (those within the depth).
SHOWN_LAYERS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 10_000, 100_000)


def shown_layers(depth: int) -> list[int]:
    return sorted({layer for layer in SHOWN_LAYERS if layer <= depth} | {depth})


def summary(p: DepthProfile) -> dict[str, Any]:
    init, spec = p.init, p.spec
    return {
        "activation": spec.activation,
        "universality_class": init.criticality.universality_class,
        "C_b": init.C_b,
        "C_W": init.C_W,
        "gamma": init.gamma,
        "xi": init.xi,
        "critical_initialization": init.critical,
        "depth": spec.depth,
        "q": {"q11": spec.q11, "q12": spec.q12, "q22": spec.q22},
        "layers": p.layers,
        **p.arrays,
        "fitted_exponents": p.fitted,
        "fitted_exponents_null": "fewer than 3 finite nonzero values over the deeper half",
        "fitted_over_layers": [math.ceil(spec.depth / 2), spec.depth],
        "predicted_exponents": init.criticality.exponents,
        "exponent_convention": "X ~ l^(-p): p listed",
        "non_finite_from_layer": p.non_finite,
    }


#: What the arrays are, for the dataset.
LONG_NAMES = {
    "K": "single-input kernel K^(l) (input a)",
    "K12": "pair kernel K_ab^(l)",
    "K22": "kernel of input b",
    "angle": "input-pair angle arccos(K12 / sqrt(K11 K22))",
    "chi_par": "parallel susceptibility at K^(l)",
    "chi_perp": "perpendicular susceptibility at K^(l)",
    "h": "h = (1/2) d chi_perp / dK at K^(l)",
    "K_2": "gamma-basis perturbation K_[2] (K_[1] = 0)",
    "V": "four-point vertex V (Cov(z_i^2, z_j^2) = V/n)",
    "H": "NTK H_aa",
    "H12": "NTK H_ab",
}


def to_dataset(p: DepthProfile) -> xr.Dataset:
    """Dim ``layer`` (1..depth): every array of :class:`DepthProfile`; fits as attributes."""
    import xarray as xr

    overflow = "not finite in float64: the recursion overflowed at or before this layer"
    return xr.Dataset(
        {
            name: (("layer",), a, {"long_name": LONG_NAMES[name], "nan_meaning": overflow})
            for name, a in p.arrays.items()
        },
        coords={"layer": ("layer", p.layers)},
        attrs={
            **results.provenance_attrs("pdlt-kernel", p.spec),
            "universality_class": p.init.criticality.universality_class,
            "C_b": p.init.C_b,
            "C_W": p.init.C_W,
            "gamma": p.init.gamma,
            "xi": p.init.xi,
            "fitted_exponents": p.fitted,
            "predicted_exponents": p.init.criticality.exponents,
        },
    )
