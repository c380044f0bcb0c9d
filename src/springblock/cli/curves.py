"""``springblock curves {predict,compare,tune}``: learning curves of wide nets' kernels.

Predictions from :mod:`springblock.numerics.curves.solve` (spectrum on the hypersphere,
equivalent kernel, its 1/N correction, the self-consistent theory), measurements from
:mod:`springblock.validation.curves.empirical` (kernel ridge regression on sampled
datasets, trained wide nets).
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

from springblock.cli.common import (
    add_output,
    clean,
    emit,
    flag_names,
    parse_float,
    parse_int,
    parse_numbers,
    write_results,
)
from springblock.params import ParameterError, check_int


def _add_kernel(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("kernel (a wide MLP on the sphere S^(dim-1))")
    g.add_argument(
        "--activation",
        default="relu",
        help="relu, leaky_relu[:SLOPE], linear, "
        "erf, sin or gelu (closed-form Gaussian expectations; default relu)",
    )
    g.add_argument(
        "--kernel",
        choices=("nngp", "ntk"),
        default="nngp",
        help="NNGP (Bayesian/last-layer training) or NTK (gradient descent)",
    )
    g.add_argument("--depth", type=parse_int, default=1, help="hidden layers (default 1)")
    g.add_argument(
        "--weight",
        type=parse_float,
        default=2.0,
        help="weight variance C_W (> 0; default 2, ReLU criticality)",
    )
    g.add_argument("--bias", type=parse_float, default=0.0, help="bias variance C_b (>= 0)")
    g.add_argument(
        "--input-weight", type=parse_float, help="first layer's weight variance (default: C_W)"
    )
    g.add_argument(
        "--readout-bias", type=parse_float, help="readout's bias variance (default: C_b)"
    )
    g.add_argument("--dim", type=parse_int, default=3, help="input dimension d (>= 2)")


def _add_problem(p: argparse.ArgumentParser, n_default: str) -> None:
    g = p.add_argument_group("regression problem")
    g.add_argument(
        "--target",
        default="2:1",
        help="target power per degree, DEGREE:POWER pairs, e.g. '2:1' or '1:0.5,2:1' (default 2:1)",
    )
    g.add_argument(
        "--ridge",
        type=parse_float,
        default=0.05,
        help="ridge sigma^2 = GP noise variance (> 0; default 0.05)",
    )
    g.add_argument(
        "--noise",
        type=parse_float,
        default=0.0,
        help="label-noise variance eps^2 (>= 0; default 0)",
    )
    g.add_argument(
        "--n",
        type=parse_numbers(int),
        default=None,
        help=f"sample sizes, e.g. '40 80 160' (default {n_default})",
    )
    g.add_argument(
        "--l-max",
        type=parse_int,
        help="highest harmonic degree kept (default: 64, lower in high dimension)",
    )


def register(groups) -> None:
    """Add the ``curves`` command group to the top-level subparsers ``groups``."""
    curves = groups.add_parser(
        "curves",
        help="learning curves of wide nets: kernel spectra, "
        "equivalent kernel, self-consistent theory, measurements",
    )
    sub = curves.add_subparsers(dest="command", required=True, metavar="{predict,compare,tune}")

    pr = sub.add_parser(
        "predict",
        help="predicted learning curves of a wide net's kernel",
        description="Spectrum of the NNGP or NTK on the sphere (Funk-Hecke, by quadrature) "
        "and the predicted test error vs the number of samples N: equivalent kernel, its "
        "1/N correction, and the self-consistent (kappa, gamma) theory.",
    )
    _add_kernel(pr)
    _add_problem(pr, "20 log-spaced values from 10 to 2000")
    add_output(pr)

    cp = sub.add_parser(
        "compare",
        help="predictions vs kernel regression on sampled data (and wide nets)",
        description="Measure the learning curve by kernel ridge regression on many sampled "
        "datasets (one compiled call per N) and lay the three predictions over it; with "
        "--nets also train wide NTK-parametrised nets (use --kernel ntk).",
    )
    _add_kernel(cp)
    _add_problem(cp, "40 80 160 320")
    g = cp.add_argument_group("measurement")
    g.add_argument("--datasets", type=parse_int, default=200, help="datasets per N (>= 2)")
    g.add_argument(
        "--test-points", type=parse_int, default=1000, help="fresh test points per dataset"
    )
    g.add_argument(
        "--posterior-points",
        type=parse_int,
        default=0,
        help="test points for the mean GP posterior variance (0: skip)",
    )
    g.add_argument("--seed", type=parse_int, default=0, help="seed of data and targets")
    g.add_argument("--nets", action="store_true", help="also train wide nets (NTK kernel)")
    g.add_argument("--width", type=parse_int, default=1024, help="net width (with --nets)")
    g.add_argument(
        "--net-datasets", type=parse_int, default=10, help="trained nets per N (with --nets)"
    )
    g.add_argument(
        "--steps", type=parse_int, default=1000, help="gradient steps per net (with --nets)"
    )
    add_output(cp)

    tu = sub.add_parser(
        "tune",
        help="hyperparameters that minimise the predicted error",
        description="Evaluate the self-consistent prediction on the grid depths x C_W x "
        "C_b x ridges (one compiled, vmapped call) and report the best settings for a "
        "target of given polynomial content.",
    )
    tu.add_argument("--activation", default="relu", help="as for predict (default relu)")
    tu.add_argument("--kernel", choices=("nngp", "ntk"), default="nngp", help="NNGP or NTK")
    tu.add_argument("--dim", type=parse_int, default=3, help="input dimension d (>= 2)")
    tu.add_argument(
        "--depths", type=parse_numbers(int), default=(1, 2, 3, 4), help="hidden layers to try"
    )
    tu.add_argument(
        "--weights",
        type=parse_numbers(float),
        default=(1.0, 1.5, 2.0, 2.5),
        help="weight variances C_W to try (> 0)",
    )
    tu.add_argument(
        "--biases",
        type=parse_numbers(float),
        default=(0.0, 0.1, 0.5),
        help="bias variances C_b (>= 0)",
    )
    tu.add_argument(
        "--ridges",
        type=parse_numbers(float),
        default=(1e-3, 1e-2, 0.1, 1.0),
        help="ridges sigma^2 to try (> 0)",
    )
    tu.add_argument(
        "--target", default="1:0.5,2:1,3:0.25", help="target power per degree, DEGREE:POWER pairs"
    )
    tu.add_argument("--noise", type=parse_float, default=0.0, help="label-noise variance eps^2")
    tu.add_argument(
        "--n", type=parse_numbers(int), default=(50, 200, 800), help="sample sizes to optimise for"
    )
    tu.add_argument("--top", type=parse_int, default=5, help="settings to list (default 5)")
    add_output(tu)

    for parser, func in ((pr, cmd_predict), (cp, cmd_compare), (tu, cmd_tune)):
        parser.set_defaults(func=func)


# --- shared --------------------------------------------------------------------------------


def _spec(args):
    from springblock.numerics.curves.solve import KernelSpec

    return KernelSpec(
        activation=args.activation,
        kind=args.kernel,
        depth=args.depth,
        weight=args.weight,
        bias=args.bias,
        input_weight=args.input_weight,
        readout_bias=args.readout_bias,
        dim=args.dim,
    )


def _sizes(values, default):
    import numpy as np

    sizes = default if values is None else values
    if len(sizes) == 0:
        raise ParameterError("n", list(sizes), "at least one sample size")
    return np.array([check_int("n", v, 1, 100_000) for v in sizes], dtype=np.float64)


def _problem(args, default_n):
    """Validate everything the learning-curve commands share, before any work starts."""
    from springblock.numerics.curves import solve as cv
    from springblock.params import check_real

    spec = _spec(args)
    target = cv.parse_target(args.target)
    ridge = check_real("ridge", args.ridge, minimum=0.0, strict=True)
    noise = check_real("noise", args.noise, minimum=0.0)
    n = _sizes(args.n, default_n)
    l_max = (
        cv.default_l_max(spec.dim)
        if args.l_max is None
        else check_int("l_max", args.l_max, 1, 5000)
    )
    if max(d for d, _ in target) > l_max:
        raise ParameterError("target", args.target, f"degrees <= l_max = {l_max}")
    return spec, target, ridge, noise, n, l_max


def _spectrum_payload(spectrum, count: int = 12) -> dict:
    return {
        "eigenvalues": spectrum.eigenvalues[:count].tolist(),
        "multiplicities": spectrum.degeneracies[:count].astype(int).tolist(),
        "tail_trace": spectrum.tail,
        "trace": spectrum.trace,
    }


def _curve_figure(n, predictions: dict, measured=None, title: str = ""):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.3))
    styles = {
        "self_consistent": ("k-", "self-consistent E_g"),
        "equivalent_kernel": ("C0--", "equivalent kernel"),
        "ek_corrected": ("C2-.", "EK + 1/N correction"),
    }
    for key, (style, label) in styles.items():
        if key in predictions:
            ax.plot(n, predictions[key], style, label=label)
    for name, (mean, err, fmt) in (measured or {}).items():
        ax.errorbar(n, mean, yerr=err, fmt=fmt, capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training samples N")
    ax.set_ylabel("test error E (f - g)^2")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _spectrum_figure(spectrum, title: str):
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(5, 3.6))
    lam = spectrum.eigenvalues
    keep = lam > 1e-12 * lam.max()  # below: rounding noise of the quadrature (exact zeros)
    ax.semilogy(np.arange(len(lam))[keep], lam[keep], "o", ms=3)
    ax.set_xlabel("degree l")
    ax.set_ylabel("eigenvalue lambda_l (multiplicity N(d, l))")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def _describe(spec) -> str:
    w, b, cin, bout = spec.values
    return (
        f"{spec.activation} {spec.kind.upper()}, depth {spec.depth}, C_W={w:g}, C_b={b:g}"
        + (f", C_in={cin:g}" if cin != w else "")
        + (f", readout C_b={bout:g}" if bout != b else "")
        + f", S^{spec.dim - 1}"
    )


# --- commands ------------------------------------------------------------------------------


def cmd_predict(args) -> int:
    import numpy as np

    default_n = np.unique(np.geomspace(10, 2000, 20).round()).astype(int).tolist()
    spec, target, ridge, noise, n, l_max = _problem(args, default_n)
    from springblock.numerics.curves import solve as cv

    started = time.perf_counter()
    spectrum = cv.spectrum(spec, l_max)
    p = cv.predict(spectrum, target, n, ridge, noise)
    payload = clean(
        {
            "kernel": _spec_dict(spec),
            "target": [list(t) for t in target],
            "ridge": ridge,
            "noise": noise,
            "l_max": l_max,
            "spectrum": _spectrum_payload(spectrum),
            "curve": [
                {k: float(getattr(p, k)[i]) if k != "n" else int(p.n[i]) for k in p._fields}
                for i in range(len(n))
            ],
            "wall_time_s": time.perf_counter() - started,
        }
    )
    lines = [
        f"{_describe(spec)}; target {args.target}, ridge {ridge:g}, noise {noise:g}",
        "eigenvalues (multiplicity): "
        + ", ".join(
            f"{v:.4g} ({m})"
            for v, m in zip(
                payload["spectrum"]["eigenvalues"][:7],
                payload["spectrum"]["multiplicities"][:7],
                strict=True,
            )
        ),
        f"{'N':>6} {'self-consistent':>16} {'equiv. kernel':>14} {'EK + 1/N':>12} "
        f"{'kappa':>10} {'gamma':>8}",
    ]
    lines += [
        f"{int(r['n']):>6} {r['self_consistent']:>16.4e} {r['equivalent_kernel']:>14.4e} "
        f"{r['ek_corrected']:>12.4e} {r['kappa']:>10.4g} {r['gamma']:>8.4f}"
        for r in payload["curve"]
    ]
    if args.out:
        from springblock import figures

        payload["figures"] = figures.save(
            _curve_figure(n, p._asdict(), title=_describe(spec)), args.out, "curves_predict"
        )
        payload["figures"] += figures.save(
            _spectrum_figure(spectrum, _describe(spec)), args.out, "curves_spectrum"
        )
        write_results(args.out, "predict", payload)
    emit(args, payload, "\n".join(lines))
    return 0


def _spec_dict(spec) -> dict:
    import dataclasses

    return dataclasses.asdict(spec)


def cmd_compare(args) -> int:
    spec, target, ridge, noise, n, l_max = _problem(args, [40, 80, 160, 320])
    datasets = check_int("datasets", args.datasets, 2, 1_000_000)
    check_int("test_points", args.test_points, 1, 10_000_000)
    check_int("posterior_points", args.posterior_points, 0, args.test_points)
    check_int("seed", args.seed, 0, 2**31 - 1)
    if args.nets:
        from springblock.validation.curves.empirical import check_spec_for_nets

        with flag_names(kind="kernel"):
            check_spec_for_nets(spec)
        check_int("width", args.width, 1, 1_000_000)
        check_int("net_datasets", args.net_datasets, 2, 100_000)
        check_int("steps", args.steps, 1, 10_000_000)
    import numpy as np

    from springblock.numerics.curves import solve as cv
    from springblock.validation.curves import empirical as ce

    started = time.perf_counter()
    p = cv.predict(spec, target, n, ridge, noise, l_max=l_max)
    m = ce.krr_learning_curve(
        spec,
        target,
        n.astype(int),
        ridge,
        noise=noise,
        datasets=datasets,
        test_points=args.test_points,
        posterior_points=args.posterior_points,
        seed=args.seed,
    )
    nets = None
    if args.nets:
        nets = ce.net_learning_curve(
            spec,
            target,
            n.astype(int),
            ridge,
            width=args.width,
            datasets=args.net_datasets,
            steps=args.steps,
            test_points=args.test_points,
            seed=args.seed,
        )
    rows = []
    for i, size in enumerate(n):
        row = {
            "n": int(size),
            "empirical_mean": float(m.mean[i]),
            "empirical_sem": float(m.sem[i]),
            "equivalent_kernel": float(p.equivalent_kernel[i]),
            "ek_corrected": float(p.ek_corrected[i]),
            "self_consistent": float(p.self_consistent[i]),
            "empirical_mean_predictor": float(m.mean_predictor[i]),
            "sc_mean_predictor": float(p.sc_mean_predictor[i]),
            "kappa": float(p.kappa[i]),
            "gamma": float(p.gamma[i]),
            "sc_relative_error": float(m.mean[i] / p.self_consistent[i] - 1),
        }
        if args.posterior_points:
            row["empirical_posterior_variance"] = float(m.posterior_variance[i])
            row["gp_variance"] = float(p.gp_variance[i])
        if nets is not None:
            row["nets_mean"] = float(nets.mean[i])
            row["nets_sem"] = float(nets.sem[i])
            row["nets_kernel_regression_mean"] = float(nets.kernel_errors[i].mean())
            row["nets_function_gap"] = float(nets.function_gap[i].mean())
        rows.append(row)
    payload = clean(
        {
            "kernel": _spec_dict(spec),
            "target": [list(t) for t in target],
            "ridge": ridge,
            "noise": noise,
            "datasets": datasets,
            "test_points": args.test_points,
            "seed": args.seed,
            "curve": rows,
            "wall_time_s": time.perf_counter() - started,
            **(
                {"nets": {"width": args.width, "datasets": args.net_datasets, "steps": args.steps}}
                if nets is not None
                else {}
            ),
        }
    )
    lines = [
        f"{_describe(spec)}; target {args.target}, ridge {ridge:g}, noise {noise:g}; "
        f"{datasets} datasets per N ({payload['wall_time_s']:.1f} s)",
        f"{'N':>6} {'measured':>11} {'+-sem':>9} {'self-cons.':>11} {'EK':>10} "
        f"{'EK+1/N':>10} {'meas/SC-1':>10}" + ("   nets +- sem" if nets else ""),
    ]
    for r in rows:
        lines.append(
            f"{r['n']:>6} {r['empirical_mean']:>11.4e} {r['empirical_sem']:>9.2e} "
            f"{r['self_consistent']:>11.4e} {r['equivalent_kernel']:>10.3e} "
            f"{r['ek_corrected']:>10.3e} {r['sc_relative_error']:>+10.3f}"
            + (f"   {r['nets_mean']:.3e} +- {r['nets_sem']:.1e}" if nets else "")
        )
    if args.out:
        from springblock import figures

        measured = {f"kernel regression ({datasets} datasets)": (m.mean, m.sem, "ko")}
        if nets is not None:
            measured[f"trained nets (width {args.width})"] = (nets.mean, nets.sem, "rs")
        payload["figures"] = figures.save(
            _curve_figure(n, p._asdict(), measured, _describe(spec)), args.out, "curves_compare"
        )
        write_results(args.out, "compare", payload)
        np.savez(args.out / "compare.npz", n=n, per_dataset=m.per_dataset)
    emit(args, payload, "\n".join(lines))
    return 0


def cmd_tune(args) -> int:
    import numpy as np

    from springblock.numerics.curves import solve as cv
    from springblock.numerics.curves.solve import KernelSpec
    from springblock.params import check_real

    KernelSpec(activation=args.activation, kind=args.kernel, dim=args.dim)
    target = cv.parse_target(args.target)
    noise = check_real("noise", args.noise, minimum=0.0)
    n = _sizes(args.n, (50, 200, 800))
    top = check_int("top", args.top, 1, 10_000)
    for name, values in (
        ("depths", args.depths),
        ("weights", args.weights),
        ("biases", args.biases),
        ("ridges", args.ridges),
    ):
        if not values:
            raise ParameterError(name, list(values), "at least one value")
    grid = np.array(
        list(itertools.product(args.depths, args.weights, args.biases, args.ridges)),
        dtype=np.float64,
    )
    if np.any(grid[:, 0] < 1) or np.any(grid[:, 0] > 1000):
        raise ParameterError("depths", list(args.depths), "integers in [1, 1000]")
    started = time.perf_counter()
    with flag_names(depth="depths", weight="weights", bias="biases", ridge="ridges"):
        out = cv.predict_grid(
            args.activation,
            args.kernel,
            args.dim,
            target,
            n,
            depth=grid[:, 0].astype(int),
            weight=grid[:, 1],
            bias=grid[:, 2],
            ridge=grid[:, 3],
            noise=noise,
        )
    error = out["self_consistent"]  # (settings, N)
    names = ("depth", "weight", "bias", "ridge")
    best: list[dict[str, Any]] = []
    for j, size in enumerate(n):
        order = np.argsort(error[:, j])[:top]
        best.append(
            {
                "n": int(size),
                "settings": [
                    {
                        **{
                            k: (int(grid[i, c]) if k == "depth" else float(grid[i, c]))
                            for c, k in enumerate(names)
                        },
                        "self_consistent": float(error[i, j]),
                        "equivalent_kernel": float(out["equivalent_kernel"][i, j]),
                    }
                    for i in order
                ],
            }
        )
    payload = clean(
        {
            "activation": args.activation,
            "kernel": args.kernel,
            "dim": args.dim,
            "target": [list(t) for t in target],
            "noise": noise,
            "settings": len(grid),
            "best": best,
            "wall_time_s": time.perf_counter() - started,
        }
    )
    lines = [
        f"{args.activation} {args.kernel.upper()} on S^{args.dim - 1}, target "
        f"{args.target}: {len(grid)} settings x {len(n)} N ({payload['wall_time_s']:.2f} s)"
    ]
    for b in best:
        s = b["settings"][0]
        lines.append(
            f"N={b['n']:>6}: best depth {s['depth']}, C_W {s['weight']:g}, C_b "
            f"{s['bias']:g}, ridge {s['ridge']:g} -> E_g {s['self_consistent']:.4e}"
        )
    if args.out:
        from springblock import figures

        curves = {
            f"depth {int(g[0])}, C_W {g[1]:g}, C_b {g[2]:g}, ridge {g[3]:g}": error[i]
            for i, g in (
                (i, grid[i])
                for i in dict.fromkeys(int(np.argmin(error[:, j])) for j in range(len(n)))
            )
        }
        payload["figures"] = figures.save(_tune_figure(n, curves, error), args.out, "curves_tune")
        write_results(args.out, "tune", payload)
    emit(args, payload, "\n".join(lines))
    return 0


def _tune_figure(n, curves: dict, error):
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.5, 4.3))
    ax.fill_between(
        n,
        error.min(axis=0),
        np.median(error, axis=0),
        color="0.85",
        label="best to median over the grid",
    )
    for label, values in curves.items():
        ax.plot(n, values, "o-", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training samples N")
    ax.set_ylabel("predicted E_g (self-consistent)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
