"""Benchmark: PDLT kernel recursions and finite-width Monte Carlo (issue "Effective theory
at initialization"), with the issue's targets:

1. a (C_b, C_W) grid of 256 x 256 initializations through 100 layers
   (``numerics.pdlt.phase.phase_diagram``) in under 1 s after compilation, for ReLU and
   erf (closed forms) and tanh (60-node Gauss-Hermite), in float64 and float32;
2. Monte Carlo of 10^4 networks of width 256 and depth 20 at initialization
   (``validation.pdlt.montecarlo.simulate``) in under 30 s, with the exact conditional
   sampler ("gaussian") and with explicit weight matrices ("weights"; --weights-nets
   of them, scaled linearly to 10^4 when fewer; up to 1000 nets timed again after the
   compiling call, more in one call, compilation included, since it runs for minutes);
3. the two-input kernel and NTK of 256 inputs (all 256^2 pairs) through 100 layers
   (``numerics.pdlt.recursions.pair_profile``) for ReLU and erf, side by side with
   neural-tangents' ``kernel_fn`` for ``stax.serial((Dense, Relu|Erf) x 100, Dense)`` when
   ``neural_tangents`` imports (optional extra; skipped otherwise), with the largest
   difference between the two as a correctness check.

Every time is the median of ``--repeats`` calls after a first call that compiles
(reported separately). Usage: python benchmarks/pdlt_kernels.py [--repeats 3]
[--weights-nets 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from springblock.numerics.pdlt import phase as pdlt_phase
from springblock.numerics.pdlt import recursions as pr
from springblock.validation.pdlt import montecarlo as mc

GRID_TARGET_S = 1.0
MC_TARGET_S = 30.0


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """(first call seconds, median of ``repeats`` later calls, last result); with
    ``repeats = 0`` the first call's time is reported as the steady one too."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times) if times else first, result


def grid_benchmark(repeats: int) -> dict:
    cb = np.linspace(0.0, 1.0, 256)
    cw = np.linspace(0.5, 4.0, 256)
    out = {}
    for x64 in (True, False):
        with jax.enable_x64(x64):
            for name in ("relu", "erf", "tanh"):

                def run(name=name):
                    d = pdlt_phase.phase_diagram(name, C_b=cb, C_W=cw, depth=100, classify=False)
                    return d.chi_perp

                first, steady, _ = timed(run, repeats)
                out[f"{name}_{'f64' if x64 else 'f32'}"] = {"first_s": first, "steady_s": steady}
    return out


def mc_benchmark(repeats: int, weights_nets: int) -> dict:
    out = {}
    spec = mc.EnsembleSpec(
        "tanh", widths=(256,), depth=20, nets=10_000, C_W=1.0, sampler="gaussian"
    )
    first, steady, ens = timed(lambda: mc.simulate(spec), repeats)
    out["gaussian_10k"] = {"first_s": first, "steady_s": steady, "nets": 10_000}
    spec_w = mc.EnsembleSpec(
        "tanh", widths=(256,), depth=20, nets=weights_nets, C_W=1.0, sampler="weights"
    )
    # 10^4 nets run for minutes on 2 cores: then one call, whose time includes the
    # compilation (a few s); fewer nets are timed again after compiling
    first, steady, ens_w = timed(lambda: mc.simulate(spec_w), 1 if weights_nets <= 1000 else 0)
    out["weights"] = {
        "first_call_s": first,
        "steady_s": steady,
        "nets": weights_nets,
        "scaled_to_10k_s": steady * 10_000 / weights_nets,
    }
    # agreement of the two samplers on the deepest layer's kernel (a sanity check)
    a, b = mc.summarize(ens), mc.summarize(ens_w)
    z = (a["K"].mean[0, -1] - b["K"].mean[0, -1]) / np.hypot(a["K"].se[0, -1], b["K"].se[0, -1])
    out["samplers_K_last_layer_z"] = float(z)
    return out


def _inputs(n: int = 256, dim: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim))


def pair_benchmark(repeats: int) -> dict:
    x = _inputs()
    gram = x @ x.T / x.shape[1]
    d = np.sqrt(np.diag(gram))
    q11, q22 = np.broadcast_arrays(d[:, None] ** 2, d[None, :] ** 2)
    out = {}
    with jax.enable_x64(True):
        for name, cw in (("relu", 2.0), ("erf", 1.0)):

            def ours(name=name, cw=cw):
                p = pr.pair_profile(
                    name,
                    100,
                    q11=q11,
                    q12=gram,
                    q22=q22,
                    C_W=cw,
                    C_b=0.0,
                    lambda_b=0.0,
                    lambda_W=cw,
                )
                return np.asarray(p.K12[..., -1]), np.asarray(p.H12[..., -1])

            first, steady, _ = timed(ours, repeats)
            entry = {"ours_first_s": first, "ours_steady_s": steady}
            nt = _neural_tangents(name, cw, x, repeats)
            if nt is not None:
                k_nt, h_nt, nt_first, nt_steady = nt
                k_ours, h_ours = ours()
                entry.update(
                    {
                        "nt_first_s": nt_first,
                        "nt_steady_s": nt_steady,
                        "nt_over_ours": nt_steady / steady,
                        "max_rel_diff_nngp": float(
                            np.max(np.abs(k_ours - k_nt) / np.abs(k_nt).max())
                        ),
                        "max_rel_diff_ntk": float(
                            np.max(np.abs(h_ours - h_nt) / np.abs(h_nt).max())
                        ),
                    }
                )
            out[name] = entry
    return out


