"""An activation's universality class and critical point, with its order-to-chaos diagram.

What ``springblock pdlt criticality`` computes. PDLT (Roberts, Yaida & Hanin, arXiv
2106.10165) chapter 5: the class (scale-invariant, K* = 0, half-stable or none), the
critical (C_b, C_W), the fixed point K*, the depth exponents and the four-point slope
(:func:`springblock.numerics.pdlt.recursions.criticality`), next to the (C_b, C_W) phase
diagram of :func:`springblock.numerics.pdlt.phase.phase_diagram` (Poole et al. 2016,
Schoenholz et al. 2017), drawn on axes that put the critical point inside:
C_b in [0, max(1, 2 C_b*)], C_W in [C_W_MIN, max(4, 2 C_W*)].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from springblock import results
from springblock.numerics.pdlt.initialization import check_activation
from springblock.params import check_int

if TYPE_CHECKING:
    import xarray as xr

    from springblock.numerics.pdlt.phase import PhaseDiagram
    from springblock.theory.pdlt.criticality import Criticality

#: Points per axis are capped where one vmapped call over the grid (Gauss-Hermite moments
#: of every cell, ~9 x 60 numbers each) stays near 300 MB.
MAX_GRID = 256
MAX_PHASE_DEPTH = 10_000
#: Smallest C_W of the diagram: below it every activation is deep in the ordered phase.
C_W_MIN = 0.25


@dataclass(frozen=True)
class CriticalitySpec:
    """``activation`` (a name, :func:`~springblock.numerics.pdlt.initialization.check_activation`),
    the phase diagram's ``grid`` points per axis and the layers ``phase_depth`` iterated
    before chi_perp is read off."""

    activation: str
    grid: int = 96
    phase_depth: int = 100

    def __post_init__(self):
        object.__setattr__(self, "activation", check_activation(self.activation))
        object.__setattr__(self, "grid", check_int("grid", self.grid, 4, MAX_GRID))
        object.__setattr__(
            self, "phase_depth", check_int("phase_depth", self.phase_depth, 1, MAX_PHASE_DEPTH)
        )


@dataclass(frozen=True)
class CriticalityStudy:
    spec: CriticalitySpec
    criticality: Criticality
    diagram: PhaseDiagram


def phase_axes(crit: Criticality, points: int) -> tuple[np.ndarray, np.ndarray]:
    """(C_b, C_W) axes of the diagram, each ``points`` long (module docstring)."""
    cw_max = 4.0 if crit.C_W is None else max(4.0, 2 * crit.C_W)
    cb_max = 1.0 if not crit.C_b else max(1.0, 2 * crit.C_b)
    return np.linspace(0.0, cb_max, points), np.linspace(C_W_MIN, cw_max, points)


def compute(spec: CriticalitySpec) -> CriticalityStudy:
    from springblock.numerics.pdlt import phase
    from springblock.numerics.pdlt import recursions as pr

    crit = pr.criticality(spec.activation)
    c_b, c_w = phase_axes(crit, spec.grid)
    diagram = phase.phase_diagram(
        spec.activation, C_b=c_b, C_W=c_w, depth=spec.phase_depth, classify=False
    )
    return CriticalityStudy(spec, crit, _with_critical(diagram, crit))


def _with_critical(diagram: PhaseDiagram, crit: Criticality) -> PhaseDiagram:
    import dataclasses

    return dataclasses.replace(diagram, critical=crit)


def summary(study: CriticalityStudy) -> dict[str, Any]:
    """The criticality (``Criticality.to_json``) and the phase diagram (``to_json``)."""
    payload = study.criticality.to_json()
    payload["K_star_null"] = "scale-invariant class: every K is a fixed point at criticality"
    payload["C_null"] = "universality class 'none': no critical (C_b, C_W) with C_b >= 0"
    payload["phase_diagram"] = study.diagram.to_json()
    return payload


def to_dataset(study: CriticalityStudy) -> xr.Dataset:
    """Dims ``c_w`` x ``c_b`` (the grid axes): kernel, susceptibilities and phase after
    ``phase_depth`` layers, and the boundary C_W per C_b; the criticality as attributes."""
    import xarray as xr

    d, crit = study.diagram, study.criticality
    grid = ("c_w", "c_b")
    overflow = "not finite in float64 at this (C_b, C_W) after the iterated layers"
    return xr.Dataset(
        {
            "kernel": (
                grid,
                d.K,
                {"long_name": "K after phase_depth layers", "nan_meaning": overflow},
            ),
            "chi_parallel": (grid, d.chi_par, {"nan_meaning": overflow}),
            "chi_perp": (grid, d.chi_perp, {"nan_meaning": overflow}),
            "phase": (
                grid,
                d.phase.astype(np.int32),
                {"flag_values": [-1, 1], "flag_meanings": "ordered chaotic"},
            ),
            "boundary_c_w": (
                ("c_b",),
                d.boundary_c_w(),
                {
                    "long_name": "C_W where chi_perp crosses 1",
                    "nan_meaning": "no crossing inside the C_W grid at this C_b",
                },
            ),
        },
        coords={
            "c_w": ("c_w", d.C_W, {"long_name": "weight variance C_W"}),
            "c_b": ("c_b", d.C_b, {"long_name": "bias variance C_b"}),
        },
        attrs={
            **results.provenance_attrs("pdlt-criticality", study.spec),
            "criticality": results.to_jsonable(crit.to_json()),
            "phase_depth": d.depth,
        },
    )


def fixed_points(
    activation: str,
    C_b: float,
    C_W: float,
    *,
    k_range: tuple[float, float] = (1e-3, 1e3),
    grid: int = 2001,
    nodes: int = 200,
    xtol: float = 1e-12,
) -> list[dict[str, float]]:
    """Fixed points K = C_b + C_W <sigma^2>_K of the MLP kernel map in ``k_range`` where
    K' - K changes sign (simple roots, found on a log grid of ``grid`` points and bisected
    to relative ``xtol``), with chi_par and chi_perp there; moments as in
    :func:`springblock.numerics.pdlt.recursions.moments` (closed forms, else ``nodes``-point
    Gauss-Hermite). A half-stable K* is a double root (K' - K ~ c (K - K*)^2 keeps its sign)
    and is not listed: :func:`springblock.numerics.pdlt.recursions.criticality` finds it."""
    import jax
    import jax.numpy as jnp

    from springblock.numerics.pdlt import recursions as pr

    @jax.jit
    def compiled(k):
        m = pr.moments(activation, k, nodes=nodes)
        return jnp.stack([C_b + C_W * m["g"] - k, C_W * m["dg"], C_W * m["sp2"]])

    def evaluate(k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with jax.enable_x64(True):
            gap, chi_par, chi_perp = np.asarray(compiled(jnp.asarray(k, jnp.float64)))
        return gap, chi_par, chi_perp

    ks = np.geomspace(*k_range, grid)
    gap = evaluate(ks)[0]
    found = []
    for lo, hi, f_lo, f_hi in zip(ks[:-1], ks[1:], gap[:-1], gap[1:], strict=True):
        if not (np.isfinite(f_lo) and np.isfinite(f_hi)) or f_lo * f_hi >= 0:
            continue
        while hi - lo > xtol * lo:
            mid = 0.5 * (lo + hi)
            f_mid = float(evaluate(np.asarray([mid]))[0][0])
            if f_mid * f_lo > 0:
                lo, f_lo = mid, f_mid
            else:
                hi = mid
        k = 0.5 * (lo + hi)
        _, chi_par, chi_perp = evaluate(np.asarray([k]))
        found.append({"K": float(k), "chi_par": float(chi_par[0]), "chi_perp": float(chi_perp[0])})
    return found
