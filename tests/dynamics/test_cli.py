"""``springblock dynamics ...``: JSON contracts, output files, bad input, through the real
entry point (:func:`springblock.cli.main`); runs are kept tiny."""

from __future__ import annotations

import json

import pytest

from springblock import cli


def run(argv, capsys) -> dict:
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_dynamics_two_point_json(capsys, tmp_path):
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
    assert set(r) >= {"eta_h", "eta_y", "fit_loss", "control_losses", "pairs"}
    assert r["pairs"][0]["dx2"] == pytest.approx(1.0)
    assert (tmp_path / "dynamics_two_point.png").exists()


def test_dynamics_xor_and_linear_json(capsys):
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
            "--tracked-layer",
            "3",
            "--controls",
            "",
        ],
        capsys,
    )
    assert len(data["runs"][0]["pairs"]) == 6
    data = run(
        ["dynamics", "linear", "--singular-values", "2 1", "--steps", "400", "--lr", "1e-2"], capsys
    )
    # gradient descent is the Euler scheme of the mode ODE, so the gap is O(lr): measured
    # 0.028 (1.4% of s = 2) at lr = 1e-2; 0.05 bounds it with margin (test_dynamics_train
    # measures the first-order convergence itself)
    assert len(data["modes"]) == 2 and data["max_abs_error"] < 0.05


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["dynamics", "two-point", "--gains", "0"], "--gains"),
        (["dynamics", "two-point", "--tracked-layer", "9"], "--tracked-layer"),
        (["dynamics", "two-point", "--controls", "other"], "--controls"),
        (["dynamics", "linear", "--u0", "5"], "--u0"),
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
