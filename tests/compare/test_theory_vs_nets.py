"""Theory vs nets (validation.compare): the fit recovers planted maps on every split and
beats the baselines there; shuffled panels do not; bounds are flagged; held-out cells never
touch a fit; the linear net is classified by the one tolerance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from springblock.theory.spring import phases
from springblock.validation.compare import cells, fit, scores, theory_vs_nets
from tests.compare.panels import blank_panel, coarse_table

ALPHAS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
VALUES = np.array([0.0, 0.2, 0.4, 0.6, 0.8])


@pytest.fixture(scope="module")
def table():
    return coarse_table(4)


def panel_from(table, knob, values, plant: dict, se=0.01, seed=0, noise=0.0):
    """A panel whose cells are exactly (plus optional noise) the model's prediction under
    the planted parameter values."""
    draft = blank_panel(knob, ALPHAS, values, depth=table.spec.blocks + 2, se=se)
    grid = draft.grid
    lay = fit.layout(table, [draft])
    theta = theta_of(lay, plant, knob)
    c, v, d = fit.predictions(theta, fit.flatten([draft]), lay, table)
    rng = np.random.default_rng(seed)
    c = c[0].reshape(grid) + noise * rng.normal(size=grid)
    v = v[0].reshape(grid) + noise * rng.normal(size=grid)
    return cells.PanelCells(**{**draft.__dict__, "c": c, "v": v, "shape": d[0].reshape(*grid, -1)})


def theta_of(lay, plant, knob):
    values = []
    for name, lo, hi in zip(lay.names, lay.lower, lay.upper, strict=True):
        x = plant[name.replace(f"[{knob}]", "")]
        s = (x - lo) / (hi - lo)
        values.append(np.log(s / (1 - s)))
    return np.array(values)


PLANT = {
    "friction": 0.12,
    "friction_floor": 0.3,
    "friction_exponent": 1.0,
    "asymmetry": 1.5,
    "log_time_scale": np.log(30.0),
    "log_noise_low": np.log(0.01),
    "noise_rise": 0.8,
    "noise_exponent": 1.0,
}


def test_planted_maps_are_recovered_and_beat_the_baselines(table):
    panel = panel_from(table, "dropout", VALUES, PLANT)
    entry, predictions, _ = theory_vs_nets.evaluate_panel(panel, table, permutations=20)
    params = entry["fit"]["parameters"]
    assert params["friction"] == pytest.approx(0.12, rel=0.05)
    assert params["asymmetry"] == pytest.approx(1.5, rel=0.05)
    assert entry["fit"]["loss"] < 1e-3 * entry["fit"]["loss_of_the_mean"]
    for split, result in entry["splits"].items():
        t = result["theory"]
        assert t["spearman_c"] > 0.9 and t["agreement"] >= 0.8, (split, t)
        assert result["beats_every_baseline"], (split, result["sentence"])
        assert result["p_value"]["spearman_c"] <= 0.1, split  # 20 permutations: p >= 1/21


def test_a_shuffled_panel_does_not_beat_the_baselines(table):
    """Cells shuffled over the grid: the theory's held-out rank correlation is at chance in
    most of a seeded set of shuffles (p > 0.05 for at least 3 of 4)."""
    panel = panel_from(table, "dropout", VALUES, PLANT)
    above = 0
    for seed in range(4):
        perm = np.random.default_rng(seed).permutation(panel.c.size)
        shuffled = cells.PanelCells(
            **{
                **panel.__dict__,
                "c": panel.c.ravel()[perm].reshape(panel.grid),
                "v": panel.v.ravel()[perm].reshape(panel.grid),
            }
        )
        entry, _, _ = theory_vs_nets.evaluate_panel(shuffled, table, permutations=20, seed=seed)
        above += entry["splits"]["checkerboard"]["p_value"]["spearman_c"] > 0.05
    assert above >= 3


def test_a_fit_driven_to_a_bound_is_flagged(table):
    """Nets far more concave than any tabulated friction allows: the friction goes to the
    top of its box and the fit says so."""
    panel = panel_from(table, "dropout", VALUES, PLANT)
    extreme = cells.PanelCells(**{**panel.__dict__, "c": np.full(panel.grid, -0.99)})
    entry, _, _ = theory_vs_nets.evaluate_panel(extreme, table, permutations=2)
    assert entry["fit"]["on_bound"], entry["fit"]["parameters"]


def test_held_out_cells_do_not_touch_the_fit(table):
    """The same training cells with the held-out cells' values (and standard errors)
    changed give the same fitted parameters."""
    panel = panel_from(table, "dropout", VALUES, PLANT, noise=0.01)
    flat = fit.flatten([panel])
    lay = fit.layout(table, [panel])
    held = ((np.indices(panel.grid).sum(0)) % 2 == 0).ravel()
    train = ~held & flat.defined
    altered_c, altered_se = flat.c.copy(), flat.c_se.copy()
    altered_c[held] = 5.0
    altered_se[held] = 1e-9
    a = fit.fit_many(flat, lay, table, train[None])
    b = fit.fit_many(flat, lay, table, train[None], c=altered_c[None], c_se=altered_se[None])
    np.testing.assert_allclose(a.theta, b.theta, rtol=0, atol=1e-9)


def test_linear_net_predictions_are_classified_by_the_one_tolerance(table):
    """Without friction the chain relaxes to the linear profile: every tabulated entry at
    mu = 0 once relaxed (t >= 100: its slowest mode decays like exp(-0.38 t); any noise and
    asymmetry; the curvature left is of order 1e-9, not exactly 0) and the prediction at
    alpha = 1 of a map without a friction floor are classed linear by the one tolerance."""
    relaxed = table.spec.times >= 100
    frictionless = table.elongations[0][..., relaxed, :]
    c0 = frictionless[..., 0] - frictionless[..., -1]
    assert 0 < np.abs(c0).max() < 1e-6
    assert np.all(phases.phase_index(c0) == phases.PHASES.index("linear"))
    panel = panel_from(table, "dropout", VALUES, PLANT)
    lay = fit.layout(table, [panel])
    theta = theta_of(lay, PLANT, "dropout")
    theta[lay.names.index("friction_floor")] = -np.inf  # sigmoid: a floor of exactly 0
    c, _, _ = fit.predictions(theta, fit.flatten([panel]), lay, table)
    linear_row = c[0].reshape(panel.grid)[-1]  # alpha = 1
    assert np.all(np.abs(linear_row) <= phases.LINEAR_TOLERANCE)
    assert np.all(phases.phase_index(linear_row) == phases.PHASES.index("linear"))


@given(
    st.floats(0.0, 0.5),
    st.floats(0.0, 1.0),
    st.floats(0.25, 4.0),
)
def test_the_friction_map_is_monotone_and_bounded(m, g, p):
    """mu_R(alpha) falls from m at ReLU to the floor g m at the linear net, for every
    parameter set inside the boxes."""
    alpha = np.linspace(0, 1, 11)
    mu = fit.friction_map(alpha, m, g, p)
    assert np.all(np.diff(mu) <= 1e-15)
    assert mu[0] == pytest.approx(m) and mu[-1] == pytest.approx(g * m)
    assert np.all(mu >= 0) and np.all(mu <= m + 1e-15)


def test_scores_kappa_and_comparisons():
    assert scores.kappa(np.array([0, 1, 2, 0]), np.array([0, 1, 2, 0])) == 1.0
    assert scores.kappa(np.array([1, 1]), np.array([1, 1])) is None  # p_e = 1
    # chance-level agreement: kappa 0 (two balanced independent labellings)
    assert scores.kappa(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])) == pytest.approx(0.0)
    good = {"agreement": 0.9, "kappa": 0.8, "spearman_c": 0.9, "spearman_v": 0.7}
    bad = {"agreement": 0.5, "kappa": None, "spearman_c": None, "spearman_v": 0.1}
    assert scores.beats(good, bad) and not scores.beats(bad, good)


def test_knob_coordinates_and_time_factors():
    assert list(cells.knob_coordinate("batch-size", [5, 50, 500])) == [1.0, 0.5, 0.0]
    spec = {
        "knob": "learning-rate",
        "learning_rate": 1e-3,
        "train_size": 2560,
        "batch_size": None,
        "epochs": 200,
    }
    f = cells.time_factor(spec, [1e-4, 1e-3])
    np.testing.assert_allclose(f, [0.2, 2.0])  # 200 full-batch epochs: twice the reference
    batch = {
        "knob": "batch-size",
        "learning_rate": 1e-3,
        "train_size": 2560,
        "batch_size": None,
        "epochs": 100,
    }
    np.testing.assert_allclose(cells.time_factor(batch, [2560, 5]), [1.0, 512.0])
