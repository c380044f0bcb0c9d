"""Figures of the learning curves: spectra, predicted and measured curves, tuning.

Matplotlib comes through :mod:`springblock.plotting` (no display needed); the ``save_*``
functions write PNG and PDF with :func:`springblock.plotting.save` and return the paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from springblock.plotting import plt, save

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from springblock.numerics.curves.prediction import PredictedCurves
    from springblock.numerics.curves.solve import Prediction, Spectrum
    from springblock.numerics.curves.tune import Tuning
    from springblock.validation.curves.compare import Comparison

#: The three predictions: line style and legend.
PREDICTION_STYLES = {
    "self_consistent": ("k-", "self-consistent E_g"),
    "equivalent_kernel": ("C0--", "equivalent kernel"),
    "ek_corrected": ("C2-.", "EK + 1/N correction"),
}
#: Eigenvalues below this fraction of the largest are the quadrature's rounding of exact
#: zeros (odd degrees of even kernels), not spectrum: left out of the log plot.
ROUNDING_FLOOR = 1e-12


def curve_figure(
    n: np.ndarray,
    prediction: Prediction,
    measured: Mapping[str, tuple[np.ndarray, np.ndarray, str]] | None = None,
    title: str = "",
) -> Figure:
    """Test error against N on log axes: the three predictions as lines, each measured
    curve (label -> (mean, SEM, marker format)) as points with error bars."""
    fig, ax = plt.subplots(figsize=(6, 4.3))
    for key, (style, label) in PREDICTION_STYLES.items():
        ax.plot(n, getattr(prediction, key), style, label=label)
    for label, (mean, err, fmt) in (measured or {}).items():
        ax.errorbar(n, mean, yerr=err, fmt=fmt, capsize=3, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training samples N")
    ax.set_ylabel("test error E (f - g)^2")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def spectrum_figure(spectrum: Spectrum, title: str) -> Figure:
    """Eigenvalue lambda_l against degree l (log scale; rounding-level values omitted)."""
    fig, ax = plt.subplots(figsize=(5, 3.6))
    lam = spectrum.eigenvalues
    keep = lam > ROUNDING_FLOOR * lam.max()
    ax.semilogy(np.arange(len(lam))[keep], lam[keep], "o", ms=3)
    ax.set_xlabel("degree l")
    ax.set_ylabel("eigenvalue lambda_l (multiplicity N(d, l))")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def comparison_figure(c: Comparison) -> Figure:
    """The predictions with kernel regression (and the trained nets) laid over them."""
    n = np.asarray(c.config.n)
    measured = {
        f"kernel regression ({c.config.datasets} datasets)": (
            c.measured.mean,
            c.measured.sem,
            "ko",
        )
    }
    if c.nets is not None and c.config.nets is not None:
        measured[f"trained nets (width {c.config.nets.width})"] = (c.nets.mean, c.nets.sem, "rs")
    return curve_figure(n, c.prediction, measured, c.config.kernel.label())


def tune_figure(tuning: Tuning) -> Figure:
    """The band from the best to the median predicted error over the grid, and the curve of
    each setting that is best at some N."""
    n = np.asarray(tuning.config.n)
    error = tuning.self_consistent.reshape(-1, len(n))
    fig, ax = plt.subplots(figsize=(6.5, 4.3))
    ax.fill_between(
        n,
        np.nanmin(error, axis=0),
        np.nanmedian(error, axis=0),
        color="0.85",
        label="best to median over the grid",
    )
    for index in dict.fromkeys(tuning.best()):
        s = tuning.setting(index)
        ax.plot(
            n,
            tuning.self_consistent[index],
            "o-",
            label=f"depth {s['depth']}, C_W {s['weight']:g}, C_b {s['bias']:g}, "
            f"ridge {s['ridge']:g}",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training samples N")
    ax.set_ylabel("predicted E_g (self-consistent)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def save_prediction(result: PredictedCurves, out: Path, prefix: str = "curves") -> list[str]:
    """``{prefix}_predict`` (curves) and ``{prefix}_spectrum`` in ``out``."""
    title = result.config.kernel.label()
    n = np.asarray(result.config.n)
    return [
        *save(curve_figure(n, result.prediction, title=title), out, f"{prefix}_predict"),
        *save(spectrum_figure(result.spectrum, title), out, f"{prefix}_spectrum"),
    ]


def save_comparison(c: Comparison, out: Path, name: str = "curves_compare") -> list[str]:
    return save(comparison_figure(c), out, name)


def save_tuning(tuning: Tuning, out: Path, name: str = "curves_tune") -> list[str]:
    return save(tune_figure(tuning), out, name)
