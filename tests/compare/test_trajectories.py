"""The model through training against checkpointed cells: pairs in time-major order, the
model's clock at e / E of the protocol's time, trajectories permuted whole; on cells
planted from the model itself, the earlier epochs are predicted from the last one (in
rank over pairs and through time per cell) and the clock is found at 1; with the nets'
time order reversed the per-cell score turns negative, and a frozen cell scores none."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from springblock.params import ParameterError
from springblock.validation.compare import cells, fit, trajectories
from tests.compare.panels import blank_panel, coarse_table

ALPHAS = np.array([0.0, 0.5, 1.0])
VALUES = np.array([0.0, 0.1, 0.2, 0.3])
EPOCHS = np.array([10, 20, 40, 70])
PLANT = {
    "friction": 0.12,
    "friction_floor": 0.3,
    "friction_exponent": 1.0,
    "asymmetry": 1.5,
    "log_time_scale": np.log(3.0),
    "log_noise_low": np.log(0.01),
    "noise_rise": 0.8,
    "noise_exponent": 1.0,
}


@pytest.fixture(scope="module")
def table():
    return coarse_table(2)


def final_cells(c=None, v=None, se=0.01) -> cells.PanelCells:
    panel = blank_panel("dropout", ALPHAS, VALUES, depth=4, se=se)
    return dataclasses.replace(panel, c=panel.c if c is None else c, v=panel.v if v is None else v)


def blank(se=0.01) -> trajectories.Trajectories:
    grid = (len(ALPHAS), len(VALUES), len(EPOCHS))
    return trajectories.Trajectories(
        final=final_cells(se=se),
        epochs=EPOCHS,
        c=np.zeros(grid),
        c_se=np.full(grid, se),
        v=np.zeros(grid),
        v_se=np.full(grid, se),
    )


def theta_of(lay) -> np.ndarray:
    s = np.array(
        [
            (PLANT[name.replace("[dropout]", "")] - lo) / (hi - lo)
            for name, lo, hi in zip(lay.names, lay.lower, lay.upper, strict=True)
        ]
    )
    return np.log(s / (1 - s))


def with_pairs(tr, c, v) -> trajectories.Trajectories:
    """``tr`` with its pairs' observations set from flat (time-major) arrays."""
    n, grid = tr.final.c.size, tr.final.grid
    times = lambda x: np.moveaxis(x[n:].reshape(len(tr.epochs), *grid), 0, -1)  # noqa: E731
    final = dataclasses.replace(tr.final, c=c[:n].reshape(grid), v=v[:n].reshape(grid))
    return dataclasses.replace(tr, final=final, c=times(c), v=times(v))


@pytest.fixture(scope="module")
def planted(table):
    tr = blank()
    pairs = trajectories.pairs_of(tr)
    lay = fit.layout(table, [tr.final], log_f=pairs.flat.log_f)
    c, v, _ = fit.predictions(theta_of(lay), pairs.flat, lay, table)
    return with_pairs(tr, c[0], v[0])


def test_pairs_are_time_major_with_the_clock_at_the_checkpoints_fraction():
    tr = blank()
    tr = dataclasses.replace(tr, c=tr.c + np.arange(1, 5), v=tr.v - np.arange(1, 5))
    pairs = trajectories.pairs_of(tr)
    n = tr.final.c.size
    assert pairs.flat.n == n * (1 + len(EPOCHS)) and pairs.cells == n
    np.testing.assert_array_equal(pairs.epoch, np.repeat([100, *EPOCHS], n))
    for k, e in enumerate(EPOCHS, start=1):
        block = slice(k * n, (k + 1) * n)
        np.testing.assert_array_equal(pairs.flat.c[block], k)
        np.testing.assert_array_equal(pairs.flat.v[block], -k)
        np.testing.assert_allclose(pairs.flat.log_f[block], pairs.flat.log_f[:n] + np.log(e / 100))
        np.testing.assert_array_equal(pairs.cell[block], np.arange(n))


