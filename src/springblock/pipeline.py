"""The main job: theory -> simulated model -> trained nets -> comparison -> one HTML report.

Each stage's result is stored under ``OUT/stages/<stage>.json`` with the digest of what
produced it (parameters, springblock version, data content) and the versions of the
libraries that computed it; a rerun with the same digest reuses it. The long stages (the
model grid, the nets) keep their own stores, so an interrupted run resumes where it
stopped. A failing stage stops the run with its name and the error; the stages before it
stay on disk. The pipeline calls library functions only; the CLI (``springblock run``)
is a shell over :func:`run`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from springblock import results
from springblock.numerics.spring.phase_diagram import PhaseDiagramSpec
from springblock.numerics.spring.table import MODELS, TableSpec, default_spec
from springblock.params import ParameterError
from springblock.validation.nets.sweep import PAPER_VALUES, SweepSpec, check_arch

PRESETS = ("quick", "paper")
DEFAULT_OUT = Path("springblock-results") / "run"

#: The quick preset's panels: knob -> values (five each, the fewest a panel should have;
#: docs/results/run.json records how long the whole run takes).
QUICK_VALUES = {
    "data-noise": (0.0, 0.2, 0.4, 0.6, 0.8),
    "dropout": (0.0, 0.08, 0.16, 0.24, 0.32),
}
QUICK_SEEDS = 2
#: Epochs of the quick preset's nets: the paper's 100. Measured on 2 cores: fewer epochs
#: fit 5 minutes (50: 5.4 minutes, 40: 4.9) but leave the nets undertrained, and the
#: regimes go with them: at 40 epochs no data-noise cell and one dropout cell is concave,
#: the ReLU, noiseless corner convex. So the quick preset keeps the
#: paper's protocol per net and takes longer (docs/results/run.json records its time).
QUICK_EPOCHS = 100
#: Permutations of the quick preset's theory-vs-nets tests (p-values resolve 1/31); the
#: paper preset uses 200.
QUICK_PERMUTATIONS = 30
#: The quick preset's model grid (friction x noise cells, seeds per cell).
QUICK_MODEL_GRID = {"mu_points": 12, "noise_points": 12, "seeds": 8}


def model_spec(nets: tuple[SweepSpec, ...], **grid) -> PhaseDiagramSpec:
    """The model stage's phase diagram on the chain the comparison uses: L = depth - 2
    blocks (its L + 1 elongations match the nets' depth - 1 layer loads) and the table's
    friction and noise ranges (:class:`springblock.numerics.spring.table.TableSpec`)."""
    table = TableSpec()
    return PhaseDiagramSpec(
        blocks=nets[0].depth - 2,
        mu_min=0.0,
        mu_max=table.mu_max,
        noise_min=table.noise_min,
        noise_max=table.noise_max,
        **grid,
    )


@dataclass(frozen=True)
class Preset:
    """The parameters of every stage of one run; ``permutations`` of the theory-vs-nets
    permutation tests, ``tables`` the tabulated models they fit, one comparison each
    (empty: the default table of every model, (a) and (b), on L = depth - 2 blocks; the
    first is the report's main comparison)."""

    name: str
    model: PhaseDiagramSpec
    nets: tuple[SweepSpec, ...]
    permutations: int = 200
    tables: tuple[TableSpec, ...] = ()

    def compare_tables(self) -> tuple[TableSpec, ...]:
        if self.tables:
            return self.tables
        return tuple(default_spec(m, self.nets[0].depth - 2) for m in MODELS)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "model": self.model.to_json(),
            "nets": [s.to_json() for s in self.nets],
            "permutations": self.permutations,
            "tables": [t.to_json() for t in self.compare_tables()],
        }


def preset(
    name: str,
    dataset: str | None = None,
    hessian: bool = False,
    arch: str = "mlp",
    channels: int | None = None,
) -> Preset:
    """``quick``: two panels (data noise, dropout) over the paper's six alphas, five knob
    values, two seeds and the paper's 100 epochs (docs/results/run.json records its wall
    time); ``paper``: the paper's protocol (all four knobs, the paper's grids, 10 seeds,
    100 epochs and 200 for the learning rate; docs/results/paper_time.json its expected
    wall time).
    Both train on the bundled FashionMNIST unless ``dataset`` names another data set;
    ``hessian`` also measures every net's loss curvature (a panel's ``hessian``);
    ``arch`` "cnn" trains the authors' CNN (``channels`` per block) in every panel instead
    of the MLP, on image data only (docs/cnn.md gives its cost per net).
    Everything is validated here, before any work."""
    if name not in PRESETS:
        raise ParameterError("preset", name, f"one of {', '.join(PRESETS)}")
    data: dict = {} if dataset is None else {"dataset": dataset}
    if hessian:
        data["hessian"] = True
    if channels is not None and arch != "cnn":
        raise ParameterError("channels", channels, "only with --arch cnn")
    if arch != "mlp":
        data["arch"] = arch
    if channels is not None:
        data["channels"] = channels
    if name == "quick":
        panels = tuple(
            SweepSpec.for_knob(knob, values=values, seeds=QUICK_SEEDS, epochs=QUICK_EPOCHS, **data)
            for knob, values in QUICK_VALUES.items()
        )
        chosen = Preset("quick", model_spec(panels, **QUICK_MODEL_GRID), panels, QUICK_PERMUTATIONS)
    else:
        panels = tuple(SweepSpec.for_knob(knob, seeds=10, **data) for knob in PAPER_VALUES)
        chosen = Preset("paper", model_spec(panels), panels)
    check_arch(chosen.nets[0])
    return chosen


class StageFailed(RuntimeError):
    def __init__(self, stage: str, error: BaseException):
        self.stage = stage
        super().__init__(f"stage '{stage}' failed: {type(error).__name__}: {error}")


def stage(
    out: Path, name: str, params, compute: Callable[[], dict], log, data: str | None = None
) -> dict:
    """Run ``compute`` unless ``OUT/stages/<name>.json`` holds a result with the same digest
    (parameters, springblock version, data fingerprint ``data``)."""
    path = out / "stages" / f"{name}.json"
    key = results.digest(f"stage-{name}", params, data)
    if path.exists():
        stored = results.read_json(path)
        if stored.get("digest") == key:
            log(f"[{name}] reusing stored result ({stored['wall_time_s']:.1f} s when computed)")
            return stored | {"reused": True}
        why = results.explain_change(
            {
                "params": stored.get("params"),
                "data": stored.get("data"),
                **stored.get("computed_by", {}),
            },
            {"params": results.to_jsonable(params), "data": data, **results.versions()},
        )
        log(f"[{name}] recomputing: {why}")
    else:
        log(f"[{name}] running")
    started = time.perf_counter()
    try:
        result = compute()
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - reported with the stage name, then re-raised
        raise StageFailed(name, err) from err
    record = {
        "digest": key,
        "params": results.to_jsonable(params),
        "data": data,
        "computed_by": results.versions(),
        "result": result,
        "wall_time_s": time.perf_counter() - started,
    }
    results.write_json(path, record)
    log(f"[{name}] done in {record['wall_time_s']:.1f} s")
    return results.read_json(path) | {"reused": False}


def theory_stage() -> dict:
    """The closed forms of the spring-block theory as LaTeX (MathML is made at report time)."""
    import sympy as sp

    from springblock.theory.spring import drift, equilibrium, latex

    return {name: sp.latex(expr) for name, expr in latex.expressions().items()} | {
        "lazy_threshold_7_blocks": float(equilibrium.lazy_threshold(7, 1, 1, 1)),
        "mobility_at_zero": sp.latex(drift.mobility(0)),
    }


def model_stage(spec: PhaseDiagramSpec, out: Path) -> dict:
    from springblock.numerics.spring import phase_diagram

    _, payload = phase_diagram.compute(spec, out / "model")
    return payload


def nets_stage(spec: SweepSpec, out: Path, progress: bool, log, data, execution=None) -> dict:
    """One panel (resumable): its payload without the per-net records (in its results)."""
    import sys

    from springblock.validation.nets import panel

    update = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=spec.nets, desc=f"{spec.knob} panel", unit="net", file=sys.stderr)

        def update(done: int, total: int) -> None:
            bar.n = done
            bar.refresh()
            if done >= total:
                bar.close()

    result = panel.run_panel(spec, out / f"nets-{spec.knob}", update, log, data, execution)
    return result.payload


