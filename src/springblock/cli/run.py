"""``springblock run``: the main job, theory -> model -> nets -> comparison -> report."""

from __future__ import annotations

import sys
from pathlib import Path

from springblock.cli.common import check_out, emit, log, parse_int


def register(groups) -> None:
    """Add the top-level ``run`` command to ``groups``."""
    from springblock.pipeline import DEFAULT_OUT, PRESETS
    from springblock.validation.nets.data import ALLOWED, DEFAULT_DATASET
    from springblock.validation.nets.sweep import SweepSpec

    p = groups.add_parser(
        "run",
        help="the whole pipeline into one HTML report (default preset: several minutes on 2 cores)",
        description="Derive the spring-block model's phase boundaries, simulate its phase "
        "diagram, train noise x nonlinearity panels of MLPs on the bundled FashionMNIST, "
        "test the paper's claims on them, compare theory and nets, and write "
        f"OUT/report.html and OUT/results.nc (default OUT: {DEFAULT_OUT}). Finished stages "
        "are stored and reused; an interrupted run resumes.",
    )
    p.add_argument(
        "--preset",
        choices=PRESETS,
        default="quick",
        help="quick: data-noise and dropout panels, 6 alphas x 5 values x 2 seeds, 100 "
        "epochs, minutes on 2 cores; paper: the paper's four panels at full size (10 seeds, "
        "100 epochs, 200 for the learning rate; hours on 2 cores: docs/validation.md gives "
        "its expected wall time, docs/scaling.md how to spread it)",
    )
    p.add_argument(
        "--dataset",
        help=f"data set of the nets stages: {ALLOWED} (default {DEFAULT_DATASET})",
    )
    p.add_argument(
        "--hessian",
        action="store_true",
        help="also measure every net's loss curvature (top Hessian eigenvalue and trace, "
        "as `nets sweep --measure hessian`; 96 Hessian-vector products per net over the "
        "training set) and plot it in the report",
    )
    p.add_argument(
        "--arch",
        choices=("mlp", "cnn"),
        default="mlp",
        help="the net of every panel: mlp, the paper's MLP; cnn, the authors' CNN (image "
        "data only; each net costs tens of times an MLP's on a CPU: docs/cnn.md) "
        "(default mlp)",
    )
    p.add_argument(
        "--channels",
        type=parse_int,
        help="channels of every CNN block (default "
        f"{SweepSpec.__dataclass_fields__['channels'].default}, as nets sweep)",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR")
    from springblock.cli.nets import add_execution

    add_execution(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(configure=configure, execute=execute)


def configure(args):
    from springblock import pipeline
    from springblock.cli.nets import execution_of

    chosen = pipeline.preset(
        args.preset, args.dataset, hessian=args.hessian, arch=args.arch, channels=args.channels
    )
    return chosen, execution_of(args), check_out(args.out)


def execute(config, args) -> int:
    from springblock import pipeline

    chosen, execution, out = config
    try:
        result = pipeline.run(
            chosen,
            out,
            log=lambda m: log(args, m),
            progress=not args.no_progress,
            execution=execution,
        )
    except pipeline.StageFailed as err:
        print(
            f"springblock run: error: {err}; finished stages are kept in {out}/stages",
            file=sys.stderr,
        )
        return 1
    lines = [
        f"{panel['knob']} panel: " + " ".join(panel["claims"]["sentences"].values())
        for panel in result["panels"]
    ]
    lines.append(f"total {result['wall_time_s']:.1f} s; report: {result['report']}")
    emit(args, result, "\n".join(lines))
    return 0
