"""What a training step of the paper's net costs one single-threaded worker, part by part:
``benchmarks/train_step.py`` run in a child process with the single-thread XLA flags the
Dask workers get (springblock.validation.nets.executor.SINGLE_THREAD_FLAGS). About two
minutes.
"""

from __future__ import annotations

import os
from pathlib import Path

from _cli import run_benchmark_single_threaded


def run(img: Path) -> dict:
    result = run_benchmark_single_threaded("train_step.py", [])
    result["command"] = "python3 benchmarks/train_step.py (single-threaded)"
    result["load_average"] = os.getloadavg()
    return result


def block_steps(r: dict) -> str:
    steps = r["ms_per_step"]
    floor = steps["matrix products only"]
    rows = ["| full-batch step | ms | over the matrix products |", "|---|---|---|"]
    for name, ms in steps.items():
        rows.append(f"| {name} | {ms:.1f} | {ms - floor:+.1f} |")
    draws = r["draws_ms_per_step"]
    rows += ["", "| random draws of one step | ms |", "|---|---|"]
    rows += [f"| {name} | {ms:.2f} |" for name, ms in draws.items()]
    plain = steps["plain, sample-major"]
    fused = steps["batch_norm_activation, XLA fusions"]
    kernels = steps.get("batch_norm_activation, CPU kernels")
    masks = draws["dropout masks, threefry"] / draws["dropout masks, random_bits"]
    picks = draws.get("label pick, argsort ranks"), draws.get("label pick, train.lowest_ranked")
    pick_text = (
        ""
        if None in picks
        else f" The data-noise knob's relabelled fifth is picked {picks[0] / picks[1]:.1f}x "
        "faster from one sort's threshold than from every draw's rank (the same samples)."
    )
    if kernels is None:
        kernel_text = "The compiled CPU kernels were not built where this ran."
    else:
        verdict = (
            f"make it another {fused / kernels:.2f}x faster"
            if kernels < fused
            else f"made it {kernels / fused:.2f}x slower in this run, not faster"
        )
        kernel_text = (
            f"The compiled CPU kernels {verdict}: {kernels - floor:+.1f} ms over the matrix "
            f"products, against {fused - floor:+.1f} ms with XLA's fusions."
        )
    return "\n".join(
        [
            f"Measured by `{r['command']}` (load average {r['load_average'][0]:.1f}):",
            "",
            *rows,
            "",
            f"The fused layer with its written reverse pass makes a step {plain / fused:.2f}x "
            "faster than XLA's reverse pass of the plain formula, computed by XLA's fusions. "
            f"{kernel_text} The counter-based masks are drawn {masks:.1f}x faster than "
            f"Threefry's.{pick_text}",
        ]
    )


BLOCKS = {"steps": block_steps}
