"""Benchmark: XLA's CPU compile flags, compile time against run time.

The test suite compiles many small programs and runs each briefly, so it sets
``--xla_backend_optimization_level=2 --xla_llvm_disable_expensive_passes=true``
(tests/conftest.py, the set "level-2-cheap-llvm") instead of XLA's defaults; the toolkit
itself keeps the defaults. This measures both sides of that choice on the two
kinds of program the suite compiles most: the trainer of the nets (``compiled_train_and_
measure``, a test-sized net: depth 3, width 8, 90 samples, mini-batches of 20; and the
paper's protocol net: depth 8, width 100, 2560 samples, full batch) and the implicit
model-table solve (Kvaerno5 over a small grid). Each flag set (:data:`FLAG_SETS`) runs in
its own process (XLA reads its flags once per process), side by side in one run; printed
per flag set and program:
trace + compile seconds (the first call less one run), and the fastest of ``--repeats``
timed calls after compiling.

Usage: python benchmarks/xla_level.py [--sets default level-2 ...] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
import jax, jax.numpy as jnp, numpy as np
from springblock.validation.nets import train
from springblock.numerics.spring import flows

repeats = int(sys.argv[1])
rows = []

def timed(name, build, call):
    started = time.perf_counter()
    compiled = build()
    jax.block_until_ready(call(compiled))
    first = time.perf_counter() - started
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(call(compiled))
        runs.append(time.perf_counter() - t)
    rows.append({"program": name, "first_call_s": first, "run_s": min(runs),
                 "compile_s": first - min(runs)})

for name, n, d, depth, width, batch, epochs in (
    ("trainer, test size", 90, 6, 3, 8, 20, 200),
    ("trainer, paper net", 2560, 100, 8, 100, None, 20),
):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(n, d)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, n), jnp.int32)
    config = train.TrainConfig(depth=depth, width=width, epochs=epochs, batch_size=batch,
                               early_stopping=False)
    hyper = train.Hyper(alpha=0.5, dropout=0.1, data_noise=0.1)
    timed(name, lambda: train.compiled_train_and_measure(config, 3),
          lambda f: f(x, y, x, y, hyper, jax.random.key(0)))

def table_solve(_):
    with jax.enable_x64(True):
        mu = jnp.linspace(0.05, 0.5, 16)
        return flows.solve(3, mu_right=mu, mu_left=mu, noise=jnp.full(16, 0.1),
                           method="kvaerno5", times=(1.0, 10.0, 100.0), max_steps=20_000).positions

timed("model table, Kvaerno5", lambda: None, table_solve)
print(json.dumps(rows))
"""


#: The flag sets compared: XLA's defaults (what the toolkit runs with) and what the tests
#: set (tests/conftest.py), with the steps in between.
FLAG_SETS = {
    "default": "",
    "level-2": "--xla_backend_optimization_level=2",
    "level-1": "--xla_backend_optimization_level=1",
    "level-2-legacy-emitters": "--xla_backend_optimization_level=2 "
    "--xla_cpu_use_fusion_emitters=false",
    "fast-compile-preset": "--xla_cpu_opt_preset=CPU_OPT_PRESET_FAST_COMPILE",
    "level-2-cheap-llvm": "--xla_backend_optimization_level=2 "
    "--xla_llvm_disable_expensive_passes=true",
    "level-1-cheap-llvm": "--xla_backend_optimization_level=1 "
    "--xla_llvm_disable_expensive_passes=true",
    "cheap-llvm": "--xla_llvm_disable_expensive_passes=true",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets", nargs="+", default=list(FLAG_SETS), help=f"flag sets: {list(FLAG_SETS)}"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed calls (the fastest kept)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    if any(name not in FLAG_SETS for name in args.sets):
        parser.error(f"--sets: names among {list(FLAG_SETS)}")
    if args.repeats < 1:
        parser.error("--repeats: an integer >= 1")

    results = []
    for name in args.sets:
        env = dict(os.environ, XLA_FLAGS=FLAG_SETS[name])
        env.pop("JAX_COMPILATION_CACHE_DIR", None)  # every set compiles from scratch
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(args.repeats)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for row in json.loads(out.stdout.strip().splitlines()[-1]):
            results.append({"flags": name, **row})
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(
            f"{r['flags']:24s} {r['program']:24s} trace+compile {r['compile_s']:6.2f} s   "
            f"run {1e3 * r['run_s']:8.1f} ms"
        )


if __name__ == "__main__":
    main()
