"""Sweeps sharded over several (CPU) devices give the single-device results."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from springblock.numerics.spring import overdamped
from springblock.validation.nets.executor import xla_flags_with

SCRIPT = """
import sys, numpy as np, jax
assert jax.device_count() == 4, jax.devices()
from springblock.numerics.spring import overdamped
run = overdamped.simulate(5, mu_right=np.array([0.02, 0.1, 0.2]), noise=0.05, steps=400,
                          seeds=3, saves=4)
np.save(sys.argv[1], np.asarray(run.positions))
"""


def test_four_devices_equal_one(tmp_path):
    out = tmp_path / "sharded.npy"
    flags = xla_flags_with("--xla_force_host_platform_device_count=4")
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    single = overdamped.simulate(
        5, mu_right=np.array([0.02, 0.1, 0.2]), noise=0.05, steps=400, seeds=3, saves=4
    )
    # 9 trajectories over 4 devices (padded to 12); elementwise, so bitwise equal.
    np.testing.assert_array_equal(np.load(out), np.asarray(single.positions))
