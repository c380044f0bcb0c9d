"""Benchmark: ensembles of model (a), springblock's compiled jax kernel against numpy and Python.

Model (a) of the spring-block theory (reference section 3): L blocks, wall x_0 = 0, target
x_{L+1} = y, F_l = k (x_{l+1} - 2 x_l + x_{l-1}), and one step

    x_l <- x_l + eta S(F_l + eps_bar xi_l),    xi_l ~ N(0, 1) iid per block and step,
    S(f) = f - mu_R (f > mu_R),  f + mu_L (f < -mu_L),  0 otherwise.

Same problem for every contender (defaults: L = 8, 256 trajectories, 5000 steps, k = 1,
y = 1, mu_R = mu_L = 0.1, eps_bar = 0.1, eta = 0.01, start from rest):

1. springblock (jax, float32): ``simulate(..., saves=1)`` end to end, drawing its own noise,
   and ``iterate_given_noise`` on a pre-drawn noise array (steps, trajectories, L).
2. a hand-vectorized numpy loop over steps on (trajectories, L) arrays (float64): state
   padded with wall and target, second difference, ``np.where`` for S; either drawing its
   noise each step with ``np.random.default_rng(seed).standard_normal`` or consuming the
   same pre-drawn noise array.
3. a per-block pure-Python loop (float64), the style of the authors' notebook: over steps,
   and inside over blocks one at a time with scalar arithmetic, one trajectory at a time.
   Too slow for the full ensemble: it is timed on ``--loop-trajectories`` trajectories and
   scaled linearly to the full count (trajectories are independent, cost is linear).

jax is warmed up first: the first call (trace + compile + one run) is timed and reported
separately, the steady-state number is the median of ``--repeats`` later calls. The
pre-drawn noise is generated and placed on the device outside the timed region.
Correctness: with identical pre-drawn noise, the numpy loop (float64) and
``iterate_given_noise`` (float32) must give the same final positions to ~1e-4, and the
Python loop must match the numpy loop on its trajectories (both float64).

Usage: python benchmarks/sde_ensemble.py [--blocks 8] [--trajectories 256] [--steps 5000]
       [--repeats 5] [--loop-trajectories 4] [--seed 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from springblock.numerics.spring.overdamped import NOISE_BLOCK, iterate_given_noise, simulate

# The problem (reference section 3, model (a), the authors' code values but L = 8).
K, Y, MU_R, MU_L, EPS_BAR, ETA = 1.0, 1.0, 0.1, 0.1, 0.1, 0.01
#: float32 (jax) against float64 (numpy) on identical noise over 5000 steps.
TOLERANCE = 1e-4
TARGET = 3.0


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, list[float], object]:
    """(median seconds, all seconds, last result) of ``repeats`` calls of ``fn``."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


# --- numpy, vectorized over trajectories and blocks, loop over steps ------------------------


def _padded_rest(trajectories: int, blocks: int) -> np.ndarray:
    """(trajectories, L + 2) state at rest with the wall (column 0) and target (column L+1)."""
    padded = np.zeros((trajectories, blocks + 2))
    padded[:, -1] = Y
    return padded


def _numpy_step(padded: np.ndarray, xi: np.ndarray) -> None:
    """One step of model (a) on the padded state, in place."""
    force = K * (padded[:, 2:] - 2.0 * padded[:, 1:-1] + padded[:, :-2]) + EPS_BAR * xi
    moving = np.where(force > MU_R, force - MU_R, np.where(force < -MU_L, force + MU_L, 0.0))
    padded[:, 1:-1] += ETA * moving


def numpy_drawing(trajectories: int, blocks: int, steps: int, seed: int) -> np.ndarray:
    """Final positions (trajectories, L), noise drawn each step."""
    rng = np.random.default_rng(seed)
    padded = _padded_rest(trajectories, blocks)
    for _ in range(steps):
        _numpy_step(padded, rng.standard_normal((trajectories, blocks)))
    return padded[:, 1:-1].copy()


