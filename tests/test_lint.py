"""ruff's lint rules and formatting (pyproject.toml) hold for the whole repository."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed (it is in the test extra)")
    return subprocess.run([ruff, *args, str(ROOT)], capture_output=True, text=True, timeout=120)


def test_ruff_check_passes():
    result = _ruff("check")
    assert result.returncode == 0, result.stdout[-4000:]


def test_ruff_format_is_applied():
    """`ruff format` leaves every file unchanged (run it to fix a failure)."""
    result = _ruff("format", "--check")
    assert result.returncode == 0, result.stdout[-4000:]
