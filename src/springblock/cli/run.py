"""``springblock run``: the main job, theory -> model -> nets -> comparison -> report."""

from __future__ import annotations

import sys
from pathlib import Path

from springblock.cli.common import emit

DEFAULT_OUT = Path("springblock-results") / "run"


def register(groups) -> None:
    """Add the top-level ``run`` command to ``groups``."""
    p = groups.add_parser(
        "run",
        help="the whole pipeline into one HTML report (default: a few minutes)",
        description="Derive the spring-block model's phase boundaries, simulate its phase "
        "diagram, train a noise x nonlinearity panel of MLPs, compare theory and nets, and "
        f"write OUT/report.html (default OUT: {DEFAULT_OUT}). Finished stages are stored "
        "and reused; an interrupted run resumes.",
    )
    p.add_argument(
        "--preset",
        choices=("quick", "paper"),
        default="quick",
        help="quick (default): reduced panel on MNIST-1D, minutes on 2 cores; "
        "paper: the paper's four panels at full size (FashionMNIST)",
    )
    p.add_argument(
        "--dataset",
        help="dataset of the nets stage (mnist1d, digits, gmm, "
        "fashion-mnist, PATH.npz; default: the preset's)",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(func=cmd_run)


def cmd_run(args) -> int:
    from springblock import pipeline

    chosen = pipeline.preset(args.preset, args.dataset)  # validated before any work

    def log(message: str) -> None:
        print(message, file=sys.stderr if args.json else sys.stdout, flush=True)

    try:
        result = pipeline.run(chosen, args.out, log=log, progress=not args.no_progress)
    except pipeline.StageFailed as err:
        print(
            f"springblock: error: {err}; finished stages are kept in {args.out}/stages",
            file=sys.stderr,
        )
        return 1
    emit(args, result, f"total {result['total_wall_time_s']:.1f} s; report: {result['report']}")
    return 0
