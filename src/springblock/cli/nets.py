"""``springblock nets {sweep,compare}``: the phase diagram of trained nets, and the theory."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from springblock.cli.common import emit, parse_float, parse_int, write_results
from springblock.params import ParameterError, check_int


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None


def register(groups) -> None:
    """Add the ``nets`` command group to the top-level subparsers ``groups``."""
    from springblock.validation.nets.sweep import KNOBS, MEASURES, PAPER_ALPHAS

    nets = groups.add_parser(
        "nets",
        help="trained MLPs: the noise x nonlinearity phase "
        "diagram and its comparison with the spring-block model",
    )
    sub = nets.add_subparsers(dest="command", required=True, metavar="{sweep,compare}")

    sw = sub.add_parser(
        "sweep",
        help="train one panel (a noise knob crossed with the LeakyReLU slope)",
        description="Train and measure the paper's MLP over a grid of LeakyReLU slopes alpha "
        "and values of one noise knob, several seeds per cell. Finished nets are stored in "
        "DIR/nets as they complete; rerunning the command resumes. Defaults are the "
        "paper's grids (reference section 2).",
    )
    sw.add_argument("--knob", choices=KNOBS, default="data-noise")
    sw.add_argument(
        "--dataset",
        default="mnist1d",
        help="mnist1d, digits, gmm, fashion-mnist (Debian package "
        "dataset-fashion-mnist) or a PATH.npz with x_train, y_train, x_test, "
        "y_test (default mnist1d)",
    )
    sw.add_argument(
        "--alphas",
        type=_floats,
        default=PAPER_ALPHAS,
        help="LeakyReLU slopes in [0, 1], e.g. '0 0.5 1' (default: the paper's)",
    )
    sw.add_argument("--values", type=_floats, help="knob values (default: the paper's grid)")
    sw.add_argument("--seeds", type=parse_int, default=10, help="nets per cell (default 10)")
    sw.add_argument(
        "--epochs",
        type=parse_int,
        help="epochs (default 100; 200 for the learning-rate knob, as in the paper)",
    )
    sw.add_argument("--depth", type=parse_int, default=8, help="Linear layers (default 8)")
    sw.add_argument("--width", type=parse_int, default=100, help="hidden width (default 100)")
    sw.add_argument(
        "--train-size",
        type=parse_int,
        default=2560,
        help="training samples (default 2560, as in the paper)",
    )
    sw.add_argument("--learning-rate", type=parse_float, default=1e-3)
    sw.add_argument("--optimizer", choices=("adam", "sgd", "sgld"), default="adam")
    sw.add_argument(
        "--measure",
        choices=MEASURES,
        default="pinv",
        help="separation measure of the load curve: pinv = log tr(S_w pinv S_b) "
        "(the authors' MLP script), trace = log(tr S_w / tr S_b)",
    )
    sw.add_argument("--seed", type=parse_int, default=0)
    sw.add_argument(
        "--batched",
        action="store_true",
        help="train the seeds of a cell in "
        "one vmapped call instead of streaming nets one at a time",
    )
    sw.add_argument("--no-progress", action="store_true")
    sw.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sw.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        required=True,
        help="results directory (store, figures, sweep.json, sweep.npz)",
    )
    sw.set_defaults(func=cmd_sweep)

    cp = sub.add_parser(
        "compare",
        help="spring-block theory vs a finished sweep",
        description="Fit monotone maps from (alpha, knob value) to the model's (friction, "
        "noise) on half of the cells (checkerboard) and score the predicted curvature and "
        "spread on the other half: sign agreement of c and Spearman rank correlations.",
    )
    cp.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        required=True,
        help="the directory of a finished `springblock nets sweep`",
    )
    cp.add_argument("--starts", type=parse_int, default=12, help="fit restarts (default 12)")
    cp.add_argument("--json", action="store_true")
    cp.set_defaults(func=cmd_compare)


def build_spec(args):
    from springblock.validation.nets.sweep import PAPER_VALUES, SweepSpec

    epochs = (
        args.epochs if args.epochs is not None else (200 if args.knob == "learning-rate" else 100)
    )
    return SweepSpec(
        knob=args.knob,
        dataset=args.dataset,
        alphas=tuple(args.alphas),
        values=tuple(args.values or PAPER_VALUES[args.knob]),
        seeds=args.seeds,
        epochs=epochs,
        depth=args.depth,
        width=args.width,
        train_size=args.train_size,
        learning_rate=args.learning_rate,
        optimizer=args.optimizer,
        measure=args.measure,
        seed=args.seed,
        batched=args.batched,
    )


def run_sweep(spec, out: Path, show_progress: bool = True) -> dict:
    """Run (or resume) a sweep into ``out``; write figures and results; return the payload."""
    import numpy as np

    from springblock import figures
    from springblock.validation.nets import data as datasets
    from springblock.validation.nets import plots, sweep

    try:
        dataset = datasets.load_dataset(spec.dataset, train_size=spec.train_size, seed=spec.seed)
    except datasets.DatasetUnavailable as err:
        raise ParameterError("dataset", spec.dataset, f"available: {err}") from None
    store = out / "store" / spec.digest()
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(
            total=spec.nets, desc=f"{spec.knob} panel", unit="net", file=sys.stderr, smoothing=0.1
        )

    def progress(done, total):
        if bar is not None:
            bar.n = done
            bar.refresh()

    started = time.perf_counter()
    fields = sweep.run(spec, store, dataset, progress)
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - started
    summary = sweep.summary(spec, fields)
    cell = {
        name: np.nanmean(fields[name], axis=2)
        for name in ("test_accuracy", "curvature", "spread", "load_curve")
    }
    figs = figures.save(
        plots.panel_figure(
            spec.alphas,
            spec.values,
            spec.knob,
            cell["load_curve"],
            cell["test_accuracy"],
            cell["curvature"],
            spec.measure,
        ),
        out,
        f"panel_{spec.knob}",
    )
    rho = summary["spearman_accuracy_vs_spread"]["rho"]
    figs += figures.save(
        plots.accuracy_vs_spread_figure(cell["spread"], cell["test_accuracy"], rho, spec.knob),
        out,
        f"accuracy_vs_spread_{spec.knob}",
    )
    figs += figures.save(
        plots.curvature_maps_figure(spec.alphas, spec.values, spec.knob, cell["curvature"]),
        out,
        f"curvature_{spec.knob}",
    )
    arrays = {k: v for k, v in fields.items() if isinstance(v, np.ndarray)}
    np.savez(
        out / "sweep.npz",
        alphas=np.array(spec.alphas),
        values=np.array(spec.values),
        **arrays,  # type: ignore[arg-type]  # mypy matches **arrays to allow_pickle: bool too
    )
    payload = {
        "spec": spec.to_json(),
        "dataset": dataset.describe(),
        "dims": {
            "test_accuracy": ["alpha", "value", "seed"],
            "load_curve": ["alpha", "value", "seed", "layer"],
        },
        "cells": sweep.records(spec, fields),
        "summary": summary,
        "wall_time_s": wall,
        "figures": figs,
        "store": str(store),
    }
    write_results(out, "sweep", payload)
    return payload


def cmd_sweep(args) -> int:
    spec = build_spec(args)
    payload = run_sweep(spec, args.out, not args.no_progress)
    s = payload["summary"]
    text = "\n".join(
        [
            f"{spec.knob} panel on {spec.dataset}: {len(spec.alphas)} alphas x "
            f"{len(spec.values)} values x {spec.seeds} seeds ({payload['wall_time_s']:.1f} s)",
            f"best cell: alpha = {s['best_cell']['alpha']:g}, {spec.knob} = "
            f"{s['best_cell']['value']:g}, test accuracy {s['best_cell']['test_accuracy']:.1%}",
            f"Spearman rho(test accuracy, spread v) over cells: "
            f"{s['spearman_accuracy_vs_spread']['rho']:.3f} (negative: more linear load curves "
            "generalise better)",
            f"cells with concave / convex mean load curve: {s['phase_counts']['concave']} / "
            f"{s['phase_counts']['convex']}",
            f"results: {args.out / 'sweep.json'}; figures: {payload['figures'][0]}",
        ]
    )
    emit(args, payload, text)
    return 0


def run_compare(out: Path, starts: int = 12) -> dict:
    """Theory vs nets on the finished sweep in ``out``; writes compare.json and a figure."""
    import numpy as np

    from springblock import figures
    from springblock.validation.compare import theory_vs_nets as compare
    from springblock.validation.nets import plots, sweep
    from springblock.validation.nets.sweep import SweepSpec

    starts = check_int("starts", starts, 1, 10_000)
    path = out / "sweep.json"
    if not path.exists():
        raise ParameterError(
            "out",
            str(out),
            "a directory holding a finished sweep "
            "(sweep.json); run `springblock nets sweep --out DIR` first",
        )
    spec = SweepSpec.from_json(json.loads(path.read_text())["spec"])
    fields = sweep.collect(spec, out / "store" / spec.digest())
    c = np.nanmean(fields["curvature"], axis=2)
    v = np.nanmean(fields["spread"], axis=2)
    result = compare.compare(spec.knob, spec.alphas, spec.values, c, v, spec.depth, starts=starts)
    result["knob"] = spec.knob
    h = result["held_out"]
    result["figures"] = figures.save(
        plots.curvature_maps_figure(
            spec.alphas,
            spec.values,
            spec.knob,
            c,
            np.array(result["predicted_curvature"]),
            title=f"held-out cells: sign agreement {h['sign_agreement_c']:.0%}, Spearman c "
            f"{_fmt(h['spearman_c'])}, Spearman v {_fmt(h['spearman_v'])}",
        ),
        out,
        f"compare_{spec.knob}",
    )
    write_results(out, "compare", result)
    return result


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def cmd_compare(args) -> int:
    result = run_compare(args.out, args.starts)
    h, t = result["held_out"], result["training"]
    text = "\n".join(
        [
            f"spring-block model vs nets, {result['knob']} panel "
            f"(maps fitted on {t['cells']} cells, scored on {h['cells']} held-out cells)",
            f"held out: sign agreement of c {h['sign_agreement_c']:.1%}, Spearman c "
            f"{_fmt(h['spearman_c'])}, Spearman v {_fmt(h['spearman_v'])}",
            f"training: sign agreement of c {t['sign_agreement_c']:.1%}, Spearman c "
            f"{_fmt(t['spearman_c'])}, Spearman v {_fmt(t['spearman_v'])}",
            f"figure: {result['figures'][0]}",
        ]
    )
    emit(args, result, text)
    return 0
