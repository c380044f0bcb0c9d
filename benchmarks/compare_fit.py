"""Benchmark: compiling the theory-vs-nets fit (validation.compare.fit), one vmap over
(problem, start) pairs against a vmap over starts nested in one over problems.

Both solve the same batch (:data:`fit.CHUNK` problems x 4 starts of one synthetic 6 x 5
panel on a random table of the default grid shape) with optimistix's Levenberg-Marquardt;
the fit compiles once per panel count and cell count, so tracing and compiling is paid once
per shape and run. Printed: seconds to trace (``lower``) and to compile each variant, and
the time of one call after compiling.

Then the chunk size: ``fit.fit_many`` of M = 1, 24 and 256 problems (a full fit, a small
preset's folds x permutations, a default panel's) with chunks of 64, 16 and 8 problems,
each timed after its compilation (the chunk is padded, so a small M pays for a whole
chunk). Usage: python benchmarks/compare_fit.py [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp

    from springblock.numerics.spring.table import ModelTable, TableSpec
    from springblock.validation.compare import cells, fit

    jax.config.update("jax_enable_x64", True)
    spec = TableSpec()
    rng = np.random.default_rng(0)
    shape = (spec.mu_points, spec.noise_points, spec.asymmetry_points, spec.time_points)
    table = ModelTable(spec, rng.dirichlet(np.ones(spec.blocks + 1), size=shape))
    alphas, values = np.linspace(0.0, 1.0, 6), np.linspace(0.0, 0.8, 5)
    grid = (alphas.size, values.size)
    panel = cells.PanelCells(
        knob="data-noise",
        dim="data_noise",
        alphas=alphas,
        values=values,
        u=cells.knob_coordinate("data-noise", values),
        log_time_factor=np.zeros(values.size),
        c=rng.normal(size=grid),
        c_se=np.full(grid, 0.05),
        v=rng.random(grid),
        v_se=np.full(grid, 0.05),
        n_ok=np.full(grid, 2),
        shape=np.zeros((*grid, spec.blocks + 1)),
        depth=spec.blocks + 2,
        spec={},
    )
    flat, lay = fit.flatten([panel]), fit.layout(table, [panel])
    arguments = fit._arguments(fit.problem(flat, lay, table))
    problems, starts, n, size = fit.CHUNK, fit.STARTS, flat.n, lay.size

    solve = fit._pair_solve(1, fit.MAX_STEPS)  # the fit's own per-pair solve
    rows = (np.zeros((problems, size)), np.tile(flat.defined, (problems, 1)))
    rows += tuple(np.tile(x, (problems, 1)) for x in (flat.c, flat.v, flat.c_se, flat.v_se))
    free = np.ones(size, bool)  # every parameter fitted
    starts_set = rng.normal(0.0, 1.5, (starts, size))
    per_problem = (0, 0, None, 0, 0, 0, 0, 0, None)  # theta0, fixed_row, free, mask, data, args
    over_starts = (0, None, None, None, None, None, None, None, None)
    variants = {
        "nested": (
            jax.vmap(jax.vmap(solve, in_axes=over_starts), in_axes=(None, *per_problem[1:])),
            (starts_set, rows[0], free, *rows[1:]),
        ),
        "flat": (
            jax.vmap(solve, in_axes=per_problem),
            (
                np.tile(starts_set, (problems, 1)),
                np.repeat(rows[0], starts, axis=0),
                free,
                *(np.repeat(r, starts, axis=0) for r in rows[1:]),
            ),
        ),
    }
    out = {}
    for name, (function, inputs) in variants.items():
        inputs = (*(jnp.asarray(x) for x in inputs), arguments)
        t = time.perf_counter()
        lowered = jax.jit(function).lower(*inputs)
        lower_s = time.perf_counter() - t
        t = time.perf_counter()
        compiled = lowered.compile()
        compile_s = time.perf_counter() - t
        jax.block_until_ready(compiled(*inputs))
        t = time.perf_counter()
        jax.block_until_ready(compiled(*inputs))
        out[name] = {"lower_s": lower_s, "compile_s": compile_s, "call_s": time.perf_counter() - t}
    chosen, by_chunk = fit.CHUNK, {}
    for chunk in (64, 16, 8):
        fit.CHUNK = chunk  # fit_many reads it per call; each size compiles its own programs
        for m in (1, 24, 256):
            masks = np.tile(flat.defined, (m, 1))
            fit.fit_many(flat, lay, table, masks)  # compiles
            t = time.perf_counter()
            fit.fit_many(flat, lay, table, masks)
            by_chunk[f"chunk={chunk} M={m}"] = time.perf_counter() - t
    fit.CHUNK = chosen
    if args.json:
        print(json.dumps({**out, "fit_many_s": by_chunk, "chunk": chosen}, indent=2))
        return
    print(f"{problems} problems x {starts} starts, {n} cells, {size} parameters")
    for name, r in out.items():
        print(
            f"{name:>7}: trace {r['lower_s']:5.1f} s, compile {r['compile_s']:5.1f} s, "
            f"one call {r['call_s']:5.2f} s"
        )
    print(f"fit_many after compiling (the library's chunk: {chosen}):")
    for name, seconds in by_chunk.items():
        print(f"  {name:>16}: {seconds:5.2f} s")


if __name__ == "__main__":
    main()