def compare_stage(p: Preset, table: TableSpec, out: Path, log) -> dict:
    """Theory (the tabulated ``table``) vs nets over every panel at once (one friction
    map), into ``OUT/compare`` (``OUT/compare-b`` for model (b)); a table that the package
    does not ship lives in the run's store, shared by every panel."""
    from springblock.validation.compare import theory_vs_nets

    return theory_vs_nets.run_compare(
        [out / f"nets-{spec.knob}" for spec in p.nets],
        target=out / theory_vs_nets.default_target(table.model),
        permutations=p.permutations,
        store=out / "store",
        table_spec=table,
        log=log,
    )


def compare_stages(p: Preset) -> list[str]:
    """The names of the run's comparison stages, the main one first."""
    from springblock.validation.compare import theory_vs_nets

    return [theory_vs_nets.default_target(t.model) for t in p.compare_tables()]


def run(
    p: Preset, out: Path = DEFAULT_OUT, log=print, progress: bool = True, execution=None
) -> dict:
    """Run every stage of preset ``p`` (reusing stored ones), write ``OUT/report.html`` and
    ``OUT/results.nc`` (every stage's arrays), and return the run's summary. ``execution``
    (:class:`~springblock.validation.nets.executor.Execution`) says where the nets train."""
    from springblock.validation.nets import sweep

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stages = {"theory": stage(out, "theory", {"version": 1}, theory_stage, log)}
    stages["model"] = stage(out, "model", p.model.to_json(), lambda: model_stage(p.model, out), log)
    loaded: dict[tuple, object] = {}
    fingerprints: list[str] = []
    for spec in p.nets:
        tag = f"nets-{spec.knob}"
        try:
            source = (spec.dataset, spec.train_size, spec.data_seed)
            if source not in loaded:
                loaded[source] = sweep.load_data(spec)
        except Exception as err:  # noqa: BLE001
            raise StageFailed(tag, err) from err
        data = loaded[source]
        fingerprint = data.fingerprint()  # type: ignore[attr-defined]
        stages[tag] = stage(
            out,
            tag,
            spec.store_params(),
            functools.partial(nets_stage, spec, out, progress, log, data, execution),
            log,
            data=fingerprint,
        )
        fingerprints.append(fingerprint)
    for table, name in zip(p.compare_tables(), compare_stages(p), strict=True):
        stages[name] = stage(
            out,
            name,
            {
                "panels": [s.store_params() for s in p.nets],
                "permutations": p.permutations,
                "table": table.to_json(),
            },
            functools.partial(compare_stage, p, table, out, log),
            log,
            data=",".join(fingerprints),
        )
    wall = time.perf_counter() - started
    write_run_dataset(out, p)
    report = write_report(out, p, stages, wall)
    log(f"report: {report}")
    return summary(p, stages, out, report, time.perf_counter() - started)


