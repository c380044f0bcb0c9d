"""``springblock nets {sweep,compare,trajectories}``: the phase diagram of trained nets, the
theory fitted to it, and the theory through training."""

from __future__ import annotations

from pathlib import Path

from springblock.cli.common import (
    add_numbers,
    check_out,
    default_of,
    emit,
    given,
    log,
    parse_float,
    parse_int,
    progress_bar,
    shown,
)
from springblock.params import ParameterError

SPEC_OPTIONS = (
    "knob",
    "dataset",
    "alphas",
    "values",
    "seeds",
    "epochs",
    "depth",
    "width",
    "train_size",
    "learning_rate",
    "batch_size",
    "optimizer",
    "measure",
    "seed",
    "data_seed",
    "arch",
    "channels",
    "checkpoints",
)


def register(groups) -> None:
    """Add the ``nets`` command group to the top-level subparsers ``groups``."""
    from springblock.numerics.spring.table import MODELS
    from springblock.validation.compare.theory_vs_nets import PERMUTATIONS
    from springblock.validation.nets.data import ALLOWED
    from springblock.validation.nets.sweep import KNOBS, MEASURES, OPTIMIZERS, SweepSpec

    def default(name):
        return shown(default_of(SweepSpec, name))

    nets = groups.add_parser(
        "nets",
        help="trained MLPs: the noise x nonlinearity phase "
        "diagram and its comparison with the spring-block model",
    )
    sub = nets.add_subparsers(dest="command", required=True, metavar="{sweep,compare,trajectories}")

    sw = sub.add_parser(
        "sweep",
        help="train one panel (a noise knob, the width or the depth, crossed with the "
        "LeakyReLU slope)",
        description="Train and measure the paper's MLP over a grid of LeakyReLU slopes alpha "
        "and values of one knob (noise, width or depth), several seeds per cell, then test "
        "the paper's claims (regimes, best accuracy in the linear band, seeds) against "
        "chance. Finished nets are stored in DIR/store as they complete; rerunning the "
        "command resumes. Defaults are the paper's grids and protocol (reference section 2) "
        "on the bundled FashionMNIST (our grids for width and depth).",
    )
    sw.add_argument(
        "--knob",
        choices=KNOBS,
        help="the knob crossed with alpha: one of the paper's four noise knobs, or the "
        "structural width (hidden width of the MLP) or depth (Linear layers; the CNN's "
        f"blocks + 1) (default {default('knob')})",
    )
    sw.add_argument("--dataset", help=f"{ALLOWED} (default {default('dataset')})")
    add_numbers(sw, "--alphas", help=f"LeakyReLU slopes in [0, 1] (default {default('alphas')})")
    add_numbers(sw, "--values", help="knob values (default: the paper's grid of the knob)")
    sw.add_argument("--seeds", type=parse_int, help=f"nets per cell (default {default('seeds')})")
    sw.add_argument(
        "--epochs",
        type=parse_int,
        help="epochs (default 100; 200 for the learning-rate knob, as in the paper)",
    )
    sw.add_argument("--depth", type=parse_int, help=f"Linear layers (default {default('depth')})")
    sw.add_argument("--width", type=parse_int, help=f"hidden width (default {default('width')})")
    sw.add_argument(
        "--train-size",
        type=parse_int,
        help="training samples (default 2560 for image data as in the paper, all samples "
        "of a .npz)",
    )
    sw.add_argument(
        "--learning-rate",
        type=parse_float,
        help=f"Adam's step size unless --knob learning-rate (default {default('learning_rate')})",
    )
    sw.add_argument(
        "--batch-size",
        type=parse_int,
        help="mini-batch size unless --knob batch-size (default: full batch)",
    )
    sw.add_argument(
        "--optimizer", choices=OPTIMIZERS, help=f"optimizer (default {default('optimizer')})"
    )
    sw.add_argument(
        "--arch",
        choices=("mlp", "cnn"),
        help="the net: mlp, the paper's MLP; cnn, the authors' CNN (depth - 1 blocks of 3x3 "
        "conv, BatchNorm, LeakyReLU, max-pool 2, upsample 2, dropout; image data only; the "
        f"authors train it with --learning-rate 1e-4) (default {default('arch')})",
    )
    sw.add_argument(
        "--channels",
        type=parse_int,
        help=f"channels of every CNN block (default {default('channels')})",
    )
    sw.add_argument(
        "--measure",
        nargs="+",
        choices=(*MEASURES, "hessian"),
        help="what to measure: the separation measure of the load curve, pinv = log tr(S_w "
        "pinv S_b) (the authors' MLP script) or trace = log(tr S_w / tr S_b) (default "
        f"{default('measure')}), and with hessian also the top eigenvalue (Lanczos) and "
        "trace (Hutchinson, with its standard error) of the final training loss's Hessian",
    )
    sw.add_argument(
        "--seed", type=parse_int, help=f"seed of the nets' keys (default {default('seed')})"
    )
    sw.add_argument(
        "--data-seed",
        type=parse_int,
        help=f"seed of the one fixed training subset (default {default('data_seed')})",
    )
    checkpoints = sw.add_mutually_exclusive_group()
    add_numbers(
        checkpoints,
        "--checkpoints",
        kind=parse_int,
        metavar="EPOCH",
        help="record every layer's separation after these epochs (increasing, at most "
        "--epochs): the load curve through training, its figures (small multiples, a GIF) "
        "and a `checkpoint` dimension in the results; not with --batched",
    )
    checkpoints.add_argument(
        "--checkpoint-every",
        type=parse_int,
        metavar="K",
        help="record the separations every K epochs (K, 2K, ..., up to --epochs)",
    )
    add_execution(sw)
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    sw.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sw.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        required=True,
        help="results directory (store, results.nc, results.json, figures)",
    )
    sw.set_defaults(configure=configure_sweep, execute=execute_sweep)

    cp = sub.add_parser(
        "compare",
        help="spring-block theory vs finished sweeps: out-of-sample scores, baselines, p-values",
        description="Fit the spring-block model (tabulated: model (a)'s mean-field flow, or "
        "model (b)'s underdamped ensemble with --model b) "
        "to finished panels through bounded monotone maps (one friction map of alpha for "
        "every panel, a noise map per knob, shared asymmetry and time scale), score its "
        "held-out predictions on three splits (checkerboard, leave one alpha row out, leave "
        "one knob column out) and, with several panels, leave one panel out; next to five "
        "theory-free baselines on the same splits, with permutation p-values. Refuses a "
        "sweep with missing nets or empty cells. Writes DIR/compare/ (DIR/compare-b/ for "
        "--model b).",
    )
    cp.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        required=True,
        help="the directory of a finished `springblock nets sweep`",
    )
    cp.add_argument(
        "--also",
        type=Path,
        nargs="+",
        metavar="DIR",
        default=(),
        help="more finished panels (other knobs) fitted jointly: one shared friction map",
    )
    cp.add_argument(
        "--model",
        choices=MODELS,
        help=f"the spring-block model tabulated (default {MODELS[0]}: the mean-field flow of "
        "model (a); b: model (b), the underdamped chain with shared decaying noise, a "
        "stick-slip ensemble, about 40 s to tabulate once)",
    )
    cp.add_argument(
        "--permutations",
        type=parse_int,
        help=f"refits with the cells permuted, for the p-values (default {PERMUTATIONS})",
    )
    cp.add_argument(
        "--seed", type=parse_int, help="seed of the permutations and starts (default 0)"
    )
    cp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    cp.set_defaults(configure=configure_compare, execute=execute_compare)

    tj = sub.add_parser(
        "trajectories",
        help="spring-block theory vs the load curve through training (a checkpointed sweep)",
        description="Compare the spring-block model's time evolution (model (a)'s tabulated "
        "mean-field flow; a net after e of its E epochs is compared with the model at "
        "T = T0 f e / E) with the nets' normalised curvature and spread at the checkpoints "
        "of a sweep run with --checkpoints or --checkpoint-every (at least two before the "
        "last epoch). Splits: earlier_epochs (fitted on the last epoch, the earlier "
        "checkpoints held out; baselines frozen and majority) and the three cell splits of "
        "`nets compare` on whole trajectories (its five baselines, fitted per checkpoint). "
        "Scores over held-out (cell, epoch) pairs and per cell through time, with p-values "
        "from permuting the cells' predicted trajectories, and the model's clock: the time "
        "factor that would match the nets best. Writes DIR/trajectories/.",
    )
    tj.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        required=True,
        help="the directory of a finished `springblock nets sweep` with checkpoints",
    )
    tj.add_argument(
        "--permutations",
        type=parse_int,
        help=f"permutations of the cells' predicted trajectories (default {PERMUTATIONS})",
    )
    tj.add_argument(
        "--seed", type=parse_int, help="seed of the permutations and starts (default 0)"
    )
    tj.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    tj.set_defaults(configure=configure_trajectories, execute=execute_trajectories)


