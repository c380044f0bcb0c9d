"""The authors' CNN (docs/cnn.md): a dropout panel of their architecture on the bundled
FashionMNIST at 10 x 10 x 1, at a protocol reduced to fit 2 cores (8 channels, 50 epochs
at Adam 1e-3, against their 20 channels and up to 2000 epochs at 1e-4), with the trace
measure they record; its wall time, per-net time and regime statistics.

Runs the documented command ``springblock nets sweep --arch cnn ...`` in a fresh
directory and copies the panel figure to docs/img (prefixed ``cnn_``). About 15 minutes
on 2 cores.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from _cli import finite, run_json

ALPHAS = ("0", "0.5", "1")
RATES = ("0", "0.08", "0.16", "0.32")
SWEEP = ["nets", "sweep", "--arch", "cnn", "--channels", "8", "--epochs", "50"]
SWEEP += ["--measure", "trace", "--knob", "dropout", "--values", *RATES, "--alphas", *ALPHAS]
SWEEP += ["--seeds", "2"]
FIGURES = ("cnn_panel_dropout.png",)


def _cells(out: Path) -> list[dict]:
    import springblock

    ds = springblock.open_results(out)
    rows = []
    for alpha in ds["alpha"].values:
        for rate in ds["dropout"].values:
            cell = ds.sel(alpha=alpha, dropout=rate)
            rows.append(
                {
                    "alpha": float(alpha),
                    "dropout": float(rate),
                    "phase": str(cell["cell_phase"].values),
                    "c": finite(cell["cell_normalised_curvature_mean"]),
                    "c_se": finite(cell["cell_normalised_curvature_sem"]),
                    "test_accuracy": finite(cell["cell_test_accuracy_mean"]),
                    "ok": int(cell["cell_n_ok"]),
                }
            )
    return rows


def run(img: Path) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cnn"
        sweep = run_json([*SWEEP, "--out", str(out), "--no-progress"])
        wall_s = time.perf_counter() - started
        cells = _cells(out)
        import springblock

        per_net = springblock.open_results(out)["train_seconds"].values.ravel()
        for name in FIGURES:
            shutil.copyfile(out / name.removeprefix("cnn_"), img / name)
    return {
        "command": "springblock " + " ".join(SWEEP),
        "nets": sweep["nets"],
        "claims": sweep["claims"]["sentences"],
        "best_cell": sweep["best_cell"],
        "cells": cells,
        "wall_s": wall_s,
        "net_seconds": {"mean": float(per_net.mean()), "min": float(per_net.min())},
        "cpu_count": os.cpu_count(),
    }


def _phase_name(index) -> str:
    """The class of ``phases.PHASES`` a cell's stored index names (-1: undefined, no
    separation gained)."""
    from springblock.theory.spring.phases import PHASES

    k = int(index)
    return PHASES[k] if k >= 0 else "undefined"


def block_panel(r: dict) -> str:
    nets = r["nets"]
    alphas = sorted({c["alpha"] for c in r["cells"]})
    rates = sorted({c["dropout"] for c in r["cells"]})
    out = [
        f"`{r['command']}`: {sum(nets.values())} nets ({nets['ok']} ok) in "
        f"{r['wall_s'] / 60:.1f} minutes on {r['cpu_count']} cores, "
        f"{r['net_seconds']['mean']:.1f} s per net of training and measurement on average "
        f"(compilation included in the wall time). Each cell's load-curve class and "
        "normalised curvature c (mean ± one standard error over seeds), test accuracy:",
        "",
        "| alpha | " + " | ".join(f"dropout {p:g}" for p in rates) + " |",
        "|---|" + "---|" * len(rates),
    ]
    for alpha in alphas:
        row = []
        for p in rates:
            (c,) = [x for x in r["cells"] if x["alpha"] == alpha and x["dropout"] == p]
            shape = "–" if c["c"] is None else f"{c['c']:+.2f} ± {c['c_se'] or 0:.2f}"
            acc = "–" if c["test_accuracy"] is None else f"{c['test_accuracy']:.3f}"
            row.append(f"{_phase_name(c['phase'])}, c {shape}, acc {acc}")
        out.append(f"| {alpha:g} | " + " | ".join(row) + " |")
    out += ["", *(f"- {s}" for s in r["claims"].values())]
    return "\n".join(out)


def conv_gflop(channels: int, images: int = 2560, side: int = 10, blocks: int = 7) -> float:
    """Multiply-adds x 2 of one full-batch forward pass through the convolutions: a 3 x 3
    convolution from c_in to c_out channels on an s x s map costs 2 s^2 9 c_in c_out per
    image (the first block reads one channel, FashionMNIST's)."""
    per_image = sum(2 * side**2 * 9 * (1 if b == 0 else channels) * channels for b in range(blocks))
    return images * per_image / 1e9


#: The authors' protocol (``src/main_cnn.py``): channels, most epochs, Adam's step size,
#: and their dropout grid.
AUTHORS = {"channels": 20, "epochs": 2000, "learning_rate": 1e-4}
AUTHORS_DROPOUT = (0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64)


def _option(name: str) -> str:
    return SWEEP[SWEEP.index(name) + 1]


def block_protocol(r: dict) -> str:
    """The reduced protocol of the panel, read from the command the job runs."""
    from springblock.validation.nets.sweep import SweepSpec

    default_lr = SweepSpec.__dataclass_fields__["learning_rate"].default
    return (
        f"The panel below runs a reduced protocol: {_option('--channels')} channels, "
        f"{_option('--epochs')} epochs, Adam at {default_lr:g} (theirs: "
        f"{AUTHORS['channels']} channels, up to {AUTHORS['epochs']} epochs at "
        f"{AUTHORS['learning_rate']:g}), {len(ALPHAS)} slopes x {len(RATES)} dropout rates "
        f"(a subset of their grid {', '.join(f'{p:g}' for p in AUTHORS_DROPOUT)}) x "
        f"{_option('--seeds')} seeds, on the bundled FashionMNIST."
    )


def block_cost(r: dict) -> str:
    channels, epochs = int(_option("--channels")), int(_option("--epochs"))
    theirs, ours = conv_gflop(AUTHORS["channels"]), conv_gflop(channels)
    return (
        f"One full-batch forward pass through the convolutions costs {theirs:.1f} GFLOP at "
        f"the authors' {AUTHORS['channels']} channels on 2560 images of 10 x 10 x 1 and "
        f"{ours:.1f} GFLOP at {channels} "
        f"channels (a training step is about three passes); measured in the panel below, "
        f"a net of {channels} channels and {epochs} epochs takes "
        f"{r['net_seconds']['mean']:.0f} s "
        f"here, so a net at the authors' size and {AUTHORS['epochs']} epochs would take "
        f"about {r['net_seconds']['mean'] * theirs / ours * AUTHORS['epochs'] / epochs / 3600:.1f}"
        " hours at "
        "the same rate."
    )


BLOCKS = {"panel": block_panel, "cost": block_cost, "protocol": block_protocol}
