"""Figures of trained-net panels: the paper-style grid of load curves, maps of accuracy and
curvature with the linear band outlined, and accuracy against the spread.

All take the cell statistics of :func:`springblock.validation.nets.sweep.cell_statistics`
(and, for the grid, the nets' labelled results), so the classes drawn are those of the one
tolerance :data:`springblock.theory.spring.phases.LINEAR_TOLERANCE`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from springblock.plotting import PHASE_COLORS, plt
from springblock.theory.spring import phases


def _axes_values(cells):
    dim = cells.attrs.get("knob_dim") or [d for d in cells["n_ok"].dims if d != "alpha"][0]
    return cells["alpha"].values, cells[dim].values, dim


def _knob_label(knob: str) -> str:
    return {
        "batch-size": "batch-size (larger batches: less noise)",
        "width": "hidden width",
        "depth": "depth (Linear layers)",
    }.get(knob, knob)


ALPHA_LABEL = r"LeakyReLU slope $\alpha$ (0 = ReLU, 1 = linear)"


def _cell_grid(alphas, values, knob: str, size, alpha_label: str = ALPHA_LABEL):
    """One bare axes per (alpha, value) cell, alpha down the rows and the knob across,
    labelled on the outer edge; ``size`` the inches per column and row and the margins
    (w, h, extra w, extra h)."""
    rows, cols = len(alphas), len(values)
    w, h, extra_w, extra_h = size
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(w * cols + extra_w, h * rows + extra_h),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for r in range(rows):
        for q in range(cols):
            ax = axes[r, q]
            ax.set_xticks([])
            ax.set_yticks([])
            if r == rows - 1:
                ax.set_xlabel(f"{values[q]:.3g}", fontsize=7)
            if q == 0:
                ax.set_ylabel(f"{alphas[r]:.2g}", fontsize=7)
    fig.supxlabel(_knob_label(knob), fontsize=9)
    fig.supylabel(alpha_label, fontsize=9)
    return fig, axes


def panel_figure(nets, cells, knob: str, title: str = ""):
    """The paper's panel: one small load curve log D_l (mean over the cell's ok nets) per
    (alpha, value) cell, alpha = 0 (ReLU) at the top as in the paper's figure, the
    background shaded by test accuracy, the curve coloured by class (red concave, yellow
    linear, blue convex); a dashed curve marks a cell whose seeds do not resolve the sign
    of c, a cross a cell without any ok net."""
    alphas, values, dim = _axes_values(cells)
    rows, cols = len(alphas), len(values)
    fig, axes = _cell_grid(alphas, values, knob, (1.25, 1.05, 1.6, 1.2))
    accuracy = cells["test_accuracy_mean"].values
    finite = accuracy[np.isfinite(accuracy)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    ok = nets["status"] == 0
    mean_curve = nets["load_curve"].where(ok).mean("seed").values
    phase = cells["phase"].values
    resolved = cells["sign_resolved"].values
    for r in range(rows):
        for q in range(cols):
            ax = axes[r, q]
            acc = accuracy[r, q]
            shade = 0.05 + 0.5 * (acc - lo) / (hi - lo) if hi > lo and np.isfinite(acc) else 0.02
            ax.set_facecolor(plt.cm.Greys(shade))
            curve = mean_curve[r, q]
            if np.all(np.isnan(curve)):
                ax.plot([0, 1], [0, 1], "x", color="k", transform=ax.transAxes)
            else:
                color = PHASE_COLORS[phase[r, q]] if phase[r, q] >= 0 else "0.5"
                style = "-" if resolved[r, q] else "--"
                ax.plot(np.arange(curve.size), curve, style, color=color, lw=2)
    fig.suptitle(
        (title + "\n" if title else "")
        + f"load curves log D_l; shading: test accuracy {lo:.1%} (light) to {hi:.1%} (dark); "
        f"red concave, yellow linear (|c|/total <= {phases.LINEAR_TOLERANCE:g}), blue convex; "
        "dashed: sign of c not resolved by the seeds",
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def _outline_band(ax, phase: np.ndarray) -> None:
    """Draw the outline of the linear cells of an imshow'd (alpha, value) map."""
    linear = phase == phases.PHASES.index("linear")
    rows, cols = linear.shape
    for r in range(rows):
        for q in range(cols):
            if not linear[r, q]:
                continue
            for dr, dq, xs, ys in (
                (-1, 0, (q - 0.5, q + 0.5), (r - 0.5, r - 0.5)),
                (1, 0, (q - 0.5, q + 0.5), (r + 0.5, r + 0.5)),
                (0, -1, (q - 0.5, q - 0.5), (r - 0.5, r + 0.5)),
                (0, 1, (q + 0.5, q + 0.5), (r - 0.5, r + 0.5)),
            ):
                rr, qq = r + dr, q + dq
                if not (0 <= rr < rows and 0 <= qq < cols and linear[rr, qq]):
                    ax.plot(xs, ys, color="k", lw=1.8)


