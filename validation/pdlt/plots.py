"""Figures of the PDLT commands: the (C_b, C_W) order-to-chaos diagram
(:mod:`springblock.numerics.pdlt.universality`), the depth profiles of the kernel, its
perturbation and the NTK (:mod:`springblock.numerics.pdlt.depth_profile`), and finite-width
Monte Carlo against the 1/n theory (:mod:`springblock.validation.pdlt.finite_width`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from springblock.plotting import plt

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from springblock.numerics.pdlt.depth_profile import DepthProfile
    from springblock.numerics.pdlt.universality import CriticalityStudy
    from springblock.validation.pdlt.finite_width import FiniteWidthStudy

#: log chi_perp is shown within +-2 (a factor e^2 per layer), beyond which colours saturate.
LOG_CHI_CLIP = 2.0


def phase_figure(study: CriticalityStudy) -> Figure:
    """log chi_perp over (C_b, C_W) with the order-to-chaos boundary and the critical point."""
    diagram, crit = study.diagram, study.criticality
    fig, ax = plt.subplots(figsize=(6, 4.5))
    lyap = np.clip(np.log(np.clip(diagram.chi_perp, 1e-12, None)), -LOG_CHI_CLIP, LOG_CHI_CLIP)
    lim = float(np.nanmax(np.abs(lyap))) or 1.0
    mesh = ax.pcolormesh(
        diagram.C_b,
        diagram.C_W,
        lyap,
        cmap="RdBu_r",
        norm=TwoSlopeNorm(0.0, -lim, lim),
        shading="auto",
    )
    fig.colorbar(
        mesh, ax=ax, label=rf"$\log\chi_\perp$ at $K^{{(L)}}$ (clipped to $\pm {LOG_CHI_CLIP:g}$)"
    )
    if np.nanmin(lyap) < 0 < np.nanmax(lyap):
        ax.contour(diagram.C_b, diagram.C_W, lyap, levels=[0.0], colors="k", linewidths=1.2)
    if crit.C_b is not None and crit.C_W is not None:
        ax.plot(
            [crit.C_b],
            [crit.C_W],
            "*",
            color="gold",
            ms=14,
            mec="k",
            label=f"critical ({crit.universality_class})",
        )
        ax.legend(loc="upper right", fontsize=8)
    ax.text(0.02, 0.95, "chaotic", transform=ax.transAxes, va="top", fontsize=9)
    ax.text(0.70, 0.05, "ordered", transform=ax.transAxes, fontsize=9)
    ax.set_xlabel(r"$C_b$")
    ax.set_ylabel(r"$C_W$")
    ax.set_title(f"{crit.activation}: order-to-chaos, {diagram.depth} layers")
    fig.tight_layout()
    return fig


def kernel_figure(profile: DepthProfile) -> Figure:
    """Kernel and K_[2], the input-pair angle, and the susceptibilities with the NTK."""
    a, init = profile.arrays, profile.init
    crit = init.criticality
    layers = profile.layers
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].loglog(layers, a["K"], label=r"$K^{(\ell)}$")
    axes[0].loglog(layers, np.abs(a["K_2"]), label=r"$|K_{[2]}|$ (perturbation)")
    if crit.universality_class == "K*=0":
        axes[0].loglog(
            layers, a["K"][-1] * layers[-1] / layers, "k:", lw=1, label=r"$\propto 1/\ell$"
        )
    axes[0].set_xlabel(r"layer $\ell$")
    axes[0].legend(fontsize=8)
    axes[0].set_title("kernel and perturbation")
    angle = a["angle"]
    axes[1].loglog(layers, np.where(angle > 0, angle, np.nan), label=r"angle $\theta^{(\ell)}$")
    if profile.spec.activation == "relu":
        axes[1].loglog(layers, 3 * np.pi / layers, "k:", label=r"$3\pi/\ell$")
    axes[1].set_xlabel(r"layer $\ell$")
    axes[1].legend(fontsize=8)
    axes[1].set_title("input-pair angle")
    axes[2].semilogx(layers, a["chi_par"], label=r"$\chi_\parallel$")
    axes[2].semilogx(layers, a["chi_perp"], label=r"$\chi_\perp$")
    ntk_axis = axes[2].twinx()
    ntk_axis.loglog(layers, a["H"], "g--", label="NTK H")
    ntk_axis.set_ylabel("NTK H", color="g")
    axes[2].set_xlabel(r"layer $\ell$")
    axes[2].legend(fontsize=8, loc="center left")
    axes[2].set_title("susceptibilities and NTK")
    fig.suptitle(
        f"{profile.spec.activation} ({crit.universality_class}), "
        f"C_b = {init.C_b:.4g}, C_W = {init.C_W:.4g}"
    )
    fig.tight_layout()
    return fig


def finite_width_figure(study: FiniteWidthStudy) -> Figure:
    """Theory vs Monte Carlo against depth, and the 1/n approach of the four-point function
    at the last layer (with the NTK when measured)."""
    from springblock.validation.pdlt.finite_width import through_origin

    cmp, spec, init = study.comparison, study.spec, study.init
    th = cmp["theory"]
    widths, layers = study.widths, study.layers
    ntk = "H" in cmp
    fig, axes = plt.subplots(1, 4 if ntk else 3, figsize=(20 if ntk else 15, 4.2))
    for i, w in enumerate(widths):
        for ax, key in ((axes[0], "K"), (axes[1], "nCov")):
            ax.errorbar(
                layers,
                cmp[key]["mean"][i],
                yerr=cmp[key]["se"][i],
                fmt="o",
                ms=3,
                capsize=2,
                label=f"MC n={w}",
            )
    axes[0].plot(layers, th["K"], "k-", label="theory K (n = inf)")
    axes[0].set_ylabel(r"$E[z_i^2]$")
    axes[1].plot(layers, th["V"], "k-", label="theory V")
    if not np.allclose(th["V"], th["V_reference"]):
        axes[1].plot(layers, th["V_reference"], "k--", label="reference V (no T term)")
    axes[1].set_ylabel(r"$n\,\mathrm{Cov}(z_i^2, z_j^2)$")
    for ax in axes[:2]:
        ax.set_xlabel(r"layer $\ell$")
        ax.legend(fontsize=7)
    gap = cmp["nCov"]["mean"][:, -1] - th["V"][-1]
    err = cmp["nCov"]["se"][:, -1]
    axes[2].errorbar(1 / widths, gap, yerr=err, fmt="o", capsize=3, label="MC")
    c, _ = through_origin(widths, gap, err)
    xs = np.linspace(0, 1 / widths.min(), 20)
    axes[2].plot(xs, c * xs, "k:", label=f"fit c/n, c = {c:.3g}")
    axes[2].axhline(0, color="0.5", lw=0.8)
    axes[2].set_xlabel("1/n")
    axes[2].set_ylabel(r"$n\,\mathrm{Cov} - V$ at the last layer")
    axes[2].legend(fontsize=7)
    if ntk:
        for i, w in enumerate(widths):
            for key, marker in (("H", "o"), ("H12", "s")):
                axes[3].errorbar(
                    layers,
                    cmp[key]["mean"][i],
                    yerr=cmp[key]["se"][i],
                    fmt=marker,
                    ms=3,
                    capsize=2,
                    label=f"MC {key}, n={w}" if key == "H" or i == 0 else None,
                )
        axes[3].plot(layers, th["H"], "k-", label=r"theory $H_{aa}$")
        axes[3].plot(layers, th["H12"], "k--", label=r"theory $H_{ab}$")
        axes[3].set_xlabel(r"layer $\ell$")
        axes[3].set_ylabel("NTK of output neuron 0")
        axes[3].legend(fontsize=7)
    fig.suptitle(
        f"{spec.activation}: C_b = {init.C_b:.4g}, C_W = {init.C_W:.4g}, gamma = {init.gamma:g}, "
        f"xi = {init.xi:g}, {spec.nets} nets per width ({spec.sampler})"
    )
    fig.tight_layout()
    return fig
