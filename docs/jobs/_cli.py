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
