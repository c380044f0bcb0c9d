"""``springblock curves {predict,compare,tune}``: learning curves of wide nets' kernels.

A thin shell: the configs live in :mod:`springblock.numerics.curves.config`
(:class:`KernelSpec`, :class:`PredictConfig`, :class:`TuneConfig`) and
:mod:`springblock.validation.curves.compare` (:class:`CompareConfig`, :class:`NetsConfig`),
the computations in :mod:`springblock.numerics.curves.prediction`,
:mod:`springblock.numerics.curves.tune` and :mod:`springblock.validation.curves.compare`,
the figures in :mod:`springblock.validation.curves.plots`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from springblock.cli.common import (
    add_numbers,
    add_output,
    check_out,
    default_of,
    emit,
    flag_names,
    given,
    parse_float,
    parse_int,
    shown,
)
from springblock.numerics.curves.config import (
    DEFAULT_L_MAX,
    KINDS,
    MAX_L_MAX,
    KernelSpec,
    PredictConfig,
    TuneConfig,
    parse_target,
)
from springblock.params import ParameterError
from springblock.validation.curves.compare import CompareConfig, NetsConfig

#: Library field -> CLI flag (dest), where the two names differ.
KERNEL_FLAGS = {"kind": "kernel"}
NET_FLAGS = {"datasets": "net_datasets"}


def _target_text(target) -> str:
    return ",".join(f"{degree}:{power:g}" for degree, power in target)


def _add_kernel(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("kernel (a wide MLP on the sphere S^(dim-1))")
    g.add_argument(
        "--activation",
        help="relu, leaky_relu[:SLOPE], linear, erf, sin or gelu (closed-form Gaussian "
        f"expectations; default {default_of(KernelSpec, 'activation')})",
    )
    g.add_argument(
        "--kernel",
        choices=KINDS,
        help="NNGP (Bayesian/last-layer training) or NTK (gradient descent; default "
        f"{default_of(KernelSpec, 'kind')})",
    )
    g.add_argument(
        "--depth",
        type=parse_int,
        help=f"hidden layers (1..1000; default {default_of(KernelSpec, 'depth')})",
    )
    g.add_argument(
        "--weight",
        type=parse_float,
        help=f"weight variance C_W (> 0; default {default_of(KernelSpec, 'weight'):g}, "
        "ReLU criticality)",
    )
    g.add_argument(
        "--bias",
        type=parse_float,
        help=f"bias variance C_b (>= 0; default {default_of(KernelSpec, 'bias'):g})",
    )
    g.add_argument(
        "--input-weight", type=parse_float, help="first layer's weight variance (> 0; default C_W)"
    )
    g.add_argument(
        "--readout-bias", type=parse_float, help="readout's bias variance (>= 0; default C_b)"
    )
    g.add_argument(
        "--dim",
        type=parse_int,
        help=f"input dimension d (>= 2; default {default_of(KernelSpec, 'dim')})",
    )


def _add_problem(p: argparse.ArgumentParser, config: type, *, ridge: bool = True) -> None:
    g = p.add_argument_group("regression problem")
    g.add_argument(
        "--target",
        help="target power per degree, DEGREE:POWER pairs, e.g. '2:1' or '1:0.5,2:1' "
        f"(default {_target_text(default_of(config, 'target'))})",
    )
    if ridge:
        g.add_argument(
            "--ridge",
            type=parse_float,
            help="ridge sigma^2 = GP noise variance "
            f"(> 0; default {default_of(config, 'ridge'):g})",
        )
    g.add_argument(
        "--noise",
        type=parse_float,
        help=f"label-noise variance eps^2 (>= 0; default {default_of(config, 'noise'):g})",
    )
    add_numbers(
        g,
        "--n",
        kind=int,
        metavar="N",
        help=f"distinct sample sizes, e.g. 40 80 160 (default {shown(default_of(config, 'n'))})",
    )
    g.add_argument(
        "--l-max",
        type=parse_int,
        help=f"highest harmonic degree kept (1..{MAX_L_MAX}; default: {DEFAULT_L_MAX}, lower "
        "in high dimension)",
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
    _add_problem(pr, PredictConfig)
    add_output(pr)
    pr.set_defaults(configure=configure_predict, execute=execute_predict)

    cp = sub.add_parser(
        "compare",
        help="predictions vs kernel regression on sampled data (and wide nets)",
        description="Measure the learning curve by kernel ridge regression on many sampled "
        "datasets (one compiled call per N) and lay the three predictions over it; with "
        "--nets also train wide NTK-parametrised nets (needs --kernel ntk).",
    )
    _add_kernel(cp)
    _add_problem(cp, CompareConfig)
    g = cp.add_argument_group("measurement")
    for name, text in (
        ("datasets", "datasets per N (>= 2)"),
        ("test-points", "fresh test points per dataset"),
        ("common-points", "shared points for the dataset-averaged predictor's error (0: skip)"),
        ("posterior-points", "test points for the mean GP posterior variance (0: skip)"),
        ("seed", "seed of data and targets"),
    ):
        default = default_of(CompareConfig, name.replace("-", "_"))
        g.add_argument(f"--{name}", type=parse_int, help=f"{text} (default {default})")
    g.add_argument("--nets", action="store_true", help="also train wide nets (NTK kernel)")
    for name, field, text in (
        ("width", "width", "net width"),
        ("net-datasets", "datasets", "trained nets per N (>= 2)"),
        ("steps", "steps", "gradient steps per net"),
    ):
        default = default_of(NetsConfig, field)
        g.add_argument(
            f"--{name}", type=parse_int, help=f"{text} (with --nets only; default {default})"
        )
    add_output(cp)
    cp.set_defaults(configure=configure_compare, execute=execute_compare)

    tu = sub.add_parser(
        "tune",
        help="hyperparameters that minimise the predicted error",
        description="Evaluate the self-consistent prediction on the grid depths x C_W x "
        "C_b x ridges (one compiled, vmapped call) and report the best settings for a "
        "target of given polynomial content.",
    )
    tu.add_argument(
        "--activation",
        help=f"as for predict (default {default_of(TuneConfig, 'activation')})",
    )
    tu.add_argument(
        "--kernel",
        choices=KINDS,
        help=f"NNGP or NTK (default {default_of(TuneConfig, 'kind')})",
    )
    tu.add_argument(
        "--dim",
        type=parse_int,
        help=f"input dimension d (>= 2; default {default_of(TuneConfig, 'dim')})",
    )
    for name, kind, text in (
        ("depths", int, "hidden layers to try (1..1000)"),
        ("weights", float, "weight variances C_W to try (> 0)"),
        ("biases", float, "bias variances C_b to try (>= 0)"),
        ("ridges", float, "ridges sigma^2 to try (> 0)"),
    ):
        add_numbers(
            tu,
            f"--{name}",
            kind=kind,
            help=f"{text}, distinct (default {shown(default_of(TuneConfig, name))})",
        )
    _add_problem(tu, TuneConfig, ridge=False)
    tu.add_argument(
        "--top",
        type=parse_int,
        help=f"settings to list per N (default {default_of(TuneConfig, 'top')})",
    )
    add_output(tu)
    tu.set_defaults(configure=configure_tune, execute=execute_tune)


# --- configure ---------------------------------------------------------------------------


def _kernel(args) -> KernelSpec:
    options = given(
        args,
        "activation",
        "kernel",
        "depth",
        "weight",
        "bias",
        "input_weight",
        "readout_bias",
        "dim",
        rename={"kernel": "kind"},
    )
    with flag_names(**KERNEL_FLAGS):
        return KernelSpec(**options)


def _problem(args) -> dict:
    options = given(args, "ridge", "noise", "n", "l_max")
    if args.target is not None:
        options["target"] = parse_target(args.target)
    return options


def configure_predict(args) -> tuple[PredictConfig, Path | None]:
    return PredictConfig(kernel=_kernel(args), **_problem(args)), check_out(args.out)


NET_ONLY = ("width", "net_datasets", "steps")


def configure_compare(args) -> tuple[CompareConfig, Path | None]:
    if not args.nets:
        for name in NET_ONLY:
            if getattr(args, name) is not None:
                raise ParameterError(
                    name,
                    getattr(args, name),
                    f"not given (--{name.replace('_', '-')} applies with --nets only)",
                )
    kernel = _kernel(args)
    nets = None
    if args.nets:
        with flag_names(**NET_FLAGS):
            nets = NetsConfig(**given(args, *NET_ONLY, rename={v: k for k, v in NET_FLAGS.items()}))
    options = given(args, "datasets", "test_points", "common_points", "posterior_points", "seed")
    with flag_names(**KERNEL_FLAGS):
        config = CompareConfig(kernel=kernel, nets=nets, **_problem(args), **options)
    return config, check_out(args.out)


def configure_tune(args) -> tuple[TuneConfig, Path | None]:
    options = given(
        args,
        "activation",
        "kernel",
        "dim",
        "depths",
        "weights",
        "biases",
        "ridges",
        "noise",
        "n",
        "top",
        "l_max",
        rename={"kernel": "kind"},
    )
    if args.target is not None:
        options["target"] = parse_target(args.target)
    with flag_names(**KERNEL_FLAGS):
        return TuneConfig(**options), check_out(args.out)


# --- execute -----------------------------------------------------------------------------


def _headline(kernel: KernelSpec, config) -> str:
    return (
        f"{kernel.label()}; target {_target_text(config.target)}, ridge {config.ridge:g}, "
        f"noise {config.noise:g}"
    )


def execute_predict(config, args) -> int:
    from springblock import results
    from springblock.numerics.curves import prediction

    cfg, out = config
    result = prediction.compute(cfg)
    payload = prediction.summary(result)
    spectrum = payload["spectrum"]
    lines = [
        _headline(cfg.kernel, cfg),
        "eigenvalues (multiplicity): "
        + ", ".join(
            f"{v:.4g} ({m})"
            for v, m in zip(
                spectrum["eigenvalues"][:7], spectrum["multiplicities"][:7], strict=True
            )
        ),
        f"{'N':>6} {'self-consistent':>16} {'equiv. kernel':>14} {'EK + 1/N':>12} "
        f"{'kappa':>10} {'gamma':>8}",
        *(
            f"{r['n']:>6} {r['self_consistent']:>16.4e} {r['equivalent_kernel']:>14.4e} "
            f"{r['ek_corrected']:>12.4e} {r['kappa']:>10.4g} {r['gamma']:>8.4f}"
            for r in payload["curve"]
        ),
    ]
    if out is not None:
        from springblock.validation.curves import plots

        payload["figures"] = plots.save_prediction(result, out)
        results.write_results(out, payload, prediction.to_dataset(result))
    emit(args, payload, "\n".join(lines))
    return 0


def execute_compare(config, args) -> int:
    from springblock import results
    from springblock.validation.curves import compare

    cfg, out = config
    comparison = compare.compare(cfg)
    payload = compare.summary(comparison)
    nets = cfg.nets is not None
    lines = [
        f"{_headline(cfg.kernel, cfg)}; {cfg.datasets} datasets per N "
        f"({comparison.wall_time_s:.1f} s)",
        f"{'N':>6} {'measured':>11} {'+-sem':>9} {'self-cons.':>11} {'EK':>10} "
        f"{'EK+1/N':>10} {'meas/SC-1':>10}" + ("   nets +- sem" if nets else ""),
        *(
            f"{r['n']:>6} {r['empirical_mean']:>11.4e} {r['empirical_sem']:>9.2e} "
            f"{r['self_consistent']:>11.4e} {r['equivalent_kernel']:>10.3e} "
            f"{r['ek_corrected']:>10.3e} {r['sc_relative_error']:>+10.3f}"
            + (f"   {r['nets_mean']:.3e} +- {r['nets_sem']:.1e}" if nets else "")
            for r in payload["curve"]
        ),
    ]
    if out is not None:
        from springblock.validation.curves import plots

        payload["figures"] = plots.save_comparison(comparison, out)
        results.write_results(out, payload, compare.to_dataset(comparison))
    emit(args, payload, "\n".join(lines))
    return 0


def execute_tune(config, args) -> int:
    from springblock import results
    from springblock.numerics.curves import tune

    cfg, out = config
    tuning = tune.tune(cfg)
    payload = tune.summary(tuning)
    lines = [
        f"{cfg.activation} {cfg.kind.upper()} on S^{cfg.dim - 1}, target "
        f"{_target_text(cfg.target)}: {cfg.settings} settings x {len(cfg.n)} N "
        f"({tuning.wall_time_s:.2f} s)",
    ]
    for b in payload["best"]:
        s = b["settings"][0]
        lines.append(
            f"N={b['n']:>6}: best depth {s['depth']}, C_W {s['weight']:g}, C_b "
            f"{s['bias']:g}, ridge {s['ridge']:g} -> E_g {s['self_consistent']:.4e}"
        )
    if payload["non_finite"]:
        lines.append(f"{len(payload['non_finite'])} settings overflow (no prediction)")
    if out is not None:
        from springblock.validation.curves import plots

        payload["figures"] = plots.save_tuning(tuning, out)
        results.write_results(out, payload, tune.to_dataset(tuning))
    emit(args, payload, "\n".join(lines))
    return 0
