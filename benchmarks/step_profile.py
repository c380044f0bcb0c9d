"""Benchmark: where a full-batch training step of the paper's net spends its time, kernel
class by kernel class, from XLA's own per-kernel trace.

The protocol net (depth 8, width 100, BatchNorm, LeakyReLU 0.5, 2560 x 100 float32 inputs,
full batch, Adam) is trained by the trainer's compiled program twice, for ``--short`` and
for ``--long`` epochs (the same executable: the epoch count is a traced argument), under
``jax.profiler`` with ``--xla_cpu_enable_xprof_traceme=true``, which records every kernel
XLA's CPU runtime launches. Each kernel is classified by the instruction of the compiled
module it runs (``compiled.as_text()``):

- matrix products: ``dot`` instructions and library fusions whose root is a dot;
- BatchNorm + LeakyReLU kernels: the custom calls of
  :mod:`springblock.validation.nets.batch_norm_kernel` (where they are built);
- reductions: library fusions or kernels whose root is a reduce;
- copies and transposes: ``copy`` instructions and fusions named ``transpose_copy``;
- elementwise: every other fusion (Adam, the loss, BatchNorm where the kernels are not
  built);
- other: the rest (random bits, loop bookkeeping, the measurement's SVDs).

Each run is traced ``--repeats`` times and each class keeps its least time. The
difference of the two runs, divided by the difference of their epoch counts, is the cost
of one step without the fixed part (initialisation, the measurement pass). Printed per
class: ms per step, kernels per step, share of the step. In the same run, the trainer's
three matrix-product shapes are timed alone (each repeated on operands that stay in cache):
the rate a product reaches in isolation, against the rate it reaches inside the step.
Also printed: the step's wall time without the profiler (its overhead is small but not
zero).

Run it single-threaded and on one core to see what one Dask worker sees
(docs/jobs/step_profile.py does): ``--one-core`` pins the process before JAX starts, as a
local cluster's workers are pinned (executor.pin_to_one_core); unpinned, XLA's thread pool
has a thread per core and the library fusions use it.
    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false" python3 benchmarks/step_profile.py --one-core

Usage: python3 benchmarks/step_profile.py [--short 10] [--long 40] [--repeats 3] [--one-core]
       [--json]
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import tempfile
import time

TRACE_FLAG = "--xla_cpu_enable_xprof_traceme=true"
N, FEATURES, WIDTH, DEPTH, CLASSES = 2560, 100, 100, 8, 10
CLASSES_OF_KERNELS = (
    "matrix products",
    "BatchNorm + LeakyReLU kernels",
    "reductions",
    "elementwise",
    "copies and transposes",
)
#: trace events that are not kernels (the executor, Python frames, control flow)
NOT_KERNELS = ("ThunkExecutor", "$", "end: ", "PjitFunction", "CommonPjRt", "while", "cond")
INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%?([\w.\-]+) = (?:\([^)]*\)|\S+) ([\w\-]+)\(")
COMPUTATION = re.compile(r"^(?:ENTRY )?%?([\w.\-]+) .*\{\s*$")


def kernel_classes(hlo_text: str) -> dict[str, str]:
    """Instruction name -> kernel class, for every instruction of a compiled module that
    runs as a kernel of its own (those inside a fusion's computation do not)."""
    classes = {}
    inside_fusion = False
    for line in hlo_text.splitlines():
        header = COMPUTATION.match(line)
        if header is not None:
            name = header.group(1)
            inside_fusion = name.startswith("fused_computation") or (
                name.startswith("wrapped_") and "_computation" in name
            )
            continue
        match = INSTRUCTION.match(line)
        if match is None or inside_fusion:
            continue
        name, opcode = match.groups()
        op_name = re.search(r'op_name="([^"]+)"', line)
        root = op_name.group(1).rsplit("/", 1)[-1] if op_name else ""
        if opcode == "dot" or (opcode == "fusion" and root == "dot_general"):
            classes[name] = "matrix products"
        elif opcode == "reduce" or (opcode == "fusion" and root.startswith("reduce_")):
            classes[name] = "reductions"
        elif opcode == "custom-call" and "springblock_batch_norm_activation" in line:
            classes[name] = "BatchNorm + LeakyReLU kernels"
        elif opcode in ("copy", "transpose") or name.startswith("transpose_copy"):
            classes[name] = "copies and transposes"
        elif opcode == "fusion":
            classes[name] = "elementwise"
    return classes


def kernel_time(trace_dir: str, classes: dict[str, str]) -> dict[str, list[float]]:
    """Kernel class -> [microseconds, kernel count] summed over one profiler trace."""
    (path,) = glob.glob(f"{trace_dir}/**/*.trace.json.gz", recursive=True)
    with gzip.open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    total: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0])
    for event in events:
        name = event.get("name", "")
        if event.get("ph") != "X" or name.startswith(NOT_KERNELS):
            continue
        entry = total[classes.get(name, "other")]
        entry[0] += event.get("dur", 0.0)
        entry[1] += 1
    return dict(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", type=int, default=10, help="epochs of the first run")
    parser.add_argument("--long", type=int, default=40, help="epochs of the second run")
    parser.add_argument("--repeats", type=int, default=3, help="traces per run (least kept)")
    parser.add_argument(
        "--one-core", action="store_true", help="pin the process to one core (as a worker)"
    )
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()
    if not 1 <= args.short < args.long <= 100:
        parser.error("--short and --long: 1 <= short < long <= 100 epochs")
    if args.repeats < 1:
        parser.error("--repeats: at least 1")
    from springblock.validation.nets.executor import pin_to_one_core, xla_flags_with

    core = pin_to_one_core(0) if args.one_core else None
    # XLA reads its flags when jax starts: add the trace flag to the user's first
    os.environ["XLA_FLAGS"] = xla_flags_with(TRACE_FLAG)

    import jax
    import jax.numpy as jnp
    import numpy as np
    from products import seconds_per_product

    from springblock.validation.nets import train

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(N, FEATURES)), jnp.float32)
    y = jnp.asarray(rng.integers(0, CLASSES, N), jnp.int32)
    config = train.TrainConfig(depth=DEPTH, width=WIDTH, epochs=100, early_stopping=False)
    program = train.program(config, CLASSES)
    hyper = train.Hyper(alpha=0.5)
    operands = (x, y, x[:500], y[:500], hyper, jax.random.key(1))

    def call(epochs: int) -> None:
        jax.block_until_ready(program(*operands, np.int32(epochs)))

    classes = kernel_classes(program.lower(*operands, np.int32(1)).compile().as_text())
    call(1)  # compile outside the timings

    def wall(epochs: int) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            call(epochs)
            times.append(time.perf_counter() - started)
        return min(times)

    wall_ms_per_step = 1e3 * (wall(args.long) - wall(args.short)) / (args.long - args.short)
    # each class's least time over --repeats traces: this machine's speed drifts by tens
    # of per cent within minutes, and a slow phase only ever adds time
    traced: dict[int, dict[str, list[float]]] = {}
    for epochs in (args.short, args.long):
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                with jax.profiler.trace(tmp, create_perfetto_trace=True):
                    call(epochs)
                this = kernel_time(tmp, classes)
            best = traced.setdefault(epochs, this)
            for name, entry in this.items():
                if entry[0] < best.get(name, [float("inf"), 0])[0]:
                    best[name] = entry
    steps = args.long - args.short
    per_step = {}
    for name in (*CLASSES_OF_KERNELS, "other"):
        long_us, long_n = traced[args.long].get(name, [0.0, 0])
        short_us, short_n = traced[args.short].get(name, [0.0, 0])
        per_step[name] = {
            "ms": (long_us - short_us) / 1e3 / steps,
            "kernels": (long_n - short_n) / steps,
        }
    kernels_ms = sum(entry["ms"] for entry in per_step.values())
    for entry in per_step.values():
        entry["share"] = entry["ms"] / kernels_ms

    # the step's products: forward W h (F x F)(F x N), input gradient W^T dz, weight
    # gradient dz h^T (F x N)(N x F); depth - 1 hidden layers of each, plus the input layer's
    # forward and weight gradient (its input gradient is not needed)
    w = jnp.asarray(rng.normal(size=(WIDTH, WIDTH)), jnp.float32)
    h = jnp.asarray(rng.normal(size=(WIDTH, N)), jnp.float32)
    shapes = {
        "forward W h": (lambda c: w @ (h + c[:1, :1]), (WIDTH, N)),
        "input gradient W^T dz": (lambda c: w.T @ (h + c[:1, :1]), (WIDTH, N)),
        "weight gradient dz h^T": (lambda c: (h + c[:1, :1]) @ h.T, (WIDTH, WIDTH)),
    }
    isolated = {}
    for name, (product, out_shape) in shapes.items():
        best = seconds_per_product(product, jnp.zeros(out_shape, jnp.float32), repeats=200)
        isolated[name] = {"us": 1e6 * best, "gflops": 2 * WIDTH * WIDTH * N / best / 1e9}
    products_per_step = 3 * (DEPTH - 1) + 2
    flop_per_step = 2 * WIDTH * WIDTH * N * products_per_step  # the 10-class head aside
    in_step_gflops = flop_per_step / (per_step["matrix products"]["ms"] * 1e-3) / 1e9
    mean_isolated_us = sum(v["us"] for v in isolated.values()) / len(isolated)
    result = {
        "protocol": f"depth {DEPTH}, width {WIDTH}, {N} x {FEATURES} inputs, full batch, Adam",
        "epochs": [args.short, args.long],
        "wall_ms_per_step": wall_ms_per_step,
        "kernels_ms_per_step": kernels_ms,
        "per_step": per_step,
        "isolated_products": isolated,
        "products_per_step": products_per_step,
        "products_in_step_gflops": in_step_gflops,
        "products_at_isolated_rate_ms": products_per_step * mean_isolated_us / 1e3,
        "xla_flags": os.environ["XLA_FLAGS"],
        "pinned_core": core,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['protocol']}; one step = epochs {args.long} minus {args.short}, per epoch")
    print(f"wall time without the profiler: {wall_ms_per_step:.1f} ms per step")
    print(f"kernels in the trace:           {kernels_ms:.1f} ms per step")
    for name, entry in per_step.items():
        print(
            f"  {name:24s} {entry['ms']:6.2f} ms  {entry['kernels']:6.1f} kernels  "
            f"{100 * entry['share']:5.1f} %"
        )
    print(f"matrix products inside the step: {in_step_gflops:.1f} GFLOP/s")
    for name, entry in isolated.items():
        print(f"  alone, {name:24s} {entry['us']:7.1f} us  {entry['gflops']:6.1f} GFLOP/s")


if __name__ == "__main__":
    main()
