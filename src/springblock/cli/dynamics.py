"""``springblock dynamics {two-point,xor,linear}``: representation-learning dynamics.

A thin shell: the options build the validated configs of
:mod:`springblock.validation.dynamics.config` (defaults there), and
:mod:`springblock.validation.dynamics.experiments` trains, fits, summarises and saves.
"""

from __future__ import annotations

import argparse
import math

from springblock.cli.common import (
    add_numbers,
    add_output,
    add_words,
    check_out,
    default_of,
    emit,
    given,
    parse_float,
    parse_int,
    shown,
)
from springblock.params import ParameterError

#: Options of every pair command, named as the fields of PairNets.
NET_OPTIONS = (
    "gains",
    "width",
    "hidden_layers",
    "tracked_layer",
    "nonlinearity",
    "lr",
    "steps",
    "samples",
    "seed",
    "controls",
)
#: Options of ``two-point`` that apply to one kind of inputs only.
SYNTHETIC_ONLY = ("dx2", "dy2")
MNIST1D_ONLY = ("same_class",)


def _add_net(p: argparse.ArgumentParser, task) -> None:
    from springblock.validation.dynamics import config as cf

    def default(name: str) -> str:
        return shown(default_of(task, name))

    add_numbers(
        p,
        "--gains",
        help=f"initialisation gains (> 0, <= {cf.MAX_GAIN:g}; default {default('gains')}: "
        "rich, intermediate, lazy)",
    )
    p.add_argument(
        "--width",
        type=parse_int,
        help=f"hidden width (1 to {cf.MAX_WIDTH}; default {default('width')})",
    )
    p.add_argument(
        "--hidden-layers",
        type=parse_int,
        help=f"hidden layers (1 to {cf.MAX_HIDDEN_LAYERS}; default {default('hidden_layers')})",
    )
    p.add_argument(
        "--tracked-layer",
        type=parse_int,
        help="hidden layer whose representation is measured (0-based; default: the middle "
        "one, hidden layers // 2)",
    )
    p.add_argument(
        "--nonlinearity",
        choices=cf.NONLINEARITIES,
        help=f"hidden activation (leaky ReLU slope 0.01; default {default('nonlinearity')})",
    )
    p.add_argument(
        "--lr",
        type=parse_float,
        help="learning rate (> 0; default: 0.02 / max(1, (gain^2/2)^layers), per gain)",
    )
    p.add_argument(
        "--steps",
        type=parse_int,
        help=f"gradient-descent steps (1 to {cf.MAX_STEPS}; default {default('steps')})",
    )
    p.add_argument(
        "--samples",
        type=parse_int,
        help="measurements of h, y, w along the run, all used in the fit (2 to the steps, "
        f"at most {cf.MAX_SAMPLES}; default {default('samples')})",
    )
    p.add_argument(
        "--seed",
        type=parse_int,
        help=f"initialisation seed (and the MNIST-1D draw; default {default('seed')})",
    )
    add_words(
        p,
        "--controls",
        help="perturbed equations fitted as negative controls, among "
        f"{', '.join(cf.CONTROLS)} (decoder: 3w -> w; encoder: no encoder term in dw/dt; "
        f'"" for none; default {default("controls")})',
    )


def register(groups) -> None:
    """Add the ``dynamics`` command group to the top-level subparsers ``groups``."""
    from springblock.validation.dynamics import config as cf

    dyn = groups.add_parser(
        "dynamics",
        help="representation-learning dynamics: pair "
        "equations (van Rossem-Saxe) and deep linear nets (Saxe et al.)",
    )
    sub = dyn.add_subparsers(dest="command", required=True, metavar="{two-point,xor,linear}")

    tp = sub.add_parser(
        "two-point",
        help="two inputs: fit eta_h, eta_y and compare the representation "
        "trajectories with the pair equations",
        description="Train MLPs on two inputs at several initialisation gains (rich to "
        "lazy), record the squared representation distance h, output distance y and w, "
        "fit the effective learning rates (eta_h, eta_y) of the van Rossem-Saxe "
        "equations, compare the closed-form final distance, and fit perturbed equations "
        "as negative controls.",
    )
    tp.add_argument(
        "--inputs",
        choices=("synthetic", "mnist1d"),
        help="the authors' synthetic pair or two MNIST-1D samples (default "
        f"{default_of(cf.TwoPointTask, 'inputs').kind})",
    )
    synthetic = cf.SyntheticPair()
    tp.add_argument(
        "--dx2",
        type=parse_float,
        help=f"synthetic: squared input distance (> 0; default {synthetic.dx2:g})",
    )
    tp.add_argument(
        "--dy2",
        type=parse_float,
        help=f"synthetic: squared target distance (>= 0; default {synthetic.dy2:g})",
    )
    tp.add_argument(
        "--same-class",
        action="store_true",
        default=None,
        help="mnist1d: two samples of one class (dy2 = 0)",
    )
    _add_net(tp, cf.TwoPointTask)
    add_output(tp)
    tp.set_defaults(configure=configure_two_point, execute=execute_pairs)

    xo = sub.add_parser(
        "xor",
        help="XOR: all six pairs against the pair equations",
        description="Train MLPs on XOR at several gains; fit (eta_h, eta_y) on the pairs "
        "with different targets and predict every pair's final representation distance "
        "(same-target pairs merge in the rich regime).",
    )
    _add_net(xo, cf.XorTask)
    add_output(xo)
    xo.set_defaults(configure=configure_xor, execute=execute_pairs)

    li = sub.add_parser(
        "linear",
        help="deep linear nets: exact mode dynamics vs gradient descent",
        description="Gradient descent on a deep linear net with whitened inputs and "
        "balanced, aligned initialisation vs the Saxe et al. solution "
        "tau du/dt = D u^(2-2/D) (s - u) (closed form for D <= 2, diffrax otherwise).",
    )
    task = cf.DeepLinearTask

    def default(name: str) -> str:
        return shown(default_of(task, name))

    add_numbers(
        li,
        "--singular-values",
        help="singular values s of the input-output correlation (> 0, at most "
        f"{cf.MAX_MODES}; default {default('singular_values')})",
    )
    li.add_argument(
        "--u0",
        type=parse_float,
        help=f"initial mode strength (0 < u0 < min s; default {default('u0')})",
    )
    li.add_argument(
        "--depth",
        type=parse_int,
        help=f"weight matrices D (1 to {cf.MAX_DEPTH}; default {default('depth')})",
    )
    li.add_argument(
        "--lr",
        type=parse_float,
        help="learning rate, tau = 1/lr (0 < lr < 2/(D s_max^(2-2/D)), the stability "
        f"limit; default {default('lr')})",
    )
    li.add_argument(
        "--steps",
        type=parse_int,
        help=f"gradient-descent steps (1 to {cf.MAX_STEPS}; default {default('steps')})",
    )
    li.add_argument(
        "--seed",
        type=parse_int,
        help=f"seed of the random rotations U, V (default {default('seed')})",
    )
    add_output(li)
    li.set_defaults(configure=configure_linear, execute=execute_linear)


