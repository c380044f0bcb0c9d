"""Benchmark: predicted and measured learning curves, and the representation-dynamics fit.

Targets of the learning-curve issue, measured in this run and printed side by side:

1. predicted learning curves (self-consistent theory, equivalent kernel and its 1/N
   correction) for 100 values of N and 50 hyperparameter settings (depth, C_W, C_b,
   ridge) in one compiled, vmapped call: target < 1 s after compilation;
2. the empirical curve by kernel ridge regression, 200 datasets x 8 values of N up to
   2000 samples (a doubling ladder 16..2000): target < 60 s on 2 cores, compilations
   included, with the achieved Cholesky FLOP rate as a fraction of a lone jitted float64
   Cholesky at N=2000;
3. one fit of (eta_h, eta_y) to a two-point training run (after compilation);
4. the arc-cosine kernels' acos: ``fast_acos`` (Cephes-style rational atan) against XLA's
   float64 acos on 10^6 points, largest error against numpy and the speed-up.

:func:`measure` returns all of it (with the machine's load average: the times depend on
what else runs); ``docs/jobs/curves.py`` quotes it in docs/curves.md.

Usage: python benchmarks/curves.py [--datasets 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from springblock.numerics.curves import solve as cv
from springblock.numerics.dynamics import solve as ds
from springblock.validation.curves import empirical as ce
from springblock.validation.dynamics import train as dt

REFERENCE = cv.KernelSpec(
    "relu", "nngp", depth=1, weight=2.0, bias=0.0, input_weight=1.0, readout_bias=0.1, dim=3
)


def _best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_predicted() -> dict:
    rng = np.random.default_rng(0)
    settings = 50
    depth = rng.integers(1, 5, settings)
    weight = rng.uniform(1.0, 3.0, settings)
    bias = rng.uniform(0.0, 0.5, settings)
    ridge = 10 ** rng.uniform(-3, 0, settings)
    n = np.geomspace(10, 10_000, 100)
    target = ((1, 0.5), (2, 1.0), (3, 0.25))

    def run():
        out = cv.predict_grid(
            "relu", "nngp", 3, target, n, depth=depth, weight=weight, bias=bias, ridge=ridge
        )
        return out["self_consistent"]

    start = time.perf_counter()
    first = run()
    compile_s = time.perf_counter() - start
    best = _best_of(run)
    assert first.shape == (settings, 100) and np.all(np.isfinite(first))
    return {
        "settings": settings,
        "n_values": 100,
        "first_call_s": compile_s,
        "after_compilation_s": best,
        "target_s": 1.0,
        "met": best < 1.0,
    }


def bench_empirical(datasets: int) -> dict:
    # a doubling ladder (log-spaced N, as learning curves are plotted); the sizes <= 256
    # share one compilation (exact masked padding)
    n = [16, 31, 63, 125, 250, 500, 1000, 2000]
    start = time.perf_counter()
    curve = ce.krr_learning_curve(
        REFERENCE,
        ((2, 1.0),),
        n,
        0.05,
        datasets=datasets,
        test_points=500,
        common_points=0,
        seed=0,
        pad=256,
    )
    total = time.perf_counter() - start
    flops = sum(
        datasets * (max(v for v in n if v <= 256) if size <= 256 else size) ** 3 / 3 for size in n
    )  # Cholesky only, padded sizes
    # reference rate: one jitted float64 Cholesky of an N = 2000 SPD matrix
    with jax.enable_x64(True):
        a = jax.random.normal(jax.random.PRNGKey(0), (2000, 2000))
        spd = a @ a.T / 2000 + jnp.eye(2000)
        chol = jax.jit(jnp.linalg.cholesky)
        chol(spd).block_until_ready()
        ref = _best_of(lambda: chol(spd).block_until_ready(), 3)
    ref_rate = 2000**3 / 3 / ref
    return {
        "datasets": datasets,
        "n": n,
        "total_s": total,
        "target_s": 60.0,
        "met": total < 60.0,
        "cholesky_gflops_achieved": flops / total / 1e9,
        "cholesky_gflops_reference": ref_rate / 1e9,
        "fraction_of_reference": flops / total / ref_rate,
        "mean_error": curve.mean.tolist(),
    }


def bench_fit() -> dict:
    x, t = dt.two_point_task(1.0, 0.5)
    cfg = dt.NetConfig(width=64, hidden_layers=6, tracked_layer=3, gain=0.8, lr=0.05, steps=1500)
    start = time.perf_counter()
    run = dt.train_pairs(cfg, x, t, every=15)
    train_s = time.perf_counter() - start
    args = (run.times, run.h, run.y, run.w, run.dx2, run.dy2)
    start = time.perf_counter()
    ds.fit_rates(*args)
    first = time.perf_counter() - start
    best = _best_of(lambda: ds.fit_rates(*args), 3)
    return {
        "train_first_call_s": train_s,
        "fit_first_call_s": first,
        "fit_after_compilation_s": best,
    }


def bench_acos(points: int = 1_000_001) -> dict:
    with jax.enable_x64(True):
        x = jnp.linspace(-1.0, 1.0, points)
        fast, xla = jax.jit(cv.fast_acos), jax.jit(jnp.arccos)
        error = float(np.max(np.abs(np.asarray(fast(x)) - np.arccos(np.asarray(x)))))
        fast_s = _best_of(lambda: fast(x).block_until_ready())
        xla_s = _best_of(lambda: xla(x).block_until_ready())
    return {
        "points": points,
        "max_abs_error": error,
        "fast_s": fast_s,
        "xla_s": xla_s,
        "speedup": xla_s / fast_s,
    }


def measure(datasets: int = 200) -> dict:
    """Every benchmark of this module, with the machine it ran on and its load."""
    load_before = os.getloadavg()
    results = {
        "cores": os.cpu_count(),
        "jax": jax.__version__,
        "device": str(jax.devices()[0]),
        "predicted": bench_predicted(),
        "empirical": bench_empirical(datasets),
        "fit": bench_fit(),
        "acos": bench_acos(),
    }
    results["load_average_1min"] = [load_before[0], os.getloadavg()[0]]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args.datasets)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    p, e, f = results["predicted"], results["empirical"], results["fit"]
    print(f"{results['cores']} cores, jax {results['jax']}, {results['device']}")
    print(
        f"1. predicted curves, {p['settings']} settings x {p['n_values']} N: "
        f"{p['after_compilation_s'] * 1e3:.1f} ms after compilation (first call "
        f"{p['first_call_s']:.2f} s); target < 1 s: {'met' if p['met'] else 'MISSED'}"
    )
    print(
        f"2. kernel regression, {e['datasets']} datasets x {len(e['n'])} N up to "
        f"{max(e['n'])}: {e['total_s']:.1f} s including compilation; target < 60 s: "
        f"{'met' if e['met'] else 'MISSED'}; Cholesky rate {e['cholesky_gflops_achieved']:.1f} "
        f"GFLOP/s = {e['fraction_of_reference']:.0%} of a lone jitted Cholesky "
        f"({e['cholesky_gflops_reference']:.1f} GFLOP/s)"
    )
    print(
        f"3. pair-equation fit to a two-point run: {f['fit_after_compilation_s']:.2f} s "
        f"after compilation (first call {f['fit_first_call_s']:.1f} s; training "
        f"{f['train_first_call_s']:.1f} s with compilation)"
    )
    a = results["acos"]
    print(
        f"4. fast_acos: {a['speedup']:.1f}x XLA's float64 acos on {a['points']} points, "
        f"largest error {a['max_abs_error']:.1e}"
    )
    print(f"load average (1 min) before / after: {results['load_average_1min']}")


if __name__ == "__main__":
    main()
