"""The paper's claims as statistics (validation.nets.claims): each statistic on planted maps
where the answer is known, its chance level, and its permutation p-value's calibration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from springblock.theory.spring import phases
from springblock.validation.nets import claims

ALPHAS = np.linspace(0, 1, 6)
VALUES = np.linspace(0, 0.8, 5)


@given(rows=st.integers(1, 6), cols=st.integers(1, 6))
def test_dominance_pairs_count(rows, cols):
    """Pairs with A >= B on both axes, A != B: (R(R+1)/2)(C(C+1)/2) - RC."""
    first, second = claims.dominance_pairs(np.arange(rows), np.arange(cols), "dropout")
    assert first.size == rows * (rows + 1) // 2 * cols * (cols + 1) // 2 - rows * cols
    assert np.all(first != second)


def test_noise_order_reverses_batch_size():
    assert list(claims.noise_order("batch-size", [5, 50, 500])) == [2, 1, 0]
    assert list(claims.noise_order("learning-rate", [1e-4, 1e-2, 0.5])) == [0, 1, 2]


def test_regime_ordering_on_planted_maps():
    A, N = np.meshgrid(ALPHAS, VALUES, indexing="ij")
    monotone = A + N  # rises with linearity and noise: the paper's ordering
    r = claims.regime_ordering(monotone, ALPHAS, VALUES, "dropout", permutations=500)
    assert r["statistic"] == 1.0 and r["verdict"] == "holds" and r["p_value"] < 0.01
    reverse = claims.regime_ordering(-monotone, ALPHAS, VALUES, "dropout", permutations=500)
    assert reverse["statistic"] == 0.0 and reverse["verdict"] == "opposite"
    # batch size: larger is quieter, so a map rising with the value is out of order
    flipped = claims.regime_ordering(N, ALPHAS, VALUES + 1, "batch-size", permutations=500)
    assert flipped["statistic"] < 0.5 and flipped["verdict"] == "opposite"
    flat = claims.regime_ordering(np.zeros_like(A), ALPHAS, VALUES, "dropout", permutations=200)
    assert flat["statistic"] == 0.5 and flat["verdict"] == "not shown (at chance)"
    holes = monotone.copy()
    holes[0, 0] = np.nan  # an undefined cell is left out, its pairs too
    assert (
        claims.regime_ordering(holes, ALPHAS, VALUES, "dropout", permutations=50)["pairs"]
        < r["pairs"]
    )


def test_regime_p_values_are_calibrated_under_the_null():
    """Maps of independent noise: the one-sided p-value is roughly uniform, so about 5% of
    maps fall below 0.05 (seeded set of 200 maps: between 2 and 20 expected at 5%, binomial
    sd ~3)."""
    rng = np.random.default_rng(1)
    p = [
        claims.regime_ordering(
            rng.normal(size=(6, 5)), ALPHAS, VALUES, "dropout", permutations=200, seed=k
        )["p_value"]
        for k in range(200)
    ]
    assert 2 <= np.sum(np.array(p) < 0.05) <= 20


def test_best_in_band_on_planted_maps():
    phase = np.full((6, 5), phases.PHASES.index("concave"))
    for i in range(6):
        phase[i, min(4, 5 - i)] = phases.PHASES.index("linear")  # a diagonal band
    linear = phase == phases.PHASES.index("linear")
    accuracy = np.where(linear, 0.9, 0.5) + 0.01 * np.arange(5)[None, :]
    b = claims.best_in_band(accuracy, phase, permutations=300)
    rows = b["rows"]
    assert rows["best_in_band"] == rows["lines"] == 6 and rows["verdict"] == "holds"
    assert rows["chance"] == pytest.approx(6 / 5)
    assert all(o == 0 for o in rows["offsets"])
    away = claims.best_in_band(np.where(linear, 0.5, 0.9), phase, permutations=300)
    assert away["rows"]["best_in_band"] == 0 and away["rows"]["verdict"] == "not shown (at chance)"
    none = claims.best_in_band(accuracy, np.zeros((6, 5), int), permutations=10)
    assert none["rows"]["p_value"] is None and none["rows"]["verdict"] == "undefined"


def test_spearman_permutation_matches_scipy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=40)
    y = 0.4 * x + rng.normal(size=40)
    r = claims.spearman_permutation(x, y, permutations=4000)
    exact = stats.spearmanr(x, y)
    assert r["rho"] == pytest.approx(exact.statistic, abs=1e-12)
    # permutation and t-approximation p-values agree within Monte Carlo error (~0.01 here)
    assert r["p_value"] == pytest.approx(exact.pvalue, abs=0.02)
    assert claims.spearman_permutation([1, 2], [2, 1])["rho"] is None
    assert claims.spearman_permutation([1, 2, 3], [5, 5, 5])["note"].startswith("undefined")


def test_accuracy_correlations_use_cells_that_learned():
    acc = np.array([0.12, 0.15, 0.5, 0.6, 0.7, 0.8])  # chance 0.1 with 10 classes
    spread = np.array([0.0, 0.1, 0.4, 0.3, 0.2, 0.1])  # more linear, more accurate
    out = claims.accuracy_correlations(acc, np.zeros(6) + spread, spread, 10, permutations=500)
    assert out["learned_cells"] == 4  # >= 0.1 + 0.1
    assert out["spread"]["rho"] == pytest.approx(-1.0)


def test_sentences_say_whether_each_claim_holds():
    import xarray as xr

    A, N = np.meshgrid(ALPHAS, VALUES, indexing="ij")
    c = 0.3 * (A + N - 0.9)
    cells = xr.Dataset(
        {
            "normalised_curvature_mean": (("alpha", "dropout"), c),
            "curvature_mean": (("alpha", "dropout"), c),
            "phase": (("alpha", "dropout"), phases.phase_index(c)),
            "test_accuracy_mean": (("alpha", "dropout"), 0.8 - np.abs(c)),
            "spread_mean": (("alpha", "dropout"), np.abs(c)),
            "sign_resolved": (("alpha", "dropout"), np.abs(c) > 0.05),
            "n_ok": (("alpha", "dropout"), np.full(c.shape, 3)),
        },
        coords={"alpha": ALPHAS, "dropout": VALUES},
    )
    out = claims.panel_claims(cells, "dropout", 10, permutations=300)
    assert out["regimes"]["verdict"] == "holds"
    assert out["regimes"]["corners"] == {
        "strong_nonlinearity_low_noise": "concave",
        "weak_nonlinearity_high_noise": "convex",
    }
    assert out["best_in_band"]["rows"]["verdict"] == "holds"
    assert out["accuracy_correlations"]["abs_curvature"]["verdict"] == "holds"
    for sentence in out["sentences"].values():
        assert sentence.endswith(".") and "dropout" in sentence
    assert "holds" in out["sentences"]["regimes"]
