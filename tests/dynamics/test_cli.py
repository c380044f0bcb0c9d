"""``springblock dynamics ...``: JSON contracts, results stores (results.nc opened with
``springblock.open_results`` and selected by coordinate names), bad input, through the
real entry point (:func:`springblock.cli.main`); runs are kept tiny."""

from __future__ import annotations

import json

import numpy as np
import pytest

from springblock import cli, open_results


def run(argv, capsys) -> dict:
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_dynamics_two_point_json_and_results(capsys, tmp_path):
    # architecture, steps and samples of test_dynamics_train: compilations are shared
    data = run(
        [
            "dynamics",
            "two-point",
            "--gains",
            "1.0",
            "--steps",
            "1500",
            "--samples",
            "100",
            "--controls",
            "decoder",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    r = data["runs"][0]
    assert set(r) >= {"eta_h", "eta_y", "fit_loss", "controls", "pairs"}
    assert r["pairs"][0]["dx2"] == pytest.approx(1.0)
    assert (tmp_path / "dynamics_two_point.png").exists()
    assert json.loads((tmp_path / "results.json").read_text())["runs"][0]["eta_h"] == r["eta_h"]
    ds = open_results(tmp_path)
    assert ds.attrs["kind"] == "dynamics-two_point"
    one = ds.sel(gain=1.0, pair=0)
    assert one["h"].sizes == {"step": 101}
    assert float(one["h"].sel(step=0)) == pytest.approx(r["pairs"][0]["h0"])
    assert float(one["h"].sel(step=1500)) == pytest.approx(r["pairs"][0]["h_final_measured"])
    assert float(one["eta_y"]) == pytest.approx(r["eta_y"])
    control = ds["control_fit_loss"].sel(gain=1.0, control="decoder")
    assert float(control) == pytest.approx(r["controls"]["decoder"]["fit_loss"])
    # the fitted trajectory is integrated from the measured initial state
    assert float(one["h_fit"].sel(step=0)) == pytest.approx(float(one["h"].sel(step=0)))
    assert str(ds["regime"].sel(gain=1.0).item()) == "custom"


def test_dynamics_xor_and_linear_results(capsys, tmp_path):
    xor = tmp_path / "xor"
    data = run(
        [
            "dynamics",
            "xor",
            "--gains",
            "1.0",
            "--steps",
            "1500",
            "--samples",
            "100",
            "--hidden-layers",
            "6",
            "--controls",
            "",
            "--out",
            str(xor),
        ],
        capsys,
    )
    assert len(data["runs"][0]["pairs"]) == 6
    assert data["config"]["tracked_layer"] == 3  # the middle layer by default
    ds = open_results(xor).sel(gain=1.0)
    same = ds["dy2"].values == 0
    assert same.sum() == 2  # (0,0)-(1,1) and (0,1)-(1,0) share their targets
    # same-target pairs are not fitted: their fitted trajectories are NaN, and say why
    assert np.isnan(ds["h_fit"].values[same]).all()
    assert "nan_meaning" in ds["h_fit"].attrs
    assert np.isfinite(ds["h_fit"].values[~same]).all()
    assert "control" not in ds.dims  # --controls ""
    linear = tmp_path / "linear"
    data = run(
        [
            "dynamics",
            "linear",
            "--singular-values",
            "2 1",
            "--steps",
            "400",
            "--lr",
            "1e-2",
            "--out",
            str(linear),
        ],
        capsys,
    )
    # gradient descent is the Euler scheme of the mode ODE, so the gap is O(lr): measured
    # 0.028 (1.4% of s = 2) at lr = 1e-2; 0.05 bounds it with margin (test_dynamics_train
    # measures the first-order convergence itself)
    assert len(data["modes"]) == 2 and data["max_abs_error"] < 0.05
    ds = open_results(linear)
    assert ds.attrs["depth"] == 2
    first = ds.sel(mode=0)
    assert float(first["singular_value"]) == 2.0
    gap = np.abs(first["u_measured"] - first["u_theory"]).max()
    assert float(gap) == pytest.approx(data["modes"][0]["max_abs_error"])
    assert float(first["half_time_closed_form"]) == pytest.approx(
        data["modes"][0]["half_time_closed_form"]
    )
    assert (linear / "dynamics_linear.png").exists()


def test_dry_run_prints_the_library_defaults(capsys):
    from springblock.validation.dynamics.config import XorTask

    assert cli.main(["dynamics", "xor", "--dry-run"]) == 0
    task, out = json.loads(capsys.readouterr().out)["config"]
    assert out is None
    assert task["hidden_layers"] == XorTask().hidden_layers == 10
    assert task["tracked_layer"] == 5 and task["steps"] == 3000
    assert [net["lr"] for net in task["nets"]] == [net.lr for net in XorTask().nets]


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["dynamics", "two-point", "--gains", "0"], "--gains"),
        (["dynamics", "two-point", "--tracked-layer", "9"], "--tracked-layer"),
        (["dynamics", "two-point", "--controls", "other"], "--controls"),
        (["dynamics", "two-point", "--inputs", "mnist1d", "--dy2", "1"], "--dy2"),
        (["dynamics", "two-point", "--same-class"], "--same-class"),
        (["dynamics", "two-point", "--steps", "10", "--samples", "11"], "--samples"),
        (["dynamics", "linear", "--u0", "5"], "--u0"),
        (["dynamics", "linear", "--lr", "0.34"], "--lr"),
        (["dynamics", "linear", "--seed", "-1"], "--seed"),
    ],
)
def test_bad_input_exits_2_naming_an_existing_flag(argv, flag, capsys):
    """The error names the option the user typed (not the library's parameter name), and
    that option exists in the command's --help."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert f"argument {flag}:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main([*argv[:2], "--help"])
    assert flag in capsys.readouterr().out