def maps_figure(cells, knob: str, predicted: np.ndarray | None = None, title: str = ""):
    """Maps over (knob value, alpha) of the mean test accuracy and of the normalised
    curvature (and, if given, a predicted curvature map), the linear band outlined; a dot
    marks cells whose seeds do not resolve the sign of c."""
    alphas, values, _ = _axes_values(cells)
    c_hat = cells["normalised_curvature_mean"].values
    phase = cells["phase"].values
    panels = [
        ("test accuracy (mean over seeds)", cells["test_accuracy_mean"].values, "viridis"),
        ("normalised curvature c / total load (nets)", c_hat, "RdBu"),
    ]
    if predicted is not None:
        panels.append(("predicted normalised curvature (model)", predicted, "RdBu"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 4.2), squeeze=False)
    unresolved = ~cells["sign_resolved"].values
    for ax, (name, data, cmap) in zip(axes[0], panels, strict=True):
        if cmap == "RdBu":
            limit = float(np.nanmax(np.abs(data))) if np.isfinite(data).any() else 1.0
            limit = limit or 1.0
            image = ax.imshow(data, aspect="auto", cmap=cmap, norm=TwoSlopeNorm(0.0, -limit, limit))
        else:
            image = ax.imshow(data, aspect="auto", cmap=cmap)
        _outline_band(ax, phase)
        rr, qq = np.nonzero(unresolved)
        ax.plot(qq, rr, ".", color="k", ms=4)
        ax.set_xticks(range(len(values)), [f"{v:.3g}" for v in values], rotation=60, fontsize=7)
        ax.set_yticks(range(len(alphas)), [f"{a:.2g}" for a in alphas], fontsize=7)
        ax.set_xlabel(_knob_label(knob))
        ax.set_ylabel(r"$\alpha$")
        ax.set_title(name, fontsize=9)
        fig.colorbar(image, ax=ax)
    fig.suptitle(
        (title + ": " if title else "")
        + "black outline: linear band of the nets; dots: sign of c not resolved by the seeds",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def accuracy_vs_spread_figure(cells, knob: str, rho: float | None):
    """Cell-mean test accuracy against the spread v (0 = perfectly linear load curve),
    coloured by the cell's class."""
    fig, ax = plt.subplots(figsize=(5, 4))
    phase = cells["phase"].values.ravel()
    colors = [PHASE_COLORS[p] if p >= 0 else "0.5" for p in phase]
    ax.scatter(
        cells["spread_mean"].values.ravel(),
        cells["test_accuracy_mean"].values.ravel(),
        s=20,
        c=colors,
        edgecolors="k",
        linewidths=0.3,
    )
    ax.set_xlabel("spread v of the layer loads (0 = linear load curve)")
    ax.set_ylabel("test accuracy (cell mean)")
    shown = "undefined" if rho is None else f"{rho:+.2f}"
    ax.set_title(f"{knob}: Spearman rho(accuracy, v) = {shown} (cells that learned)", fontsize=9)
    fig.tight_layout()
    return fig


def hessian_figure(cells, knob: str, title: str = ""):
    """The loss curvature against the knob, one line per alpha: the Hessian's top
    eigenvalue and its trace (cell means over ok nets, error bars one standard error over
    seeds; log scale where every mean is positive)."""
    alphas, values, dim = _axes_values(cells)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(alphas)))
    for ax, name, label in zip(
        axes,
        ("hessian_top_eigenvalue", "hessian_trace"),
        ("top Hessian eigenvalue", "Hessian trace"),
        strict=True,
    ):
        mean = cells[f"{name}_mean"].values
        sem = np.nan_to_num(cells[f"{name}_sem"].values)
        for i, alpha in enumerate(alphas):
            ax.errorbar(
                values,
                mean[i],
                yerr=sem[i],
                color=colors[i],
                marker="o",
                ms=3,
                capsize=2,
                label=f"alpha = {alpha:g}",
            )
        if np.all(np.isfinite(mean) & (mean > 0)):
            ax.set_yscale("log")
        if knob in ("batch-size", "learning-rate", "width"):
            ax.set_xscale("log")
        ax.set_xlabel(_knob_label(knob))
        ax.set_ylabel(f"{label} (cell mean)")
    axes[1].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def depth_load_figure(by_depth, title: str = ""):
    """How the load distributes as depth grows (a depth panel, :func:`springblock.
    validation.nets.depth.load_by_depth`): top, the deep share (load in the deeper half of
    the layers) against depth, a line per alpha, 1/2 = linear load curve; below, one axis
    per alpha, each depth's mean load fractions times (D - 1) (1 = equal loads) at the
    loads' relative depth."""
    alphas = by_depth["alpha"].values
    depths = by_depth["depth"].values
    fig = plt.figure(figsize=(max(8.0, 2.2 * len(alphas)), 6.2))
    grid = fig.add_gridspec(2, len(alphas))
    top = fig.add_subplot(grid[0, :])
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(alphas)))
    for i, alpha in enumerate(alphas):
        top.errorbar(
            depths,
            by_depth["deep_share_mean"].values[i],
            yerr=np.nan_to_num(by_depth["deep_share_sem"].values[i]),
            color=colors[i],
            marker="o",
            ms=3,
            capsize=2,
            label=f"alpha = {alpha:g}",
        )
    top.axhline(0.5, color="k", ls=":", lw=1)
    top.set_xlabel("depth D (Linear layers)")
    top.set_ylabel("load share of the deeper half")
    top.legend(fontsize=7, ncol=min(len(alphas), 6))
    shades = plt.cm.plasma(np.linspace(0, 0.85, len(depths)))
    fractions = by_depth["load_fraction_mean"].values
    for i, alpha in enumerate(alphas):
        ax = fig.add_subplot(grid[1, i], sharey=None if i == 0 else fig.axes[1])
        for j, depth in enumerate(depths):
            loads = int(depth) - 1
            position = (np.arange(1, loads + 1) - 0.5) / loads
            ax.plot(
                position, fractions[i, j, :loads] * loads, color=shades[j], label=f"D={depth:g}"
            )
        ax.axhline(1.0, color="k", ls=":", lw=1)
        ax.set_title(f"alpha = {alpha:g}", fontsize=8)
        ax.set_xlabel("relative depth of the load", fontsize=8)
        if i == 0:
            ax.set_ylabel("load x (D - 1)  (1 = equal loads)", fontsize=8)
    fig.axes[-1].legend(fontsize=6)
    fig.suptitle(
        (title + "\n" if title else "")
        + "mean over nets with a defined load-curve shape; error bars one standard error",
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def _checkpoint_curves(nets):
    """Mean load curves over the ok nets at every checkpoint, (alpha, value, checkpoint,
    layer), and their common y-range."""
    ok = nets["status"] == 0
    curves = nets["checkpoint_load_curve"].where(ok).mean("seed").values
    finite = curves[np.isfinite(curves)]
    limits = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    return curves, limits


def checkpoints_figure(nets, cells, knob: str, title: str = ""):
    """The load curve through training, as small multiples: per (alpha, value) cell the
    mean load curve log D_l after each checkpoint epoch, light (early) to dark (late); the
    grid is the panel's (alpha = 0 at the top)."""
    alphas, values, _ = _axes_values(cells)
    epochs = nets["checkpoint"].values
    curves, limits = _checkpoint_curves(nets)
    rows, cols = len(alphas), len(values)
    fig, axes = _cell_grid(alphas, values, knob, (1.25, 1.05, 1.6, 1.4))
    shades = plt.cm.Blues(np.linspace(0.3, 1.0, len(epochs)))
    for r in range(rows):
        for q in range(cols):
            ax = axes[r, q]
            for k in range(len(epochs)):
                curve = curves[r, q, k]
                ax.plot(np.arange(curve.size), curve, color=shades[k], lw=1.2)
            ax.set_ylim(*limits)
    fig.suptitle(
        (title + "\n" if title else "")
        + f"load curves log D_l after epochs {', '.join(str(int(e)) for e in epochs)} "
        "(light to dark), mean over the cell's ok nets",
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def save_checkpoints_animation(nets, cells, knob: str, path, title: str = "", fps: int = 2):
    """An animated GIF (matplotlib's Pillow writer) of the panel's load curves, one frame
    per checkpoint epoch, each curve coloured by its cell's class at that epoch (red
    concave, yellow linear, blue convex; grey: undefined); returns ``path``."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    alphas, values, _ = _axes_values(cells)
    epochs = nets["checkpoint"].values
    curves, limits = _checkpoint_curves(nets)
    c_hat = cells["checkpoint_normalised_curvature_mean"].values  # (alpha, value, checkpoint)
    rows, cols = len(alphas), len(values)
    fig, axes = _cell_grid(alphas, values, knob, (1.1, 0.95, 1.4, 1.2), r"$\alpha$")
    lines = {}
    for r in range(rows):
        for q in range(cols):
            ax = axes[r, q]
            (lines[r, q],) = ax.plot([], [], lw=2)
            ax.set_xlim(0, curves.shape[-1] - 1)
            ax.set_ylim(*limits)
    heading = fig.suptitle("", fontsize=8)

    def draw(k):
        for (r, q), line in lines.items():
            curve = curves[r, q, k]
            line.set_data(np.arange(curve.size), curve)
            phase = phases.phase_index(np.array([c_hat[r, q, k]]))[0]
            line.set_color(PHASE_COLORS[phase] if phase >= 0 else "0.5")
        heading.set_text(
            (title + "\n" if title else "") + f"load curves log D_l after epoch {int(epochs[k])}"
        )
        return list(lines.values())

    fig.tight_layout()
    path = Path(path)
    partial = path.with_name(path.stem + ".partial.gif")  # written whole, then renamed
    FuncAnimation(fig, draw, frames=len(epochs), blit=False).save(
        str(partial), writer=PillowWriter(fps=fps)
    )
    plt.close(fig)
    os.replace(partial, path)
    return path