def numpy_given(noise: np.ndarray) -> np.ndarray:
    """Final positions (trajectories, L) for pre-drawn noise (steps, trajectories, L)."""
    _, trajectories, blocks = noise.shape
    padded = _padded_rest(trajectories, blocks)
    for xi in noise:
        _numpy_step(padded, xi)
    return padded[:, 1:-1].copy()


# --- pure Python, one trajectory at a time, one block at a time ------------------------------


def _python_trajectory(blocks: int, steps: int, draw: Callable[[int], list[float]]) -> list[float]:
    """Final positions of one trajectory; ``draw(n)`` gives the L normals of step n."""
    x = [0.0] * blocks
    last = blocks - 1
    for n in range(steps):
        xi = draw(n)
        new = []
        for l in range(blocks):
            left = x[l - 1] if l > 0 else 0.0
            right = x[l + 1] if l < last else Y
            f = K * (right - 2.0 * x[l] + left) + EPS_BAR * xi[l]
            if f > MU_R:
                s = f - MU_R
            elif f < -MU_L:
                s = f + MU_L
            else:
                s = 0.0
            new.append(x[l] + ETA * s)
        x = new
    return x


def python_drawing(trajectories: int, blocks: int, steps: int, seed: int) -> np.ndarray:
    """Final positions; each step draws the trajectory's L normals in one numpy call."""
    rng = np.random.default_rng(seed)
    return np.array(
        [
            _python_trajectory(blocks, steps, lambda _n: rng.standard_normal(blocks).tolist())
            for _ in range(trajectories)
        ]
    )


def python_given(noise: np.ndarray) -> np.ndarray:
    """Final positions for pre-drawn noise (steps, trajectories, L)."""
    steps, trajectories, blocks = noise.shape
    rows = [noise[:, b, :].tolist() for b in range(trajectories)]
    return np.array([_python_trajectory(blocks, steps, row.__getitem__) for row in rows])


# --- springblock (jax) -----------------------------------------------------------------------


def jax_simulate(trajectories: int, blocks: int, steps: int, seed: int) -> jax.Array:
    """Final positions (trajectories, L) from springblock's end-to-end ensemble."""
    out = simulate(
        blocks,
        stiffness=K,
        target=Y,
        mu_right=MU_R,
        mu_left=MU_L,
        noise=EPS_BAR,
        dt=ETA,
        steps=steps,
        seeds=trajectories,
        saves=1,
        key=seed,
        dtype=jnp.float32,
    )
    return out.positions[:, -1, :].block_until_ready()


