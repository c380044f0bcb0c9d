"""Where a full-batch step of the paper's net spends its time, by kernel class, from XLA's
per-kernel trace: ``benchmarks/step_profile.py`` run in a child process with the
single-thread XLA flags the Dask workers get, pinned to one core as they are. About a
minute.
"""

from __future__ import annotations

import os
from pathlib import Path

from _cli import run_benchmark_single_threaded


def run(img: Path) -> dict:
    result = run_benchmark_single_threaded("step_profile.py", ["--one-core"])
    result["command"] = "python3 benchmarks/step_profile.py --one-core (single-threaded)"
    result["load_average"] = os.getloadavg()
    return result


def block_classes(r: dict) -> str:
    rows = ["| kernels | ms per step | kernels per step | share |", "|---|---|---|---|"]
    for name, entry in r["per_step"].items():
        share = 100 * entry["share"]
        rows.append(f"| {name} | {entry['ms']:.2f} | {entry['kernels']:.0f} | {share:.0f} % |")
    products = r["per_step"]["matrix products"]
    alone = r["isolated_products"]
    rates = ", ".join(f"{name} {entry['gflops']:.0f}" for name, entry in alone.items())
    epochs = 100
    per_step = r["per_step"]
    bn = per_step.get("BatchNorm + LeakyReLU kernels")
    rest = 100 * (1 - products["share"])
    if bn is not None and bn["kernels"] > 0:
        bn_text = (
            f"BatchNorm + LeakyReLU and their reverse passes run as {bn['kernels']:.0f} calls "
            f"of the compiled kernels, {bn['ms']:.2f} ms per step. "
        )
    else:
        bn_text = "The compiled BatchNorm kernels are not built here: XLA's fusions run it. "
    if products["share"] >= 0.85:
        target = f"The products are {100 * products['share']:.0f} % of the step's kernel time."
    else:
        factor = (1 - products["share"]) / products["share"] / (0.15 / 0.85)
        target = (
            f"Everything but the products is {rest:.0f} % of the step's kernel time: for the "
            "products to be 85 % of a step (a net at 85 % of the matrix-product limit), that "
            f"part would have to be {factor:.1f}x smaller."
        )
    return "\n".join(
        [
            f"Measured by `{r['command']}` (load average {r['load_average'][0]:.1f}; one step "
            f"is the difference of {r['epochs'][1]} and {r['epochs'][0]} epochs, "
            f"{r['wall_ms_per_step']:.1f} ms without the profiler, "
            f"{r['kernels_ms_per_step']:.1f} ms of kernels under it):",
            "",
            *rows,
            "",
            f"The step's {r['products_per_step']} matrix products run at "
            f"{r['products_in_step_gflops']:.0f} GFLOP/s inside it; timed alone in the same "
            f"run, the same shapes reach (GFLOP/s) {rates}. If everything else cost nothing, "
            f"the products would still take {products['ms']:.1f} ms per step, "
            f"{epochs * products['ms'] / 1e3:.2f} s per net of {epochs} epochs on one core. "
            f"{bn_text}{target}",
        ]
    )


BLOCKS = {"classes": block_classes}
