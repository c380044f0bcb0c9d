"""`springblock run` end to end on a tiny preset: every stage, stage reuse, the report
(rendered in headless Chromium where it is installed), and a failing stage."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import springblock
from springblock import pipeline
from springblock.numerics.spring.phase_diagram import PhaseDiagramSpec
from springblock.numerics.spring.table import TableSpec
from springblock.params import ParameterError
from springblock.validation.nets.sweep import SweepSpec


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory):
    rng = np.random.default_rng(0)
    means = rng.normal(0, 2, (3, 6))
    y = rng.integers(0, 3, 120)
    x = (means[y] + rng.normal(size=(120, 6))).astype(np.float32)
    data = tmp_path_factory.mktemp("data") / "toy.npz"
    np.savez(data, x_train=x[:90], y_train=y[:90], x_test=x[90:], y_test=y[90:])
    model = PhaseDiagramSpec(
        blocks=3, mu_points=3, noise_points=3, steps=300, seeds=2, mean_field_points=8
    )
    nets = SweepSpec(
        knob="data-noise",
        dataset=str(data),
        alphas=(0.0, 1.0),
        values=(0.0, 0.4),
        seeds=1,
        epochs=3,
        depth=3,
        width=8,
    )
    table = TableSpec(blocks=1, mu_points=4, noise_points=5, asymmetry_points=2, time_points=10)
    return pipeline.Preset("tiny", model, (nets,), permutations=5, table=table)


def test_run_writes_a_report_and_reuses_stages(tiny_preset, tmp_path):
    logs = []
    first = pipeline.run(tiny_preset, tmp_path, log=logs.append, progress=False)
    report = tmp_path / "report.html"
    text = report.read_text()
    assert "<math" in text and "data:image/png;base64," in text
    assert "http://" not in text.replace("http://www.w3.org/1998/Math/MathML", "")  # offline
    assert "https://" not in text
    for stage in ("theory", "model", "nets-data-noise", "compare"):
        assert (tmp_path / "stages" / f"{stage}.json").exists()
    assert first["reused"] == []
    assert set(first["stages"]) == {"theory", "model", "nets-data-noise", "compare"}
    panel = first["panels"][0]
    assert panel["knob"] == "data-noise" and len(panel["cells"]) == 4
    assert {"alpha", "value", "seed", "test_accuracy", "curvature", "spread", "load_curve"} <= set(
        panel["cells"][0]
    )
    assert set(panel["claims"]) >= {"regimes", "best_in_band", "accuracy_correlations", "seeds"}
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
    assert "leave_one_panel_out" in first["theory_vs_nets_joint"]
    ds = springblock.open_results(tmp_path)  # every stage's arrays in one dataset
    assert ds["data_noise_test_accuracy"].sel(alpha=1.0, data_noise=0.4).dims == ("seed",)
    assert ds["model_curvature"].dims == ("mu_right", "noise")
    second = pipeline.run(tiny_preset, tmp_path, log=logs.append, progress=False)
    assert set(second["reused"]) == {"theory", "model", "nets-data-noise", "compare"}
    assert "springblock" in text and tiny_preset.nets[0].dataset in text

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
