"""The spring-block model and its closed forms, named, as sympy expressions and LaTeX (the
``model latex`` command, the report's theory section and the docs render these)."""

from __future__ import annotations

import sympy as sp


def expressions(blocks=None) -> dict[str, sp.Expr]:
    """The closed forms by name, for ``blocks`` blocks (default: the symbol L)."""
    from springblock.theory.spring import drift, equilibrium, phases

    L = phases.L_sym if blocks is None else blocks
    return {
        "g(F)": drift.mean_drift(),
        "g'(F)": drift.mobility(),
        "F*": drift.stationary_force(),
        "tau": phases.relaxation_time_expr(),
        "n_stuck": equilibrium.stuck_blocks_expr(L),
        "mu_R^(1)": equilibrium.lazy_threshold(L, 1),
        "c_inf": phases.stationary_curvature(),
        "c(T)": phases.curvature_expr(),
        "sigma_b": phases.boundary_expr(),
    }


#: LaTeX left-hand sides of :func:`expressions`, and the JSON keys of :func:`closed_forms`.
LATEX_NAMES = {
    "g(F)": ("mean_drift", "g(F)"),
    "g'(F)": ("mobility", "g'(F)"),
    "F*": ("stationary_force", "F^*"),
    "tau": ("relaxation_time", r"\tau"),
    "n_stuck": ("stuck_blocks", r"n_\mathrm{stuck}"),
    "mu_R^(1)": ("lazy_threshold", r"\mu_R^{(1)}"),
    "c_inf": ("stationary_curvature", r"c_\infty"),
    "c(T)": ("curvature", "c(T)"),
    "sigma_b": ("boundary", r"\sigma_b"),
}


def closed_forms(variant: str = "overdamped", shared_noise: bool = False) -> dict[str, str]:
    """The model's equations (``variant`` overdamped = model a, underdamped = model b) and
    every closed form, as LaTeX strings keyed by name."""
    from springblock.theory import OverdampedModel, UnderdampedModel

    model = OverdampedModel if variant == "overdamped" else UnderdampedModel
    out = {"model": model(2, shared_noise).latex()}
    for name, expr in expressions().items():
        key, lhs = LATEX_NAMES[name]
        out[key] = f"{lhs} = {sp.latex(expr)}"
    return out
