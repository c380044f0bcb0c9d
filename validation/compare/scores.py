"""Scores of predicted against measured cells: three-class agreement and Cohen's kappa
(classes of the normalised curvature with the one tolerance
:data:`springblock.theory.spring.phases.LINEAR_TOLERANCE`), and Spearman's rank
correlation of the normalised curvature and of the normalised spread.

Cohen's kappa: (p_o - p_e) / (1 - p_e) with p_o the observed agreement and p_e the
agreement expected from the two class frequencies (undefined, None, when p_e = 1). A
Spearman correlation is undefined (None) with fewer than three cells or a constant side;
where a comparison needs a number (does the theory beat a baseline?), an undefined score
counts as no skill (0 for kappa and correlations).
"""

from __future__ import annotations

import numpy as np

from springblock.theory.spring import phases

SCORES = ("agreement", "kappa", "spearman_c", "spearman_v")


def kappa(predicted: np.ndarray, measured: np.ndarray) -> float | None:
    predicted, measured = np.asarray(predicted), np.asarray(measured)
    if predicted.size == 0:
        return None
    observed = float(np.mean(predicted == measured))
    classes = np.union1d(predicted, measured)
    expected = float(sum(np.mean(predicted == k) * np.mean(measured == k) for k in classes))
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(stats.spearmanr(x, y).statistic)


def score(c_pred, v_pred, c_obs, v_obs) -> dict:
    """All scores over the given cells (1-d arrays, NaN-free)."""
    k_pred = phases.phase_index(c_pred)
    k_obs = phases.phase_index(c_obs)
    return {
        "cells": int(np.size(c_obs)),
        "agreement": float(np.mean(k_pred == k_obs)) if np.size(c_obs) else None,
        "kappa": kappa(k_pred, k_obs),
        "spearman_c": spearman(c_pred, c_obs),
        "spearman_v": spearman(v_pred, v_obs),
    }


def value(scores: dict, name: str) -> float:
    """A score as a number for comparisons: undefined kappa or correlation counts as 0."""
    x = scores[name]
    return 0.0 if x is None else float(x)


def beats(theory: dict, baseline: dict, names=SCORES) -> bool:
    """The theory beats a baseline when it is at least as good on every score of
    ``names`` and better on one."""
    t = [value(theory, s) for s in names]
    b = [value(baseline, s) for s in names]
    return all(x >= y for x, y in zip(t, b, strict=True)) and any(
        x > y for x, y in zip(t, b, strict=True)
    )


def permutation_p(observed: float, null) -> float:
    """One-sided permutation p-value, (1 + #{null >= observed}) / (1 + #null); the 1e-12
    slack counts a permutation that reproduces the observed score as at least as good."""
    null = np.asarray(null, float)
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.size))
