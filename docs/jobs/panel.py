"""One whole panel of the paper preset: the data-noise knob at the paper's grid (6 alphas x
9 noise levels x 10 seeds = 540 nets, 100 epochs, bundled FashionMNIST), its claims, the
theory-vs-nets comparison on it with 200 permutations, and its measured wall time (the
basis of the paper preset's extrapolated wall time).

Runs the documented commands ``springblock nets sweep --knob data-noise --seeds 10`` and
``springblock nets compare`` in a fresh directory and copies their figures to docs/img
(prefixed ``paper_``). About 20 minutes on 2 cores.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import _tables as tables
from _cli import run_json

KNOB = "data-noise"
SWEEP = ["nets", "sweep", "--knob", KNOB, "--seeds", "10"]
COMPARE = ["nets", "compare", "--permutations", "200"]  # model (a); then with --model b
FIGURES = (
    f"paper_panel_{KNOB}.png",
    f"paper_maps_{KNOB}.png",
    f"paper_compare_maps_{KNOB}.png",
    f"paper_compare_fit_{KNOB}.png",
)


#: Nets per knob value of the sample the panel's wall time is extrapolated from just before
#: it is trained (docs/jobs/paper_time.py imports it for every panel).
SAMPLE_PER_VALUE = 6


def run(img: Path) -> dict:
    from springblock.validation.compare import models
    from springblock.validation.nets import timing
    from springblock.validation.nets.sweep import SweepSpec

    spec = SweepSpec.for_knob(KNOB, seeds=10)
    with tempfile.TemporaryDirectory() as tmp:
        # side by side with the full panel: this machine's speed drifts by tens of per cent
        # over an hour, which a check run at another time would mistake for the estimate's
        estimate = timing.measure(spec, Path(tmp) / "sample", SAMPLE_PER_VALUE).to_json()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "panel"
        sweep = run_json([*SWEEP, "--out", str(out), "--no-progress"])
        sweep_s = time.perf_counter() - started
        compare = run_json([*COMPARE, "--out", str(out)])
        compare_s = time.perf_counter() - started - sweep_s
        compare_b = run_json([*COMPARE, "--model", "b", "--out", str(out)])
        compare_b_s = time.perf_counter() - started - sweep_s - compare_s
        for name in FIGURES:
            source = name.removeprefix("paper_")
            folder = out / "compare" if source.startswith("compare_") else out
            shutil.copyfile(folder / source, img / name)
    return {
        "commands": ["springblock " + " ".join(SWEEP), "springblock " + " ".join(COMPARE)],
        "sweep": {k: v for k, v in sweep.items() if k not in ("store", "figures")},
        "compare": {k: v for k, v in compare.items() if k != "figures"},
        "compare_b": {k: v for k, v in compare_b.items() if k != "figures"},
        "model_comparison": models.compare_models({"a": compare, "b": compare_b}),
        "sweep_s": sweep_s,
        "compare_s": compare_s,
        "compare_b_s": compare_b_s,
        "nets": spec.nets,
        "sample_estimate": estimate,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def block_claims(r: dict) -> str:
    s = r["sweep"]
    claims = s["claims"]["sentences"]
    lines = [
        f"`{r['commands'][0]}`: {r['nets']} nets in {r['sweep_s'] / 60:.1f} minutes on "
        f"{r['cpu_count']} cores ({r['sweep_s'] / r['nets']:.2f} s per net, compilation "
        "included).",
        "",
        *(
            f"- {claims[name]}"
            for name in ("regimes", "best_in_band", "accuracy_correlations", "seeds")
        ),
    ]
    return "\n".join(lines)


def block_theory(r: dict) -> str:
    (entry,) = r["compare"]["panels"]
    fit = entry["fit"]
    params = ", ".join(f"{k} = {v:.3g}" for k, v in fit["parameters"].items())
    bound = ", ".join(fit["on_bound"]) or "none"
    rows = tables.theory_vs_baselines([(None, n, s) for n, s in entry["splits"].items()])
    verdicts = [f"- {split['sentence']}" for split in entry["splits"].values()]
    return "\n".join(
        [
            f"`{r['commands'][1]}` ({r['compare_s'] / 60:.1f} minutes): fitted {params}; "
            f"on a bound: {bound}; loss {fit['loss']:.4g} (predicting the mean: "
            f"{fit['loss_of_the_mean']:.4g}).",
            "",
            *rows,
            "",
            *verdicts,
        ]
    )


def block_time(r: dict) -> str:
    e = r["sample_estimate"]
    return (
        f"Check, side by side: just before training the data-noise panel in full "
        f"({r['nets']} nets in {r['sweep_s'] / 60:.1f} minutes, figures and claims included), "
        f"the extrapolation from {e['sampled_nets']} of its nets ({e['sample_wall_s']:.0f} s) "
        f"predicted {e['total_s'] / 60:.1f} minutes: measured / predicted = "
        f"{r['sweep_s'] / e['total_s']:.2f}. The table's rows come from another run (this "
        "machine's speed drifts by tens of per cent within an hour)."
    )


def block_models(r: dict) -> str:
    c = r["model_comparison"]
    return "\n".join(
        [
            f"`{r['commands'][1]} --model b` ({r['compare_b_s'] / 60:.1f} minutes) on the same "
            f"panel: **{c['sentence']}**",
            "",
            *tables.model_comparison(c),
        ]
    )


BLOCKS = {
    "claims": block_claims,
    "theory": block_theory,
    "models": block_models,
    "time": block_time,
}
