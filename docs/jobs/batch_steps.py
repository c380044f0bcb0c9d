"""What one optimiser step costs by batch size, the batch-size panel's per-step overhead:
``benchmarks/batch_steps.py`` run in a child process with the single-thread XLA flags the
Dask workers get, one net per call and ten nets vmapped per call. About six minutes.
"""

from __future__ import annotations

import os
from pathlib import Path

from _cli import run_benchmark_single_threaded

BATCH_SIZES = (2560, 320, 80, 20, 5)
NETS = (1, 10)


def run(img: Path) -> dict:
    # the fastest of 5 calls: an epoch's cost is a difference of two timings (1 and 3
    # epochs), and this machine's speed drifts by tens of per cent within minutes
    argv = ["--batch-sizes", *map(str, BATCH_SIZES), "--nets", *map(str, NETS), "--repeats", "5"]
    return {
        "rows": run_benchmark_single_threaded("batch_steps.py", argv),
        "command": "python3 benchmarks/batch_steps.py " + " ".join(argv),
        "load_average": os.getloadavg(),
    }


def block_steps(r: dict) -> str:
    by = {(row["batch_size"], row["nets_per_call"]): row for row in r["rows"]}
    rows = [
        "| batch | steps per epoch | ms per step | s per net, 100 epochs | "
        "ms per step and net, 10 nets vmapped |",
        "|---|---|---|---|---|",
    ]
    for batch in sorted({b for b, _ in by}, reverse=True):
        one, ten = by[(batch, 1)], by.get((batch, 10))
        vmapped = f"{ten['ms_per_step']:.3f}" if ten else "-"
        rows.append(
            f"| {batch} | {one['steps_per_epoch']} | {one['ms_per_step']:.3f} | "
            f"{one['s_per_net_100_epochs']:.1f} | {vmapped} |"
        )
    full, smallest = max(by)[0], min(by)[0]
    work = by[(full, 1)]["ms_per_step"] / (full / smallest)
    small = by[(smallest, 1)]["ms_per_step"]
    ratio = by[(smallest, 10)]["ms_per_step"] / small if (smallest, 10) in by else None
    if ratio is None:
        vmap = ""
    elif ratio < 0.9:
        vmap = f" Ten nets vmapped share it: {ratio:.2f}x the time per net of one net a call."
    elif ratio > 1.1:
        vmap = f" Ten nets vmapped do not share it: {ratio:.2f}x the time per net."
    else:
        vmap = f" Ten nets vmapped leave the time per net about the same ({ratio:.2f}x)."
    return "\n".join(
        [
            f"Measured by `{r['command']}` on one single-threaded process (load average "
            f"{r['load_average'][0]:.1f}); times per net:",
            "",
            *rows,
            "",
            f"A batch-{smallest} step does 1/{full // smallest} of a full-batch step's "
            f"arithmetic ({work:.3f} ms of it at the full-batch rate) but costs "
            f"{small:.3f} ms: what remains is the fixed cost of the step's kernels.{vmap}",
        ]
    )


BLOCKS = {"steps": block_steps}
