"""``springblock pdlt {criticality,kernel,finite-width}``: deep MLPs at initialization (PDLT).

Roberts, Yaida & Hanin, *The Principles of Deep Learning Theory* (arXiv 2106.10165): the
universality class and critical initialization of an activation with its order-to-chaos
diagram (:mod:`springblock.numerics.pdlt.universality`), the depth profile of the
infinite-width kernel, its perturbations and the NTK
(:mod:`springblock.numerics.pdlt.depth_profile`), and the leading finite-width correction
against a Monte Carlo ensemble of actual networks
(:mod:`springblock.validation.pdlt.finite_width`). Figures:
:mod:`springblock.validation.pdlt.plots`.
"""

from __future__ import annotations

import argparse

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

ACTIVATION_HELP = (
    "activation: relu, leaky_relu[:SLOPE], linear, tanh, erf, sin, gelu, swish, softplus, sigmoid"
)
#: Options whose library field has another name (dest -> field).
INIT_RENAME = {"cb": "C_b", "cw": "C_W"}
#: Library field -> the option that carries it (for error messages).
FLAGS = {"C_b": "cb", "C_W": "cw", "nets": "mc_samples"}


def register(groups) -> None:
    """Add the ``pdlt`` command group to the top-level subparsers ``groups``."""
    from springblock.numerics.pdlt.depth_profile import DepthProfileSpec
    from springblock.numerics.pdlt.universality import CriticalitySpec
    from springblock.validation.pdlt.finite_width import SAMPLERS, FiniteWidthSpec

    pdlt = groups.add_parser(
        "pdlt",
        help="effective theory of deep MLPs at initialization "
        "(PDLT): criticality, kernels, finite-width corrections",
    )
    sub = pdlt.add_subparsers(
        dest="command", required=True, metavar="{criticality,kernel,finite-width}"
    )

    cr = sub.add_parser(
        "criticality",
        help="universality class and critical initialization",
        description="Universality class (scale-invariant, K*=0, half-stable or none), "
        "critical (C_b, C_W), fixed point K*, exponents and four-point slope of an "
        "activation, with the (C_b, C_W) order-to-chaos phase diagram.",
    )
    cr.add_argument("--activation", required=True, help=ACTIVATION_HELP)
    cr.add_argument(
        "--grid",
        type=parse_int,
        help=f"phase-diagram points per axis (default {default_of(CriticalitySpec, 'grid')})",
    )
    cr.add_argument(
        "--phase-depth",
        type=parse_int,
        help="layers iterated for the phase diagram "
        f"(default {default_of(CriticalitySpec, 'phase_depth')})",
    )
    add_output(cr)
    cr.set_defaults(configure=configure_criticality, execute=execute_criticality)

    kn = sub.add_parser(
        "kernel",
        help="infinite-width kernel, its perturbations and the NTK through depth",
        description="Depth profile of the kernel of one input and of an input pair (full "
        "2x2 kernel), the susceptibilities, the gamma-basis perturbation K_[2], the "
        "four-point vertex and the NTK, with fitted power-law exponents. Default "
        "initialization: the critical one.",
    )
    kn.add_argument("--activation", required=True, help=ACTIVATION_HELP)
    kn.add_argument(
        "--depth",
        "-L",
        type=parse_int,
        help=f"layers (>= 2; default {default_of(DepthProfileSpec, 'depth')})",
    )
    _add_initialization(kn)
    for name, text in (
        ("q11", "x_a.x_a/n_0 (> 0)"),
        ("q12", "x_a.x_b/n_0 (q12^2 <= q11 q22)"),
        ("q22", "x_b.x_b/n_0 (> 0)"),
    ):
        kn.add_argument(
            f"--{name}",
            type=parse_float,
            help=f"input Gram entry {text} (default {shown(default_of(DepthProfileSpec, name))})",
        )
    add_output(kn)
    kn.set_defaults(configure=configure_kernel, execute=execute_kernel)

    fw = sub.add_parser(
        "finite-width",
        help="four-point correction: theory vs Monte Carlo of actual nets",
        description="Monte Carlo of finite-width networks at several widths against the "
        "1/n theory: mean kernel, Cov(z_i^2, z_j^2) = V/n, third cumulant, pair kernel "
        "(and NTK with --ntk), with standard errors and z-scores.",
    )
    fw.add_argument("--activation", required=True, help=ACTIVATION_HELP)
    add_numbers(
        fw,
        "--widths",
        kind=int,
        metavar="N",
        help="hidden widths, distinct, >= 2 "
        f"(default {shown(default_of(FiniteWidthSpec, 'widths'))})",
    )
    fw.add_argument(
        "--depth",
        "-L",
        type=parse_int,
        help=f"layers (>= 2; default {default_of(FiniteWidthSpec, 'depth')})",
    )
    fw.add_argument(
        "--mc-samples",
        type=parse_int,
        help=f"networks per width (>= 2; default {default_of(FiniteWidthSpec, 'nets')})",
    )
    _add_initialization(fw)
    fw.add_argument(
        "--sampler",
        choices=SAMPLERS,
        help="gaussian: exact conditional sampling of the preactivations (fast); weights: "
        "draw every weight matrix (needed for --ntk) "
        f"(default {default_of(FiniteWidthSpec, 'sampler')})",
    )
    fw.add_argument(
        "--ntk", action="store_true", default=None, help="also measure the NTK (--sampler weights)"
    )
    fw.add_argument(
        "--seed",
        type=parse_int,
        help=f"random seed (default {default_of(FiniteWidthSpec, 'seed')})",
    )
    add_output(fw)
    fw.set_defaults(configure=configure_finite_width, execute=execute_finite_width)