def summary(p: Preset, stages: dict, out: Path, report: Path, wall: float) -> dict:
    """The run's JSON: dataset, wall time, stage times, and per panel the per-net cells,
    the claims and the theory-vs-nets scores."""
    panels = []
    names = compare_stages(p)
    main = stages[names[0]]["result"]
    compared = {e["knob"]: e for e in main["panels"]}
    for spec in p.nets:
        nets = stages[f"nets-{spec.knob}"]["result"]
        panels.append(
            {
                "knob": spec.knob,
                "epochs": spec.epochs,
                "seeds": spec.seeds,
                "cells": nets["cells"],
                "nets": nets["nets"],
                "claims": nets["claims"],
                "theory_vs_nets": compared[spec.knob],
            }
            | ({"curvature": nets["curvature"]} if "curvature" in nets else {})
        )
    return {
        "preset": p.name,
        "dataset": p.nets[0].dataset if p.nets else None,
        "report": str(report),
        "results": str(out / results.DATASET_FILE),
        "wall_time_s": wall,
        "stages": {k: v["wall_time_s"] for k, v in stages.items()},
        "reused": [k for k, v in stages.items() if v.get("reused")],
        "panels": panels,
        "theory_vs_nets_joint": main["joint"],
        "theory_vs_nets_model": main["model"],
        "theory_vs_nets_by_model": {
            stages[n]["result"]["model"]["name"]: _by_model(stages[n]["result"]) for n in names
        },
        "model_comparison": model_comparison(p, stages),
    }


def _by_model(result: dict) -> dict:
    return {
        "model": result["model"],
        "panels": {e["knob"]: e for e in result["panels"]},
        "joint": result["joint"],
    }


def model_comparison(p: Preset, stages: dict) -> dict | None:
    """Which model predicts held-out cells better (:mod:`~springblock.validation.compare.
    models`), when the run compared two; else None."""
    from springblock.validation.compare import models

    names = compare_stages(p)
    if len(names) != 2:
        return None
    return models.compare_models(
        {stages[n]["result"]["model"]["name"]: stages[n]["result"] for n in names}
    )


def write_run_dataset(out: Path, p: Preset) -> None:
    """``OUT/results.nc``: the model's arrays (prefixed ``model_``, its ``seed`` and
    ``layer`` dimensions renamed ``model_seed`` and ``model_layer``: they are not the nets')
    and each panel's (prefixed with the knob's dimension name, e.g.
    ``dropout_test_accuracy``)."""
    import xarray as xr

    parts = []
    model = results.open_results(out / "model")
    model = model.rename({"seed": "model_seed", "layer": "model_layer"})
    parts.append(model.rename({n: f"model_{n}" for n in model.data_vars}))
    for spec in p.nets:
        panel = results.open_results(out / f"nets-{spec.knob}")
        parts.append(panel.rename({n: f"{spec.dim}_{n}" for n in panel.data_vars}))
    for stage_name in compare_stages(p):
        compare = results.open_results(out / stage_name)
        prefix = stage_name.replace("-", "_")
        parts.append(compare.rename({n: f"{prefix}_{n}" for n in compare.data_vars}))
    # the stages share coordinates (alpha, seed, ...); equal where they overlap, so xarray's
    # present default, stated (its default is to change, with a FutureWarning until then)
    merged = xr.merge(parts, join="outer", compat="no_conflicts", combine_attrs="override")
    for name in merged.data_vars:
        if merged[name].dtype.kind == "f" and "nan_meaning" not in merged[name].attrs:
            merged[name].attrs["nan_meaning"] = "outside this variable's own coordinates"
    merged.attrs = results.provenance_attrs("run", p.to_json())
    results.write_dataset(out / results.DATASET_FILE, merged)


def write_report(out: Path, p: Preset, stages: dict, wall: float) -> Path:
    """Assemble ``OUT/report.html`` from the stage results."""
    from springblock import report

    html_text = report.run_report(p, stages, wall, out)
    return results.write_text(out / "report.html", html_text)
