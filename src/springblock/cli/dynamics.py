"""``springblock dynamics {two-point,xor,linear}``: representation-learning dynamics.

Trained nets from :mod:`springblock.validation.dynamics.train` against the van Rossem-Saxe
pair equations and the Saxe et al. deep-linear solution
(:mod:`springblock.numerics.dynamics.solve`).
"""

from __future__ import annotations

import argparse
import time

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


def _names(text: str) -> tuple[str, ...]:
    return tuple(v for v in text.replace(",", " ").split() if v)


def _add_net(p: argparse.ArgumentParser, layers: int, tracked: int, steps: int) -> None:
    g = p.add_argument_group("network and training")
    g.add_argument(
        "--gains",
        type=parse_numbers(float),
        default=None,
        help="initialisation gains, e.g. '0.8 1.2 2' (default: rich, "
        "intermediate, lazy = 0.8, 1.2, 2.0)",
    )
    g.add_argument("--width", type=parse_int, default=64, help="hidden width")
    g.add_argument("--hidden-layers", type=parse_int, default=layers, help="hidden layers")
    g.add_argument(
        "--tracked-layer",
        type=parse_int,
        default=tracked,
        help=f"hidden layer whose representation is measured (0-based; default {tracked})",
    )
    g.add_argument(
        "--nonlinearity",
        choices=("leaky_relu", "tanh", "linear"),
        default="leaky_relu",
        help="hidden activation (leaky ReLU slope 0.01)",
    )
    g.add_argument(
        "--lr",
        type=parse_float,
        help="learning rate (default: 0.02 / max(1, (gain^2/2)^layers), per gain)",
    )
    g.add_argument("--steps", type=parse_int, default=steps, help="gradient-descent steps")
    g.add_argument(
        "--samples",
        type=parse_int,
        default=100,
        help="measurements along the run used in the fit (default 100)",
    )
    g.add_argument("--seed", type=parse_int, default=0, help="initialisation seed")
    g.add_argument(
        "--controls",
        type=_names,
        default=("decoder", "encoder"),
        help="perturbed equations fitted as negative controls (decoder: 3w -> w; "
        "encoder: no encoder term in dw/dt)",
    )


def register(groups) -> None:
    """Add the ``dynamics`` command group to the top-level subparsers ``groups``."""
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
        "lazy), record the squared representation distance h, output distance y and w per "
        "step, fit the effective learning rates (eta_h, eta_y) of the van Rossem-Saxe "
        "equations, compare the closed-form final distance, and fit perturbed equations "
        "as negative controls.",
    )
    tp.add_argument(
        "--inputs",
        choices=("synthetic", "mnist1d"),
        default="synthetic",
        help="the authors' synthetic pair or two MNIST-1D samples",
    )
    tp.add_argument(
        "--dx2", type=parse_float, default=1.0, help="synthetic: squared input distance"
    )
    tp.add_argument(
        "--dy2", type=parse_float, default=0.5, help="synthetic: squared target distance"
    )
    tp.add_argument(
        "--same-class", action="store_true", help="mnist1d: two samples of one class (dy2 = 0)"
    )
    _add_net(tp, 6, 3, 1500)
    add_output(tp)

    xo = sub.add_parser(
        "xor",
        help="XOR: all six pairs against the pair equations",
        description="Train MLPs on XOR at several gains; fit (eta_h, eta_y) on the pairs "
        "with different targets and predict every pair's final representation distance "
        "(same-target pairs merge in the rich regime).",
    )
    _add_net(xo, 10, 5, 3000)
    add_output(xo)

    li = sub.add_parser(
        "linear",
        help="deep linear nets: exact mode dynamics vs gradient descent",
        description="Gradient descent on a deep linear net with whitened inputs and "
        "balanced, aligned initialisation vs the Saxe et al. solution "
        "tau du/dt = D u^(2-2/D) (s - u) (closed form for D <= 2, diffrax otherwise).",
    )
    li.add_argument(
        "--singular-values",
        type=parse_numbers(float),
        default=(3.0, 2.0, 1.0, 0.5),
        help="singular values s of the input-output correlation",
    )
    li.add_argument("--u0", type=parse_float, default=1e-3, help="initial mode strength")
    li.add_argument("--depth", type=parse_int, default=2, help="weight matrices D")
    li.add_argument("--lr", type=parse_float, default=1e-3, help="learning rate (tau = 1/lr)")
    li.add_argument("--steps", type=parse_int, default=8000, help="gradient-descent steps")
    li.add_argument("--seed", type=parse_int, default=0, help="seed of the random rotations U, V")
    add_output(li)

    for parser, func in ((tp, cmd_two_point), (xo, cmd_xor), (li, cmd_linear)):
        parser.set_defaults(func=func)


