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


def test_the_speed_table_rates_us_against_pytorchs_faster_run():
    """PyTorch runs before and after our timings (the machine drifts by tens of per cent
    within minutes); the ratio uses the faster run, the conservative one, and the page
    names both."""
    import importlib.util
    import json

    script = ROOT / "benchmarks" / "sweep.py"
    spec = importlib.util.spec_from_file_location("sweep_benchmark", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    slow, fast = {"per_net_s": 2.4, "version": "2.x"}, {"per_net_s": 1.6, "version": "2.x"}
    assert bench.faster_of(slow, fast) == fast | {"per_net_s_runs": [2.4, 1.6]}
    assert bench.faster_of(fast, slow)["per_net_s"] == 1.6
    skipped = {"skipped": "PyTorch is not installed"}
    assert bench.faster_of(skipped, skipped) == skipped

    result = json.loads((ROOT / "docs" / "results" / "sweep_speed.json").read_text())
    result["pytorch"] = {"per_net_s": 1.6, "threads": 2, "version": "2.x"} | {
        "per_net_s_runs": [2.4, 1.6]
    }
    table = _regenerate().jobs()["sweep_speed"].BLOCKS["table"](result)
    ratio = 1.6 / result["best_per_net_s"]
    assert f"is {ratio:.2f}x PyTorch's per-net time" in table
    assert "2.400 and 1.600 s" in table


def test_the_paired_rounds_verdict_follows_the_interval():
    """The page calls the 2x target met only when the paired speed-up's whole 95 % interval
    lies above 2x; a median above 2x with the interval below is "not shown", a median below
    is "not met"; too few rounds say so instead of printing an interval."""
    paired_text = _regenerate().jobs()["sweep_speed"].paired_text

    def result(median, low, high):
        fraction = {"median": 0.8, "ci95": [0.7, 0.9]}
        return {
            "paired": {
                "workers": 2,
                "nets_per_round": 8,
                "pytorch_nets_per_round": 2,
                "rounds": [{}] * 10,
                "speedup": {"median": median, "ci95": [low, high]},
                "fraction_of_matmul_limit": fraction,
                "p_median_speedup_at_most_2": 0.01,
            }
        }

    assert "the 2x target holds" in paired_text(result(2.3, 2.1, 2.5))
    assert "not shown to be at least 2x" in paired_text(result(2.1, 1.9, 2.4))
    assert "the 2x target is not met" in paired_text(result(1.8, 1.6, 2.1))
    assert "too few rounds to show it" in paired_text(result(2.3, None, None))
    assert "95 % interval 70 %-90 %" in paired_text(result(2.3, 2.1, 2.5))
    assert paired_text({}) == ""
