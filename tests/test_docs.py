"""The documentation: the tutorial's code runs, and the site builds in strict mode."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(page: Path) -> list[str]:
    """The ```python fenced blocks of a Markdown page, in order."""
    return FENCE.findall(page.read_text())


def test_tutorial_blocks_run_in_order(tmp_path, monkeypatch):
    blocks = python_blocks(DOCS / "tutorial.md")
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__tutorial__"}
    for i, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"docs/tutorial.md, python block {i}", "exec"), namespace)
        except Exception as err:
            raise AssertionError(f"tutorial block {i} failed:\n{code}") from err
    assert (tmp_path / "tutorial" / "phase_diagram.png").exists()


def load_hooks():
    """docs/hooks.py as a module (it is loaded by mkdocs, not installed)."""
    spec = importlib.util.spec_from_file_location("springblock_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_covers_every_command():
    pytest.importorskip("mkdocs")
    pytest.importorskip("griffe")
    text = load_hooks().cli_reference()
    for command in (
        "springblock run",
        "springblock model simulate",
        "springblock model phase-diagram",
        "springblock nets sweep",
    ):
        assert f"`{command}`" in text
    assert "--mu-right" in text


def test_mkdocs_build_strict(tmp_path):
    if (
        importlib.util.find_spec("mkdocs") is None
        or importlib.util.find_spec("mkdocstrings_handlers") is None
    ):
        pytest.skip("mkdocs-material and mkdocstrings[python] not installed")
    site = tmp_path / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--quiet",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(site),
        ],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # mkdocs-material's banner
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    models = (site / "models" / "index.html").read_text()
    assert "generated from" in models and r"\Phi\left(" in models
    assert "sympy:" not in models  # every marker was expanded
    cli = (site / "cli" / "index.html").read_text()
    assert "phase-diagram" in cli and "--mu-right" in cli
    assert (site / "javascripts" / "mathjax.js").exists()
