"""The main job, ``springblock run`` on its default (quick) preset: the README's description
of it, its measured wall time, the paper's claims as measured on its panels and the
theory-vs-nets scores beside their baselines, and the panel figures.

Runs the documented command in a fresh directory (so the wall time includes compilation and
every stage), copies the figures to docs/img (prefixed ``run_``) and keeps the run's JSON
(``springblock run --json``). About five minutes on 2 cores.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import _tables as tables

COMMAND = ["run"]
KNOBS = ("data-noise", "dropout")  # the quick preset's panels (springblock.pipeline)
FIGURES = (
    *(f"run_panel_{k}.png" for k in KNOBS),
    *(f"run_maps_{k}.png" for k in KNOBS),
    *(f"run_compare_maps_{k}.png" for k in KNOBS),
)


def run(img: Path) -> dict:
    from springblock import cli, pipeline

    assert tuple(pipeline.QUICK_VALUES) == KNOBS, "update KNOBS to the quick preset's panels"
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            code = cli.main([*COMMAND, "--out", str(out), "--no-progress", "--json"])
        assert code == 0, stdout.getvalue()[-2000:]
        result = json.loads(stdout.getvalue())
        for knob in KNOBS:
            for prefix, folder in (("panel", f"nets-{knob}"), ("maps", f"nets-{knob}")):
                shutil.copyfile(
                    out / folder / f"{prefix}_{knob}.png", img / f"run_{prefix}_{knob}.png"
                )
            shutil.copyfile(
                out / "compare" / f"compare_maps_{knob}.png", img / f"run_compare_maps_{knob}.png"
            )
    result["command"] = "springblock " + " ".join(COMMAND)
    result["compute_s"] = time.perf_counter() - started
    result["cpu_count"] = os.cpu_count()
    result["load_average"] = os.getloadavg()
    for key in ("report", "results"):  # the temporary directory, not where a user finds it
        result[key] = Path(result[key]).name
    return result


def _panel(r: dict, knob: str) -> dict:
    return next(p for p in r["panels"] if p["knob"] == knob)


def _nets(r: dict) -> int:
    return sum(sum(p["nets"].values()) for p in r["panels"])


def _accuracy_range(p: dict) -> tuple[float, float]:
    """Lowest and highest cell-mean test accuracy (``cells`` lists every net)."""
    by_cell: dict[tuple, list[float]] = {}
    for net in p["cells"]:
        if net.get("test_accuracy") is not None and net["status"] == "ok":
            by_cell.setdefault((net["alpha"], net["value"]), []).append(net["test_accuracy"])
    means = [sum(a) / len(a) for a in by_cell.values()]
    return min(means), max(means)


def block_readme_intro(r: dict) -> str:
    sizes = ", ".join(
        f"{p['knob']} ({len({c['alpha'] for c in p['cells']})} alphas × "
        f"{len({c['value'] for c in p['cells']})} values)"
        for p in r["panels"]
    )
    seeds = r["panels"][0]["seeds"]
    epochs = r["panels"][0]["epochs"]
    return (
        "The first command installs the toolkit and runs the main job on its default "
        "(`quick`)\npreset: it derives the spring-block model's phase boundaries, simulates "
        f"the model's phase\ndiagram, trains {_nets(r)} MLPs on the bundled FashionMNIST "
        f"(10×10) in two noise × nonlinearity\npanels, {sizes}, {seeds} seeds and {epochs} "
        "epochs each (the paper: 10 seeds, 100 epochs),\ntests the paper's claims on them, "
        "fits the model to the nets and scores the fit on\n"
        "held-out cells against trivial predictors. It took "
        f"{r['wall_time_s'] / 60:.1f} minutes\nhere ({r['cpu_count']} CPU cores, compilation "
        "included) and writes one self-contained, offline HTML\nreport, "
        "`springblock-results/run/report.html`, beside the labelled arrays (`results.nc`),\n"
        "the JSON results and the figures (PNG, PDF). Run it again and it reuses what is "
        "done;\ninterrupt it and it resumes. The second command installs the test extras "
        "and runs the\ntest suite (lint included)."
    )


def block_readme_claims(r: dict) -> str:
    lines = [
        f"What the default run measured ({_nets(r)} nets; each statistic beside its chance "
        "level, with a\npermutation p-value; definitions in "
        "[docs/validation.md](docs/validation.md)):",
        "",
    ]
    for p in r["panels"]:
        for name in ("regimes", "best_in_band", "accuracy_correlations", "seeds"):
            lines.append(f"- {p['claims']['sentences'][name]}")
    return "\n".join(lines)


def _best_baseline(split: dict, score: str) -> tuple[str, float]:
    name, scores = max(
        split["baselines"].items(),
        key=lambda kv: -1e9 if kv[1][score] is None else kv[1][score],
    )
    return name, scores[score]


def _best_of_all(split: dict, score: str) -> bool:
    """The theory's held-out ``score`` is at least every baseline's (undefined = 0)."""

    def value(x):
        return 0.0 if x is None else x

    theory = value(split["theory"][score])
    return all(theory >= value(b[score]) for b in split["baselines"].values())


def _fmt(x: float | None, digits: int = 2) -> str:
    return "undefined" if x is None else f"{x:+.{digits}f}"


def _split_line(name: str, split: dict) -> str:
    t = split["theory"]
    base, base_kappa = _best_baseline(split, "kappa")
    verdict = (
        "beats every baseline" if split["beats_every_baseline"] else "does not beat every baseline"
    )
    at_chance = split["p_value"]["kappa"] >= 0.05
    return (
        f"{name}: κ = {_fmt(t['kappa'])} (p = {split['p_value']['kappa']:.3f}"
        f"{', at chance' if at_chance else ''}), Spearman c {_fmt(t['spearman_c'])}, "
        f"v {_fmt(t['spearman_v'])} on {t['cells']} held-out cells; best baseline "
        f"{base} κ = {_fmt(base_kappa)}; {verdict}"
    )


def block_readme_theory(r: dict) -> str:
    splits = [s for p in r["panels"] for s in p["theory_vs_nets"]["splits"].values()]
    splits += list(r["theory_vs_nets_joint"]["leave_one_panel_out"].values())
    beaten = sum(s["beats_every_baseline"] for s in splits)
    chance = sum(s["p_value"]["kappa"] >= 0.05 for s in splits)
    best = {score: sum(_best_of_all(s, score) for s in splits) for score in tables.SCORES}
    shuffles = splits[0]["permutations"]
    lines = [
        "Theory vs nets (model (a) fitted on some cells, scored on the others; κ is Cohen's "
        "kappa of\nthe three classes concave/linear/convex, 0 = chance). **In plain words: "
        f"the model beats every\ntrivial baseline on {beaten} of {len(splits)} held-out "
        f"splits, and its κ is at chance (p ≥ 0.05) on {chance} of {len(splits)}.** Score by "
        f"score, it is the best\npredictor (ties included) on κ in {best['kappa']} of "
        f"{len(splits)} splits, on Spearman c in {best['spearman_c']}, on Spearman v in "
        f"{best['spearman_v']}\n(permutation p-values from {shuffles} shuffles: at least "
        f"{1 / (1 + shuffles):.2f}).",
        "",
    ]
    for p in r["panels"]:
        entry = p["theory_vs_nets"]
        fit = entry["fit"]
        bound = f"; fitted {', '.join(fit['on_bound'])} on a bound" if fit["on_bound"] else ""
        lines.append(
            f"- **{p['knob']}** (fit loss {fit['loss']:.4g} vs {fit['loss_of_the_mean']:.4g} "
            f"for predicting the mean{bound}):"
        )
        lines += [f"  {_split_line(k, s)}." for k, s in entry["splits"].items()]
    joint = r["theory_vs_nets_joint"]
    for k, s in joint["leave_one_panel_out"].items():
        lines.append(f"- **joint**, {_split_line(k, s)}.")
    lines += [
        "",
        f"Model (a) against model (b) on the same splits: {r['model_comparison']['sentence']}",
    ]
    return "\n".join(lines)


def block_readme_panel_caption(r: dict) -> str:
    p = _panel(r, "data-noise")
    lo, hi = _accuracy_range(p)
    counts = p["claims"]["regimes"]["classes"]
    return (
        f"*The default run's data-noise panel on FashionMNIST ({_nets({'panels': [p]})} nets, "
        f"{len({(c['alpha'], c['value']) for c in p['cells']})} cells): each cell's load "
        "curve log D_l, shaded by test accuracy;\nconcave (red, deep layers learn), "
        "linear (yellow), convex (blue), "
        "dashed where the seeds\ndo not resolve the sign of c. Cells: "
        f"{counts['concave']} concave, "
        f"{counts['linear']}\nlinear, {counts['convex']} convex, {counts['undefined']} "
        f"undefined; cell-mean test accuracy {100 * lo:.1f}–{100 * hi:.1f} %.*"
    )


def block_validation_run(r: dict) -> str:
    rows = tables.theory_vs_baselines(
        [
            (p["knob"], name, split)
            for p in r["panels"]
            for name, split in p["theory_vs_nets"]["splits"].items()
        ]
    )
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in r["stages"].items())
    return (
        f"`{r['command']}` (quick preset, {_nets(r)} nets, {r['wall_time_s']:.0f} s on "
        f"{r['cpu_count']} cores; stages: {stages}). Scores on held-out cells; p: "
        "permutation p-value of the theory's score (the measured cells shuffled within "
        "the panel, and the fit and the score redone on every shuffle):\n\n" + "\n".join(rows)
    )


def block_models(r: dict) -> str:
    c = r["model_comparison"]
    return "\n".join(
        [
            f"On the default run ({_nets(r)} nets): **{c['sentence']}**",
            "",
            *tables.model_comparison(c),
        ]
    )


def block_tables(r: dict) -> str:
    lines = [
        "| model | blocks | μ_R | σ | μ_L/μ_R | times | noise paths |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, entry in r["theory_vs_nets_by_model"].items():
        t = entry["model"]["table"]
        paths = f"{t['seeds']} (λ = {t['decay']:g}, dt = {t['dt']:g})" if name == "b" else "–"
        lines.append(
            f"| ({name}) | {t['blocks']} | [0, {t['mu_max']:g}], {t['mu_points']} values | "
            f"[{t['noise_min']:g}, {t['noise_max']:g}], {t['noise_points']} | "
            f"[{t['asymmetry_min']:g}, {t['asymmetry_max']:g}], {t['asymmetry_points']} | "
            f"[{t['time_min']:g}, {t['time_max']:g}], {t['time_points']} | {paths} |"
        )
    return "\n".join(lines)


BLOCKS = {
    "models": block_models,
    "tables": block_tables,
    "readme_intro": block_readme_intro,
    "readme_claims": block_readme_claims,
    "readme_theory": block_readme_theory,
    "readme_panel_caption": block_readme_panel_caption,
    "validation_run": block_validation_run,
}
