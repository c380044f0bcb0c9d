"""``springblock curves ...``: JSON contracts, output files,
bad input, through the real entry point (:func:`springblock.cli.main`); runs are kept tiny."""

from __future__ import annotations

import json

import pytest

from springblock import cli


def run(argv, capsys) -> dict:
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_predict_json(capsys):
    data = run(
        ["curves", "predict", "--input-weight", "1", "--readout-bias", "0.1", "--n", "40 80"],
        capsys,
    )
    assert data["spectrum"]["multiplicities"][:3] == [1, 3, 5]
    assert data["spectrum"]["eigenvalues"][0] == pytest.approx(0.475, rel=1e-12)
    assert [r["n"] for r in data["curve"]] == [40, 80]
    # literature value of the reference (Canatar et al. prediction at N = 40)
    assert data["curve"][0]["self_consistent"] == pytest.approx(6.48e-3, rel=5e-3)


def test_compare_json_and_files(capsys, tmp_path):
    # the nets' shapes are those of test_curves_empirical (one compilation per session)
    data = run(
        [
            "curves",
            "compare",
            "--kernel",
            "ntk",
            "--bias",
            "0.1",
            "--target",
            "1:0.5,2:1",
            "--ridge",
            "0.1",
            "--n",
            "40",
            "--datasets",
            "4",
            "--test-points",
            "300",
            "--nets",
            "--width",
            "512",
            "--net-datasets",
            "4",
            "--steps",
            "300",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    row = data["curve"][0]
    for key in (
        "empirical_mean",
        "empirical_sem",
        "equivalent_kernel",
        "ek_corrected",
        "self_consistent",
        "nets_mean",
        "nets_sem",
    ):
        assert isinstance(row[key], float), key
    assert (tmp_path / "compare.json").exists()
    assert (tmp_path / "curves_compare.png").exists() and (tmp_path / "curves_compare.pdf").exists()
    assert json.loads((tmp_path / "compare.json").read_text())["curve"][0]["n"] == 40


def test_tune_json(capsys):
    data = run(
        [
            "curves",
            "tune",
            "--depths",
            "1 2",
            "--weights",
            "2",
            "--biases",
            "0 0.1",
            "--ridges",
            "0.01 0.1",
            "--n",
            "30 300",
            "--top",
            "2",
        ],
        capsys,
    )
    assert data["settings"] == 8
    best = data["best"][0]["settings"]
    assert len(best) == 2 and best[0]["self_consistent"] <= best[1]["self_consistent"]


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["curves", "predict", "--ridge", "0"], "--ridge"),
        (["curves", "predict", "--dim", "1"], "--dim"),
        (["curves", "predict", "--target", "2=1"], "--target"),
        (["curves", "predict", "--target", "2:-1"], "--target"),
        (["curves", "predict", "--depth", "0"], "--depth"),
        (["curves", "predict", "--weight", "nan"], "--weight"),
        (["curves", "compare", "--datasets", "1"], "--datasets"),
        (["curves", "compare", "--nets"], "--kernel"),
        (["curves", "tune", "--ridges", "-1"], "--ridges"),
        (["curves", "tune", "--weights", "0"], "--weights"),
        (["curves", "tune", "--biases", "-1"], "--biases"),
        (["curves", "tune", "--noise", "-1"], "--noise"),
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