def test_a_permutation_moves_whole_trajectories():
    tr = blank()
    pairs = trajectories.pairs_of(tr)
    pred = pairs.cell * 100.0 + pairs.time  # encodes (cell, time)
    order = np.random.default_rng(0).permutation(pairs.cells)
    moved = trajectories.permuted(pred, pairs, order)
    np.testing.assert_array_equal(moved % 100, pairs.time)
    np.testing.assert_array_equal(moved // 100, order[pairs.cell])
    identity = trajectories.permuted(pred, pairs, np.arange(pairs.cells))
    np.testing.assert_array_equal(identity, pred)


def test_planted_trajectories_are_predicted_from_the_last_epoch(planted, table):
    # the planted model moves within the checkpoints (else the test would be vacuous)
    assert np.ptp(planted.c, axis=-1).min() > 0.01
    result, predictions, pairs = trajectories.evaluate(planted, table, permutations=20)
    earlier = result["splits"]["earlier_epochs"]
    t = earlier["theory"]
    assert t["spearman_c"] > 0.95 and t["time_spearman_c"] > 0.9
    assert t["time_spearman_c_detail"]["cells"] == len(ALPHAS) * len(VALUES)
    assert earlier["p_value"]["spearman_c"] < 0.1
    # the frozen baseline holds each cell's last epoch: no skill through time
    frozen = earlier["baselines"]["frozen"]
    assert frozen["time_spearman_c"] == 0.0 and earlier["beats"]["frozen"]
    # the clock is the planted one, within a step of the grid of factors
    clock = result["clock"]
    step = np.diff(clock["log_factors"]).max()
    assert abs(np.log(clock["best_factor"])) <= step
    assert clock["loss_at_fitted"] < 0.05 * clock["loss_frozen"]
    # held-out predictions exist for every scored pair, and none for the fitted last epoch
    pc = predictions["earlier_epochs"][0]
    assert np.isnan(pc[pairs.final]).all() and np.isfinite(pc[~pairs.final]).all()


def test_reversed_time_is_tracked_negatively(planted, table):
    """The nets' earlier checkpoints in reverse order: the last epoch (the fit) is
    unchanged, the per-cell time score must go negative."""
    reversed_ = dataclasses.replace(
        planted, c=planted.c[..., ::-1].copy(), v=planted.v[..., ::-1].copy()
    )
    result, _, _ = trajectories.evaluate(reversed_, table, permutations=5)
    assert result["splits"]["earlier_epochs"]["theory"]["time_spearman_c"] < -0.5
    assert "at chance through time" in result["splits"]["earlier_epochs"]["sentence"]


def test_cell_splits_use_the_baselines_per_checkpoint(planted, table):
    result, _, _ = trajectories.evaluate(planted, table, permutations=5)
    for split in ("checkerboard", "leave_one_alpha_out", "leave_one_knob_out"):
        entry = result["splits"][split]
        assert set(entry["baselines"]) == {
            "majority",
            "alpha_only",
            "knob_only",
            "additive",
            "nearest_neighbour",
        }
        assert entry["theory"]["cells"] == planted.final.c.size * (1 + len(EPOCHS))
    # interpolating planted cells: the theory ranks the held-out pairs almost exactly
    assert result["splits"]["checkerboard"]["theory"]["spearman_c"] > 0.9


def test_time_spearman_counts_cells_and_signs():
    tr = blank()
    pairs = trajectories.pairs_of(tr)
    obs = pairs.time.astype(float)
    flat = dataclasses.replace(pairs.flat, c=obs, v=obs)
    pairs = dataclasses.replace(pairs, flat=flat)
    pred = np.where(pairs.cell == 0, -obs, obs)  # one cell backwards, the rest forwards
    mask = np.ones(flat.n, bool)
    s = trajectories.score(pred, pred, pairs, mask)
    detail = s["time_spearman_c_detail"]
    n = pairs.cells
    assert detail["cells"] == n and detail["positive"] == n - 1
    assert s["time_spearman_c"] == pytest.approx((n - 2) / n)


def test_a_panel_without_checkpoints_is_refused():
    import xarray as xr

    ds = xr.Dataset(attrs={"spec": {"epochs": 10}, "knob_dim": "dropout"})
    with pytest.raises(ParameterError, match="--checkpoints"):
        trajectories.from_results(ds)
    ds = xr.Dataset(coords={"checkpoint": [5, 10]}, attrs={"spec": {"epochs": 10}})
    with pytest.raises(ParameterError, match="at least two checkpoints"):
        trajectories.from_results(ds)
