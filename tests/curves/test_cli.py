"""``springblock curves ...``: JSON contracts, results stores and figures, bad input,
through the real entry point (:func:`springblock.cli.main`); runs are kept tiny."""

from __future__ import annotations

import json

import pytest

from springblock import cli, open_results


def run(argv, capsys) -> dict:
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_predict_json_and_results(capsys, tmp_path):
    data = run(
        [
            "curves",
            "predict",
            "--input-weight",
            "1",
            "--readout-bias",
            "0.1",
            "--n",
            "40 80",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert data["spectrum"]["multiplicities"][:3] == [1, 3, 5]
    assert data["spectrum"]["eigenvalues"][0] == pytest.approx(0.475, rel=1e-12)
    assert [r["n"] for r in data["curve"]] == [40, 80]
    # literature value of the reference (Canatar et al. prediction at N = 40)
    assert data["curve"][0]["self_consistent"] == pytest.approx(6.48e-3, rel=5e-3)
    ds = open_results(tmp_path)
    assert ds.attrs["kind"] == "curves_predict"
    assert float(ds.self_consistent.sel(n=80)) == data["curve"][1]["self_consistent"]
    # lambda_2 = 3/128 exactly (docs/curves.md, sympy row); multiplicity N(3, 2) = 5
    assert float(ds.eigenvalue.sel(degree=2)) == pytest.approx(3 / 128, rel=1e-12)
    assert int(ds.multiplicity.sel(degree=2)) == 5
    assert float(ds.target_power.sel(degree=2)) == 1.0
    assert json.loads((tmp_path / "results.json").read_text())["curve"][0]["n"] == 40
    for name in ("curves_predict", "curves_spectrum"):
        assert (tmp_path / f"{name}.png").exists() and (tmp_path / f"{name}.pdf").exists()


def test_compare_json_and_results(capsys, tmp_path):
    # the nets' shapes are those of test_empirical.py (one compilation per session)
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
    assert row["sc_relative_error"] == pytest.approx(
        row["empirical_mean"] / row["self_consistent"] - 1, rel=1e-12
    )
    assert (tmp_path / "curves_compare.png").exists() and (tmp_path / "curves_compare.pdf").exists()
    assert json.loads((tmp_path / "results.json").read_text())["curve"][0]["n"] == 40
    ds = open_results(tmp_path)
    assert ds.attrs["kind"] == "curves_compare"
    assert dict(ds.sizes) == {"n": 1, "dataset": 4, "net_dataset": 4}
    per_dataset = ds.per_dataset_error.sel(n=40)
    assert float(per_dataset.mean("dataset")) == pytest.approx(row["empirical_mean"], rel=1e-12)
    assert float(ds.per_dataset_error.sel(n=40, dataset=3)) > 0
    nets = ds.nets_net_errors.sel(n=40)
    assert float(nets.mean("net_dataset")) == pytest.approx(row["nets_mean"], rel=1e-12)


def test_tune_json_and_results(capsys, tmp_path):
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
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert data["settings"] == 8 and data["non_finite"] == []
    best = data["best"][0]["settings"]
    assert len(best) == 2 and best[0]["self_consistent"] <= best[1]["self_consistent"]
    ds = open_results(tmp_path)
    assert dict(ds.sizes) == {"depth": 2, "weight": 1, "bias": 2, "ridge": 2, "n": 2}
    top = best[0]
    picked = ds.self_consistent.sel(
        depth=top["depth"], weight=top["weight"], bias=top["bias"], ridge=top["ridge"], n=30
    )
    assert float(picked) == top["self_consistent"]
    # the best setting is the minimum of the stored grid
    assert float(ds.self_consistent.sel(n=30).min()) == top["self_consistent"]
    assert (tmp_path / "curves_tune.png").exists()


def test_overflowing_kernels_are_flagged_or_refused(capsys):
    """A kernel of scale ~1e200 (C_W = 1e200) has a finite spectrum but predictions that
    square it overflow float64: in a tuning grid the setting is named in ``non_finite`` and
    left out of the ranking; alone (predict) it is refused, naming --weight. (Same compiled
    shapes as the tests above.)"""
    data = run(
        [
            "curves",
            "tune",
            "--depths",
            "1 2",
            "--weights",
            "2 1e200",
            "--biases",
            "0.1",
            "--ridges",
            "0.01 0.1",
            "--n",
            "30 300",
        ],
        capsys,
    )
    assert len(data["non_finite"]) == 4
    assert {s["weight"] for s in data["non_finite"]} == {1e200}
    assert len(data["best"][0]["settings"]) == 4  # the finite ones (top 5 asked)
    assert all(s["weight"] == 2 for s in data["best"][0]["settings"])
    argv = ["curves", "predict", "--input-weight", "1", "--weight", "1e200", "--n", "40 80"]
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "argument --weight:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["curves", "predict", "--ridge", "0"], "--ridge"),
        (["curves", "predict", "--dim", "1"], "--dim"),
        (["curves", "predict", "--target", "2=1"], "--target"),
        (["curves", "predict", "--target", "2:-1"], "--target"),
        (["curves", "predict", "--target", "70:1"], "--target"),  # above l_max = 64
        (["curves", "predict", "--depth", "0"], "--depth"),
        (["curves", "predict", "--weight", "nan"], "--weight"),
        (["curves", "predict", "--n", "40 40"], "--n"),
        (["curves", "compare", "--datasets", "1"], "--datasets"),
        (["curves", "compare", "--posterior-points", "2000"], "--posterior-points"),
        (["curves", "compare", "--n", "20000"], "--n"),
        (["curves", "compare", "--nets"], "--kernel"),
        (["curves", "compare", "--width", "512"], "--width"),  # only with --nets
        (["curves", "compare", "--steps", "10"], "--steps"),
        (["curves", "compare", "--net-datasets", "4"], "--net-datasets"),
        (
            ["curves", "compare", "--nets", "--kernel", "ntk", "--net-datasets", "1"],
            "--net-datasets",
        ),
        (["curves", "tune", "--ridges", "-1"], "--ridges"),
        (["curves", "tune", "--weights", "0"], "--weights"),
        (["curves", "tune", "--weights", "2 2"], "--weights"),
        (["curves", "tune", "--biases", "-1"], "--biases"),
        (["curves", "tune", "--noise", "-1"], "--noise"),
        (["curves", "tune", "--kernel", "ntk", "--target", "99:1"], "--target"),
    ],
)
def test_bad_input_exits_2_naming_an_existing_flag(argv, flag, capsys):
    """The error names the option the user typed (not the library's parameter name), and
    that option exists in the command's --help."""
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}:" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):
        cli.main([*argv[:2], "--help"])
    assert flag in capsys.readouterr().out


def test_dry_run_prints_the_library_defaults(capsys):
    """No option given: the config is the library's (defaults owned by the configs)."""
    from springblock.numerics.curves.config import PredictConfig
    from springblock.results import to_jsonable
    from springblock.validation.curves.compare import CompareConfig

    for command, config in (("predict", PredictConfig()), ("compare", CompareConfig())):
        assert cli.main(["curves", command, "--dry-run"]) == 0
        printed = json.loads(capsys.readouterr().out)["config"]
        assert printed == [to_jsonable(config), None]
