"""The command-line contract: exit codes, JSON keys, bad input, output files."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import springblock
from springblock import cli
from springblock.theory.spring import equilibrium
from tests.cli.coarse import coarse_table
from tests.toy import write_toy_npz


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the installed entry point in a subprocess, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "springblock.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_equilibrium_json_contract_and_values():
    out = run_cli(
        "model", "equilibrium", "--blocks", "7", "--stiffness", "1", "--mu-right", "0.1", "--json"
    )
    data = json.loads(out.stdout)
    assert len(data["elongations"]) == 8 and len(data["positions"]) == 7
    assert isinstance(data["stuck_blocks"], int)
    # Independent check: n(n+1) >= 2yk/mu = 20 first holds at n = 4, so L + 1 - 4 = 4 stuck.
    assert data["stuck_blocks"] == 4
    assert math.isclose(sum(data["elongations"]), 1.0, rel_tol=1e-12)
    expected = equilibrium.pulled_equilibrium(7, 1.0, 0.1, 0.1, 1.0)
    assert data["positions"] == pytest.approx(expected.positions, abs=1e-15)


def test_equilibrium_asymmetric_negative_target_uses_left_friction():
    data = json.loads(
        run_cli(
            "model",
            "equilibrium",
            "-L",
            "4",
            "-k",
            "2",
            "--mu-right",
            "0.5",
            "--mu-left",
            "0.05",
            "--target",
            "-1",
            "--json",
        ).stdout
    )
    mirrored = equilibrium.pulled_equilibrium(4, 2.0, 0.05, 0.5, 1.0)
    assert data["positions"] == pytest.approx([-x for x in mirrored.positions], abs=1e-15)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["model", "equilibrium", "--blocks", "0", "--mu-right", "0.1"], "--blocks"),
        (["model", "equilibrium", "--stiffness", "-1", "--mu-right", "0.1"], "--stiffness"),
        (["model", "equilibrium", "--mu-right", "-0.1"], "--mu-right"),
        (["model", "equilibrium", "--mu-right", "nan"], "--mu-right"),
        (["model", "equilibrium", "--mu-right", "0.1", "--mu-left", "inf"], "--mu-left"),
        (["model", "simulate", "--dt", "0"], "--dt"),
        (["model", "simulate", "--noise", "-1"], "--noise"),
        (["model", "simulate", "--steps", "0"], "--steps"),
        (["model", "simulate", "--seeds", "0"], "--seeds"),
        (["model", "simulate", "--variant", "underdamped", "--mass", "0"], "--mass"),
        (
            [
                "model",
                "simulate",
                "--variant",
                "underdamped",
                "--method",
                "smoothed",
                "--smoothing",
                "1e-9",
            ],
            "--smoothing",
        ),
        (["model", "phase-diagram", "--mu-min", "0.3", "--mu-max", "0.2"], "--mu-max"),
        (["model", "phase-diagram", "--noise-min", "0"], "--noise-min"),
    ],
)
def test_bad_input_exits_2_and_names_the_parameter(argv, flag, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and "must be" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["model"],
        ["model", "simulate", "--variant", "other"],
        ["model", "equilibrium"],
        ["model", "simulate", "--dt", "x"],
    ],
)
def test_usage_errors_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2


def test_simulate_overdamped_json_and_files(tmp_path, capsys):
    assert (
        cli.main(
            [
                "model",
                "simulate",
                "--blocks",
                "4",
                "--steps",
                "2000",
                "--seeds",
                "4",
                "--mu-right",
                "0.05",
                "--mu-left",
                "0.05",
                "--noise",
                "0.1",
                "--json",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    for key in ("load_curve", "elongations", "spread", "curvature"):
        assert key in data
    assert len(data["load_curve"]) == 5 and len(data["elongations"]) == 5
    assert data["load_curve"][0] == pytest.approx(1.0)  # y - x_0 with the wall at 0
    assert sum(data["elongations"]) == pytest.approx(1.0, abs=1e-5)  # float32 positions
    # The summary statistics are those of the per-seed elongations, averaged over seeds.
    assert data["curvature"] == pytest.approx(sum(data["per_seed"]["curvature"]) / 4)
    for name in (
        "load_curve.png",
        "load_curve.pdf",
        "trajectories.png",
        "results.json",
        "results.nc",
    ):
        assert (tmp_path / name).stat().st_size > 0
    ds = springblock.open_results(tmp_path)
    assert ds.attrs["kind"] == "simulate-overdamped"
    final = ds["curvature"].isel(time=-1)
    assert float(final.mean("seed")) == pytest.approx(data["curvature"], rel=1e-6)
    assert ds["load_curve"].sel(seed=0).isel(time=-1).sel(layer=0) == pytest.approx(1.0)


def test_simulate_underdamped_runs(capsys):
    assert (
        cli.main(
            [
                "model",
                "simulate",
                "--variant",
                "underdamped",
                "--blocks",
                "3",
                "--steps",
                "400",
                "--seeds",
                "2",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["config"]["chain"]["stiffness"] == 0.1  # the authors' notebook default
    assert len(data["load_curve"]) == 4


def test_phase_diagram_small_grid_and_resume(tmp_path, capsys):
    argv = [
        "model",
        "phase-diagram",
        "--blocks",
        "3",
        "--mu-points",
        "3",
        "--noise-points",
        "3",
        "--steps",
        "500",
        "--seeds",
        "2",
        "--no-progress",
        "--json",
        "--out",
        str(tmp_path),
    ]
    assert cli.main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert (tmp_path / "phase_diagram.png").stat().st_size > 0
    assert set(first["agreement"]) == {"closed_form", "mean_field", "majority_baseline"}
    phase = springblock.open_results(tmp_path)["phase"].values.ravel()
    most_common = np.bincount(phase, minlength=3).max() / phase.size  # recount from the array
    assert first["agreement"]["majority_baseline"] == pytest.approx(most_common)
    assert first["status"].startswith("computing afresh")
    ds = springblock.open_results(tmp_path)
    assert ds["curvature"].dims == ("mu_right", "noise") and ds["curvature"].shape == (3, 3)
    corner = ds["curvature_per_seed"].sel(mu_right=ds.mu_right[-1], noise=ds.noise[0])
    assert corner.dims == ("seed",) and float(corner.mean()) == pytest.approx(
        float(ds["curvature"][-1, 0])
    )
    rows = sorted(Path(first["store"]).glob("row_*.npz"))
    assert len(rows) == 3
    # Resume: a deleted row is recomputed (same seeds, same numbers) and a kept row is
    # read back, not recomputed: a marker written into it shows up in the results.
    rows[1].unlink()
    with np.load(rows[0]) as data:
        kept = {name: data[name] for name in data.files}
    kept["curvature"] = kept["curvature"] + 100.0
    np.savez(rows[0], **kept)
    assert cli.main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["status"].startswith("resuming")
    again = springblock.open_results(tmp_path)
    np.testing.assert_array_equal(again["curvature"][1:], ds["curvature"][1:])
    assert np.allclose(again["curvature"][0] - ds["curvature"][0], 100.0)
    # Other parameters: a new store, and the output says why the rows are recomputed.
    assert cli.main([*argv, "--steps", "400"]) == 0
    third = json.loads(capsys.readouterr().out)
    assert "recomputing" in third["status"] and "steps 500 -> 400" in third["status"]


def test_latex_json():
    data = json.loads(run_cli("model", "latex", "--json").stdout)
    assert r"\leftarrow" in data["model"] and r"\Phi" in data["mean_drift"]


def test_help_mentions_every_command():
    text = run_cli("model", "--help").stdout
    for command in ("equilibrium", "simulate", "phase-diagram", "latex"):
        assert command in text


def use_a_coarse_model_table(monkeypatch):
    """Tabulating the model on its default grid is tested in tests/compare and only costs
    time in a CLI test: these use the coarse tables of :mod:`tests.cli.coarse`."""
    from springblock.validation.compare import theory_vs_nets

    monkeypatch.setattr(
        theory_vs_nets,
        "default_table_spec",
        lambda panels, model="a": coarse_table(panels[0].depth - 2, model),
    )


def test_nets_sweep_and_compare_on_a_user_npz(tmp_path, capsys, monkeypatch):
    """`nets sweep` on a user .npz, then `nets compare` on its output directory. (The toy
    data and net of the tiny preset, tests/cli/conftest.py; the command line's sweeps of
    it share one trainer program per session through the compilation cache, the preset's
    in-process runs, without float64, another; ``--train-size`` asks for all 90
    samples.)"""
    use_a_coarse_model_table(monkeypatch)
    path = write_toy_npz(tmp_path / "toy.npz")
    out = tmp_path / "run"
    argv = [
        "nets",
        "sweep",
        "--dataset",
        str(path),
        "--alphas",
        "0 1",
        "--values",
        "0 0.3",
        "--seeds",
        "1",
        "--epochs",
        "3",
        "--depth",
        "3",
        "--width",
        "8",
        "--train-size",
        "90",
        "--no-progress",
        "--json",
        "--out",
        str(out),
    ]
    assert cli.main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["cells"]) == 4
    for cell in data["cells"]:
        assert {
            "alpha",
            "value",
            "seed",
            "test_accuracy",
            "load_curve",
            "spread",
            "curvature",
        } <= set(cell)
    for name in ("results.json", "results.nc", "panel_data-noise.png", "maps_data-noise.png"):
        assert (out / name).stat().st_size > 0
    ds = springblock.open_results(out)
    assert ds["test_accuracy"].sel(alpha=1.0, data_noise=0.3, seed=0) == pytest.approx(
        next(c["test_accuracy"] for c in data["cells"] if c["alpha"] == 1.0 and c["value"] == 0.3)
    )
    # both list forms: several words, and one quoted list
    assert cli.main([*argv[:5], "0", "1", *argv[6:]]) == 0
    assert json.loads(capsys.readouterr().out)["spec"]["alphas"] == [0.0, 1.0]
    assert cli.main(["nets", "compare", "--out", str(out), "--permutations", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (entry,) = result["panels"]
    assert entry["knob"] == "data-noise"
    assert "checkerboard" in entry["splits"]
    for split in entry["splits"].values():
        assert split["baselines"] and set(split["p_value"]) < set(split["theory"])
    assert result["model"]["name"] == "a"
    compare_b = ["nets", "compare", "--out", str(out), "--model", "b", "--permutations", "5"]
    assert cli.main([*compare_b, "--json"]) == 0
    result_b = json.loads(capsys.readouterr().out)
    assert result_b["model"]["name"] == "b" and result_b["model"]["table"]["model"] == "b"
    assert set(result_b["panels"][0]["splits"]) == set(entry["splits"])


def test_nets_trajectories_scores_a_checkpointed_panel(
    checkpointed_panel, tmp_path, capsys, monkeypatch
):
    """`nets sweep --checkpoint-every` then `nets trajectories --json`: every split scored
    next to its baselines with permutation p-values, the clock reported, the figures and
    the labelled dataset written; a panel without checkpoints is refused with exit 2,
    naming --out, before any work."""
    use_a_coarse_model_table(monkeypatch)
    out = checkpointed_panel
    capsys.readouterr()
    command = ["nets", "trajectories", "--out", str(out), "--permutations", "3", "--json"]
    assert cli.main(command) == 0
    result = json.loads(capsys.readouterr().out)
    assert sorted(result["epochs"]) == [10, 20, 30]
    assert result["defined_pairs"] >= 1
    assert result["splits"]["checkerboard"]["theory"]["spearman_c"] is not None
    assert set(result["splits"]) == {
        "earlier_epochs",
        "checkerboard",
        "leave_one_alpha_out",
        "leave_one_knob_out",
    }
    assert set(result["splits"]["earlier_epochs"]["baselines"]) == {"frozen", "majority"}
    for entry in result["splits"].values():
        assert entry["permutations"] == 3 and entry["sentence"]
        assert set(entry["beats"]) == set(entry["baselines"])
        for p in entry["p_value"].values():
            assert 1 / 4 <= p <= 1  # (1 + count) / (1 + 3) with 3 permutations
    assert result["clock"]["best_factor"] > 0 and isinstance(result["clock"]["on_edge"], bool)
    for name in ("results.json", "results.nc", "trajectories_c.png", "trajectories_v.png"):
        assert (out / "trajectories" / name).stat().st_size > 0
    ds = springblock.open_results(out / "trajectories")
    assert ds["predicted_c"].dims == ("fit", "alpha", "data_noise", "epoch")
    bare = tmp_path / "bare"  # the tiny preset's data and net (tests/cli/conftest.py)
    toy = write_toy_npz(tmp_path / "toy.npz")
    argv = ["nets", "sweep", "--dataset", str(toy), "--alphas", "0", "--values", "0"]
    argv += ["--seeds", "1", "--epochs", "3", "--depth", "3", "--width", "8"]
    assert cli.main([*argv, "--no-progress", "--out", str(bare)]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        cli.main(["nets", "trajectories", "--out", str(bare)])
    assert exc.value.code == 2 and "--out" in capsys.readouterr().err


def test_nets_sweep_measures_the_hessian(tmp_path, capsys):
    """``--measure hessian`` (beside the default separation measure) stores the curvature of
    every net: in the JSON records and as labelled variables of results.nc."""
    path = write_toy_npz(tmp_path / "toy.npz")
    out = tmp_path / "h"
    argv = ["nets", "sweep", "--dataset", str(path), "--alphas", "0.5", "--values", "0", "0.3"]
    # the tiny preset's net (tests/cli/conftest.py), the smallest the other sweeps train
    argv += ["--seeds", "1", "--epochs", "3", "--depth", "3", "--width", "8"]
    argv += ["--measure", "hessian", "--no-progress", "--json", "--out", str(out)]
    assert cli.main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["spec"]["hessian"] is True and data["spec"]["measure"] == "pinv"
    for cell in data["cells"]:
        assert cell["hessian_trace"] is not None and cell["hessian_top_eigenvalue"] is not None
    assert (out / "hessian_data-noise.png").stat().st_size > 0
    ds = springblock.open_results(out)
    assert np.isfinite(ds["hessian_top_eigenvalue"].values).all()
    # these rows are not images: the CNN is refused before any work, naming --arch
    with pytest.raises(SystemExit) as exc:
        cli.main(["nets", "sweep", "--dataset", str(path), "--arch", "cnn", "--out", str(out)])
    assert exc.value.code == 2 and "--arch" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["nets", "sweep", "--out", "x", "--alphas", "2"], "--alphas"),
        (["nets", "sweep", "--out", "x", "--knob", "dropout", "--values", "1.0"], "--values"),
        (["nets", "sweep", "--out", "x", "--dataset", "no-such-set"], "--dataset"),
        (["nets", "sweep", "--out", "x", "--dataset", "mnsit1d"], "--dataset"),
        (
            ["nets", "sweep", "--out", "x", "--knob", "learning-rate", "--learning-rate", "0.1"],
            "--learning-rate",
        ),
        (["nets", "sweep", "--out", "x", "--knob", "batch-size", "--values", "3000"], "--values"),
        (["nets", "sweep", "--out", "x", "--measure", "pinv", "trace"], "--measure"),
        (["nets", "compare", "--out", "/nonexistent/dir"], "--out"),
        (["nets", "compare", "--out", "/nonexistent/dir", "--permutations", "0"], "--permutations"),
    ],
)
def test_nets_bad_input(argv, flag, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv, "--dry-run"])  # a value wrongly accepted must not start a sweep
    assert exc.value.code == 2
    assert flag in capsys.readouterr().err


def test_compare_refuses_an_incomplete_sweep(tmp_path, capsys):
    """A sweep with a net removed from the store is incomplete: compare names --out. (The
    toy data and net of tests/cli/conftest.py's tiny preset: one trainer program, compiled
    once per session through the compilation cache.)"""
    path = write_toy_npz(tmp_path / "toy.npz")
    out = tmp_path / "panel"
    argv = [
        "nets",
        "sweep",
        "--dataset",
        str(path),
        "--alphas",
        "0",
        "1",
        "--values",
        "0",
        "0.3",
        "--seeds",
        "1",
        "--epochs",
        "3",
        "--depth",
        "3",
        "--width",
        "8",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert cli.main(argv) == 0
    capsys.readouterr()
    ds = springblock.open_results(out)
    ds["status"][0, 0, 0] = 3  # mark one net missing, as an interrupted sweep leaves it
    from springblock import results

    results.write_dataset(out / "results.nc", ds)
    with pytest.raises(SystemExit) as exc:
        cli.main(["nets", "compare", "--out", str(out)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "argument --out" in err and "1 nets are missing" in err


def test_nets_sweep_checkpoint_every_records_the_load_curve_through_training(tmp_path, capsys):
    """``--checkpoint-every 2`` over 4 epochs records epochs 2 and 4; ``--checkpoints``
    beyond the epochs, or with --batched, exits 2 naming the flag."""
    path = write_toy_npz(tmp_path / "toy.npz")
    out = tmp_path / "ck"
    argv = ["nets", "sweep", "--dataset", str(path), "--alphas", "0.5", "--values", "0", "0.3"]
    argv += ["--seeds", "1", "--epochs", "4", "--depth", "3", "--width", "4", "--no-progress"]
    assert cli.main([*argv, "--checkpoint-every", "2", "--json", "--out", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["spec"]["checkpoints"] == [2, 4] and data["checkpoints"]["epochs"] == [2, 4]
    assert list(springblock.open_results(out)["checkpoint"].values) == [2, 4]
    for extra, flag in (
        (["--checkpoints", "2", "9"], "--checkpoints"),
        (["--checkpoints", "2", "--batched"], "--batched"),
        (["--checkpoint-every", "0"], "--checkpoint-every"),
    ):
        with pytest.raises(SystemExit) as exc:
            cli.main([*argv, *extra, "--out", str(tmp_path / "bad")])
        assert exc.value.code == 2 and flag in capsys.readouterr().err, extra
