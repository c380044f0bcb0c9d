"""Regenerate every figure and number that the README and the docs quote.

    python3 docs/regenerate.py               # every job (slow: trains nets, runs sweeps)
    python3 docs/regenerate.py pdlt curves   # some jobs
    python3 docs/regenerate.py --render      # only re-render the text from stored results
    python3 docs/regenerate.py --check       # fail if any generated text is out of date
    python3 docs/regenerate.py --list

A *job* is a module ``docs/jobs/<name>.py`` with

- ``run(img: Path) -> dict``: computes (through the library or ``springblock.cli.main``),
  writes its figures into ``img`` (``docs/img``) and returns a JSON-ready result, stored as
  ``docs/results/<name>.json``;
- ``BLOCKS: dict[str, Callable[[dict], str]]``: markdown renderers of that result.

In ``README.md`` and ``docs/*.md`` the text between ``<!-- generated: NAME.BLOCK -->`` and
``<!-- end generated -->`` is replaced by ``BLOCKS[BLOCK](result)``. So every number the
prose quotes sits in such a block and comes from a stored result that a job computed; none
is typed by hand. ``tests/test_generated_docs.py`` runs ``--check``: the committed text
must equal what the renderers make of the committed results, and every figure the pages
show must be written by some job (``FIGURES`` of the job module).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
JOBS = DOCS / "jobs"
RESULTS = DOCS / "results"
IMG = DOCS / "img"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
NEWLINE = chr(10)
BLOCK = re.compile(
    r"(<!-- generated: (?P<job>[\w-]+)\.(?P<block>[\w-]+) -->\n)"
    r"(?P<body>.*?)(<!-- end generated -->)",
    re.S,
)


def jobs() -> dict[str, object]:
    if str(JOBS) not in sys.path:  # the jobs' shared helpers (``_tables.py``) import by name
        sys.path.insert(0, str(JOBS))
    found = {}
    for path in sorted(JOBS.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"docs_job_{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[path.stem] = module
    return found


def load_result(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def render(text: str, modules: dict, results: dict, missing: set | None = None) -> str:
    """``text`` with every generated block re-rendered from its job's stored result; a
    block whose job has no stored result yet is left as it is and its job added to
    ``missing``."""

    def replace(match: re.Match) -> str:
        job, block = match["job"], match["block"]
        if job not in modules or block not in getattr(modules[job], "BLOCKS", {}):
            raise KeyError(f"unknown generated block {job}.{block}")
        if job not in results:
            results[job] = load_result(job)
        if not results[job]:
            if missing is not None:
                missing.add(job)
            return match[0]
        body = modules[job].BLOCKS[block](results[job]).rstrip(NEWLINE) + NEWLINE
        return match[1] + body + match[5]

    return BLOCK.sub(replace, text)


def stale_pages(modules: dict) -> list[str]:
    """Pages whose generated text differs from what the stored results render to, and
    ``job (no stored result)`` for every job a page quotes that has no stored result."""
    results: dict = {}
    missing: set = set()
    stale = [
        str(page.relative_to(ROOT))
        for page in PAGES
        if render(page.read_text(), modules, results, missing) != page.read_text()
    ]
    return stale + [f"{job} (no stored result)" for job in sorted(missing)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="jobs to run (default: all)")
    parser.add_argument("--render", action="store_true", help="only re-render the pages")
    parser.add_argument("--check", action="store_true", help="fail if a page is out of date")
    parser.add_argument("--list", action="store_true", help="list the jobs")
    args = parser.parse_args(argv)
    modules = jobs()
    if args.list:
        for name, module in modules.items():
            print(f"{name}: {(module.__doc__ or '').strip().splitlines()[0]}")
        return 0
    if args.check:
        stale = stale_pages(modules)
        if stale:
            print("out of date (run docs/regenerate.py --render):", ", ".join(stale))
            return 1
        return 0
    if not args.render:
        unknown = sorted(set(args.names) - set(modules))
        if unknown:
            parser.error(f"unknown job(s): {', '.join(unknown)}; known: {', '.join(modules)}")
        sys.path.insert(0, str(ROOT))
        RESULTS.mkdir(exist_ok=True)
        for name in args.names or list(modules):
            started = time.perf_counter()
            print(f"[{name}] running", flush=True)
            result = modules[name].run(IMG)
            result["job_wall_time_s"] = time.perf_counter() - started
            (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1, allow_nan=False))
            print(f"[{name}] done in {result['job_wall_time_s']:.0f} s", flush=True)
    results: dict = {}
    missing: set = set()
    for page in PAGES:
        text = page.read_text()
        new = render(text, modules, results, missing)
        if new != text:
            page.write_text(new)
            print(f"updated {page.relative_to(ROOT)}")
    for job in sorted(missing):
        print(f"not rendered (no stored result yet): {job}; run docs/regenerate.py {job}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
