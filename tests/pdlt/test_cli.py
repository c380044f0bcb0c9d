"""``springblock pdlt ...``: JSON contracts, output files, bad input (library and CLI).

The commands are run in-process through a parser built here (the group is registered
with ``pdlt.register``), and once through ``springblock.cli.main`` in a subprocess to
check the exit status 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from springblock.cli import pdlt
from springblock.numerics.pdlt import recursions as pr
from springblock.params import ParameterError


@pytest.fixture(autouse=True, scope="module")
def x64():
    with jax.enable_x64(True):
        yield


def run(argv: list[str], capsys) -> dict:
    parser = argparse.ArgumentParser()
    groups = parser.add_subparsers(dest="group", required=True)
    pdlt.register(groups)
    args = parser.parse_args(["pdlt", *argv, "--json"])
    assert args.func(args) == 0
    return json.loads(capsys.readouterr().out)


def test_criticality_json_contract(capsys):
    relu = run(["criticality", "--activation", "relu"], capsys)
    assert {"universality_class", "C_b", "C_W", "K_star"} <= set(relu)
    assert (relu["universality_class"], relu["C_b"], relu["C_W"], relu["K_star"]) == (
        "scale-invariant",
        0.0,
        2.0,
        None,
    )
    tanh = run(["criticality", "--activation", "tanh"], capsys)
    assert (tanh["universality_class"], tanh["C_W"], tanh["K_star"]) == ("K*=0", 1.0, 0.0)
    gelu = run(["criticality", "--activation", "gelu"], capsys)
    assert gelu["universality_class"] == "half-stable"
    assert gelu["K_star"] == pytest.approx(3.5616, abs=1e-4)
    none = run(["criticality", "--activation", "softplus"], capsys)
    assert none["universality_class"] == "none" and none["C_W"] is None


def test_criticality_writes_figures(tmp_path, capsys):
    out = tmp_path / "crit"
    data = run(
        [
            "criticality",
            "--activation",
            "tanh",
            "--grid",
            "8",
            "--phase-depth",
            "10",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert (out / "phase_diagram.png").exists() and (out / "phase_diagram.pdf").exists()
    saved = json.loads((out / "criticality.json").read_text())
    assert saved["C_W"] == data["C_W"] == 1.0
    assert len(saved["phase_diagram"]["chi_perp"]) == 8


def test_kernel_json_and_figure(tmp_path, capsys):
    data = run(["kernel", "--activation", "relu", "--depth", "40", "--out", str(tmp_path)], capsys)
    assert (data["C_b"], data["C_W"]) == (0.0, 2.0)  # critical by default
    np.testing.assert_allclose(data["K"], 2.0, rtol=1e-12)
    np.testing.assert_allclose(data["H"], 2.0 * np.arange(1, 41), rtol=1e-12)
    assert data["fitted_exponents"]["H"] == pytest.approx(-1.0, abs=1e-6)  # H ~ l
    # theta -> 3 pi / l: the local exponent over layers 20..40 is still ~0.76 (it reaches
    # 0.93 over 100..200; test_pdlt_recursions checks the limit itself)
    assert 0.6 < data["fitted_exponents"]["angle"] < 1.0
    assert (tmp_path / "kernel.png").exists()
    tanh = run(
        ["kernel", "--activation", "tanh", "--depth", "400", "--cb", "0", "--cw", "1"], capsys
    )
    assert tanh["fitted_exponents"]["K - K*"] == pytest.approx(1.0, abs=0.02)
    assert tanh["fitted_exponents"]["K_[2]"] == pytest.approx(1.0, abs=0.02)  # p_perp


def test_finite_width_json_and_figure(tmp_path, capsys):
    data = run(
        [
            "finite-width",
            "--activation",
            "relu",
            "--width",
            "16",
            "--depth",
            "3",
            "--mc-samples",
            "300",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert data["widths"] == [4, 8, 16]
    assert np.asarray(data["measured"]["nCov"]["mean"]).shape == (3, 3)
    assert set(data["max_abs_z"]) >= {"K", "nCov", "nT", "K12"}
    assert data["theory"]["V"][1] == pytest.approx(5 * 4.0)  # V = 5 K^2, K = 2
    assert (tmp_path / "finite_width.png").exists()


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["criticality", "--activation", "nope"], "activation"),
        (["criticality", "--activation", "leaky_relu:nan"], "activation"),
        (["criticality", "--activation", "tanh", "--grid", "2"], "grid"),
        (["kernel", "--activation", "tanh", "--depth", "0"], "depth"),
        (["kernel", "--activation", "tanh", "--depth", "5", "--cw", "-1"], "cw"),
        (["kernel", "--activation", "tanh", "--depth", "5", "--cw", "nan"], "cw"),
        (["kernel", "--activation", "tanh", "--depth", "5", "--cb", "-0.1"], "cb"),
        (["kernel", "--activation", "tanh", "--depth", "5", "--q12", "3"], "q12"),
        (["kernel", "--activation", "softplus", "--depth", "5"], "cw"),
        (["finite-width", "--activation", "relu", "--width", "1", "--depth", "3"], "width"),
        (
            [
                "finite-width",
                "--activation",
                "relu",
                "--width",
                "8",
                "--depth",
                "3",
                "--mc-samples",
                "1",
            ],
            "mc_samples",
        ),
        (
            ["finite-width", "--activation", "relu", "--width", "8", "--depth", "3", "--ntk"],
            "sampler",
        ),
    ],
)
def test_bad_input_names_the_parameter(argv, name):
    parser = argparse.ArgumentParser()
    pdlt.register(parser.add_subparsers(dest="group", required=True))
    args = parser.parse_args(["pdlt", *argv])
    with pytest.raises(ParameterError) as err:
        args.func(args)
    assert err.value.name == name


def test_usage_error_exits_with_status_2():
    code = (
        "from springblock import cli; "
        "raise SystemExit(cli.main(['pdlt', 'kernel', '--activation', 'relu', "
        "'--depth', '-3']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "--depth" in proc.stderr


@pytest.mark.parametrize(
    ("fn", "fragment"),
    [
        (lambda x: x if x > 0 else 0.0, "traceable"),
        (lambda x: np.tanh(np.asarray(x)), "traceable"),
        (jnp.log, "NaN/inf"),
        (lambda x: jnp.exp(40.0 * x), "NaN/inf"),  # overflows for z > 17.7
        (lambda x, y: x * y, "exactly one argument"),
        (lambda x: jnp.sum(x), "elementwise"),
        (42, "named activation"),
    ],
)
def test_bad_activation_functions_are_rejected_before_work(fn, fragment):
    with pytest.raises(ParameterError) as err:
        pr.profile(fn, 3)
    assert err.value.name == "activation"
    assert fragment in str(err.value)
