"""`springblock run` end to end on the paper preset shrunken to a few seconds per panel:
every stage of every knob, stage reuse, the report (rendered in headless Chromium where it
is installed), and a failing stage."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import springblock
from springblock import cli, pipeline
from springblock.params import ParameterError
from springblock.validation.nets.executor import Execution
from springblock.validation.nets.sweep import SweepSpec


def test_run_writes_a_report_and_reuses_stages(paper_shrunk, tmp_path, monkeypatch, capsys):
    """The paper preset, shrunken (every knob of the paper): every stage, the joint
    comparison, the run's dataset, then the same run again through the command line."""
    logs = []
    first = pipeline.run(
        paper_shrunk, tmp_path, log=logs.append, progress=False, execution=Execution(workers=0)
    )
    report = tmp_path / "report.html"
    text = report.read_text()
    assert "<math" in text and "data:image/png;base64," in text
    assert "http://" not in text.replace("http://www.w3.org/1998/Math/MathML", "")  # offline
    assert "https://" not in text
    # no --hessian, so no curvature section (test_a_run_with_hessian_reports_the_curvature)
    assert "Loss curvature" not in text
    assert not any("curvature" in panel for panel in first["panels"])
    knobs = [s.knob for s in paper_shrunk.nets]
    assert knobs == ["data-noise", "learning-rate", "dropout", "batch-size"]
    stages = {"theory", "model", "compare", "compare-b", *(f"nets-{k}" for k in knobs)}
    for stage in stages:
        assert (tmp_path / "stages" / f"{stage}.json").exists()
    assert first["reused"] == []
    assert set(first["stages"]) == stages
    assert [p["knob"] for p in first["panels"]] == knobs
    assert {p["knob"]: p["epochs"] for p in first["panels"]}["learning-rate"] == 4
    for panel in first["panels"]:
        assert panel["nets"]["ok"] == 4, panel["nets"]
        assert len(panel["cells"]) == 4
        assert {
            "alpha",
            "value",
            "seed",
            "test_accuracy",
            "curvature",
            "spread",
            "load_curve",
        } <= set(panel["cells"][0])
        assert set(panel["claims"]) >= {
            "regimes",
            "best_in_band",
            "accuracy_correlations",
            "seeds",
        }
        tvn = panel["theory_vs_nets"]
        assert set(tvn["fit"]) >= {"parameters", "on_bound", "loss"}
        for split in ("checkerboard", "leave_one_alpha_out", "leave_one_knob_out"):
            entry = tvn["splits"][split]
            assert set(entry) >= {"theory", "baselines", "p_value"}
            assert set(entry["baselines"]) == {
                "majority",
                "alpha_only",
                "knob_only",
                "additive",
                "nearest_neighbour",
            }
    assert set(first["theory_vs_nets_joint"]["leave_one_panel_out"]) == set(knobs)
    # both tabulated models, and which predicts held-out cells better, split by split
    assert set(first["theory_vs_nets_by_model"]) == {"a", "b"}
    assert first["theory_vs_nets_by_model"]["a"]["panels"]["dropout"] == next(
        p["theory_vs_nets"] for p in first["panels"] if p["knob"] == "dropout"
    )
    comparison = first["model_comparison"]
    assert len(comparison["splits"]) == 4 * 3 + 4  # three splits per panel, leave-one-out
    assert sum(comparison["tally"].values()) == len(comparison["splits"])
    assert "Model (a) or model (b)?" in text and comparison["sentence"][:40] in text
    assert "compare_b_dropout_predicted_c_full" in springblock.open_results(tmp_path)
    ds = springblock.open_results(tmp_path)  # every stage's arrays in one dataset
    assert ds["data_noise_test_accuracy"].sel(alpha=1.0, data_noise=0.3).dims == ("seed",)
    assert ds["batch_size_test_accuracy"].sel(alpha=0.0, batch_size=80).dims == ("seed",)
    assert ds["model_curvature"].dims == ("mu_right", "noise")
    # the second run through the command line (its preset swapped for the shrunken one)
    monkeypatch.setattr(pipeline, "preset", lambda name, dataset=None, **options: paper_shrunk)
    capsys.readouterr()
    argv = ["run", "--out", str(tmp_path), "--no-progress", "--json", "--workers", "0"]
    assert cli.main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    assert set(second["reused"]) == stages
    assert second["panels"][0]["claims"] == first["panels"][0]["claims"]
    assert "springblock" in text and paper_shrunk.nets[0].dataset in text

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("headless Chromium not installed (Debian package chromium)")
    dom = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium'}",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<math") >= 5 and dom.stdout.count("<img") >= 4


