"""Benchmark: how the theory's sympy expressions are compiled, and what it costs.

:func:`springblock.numerics.compile.vector_function` turns a model's sympy expressions
into a jax function; two of its options change how fast the solvers built on it trace,
compile and run: ``cse`` (sympy's common-subexpression elimination in the generated code)
and ``jit`` (the function is a ``jax.jit`` unit, traced once however often a solver calls
it). Measured on the model-(a) table solve (``numerics.spring.flows.solve``, Kvaerno5,
vmapped over a grid), the program the comparison tabulates: a small grid (the tests'
coarse table, 126 cells) and a large one (1,200 cells).

Each variant runs in a fresh process (the jit caches are per process; the persistent
compilation cache is off), in ``--rounds`` rounds of alternating order, so that the slow
and fast phases of a shared machine fall on every variant alike. Printed per variant and
grid: the median over rounds of the first call (trace + compile + one run) and of the
fastest later run, and whether any solve ran out of its step budget (``UnfinishedSolve``:
the toolkit raises it; here it is reported and the time still counts).

Usage: python benchmarks/symbolic_compile.py [--rounds 3] [--blocks 4] [--cse] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Any

CHILD = r"""
import functools, json, sys, time
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
from springblock.numerics import checks, compile as symbolic
from springblock.numerics.spring import flows

cse, jit, blocks = sys.argv[1] == "1", sys.argv[2] == "1", int(sys.argv[3])
flows.vector_function = functools.partial(symbolic.vector_function, cse=cse, jit=jit)
grids = {
    "126 cells": (np.linspace(0, 0.2, 6), np.geomspace(1e-3, 1, 7), np.linspace(1, 2, 3)),
    "1200 cells": (np.linspace(0.01, 0.5, 20), np.geomspace(1e-3, 1, 20), np.linspace(1, 2, 3)),
}
times = np.geomspace(0.1, 1e6, 16)
rows = []
for name, axes in grids.items():
    mu, noise, asym = np.meshgrid(*axes, indexing="ij")
    flows._solver.cache_clear()
    calls, unfinished = [], None
    for _ in range(3):
        t = time.perf_counter()
        try:
            run = flows.solve(blocks, mu_right=jnp.asarray(mu), mu_left=jnp.asarray(asym * mu),
                              noise=jnp.asarray(noise), method="kvaerno5", times=times,
                              max_steps=20_000)
        except checks.UnfinishedSolve as err:  # timed all the same: the work was done
            unfinished = str(err)
        else:
            np.asarray(run.positions)
        calls.append(time.perf_counter() - t)
    rows.append({"grid": name, "first_s": calls[0], "run_s": min(calls[1:]),
                 "unfinished": unfinished})
print(json.dumps(rows))
"""

#: (cse, jit) of each variant; "jit" is what the toolkit uses (vector_function's docstring
#: says why not CSE).
VARIANTS = {"plain": (0, 0), "cse": (1, 0), "jit": (0, 1), "cse+jit": (1, 1)}


def child(variant: str, blocks: int) -> list[dict]:
    env = dict(os.environ)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)  # every variant compiles from scratch
    cse, jit = VARIANTS[variant]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(cse), str(jit), str(blocks)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every variant")
    parser.add_argument("--blocks", type=int, default=4, help="blocks of the chain")
    parser.add_argument(
        "--cse",
        action="store_true",
        help="also the variants with CSE (slow: on the large grid one cell runs to the step "
        "budget, and the vmapped solve with it)",
    )
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds: an integer >= 1")
    if args.blocks < 1:
        parser.error("--blocks: an integer >= 1")

    samples: dict[tuple[str, str], dict[str, Any]] = {}  # times, and the first unfinished
    names = [v for v in VARIANTS if args.cse or not VARIANTS[v][0]]
    for r in range(args.rounds):
        for variant in names if r % 2 == 0 else names[::-1]:
            for row in child(variant, args.blocks):
                entry = samples.setdefault(
                    (variant, row["grid"]), {"first_s": [], "run_s": [], "unfinished": None}
                )
                entry["first_s"].append(row["first_s"])
                entry["run_s"].append(row["run_s"])
                entry["unfinished"] = entry["unfinished"] or row["unfinished"]
    results = [
        {
            "variant": variant,
            "grid": grid,
            "blocks": args.blocks,
            "rounds": args.rounds,
            "first_call_s": statistics.median(s["first_s"]),
            "run_s": statistics.median(s["run_s"]),
            "unfinished": s["unfinished"],
        }
        for (variant, grid), s in samples.items()
    ]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"model (a) table solve, {args.blocks} blocks; medians of {args.rounds} rounds")
    for r in sorted(results, key=lambda r: (r["grid"], names.index(r["variant"]))):
        print(
            f"{r['grid']:11s} {r['variant']:8s} first call {r['first_call_s']:6.2f} s   "
            f"run {r['run_s']:6.2f} s"
            + (f"   UNFINISHED: {r['unfinished'].split(':')[1].strip()}" if r["unfinished"] else "")
        )


if __name__ == "__main__":
    main()
