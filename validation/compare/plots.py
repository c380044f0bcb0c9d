"""Figures of the theory-vs-nets comparison: measured and predicted maps side by side, the
model's load curve over the nets' in every cell, and the fitted maps within their bounds;
and the labelled arrays of the predictions."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from springblock.plotting import PHASE_COLORS, plt
from springblock.theory.spring import phases
from springblock.validation.compare import fit

MAP_SPLITS = (
    ("checkerboard", "checkerboard (interpolation)"),
    ("leave_one_alpha_out", "leave one alpha row out"),
    ("leave_one_knob_out", "leave one knob column out"),
)


def _grid(panel, flat_values):
    return np.asarray(flat_values).reshape(panel.grid)


def maps_figure(panel, predictions: dict):
    """Measured normalised curvature and the held-out predictions of every split."""
    maps = [("nets (measured)", panel.c)] + [
        (f"model, {label}", _grid(panel, predictions[name][0])) for name, label in MAP_SPLITS
    ]
    finite = np.concatenate([m[np.isfinite(m)] for _, m in maps])
    limit = float(np.max(np.abs(finite))) if finite.size else 1.0
    fig, axes = plt.subplots(1, len(maps), figsize=(4.2 * len(maps), 3.8), squeeze=False)
    for ax, (title, data) in zip(axes[0], maps, strict=True):
        image = ax.imshow(
            data, aspect="auto", cmap="RdBu", norm=TwoSlopeNorm(0.0, -limit or -1, limit or 1)
        )
        linear = phases.phase_index(data) == phases.PHASES.index("linear")
        rr, qq = np.nonzero(linear)
        ax.plot(qq, rr, "s", mfc="none", mec="k", ms=7, lw=0.5)
        ax.set_xticks(
            range(len(panel.values)), [f"{v:.3g}" for v in panel.values], rotation=60, fontsize=7
        )
        ax.set_yticks(range(len(panel.alphas)), [f"{a:.2g}" for a in panel.alphas], fontsize=7)
        ax.set_xlabel(panel.knob)
        ax.set_ylabel(r"$\alpha$")
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=axes[0].tolist(), label="c / total load")
    fig.suptitle("normalised curvature; squares: linear cells (|c| <= tolerance)", fontsize=9)
    return fig


def curves_figure(panel, predictions: dict):
    """Per cell, the nets' mean load curve (1 - cumulative fraction of the total load) and
    the model's (fit on every cell of the panel), alpha = 0 at the top."""
    rows, cols = panel.grid
    d_model = predictions["full"][2].reshape(rows, cols, -1)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(1.25 * cols + 1.6, 1.05 * rows + 1.2),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    depths = panel.column_depths
    for r in range(rows):
        for q in range(cols):
            ax = axes[r, q]
            loads = int(depths[q]) - 1  # a depth panel's columns: each its own nets' loads
            nets = panel.shape[r, q, :loads]
            if np.all(np.isfinite(nets)):
                curve = 1.0 - np.concatenate([[0.0], np.cumsum(nets)])
                k = phases.phase_index(panel.c[r, q])
                ax.plot(curve, "-", color=PHASE_COLORS[k] if k >= 0 else "0.5", lw=2)
            model = 1.0 - np.concatenate([[0.0], np.cumsum(d_model[r, q, :loads])])
            ax.plot(np.linspace(0, len(nets), model.size), model, "k--", lw=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == rows - 1:
                ax.set_xlabel(f"{panel.values[q]:.3g}", fontsize=7)
            if q == 0:
                ax.set_ylabel(f"{panel.alphas[r]:.2g}", fontsize=7)
    fig.supxlabel(panel.knob, fontsize=9)
    fig.supylabel(r"$\alpha$", fontsize=9)
    fig.suptitle(
        "load curves as fractions of the total load: nets (coloured by class) and the "
        "spring-block model fitted to the panel (dashed)",
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def maps_of_fit(entry: dict, table, panel):
    """The fitted friction map mu_R(alpha) and noise map sigma(u) within their bounds."""
    params = entry["fit"]["parameters"]
    knob = panel.knob
    alpha = np.linspace(0, 1, 101)
    shared = (params["friction"], params["friction_floor"], params["friction_exponent"])

    def mu_of(x):
        return fit.friction_map(x, *shared)

    u = np.linspace(0, 1, 101)
    per = [params[f"{n}[{knob}]"] for n in fit.PER_PANEL]
    log_max = np.log(table.spec.noise_max)

    def sigma_of(x):
        return np.exp(fit.noise_map(x, *per, log_max))

    mu, sigma = mu_of(alpha), sigma_of(u)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    axes[0].plot(alpha, mu, "k-")
    axes[0].axhspan(0, table.spec.mu_max, color="0.9", zorder=0, label="tabulated range")
    axes[0].plot(panel.alphas, mu_of(panel.alphas), "ko")
    axes[0].set_xlabel(r"LeakyReLU slope $\alpha$")
    axes[0].set_ylabel(r"friction $\mu_R$")
    axes[0].set_title(f"friction map (asymmetry mu_L/mu_R = {params['asymmetry']:.3g})", fontsize=9)
    axes[0].legend(fontsize=7)
    axes[1].semilogy(u, sigma, "k-")
    axes[1].axhspan(table.spec.noise_min, table.spec.noise_max, color="0.9", zorder=0)
    axes[1].plot(panel.u, sigma_of(panel.u), "ko")
    axes[1].set_xlabel(f"{knob} (scaled to [0, 1], noisier to the right)")
    axes[1].set_ylabel(r"noise $\sigma$")
    axes[1].set_title(
        f"noise map; time scale T0 = {np.exp(params['log_time_scale']):.3g}", fontsize=9
    )
    on_bound = entry["fit"]["on_bound"]
    if on_bound:
        fig.suptitle("on a bound: " + ", ".join(on_bound), fontsize=9, color="#c0392b")
    fig.tight_layout()
    return fig


def predictions_dataset(panel, predictions: dict):
    """Measured and predicted normalised c and v per cell, dims (alpha, knob), prefixed
    with the knob's dimension name."""
    import xarray as xr

    dims = ("alpha", panel.dim)
    prefix = panel.dim
    data = {
        f"{prefix}_measured_c": (
            dims,
            panel.c,
            {"nan_meaning": "undefined shape (no ok net gained separation)"},
        ),
        f"{prefix}_measured_v": (
            dims,
            panel.v,
            {"nan_meaning": "undefined shape (no ok net gained separation)"},
        ),
    }
    for name in ("full", *[s for s, _ in MAP_SPLITS]):
        c, v = predictions[name][0], predictions[name][1]
        meaning = "cell undefined in the nets, so not predicted"
        data[f"{prefix}_predicted_c_{name}"] = (dims, _grid(panel, c), {"nan_meaning": meaning})
        data[f"{prefix}_predicted_v_{name}"] = (dims, _grid(panel, v), {"nan_meaning": meaning})
    return xr.Dataset(data, coords={"alpha": panel.alphas, panel.dim: panel.values})


TRAJECTORY_FITS = (
    ("earlier_epochs", "model fitted on the last epoch", "-"),
    ("checkerboard", "model, cell held out (checkerboard)", "--"),
)


def trajectories_figure(ds, panel, name: str):
    """Small multiples, one per (alpha, knob value) cell: the nets' normalised ``name``
    (c or v) at each checkpoint with one standard error over seeds, and the model's
    held-out trajectories (:mod:`~springblock.validation.compare.trajectories`)."""
    dim = panel.dim
    rows, cols = panel.grid
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(2.2 * cols + 1, 1.7 * rows + 1),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    epochs = ds["epoch"].values
    for i in range(rows):
        for j in range(cols):
            ax = axes[i, j]
            cell = ds.isel(alpha=i, **{dim: j})
            ax.errorbar(
                epochs,
                cell[f"measured_{name}"],
                yerr=cell[f"measured_{name}_se"],
                fmt="o",
                ms=3,
                color="k",
                lw=0.8,
                label="nets",
            )
            for split, label, style in TRAJECTORY_FITS:
                ax.plot(
                    epochs,
                    cell["predicted_" + name].sel(fit=split),
                    style,
                    color="C0" if split == "earlier_epochs" else "C1",
                    lw=1.2,
                    label=label,
                )
            ax.axhline(0.0, color="0.7", lw=0.5)
            if i == 0:
                ax.set_title(f"{dim} = {panel.values[j]:g}", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"alpha = {panel.alphas[i]:g}\n{name} / total", fontsize=9)
            if i == rows - 1:
                ax.set_xlabel("epoch")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.suptitle(f"normalised {'curvature' if name == 'c' else 'spread'} through training")
    # The legend sits below the panels so it never meets the title.
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    return fig
