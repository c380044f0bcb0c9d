"""The loss curvature (docs/hessian.md): the Hessian measures checked against the dense
Hessian of a tiny trained net, and a dropout panel of MLPs on the bundled FashionMNIST
swept with ``--measure hessian`` (3 alphas x 3 dropout rates x 2 seeds, 100 epochs).

Runs the documented command ``springblock nets sweep ... --measure hessian`` in a fresh
directory and copies its curvature figure to docs/img. About 3 minutes on 2 cores.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from _cli import finite, run_json

ALPHAS = ("0", "0.5", "1")
RATES = ("0", "0.16", "0.32")
SWEEP = ["nets", "sweep", "--knob", "dropout", "--values", *RATES, "--alphas", *ALPHAS]
SWEEP += ["--seeds", "2", "--measure", "pinv", "hessian"]
FIGURES = ("hessian_dropout.png",)
#: Lanczos steps of the dense check (73: the tiny net's every parameter).
STEPS = (4, 8, 16, 32)
SAMPLES = 256


def dense_check() -> dict:
    """The tiny net of ``tests/nets/test_hessian.py`` (depth 3, width 4, trained 30
    epochs): Lanczos at several step counts and Hutchinson against its dense float64
    Hessian."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    from springblock.validation.nets import hessian, train

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(60, 3)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 60), jnp.int32)
    config = train.TrainConfig(depth=3, width=4, epochs=30, early_stopping=False)
    trained = train.train(config, x, y, 3, train.Hyper(alpha=0.3), jax.random.key(1))
    size = int(ravel_pytree(trained.params)[0].size)
    dense = hessian.dense_hessian(trained.params, trained.stats, x, y, 0.3)
    eig = np.linalg.eigvalsh(dense)
    rows = []
    for steps in (*STEPS, size):
        got = hessian.curvature(
            trained.params, trained.stats, x, y, 0.3, jax.random.key(2), steps, SAMPLES
        )
        rows.append(
            {
                "steps": steps,
                "top": float(got.top_eigenvalue),
                "residual": float(got.top_eigenvalue_residual),
                "error": abs(float(got.top_eigenvalue) - float(eig[-1])),
            }
        )
    return {
        "parameters": size,
        "dense_top": float(eig[-1]),
        "dense_bottom": float(eig[0]),
        "dense_trace": float(np.trace(dense)),
        "lanczos": rows,
        "trace": float(got.trace),
        "trace_se": float(got.trace_standard_error),
        "samples": SAMPLES,
    }


def run(img: Path) -> dict:
    import springblock

    check = dense_check()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hessian"
        sweep = run_json([*SWEEP, "--out", str(out), "--no-progress"])
        wall_s = time.perf_counter() - started
        ds = springblock.open_results(out)
        cells = []
        for alpha in ds["alpha"].values:
            for rate in ds["dropout"].values:
                cell = ds.sel(alpha=alpha, dropout=rate)
                row = {"alpha": float(alpha), "dropout": float(rate)}
                for name in ("hessian_top_eigenvalue", "hessian_trace", "test_accuracy"):
                    row[name] = finite(cell[f"cell_{name}_mean"])
                    row[name + "_se"] = finite(cell[f"cell_{name}_sem"])
                cells.append(row)
        for name in FIGURES:
            shutil.copyfile(out / name, img / name)
    return {
        "dense": check,
        "command": "springblock " + " ".join(SWEEP),
        "nets": sweep["nets"],
        "cells": cells,
        "wall_s": wall_s,
        "cpu_count": os.cpu_count(),
    }


def block_dense(r: dict) -> str:
    d = r["dense"]
    out = [
        f"A net of depth 3 and width 4 ({d['parameters']} parameters) trained 30 epochs; its "
        f"dense float64 Hessian has top eigenvalue {d['dense_top']:.7g}, smallest "
        f"{d['dense_bottom']:.3g} and trace {d['dense_trace']:.6g}. Lanczos in float32:",
        "",
        "| Lanczos steps | top eigenvalue | residual bound | error against the dense |",
        "|---|---|---|---|",
    ]
    for row in d["lanczos"]:
        out.append(
            f"| {row['steps']} | {row['top']:.7g} | {row['residual']:.2g} | {row['error']:.2g} |"
        )
    gap = abs(d["trace"] - d["dense_trace"]) / d["trace_se"]
    out += [
        "",
        f"Hutchinson with {d['samples']} Rademacher vectors: {d['trace']:.4g} ± "
        f"{d['trace_se']:.3g} (one standard error); the dense trace lies {gap:.2f} standard "
        "errors away.",
    ]
    return "\n".join(out)


def block_panel(r: dict) -> str:
    nets = r["nets"]
    rates = sorted({c["dropout"] for c in r["cells"]})
    out = [
        f"`{r['command']}`: {sum(nets.values())} nets ({nets['ok']} ok) in "
        f"{r['wall_s'] / 60:.1f} minutes on {r['cpu_count']} cores. Cell means ± one "
        "standard error over seeds of the top eigenvalue / the trace of the final training "
        "loss's Hessian:",
        "",
        "| alpha | " + " | ".join(f"dropout {p:g}" for p in rates) + " |",
        "|---|" + "---|" * len(rates),
    ]

    def fmt(x, se):
        return "–" if x is None else f"{x:.3g} ± {se or 0:.2g}"

    for alpha in sorted({c["alpha"] for c in r["cells"]}):
        row = []
        for p in rates:
            (c,) = [x for x in r["cells"] if x["alpha"] == alpha and x["dropout"] == p]
            row.append(
                fmt(c["hessian_top_eigenvalue"], c["hessian_top_eigenvalue_se"])
                + " / "
                + fmt(c["hessian_trace"], c["hessian_trace_se"])
            )
        out.append(f"| {alpha:g} | " + " | ".join(row) + " |")
    return "\n".join(out)


BLOCKS = {"dense": block_dense, "panel": block_panel}
