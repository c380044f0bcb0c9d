"""The load curve through training (docs/training.md): a dropout panel of MLPs on the
bundled FashionMNIST (5 alphas x 5 dropout rates x 3 seeds, 100 epochs, D_l recorded every
10 epochs), its load curves at each checkpoint, and the spring-block model's time
evolution with fitted maps against the nets' c(epoch) and v(epoch), scored on held-out
pairs next to the baselines.

Runs the documented commands ``springblock nets sweep ... --checkpoint-every 10`` and
``springblock nets trajectories`` in a fresh directory and copies the figures to docs/img
(prefixed ``training_``). About 8 minutes on 2 cores.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from _cli import run_json
from _tables import fmt

ALPHAS = ("0", "0.25", "0.5", "0.75", "1")
RATES = ("0", "0.08", "0.16", "0.24", "0.32")
SWEEP = ["nets", "sweep", "--knob", "dropout", "--values", *RATES, "--alphas", *ALPHAS]
SWEEP += ["--seeds", "3", "--checkpoint-every", "10"]
TRAJECTORIES = ["nets", "trajectories", "--permutations", "200"]
FIGURES = (
    "training_checkpoints_dropout.png",
    "training_load_curves_dropout.gif",
    "training_trajectories_c.png",
    "training_trajectories_v.png",
)
SCORES = ("kappa", "spearman_c", "spearman_v", "time_spearman_c", "time_spearman_v")


def run(img: Path) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "training"
        sweep = run_json([*SWEEP, "--out", str(out), "--no-progress"])
        sweep_s = time.perf_counter() - started
        result = run_json([*TRAJECTORIES, "--out", str(out)])
        trajectories_s = time.perf_counter() - started - sweep_s
        for name in FIGURES:
            source = name.removeprefix("training_")
            folder = out / "trajectories" if source.startswith("trajectories_") else out
            shutil.copyfile(folder / source, img / name)
    return {
        "commands": ["springblock " + " ".join(SWEEP), "springblock " + " ".join(TRAJECTORIES)],
        "nets": sweep["nets"],
        "trajectories": {k: v for k, v in result.items() if k != "figures"},
        "sweep_s": sweep_s,
        "trajectories_s": trajectories_s,
        "cpu_count": os.cpu_count(),
    }


def block_sweep(r: dict) -> str:
    nets = r["nets"]
    epochs = sorted(r["trajectories"]["epochs"])
    return (
        f"`{r['commands'][0]}`: {sum(nets.values())} nets ({nets['ok']} ok), D_l recorded "
        f"at epochs {', '.join(map(str, epochs))}, in {r['sweep_s'] / 60:.1f} minutes on "
        f"{r['cpu_count']} cores."
    )


def block_scores(r: dict) -> str:
    t = r["trajectories"]
    fit = t["fit"]
    params = ", ".join(f"{k} = {v:.3g}" for k, v in fit["parameters"].items())
    out = [
        f"`{r['commands'][1]}` ({r['trajectories_s'] / 60:.1f} minutes; "
        f"{t['defined_pairs']} of {t['pairs']} (cell, epoch) pairs defined; model "
        f"{t['model']['solver']}, {t['model']['blocks']} blocks). Fitted on every pair: "
        f"{params}; on a bound: {', '.join(fit['on_bound']) or 'none'}; loss "
        f"{fit['loss']:.4g}.",
        "",
    ]
    for split, entry in t["splits"].items():
        names = list(entry["baselines"])
        out += [
            f"**{split}** (held out: {entry['theory']['cells']} pairs)",
            "",
            "| score | theory | p | " + " | ".join(names) + " |",
            "|---|---|---|" + "---|" * len(names),
        ]
        for score in SCORES:
            p = entry["p_value"].get(score)
            cells = [score, fmt(entry["theory"][score]), "–" if p is None else f"{p:.3f}"]
            cells += [fmt(entry["baselines"][b][score]) for b in names]
            out.append("| " + " | ".join(cells) + " |")
        out += ["", f"- {entry['sentence']}", ""]
    out.append(f"- {t['clock']['sentence']}")
    return "\n".join(out)


def block_reading(r: dict) -> str:
    """How well the model's time scale tracks the nets', in words, from the scores."""
    t = r["trajectories"]
    tracking = []
    for split, entry in t["splits"].items():
        detail = entry["theory"]["time_spearman_c_detail"]
        p = entry["p_value"].get("time_spearman_c")
        mean = detail["mean"]
        significant = mean is not None and mean > 0 and p is not None and p < 0.05
        if significant and detail["sign_p"] is not None and detail["sign_p"] < 0.05:
            tracking.append(split)
    clock = t["clock"]
    head = (
        f"Through time the model tracks the nets' curvature in {len(tracking)} of "
        f"{len(t['splits'])} splits"
        + (f" ({', '.join(tracking)})" if tracking else "")
        + " (per-cell time Spearman of c positive with permutation p < 0.05 and sign-test "
        "p < 0.05)"
    )
    if not tracking:
        head += ": **the model's time scale does not track the nets'; its course through "
        head += "training is at chance**"
    ratio = clock["loss_at_fitted"] / clock["loss_frozen"] if clock["loss_frozen"] else None
    tail = (
        f"With the maps fitted to the last epoch, the model's earlier load curves have "
        f"{'–' if ratio is None else f'{ratio:.2f}'} times the loss of simply repeating "
        f"each cell's last epoch (frozen), and the best clock factor is "
        f"{clock['best_factor']:.3g}"
        + (", at the edge of the table's times" if clock["on_edge"] else "")
        + "."
    )
    return head + ". " + tail


BLOCKS = {"sweep": block_sweep, "scores": block_scores, "reading": block_reading}