def add_execution(p) -> None:
    """--workers, --scheduler, --batched: where the nets train (not what they compute)."""
    from springblock.validation.nets.executor import MIN_NETS_FOR_WORKERS

    p.add_argument(
        "--workers",
        type=parse_int,
        help="Dask worker processes on this machine (single-threaded each); 0: train in this "
        "process (default: one per CPU core when there are at least "
        f"{MIN_NETS_FOR_WORKERS} nets to train, else 0)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="send the nets to an existing Dask cluster (tcp://host:8786 or a scheduler "
        "file; e.g. dask-jobqueue on SLURM/PBS, docs/scaling.md)",
    )
    p.add_argument(
        "--batched",
        action="store_true",
        help="with --workers 0: train the seeds of a cell in one vmapped call, sharded over "
        "the JAX devices (GPUs)",
    )


def execution_of(args):
    from springblock.validation.nets.executor import Execution

    return Execution(workers=args.workers, scheduler=args.scheduler, batched=args.batched)


def configure_sweep(args):
    from springblock.params import check_int
    from springblock.validation.nets.sweep import SweepSpec

    options = given(args, *SPEC_OPTIONS)
    if "measure" in options:
        measures = options.pop("measure")
        separations = sorted({m for m in measures if m != "hessian"})
        if len(separations) > 1:
            raise ParameterError(
                "measure", " ".join(measures), "one separation measure (pinv or trace), and hessian"
            )
        options |= {"measure": separations[0]} if separations else {}
        options |= {"hessian": True} if "hessian" in measures else {}
    knob = options.get("knob", default_of(SweepSpec, "knob"))
    if knob == "learning-rate" and "learning_rate" in options:
        raise ParameterError(
            "learning_rate", args.learning_rate, "not given with --knob learning-rate"
        )
    for name in ("batch_size", "width", "depth"):
        if knob == name.replace("_", "-") and name in options:
            flag = name.replace("_", "-")
            raise ParameterError(name, options[name], f"not given with --knob {flag}")
    if args.checkpoints == ():
        raise ParameterError("checkpoints", "", "at least one epoch")
    if args.checkpoint_every is not None:
        epochs = SweepSpec(**options).epochs
        assert epochs is not None
        every = check_int("checkpoint_every", args.checkpoint_every, 1, epochs)
        options["checkpoints"] = tuple(range(every, epochs + 1, every))
    spec = SweepSpec(**options)
    if spec.checkpoints and args.batched:
        raise ParameterError("batched", True, "not with --checkpoints (streamed nets only)")
    from springblock.validation.nets import sweep

    sweep.check_arch(spec)  # the data's shape decides, before any net trains
    return spec, execution_of(args), check_out(args.out)


def claim_lines(payload: dict) -> list[str]:
    return list(payload["claims"]["sentences"].values())


def depth_lines(rows: list[dict]) -> list[str]:
    """The deep share per alpha across depths (1/2: equal loads; figure load_by_depth)."""

    def fmt(row):
        share, sem = row["deep_share"], row["deep_share_sem"]
        if share is None:
            return f"D={row['depth']}: n/a"
        return f"D={row['depth']}: {share:.2f}" + ("" if sem is None else f" +- {sem:.2f}")

    alphas = sorted({row["alpha"] for row in rows})
    lines = ["load share of the deeper half of the layers (1/2: equal loads; +- one SE):"]
    for alpha in alphas:
        cells = [fmt(row) for row in rows if row["alpha"] == alpha]
        lines.append(f"  alpha = {alpha:g}: " + ", ".join(cells))
    return lines


def execute_sweep(config, args) -> int:
    from springblock.validation.nets import panel

    spec, execution, out = config
    update = progress_bar(args, spec.nets, f"{spec.knob} panel", "net")
    result = panel.run_panel(spec, out, update, log=lambda m: log(args, m), execution=execution)
    p = result.payload
    best = p["best_cell"]
    counts = p["nets"]
    lines = [
        f"{spec.knob} panel on {p['dataset']['name']}: {len(spec.alphas)} alphas x "
        f"{len(spec.values or ())} values x {spec.seeds} seeds ({p['wall_time_s']:.1f} s)",
        f"nets: {counts['ok']} ok, {counts['diverged']} diverged, {counts['undefined']} with an "
        "undefined separation (left out of the cell statistics)",
    ]
    if best is not None:
        lines.append(
            f"best cell: alpha = {best['alpha']:g}, {spec.knob} = {best['value']:g}, test "
            f"accuracy {best['test_accuracy']:.1%} ({best['phase']})"
        )
    lines += claim_lines(p)
    for name, label in (("top_eigenvalue", "top Hessian eigenvalue"), ("trace", "Hessian trace")):
        got = p.get("curvature", {}).get(name)
        if got is not None:
            lines.append(
                f"{label}: cell means from {got['min']:.4g} to {got['max']:.4g} "
                f"({got['cells']} cells; figure hessian_{spec.knob}.png)"
            )
    if "load_by_depth" in p:
        lines += depth_lines(p["load_by_depth"])
    lines.append(
        f"results: {out / 'results.nc'}, {out / 'results.json'}; figures: {p['figures'][0]}"
    )
    emit(args, p, "\n".join(lines))
    return 0


def permutations_and_seed(args, default_permutations: int) -> tuple[int, int]:
    """The validated ``--permutations`` (default ``default_permutations``) and ``--seed``
    of a comparison command."""
    from springblock.params import check_int

    permutations = check_int(
        "permutations",
        default_permutations if args.permutations is None else args.permutations,
        1,
        100_000,
    )
    return permutations, check_int("seed", 0 if args.seed is None else args.seed, 0, 2**31 - 1)


def configure_compare(args):
    from springblock.validation.compare import theory_vs_nets

    permutations, seed = permutations_and_seed(args, theory_vs_nets.PERMUTATIONS)
    dirs = [args.out, *args.also]
    for d in dirs:
        theory_vs_nets.check_panel(d, "out" if d == args.out else "also")
    theory_vs_nets.load_panels(dirs)  # complete panels of distinct knobs
    return {"panels": dirs, "permutations": permutations, "seed": seed, "model": args.model or "a"}


def execute_compare(config, args) -> int:
    from springblock.validation.compare import theory_vs_nets

    result = theory_vs_nets.run_compare(
        config["panels"],
        permutations=config["permutations"],
        seed=config["seed"],
        log=lambda m: log(args, m),
        model=config["model"],
    )
    emit(args, result, "\n".join(theory_vs_nets.summary_lines(result)))
    return 0


def configure_trajectories(args):
    from springblock.validation.compare import trajectories

    permutations, seed = permutations_and_seed(args, trajectories.PERMUTATIONS)
    trajectories.load(args.out)  # a finished panel with checkpoints
    return {"out": args.out, "permutations": permutations, "seed": seed}


def execute_trajectories(config, args) -> int:
    from springblock.validation.compare import trajectories

    result = trajectories.run_trajectories(
        config["out"],
        permutations=config["permutations"],
        seed=config["seed"],
        log=lambda m: log(args, m),
    )
    emit(args, result, "\n".join(trajectories.summary_lines(result)))
    return 0
