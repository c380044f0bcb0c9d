"""The depth experiment (docs/depth.md): a depth panel of MLPs on the bundled FashionMNIST
(5 alphas x 5 depths x 5 seeds, 100 epochs, the paper's protocol otherwise), how its load
distributes over the layers as depth grows, and the spring-block model on chains of
matching length fitted to it, scored on held-out cells next to the baselines.

Runs the documented commands ``springblock nets sweep --knob depth ...`` and ``springblock
nets compare`` in a fresh directory and copies the figures to docs/img (prefixed
``depth_``). About 10 minutes on 2 cores (new model tables are tabulated once).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import _tables as tables
from _cli import run_json

ALPHAS = ("0", "0.25", "0.5", "0.75", "1")
DEPTHS = ("4", "6", "8", "10", "12")
SWEEP = ["nets", "sweep", "--knob", "depth", "--values", *DEPTHS, "--alphas", *ALPHAS]
SWEEP += ["--seeds", "5"]
COMPARE = ["nets", "compare", "--permutations", "200"]
FIGURES = (
    "depth_load_by_depth.png",
    "depth_panel_depth.png",
    "depth_compare_curves_depth.png",
    "depth_compare_maps_depth.png",
)


def run(img: Path) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "depth"
        sweep = run_json([*SWEEP, "--out", str(out), "--no-progress"])
        sweep_s = time.perf_counter() - started
        compare = run_json([*COMPARE, "--out", str(out)])
        compare_s = time.perf_counter() - started - sweep_s
        for name in FIGURES:
            source = name.removeprefix("depth_")
            folder = out / "compare" if source.startswith("compare_") else out
            shutil.copyfile(folder / source, img / name)
    return {
        "commands": ["springblock " + " ".join(SWEEP), "springblock " + " ".join(COMPARE)],
        "sweep": {k: v for k, v in sweep.items() if k not in ("store", "figures", "cells")},
        "compare": {k: v for k, v in compare.items() if k != "figures"},
        "sweep_s": sweep_s,
        "compare_s": compare_s,
        "cpu_count": os.cpu_count(),
    }


def block_loads(r: dict) -> str:
    rows = r["sweep"]["load_by_depth"]
    depths = sorted({row["depth"] for row in rows})
    alphas = sorted({row["alpha"] for row in rows})
    nets = r["sweep"]["nets"]
    out = [
        f"`{r['commands'][0]}`: {sum(nets.values())} nets ({nets['ok']} ok) in "
        f"{r['sweep_s'] / 60:.1f} minutes on {r['cpu_count']} cores. Load share of the "
        "deeper half of the layers (1/2: equal loads), mean ± one standard error over the "
        "seeds:",
        "",
        "| alpha | " + " | ".join(f"D = {d}" for d in depths) + " |",
        "|---|" + "---|" * len(depths),
    ]
    for alpha in alphas:
        cells = []
        for d in depths:
            (row,) = [x for x in rows if x["alpha"] == alpha and x["depth"] == d]
            share, sem = row["deep_share"], row["deep_share_sem"]
            cells.append("–" if share is None else f"{share:.2f} ± {sem or 0:.2f}")
        out.append(f"| {alpha:g} | " + " | ".join(cells) + " |")
    claims = r["sweep"]["claims"]["sentences"]
    out += ["", *(f"- {claims[name]}" for name in ("best_in_band", "accuracy_correlations"))]
    return "\n".join(out)


def block_theory(r: dict) -> str:
    (entry,) = r["compare"]["panels"]
    fit = entry["fit"]
    used = [k for k in fit["parameters"] if not k.startswith(("noise_rise", "noise_exponent"))]
    params = ", ".join(f"{k} = {fit['parameters'][k]:.3g}" for k in used)
    bound = ", ".join(fit["on_bound"]) or "none"
    chains = "/".join(str(b) for b in r["compare"]["model"]["chains"])
    rows = tables.theory_vs_baselines([(None, n, s) for n, s in entry["splits"].items()])
    return "\n".join(
        [
            f"`{r['commands'][1]}` ({r['compare_s'] / 60:.1f} minutes; chains of {chains} "
            f"blocks): fitted {params}; on a bound: {bound}; loss {fit['loss']:.4g} "
            f"(predicting the mean: {fit['loss_of_the_mean']:.4g}).",
            "",
            *rows,
            "",
            *(f"- {split['sentence']}" for split in entry["splits"].values()),
        ]
    )


BLOCKS = {"loads": block_loads, "theory": block_theory}
