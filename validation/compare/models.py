"""Which tabulated spring-block model predicts held-out cells better: model (a)'s
mean-field flow or model (b)'s underdamped ensemble (issue 13, item 2).

Both comparisons (:func:`~springblock.validation.compare.theory_vs_nets.run_compare` with
``model="a"`` and ``"b"``) fit the same maps on the same training cells of the same splits
and score the same held-out cells, so their held-out scores compare directly. For every
(panel, split) and every leave-one-panel-out entry, a model is *better* when its scores
beat the other's (:func:`~springblock.validation.compare.scores.beats`: at least as good
on agreement, kappa and both rank correlations, better on one); otherwise the two are
*mixed* (each better on some score). The verdict counts these.
"""

from __future__ import annotations

from typing import Any

from springblock.validation.compare import scores


def _entries(result: dict) -> dict[tuple[str, str], dict]:
    """(panel, split) -> split entry of one comparison, leave-one-panel-out included."""
    out = {(e["knob"], split): s for e in result["panels"] for split, s in e["splits"].items()}
    for knob, s in result["joint"]["leave_one_panel_out"].items():
        out[(knob, "leave_one_panel_out")] = s
    return out


def compare_models(results: dict[str, dict]) -> dict:
    """Per (panel, split): each model's held-out scores and which is better; the tally and
    a plain sentence. ``results`` maps a model name to its comparison result."""
    if len(results) != 2:
        raise ValueError(f"two comparisons to set against each other, got {sorted(results)}")
    (a, ra), (b, rb) = results.items()
    ea, eb = _entries(ra), _entries(rb)
    rows: list[dict[str, Any]] = []
    tally = {a: 0, b: 0, "mixed": 0}
    for key in ea:
        if key not in eb:
            continue
        ta, tb = ea[key]["theory"], eb[key]["theory"]
        better = a if scores.beats(ta, tb) else b if scores.beats(tb, ta) else "mixed"
        tally[better] += 1
        rows.append(
            {
                "panel": key[0],
                "split": key[1],
                "scores": {a: ta, b: tb},
                "beats_every_baseline": {
                    a: ea[key]["beats_every_baseline"],
                    b: eb[key]["beats_every_baseline"],
                },
                "better": better,
            }
        )
    n = len(rows)
    lead = max((a, b), key=lambda m: tally[m])
    if tally[a] == tally[b]:
        verdict = (
            f"neither model predicts held-out cells better: model ({a}) is better on "
            f"{tally[a]} of {n} splits, model ({b}) on {tally[b]}, mixed on {tally['mixed']}"
        )
    else:
        other = b if lead == a else a
        verdict = (
            f"model ({lead}) predicts held-out cells better on {tally[lead]} of {n} splits, "
            f"model ({other}) on {tally[other]}; mixed on {tally['mixed']}"
        )
    beaten = {m: sum(r["beats_every_baseline"][m] for r in rows) for m in (a, b)}
    verdict += (
        f". Model ({a}) beats every baseline on {beaten[a]} of {n} splits, model ({b}) on "
        f"{beaten[b]}."
    )
    return {"models": [a, b], "splits": rows, "tally": tally, "sentence": verdict}
