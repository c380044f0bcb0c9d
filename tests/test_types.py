"""mypy (configured in pyproject.toml) passes on the whole springblock package.

setuptools' package-dir maps theory/, numerics/ and validation/ into the springblock package,
and the editable install resolves that with an import hook that mypy cannot follow. So the
check first links the source files into a tree laid out as installed
(.mypy_cache/springblock-tree/springblock/..., the mypy_path of the config) and then runs mypy
on the package. Run this file as a script to see mypy's report with repository paths:

    python3 tests/test_types.py [extra mypy arguments]
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10; mypy itself depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / ".mypy_cache" / "springblock-tree"


def _package_dirs() -> dict[str, Path]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        mapping = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / path for name, path in mapping.items()}


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link)
    link.symlink_to(target, target_is_directory=target.is_dir())


def build_tree() -> Path:
    """Link the sources into TREE with the installed layout; returns TREE.

    Each top-level package is a real folder holding links to its files and subfolders; each
    mapped subpackage (springblock.theory -> theory/) is a link inside it. Stale links go.
    """
    dirs = _package_dirs()
    for top in (name for name in dirs if "." not in name):
        pkg = TREE / top
        pkg.mkdir(parents=True, exist_ok=True)
        wanted = {
            entry.name: entry
            for entry in dirs[top].iterdir()
            if entry.name != "__pycache__" and (entry.suffix in (".py", ".pyi") or entry.is_dir())
        }
        for name, path in dirs.items():
            if name.startswith(top + ".") and name.count(".") == 1:
                wanted[name.split(".")[1]] = path
        for entry in pkg.iterdir():
            if entry.name not in wanted:
                entry.unlink() if entry.is_symlink() or entry.is_file() else shutil.rmtree(entry)
        for name, target in wanted.items():
            _link(pkg / name, target)
    return TREE


def run_mypy(*args: str) -> subprocess.CompletedProcess:
    """mypy on the linked tree (config from pyproject.toml), paths mapped back to the repo."""
    build_tree()
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )

    def real(match: re.Match) -> str:
        return os.path.relpath(os.path.realpath(ROOT / match.group(1)), ROOT)

    result.stdout = re.sub(r"^(\S+?\.pyi?)(?=:)", real, result.stdout, flags=re.MULTILINE)
    return result


def test_mypy_passes():
    pytest.importorskip("mypy", reason="mypy not installed (it is in the test extra)")
    result = run_mypy()
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    # Every module was checked, those of the package-dir subpackages included.
    n_files = sum(
        name.endswith(".py") for _, _, names in os.walk(TREE, followlinks=True) for name in names
    )
    assert f"no issues found in {n_files} source files" in result.stdout, result.stdout[-4000:]


if __name__ == "__main__":
    result = run_mypy(*sys.argv[1:])
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sys.exit(result.returncode)