def _add_initialization(p: argparse.ArgumentParser) -> None:
    from springblock.numerics.pdlt.initialization import Initialization

    p.add_argument("--cb", type=parse_float, help="bias variance C_b (>= 0; default: critical)")
    p.add_argument("--cw", type=parse_float, help="weight variance C_W (> 0; default: critical)")
    p.add_argument(
        "--gamma",
        type=parse_float,
        help="residual shortcut weight "
        f"(default {shown(default_of(Initialization, 'gamma'))}: plain MLP)",
    )
    p.add_argument(
        "--xi",
        type=parse_float,
        help=f"residual branch weight (nonzero; default {shown(default_of(Initialization, 'xi'))})",
    )


def _initialization(args):
    from springblock.numerics.pdlt.initialization import Initialization

    with flag_names(**FLAGS):
        return Initialization(**given(args, "cb", "cw", "gamma", "xi", rename=INIT_RENAME))


def _resolve(spec):
    """The spec's initialization with the critical values filled in (classifies the
    activation: the first work of kernel and finite-width)."""
    from springblock.numerics.pdlt.initialization import resolve

    with flag_names(**FLAGS):
        return resolve(spec.activation, spec.initialization)


# --- criticality -------------------------------------------------------------------------------


def configure_criticality(args):
    from springblock.numerics.pdlt.universality import CriticalitySpec

    spec = CriticalitySpec(args.activation, **given(args, "grid", "phase_depth"))
    return spec, check_out(args.out)


def execute_criticality(config, args) -> int:
    from springblock import results
    from springblock.numerics.pdlt import universality
    from springblock.plotting import save
    from springblock.validation.pdlt import plots

    spec, out = config
    study = universality.compute(spec)
    crit, diagram = study.criticality, study.diagram
    payload = universality.summary(study)
    text = [f"activation {crit.activation}: universality class {crit.universality_class}"]
    if crit.C_b is not None and crit.C_W is not None:
        k_star = "any (marginal line)" if crit.K_star is None else f"{crit.K_star:.10g}"
        text.append(f"critical C_b = {crit.C_b:.10g}, C_W = {crit.C_W:.10g}, K* = {k_star}")
    if crit.four_point_slope is not None:
        text.append(f"four-point slope d(V/K^2)/dl = {crit.four_point_slope:.6g}")
    for key, value in crit.exponents.items():
        text.append(f"  {key} ~ l^({-value:g})")
    text.append(
        f"phase diagram ({spec.grid} x {spec.grid}, {diagram.depth} layers): "
        f"{payload['phase_diagram']['chaotic_fraction']:.1%} of the grid chaotic"
    )
    if out is not None:
        payload["figures"] = save(plots.phase_figure(study), out, "phase_diagram")
        results.write_results(out, payload, universality.to_dataset(study))
    emit(args, payload, "\n".join(text))
    return 0


# --- kernel ------------------------------------------------------------------------------