# --- shared --------------------------------------------------------------------------------


def _configs(args):
    """One validated NetConfig per gain (defaults: the three regimes)."""
    from springblock.theory.dynamics.representation import check_perturbation
    from springblock.validation.dynamics import train as dt

    gains = args.gains if args.gains is not None else tuple(dt.REGIME_GAINS.values())
    if not gains:
        raise ParameterError("gains", list(gains), "at least one gain")
    with flag_names(perturbation="controls"):
        for name in args.controls:
            check_perturbation(name)
    with flag_names(gain="gains"):
        configs = [
            dt.NetConfig(
                width=args.width,
                hidden_layers=args.hidden_layers,
                tracked_layer=args.tracked_layer,
                nonlinearity=args.nonlinearity,
                gain=g,
                lr=args.lr if args.lr is not None else dt.default_lr(g, args.hidden_layers),
                steps=args.steps,
            )
            for g in gains
        ]
    samples = check_int("samples", args.samples, 2, args.steps)
    every = max(1, args.steps // samples)
    while args.steps % every:
        every -= 1
    check_int("seed", args.seed, 0, 2**31 - 1)
    return configs, every


def _regime(gain: float) -> str:
    from springblock.validation.dynamics.train import REGIME_GAINS

    return next((k for k, v in REGIME_GAINS.items() if v == gain), "custom")


def _pair_payload(comparison, config) -> dict:
    fit, run = comparison.fit, comparison.run
    return {
        "gain": config.gain,
        "regime": _regime(config.gain),
        "lr": config.lr,
        "final_loss": float(run.loss[-1]),
        "eta_h": fit.eta_h,
        "eta_y": fit.eta_y,
        "ratio": fit.eta_h / fit.eta_y,
        "fit_loss": fit.loss,
        "control_losses": comparison.controls,
        "pairs": [
            {
                "points": [int(i) for i in run.pairs[k]],
                "dx2": float(run.dx2[k]),
                "dy2": float(run.dy2[k]),
                "h0": float(run.h[k, 0]),
                "y0": float(run.y[k, 0]),
                "h_final_measured": float(comparison.final_measured[k]),
                "h_final_predicted": float(comparison.final_predicted[k]),
            }
            for k in range(len(run.dx2))
        ],
    }


def _trajectory_figure(comparisons, configs, title: str, pair: int = 0):
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(
        len(comparisons), 3, figsize=(11, 2.6 * len(comparisons)), squeeze=False
    )
    for row, (c, cfg) in enumerate(zip(comparisons, configs, strict=True)):
        run, pred = c.run, c.fit.prediction
        fitted = np.flatnonzero(run.dy2 > 0) if np.any(run.dy2 > 0) else np.arange(len(run.dy2))
        k = fitted[min(pair, len(fitted) - 1)]
        j = int(np.flatnonzero(fitted == k)[0])
        for col, (name, measured, predicted) in enumerate(
            (("h", run.h[k], pred.h[j]), ("y", run.y[k], pred.y[j]), ("w", run.w[k], pred.w[j]))
        ):
            ax = axes[row, col]
            ax.plot(run.times, measured, "k.", ms=3, label="trained net")
            ax.plot(pred.times, predicted, "r-", lw=1.2, label="pair equations (fit)")
            ax.set_xlabel("step")
            ax.set_ylabel(name)
            if col == 0:
                ax.axhline(
                    c.final_predicted[k], color="b", ls=":", lw=1, label="closed-form final h"
                )
                ax.set_title(
                    f"gain {cfg.gain:g} ({_regime(cfg.gain)}): eta_h={c.fit.eta_h:.3g},"
                    f" eta_y={c.fit.eta_y:.3g}, fit loss {c.fit.loss:.1e}",
                    fontsize=8,
                )
                ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def _run_pairs(args, inputs, targets, name: str, title: str) -> int:
    configs, every = _configs(args)
    from springblock.validation.dynamics import train as dt

    started = time.perf_counter()
    comparisons = []
    for cfg in configs:
        run = dt.train_pairs(cfg, inputs, targets, seed=args.seed, every=every)
        comparisons.append(
            dt.compare_pairs(
                run, points=min(len(run.times), args.samples + 1), controls=args.controls
            )
        )
    payload = clean(
        {
            "task": name,
            "width": args.width,
            "hidden_layers": args.hidden_layers,
            "tracked_layer": args.tracked_layer,
            "nonlinearity": args.nonlinearity,
            "steps": args.steps,
            "every": every,
            "seed": args.seed,
            "runs": [_pair_payload(c, cfg) for c, cfg in zip(comparisons, configs, strict=True)],
            "wall_time_s": time.perf_counter() - started,
        }
    )
    lines = [
        f"{title}: width {args.width}, {args.hidden_layers} hidden layers, tracked "
        f"layer {args.tracked_layer} ({payload['wall_time_s']:.1f} s)",
        f"{'gain':>5} {'regime':>12} {'eta_h':>9} {'eta_y':>9} {'fit loss':>9} "
        + " ".join(f"{c + ' ctrl':>13}" for c in args.controls)
        + f" {'h_final meas':>13} {'pred':>9}",
    ]
    for r in payload["runs"]:
        first = r["pairs"][0]
        lines.append(
            f"{r['gain']:>5g} {r['regime']:>12} {_g(r['eta_h'], 9, '.3g')} "
            f"{_g(r['eta_y'], 9, '.3g')} {_g(r['fit_loss'], 9, '.2e')} "
            + " ".join(_g(r["control_losses"][c], 13, ".2e") for c in args.controls)
            + f" {_g(first['h_final_measured'], 13, '.4g')} "
            f"{_g(first['h_final_predicted'], 9, '.4g')}"
        )
    if args.out:
        from springblock import figures

        payload["figures"] = figures.save(
            _trajectory_figure(comparisons, configs, title), args.out, f"dynamics_{name}"
        )
        if len(comparisons[0].run.dx2) > 1:
            payload["figures"] += figures.save(
                _distance_figure(comparisons, configs), args.out, f"dynamics_{name}_final"
            )
        write_results(args.out, name, payload)
    emit(args, payload, "\n".join(lines))
    return 0


def _g(value, width: int, spec: str) -> str:
    """Format a number (or None, for a non-finite result) right-aligned."""
    return f"{'n/a':>{width}}" if value is None else f"{value:>{width}{spec}}"


def _distance_figure(comparisons, configs):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(comparisons), figsize=(3.8 * len(comparisons), 3.6), squeeze=False
    )
    for ax, c, cfg in zip(axes[0], comparisons, configs, strict=True):
        colors = ["C3" if d > 0 else "C0" for d in c.run.dy2]
        ax.scatter(c.final_predicted, c.final_measured, c=colors, s=25)
        hi = max(c.final_measured.max(), c.final_predicted.max()) * 1.1
        ax.plot([0, hi], [0, hi], "k:", lw=1)
        ax.set_xlabel("predicted final h (closed form)")
        ax.set_ylabel("measured final h")
        ax.set_title(f"gain {cfg.gain:g} ({_regime(cfg.gain)}); blue: same target", fontsize=8)
    fig.tight_layout()
    return fig


