"""The leading finite-width (1/n) theory against Monte Carlo of actual networks, over
several widths: what ``springblock pdlt finite-width`` computes.

PDLT (Roberts, Yaida & Hanin, arXiv 2106.10165) chapter 4 (four-point vertex V, NLO
metric K1), with the third cumulant T of residual nets derived in
:mod:`springblock.theory.pdlt.finite_width`; the ensemble and its estimators are
:mod:`springblock.validation.pdlt.montecarlo`. Every comparison is a z-score
(measured - predicted) / SE per (width, layer), the SE over independent nets. On top:

* the approach to the 1/n limit at the last layer: n Cov - V should fall like c/n, so
  n (n Cov - V) stays of order one; :func:`through_origin` fits c;
* the intercept a of a weighted fit y = a + b/n over the widths (:func:`one_over_n_fit`),
  which removes the 1/n^2 part of n Cov and tests V itself;
* for the scale-invariant class at C_b = 0 (MLP), the exact law at any width,
  n Cov / K^2 = n [(1 + s/n)^(l-1) - 1]
  (:func:`springblock.theory.pdlt.finite_width.scale_invariant_exact_covariance`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from jaxtyping import Float

from springblock import results
from springblock.numerics.pdlt.initialization import Initialization, Resolved, check_activation
from springblock.params import ParameterError, check_int

if TYPE_CHECKING:
    import xarray as xr

    from springblock.validation.pdlt.montecarlo import EnsembleSpec

SAMPLERS = ("gaussian", "weights")
MAX_WIDTH = 4096
MAX_WIDTHS = 16
MAX_DEPTH = 1000
MAX_NETS = 1_000_000
#: widths x nets x depth rows of 11 statistics each (float32 in jax, float64 copied out):
#: 5e6 rows keep the recorded statistics under ~700 MB.
MAX_ROWS = 5_000_000
#: The NTK differentiates every layer of a net at once: the Jacobian of the outputs with
#: respect to all layers (depth^2 x width numbers) and the saved weights (depth x width^2)
#: must fit, ~16M numbers (64 MB in float32) each.
MAX_NTK_NUMBERS = 1 << 24


@dataclass(frozen=True)
class FiniteWidthSpec:
    """``activation`` (a name), the hidden ``widths`` (distinct, 2..4096, sorted here),
    ``depth`` layers, ``nets`` networks per width, the initialization (critical by
    default), the ``sampler`` (gaussian: exact conditional sampling of the
    preactivations; weights: the weight matrices themselves, needed for ``ntk``) and the
    random ``seed``."""

    activation: str
    widths: tuple[int, ...] = (32, 64, 128)
    depth: int = 8
    nets: int = 2000
    initialization: Initialization = field(default_factory=Initialization)
    sampler: str = "gaussian"
    ntk: bool = False
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "activation", check_activation(self.activation))
        widths = self.widths
        if isinstance(widths, int | float):
            widths = (widths,)
        checked = tuple(check_int("widths", w, 2, MAX_WIDTH) for w in widths)
        if not 1 <= len(checked) <= MAX_WIDTHS or len(set(checked)) != len(checked):
            raise ParameterError(
                "widths", self.widths, f"1 to {MAX_WIDTHS} distinct widths in [2, {MAX_WIDTH}]"
            )
        object.__setattr__(self, "widths", tuple(sorted(checked)))
        object.__setattr__(self, "depth", check_int("depth", self.depth, 2, MAX_DEPTH))
        object.__setattr__(self, "nets", check_int("nets", self.nets, 2, MAX_NETS))
        object.__setattr__(self, "seed", check_int("seed", self.seed, 0, 2**31 - 1))
        rows = len(checked) * self.nets * self.depth
        if rows > MAX_ROWS:
            raise ParameterError(
                "nets",
                self.nets,
                f"small enough that widths x nets x depth <= {MAX_ROWS:.0e} "
                f"(here {len(checked)} x {self.nets} x {self.depth} = {rows:.3g})",
            )
        if self.sampler not in SAMPLERS:
            raise ParameterError("sampler", self.sampler, f"one of {', '.join(SAMPLERS)}")
        if not isinstance(self.ntk, bool):
            raise ParameterError("ntk", self.ntk, "True or False")
        if self.ntk:
            if self.sampler != "weights":
                raise ParameterError(
                    "ntk",
                    True,
                    "used with sampler 'weights' (the gaussian sampler draws no weights to "
                    "differentiate)",
                )
            n = max(checked)
            if max(self.depth**2 * n, self.depth * n * n) > MAX_NTK_NUMBERS:
                raise ParameterError(
                    "ntk",
                    True,
                    f"used with depth^2 x width and depth x width^2 <= {MAX_NTK_NUMBERS} "
                    f"(here depth {self.depth}, largest width {n})",
                )

    def ensemble(self, init: Resolved) -> EnsembleSpec:
        """The Monte Carlo ensemble of this spec at the resolved initialization."""
        from springblock.validation.pdlt import montecarlo as mc

        return mc.EnsembleSpec(
            self.activation,
            widths=self.widths,
            depth=self.depth,
            nets=self.nets,
            C_b=init.C_b,
            C_W=init.C_W,
            gamma=init.gamma,
            xi=init.xi,
            sampler=self.sampler,
            ntk=self.ntk,
            seed=self.seed,
        )


# --- fits over widths ---------------------------------------------------------------------------


def one_over_n_fit(
    widths: Float[np.ndarray, " w"], y: Float[np.ndarray, " w"], se: Float[np.ndarray, " w"]
) -> tuple[float, float]:
    """(a, SE of a) of the weighted least-squares fit y = a + b/n (weights 1/se^2).
    NaN for fewer than 3 widths (two points fix a line: no error estimate)."""
    n = np.asarray(widths, float)
    if n.size < 3:
        return math.nan, math.nan
    design = np.stack([np.ones_like(n), 1 / n], axis=1) / np.asarray(se)[:, None]
    coef, *_ = np.linalg.lstsq(design, np.asarray(y) / np.asarray(se), rcond=None)
    return float(coef[0]), math.sqrt(float(np.linalg.inv(design.T @ design)[0, 0]))


def through_origin(
    widths: Float[np.ndarray, " w"], gap: Float[np.ndarray, " w"], se: Float[np.ndarray, " w"]
) -> tuple[float, float]:
    """(c, SE of c) of the weighted fit gap = c/n through the origin (weights 1/se^2)."""
    x = 1 / np.asarray(widths, float)
    w = 1 / np.asarray(se, float) ** 2
    denom = float(np.sum(w * x * x))
    return float(np.sum(w * x * np.asarray(gap)) / denom), math.sqrt(1 / denom)


# --- the study ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FiniteWidthStudy:
    """``comparison``: :func:`springblock.validation.pdlt.montecarlo.compare` of the
    ensemble; ``normalized``: n Cov / E[z^2]^2 measured (mean, se; (width, layer));
    ``exact``: the scale-invariant exact law for it, or None outside that case."""

    spec: FiniteWidthSpec
    ensemble_spec: EnsembleSpec
    init: Resolved
    comparison: dict
    normalized: dict[str, np.ndarray]
    exact: np.ndarray | None

    @property
    def widths(self) -> np.ndarray:
        return np.asarray(self.spec.widths)

    @property
    def layers(self) -> np.ndarray:
        return np.arange(1, self.spec.depth + 1)

    @property
    def measured(self) -> tuple[str, ...]:
        """The compared quantities: K, K12, nCov, nCov_reference, nT (, H, H12)."""
        return tuple(k for k in self.comparison if k not in ("theory", "widths"))

    @property
    def non_finite(self) -> dict[str, int]:
        """Measured quantity -> first layer at which its mean is not finite (at any
        width): the float32 nets overflowed there."""
        out = {}
        for k in self.measured:
            bad = ~np.isfinite(self.comparison[k]["mean"]).all(axis=0)
            if bad.any():
                out[k] = int(np.argmax(bad)) + 1
        return out


def exact_law_applies(init: Resolved) -> bool:
    """Scale-invariant activation, C_b = 0, plain MLP (the exact law's assumptions)."""
    return (
        init.criticality.universality_class == "scale-invariant"
        and init.C_b == 0.0
        and init.gamma == 0.0
        and init.xi == 1.0
    )


def compute(spec: FiniteWidthSpec, init: Resolved) -> FiniteWidthStudy:
    from springblock.validation.pdlt import montecarlo as mc

    ens_spec = spec.ensemble(init)
    ens = mc.simulate(ens_spec)
    # an overflowing ensemble (float32 nets deep in the chaotic phase) gives NaN/inf
    # statistics; they are reported by name in ``non_finite``, not warned about per array
    with np.errstate(all="ignore"):
        comparison = mc.compare(ens_spec, ens)
        est = mc.normalized_four_point(ens)
    exact = None
    if exact_law_applies(init):
        exact = exact_normalized_covariance(
            init.criticality.four_point_slope, spec.widths, spec.depth
        )
    return FiniteWidthStudy(
        spec, ens_spec, init, comparison, {"mean": est.mean, "se": est.se}, exact
    )


def exact_normalized_covariance(slope, widths, depth: int) -> np.ndarray:
    """n [(1 + s/n)^(l-1) - 1] over (width, layer), compiled from the theory's sympy law."""
    import sympy as sp

    from springblock.theory.pdlt import criticality as pc
    from springblock.theory.pdlt import finite_width as pf

    law = sp.lambdify((pf.n, pc.l), pf.n * pf.scale_invariant_exact_covariance(slope), "numpy")
    n = np.asarray(widths, float)[:, None]
    return np.broadcast_to(law(n, np.arange(1, depth + 1, dtype=float)[None, :]), (n.size, depth))


def z_scores(mean, se, reference) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, (mean - reference) / se, np.nan)


