"""The main job: theory -> simulated model -> trained nets -> comparison -> one HTML report.

Each stage's result is stored under ``OUT/stages/<stage>.json`` together with the digest of
the parameters that produced it; a rerun with the same parameters reuses it, and the long
stages (the model grid, the nets) keep their own per-row / per-net stores, so an
interrupted run resumes where it stopped. A failing stage stops the run with its name and
the error; the stages before it stay on disk.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from springblock.numerics.spring.phase_diagram import PhaseDiagramSpec
from springblock.validation.nets.sweep import PAPER_VALUES, SweepSpec


@dataclass(frozen=True)
class Preset:
    """The parameters of every stage of one run."""

    name: str
    model: PhaseDiagramSpec
    nets: tuple[SweepSpec, ...]


def preset(name: str, dataset: str | None = None) -> Preset:
    """``quick``: a reduced panel that finishes in a few minutes on 2 cores;
    ``paper``: the paper's protocol (all four knobs, 10 seeds, FashionMNIST by default)."""
    if name == "quick":
        spec = SweepSpec(
            knob="data-noise",
            dataset=dataset or "mnist1d",
            alphas=(0.0, 0.25, 0.5, 0.75, 1.0),
            values=(0.0, 0.2, 0.4, 0.6, 0.8),
            seeds=2,
            epochs=100,
            depth=8,
            width=100,
            train_size=2560,
        )
        model = PhaseDiagramSpec(mu_points=16, noise_points=16, seeds=8)
        return Preset("quick", model, (spec,))
    if name == "paper":
        panels = tuple(
            SweepSpec(
                knob=knob,
                dataset=dataset or "fashion-mnist",
                values=PAPER_VALUES[knob],
                seeds=10,
                epochs=200 if knob == "learning-rate" else 100,
                train_size=2560,
            )
            for knob in ("data-noise", "learning-rate", "dropout", "batch-size")
        )
        return Preset("paper", PhaseDiagramSpec(), panels)
    from springblock.params import ParameterError

    raise ParameterError("preset", name, "'quick' or 'paper'")


def digest(obj) -> str:
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class StageFailed(RuntimeError):
    def __init__(self, stage: str, error: BaseException):
        self.stage = stage
        super().__init__(f"stage '{stage}' failed: {type(error).__name__}: {error}")


def stage(out: Path, name: str, params, compute: Callable[[], dict], log) -> dict:
    """Run ``compute`` unless ``OUT/stages/<name>.json`` holds a result for ``params``."""
    path = out / "stages" / f"{name}.json"
    key = digest(params)
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("digest") == key:
            log(f"[{name}] reusing stored result ({stored['wall_time_s']:.1f} s when computed)")
            stored["reused"] = True
            return stored
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
        "params": params,
        "result": result,
        "wall_time_s": time.perf_counter() - started,
        "reused": False,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, default=str))
    tmp.replace(path)
    log(f"[{name}] done in {record['wall_time_s']:.1f} s")
    return record


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


def run(
    p: Preset, out: Path = Path("springblock-results/run"), log=print, progress: bool = True
) -> dict:
    """Run every stage of preset ``p`` (reusing stored ones) and write ``OUT/report.html``."""
    from springblock.cli.nets import run_compare

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    stages = {"theory": stage(out, "theory", {"version": 1}, theory_stage, log)}
    stages["model"] = stage(
        out, "model", dataclasses.asdict(p.model), lambda: model_stage(p.model, out), log
    )
    for spec in p.nets:
        tag = f"nets-{spec.knob}"
        panel_dir = out / tag
        stages[tag] = stage(
            out,
            tag,
            spec.to_json(),
            functools.partial(_sweep_stage, spec, panel_dir, progress),
            log,
        )
        stages[f"compare-{spec.knob}"] = stage(
            out,
            f"compare-{spec.knob}",
            spec.to_json(),
            functools.partial(run_compare, panel_dir),
            log,
        )
    report = write_report(out, p, stages, time.perf_counter() - started)
    log(f"report: {report}")
    return {
        "report": str(report),
        "stages": {k: v["wall_time_s"] for k, v in stages.items()},
        "reused": [k for k, v in stages.items() if v.get("reused")],
        "total_wall_time_s": time.perf_counter() - started,
    }


def _sweep_stage(spec: SweepSpec, panel_dir: Path, progress: bool) -> dict:
    """Run (or resume) one panel's sweep; the stage keeps the slim payload."""
    from springblock.cli.nets import run_sweep

    return _slim(run_sweep(spec, panel_dir, progress))


def _slim(payload: dict) -> dict:
    """The sweep payload without the per-net records (they stay in the panel's sweep.json)."""
    return {k: v for k, v in payload.items() if k != "cells"}


def versions() -> dict:
    import diffrax
    import equinox
    import jax
    import numpy
    import scipy
    import sympy

    from springblock import __version__

    return {
        "springblock": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "jax": jax.__version__,
        "diffrax": diffrax.__version__,
        "equinox": equinox.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "sympy": sympy.__version__,
    }


