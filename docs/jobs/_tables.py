"""Markdown renderers shared by the docs jobs (a leading underscore: not a job itself)."""

from __future__ import annotations

SCORES = ("kappa", "spearman_c", "spearman_v")


def fmt(x: float | None) -> str:
    """A signed score with two decimals; a dash where the score is undefined."""
    return "–" if x is None else f"{x:+.2f}"


def theory_vs_baselines(rows: list[tuple[str | None, str, dict]]) -> list[str]:
    """A table of held-out scores: for each (panel or None, split name, split entry of
    ``theory_vs_nets``) one line per score with the theory, its permutation p-value and
    every baseline on the same cells. The panel column appears when a panel is given."""
    panels = any(panel is not None for panel, _, _ in rows)
    names = list(rows[0][2]["baselines"])
    head = ["panel"] if panels else []
    out = ["| " + " | ".join([*head, "split", "score", "theory", "p", *names]) + " |"]
    out.append("|" + "---|" * (len(head) + 4 + len(names)))
    for panel, split_name, split in rows:
        for score in SCORES:
            cells = [panel] if panels else []
            cells += [split_name, score, fmt(split["theory"][score])]
            cells += [f"{split['p_value'][score]:.3f}"]
            cells += [fmt(split["baselines"][b][score]) for b in names]
            out.append("| " + " | ".join(str(c) for c in cells) + " |")
    return out


def model_comparison(comparison: dict) -> list[str]:
    """Held-out kappa and rank correlations of the two tabulated models side by side, per
    (panel, split) of ``validation.compare.models.compare_models``, and which is better."""
    a, b = comparison["models"]
    head = ["panel", "split"] + [f"{s} ({m})" for s in SCORES for m in (a, b)] + ["better"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in comparison["splits"]:
        cells = [r["panel"], r["split"]]
        cells += [fmt(r["scores"][m][s]) for s in SCORES for m in (a, b)]
        cells.append(r["better"] if r["better"] == "mixed" else f"model ({r['better']})")
        out.append("| " + " | ".join(cells) + " |")
    return out
