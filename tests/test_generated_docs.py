"""The README and the docs quote only generated numbers and figures (docs/regenerate.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _regenerate():
    spec = importlib.util.spec_from_file_location("regenerate", ROOT / "docs" / "regenerate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_blocks_are_up_to_date():
    """Each marked block equals what its job's renderer makes of the stored result."""
    regenerate = _regenerate()
    assert regenerate.stale_pages(regenerate.jobs()) == []


def test_every_figure_shown_is_written_by_a_job():
    regenerate = _regenerate()
    written = set()
    for module in regenerate.jobs().values():
        written |= set(getattr(module, "FIGURES", ()))
    shown = set()
    for page in regenerate.PAGES:
        shown |= set(re.findall(r"img/([\w.-]+\.png)", page.read_text()))
    assert shown <= written, sorted(shown - written)
    for name in shown:
        assert (ROOT / "docs" / "img" / name).is_file(), name


def test_the_speed_table_renders_where_pytorch_was_not_installed():
    """benchmarks/sweep.py skips PyTorch where the bench extra is missing; the table then
    says so instead of failing (it once raised KeyError on the second run's entry)."""
    import json

    result = json.loads((ROOT / "docs" / "results" / "sweep_speed.json").read_text())
    skipped = {"skipped": "PyTorch is not installed"}
    result["pytorch"] = skipped
    if result.get("xla_fusions"):
        result["xla_fusions"]["pytorch"] = skipped
    table = _regenerate().jobs()["sweep_speed"].BLOCKS["table"](result)
    assert "PyTorch not installed here" in table
    assert "PyTorch 2" not in table  # no PyTorch row or ratio without a PyTorch time
