"""The paper's claims about the nets' phase diagram, as statistics against chance.

Shi, Pan & Dokmanic (PRL 2025; reference section 2) read their four panels as: (a) concave
load curves (deep layers learn) at strong nonlinearity and low noise, convex ones (shallow
layers learn) at weak nonlinearity and high noise, a linear band between; (b) the linear
band holds the best test accuracy. We add (c): each cell's c and v with their standard
error over seeds, and which cells the seeds do not resolve.

The definitions below are those of docs/validation.md ("The paper's claims as
statistics"), fixed before they were computed on any panel; a claim that fails on our
data is reported as failing.

For the structural knobs (width, depth) claim (a) is undefined: the paper orders the
regimes by noise, and neither knob is one; (b) and (c) are computed as for the others.

*Cells* are the (alpha, knob value) grid; a cell's value is the mean over its ``ok`` nets
(:func:`springblock.validation.nets.sweep.cell_statistics`). *Noisier*: larger data noise,
dropout or learning rate, smaller batch. *More linear*: larger alpha (alpha = 1 is the
linear net). The *linear band* is the cells whose mean normalised curvature
c / (D_0 - D_last) lies within the one tolerance of
:data:`springblock.theory.spring.phases.LINEAR_TOLERANCE`.

(a) **Regime ordering.** Over all pairs of cells (A, B) with A at least as noisy and at
    least as linear as B and strictly more in one of the two, the fraction with
    c_A > c_B (normalised curvature; ties count one half). Chance is 1/2. One-sided
    permutation p-value (cell values permuted over the cells):
    p = (1 + #{permuted >= observed}) / (1 + permutations); the opposite tail gives the
    p-value of the reverse ordering.
(b) **Best accuracy in the linear band.** (b1) For every alpha row and every knob column
    that has at least one linear cell: is its most accurate cell linear? Chance: the sum
    over those lines of (linear cells / cells). One-sided permutation p-value, accuracies
    permuted within each line; rows and columns separately. With it, the signed offset (in
    grid steps) of each line's most accurate cell from the nearest linear cell: negative
    towards less noise (rows) or more nonlinearity (columns). (b2) Spearman correlation
    of cell accuracy with |c| (normalised) and with v over the cells that learned (mean
    test accuracy at least :data:`LEARNED_MARGIN` above chance 1/K); the paper implies
    negative correlations. Two-sided permutation p-value.
(c) **Seeds.** A cell's sign of c is resolved when |mean c| > 2 standard errors with at
    least two ok nets; the count of unresolved cells is reported and the figures mark them.

A verdict *holds* when p < :data:`ALPHA_LEVEL` and the effect has the paper's sign,
*opposite* when p < :data:`ALPHA_LEVEL` with the other sign, and *not shown (at chance)*
otherwise.
"""

from __future__ import annotations

import numpy as np

from springblock.theory.spring import phases

#: Knobs that are not noise (claim (a) does not apply to them); sweep.STRUCTURAL_KNOBS.
STRUCTURAL_KNOBS = ("width", "depth")

#: Significance level of the verdicts.
ALPHA_LEVEL = 0.05
#: Permutations of every permutation test (p-values resolve 1/(1 + permutations)).
PERMUTATIONS = 2000
#: A cell learned when its mean test accuracy is at least this far above chance (1/K).
LEARNED_MARGIN = 0.10


def noise_order(knob: str, values) -> np.ndarray:
    """Rank of each knob value from least (0) to most noisy (batch size: smaller is noisier;
    a structural knob's values in increasing order)."""
    values = np.asarray(values, float)
    return np.argsort(np.argsort(-values if knob == "batch-size" else values))


def dominance_pairs(alphas, values, knob: str) -> tuple[np.ndarray, np.ndarray]:
    """Flat cell indices (A, B) of the pairs where A is at least as noisy and as linear as
    B and strictly more in one (the order of claim (a)); cells are indexed alpha-major."""
    a_rank = np.argsort(np.argsort(np.asarray(alphas, float)))
    n_rank = noise_order(knob, values)
    A, N = np.meshgrid(a_rank, n_rank, indexing="ij")
    a, n = A.ravel(), N.ravel()
    ge = (a[:, None] >= a[None, :]) & (n[:, None] >= n[None, :])
    strict = ge & ((a[:, None] > a[None, :]) | (n[:, None] > n[None, :]))
    first, second = np.nonzero(strict)
    return first, second


