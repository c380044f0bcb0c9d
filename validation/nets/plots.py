"""Figures of trained-net panels: the paper-style grid of load curves, accuracy against
the spread, and curvature maps."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from springblock.plotting import PHASE_COLORS, plt


def panel_figure(
    alphas,
    values,
    knob: str,
    load_curves: np.ndarray,
    accuracy: np.ndarray,
    curvature: np.ndarray,
    measure: str,
    linear_fraction: float = 0.15,
):
    """The paper-style panel: one small load curve per (alpha, value) cell, shaded by test
    accuracy; the curve is red when concave (c < -tol), blue when convex (c > tol) and
    yellow (linear) in between, with tol = ``linear_fraction`` x max |c| over the cells
    (nets have no natural curvature scale, so the band is relative).

    ``load_curves`` has dims (alpha, value, layer) (mean over seeds).
    """
    rows, cols = len(alphas), len(values)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(1.3 * cols + 1.5, 1.1 * rows + 1.0),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    finite = accuracy[np.isfinite(accuracy)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    cmap = plt.cm.Greys
    tol = linear_fraction * float(np.nanmax(np.abs(curvature)))
    for r in range(rows):
        for q in range(cols):
            ax = axes[rows - 1 - r, q]  # alpha grows upwards
            acc = accuracy[r, q]
            shade = 0.05 + 0.45 * (acc - lo) / (hi - lo) if hi > lo and np.isfinite(acc) else 0.05
            ax.set_facecolor(cmap(shade))
            curve = load_curves[r, q]
            c = curvature[r, q]
            color = PHASE_COLORS[0 if c < -tol else 2 if c > tol else 1]
            ax.plot(np.arange(len(curve)), curve, "-", color=color, lw=2)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_xlabel(f"{values[q]:.3g}", fontsize=7)
            if q == 0:
                ax.set_ylabel(f"{alphas[r]:.2g}", fontsize=7)
    note = " (larger batches: less noise)" if knob == "batch-size" else ""
    fig.supxlabel(f"{knob}{note}", fontsize=9)
    fig.supylabel(r"LeakyReLU slope $\alpha$ (1 = linear)", fontsize=9)
    fig.suptitle(
        f"load curves log D_l ({measure}) per cell; shading: test accuracy "
        f"{lo:.1%} (light) to {hi:.1%} (dark); red concave, yellow linear "
        f"(|c| <= {tol:.2g}), blue convex",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def accuracy_vs_spread_figure(spread: np.ndarray, accuracy: np.ndarray, rho: float, knob: str):
    """Cell-mean test accuracy against the spread v (0 = perfectly linear load curve)."""
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(spread.ravel(), accuracy.ravel(), s=18)
    ax.set_xlabel("spread v of the layer loads (0 = linear load curve)")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{knob}: Spearman rho(accuracy, v) = {rho:.2f}")
    fig.tight_layout()
    return fig


def curvature_maps_figure(
    alphas,
    values,
    knob: str,
    measured: np.ndarray,
    predicted: np.ndarray | None = None,
    title: str = "",
):
    """Measured (and, if given, predicted) curvature c over (knob value, alpha)."""
    panels = [("measured c (nets)", measured)]
    if predicted is not None:
        panels.append(("predicted c (spring-block model)", predicted))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4), squeeze=False)
    for ax, (name, data) in zip(axes[0], panels, strict=True):
        limit = float(np.nanmax(np.abs(data))) or 1.0
        mesh = ax.imshow(
            data, origin="lower", aspect="auto", cmap="RdBu", norm=TwoSlopeNorm(0.0, -limit, limit)
        )
        ax.set_xticks(range(len(values)), [f"{v:.3g}" for v in values], rotation=60, fontsize=7)
        ax.set_yticks(range(len(alphas)), [f"{a:.2g}" for a in alphas], fontsize=7)
        ax.set_xlabel(knob)
        ax.set_ylabel(r"$\alpha$")
        ax.set_title(name, fontsize=9)
        fig.colorbar(mesh, ax=ax)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