def max_abs(z: np.ndarray) -> float | None:
    finite = np.abs(z[np.isfinite(z)])
    return float(finite.max()) if finite.size else None


def summary(study: FiniteWidthStudy) -> dict[str, Any]:
    """Measured vs predicted per (width, layer), their largest |z| (and the z of K against
    its infinite-width value alone, without K1/n), the last-layer approach
    n (n Cov - V) with its 1/n fit, the intercepts of n Cov = a + b/n per layer and, where
    it applies, the exact scale-invariant law."""
    cmp, spec, init = study.comparison, study.spec, study.init
    th = cmp["theory"]
    widths = study.widths.astype(float)
    gap = cmp["nCov"]["mean"][:, -1] - th["V"][-1]
    gap_se = cmp["nCov"]["se"][:, -1]
    c, c_se = through_origin(widths, gap, gap_se)
    intercepts = [
        one_over_n_fit(widths, cmp["nCov"]["mean"][:, l], cmp["nCov"]["se"][:, l])
        for l in range(spec.depth)
    ]
    normalized_theory = np.broadcast_to(th["V"] / th["K"] ** 2, study.normalized["mean"].shape)
    payload: dict[str, Any] = {
        "activation": spec.activation,
        "universality_class": init.criticality.universality_class,
        "C_b": init.C_b,
        "C_W": init.C_W,
        "gamma": init.gamma,
        "xi": init.xi,
        "critical_initialization": init.critical,
        "depth": spec.depth,
        "widths": list(spec.widths),
        "mc_samples": spec.nets,
        "sampler": spec.sampler,
        "ntk": spec.ntk,
        "seed": spec.seed,
        "layers": study.layers,
        "theory": th,
        "measured": {
            k: {f: cmp[k][f] for f in ("mean", "se", "theory", "z")} for k in study.measured
        },
        "max_abs_z": {k: max_abs(cmp[k]["z"]) for k in study.measured},
        "max_abs_z_null": "no finite z-score (every SE 0 or every value non-finite)",
        "K_without_correction_z": z_scores(
            cmp["K"]["mean"], cmp["K"]["se"], np.broadcast_to(th["K"], cmp["K"]["mean"].shape)
        ),
        "non_finite_from_layer": study.non_finite,
        "normalized_four_point": {
            "measured": study.normalized["mean"],
            "se": study.normalized["se"],
            "theory": normalized_theory,
            "z": z_scores(study.normalized["mean"], study.normalized["se"], normalized_theory),
        },
        "last_layer_gap": {
            "nCov_minus_V": gap,
            "se": gap_se,
            "times_n": gap * widths,
            "times_n_se": gap_se * widths,
            "fit_c_over_n": {"c": c, "se": c_se},
        },
        "intercepts_nCov": {
            "a": [a for a, _ in intercepts],
            "se": [e for _, e in intercepts],
            "V": th["V"],
            "z": [
                (a - v) / e if e > 0 else math.nan
                for (a, e), v in zip(intercepts, th["V"], strict=True)
            ],
            "z_reference": [
                (a - v) / e if e > 0 else math.nan
                for (a, e), v in zip(intercepts, th["V_reference"], strict=True)
            ],
        },
        "note": "z = (measured - theory)/SE per width and layer (null where SE = 0: the "
        "quantity is deterministic there); nCov = n Cov(z_i^2, z_j^2) -> V; nCov_reference "
        "compares with the recursion without the third-cumulant term; intercepts: weighted "
        "fit n Cov = a + b/n over the widths (null for fewer than 3 widths)",
    }
    if study.exact is not None:
        norm = study.normalized
        z = z_scores(norm["mean"], norm["se"], study.exact)
        payload["exact_law"] = {
            "law": "n Cov/K^2 = n [(1 + s/n)^(l-1) - 1]",
            "slope": init.criticality.four_point_slope,
            "measured": norm["mean"],
            "se": norm["se"],
            "exact": study.exact,
            "z": z,
            "max_abs_z": max_abs(z),
            "leading_order": init.criticality.four_point_slope * (study.layers - 1),
        }
    return payload