def neural_tangents_unavailable() -> str | None:
    """Why neural-tangents (an optional extra) cannot be compared, or None if it imports."""
    try:
        from neural_tangents import stax  # noqa: F401
    except Exception as err:  # noqa: BLE001 - optional; any import failure means "not available"
        return f"{type(err).__name__}: {err}"
    return None


def _neural_tangents(name: str, cw: float, x: np.ndarray, repeats: int):
    """neural-tangents' analytic kernel of the same network, or None if unavailable.

    stax.Dense(W_std, b_std=None) has Var W = W_std^2 / fan_in: the same convention with
    W_std^2 = C_W (first layer included), no bias. Its NTK parametrization trains the
    unit-variance omega in W = W_std omega / sqrt(fan_in), which is PDLT's learning-rate
    tensor lambda_W = C_W (and lambda_b = 0): what ``pair_profile`` is given.
    Our layer l = 100 preactivation kernel is nt's kernel after 100 Dense layers with 99
    nonlinearities in between.
    """
    if neural_tangents_unavailable() is not None:
        return None
    from neural_tangents import stax

    act = stax.Relu() if name == "relu" else stax.Erf()
    layers = [stax.Dense(1, W_std=float(np.sqrt(cw)), b_std=None)]
    for _ in range(99):
        layers += [act, stax.Dense(1, W_std=float(np.sqrt(cw)), b_std=None)]
    _, _, kernel_fn = stax.serial(*layers)
    kernel_fn = jax.jit(kernel_fn, static_argnames="get")
    xj = jnp.asarray(x)

    def run():
        k = kernel_fn(xj, xj, get=("nngp", "ntk"))
        return np.asarray(k.nngp), np.asarray(k.ntk)

    first, steady, (k, h) = timed(run, repeats)
    return k, h, first, steady


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--weights-nets",
        type=int,
        default=10_000,
        help="nets for the weight-matrix sampler (scaled to 10^4)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.repeats, args.weights_nets)
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return result


def measure(repeats: int = 3, weights_nets: int = 10_000) -> dict:
    """Every benchmark, its targets, and the machine's load average before and after (the
    times depend on what else runs: 2 shared cores)."""
    load_before = os.getloadavg()[0]
    result = {
        "config": {
            "cpus": os.cpu_count(),
            "backend": jax.default_backend(),
            "jax": jax.__version__,
            "repeats": repeats,
            "neural_tangents_unavailable": neural_tangents_unavailable(),
        },
        "grid_256x256_100_layers": grid_benchmark(repeats),
        "montecarlo_width256_depth20": mc_benchmark(repeats, weights_nets),
        "pair_kernels_256_inputs_100_layers": pair_benchmark(repeats),
    }
    result["config"]["load_average_1min"] = [load_before, os.getloadavg()[0]]
    result["targets"] = {
        "grid_under_1s": {
            k: v["steady_s"] < GRID_TARGET_S for k, v in result["grid_256x256_100_layers"].items()
        },
        "mc_gaussian_under_30s": result["montecarlo_width256_depth20"]["gaussian_10k"]["steady_s"]
        < MC_TARGET_S,
        "mc_weights_under_30s": result["montecarlo_width256_depth20"]["weights"]["scaled_to_10k_s"]
        < MC_TARGET_S,
    }
    return result


def report(r: dict) -> None:
    c = r["config"]
    print(
        f"backend {c['backend']} ({c['cpus']} cpus), jax {c['jax']}; median of "
        f"{c['repeats']} calls after a compiling first call"
    )
    print("\n(C_b, C_W) grid 256 x 256, 100 layers (target < 1 s):")
    for k, v in r["grid_256x256_100_layers"].items():
        print(f"  {k:<10} steady {v['steady_s']:.3f} s   first call {v['first_s']:.2f} s")
    m = r["montecarlo_width256_depth20"]
    print("\nMonte Carlo, width 256, depth 20 (target: 10^4 nets < 30 s):")
    g, w = m["gaussian_10k"], m["weights"]
    print(
        f"  gaussian (exact conditional) 10^4 nets: {g['steady_s']:.2f} s "
        f"(first {g['first_s']:.2f} s)"
    )
    print(
        f"  weights (weight matrices) {w['nets']} nets: {w['steady_s']:.2f} s (first call "
        f"{w['first_call_s']:.2f} s, compilation included) -> "
        f"{w['scaled_to_10k_s']:.1f} s for 10^4; ratio weights/gaussian "
        f"{w['scaled_to_10k_s'] / g['steady_s']:.0f}x"
    )
    print(f"  samplers agree on K at layer 20: z = {m['samplers_K_last_layer_z']:.2f}")
    print("\npair kernel + NTK, 256 inputs (65536 pairs), 100 layers:")
    for k, v in r["pair_kernels_256_inputs_100_layers"].items():
        line = f"  {k:<5} springblock {v['ours_steady_s']:.3f} s"
        if "nt_steady_s" in v:
            line += (
                f", neural-tangents {v['nt_steady_s']:.3f} s (nt/ours "
                f"{v['nt_over_ours']:.2f}); max rel diff nngp "
                f"{v['max_rel_diff_nngp']:.1e}, ntk {v['max_rel_diff_ntk']:.1e}"
            )
        else:
            line += "; neural-tangents not importable here (optional extra), skipped"
        print(line)
    print("\ntargets:", json.dumps(r["targets"]))


if __name__ == "__main__":
    main()
