"""Figures of the spring-block model: the (friction, noise) phase diagram, load curves and
trajectories of simulated chains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import ListedColormap, TwoSlopeNorm

from springblock.plotting import PHASE_COLORS, plt


def _overlay(ax, diagram, legend: bool):
    spec = diagram.spec
    styles = (("k--", "closed form"), ("k-", "mean-field flow"))
    for (style, label), mu, bounds in (
        (styles[0], diagram.boundary_mu, diagram.closed_form_boundaries),
        (styles[1], spec.mu, diagram.mean_field_boundaries),
    ):
        for i, level in enumerate(("c = -tol", "c = +tol")):
            ax.plot(
                bounds[i],
                mu,
                style,
                lw=1.5 if i == 0 else 1.0,
                alpha=1.0 if i == 0 else 0.6,
                label=f"{label}, {level}" if legend else None,
            )
    if spec.mu_min <= diagram.lazy_threshold <= spec.mu_max:
        ax.axhline(
            diagram.lazy_threshold,
            color="0.3",
            ls=":",
            lw=1,
            label="noiseless: shallow blocks stuck above" if legend else None,
        )
    ax.set_xscale("log")
    ax.set_xlim(spec.noise_min, spec.noise_max)
    ax.set_ylim(spec.mu_min, spec.mu_max)
    ax.set_xlabel(r"noise $\bar\epsilon$")
    ax.set_ylabel(rf"friction $\mu_R$ ($\mu_L = {spec.asymmetry:.3g}\,\mu_R$)")


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    v = np.log(values) if log else values
    mid = (v[1:] + v[:-1]) / 2
    e = np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])
    return np.exp(e) if log else e


def phase_diagram_figure(diagram):
    """Simulated curvature and phases over (noise, friction) with the predicted boundaries."""
    spec = diagram.spec
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    xe, ye = _edges(spec.noise, True), _edges(spec.mu, False)
    limit = float(np.nanmax(np.abs(diagram.curvature))) or 1.0
    mesh = axes[0].pcolormesh(
        xe, ye, diagram.curvature, cmap="RdBu", norm=TwoSlopeNorm(0.0, -limit, limit)
    )
    fig.colorbar(mesh, ax=axes[0], label="simulated curvature c (mean over seeds)")
    _overlay(axes[0], diagram, legend=True)
    axes[0].legend(fontsize=7, loc="upper left")
    axes[0].set_title(f"model (a), L={spec.blocks}, T={spec.duration:g}, {spec.seeds} seeds")

    axes[1].pcolormesh(
        xe, ye, diagram.phase, cmap=ListedColormap(PHASE_COLORS), vmin=-0.5, vmax=2.5
    )
    _overlay(axes[1], diagram, legend=False)
    agree = diagram.agreement()
    axes[1].set_title(
        f"phase (|c| <= {spec.tolerance:g}: linear); agreement "
        f"closed form {agree['closed_form']:.0%}, mean field "
        f"{agree['mean_field']:.0%} (majority phase {agree['majority_baseline']:.0%})",
        fontsize=9,
    )
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in PHASE_COLORS]
    axes[1].legend(
        handles,
        ["concave (deep layers learn)", "linear", "convex (shallow layers learn)"],
        fontsize=7,
        loc="upper left",
    )

    layers = np.arange(spec.blocks + 1)
    picks = [
        (len(spec.mu) - 1, 0),
        (len(spec.mu) - 1, len(spec.noise) - 1),
        (len(spec.mu) // 2, len(spec.noise) // 2),
        (0, len(spec.noise) // 2),
    ]
    for i, j in picks:
        phase = ("concave", "linear", "convex")[diagram.phase[i, j]]
        axes[2].plot(
            layers,
            diagram.load_curve[i, j],
            "o-",
            color=PHASE_COLORS[diagram.phase[i, j]],
            label=rf"$\mu_R$={spec.mu[i]:.3g}, "
            rf"$\bar\epsilon$={spec.noise[j]:.3g} ({phase})",
        )
    axes[2].plot(
        layers, spec.target * (1 - layers / (spec.blocks + 1)), "k:", lw=1, label="equal load"
    )
    axes[2].set_xlabel(r"block (layer) $\ell$")
    axes[2].set_ylabel(r"load curve $y - x_\ell$")
    axes[2].legend(fontsize=7)
    axes[2].set_title("load curves of four cells")
    fig.tight_layout()
    return fig


def load_curves_figure(curves: Mapping[str, np.ndarray | Sequence[float]], title: str, errors=None):
    """Load curves y - x_l against l, one line per entry of ``curves``."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, curve in curves.items():
        layers = np.arange(len(curve))
        if errors is not None and name in errors:
            ax.errorbar(layers, curve, yerr=errors[name], fmt="o-", capsize=3, label=name)
        else:
            ax.plot(layers, curve, "o-", label=name)
    ax.set_xlabel(r"block (layer) $\ell$")
    ax.set_ylabel(r"load curve $y - x_\ell$")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def trajectories_figure(times: np.ndarray, load: np.ndarray, title: str):
    """y - x_l against time for every block (one realisation or the ensemble mean)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    colors = plt.cm.viridis(np.linspace(0, 1, load.shape[-1]))
    for l in range(load.shape[-1]):
        ax.plot(times, load[:, l], color=colors[l], label=rf"$\ell$={l}")
    ax.set_xlabel("time t (steps x dt)")
    ax.set_ylabel(r"$y - x_\ell$")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