def to_dataset(study: FiniteWidthStudy) -> xr.Dataset:
    """Dims ``width`` x ``layer``: every measured quantity with its SE, prediction and z,
    and the theory along ``layer``."""
    import xarray as xr

    cmp = study.comparison
    cell = ("width", "layer")
    no_se = "standard error 0: the quantity is deterministic at this layer"
    overflow = "not finite: the simulation or the recursion overflowed"
    data: dict[str, Any] = {}
    for k in study.measured:
        data[k] = (cell, cmp[k]["mean"], {"long_name": f"{k} measured", "nan_meaning": overflow})
        data[f"{k}_se"] = (cell, cmp[k]["se"], {"nan_meaning": overflow})
        data[f"{k}_theory"] = (cell, cmp[k]["theory"], {"nan_meaning": overflow})
        data[f"{k}_z"] = (cell, cmp[k]["z"], {"nan_meaning": no_se})
    for k, v in cmp["theory"].items():
        data[f"theory_{k}"] = (("layer",), v, {"nan_meaning": overflow})
    data["nV_over_K2"] = (cell, study.normalized["mean"], {"nan_meaning": overflow})
    data["nV_over_K2_se"] = (cell, study.normalized["se"], {"nan_meaning": overflow})
    if study.exact is not None:
        data["nV_over_K2_exact"] = (cell, study.exact, {"long_name": "n[(1 + s/n)^(l-1) - 1]"})
    init = study.init
    return xr.Dataset(
        data,
        coords={"width": ("width", study.widths), "layer": ("layer", study.layers)},
        attrs={
            **results.provenance_attrs("pdlt-finite-width", study.spec),
            "universality_class": init.criticality.universality_class,
            "C_b": init.C_b,
            "C_W": init.C_W,
            "gamma": init.gamma,
            "xi": init.xi,
        },
    )
