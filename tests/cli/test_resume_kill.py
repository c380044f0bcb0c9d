"""A sweep killed with SIGKILL mid-run loses nothing already finished and resumes to the
same results as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np


def sweep_argv(data, out):
    return [
        sys.executable,
        "-m",
        "springblock.cli",
        "nets",
        "sweep",
        "--dataset",
        str(data),
        "--alphas",
        "0 0.5 1",
        "--values",
        "0 0.3",
        "--seeds",
        "2",
        "--epochs",
        "40",
        "--depth",
        "3",
        "--width",
        "16",
        "--train-size",
        "200",
        "--no-progress",
        "--json",
        "--out",
        str(out),
    ]


def test_sigkill_mid_sweep_then_resume(tmp_path):
    rng = np.random.default_rng(0)
    means = rng.normal(0, 2, (3, 8))
    y = rng.integers(0, 3, 260)
    x = (means[y] + rng.normal(size=(260, 8))).astype(np.float32)
    data = tmp_path / "toy.npz"
    np.savez(data, x_train=x[:200], y_train=y[:200], x_test=x[200:], y_test=y[200:])

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        sweep_argv(data, killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    nets = killed / "store"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # wait for the first finished nets, then kill
        finished = [p for p in nets.rglob("nets/*.json") if not p.name.startswith(".")]
        if len(finished) >= 3 or proc.poll() is not None:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # A temporary file torn by the kill may remain; it is never read back.
    survivors = [p for p in nets.rglob("nets/*.json") if not p.name.startswith(".")]
    assert 1 <= len(survivors) < 12, "the kill should land mid-sweep"

    resumed = subprocess.run(sweep_argv(data, killed), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    straight = subprocess.run(
        sweep_argv(data, tmp_path / "straight"), capture_output=True, text=True, timeout=600
    )
    assert straight.returncode == 0, straight.stderr
    a, b = json.loads(resumed.stdout), json.loads(straight.stdout)
    assert [c["load_curve"] for c in a["cells"]] == [c["load_curve"] for c in b["cells"]]
    assert [c["test_accuracy"] for c in a["cells"]] == [c["test_accuracy"] for c in b["cells"]]
