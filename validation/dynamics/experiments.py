"""The experiments of ``springblock dynamics``: runs, JSON summaries, labelled datasets and
saved results, for the validated settings of :mod:`springblock.validation.dynamics.config`.

* :class:`~springblock.validation.dynamics.config.TwoPointTask` and
  :class:`~springblock.validation.dynamics.config.XorTask`: MLPs trained on a pair
  (the authors' synthetic two points or two MNIST-1D samples) or on XOR's four points, at
  several initialisation gains from rich to lazy; each run is fitted by the van
  Rossem-Saxe pair equations and by the perturbed equations (negative controls), and every
  pair's final representation distance is predicted from its initial state
  (:func:`springblock.validation.dynamics.train.compare_pairs`).
* :class:`~springblock.validation.dynamics.config.DeepLinearTask`: gradient descent on a
  balanced deep linear net against the Saxe et al. mode solution
  (:func:`springblock.numerics.dynamics.solve.deep_linear`).

:func:`run_pairs` / :func:`run_linear` compute, :func:`pair_summary` /
:func:`linear_summary` give the JSON payload, :func:`pair_dataset` /
:func:`linear_dataset` the labelled arrays (dims ``gain``, ``pair``, ``step``,
``control``; ``mode``, ``step``), and :func:`save` writes ``results.nc``,
``results.json`` and the figures of :mod:`springblock.validation.dynamics.plots`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from springblock.validation.dynamics import train as dt
from springblock.validation.dynamics.config import DeepLinearTask, PairNets, regime

if TYPE_CHECKING:
    import xarray as xr

# --- pair experiments ------------------------------------------------------------------------


@dataclass(frozen=True)
class PairExperiment:
    """One :class:`~springblock.validation.dynamics.train.PairComparison` per gain."""

    task: PairNets
    comparisons: tuple[dt.PairComparison, ...]
    wall_time_s: float


def run_pairs(task: PairNets) -> PairExperiment:
    """Train a net per gain and compare it with the pair equations (module docstring)."""
    inputs, targets = task.points()
    started = time.perf_counter()
    comparisons = []
    for net in task.nets:
        run = dt.train_pairs(net, inputs, targets, seed=task.seed, records=task.samples)
        comparisons.append(dt.compare_pairs(run, controls=task.controls))
    return PairExperiment(task, tuple(comparisons), time.perf_counter() - started)


def _relative(measured: float, predicted: float) -> float:
    return predicted / measured - 1.0


def pair_summary(exp: PairExperiment) -> dict:
    """Per gain: regime, learning rate, final training loss, fitted rates and fit loss,
    whether Levenberg-Marquardt refined the grid point, control fits (loss and the ratio
    control loss / fit loss), and per pair the measured and closed-form final distance,
    their relative difference, and the rich limit sqrt(eta_h/eta_y dx2 dy2)."""
    runs = []
    for c, net in zip(exp.comparisons, exp.task.nets, strict=True):
        fit, run = c.fit, c.run
        ratio = fit.eta_h / fit.eta_y
        runs.append(
            {
                "gain": net.gain,
                "regime": regime(net.gain),
                "lr": net.lr,
                "final_loss": float(run.loss[-1]),
                "eta_h": fit.eta_h,
                "eta_y": fit.eta_y,
                "ratio": ratio,
                "fit_loss": fit.loss,
                "refined": fit.refined,
                "controls": {
                    name: {
                        "fit_loss": control.loss,
                        "over_theory": control.loss / fit.loss if fit.loss > 0 else math.inf,
                        "refined": control.refined,
                    }
                    for name, control in c.controls.items()
                },
                "pairs": [
                    {
                        "points": [int(i) for i in run.pairs[k]],
                        "fitted": bool(k in c.fitted),
                        "dx2": float(run.dx2[k]),
                        "dy2": float(run.dy2[k]),
                        "h0": float(run.h[k, 0]),
                        "y0": float(run.y[k, 0]),
                        "h_final_measured": float(c.final_measured[k]),
                        "h_final_predicted": float(c.final_predicted[k]),
                        "relative_error": _relative(
                            float(c.final_measured[k]), float(c.final_predicted[k])
                        ),
                        "rich_limit": math.sqrt(ratio * run.dx2[k] * run.dy2[k]),
                    }
                    for k in range(len(run.dx2))
                ],
            }
        )
    task = exp.task
    return {
        "task": task.name,
        "title": task.title,
        "config": task,
        "record_steps": exp.comparisons[0].run.times,
        "runs": runs,
        "wall_time_s": exp.wall_time_s,
    }


def pair_dataset(exp: PairExperiment) -> xr.Dataset:
    """Labelled arrays: measured h, y, w (gain, pair, step), the fitted equations'
    trajectories (NaN for pairs not fitted), training loss (gain, step), fitted rates and
    fit loss (gain), control fit losses (gain, control), final distances (gain, pair)."""
    import xarray as xr

    from springblock import results

    comparisons = exp.comparisons
    run0 = comparisons[0].run
    pairs, steps = run0.h.shape
    fitted_trajectories = np.full((len(comparisons), 3, pairs, steps), np.nan)
    for g, c in enumerate(comparisons):
        pred = c.fit.prediction
        for j, k in enumerate(c.fitted):
            fitted_trajectories[g, :, k] = (pred.h[j], pred.y[j], pred.w[j])
    measured = {
        name: (("gain", "pair", "step"), np.stack([getattr(c.run, name) for c in comparisons]))
        for name in ("h", "y", "w")
    }
    not_fitted = "pair not fitted (same target as another: no information on the rates)"
    fitted = {
        f"{name}_fit": (
            ("gain", "pair", "step"),
            fitted_trajectories[:, i],
            {"long_name": f"{name} of the fitted pair equations", "nan_meaning": not_fitted},
        )
        for i, name in enumerate(("h", "y", "w"))
    }
    per_gain = {
        "eta_h": [c.fit.eta_h for c in comparisons],
        "eta_y": [c.fit.eta_y for c in comparisons],
        "fit_loss": [c.fit.loss for c in comparisons],
        "lr": [net.lr for net in exp.task.nets],
    }
    variables = {
        **measured,
        **fitted,
        "loss": (("gain", "step"), np.stack([c.run.loss for c in comparisons])),
        **{name: ("gain", np.asarray(v)) for name, v in per_gain.items()},
        "refined": ("gain", np.array([c.fit.refined for c in comparisons])),
        "fitted": (
            ("gain", "pair"),
            np.array([np.isin(np.arange(pairs), c.fitted) for c in comparisons]),
        ),
        "dx2": ("pair", run0.dx2),
        "dy2": ("pair", run0.dy2),
        "h_final_measured": (("gain", "pair"), np.stack([c.final_measured for c in comparisons])),
        "h_final_predicted": (
            ("gain", "pair"),
            np.stack([c.final_predicted for c in comparisons]),
            {"long_name": "closed-form final distance from the initial state"},
        ),
    }
    coords = {
        "gain": ("gain", np.array([net.gain for net in exp.task.nets])),
        "regime": ("gain", [regime(net.gain) for net in exp.task.nets]),
        "pair": np.arange(pairs),
        "point_a": ("pair", run0.pairs[:, 0]),
        "point_b": ("pair", run0.pairs[:, 1]),
        "step": ("step", run0.times, {"long_name": "gradient-descent step"}),
    }
    if exp.task.controls:
        coords["control"] = ("control", list(exp.task.controls))
        variables["control_fit_loss"] = (
            ("gain", "control"),
            np.array([[c.controls[n].loss for n in exp.task.controls] for c in comparisons]),
        )
    return xr.Dataset(
        variables,
        coords=coords,
        attrs=results.provenance_attrs(f"dynamics-{exp.task.name}", exp.task),
    )


# --- deep linear networks ------------------------------------------------------------------


def crossing_time(times: np.ndarray, values: np.ndarray, level: float) -> float:
    """First time ``values`` reaches ``level`` (rising), linearly interpolated between the
    two samples around it; NaN if it never does."""
    above = np.flatnonzero(values >= level)
    if above.size == 0:
        return math.nan
    i = int(above[0])
    if i == 0:
        return float(times[0])
    t0, t1, v0, v1 = times[i - 1], times[i], values[i - 1], values[i]
    return float(t0 + (level - v0) * (t1 - t0) / (v1 - v0))


@dataclass(frozen=True)
class LinearExperiment:
    """Measured mode strengths (modes, records + 1) and the theory at the same times."""

    task: DeepLinearTask
    run: dt.LinearRun
    theory: np.ndarray
    wall_time_s: float

    @property
    def time(self) -> np.ndarray:
        """Time in units of tau: steps x lr."""
        return self.run.times * self.task.lr

    @property
    def error(self) -> np.ndarray:
        return np.abs(self.run.strengths - self.theory)


def run_linear(task: DeepLinearTask) -> LinearExperiment:
    """Gradient descent and the mode solution (closed form for D <= 2, diffrax otherwise)."""
    from springblock.numerics.dynamics import solve as ds

    started = time.perf_counter()
    run = dt.train_deep_linear(
        task.singular_values,
        u0=task.u0,
        depth=task.depth,
        lr=task.lr,
        steps=task.steps,
        seed=task.seed,
        records=task.records,
    )
    theory = ds.deep_linear(run.times * task.lr, run.singular_values, task.u0, 1.0, task.depth)
    return LinearExperiment(task, run, theory, time.perf_counter() - started)


def _half_times(exp: LinearExperiment) -> dict[str, np.ndarray]:
    from springblock.numerics.dynamics import solve as ds

    s = exp.run.singular_values
    closed = np.full(s.shape, np.nan)
    below = s / 2 > exp.task.u0  # a mode that starts above s/2 has no time to reach it
    if exp.task.depth == 2 and below.any():
        closed[below] = ds.learning_time(s[below], exp.task.u0, s[below] / 2)

    def halves(curves: np.ndarray) -> np.ndarray:
        return np.array([crossing_time(exp.time, u, v / 2) for u, v in zip(curves, s, strict=True)])

    return {
        "measured": halves(exp.run.strengths),
        "theory": halves(exp.theory),
        "closed_form": closed,
    }


def linear_summary(exp: LinearExperiment) -> dict:
    """Largest |u_GD - u_theory| per mode and overall (absolute, and relative to the
    largest s), and the time to s/2: measured on gradient descent and on the theory curve
    (both interpolated between the same records) and, for D = 2, in closed form. A null
    time means that the mode did not reach s/2 in the run (or, for the closed form, that
    the depth has none)."""
    half = _half_times(exp)
    error = exp.error
    s = exp.run.singular_values
    return {
        "config": exp.task,
        "time_unit": "steps x lr (tau = 1)",
        "modes": [
            {
                "s": float(sv),
                "max_abs_error": float(error[a].max()),
                "half_time_measured": float(half["measured"][a]),
                "half_time_theory": float(half["theory"][a]),
                "half_time_closed_form": float(half["closed_form"][a]),
            }
            for a, sv in enumerate(s)
        ],
        "max_abs_error": float(error.max()),
        "max_relative_error": float(error.max() / s.max()),
        "null_times": "the mode did not reach s/2 within the run; closed form: depth != 2 "
        "(no closed form) or u0 >= s/2",
        "wall_time_s": exp.wall_time_s,
    }


def linear_dataset(exp: LinearExperiment) -> xr.Dataset:
    """Labelled arrays: measured and predicted u (mode, step), times to s/2 (mode)."""
    import xarray as xr

    from springblock import results

    half = _half_times(exp)
    not_reached = "the mode did not reach s/2 within the run"
    return xr.Dataset(
        {
            "u_measured": (("mode", "step"), exp.run.strengths, {"long_name": "gradient descent"}),
            "u_theory": (("mode", "step"), exp.theory, {"long_name": "Saxe et al. mode solution"}),
            "half_time_measured": ("mode", half["measured"], {"nan_meaning": not_reached}),
            "half_time_theory": ("mode", half["theory"], {"nan_meaning": not_reached}),
            "half_time_closed_form": (
                "mode",
                half["closed_form"],
                {"nan_meaning": "no closed form (depth != 2), or u0 >= s/2"},
            ),
        },
        coords={
            "mode": np.arange(exp.run.singular_values.size),
            "singular_value": ("mode", exp.run.singular_values),
            "step": exp.run.times,
            "time": ("step", exp.time, {"long_name": "steps x lr (tau = 1)"}),
        },
        attrs={
            **results.provenance_attrs("dynamics-linear", exp.task),
            "depth": exp.task.depth,
        },
    )


# --- saving ----------------------------------------------------------------------------------


def save(exp: PairExperiment | LinearExperiment, out: Path) -> list[str]:
    """Write the figures, ``out/results.nc`` and ``out/results.json``; return the figures."""
    from springblock import results
    from springblock.plotting import save as save_figure
    from springblock.validation.dynamics import plots

    if isinstance(exp, LinearExperiment):
        paths = save_figure(plots.linear_figure(exp), out, figure_name(exp))
        payload, dataset = linear_summary(exp), linear_dataset(exp)
    else:
        paths = save_figure(plots.trajectory_figure(exp), out, figure_name(exp))
        if len(exp.comparisons[0].run.dx2) > 1:  # several pairs: final distances per pair
            paths += save_figure(plots.distance_figure(exp), out, f"{figure_name(exp)}_final")
        payload, dataset = pair_summary(exp), pair_dataset(exp)
    results.write_results(out, payload | {"figures": paths}, dataset)
    return paths


def figure_name(exp: PairExperiment | LinearExperiment) -> str:
    """``dynamics_<task>``; the deep linear figure carries its depth unless it is 2."""
    if isinstance(exp, LinearExperiment):
        return "dynamics_linear" + ("" if exp.task.depth == 2 else f"_depth{exp.task.depth}")
    return f"dynamics_{exp.task.name}"
