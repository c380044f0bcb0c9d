"""Figures of the representation-dynamics experiments
(:mod:`springblock.validation.dynamics.experiments`): measured pair trajectories against
the fitted pair equations, measured against predicted final distances per pair, and deep
linear mode strengths against the Saxe et al. solution."""

from __future__ import annotations

from typing import TYPE_CHECKING

from springblock.plotting import plt

if TYPE_CHECKING:
    from springblock.validation.dynamics.experiments import LinearExperiment, PairExperiment


def trajectory_figure(exp: PairExperiment, pair: int = 0):
    """One row per gain: h, y and w of the ``pair``-th fitted pair, the trained net (dots)
    and the fitted equations (line), with the closed-form final h (dotted)."""
    from springblock.validation.dynamics.experiments import regime

    rows = len(exp.comparisons)
    fig, axes = plt.subplots(rows, 3, figsize=(11, 2.6 * rows), squeeze=False)
    for row, (c, net) in enumerate(zip(exp.comparisons, exp.task.nets, strict=True)):
        run, pred = c.run, c.fit.prediction
        j = min(pair, len(c.fitted) - 1)
        k = int(c.fitted[j])
        for col, (name, measured, predicted) in enumerate(
            (("h", run.h[k], pred.h[j]), ("y", run.y[k], pred.y[j]), ("w", run.w[k], pred.w[j]))
        ):
            ax = axes[row, col]
            ax.plot(run.times, measured, "k.", ms=3, label="trained net")
            ax.plot(pred.times, predicted, "r-", lw=1.2, label="pair equations (fit)")
            ax.set_xlabel("step")
            ax.set_ylabel(name)
            if col == 0:
                ax.axhline(
                    c.final_predicted[k], color="b", ls=":", lw=1, label="closed-form final h"
                )
                ax.set_title(
                    f"gain {net.gain:g} ({regime(net.gain)}): eta_h={c.fit.eta_h:.3g},"
                    f" eta_y={c.fit.eta_y:.3g}, fit loss {c.fit.loss:.1e}",
                    fontsize=8,
                )
                ax.legend(fontsize=7)
    fig.suptitle(exp.task.title, fontsize=9)
    fig.tight_layout()
    return fig


def distance_figure(exp: PairExperiment):
    """One panel per gain: measured against closed-form final distance of every pair
    (red: different targets, blue: same target), with the diagonal."""
    from springblock.validation.dynamics.experiments import regime

    panels = len(exp.comparisons)
    fig, axes = plt.subplots(1, panels, figsize=(3.8 * panels, 3.6), squeeze=False)
    for ax, c, net in zip(axes[0], exp.comparisons, exp.task.nets, strict=True):
        colors = ["C3" if d > 0 else "C0" for d in c.run.dy2]
        ax.scatter(c.final_predicted, c.final_measured, c=colors, s=25)
        top = max(c.final_measured.max(), c.final_predicted.max()) * 1.1
        ax.plot([0, top], [0, top], "k:", lw=1)
        ax.set_xlabel("predicted final h (closed form)")
        ax.set_ylabel("measured final h")
        ax.set_title(f"gain {net.gain:g} ({regime(net.gain)}); blue: same target", fontsize=8)
    fig.tight_layout()
    return fig


def linear_figure(exp: LinearExperiment):
    """Mode strengths u(t) of gradient descent (dots) and the theory (lines)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for a, s in enumerate(exp.run.singular_values):
        ax.plot(exp.time, exp.run.strengths[a], ".", ms=3, color=f"C{a}")
        ax.plot(exp.time, exp.theory[a], "-", lw=1, color=f"C{a}", label=f"s={s:g}")
    ax.set_xlabel("time t = steps x lr")
    ax.set_ylabel("mode strength u")
    ax.set_title(f"depth {exp.task.depth}: gradient descent (dots) vs theory (lines)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