def configure_kernel(args):
    from springblock.numerics.pdlt.depth_profile import DepthProfileSpec

    spec = DepthProfileSpec(
        args.activation,
        initialization=_initialization(args),
        **given(args, "depth", "q11", "q12", "q22"),
    )
    return spec, check_out(args.out)


def execute_kernel(config, args) -> int:
    from springblock import results
    from springblock.numerics.pdlt import depth_profile
    from springblock.plotting import save
    from springblock.validation.pdlt import plots

    spec, out = config
    init = _resolve(spec)
    profile = depth_profile.compute(spec, init)
    a = profile.arrays
    payload = depth_profile.summary(profile)
    text = [
        f"{spec.activation} ({init.criticality.universality_class}), C_b = {init.C_b:.6g}, "
        f"C_W = {init.C_W:.6g}, gamma = {init.gamma:g}, xi = {init.xi:g}, {spec.depth} layers",
        f"{'l':>6} {'K':>12} {'K12':>12} {'angle':>10} {'chi_par':>9} {'chi_perp':>9} "
        f"{'NTK H':>12}",
    ]
    for layer in depth_profile.shown_layers(spec.depth):
        i = layer - 1
        text.append(
            f"{layer:>6} {a['K'][i]:>12.6g} {a['K12'][i]:>12.6g} {a['angle'][i]:>10.4g} "
            f"{a['chi_par'][i]:>9.5g} {a['chi_perp'][i]:>9.5g} {a['H'][i]:>12.6g}"
        )
    text.append(
        "fitted exponents (X ~ l^-p): "
        + ", ".join(
            f"{k} {v:.3g}" if v is not None else f"{k} -" for k, v in profile.fitted.items()
        )
    )
    for name, layer in profile.non_finite.items():
        text.append(f"warning: {name} is not finite from layer {layer} on (overflow)")
    if out is not None:
        payload["figures"] = save(plots.kernel_figure(profile), out, "kernel")
        results.write_results(out, payload, depth_profile.to_dataset(profile))
    emit(args, payload, "\n".join(text))
    return 0


# --- finite width -----------------------------------------------------------------------------


def configure_finite_width(args):
    from springblock.validation.pdlt.finite_width import FiniteWidthSpec

    options = given(args, "widths", "depth", "mc_samples", "sampler", "ntk", "seed")
    options = {("nets" if k == "mc_samples" else k): v for k, v in options.items()}
    with flag_names(**FLAGS):
        spec = FiniteWidthSpec(args.activation, initialization=_initialization(args), **options)
    return spec, check_out(args.out)


def execute_finite_width(config, args) -> int:
    from springblock import results
    from springblock.plotting import save
    from springblock.validation.pdlt import finite_width, plots

    spec, out = config
    init = _resolve(spec)
    study = finite_width.compute(spec, init)
    payload = finite_width.summary(study)
    norm = payload["normalized_four_point"]
    text = [
        f"{spec.activation}, C_b = {init.C_b:.6g}, C_W = {init.C_W:.6g}, "
        f"gamma = {init.gamma:g}, xi = {init.xi:g}; {spec.nets} nets per width, "
        f"widths {list(spec.widths)}, {spec.depth} layers ({spec.sampler} sampler)",
        f"{'n':>6} {'l':>4} {'n Cov/K^2 (MC)':>20} {'V/K^2 (theory)':>15} {'z':>6}",
    ]
    for i, w in enumerate(spec.widths):
        for layer in sorted({2, spec.depth // 2, spec.depth}):
            j = layer - 1
            text.append(
                f"{w:>6} {layer:>4} {norm['measured'][i, j]:>12.4g} +- "
                f"{norm['se'][i, j]:<6.2g} {norm['theory'][i, j]:>15.4g} "
                f"{norm['z'][i, j]:>6.2f}"
            )
    text.append(
        "max |z|: "
        + ", ".join(
            f"{k} {v:.2f}" if v is not None else f"{k} -" for k, v in payload["max_abs_z"].items()
        )
    )
    for name, layer in study.non_finite.items():
        text.append(f"warning: measured {name} is not finite from layer {layer} on (overflow)")
    if out is not None:
        payload["figures"] = save(plots.finite_width_figure(study), out, "finite_width")
        results.write_results(out, payload, finite_width.to_dataset(study))
    emit(args, payload, "\n".join(text))
    return 0