# --- commands ------------------------------------------------------------------------------


def cmd_two_point(args) -> int:
    from springblock.validation.dynamics import train as dt

    if args.inputs == "synthetic":
        inputs, targets = dt.two_point_task(args.dx2, args.dy2)
        title = f"two-point task, dx2={args.dx2:g}, dy2={args.dy2:g}"
    else:
        check_int("seed", args.seed, 0, 2**31 - 1)
        inputs, targets = dt.mnist1d_pair(args.same_class, args.seed)
        title = "MNIST-1D pair (" + ("same class" if args.same_class else "different classes") + ")"
    return _run_pairs(
        args, inputs, targets, "two_point" if args.inputs == "synthetic" else "mnist1d_pair", title
    )


def cmd_xor(args) -> int:
    from springblock.validation.dynamics import train as dt

    inputs, targets = dt.xor_task()
    return _run_pairs(args, inputs, targets, "xor", "XOR")


def cmd_linear(args) -> int:
    import numpy as np

    from springblock.numerics.dynamics import solve as ds
    from springblock.params import check_real
    from springblock.validation.dynamics import train as dt

    s = np.asarray(args.singular_values, dtype=np.float64)
    if s.size == 0 or np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ParameterError("singular_values", list(args.singular_values), "positive numbers")
    u0 = check_real("u0", args.u0, minimum=0.0, strict=True)
    if u0 >= s.min():
        raise ParameterError("u0", u0, f"< the smallest singular value {s.min():g}")
    depth = check_int("depth", args.depth, 1, 100)
    lr = check_real("lr", args.lr, minimum=0.0, strict=True)
    steps = check_int("steps", args.steps, 1, 10_000_000)
    check_int("seed", args.seed, 0, 2**32 - 1)
    records = max(d for d in range(1, min(200, steps) + 1) if steps % d == 0)
    started = time.perf_counter()
    run = dt.train_deep_linear(
        s, u0=u0, depth=depth, lr=lr, steps=steps, seed=args.seed, records=records
    )
    theory = ds.deep_linear(run.times * lr, s, u0, 1.0, depth)
    error = np.abs(run.strengths - theory)
    modes = []
    for a, sv in enumerate(s):
        half = np.flatnonzero(run.strengths[a] >= sv / 2)
        measured = float(run.times[half[0]] * lr) if half.size else None
        predicted = float(ds.learning_time(sv, u0, sv / 2)) if depth == 2 else None
        modes.append(
            {
                "s": float(sv),
                "max_abs_error": float(error[a].max()),
                "half_time_measured": measured,
                "half_time_closed_form": predicted,
            }
        )
    payload = clean(
        {
            "depth": depth,
            "u0": u0,
            "lr": lr,
            "steps": steps,
            "time_unit": "steps x lr (tau = 1)",
            "modes": modes,
            "max_abs_error": float(error.max()),
            "wall_time_s": time.perf_counter() - started,
        }
    )
    lines = [
        f"deep linear net, D={depth}, u0={u0:g}, lr={lr:g}, {steps} steps: max |u_GD - "
        f"u_theory| = {payload['max_abs_error']:.3g}"
    ]
    for m in modes:
        lines.append(
            f"s={m['s']:g}: max error {m['max_abs_error']:.3g}"
            + (
                f", time to s/2 measured {m['half_time_measured']:.4g}"
                if m["half_time_measured"] is not None
                else ""
            )
            + (
                f", closed form {m['half_time_closed_form']:.4g}"
                if m["half_time_closed_form"] is not None
                else ""
            )
        )
    if args.out:
        import matplotlib.pyplot as plt

        from springblock import figures

        fig, ax = plt.subplots(figsize=(6, 4))
        for a, sv in enumerate(s):
            ax.plot(run.times * lr, run.strengths[a], ".", ms=3, color=f"C{a}")
            ax.plot(run.times * lr, theory[a], "-", lw=1, color=f"C{a}", label=f"s={sv:g}")
        ax.set_xlabel("time t = steps x lr")
        ax.set_ylabel("mode strength u")
        ax.set_title(f"depth {depth}: gradient descent (dots) vs theory (lines)", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        payload["figures"] = figures.save(fig, args.out, "dynamics_linear")
        write_results(args.out, "linear", payload)
    emit(args, payload, "\n".join(lines))
    return 0
