"""Benchmark: the cost of one optimiser step by batch size, for the batch-size panel.

The paper's protocol net (depth 8, width 100, BatchNorm, 2560 x 100 float32 inputs, Adam)
is trained by ``compiled_train_and_measure`` for 1 and for 3 epochs at each batch size
(early stopping off, one net per call, after compiling). The difference gives the cost of
one epoch without the fixed part (initialisation, the measurement pass, transfers); one
epoch is 2560 / batch steps. Printed per batch size: ms per epoch, ms per step, the fixed
part, and the implied seconds per net of the paper's 100 epochs. With a full batch a step
costs what its products cost; at batch 5 a step does 1/512 of that work, so what remains
is the per-step overhead of the loop (permutation gather, dropout keys, optimiser update).

With ``--nets N`` (N > 1) each call trains N nets vmapped (``batched=True``, what
``--batched`` does in a sweep) and every time is divided by N: the per-net cost when the
loop's overhead is shared by N nets, side by side with one net per call.

Usage: python benchmarks/batch_steps.py [--batch-sizes 2560 640 80 20 5] [--depth 8]
       [--width 100] [--repeats 3] [--nets 1 12] [--json]
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[2560, 640, 80, 20, 5])
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls (the fastest kept)")
    parser.add_argument(
        "--nets", type=int, nargs="+", default=[1], help="nets per call (vmapped when > 1)"
    )
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp
    import numpy as np

    from springblock.validation.nets import train

    n = 2560
    if any(not 1 <= b <= n for b in args.batch_sizes):
        parser.error(f"--batch-sizes: integers in [1, {n}]")
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(n, 100)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 10, n), jnp.int32)

    def seconds(batch: int, epochs: int, nets: int) -> float:
        """Seconds per net of the fastest of ``repeats`` calls of ``nets`` nets each."""
        config = train.TrainConfig(
            depth=args.depth,
            width=args.width,
            epochs=epochs,
            batch_size=None if batch == n else batch,
            early_stopping=False,
        )
        f = train.compiled_train_and_measure(config, 10, batched=nets > 1)
        hyper = train.Hyper(alpha=0.5)
        if nets > 1:

            def keys(seed):
                return jax.random.split(jax.random.key(seed), nets)
        else:
            keys = jax.random.key
        jax.block_until_ready(f(x, y, x[:500], y[:500], hyper, keys(0)))
        times = []
        for seed in range(args.repeats):
            t = time.perf_counter()
            jax.block_until_ready(f(x, y, x[:500], y[:500], hyper, keys(seed + 1)))
            times.append(time.perf_counter() - t)
        return min(times) / nets

    def row(batch: int, nets: int) -> dict:
        one, three = seconds(batch, 1, nets), seconds(batch, 3, nets)
        epoch = (three - one) / 2
        steps = n // batch
        return {
            "batch_size": batch,
            "nets_per_call": nets,
            "steps_per_epoch": steps,
            "ms_per_epoch": 1e3 * epoch,
            "ms_per_step": 1e3 * epoch / steps,
            "fixed_ms": 1e3 * (one - epoch),
            "s_per_net_100_epochs": one - epoch + 100 * epoch,
        }

    rows = [row(batch, nets) for batch in args.batch_sizes for nets in args.nets]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"depth {args.depth}, width {args.width}, {n} samples; times per net")
    for r in rows:
        print(
            f"batch {r['batch_size']:5d}, {r['nets_per_call']:3d} nets/call: "
            f"{r['steps_per_epoch']:4d} steps/epoch, {r['ms_per_epoch']:7.1f} ms/epoch, "
            f"{r['ms_per_step']:6.3f} ms/step, fixed {r['fixed_ms']:6.1f} ms; 100 epochs "
            f"{r['s_per_net_100_epochs']:5.2f} s/net"
        )


if __name__ == "__main__":
    main()
