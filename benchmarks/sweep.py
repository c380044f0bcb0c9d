"""Benchmark: one panel of trained nets at the paper's protocol, and how to run its nets.

The panel (reference section 2): 6 alphas x 8 knob values x 10 seeds = 480 MLPs of depth 8
and width 100 with BatchNorm, 2560 training samples of 100 features (the Gaussian-mixture
dataset, so the first layer is 100 x 100 as in the paper), Adam, 100 full-batch epochs,
trained and measured by springblock.validation.

Printed side by side, measured in this one run:
1. the float32 matmul rate at the net's own shape, (2560 x 100) @ (100 x 100), jitted;
2. per-net time of the same nets (a) streamed one at a time through one compiled function
   (what the sweep does by default) and (b) ten at a time through jax.vmap (``--batched``);
3. the full panel end to end with the faster of the two (``--nets`` limits it to a subset
   and extrapolates, saying so), with its achieved FLOP rate as a fraction of (1).

FLOPs per net count the matrix products only: per training step 3 x the forward product
FLOPs (forward, and the backward products for inputs and weights), 2 N in out per layer;
early stopping is taken into account through the epochs each net actually ran.

Usage: python benchmarks/sweep.py [--nets 480] [--repeat-nets 6] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from springblock.validation.nets import data as datasets
from springblock.validation.nets import sweep
from springblock.validation.nets.train import Hyper, TrainConfig, compiled_train_and_measure

DEPTH, WIDTH, SAMPLES, FEATURES, CLASSES, EPOCHS = 8, 100, 2560, 100, 10, 100


def matmul_rate(repeats: int = 200) -> float:
    """FLOP/s of a jitted float32 (2560 x 100) @ (100 x 100) product."""
    a = jnp.ones((SAMPLES, WIDTH), jnp.float32)
    b = jnp.ones((WIDTH, WIDTH), jnp.float32)

    @jax.jit
    def many(a, b):
        def body(x, _):
            return (x @ b) * 1e-3, None  # keep values bounded; elementwise cost is tiny

        return jax.lax.scan(body, a, None, length=repeats)[0]

    many(a, b).block_until_ready()
    start = time.perf_counter()
    many(a, b).block_until_ready()
    elapsed = time.perf_counter() - start
    return repeats * 2 * SAMPLES * WIDTH * WIDTH / elapsed


def flops_per_step(features: int) -> float:
    sizes = [features] + [WIDTH] * (DEPTH - 1) + [CLASSES]
    forward = sum(2 * SAMPLES * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return 3.0 * forward


def per_net_times(dataset, nets: int) -> dict:
    """Streamed vs vmapped seconds per net on the same ``nets`` nets (after compiling)."""
    config = TrainConfig(depth=DEPTH, width=WIDTH, epochs=EPOCHS)
    arrays = [
        jnp.asarray(a) for a in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test)
    ]
    keys = [jax.random.key(s) for s in range(nets)]
    hyper = Hyper(alpha=jnp.float32(0.4), data_noise=jnp.float32(0.2))
    single = compiled_train_and_measure(config, CLASSES)
    single(*arrays, hyper, keys[0]).test_accuracy.block_until_ready()  # compile
    start = time.perf_counter()
    for k in keys:
        single(*arrays, hyper, k).test_accuracy.block_until_ready()
    streamed = (time.perf_counter() - start) / nets
    batched_fn = compiled_train_and_measure(config, CLASSES, batched=True)
    hypers = Hyper(*[jnp.full((nets,), h, jnp.float32) for h in hyper])
    stacked = jnp.stack(keys)
    batched_fn(*arrays, hypers, stacked).test_accuracy.block_until_ready()  # compile
    start = time.perf_counter()
    batched_fn(*arrays, hypers, stacked).test_accuracy.block_until_ready()
    batched = (time.perf_counter() - start) / nets
    return {"streamed_s_per_net": streamed, "batched_s_per_net": batched, "nets": nets}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--nets",
        type=int,
        default=480,
        help="nets of the panel to run (default: all 480); fewer are extrapolated to the panel",
    )
    parser.add_argument(
        "--repeat-nets",
        type=int,
        default=6,
        help="nets for the streamed-vs-vmapped comparison (default 6)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    dataset = datasets.load_dataset("gmm", train_size=SAMPLES, seed=0)
    rate = matmul_rate()
    modes = per_net_times(dataset, args.repeat_nets)
    batched = modes["batched_s_per_net"] < modes["streamed_s_per_net"]

    spec = sweep.SweepSpec(
        knob="data-noise",
        dataset="gmm",
        values=sweep.PAPER_VALUES["data-noise"][:8],
        seeds=10,
        epochs=EPOCHS,
        depth=DEPTH,
        width=WIDTH,
        train_size=SAMPLES,
        batched=batched,
    )
    nets = min(args.nets, spec.nets)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp)
        # Run the first `nets` nets of the panel through the real sweep runner.
        cells = -(-nets // spec.seeds)
        alphas_needed = -(-cells // len(spec.values))
        part = sweep.SweepSpec(
            **{
                **spec.to_json(),
                "alphas": spec.alphas[:alphas_needed],
                "values": tuple(spec.values),
            }
        )
        start = time.perf_counter()
        fields = sweep.run(part, store, dataset)
        wall = time.perf_counter() - start
    ran = int(np.sum(~np.isnan(fields["test_accuracy"])))
    epochs = float(np.nansum(fields["epochs_run"]))
    flops = epochs * flops_per_step(FEATURES)
    panel_estimate = wall * spec.nets / ran
    result = {
        "matmul_gflops": rate / 1e9,
        "per_net": modes,
        "chosen": "batched (vmap)" if batched else "streamed",
        "panel_nets": spec.nets,
        "nets_run": ran,
        "wall_s": wall,
        "panel_estimate_s": panel_estimate,
        "achieved_gflops": flops / wall / 1e9,
        "fraction_of_matmul_rate": flops / wall / rate,
        "streamed_over_batched": modes["streamed_s_per_net"] / modes["batched_s_per_net"],
        "cpus": os.cpu_count(),
        "backend": jax.default_backend(),
        "jax": jax.__version__,
        "target_fraction": 0.7,
    }
    if args.json:
        print(json.dumps(result))
        return result
    print(f"backend {result['backend']} ({result['cpus']} cpus), jax {result['jax']}")
    print(f"float32 matmul (2560x100)@(100x100): {result['matmul_gflops']:.1f} GFLOP/s")
    print(
        f"per net, same {modes['nets']} nets: streamed {modes['streamed_s_per_net']:.3f} s, "
        f"vmapped {modes['batched_s_per_net']:.3f} s (streamed/vmapped "
        f"{result['streamed_over_batched']:.2f}); using {result['chosen']}"
    )
    print(
        f"panel: {ran} of {spec.nets} nets in {wall:.1f} s -> full panel "
        f"{'measured' if ran == spec.nets else 'estimated'} {panel_estimate / 60:.1f} min"
    )
    print(
        f"achieved {result['achieved_gflops']:.1f} GFLOP/s = "
        f"{result['fraction_of_matmul_rate']:.0%} of the matmul rate (target >= 70%)"
    )
    return result


if __name__ == "__main__":
    main()