def _concordance(x: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Fraction of pairs with x_A > x_B (ties 1/2), for x of shape (..., cells)."""
    a, b = x[..., first], x[..., second]
    return ((a > b) + 0.5 * (a == b)).mean(axis=-1)


def _verdict(p: float | None, effect_sign: float, expected_sign: float) -> str:
    if p is None:
        return "undefined"
    if p < ALPHA_LEVEL:
        return "holds" if np.sign(effect_sign) == expected_sign else "opposite"
    return "not shown (at chance)"


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, 20_240_719])


def regime_ordering(
    curvature: np.ndarray,
    alphas,
    values,
    knob: str,
    *,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> dict:
    """Claim (a) on a (alpha, value) map of normalised curvature (NaN cells left out)."""
    first, second = dominance_pairs(alphas, values, knob)
    x = np.asarray(curvature, float).ravel()
    keep = np.isfinite(x[first]) & np.isfinite(x[second])
    first, second = first[keep], second[keep]
    finite = np.flatnonzero(np.isfinite(x))
    if first.size == 0:
        return {
            "statistic": None,
            "chance": 0.5,
            "pairs": 0,
            "p_value": None,
            "verdict": "undefined",
            "note": "no comparable pair of cells with a defined curvature",
        }
    observed = float(_concordance(x, first, second))
    rng = _rng(seed)
    shuffled = np.tile(x, (permutations, 1))
    perm = rng.permuted(np.tile(finite, (permutations, 1)), axis=1)
    shuffled[:, finite] = x[perm]
    null = _concordance(shuffled, first, second)
    p_high = float((1 + np.sum(null >= observed)) / (1 + permutations))
    p_low = float((1 + np.sum(null <= observed)) / (1 + permutations))
    if p_high < ALPHA_LEVEL:
        verdict = "holds"
    elif p_low < ALPHA_LEVEL:
        verdict = "opposite"
    else:
        verdict = "not shown (at chance)"
    return {
        "statistic": observed,
        "chance": 0.5,
        "pairs": int(first.size),
        "p_value": p_high,
        "p_value_opposite": p_low,
        "verdict": verdict,
    }


def _best_in_band_lines(accuracy: np.ndarray, linear: np.ndarray) -> tuple[int, float, list]:
    """(lines whose best cell is linear, chance expectation, per-line offsets) for the rows
    of ``accuracy`` (lines along the last axis); lines without a linear cell are skipped."""
    hits, chance = 0, 0.0
    offsets: list[int | None] = []
    for acc, lin in zip(accuracy, linear, strict=True):
        valid = np.isfinite(acc)
        if not lin[valid].any():
            offsets.append(None)
            continue
        best = int(np.nanargmax(acc))
        band = np.flatnonzero(lin & valid)
        hits += bool(lin[best])
        chance += float(lin[valid].sum() / valid.sum())
        nearest = band[np.argmin(np.abs(band - best))]
        offsets.append(int(best - nearest))
    return hits, chance, offsets


def best_in_band(
    accuracy: np.ndarray, phase: np.ndarray, *, permutations: int = PERMUTATIONS, seed: int = 0
) -> dict:
    """Claim (b1): rows (fixed alpha, along the knob) and columns (fixed knob value, along
    alpha) of a (alpha, value) map; ``phase`` holds :func:`phases.phase_index` codes."""
    accuracy = np.asarray(accuracy, float)
    linear = np.asarray(phase) == phases.PHASES.index("linear")
    rng = _rng(seed + 1)
    out = {}
    for name, acc, lin in (("rows", accuracy, linear), ("columns", accuracy.T, linear.T)):
        hits, chance, offsets = _best_in_band_lines(acc, lin)
        lines = sum(o is not None for o in offsets)
        if lines == 0:
            out[name] = {
                "best_in_band": 0,
                "lines": 0,
                "chance": 0.0,
                "p_value": None,
                "offsets": offsets,
                "verdict": "undefined",
                "note": "no line has a linear cell",
            }
            continue
        null = np.empty(permutations)
        for k in range(permutations):
            shuffled = np.array([rng.permutation(row) for row in acc])
            null[k] = _best_in_band_lines(shuffled, lin)[0]
        p = float((1 + np.sum(null >= hits)) / (1 + permutations))
        out[name] = {
            "best_in_band": int(hits),
            "lines": int(lines),
            "chance": chance,
            "p_value": p,
            "offsets": offsets,
            "verdict": _verdict(p, hits - chance, 1),
        }
    return out


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy import stats

    return stats.rankdata(x, axis=-1)


def spearman_permutation(
    x: np.ndarray, y: np.ndarray, *, permutations: int = PERMUTATIONS, seed: int = 0
) -> dict:
    """Spearman's rho of paired samples with a two-sided permutation p-value."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {
            "rho": None,
            "cells": int(x.size),
            "p_value": None,
            "note": "undefined: fewer than 3 cells, or a constant variable",
        }
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    scale = np.sqrt((rx**2).sum() * (ry**2).sum())
    rho = float((rx * ry).sum() / scale)
    rng = _rng(seed + 2)
    perm = rng.permuted(np.tile(ry, (permutations, 1)), axis=1)
    null = (perm * rx).sum(axis=1) / scale
    p = float((1 + np.sum(np.abs(null) >= abs(rho) - 1e-12)) / (1 + permutations))
    return {"rho": rho, "cells": int(x.size), "p_value": p}