def write_report(out: Path, p: Preset, stages: dict, wall: float) -> Path:
    """Assemble ``OUT/report.html`` from the stage results."""
    import datetime

    from springblock import report
    from springblock.theory.spring import latex

    model = stages["model"]["result"]
    spec = p.model
    equations = "".join(
        f"<div class='eq'><span class='name'>{name}</span>{report.mathml(name, expr)}</div>"
        for name, expr in latex.expressions().items()
    )
    theory_html = (
        "<p>Model (a) of Shi, Pan &amp; Dokmanic (PRL 2025): L blocks, wall x<sub>0</sub> = 0, "
        "target x<sub>L+1</sub> = y, static friction (&mu;<sub>R</sub>, &mu;<sub>L</sub>), "
        "force noise &sigma; = &epsilon;&#772;. Closed forms derived and checked by the test "
        "suite (docs/theory.md), rendered from the same sympy expressions the code "
        "evaluates:</p>" + equations
    )
    agree = model["agreement"]
    model_html = report.image(
        model["figures"][0],
        "Simulated curvature of the load curve over "
        "(noise, friction) with the closed-form (dashed) and mean-field (solid) "
        "boundaries.",
    ) + report.table(
        ["quantity", "value"],
        [
            ["grid (friction x noise)", f"{spec.mu_points} x {spec.noise_points}"],
            [
                "blocks L, stiffness k, target y",
                f"{spec.blocks}, {spec.stiffness:g}, {spec.target:g}",
            ],
            ["mu_L / mu_R", spec.asymmetry],
            ["training time T = steps x dt", spec.steps * spec.dt],
            ["seeds per cell", spec.seeds],
            ["linear band |c| / y <=", spec.tolerance],
            *[[f"cells {k}", v] for k, v in model["phase_counts"].items()],
            ["agreement with the closed-form boundaries", f"{agree['closed_form']:.1%}"],
            ["agreement with the mean-field boundaries", f"{agree['mean_field']:.1%}"],
        ],
    )
    sections = [
        ("1. Theory: closed forms", theory_html),
        ("2. The model's phase diagram", model_html),
    ]
    for spec_n in p.nets:
        net = stages[f"nets-{spec_n.knob}"]["result"]
        cmp_ = stages[f"compare-{spec_n.knob}"]["result"]
        s = net["summary"]
        rows = []
        for i, a in enumerate(spec_n.alphas):
            rows.append(
                [f"alpha = {a:g}"]
                + [
                    f"{s['cell_test_accuracy'][i][j]:.1%} / c = {s['cell_curvature'][i][j]:+.3f}"
                    for j in range(len(spec_n.values))
                ]
            )
        figs = net["figures"]
        nets_html = (
            f"<p>Dataset {spec_n.dataset} ({net['dataset']}), depth {spec_n.depth}, width "
            f"{spec_n.width}, {spec_n.epochs} epochs, {spec_n.seeds} seeds per cell, "
            f"separation measure {spec_n.measure}.</p>"
            + report.image(
                _png(figs, "panel_"),
                "Load curve log D_l of each cell (mean over "
                "seeds); shading: test accuracy; red concave, blue convex.",
            )
            + report.table(
                [f"test accuracy / curvature; {spec_n.knob} ="] + [f"{v:g}" for v in spec_n.values],
                rows,
            )
            + report.image(
                _png(figs, "accuracy_vs_spread"),
                "Test accuracy against the spread v of the layer loads.",
            )
            + report.table(
                ["statistic", "value"],
                [
                    ["Spearman rho(accuracy, v)", s["spearman_accuracy_vs_spread"]["rho"]],
                    ["p-value", s["spearman_accuracy_vs_spread"]["p_value"]],
                    ["Spearman rho(accuracy, |c|)", s["spearman_accuracy_vs_abs_curvature"]["rho"]],
                    [
                        "best cell",
                        f"alpha = {s['best_cell']['alpha']:g}, {spec_n.knob} = "
                        f"{s['best_cell']['value']:g}: {s['best_cell']['test_accuracy']:.1%}",
                    ],
                ],
            )
        )
        h, t = cmp_["held_out"], cmp_["training"]
        cmp_html = (
            report.image(cmp_["figures"][0], "Measured and predicted curvature per cell.")
            + report.table(
                ["cells", "count", "sign agreement of c", "Spearman c", "Spearman v"],
                [
                    [
                        "held out (scored)",
                        h["cells"],
                        h["sign_agreement_c"],
                        _fmt(h["spearman_c"]),
                        _fmt(h["spearman_v"]),
                    ],
                    [
                        "training (fitted)",
                        t["cells"],
                        t["sign_agreement_c"],
                        _fmt(t["spearman_c"]),
                        _fmt(t["spearman_v"]),
                    ],
                ],
            )
            + "<p>Monotone maps (alpha, knob) -> (friction, noise) fitted on the checkerboard "
            "half of the cells; the model is the mean-field flow of model (a) "
            "(springblock.validation.compare.theory_vs_nets).</p>"
        )
        sections += [
            (f"3. Trained nets: {spec_n.knob} panel", nets_html),
            (f"4. Theory vs nets: {spec_n.knob}", cmp_html),
        ]
    timing = [
        [k, v["wall_time_s"], "reused" if v.get("reused") else "computed"]
        for k, v in stages.items()
    ]
    sections.append(
        (
            "5. Provenance",
            report.table(["stage", "seconds", ""], timing)
            + report.table(["package", "version"], [[k, v] for k, v in versions().items()])
            + f"<p>Reproduce: <code>springblock run --preset {p.name} --out "
            f"{out}</code>. Seeds: model key {p.model.key}, nets seed "
            f"{', '.join(str(s.seed) for s in p.nets)} (seed s of each cell = "
            "fold_in(key(seed), s)).</p>",
        )
    )
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    html_text = report.page(
        "springblock report: spring-block theory vs trained nets",
        sections,
        f"preset {p.name}; generated {when}; total {wall:.1f} s this run",
    )
    path = out / "report.html"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(html_text)
    tmp.replace(path)
    return path


def _png(paths: list[str], stem: str) -> str:
    return next(p for p in paths if Path(p).name.startswith(stem) and p.endswith(".png"))


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.3f}"
