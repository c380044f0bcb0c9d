"""Theory vs a depth panel: each depth column is predicted by the chain of matching length
(a stack of tables), exactly as a one-depth comparison would; a structural panel's unused
noise parameters are never flagged; planted maps are recovered across depths and a
held-out depth is predicted from chains the fit never saw."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from springblock.params import ParameterError
from springblock.validation.compare import fit, theory_vs_nets
from tests.compare.panels import blank_panel, coarse_table

ALPHAS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
DEPTHS = np.array([3.0, 4.0, 5.0, 6.0])


@pytest.fixture(scope="module")
def stack():
    """The coarse grid on the chains of the depths 3..6 (1..4 blocks)."""
    return fit.TableStack(tuple(coarse_table(int(d) - 2) for d in DEPTHS))


def depth_panel(depths, c=None, v=None, se=0.01):
    depths = np.asarray(depths, float)
    panel = blank_panel("depth", ALPHAS, depths, depth=8, se=se, depths=depths.astype(int))
    panel = dataclasses.replace(panel, shape=np.zeros((*panel.grid, int(depths.max()) - 1)))
    return dataclasses.replace(panel, c=panel.c if c is None else c, v=panel.v if v is None else v)


PLANT = {
    "friction": 0.12,
    "friction_floor": 0.3,
    "friction_exponent": 1.0,
    "asymmetry": 1.5,
    "log_time_scale": np.log(20.0),
    "log_noise_low": np.log(0.02),
    "noise_rise": 0.5,  # unused: no cell depends on it
    "noise_exponent": 1.0,
}


def theta_of(lay):
    values = []
    for name, lo, hi in zip(lay.names, lay.lower, lay.upper, strict=True):
        s = (PLANT[name.replace("[depth]", "")] - lo) / (hi - lo)
        values.append(np.log(s / (1 - s)))
    return np.array(values)


def test_each_depth_column_is_predicted_by_its_own_chain(stack):
    """The stacked prediction of a depth panel equals, column by column, the prediction of
    that depth alone on its single table (same parameters; padding and masking exact)."""
    panel = depth_panel(DEPTHS)
    lay = fit.layout(stack, [panel])
    c, v, d = fit.predictions(theta_of(lay), fit.flatten([panel]), lay, stack)
    c, v = c[0].reshape(panel.grid), v[0].reshape(panel.grid)
    d = d[0].reshape(*panel.grid, -1)
    for j, depth in enumerate(DEPTHS):
        alone = depth_panel([depth])
        table = stack.tables[j]
        assert table.spec.blocks == depth - 2
        lay1 = fit.layout(table, [alone])
        c1, v1, d1 = fit.predictions(theta_of(lay1), fit.flatten([alone]), lay1, table)
        np.testing.assert_allclose(c[:, j], c1[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(v[:, j], v1[0], rtol=0, atol=1e-12)
        loads = int(depth) - 1
        np.testing.assert_allclose(d[:, j, :loads], d1[0], rtol=0, atol=1e-12)
        assert np.isnan(d[:, j, loads:]).all()
        np.testing.assert_allclose(d[:, j, :loads].sum(-1), 1.0, atol=1e-9)  # fractions of y


def test_a_missing_chain_and_mixed_grids_are_refused(stack):
    panel = depth_panel([3.0, 9.0])
    lay = fit.layout(stack, [panel])
    with pytest.raises(ParameterError, match="chain length"):
        fit.predictions(theta_of(lay), fit.flatten([panel]), lay, stack)
    # a table of another friction range (its entries do not matter: the stack checks grids)
    last = stack.tables[-1]
    other = dataclasses.replace(last, spec=dataclasses.replace(last.spec, mu_max=0.3))
    with pytest.raises(ParameterError, match="one grid"):
        fit.TableStack((stack.tables[0], other))
    fit.TableStack((stack.tables[0], last))  # the same two chains on one grid are accepted


def test_planted_depth_maps_are_recovered_and_a_held_out_depth_predicted(stack):
    """Cells planted from the model (chain D - 2 per column): the full fit recovers the
    friction and asymmetry; leaving a depth column out still ranks the held-out cells'
    curvature; the unused noise parameters are never reported on a bound."""
    panel = depth_panel(DEPTHS)
    lay = fit.layout(stack, [panel])
    assert lay.unused == ("noise_rise[depth]", "noise_exponent[depth]")
    c, v, _ = fit.predictions(theta_of(lay), fit.flatten([panel]), lay, stack)
    planted = depth_panel(DEPTHS, c[0].reshape(panel.grid), v[0].reshape(panel.grid))
    entry, predictions, _ = theory_vs_nets.evaluate_panel(planted, stack, permutations=10)
    params = entry["fit"]["parameters"]
    assert params["friction"] == pytest.approx(0.12, rel=0.05)
    assert params["asymmetry"] == pytest.approx(1.5, rel=0.05)
    assert not set(entry["fit"]["on_bound"]) & set(lay.unused)
    held = entry["splits"]["leave_one_knob_out"]["theory"]
    assert held["spearman_c"] > 0.9, held
    c_held = np.asarray(predictions["leave_one_knob_out"][0]).reshape(panel.grid)
    np.testing.assert_allclose(c_held, planted.c, atol=0.02)