def accuracy_correlations(
    accuracy: np.ndarray,
    curvature: np.ndarray,
    spread: np.ndarray,
    classes: int,
    *,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> dict:
    """Claim (b2): Spearman of cell accuracy with |normalised c| and with v over the cells
    that learned; the paper implies negative correlations."""
    accuracy = np.asarray(accuracy, float)
    learned = accuracy >= 1.0 / classes + LEARNED_MARGIN
    out: dict = {
        "learned_cells": int(np.sum(learned)),
        "learned_threshold": 1.0 / classes + LEARNED_MARGIN,
    }
    for name, other in (("abs_curvature", np.abs(curvature)), ("spread", spread)):
        r = spearman_permutation(
            accuracy[learned],
            np.asarray(other, float)[learned],
            permutations=permutations,
            seed=seed,
        )
        r["verdict"] = _verdict(r["p_value"], r["rho"] or 0.0, -1)
        out[name] = r
    return out


def seed_resolution(sign_resolved: np.ndarray, n_ok: np.ndarray) -> dict:
    """Claim (c): how many cells the seeds resolve (sign of c beyond 2 standard errors)."""
    resolved = np.asarray(sign_resolved, bool)
    defined = np.asarray(n_ok) >= 2
    return {
        "cells": int(resolved.size),
        "resolved": int(resolved.sum()),
        "unresolved": int((defined & ~resolved).sum()),
        "too_few_seeds": int((~defined).sum()),
    }


def panel_claims(
    cells, knob: str, classes: int, *, permutations: int = PERMUTATIONS, seed: int = 0
) -> dict:
    """Every claim of one panel from its cell statistics (an xarray Dataset of
    :func:`~springblock.validation.nets.sweep.cell_statistics`), with one plain sentence each."""
    dim = [d for d in cells["curvature_mean"].dims if d != "alpha"][0]
    alphas, values = cells["alpha"].values, cells[dim].values
    c_hat = cells["normalised_curvature_mean"].values
    phase = cells["phase"].values
    accuracy = cells["test_accuracy_mean"].values
    if knob in STRUCTURAL_KNOBS:
        regime = {
            "statistic": None,
            "chance": 0.5,
            "pairs": 0,
            "p_value": None,
            "verdict": "undefined",
            "note": f"{knob} is not a noise knob: the paper orders regimes by noise only",
        }
    else:
        regime = regime_ordering(c_hat, alphas, values, knob, permutations=permutations, seed=seed)
    band = best_in_band(accuracy, phase, permutations=permutations, seed=seed)
    corr = accuracy_correlations(
        accuracy, c_hat, cells["spread_mean"].values, classes, permutations=permutations, seed=seed
    )
    seeds = seed_resolution(cells["sign_resolved"].values, cells["n_ok"].values)
    counts = {name: int(np.sum(phase == i)) for i, name in enumerate(phases.PHASES)}
    counts["undefined"] = int(np.sum(phase == -1))
    quiet = int(np.argmin(noise_order(knob, values)))
    loud = int(np.argmax(noise_order(knob, values)))
    corners = {
        "strong_nonlinearity_low_noise": _phase_name(phase[int(np.argmin(alphas)), quiet]),
        "weak_nonlinearity_high_noise": _phase_name(phase[int(np.argmax(alphas)), loud]),
    }
    if knob in STRUCTURAL_KNOBS:  # no noise axis: the corners of the smallest/largest value
        corners = {
            f"strong_nonlinearity_smallest_{knob}": corners["strong_nonlinearity_low_noise"],
            f"weak_nonlinearity_largest_{knob}": corners["weak_nonlinearity_high_noise"],
        }
    claims = {
        "regimes": regime | {"classes": counts, "corners": corners},
        "best_in_band": band,
        "accuracy_correlations": corr,
        "seeds": seeds,
        "permutations": permutations,
        "linear_tolerance": phases.LINEAR_TOLERANCE,
    }
    claims["sentences"] = sentences(claims, knob)
    return claims


def _phase_name(index) -> str:
    return "undefined" if index < 0 else phases.PHASES[int(index)]


def _p(p) -> str:
    return "n/a" if p is None else (f"{p:.3f}" if p >= 0.001 else f"{p:.1e}")


def sentences(claims: dict, knob: str) -> dict[str, str]:
    """One plain sentence per claim: whether it holds on this panel and how strongly."""
    r = claims["regimes"]
    out = {}
    if r["statistic"] is None:
        out["regimes"] = f"Regimes ({knob}): undefined ({r['note']})."
    else:
        c = r["corners"]
        out["regimes"] = (
            f"Regimes ({knob}): {r['verdict']}: in {r['statistic']:.0%} of {r['pairs']} "
            f"ordered cell pairs the noisier-or-more-linear cell has the larger curvature "
            f"(chance 50%, permutation p = {_p(r['p_value'])}); the strong-nonlinearity, "
            f"low-noise corner is {c['strong_nonlinearity_low_noise']} and the "
            f"weak-nonlinearity, high-noise corner {c['weak_nonlinearity_high_noise']} "
            f"(paper: concave and convex)."
        )
    parts = []
    for name in ("rows", "columns"):
        b = claims["best_in_band"][name]
        if b["p_value"] is None:
            parts.append(f"{name}: undefined ({b['note']})")
        else:
            parts.append(
                f"{name} {b['best_in_band']} of {b['lines']} (chance {b['chance']:.1f}, "
                f"p = {_p(b['p_value'])}, {b['verdict']})"
            )
    out["best_in_band"] = (
        f"Best accuracy in the linear band ({knob}): the most accurate cell of a line is "
        f"linear in {'; '.join(parts)}."
    )
    corr = claims["accuracy_correlations"]
    bits = []
    for name, label in (("abs_curvature", "|c|"), ("spread", "v")):
        x = corr[name]
        if x["rho"] is None:
            bits.append(f"with {label} undefined")
        else:
            bits.append(
                f"with {label} rho = {x['rho']:+.2f} (p = {_p(x['p_value'])}, {x['verdict']})"
            )
    out["accuracy_correlations"] = (
        f"Accuracy vs linearity ({knob}, {corr['learned_cells']} cells that learned; the paper "
        f"implies negative): {', '.join(bits)}."
    )
    s = claims["seeds"]
    out["seeds"] = (
        f"Seeds ({knob}): the sign of c is resolved (|mean| > 2 SE) in {s['resolved']} of "
        f"{s['cells']} cells; {s['unresolved']} unresolved, {s['too_few_seeds']} with fewer than "
        "two ok nets."
    )
    return out
