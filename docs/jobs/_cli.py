"""Helpers the docs jobs share for running documented commands (a leading underscore: not
a job itself)."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np


def run_json(argv: list[str]) -> dict:
    """``springblock ARGV --json`` in this process: its JSON object; fails on a nonzero
    exit status with the end of what it printed."""
    from springblock import cli

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main([*argv, "--json"])
    assert code == 0, stdout.getvalue()[-2000:]
    return json.loads(stdout.getvalue())


def finite(x) -> float | None:
    """``x`` as a float, None where it is not finite (JSON has no NaN)."""
    x = float(x)
    return x if np.isfinite(x) else None


def run_benchmark(script: str, argv: list[str], environment: dict[str, str] | None = None) -> dict:
    """``python3 benchmarks/SCRIPT ARGV --json`` in a child process, with this process's
    environment updated by ``environment``: its JSON object."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, **(environment or {})}
    out = subprocess.run(
        [sys.executable, str(root / "benchmarks" / script), *argv, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def run_benchmark_single_threaded(script: str, argv: list[str]) -> dict:
    """:func:`run_benchmark` with the single-thread XLA flags the Dask workers get
    (executor.worker_xla_flags): what one worker sees."""
    from springblock.validation.nets.executor import worker_xla_flags

    return run_benchmark(script, argv, {"XLA_FLAGS": worker_xla_flags()})