def test_a_failing_stage_names_itself_and_keeps_earlier_stages(tiny_preset, tmp_path):
    """The data file is valid when the preset is made (bad input is refused before any
    work) but gone when its stage runs: that stage fails by name, earlier ones are kept."""
    data = tmp_path / "vanishing.npz"
    shutil.copy(tiny_preset.nets[0].dataset, data)
    spec = SweepSpec(
        dataset=str(data),
        alphas=(0.0,),
        values=(0.0,),
        seeds=1,
        epochs=1,
        depth=3,
        width=4,
    )
    broken = pipeline.Preset("broken", tiny_preset.model, (spec,))
    data.unlink()
    with pytest.raises(pipeline.StageFailed) as err:
        pipeline.run(broken, tmp_path, log=lambda m: None, progress=False)
    assert err.value.stage == "nets-data-noise"
    assert (tmp_path / "stages" / "model.json").exists()


def test_presets_validate_before_any_work():
    with pytest.raises(ParameterError) as err:
        pipeline.preset("quick", "mnsit1d")
    assert err.value.name == "dataset"
    with pytest.raises(ParameterError) as err:
        pipeline.preset("fast")
    assert err.value.name == "preset"
    quick = pipeline.preset("quick")
    assert {s.knob for s in quick.nets} >= {"data-noise", "dropout"}
    for spec in quick.nets:
        assert spec.alphas == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
        assert len(spec.values) >= 5 and spec.seeds >= 2 and spec.dataset == "fashion-mnist"
    paper = pipeline.preset("paper")
    assert [s.knob for s in paper.nets] == ["data-noise", "learning-rate", "dropout", "batch-size"]
    assert {s.knob: s.epochs for s in paper.nets}["learning-rate"] == 200
    assert all(s.seeds == 10 for s in paper.nets)


def test_a_run_with_hessian_reports_the_curvature(tiny_preset, tmp_path):
    """``--hessian`` reaches every panel of a preset, and the report shows each panel's
    curvature range and figure (without it the report has no curvature section:
    :func:`test_run_writes_a_report_and_reuses_stages`)."""
    import dataclasses

    assert all(s.hessian for s in pipeline.preset("quick", hessian=True).nets)
    assert not any(s.hessian for s in pipeline.preset("quick").nets)
    nets = tuple(dataclasses.replace(s, hessian=True) for s in tiny_preset.nets)
    curved = dataclasses.replace(tiny_preset, nets=nets)
    result = pipeline.run(curved, tmp_path, log=lambda m: None, progress=False)
    text = (tmp_path / "report.html").read_text()
    assert "Loss curvature" in text and "Top Hessian eigenvalue and trace" in text
    (panel,) = result["panels"]
    assert panel["curvature"]["top_eigenvalue"]["cells"] == 4


def test_the_cnn_reaches_every_panel_of_a_preset_and_needs_image_data(capsys):
    """``run --arch cnn`` trains the authors' CNN in every panel (an MLP preset keeps the
    spec, and so the digest, it had before the option existed); flat data and --channels
    without the CNN stop before any work with exit 2, naming the flag."""
    cnn = pipeline.preset("quick", arch="cnn", channels=8)
    assert [(s.arch, s.channels) for s in cnn.nets] == [("cnn", 8)] * len(cnn.nets)
    assert cnn.model.blocks == cnn.nets[0].depth - 2
    mlp = pipeline.preset("quick")
    assert all(s.arch == "mlp" for s in mlp.nets)
    assert all("arch" not in s.to_json() for s in mlp.nets)
    with pytest.raises(ParameterError) as err:
        pipeline.preset("quick", dataset="digits", arch="cnn")
    assert err.value.name == "arch"
    with pytest.raises(ParameterError) as err:
        pipeline.preset("quick", channels=8)
    assert err.value.name == "channels"
    for argv, flag in (
        (["run", "--arch", "cnn", "--dataset", "digits"], "--arch"),
        (["run", "--channels", "4"], "--channels"),
    ):
        with pytest.raises(SystemExit) as exc:
            cli.main([*argv, "--out", "unused"])
        assert exc.value.code == 2 and flag in capsys.readouterr().err
