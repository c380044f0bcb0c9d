"""``springblock pdlt ...`` through :func:`springblock.cli.main`: JSON contracts, the stored
results (opened with ``springblock.open_results`` and selected by coordinate names), and
the refusals that need a value of another option (the fuzz table, tests/pdlt/cli_fuzz.py,
covers each option alone).

Expected values are independent closed forms: critical ReLU keeps K = C_W q = 2 at every
layer, its NTK is H^(l) = 2 l (lambda_b = lambda_W = 1, q = 1), chi_perp = C_W / 2 on the
whole (C_b, C_W) plane (so the boundary is C_W = 2), and the four-point vertex is
V = 5 (l - 1) K^2; the exact finite-width law n[(1 + 5/n)^(l-1) - 1] is evaluated here
with numpy.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from springblock import cli, open_results


def run(argv: list[str], capsys) -> dict:
    assert cli.main(["pdlt", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def refused(argv: list[str], capsys) -> str:
    """The one error line of a refused command (exit status 2)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["pdlt", *argv])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_criticality_classes(capsys):
    tanh = run(["criticality", "--activation", "tanh", "--grid", "4", "--phase-depth", "5"], capsys)
    assert (tanh["universality_class"], tanh["C_b"], tanh["C_W"], tanh["K_star"]) == (
        "K*=0",
        0.0,
        1.0,
        0.0,
    )
    assert tanh["four_point_slope"] == pytest.approx(2 / 3, rel=1e-14)
    none = run(
        ["criticality", "--activation", "softplus", "--grid", "4", "--phase-depth", "5"], capsys
    )
    assert none["universality_class"] == "none" and none["C_W"] is None and "C_null" in none


def test_criticality_results_by_coordinate(tmp_path, capsys):
    out = tmp_path / "relu"
    data = run(
        ["criticality", "--activation", "relu", "--grid", "8", "--phase-depth", "10"]
        + ["--out", str(out)],
        capsys,
    )
    assert (data["universality_class"], data["C_b"], data["C_W"]) == ("scale-invariant", 0.0, 2.0)
    assert (out / "phase_diagram.png").exists() and (out / "phase_diagram.pdf").exists()
    assert json.loads((out / "results.json").read_text())["C_W"] == 2.0
    ds = open_results(out)
    assert ds.sizes == {"c_w": 8, "c_b": 8}
    column = ds.sel(c_b=0.0)
    np.testing.assert_allclose(column.chi_perp, column.c_w / 2, rtol=1e-12)
    assert int(ds.phase.sel(c_w=4.0, c_b=1.0)) == 1 and int(ds.phase.sel(c_w=0.25, c_b=0)) == -1
    np.testing.assert_allclose(ds.boundary_c_w, 2.0, rtol=1e-12)
    assert ds.attrs["criticality"]["universality_class"] == "scale-invariant"


def test_kernel_results_by_layer(tmp_path, capsys):
    data = run(["kernel", "--activation", "relu", "--depth", "40", "--out", str(tmp_path)], capsys)
    assert (data["C_b"], data["C_W"], data["critical_initialization"]) == (0.0, 2.0, True)
    assert data["fitted_exponents"]["H"] == pytest.approx(-1.0, abs=1e-6)  # H ~ l
    # theta -> 3 pi / l: the local exponent over layers 20..40 is still ~0.76 (it reaches
    # 0.93 over 100..200; test_recursions checks the limit itself)
    assert 0.6 < data["fitted_exponents"]["angle"] < 1.0
    assert (tmp_path / "kernel.png").exists()
    ds = open_results(tmp_path)
    np.testing.assert_allclose(ds.K, 2.0, rtol=1e-12)
    np.testing.assert_allclose(ds.H, 2.0 * ds.layer, rtol=1e-12)
    assert float(ds.V.sel(layer=11)) == pytest.approx(5 * 10 * 4.0, rel=1e-12)
    assert ds.attrs["fitted_exponents"]["H"] == pytest.approx(-1.0, abs=1e-6)


def test_kernel_tanh_exponents(capsys):
    """K* = 0 class: K ~ 1/l and K_[2] ~ l^(-b1/a1) = 1/l for tanh (PDLT sec. 5.3.3)."""
    tanh = run(
        ["kernel", "--activation", "tanh", "--depth", "400", "--cb", "0", "--cw", "1"], capsys
    )
    assert tanh["fitted_exponents"]["K - K*"] == pytest.approx(1.0, abs=0.02)
    assert tanh["fitted_exponents"]["K_[2]"] == pytest.approx(1.0, abs=0.02)  # p_perp


def test_finite_width_results_by_width_and_layer(tmp_path, capsys):
    # the shapes of test_montecarlo's ReLU ensembles, so the compiled nets are shared
    data = run(
        ["finite-width", "--activation", "relu", "--widths", "32 64,128", "--depth", "5"]
        + ["--mc-samples", "10000", "--out", str(tmp_path)],
        capsys,
    )
    assert data["widths"] == [32, 64, 128] and data["mc_samples"] == 10000
    assert np.asarray(data["measured"]["nCov"]["mean"]).shape == (3, 5)
    assert set(data["max_abs_z"]) >= {"K", "nCov", "nT", "K12"}
    assert (tmp_path / "finite_width.png").exists()
    ds = open_results(tmp_path)
    assert float(ds.theory_V.sel(layer=2)) == pytest.approx(5 * 4.0, rel=1e-12)
    n = ds.width.astype(float)
    np.testing.assert_allclose(
        ds.nV_over_K2_exact.sel(layer=3), n * ((1 + 5 / n) ** 2 - 1), rtol=1e-12
    )
    cell = ds.sel(width=64, layer=2)
    assert float(cell.nCov_theory) == pytest.approx(20.0, rel=1e-12)
    assert float(cell.nCov_z) == pytest.approx(
        (float(cell.nCov) - 20.0) / float(cell.nCov_se), rel=1e-9
    )


def test_refusals_that_depend_on_other_options(capsys):
    line = refused(["finite-width", "--activation", "relu", "--ntk", "--dry-run"], capsys)
    assert "argument --ntk" in line and "weights" in line
    line = refused(
        ["finite-width", "--activation", "relu", "--widths", "8", "8", "--dry-run"], capsys
    )
    assert "argument --widths" in line
    line = refused(["kernel", "--activation", "tanh", "--q11", "0.5", "--q12", "0.9"], capsys)
    assert "argument --q12" in line
    line = refused(
        ["finite-width", "--activation", "relu", "--widths", "8 16 32", "--mc-samples", "900000"]
        + ["--depth", "10", "--dry-run"],
        capsys,
    )
    assert "argument --mc-samples" in line
    # known only after classifying the activation: no critical point, so --cw is needed
    line = refused(["kernel", "--activation", "softplus", "--depth", "5", "--cb", "0.1"], capsys)
    assert "argument --cw" in line and "no critical initialization" in line


def test_usage_error_exits_with_status_2_in_a_fresh_process():
    code = (
        "from springblock import cli; "
        "raise SystemExit(cli.main(['pdlt', 'kernel', '--activation', 'relu', '--depth', '-3']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "--depth" in proc.stderr and "Traceback" not in proc.stderr