def noise_draws(trajectories: int, blocks: int, steps: int, partitionable: bool):
    """Time-able: the normals of one run, drawn in ``NOISE_BLOCK``-step blocks as the kernel
    draws them, with threefry in the given mode. Returns a compiled zero-argument callable."""
    keys = jax.random.split(jax.random.key(0), trajectories)
    blocks_needed = max(1, steps // NOISE_BLOCK)

    def draw(keys):
        def one(total, b):
            block_keys = jax.vmap(jax.random.fold_in, (0, None))(keys, b)
            z = jax.vmap(lambda kk: jax.random.normal(kk, (NOISE_BLOCK, blocks)), out_axes=1)(
                block_keys
            )
            return total + z[0, 0, 0], None  # keep one value: the draw cannot be skipped

        return jax.lax.scan(one, 0.0, jnp.arange(blocks_needed))[0]

    with jax.threefry_partitionable(partitionable):
        compiled = jax.jit(draw).lower(keys).compile()
    return lambda: compiled(keys).block_until_ready()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--trajectories", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--loop-trajectories",
        type=int,
        default=4,
        help="trajectories the pure-Python loop is timed on (then scaled)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args(argv)
    L, B, N, R, seed = args.blocks, args.trajectories, args.steps, args.repeats, args.seed
    small = max(1, min(args.loop_trajectories, B))

    noise64 = np.random.default_rng(seed + 1).standard_normal((N, B, L))
    noise32 = jax.device_put(noise64.astype(np.float32)).block_until_ready()
    x0 = jnp.zeros((B, L), jnp.float32)
    params = tuple(jnp.float32(v) for v in (K, Y, MU_R, MU_L, EPS_BAR, ETA))

    def given() -> jax.Array:
        return iterate_given_noise(x0, noise32, params).block_until_ready()

    # jax: first call (trace + compile + run), then steady state.
    start = time.perf_counter()
    jax_simulate(B, L, N, seed)
    first_sim = time.perf_counter() - start
    start = time.perf_counter()
    given()
    first_given = time.perf_counter() - start
    t_sim, all_sim, x_sim = timed(lambda: jax_simulate(B, L, N, seed), R)
    t_given, all_given, x_given = timed(given, R)

    # Noise generation alone, in threefry's two modes (the kernel uses the second).
    t_rng_part, _, _ = timed(noise_draws(B, L, N, True), R)
    t_rng_nonpart, _, _ = timed(noise_draws(B, L, N, False), R)

    # numpy and Python.
    t_np_draw, all_np_draw, x_np_draw = timed(lambda: numpy_drawing(B, L, N, seed), R)
    t_np_given, all_np_given, x_np_given = timed(lambda: numpy_given(noise64), R)
    t_py_small, all_py_small, _ = timed(lambda: python_drawing(small, L, N, seed), R)
    t_py = t_py_small * B / small

    # Correctness on identical noise.
    diff_jax = float(np.max(np.abs(np.asarray(x_given, np.float64) - x_np_given)))
    diff_py = float(np.max(np.abs(python_given(noise64[:, :small]) - x_np_given[:small])))

    result = {
        "config": {
            "blocks": L,
            "trajectories": B,
            "steps": N,
            "repeats": R,
            "loop_trajectories": small,
            "seed": seed,
            "k": K,
            "y": Y,
            "mu_R": MU_R,
            "mu_L": MU_L,
            "eps_bar": EPS_BAR,
            "eta": ETA,
            "jax_dtype": "float32",
            "numpy_dtype": "float64",
            "cpus": os.cpu_count(),
            "jax_backend": jax.default_backend(),
            "jax": jax.__version__,
            "numpy": np.__version__,
        },
        "seconds": {
            "jax_simulate": t_sim,
            "jax_given_noise": t_given,
            "numpy_drawing": t_np_draw,
            "numpy_given_noise": t_np_given,
            "python_loop_scaled": t_py,
            "python_loop_measured": t_py_small,
            "noise_threefry_partitionable": t_rng_part,
            "noise_threefry_non_partitionable": t_rng_nonpart,
        },
        "all_seconds": {
            "jax_simulate": all_sim,
            "jax_given_noise": all_given,
            "numpy_drawing": all_np_draw,
            "numpy_given_noise": all_np_given,
            "python_loop_measured": all_py_small,
        },
        "first_call_seconds": {"jax_simulate": first_sim, "jax_given_noise": first_given},
        "compile_seconds": {
            "jax_simulate": first_sim - t_sim,
            "jax_given_noise": first_given - t_given,
        },
        "ratios": {
            "numpy_over_jax_end_to_end": t_np_draw / t_sim,
            "numpy_over_jax_given_noise": t_np_given / t_given,
            "python_loop_over_jax": t_py / t_sim,
            "noise_partitionable_over_non_partitionable": t_rng_part / t_rng_nonpart,
        },
        "check": {
            "max_abs_diff_numpy_vs_jax_given_noise": diff_jax,
            "max_abs_diff_python_vs_numpy_given_noise": diff_py,
            "tolerance": TOLERANCE,
            "passed": diff_jax <= TOLERANCE and diff_py <= 1e-9,
            "mean_final_x_L": {
                "jax_simulate": float(np.mean(x_sim[:, -1])),
                "numpy_drawing": float(np.mean(x_np_draw[:, -1])),
            },
        },
        "target": {
            "numpy_over_jax_at_least": TARGET,
            "met_end_to_end": t_np_draw / t_sim >= TARGET,
            "met_given_noise": t_np_given / t_given >= TARGET,
        },
    }
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return result


def report(r: dict) -> None:
    c, s, ratio, chk = r["config"], r["seconds"], r["ratios"], r["check"]
    print(
        f"model (a) ensemble: L = {c['blocks']}, {c['trajectories']} trajectories, "
        f"{c['steps']} steps, k = {c['k']}, y = {c['y']}, mu_R = mu_L = {c['mu_R']}, "
        f"eps_bar = {c['eps_bar']}, eta = {c['eta']}, from rest"
    )
    print(
        f"backend {c['jax_backend']} ({c['cpus']} cpus), jax {c['jax']}, numpy {c['numpy']}; "
        f"jax in float32, numpy/Python in float64; median of {c['repeats']} repeats"
    )
    print(
        f"jax compile (first call - steady median): simulate "
        f"{r['compile_seconds']['jax_simulate']:.2f} s, iterate_given_noise "
        f"{r['compile_seconds']['jax_given_noise']:.2f} s"
    )
    print()
    rows = [
        ("springblock simulate (jax, draws own noise)", s["jax_simulate"], "1.0 (ref e2e)"),
        ("springblock iterate_given_noise (jax)", s["jax_given_noise"], "1.0 (ref given)"),
        (
            "numpy vectorized loop, draws noise each step",
            s["numpy_drawing"],
            f"{ratio['numpy_over_jax_end_to_end']:.1f}x e2e",
        ),
        (
            "numpy vectorized loop, pre-drawn noise",
            s["numpy_given_noise"],
            f"{ratio['numpy_over_jax_given_noise']:.1f}x given",
        ),
        (
            f"per-block Python loop, scaled from {c['loop_trajectories']} traj.",
            s["python_loop_scaled"],
            f"{ratio['python_loop_over_jax']:.0f}x e2e",
        ),
    ]
    print(f"{'implementation':<50} {'seconds':>10}  {'vs jax':>16}")
    for name, t, rel in rows:
        print(f"{name:<50} {t:>10.4f}  {rel:>16}")
    print(
        f"  (Python loop measured {s['python_loop_measured']:.3f} s on "
        f"{c['loop_trajectories']} trajectories, scaled linearly x "
        f"{c['trajectories'] / c['loop_trajectories']:g})"
    )
    print(
        f"noise alone (jax normals, {NOISE_BLOCK}-step blocks): threefry partitionable "
        f"{s['noise_threefry_partitionable']:.4f} s, non-partitionable (used) "
        f"{s['noise_threefry_non_partitionable']:.4f} s, ratio "
        f"{ratio['noise_partitionable_over_non_partitionable']:.2f}"
    )
    print()
    print(
        "ratios: numpy/jax end-to-end {:.2f}, numpy/jax pre-drawn noise {:.2f}, "
        "python-loop/jax {:.1f}".format(
            ratio["numpy_over_jax_end_to_end"],
            ratio["numpy_over_jax_given_noise"],
            ratio["python_loop_over_jax"],
        )
    )
    print(
        f"target: >= {TARGET:g}x faster than the vectorized numpy loop "
        f"(end-to-end: {'met' if r['target']['met_end_to_end'] else 'NOT met'}, "
        f"pre-drawn noise: {'met' if r['target']['met_given_noise'] else 'NOT met'})"
    )
    print(
        f"check, same pre-drawn noise: max |numpy(f64) - iterate_given_noise(f32)| = "
        f"{chk['max_abs_diff_numpy_vs_jax_given_noise']:.2e} (tol {chk['tolerance']:g}); "
        f"max |python - numpy| = {chk['max_abs_diff_python_vs_numpy_given_noise']:.1e}; "
        f"{'PASS' if chk['passed'] else 'FAIL'}"
    )
    m = chk["mean_final_x_L"]
    print(
        f"sanity, ensemble mean of final x_L: jax simulate {m['jax_simulate']:.4f}, "
        f"numpy {m['numpy_drawing']:.4f} (different noise streams)"
    )


if __name__ == "__main__":
    main()
