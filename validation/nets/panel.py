"""One panel end to end: train (or resume) its nets, reduce over seeds, test the paper's
claims, draw the figures and write the results directory.

``OUT/results.nc`` holds the nets' labelled arrays (:func:`~springblock.validation.nets.
sweep.collect`) and the cell statistics (variables prefixed ``cell_``); ``OUT/results.json``
the summary below; the figures are PNG and PDF beside them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from springblock import results
from springblock.validation.nets import claims as claims_
from springblock.validation.nets import depth, sweep
from springblock.validation.nets.data import Dataset


@dataclass(frozen=True)
class Panel:
    """A finished panel: the spec, the nets and cell statistics (xarray), the payload."""

    spec: sweep.SweepSpec
    nets: object  # xarray.Dataset
    cells: object  # xarray.Dataset
    payload: dict


def best_cell(cells) -> dict | None:
    """The cell with the highest mean test accuracy."""
    import numpy as np

    acc = cells["test_accuracy_mean"].values
    if not np.isfinite(acc).any():
        return None
    i, j = np.unravel_index(np.nanargmax(acc), acc.shape)
    dim = [d for d in cells["test_accuracy_mean"].dims if d != "alpha"][0]
    return {
        "alpha": float(cells["alpha"][i]),
        "value": float(cells[dim][j]),
        "test_accuracy": float(acc[i, j]),
        "phase": claims_._phase_name(cells["phase"].values[i, j]),
    }


def summarise(spec: sweep.SweepSpec, nets, cells, data: Dataset) -> dict:
    """The JSON summary of a finished panel: counts, per-net records, claims."""
    count = sweep.counts(nets)
    payload = {
        "spec": spec.to_json(),
        "knob": spec.knob,
        "dataset": data.describe(),
        "training_subset": (
            f"one fixed subset of {data.x_train.shape[0]} training samples (data seed "
            f"{spec.data_seed}) shared by every net; seeds change initialisation and noise"
        ),
        "nets": count,
        "complete": sweep.is_complete(nets),
        "cells": sweep.records(nets),
        "best_cell": best_cell(cells),
    }
    if count["diverged"] or count["undefined"]:
        payload["excluded_note"] = (
            f"{count['diverged']} diverged and {count['undefined']} undefined nets are left out "
            "of every cell statistic (see each net's status)"
        )
    payload["claims"] = claims_.panel_claims(cells, spec.knob, data.num_classes)
    if spec.hessian:
        payload["curvature"] = curvature_summary(cells)
    if spec.knob == "depth":
        payload["load_by_depth"] = depth.summary(depth.load_by_depth(nets))
    if spec.checkpoints:
        payload["checkpoints"] = checkpoint_summary(cells)
    return payload


def checkpoint_summary(cells) -> dict:
    """Per checkpoint epoch, how many cells' mean load curve is concave, linear, convex
    or undefined (the one tolerance, :func:`springblock.theory.spring.phases.phase_index`),
    and the mean over cells of the normalised curvature."""
    from springblock.theory.spring import phases

    c_hat = cells["checkpoint_normalised_curvature_mean"]
    rows = []
    for k, epoch in enumerate(c_hat["checkpoint"].values):
        values = c_hat.isel(checkpoint=k).values
        index = phases.phase_index(values)
        counts = {name: int(np.sum(index == i)) for i, name in enumerate(phases.PHASES)}
        finite = values[np.isfinite(values)]
        rows.append(
            {
                "epoch": int(epoch),
                **counts,
                "undefined": int(np.sum(index < 0)),
                "mean_normalised_curvature": float(finite.mean()) if finite.size else None,
            }
        )
    return {"epochs": [r["epoch"] for r in rows], "classes": rows}


def curvature_summary(cells) -> dict:
    """The range of the cell means of the Hessian's top eigenvalue and trace (a panel
    measured with ``hessian``); None where no cell has an ok net."""

    def span(name):
        values = cells[f"{name}_mean"].values
        finite = values[np.isfinite(values)]
        if not finite.size:
            return None
        return {"min": float(finite.min()), "max": float(finite.max()), "cells": int(finite.size)}

    return {"top_eigenvalue": span("hessian_top_eigenvalue"), "trace": span("hessian_trace")}


def save_figures(spec: sweep.SweepSpec, nets, cells, payload: dict, out: Path) -> list[str]:
    from springblock.plotting import save
    from springblock.validation.nets import plots

    described = payload["dataset"]
    source = f"{described['name']}, {described['train_size']} training samples, {spec.seeds} seeds"
    cells = cells.assign_attrs(knob_dim=spec.dim)
    rho = payload["claims"]["accuracy_correlations"]["spread"]["rho"]
    paths = save(
        plots.panel_figure(nets, cells, spec.knob, title=source), out, f"panel_{spec.knob}"
    )
    paths += save(plots.maps_figure(cells, spec.knob, title=source), out, f"maps_{spec.knob}")
    paths += save(
        plots.accuracy_vs_spread_figure(cells, spec.knob, rho),
        out,
        f"accuracy_vs_spread_{spec.knob}",
    )
    if spec.hessian:
        paths += save(
            plots.hessian_figure(cells, spec.knob, title=source), out, f"hessian_{spec.knob}"
        )
    if spec.knob == "depth":
        paths += save(
            plots.depth_load_figure(depth.load_by_depth(nets), title=source), out, "load_by_depth"
        )
    if spec.checkpoints:
        paths += save(
            plots.checkpoints_figure(nets, cells, spec.knob, title=source),
            out,
            f"checkpoints_{spec.knob}",
        )
        gif = out / f"load_curves_{spec.knob}.gif"
        paths.append(str(plots.save_checkpoints_animation(nets, cells, spec.knob, gif, source)))
    return paths


def run_panel(
    spec: sweep.SweepSpec,
    out: Path,
    progress: Callable[[int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
    data: Dataset | None = None,
    execution=None,
) -> Panel:
    """Train (or resume) the panel ``spec`` into ``out`` and write its results directory."""
    import xarray as xr

    data = data or sweep.load_data(spec)
    started = time.perf_counter()
    nets = sweep.run(spec, out, data, progress, log, execution)
    cells = sweep.cell_statistics(nets)
    payload = summarise(spec, nets, cells, data)
    payload["wall_time_s"] = time.perf_counter() - started
    payload["store"] = nets.attrs["store"]
    payload["figures"] = save_figures(spec, nets, cells, payload, out)
    merged = xr.merge([nets, cells.rename({name: f"cell_{name}" for name in cells.data_vars})])
    merged.attrs = nets.attrs
    results.write_results(out, payload, merged)
    return Panel(spec, nets, cells, payload)