# --- configure -------------------------------------------------------------------------------


def _refuse(args, names: tuple[str, ...], inputs: str) -> None:
    """Options of the other kind of inputs are errors, not silently ignored."""
    for name in names:
        if getattr(args, name) is not None:
            flag = "--" + name.replace("_", "-")
            raise ParameterError(
                name, getattr(args, name), f"not given ({flag} applies to --inputs {inputs} only)"
            )


def configure_two_point(args: argparse.Namespace):
    from springblock.validation.dynamics import config as cf

    inputs: cf.SyntheticPair | cf.Mnist1dPair
    if args.inputs == "mnist1d":
        _refuse(args, SYNTHETIC_ONLY, "synthetic")
        inputs = cf.Mnist1dPair(**given(args, *MNIST1D_ONLY))
    else:
        _refuse(args, MNIST1D_ONLY, "mnist1d")
        inputs = cf.SyntheticPair(**given(args, *SYNTHETIC_ONLY))
    task = cf.TwoPointTask(inputs=inputs, **given(args, *NET_OPTIONS))
    return task, check_out(args.out)


def configure_xor(args: argparse.Namespace):
    from springblock.validation.dynamics import config as cf

    return cf.XorTask(**given(args, *NET_OPTIONS)), check_out(args.out)


def configure_linear(args: argparse.Namespace):
    from springblock.validation.dynamics import config as cf

    options = given(args, "singular_values", "u0", "depth", "lr", "steps", "seed")
    return cf.DeepLinearTask(**options), check_out(args.out)


# --- execute ---------------------------------------------------------------------------------


def _g(value, width: int, spec: str) -> str:
    """A number (or None: not finite) right-aligned."""
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}{spec}}"


def execute_pairs(config: tuple, args: argparse.Namespace) -> int:
    from springblock.validation.dynamics import experiments as ex

    task, out = config
    exp = ex.run_pairs(task)
    payload = ex.pair_summary(exp)
    if out is not None:
        payload["figures"] = ex.save(exp, out)
    controls = task.controls
    lines = [
        f"{task.title}: width {task.width}, {task.hidden_layers} hidden layers, tracked "
        f"layer {task.tracked_layer} ({exp.wall_time_s:.1f} s)",
        f"{'gain':>5} {'regime':>12} {'eta_h':>9} {'eta_y':>9} {'fit loss':>9} "
        + " ".join(f"{c + ' ctrl':>13}" for c in controls)
        + f" {'h_final meas':>13} {'pred':>9}",
    ]
    for r in payload["runs"]:
        first = r["pairs"][0]
        lines.append(
            f"{r['gain']:>5g} {r['regime']:>12} {_g(r['eta_h'], 9, '.3g')} "
            f"{_g(r['eta_y'], 9, '.3g')} {_g(r['fit_loss'], 9, '.2e')} "
            + " ".join(_g(r["controls"][c]["fit_loss"], 13, ".2e") for c in controls)
            + f" {_g(first['h_final_measured'], 13, '.4g')} "
            f"{_g(first['h_final_predicted'], 9, '.4g')}"
        )
    emit(args, payload, "\n".join(lines))
    return 0


def execute_linear(config: tuple, args: argparse.Namespace) -> int:
    from springblock.validation.dynamics import experiments as ex

    task, out = config
    exp = ex.run_linear(task)
    payload = ex.linear_summary(exp)
    if out is not None:
        payload["figures"] = ex.save(exp, out)
    lines = [
        f"deep linear net, D={task.depth}, u0={task.u0:g}, lr={task.lr:g}, {task.steps} "
        f"steps: max |u_GD - u_theory| = {payload['max_abs_error']:.3g}"
    ]
    for m in payload["modes"]:
        text = f"s={m['s']:g}: max error {m['max_abs_error']:.3g}"
        for key, label in (
            ("half_time_measured", "time to s/2 measured"),
            ("half_time_theory", "theory"),
            ("half_time_closed_form", "closed form"),
        ):
            if not math.isnan(m[key]):
                text += f", {label} {m[key]:.4g}"
        lines.append(text)
    emit(args, payload, "\n".join(lines))
    return 0
