"""``springblock model {equilibrium,simulate,phase-diagram,latex}``: the spring-block model."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from springblock.cli.common import (
    add_output,
    clean,
    emit,
    parse_float,
    parse_int,
    sem,
    write_results,
)
from springblock.params import (
    Chain,
    Friction,
    Overdamped,
    Underdamped,
    check_int,
)

if TYPE_CHECKING:
    from springblock.numerics.spring import overdamped, underdamped

DEFAULT_PHASE_OUT = Path("springblock-results") / "phase-diagram"


def _add_chain(p: argparse.ArgumentParser, stiffness_default: str) -> None:
    p.add_argument("--blocks", "-L", type=parse_int, help="number of blocks L (>= 1; default 7)")
    p.add_argument(
        "--stiffness",
        "-k",
        type=parse_float,
        help=f"spring constant k (> 0; default {stiffness_default})",
    )
    p.add_argument("--target", "-y", type=parse_float, help="target position y (default 1)")


def register(groups) -> None:
    """Add the ``model`` command group to the top-level subparsers ``groups``."""
    model = groups.add_parser(
        "model", help="the spring-block model: equilibria, simulation, phase diagram, equations"
    )
    sub = model.add_subparsers(
        dest="command", required=True, metavar="{equilibrium,simulate,phase-diagram,latex}"
    )

    eq = sub.add_parser(
        "equilibrium",
        help="noiseless pulled equilibrium in closed form",
        description="Closed-form equilibrium of the chain pulled from rest without noise: "
        "every block that moved rests where its net force equals the friction, shallow "
        "blocks may never move (lazy).",
    )
    _add_chain(eq, "1")
    eq.add_argument(
        "--mu-right",
        type=parse_float,
        required=True,
        help="friction against motion towards the target (>= 0)",
    )
    eq.add_argument(
        "--mu-left",
        type=parse_float,
        help="friction against motion towards the wall (>= 0; default: equal to --mu-right)",
    )
    add_output(eq)

    sim = sub.add_parser(
        "simulate",
        help="simulate an ensemble of noisy chains",
        description="Simulate model (a) (overdamped, static friction, force noise; the "
        "authors' map) or model (b) (underdamped Langevin, kinetic friction, decaying "
        "noise) from rest, for several noise realisations in one compiled call. Defaults "
        "are the authors' notebook values of the chosen variant.",
    )
    sim.add_argument("--variant", choices=("overdamped", "underdamped"), default="overdamped")
    _add_chain(sim, "1 (overdamped) or 0.1 (underdamped)")
    sim.add_argument("--mu-right", type=parse_float, help="friction against motion to +x (>= 0)")
    sim.add_argument("--mu-left", type=parse_float, help="friction against motion to -x (>= 0)")
    sim.add_argument(
        "--noise",
        type=parse_float,
        help="overdamped: force-noise std eps_bar; underdamped: noise amplitude eps (>= 0)",
    )
    sim.add_argument(
        "--shared-noise",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one noise value for all blocks (default: independent for "
        "overdamped, shared for underdamped, as in the authors' code)",
    )
    sim.add_argument("--steps", type=parse_int, help="number of steps (>= 1)")
    sim.add_argument("--dt", type=parse_float, help="step size eta (overdamped) or dt (> 0)")
    sim.add_argument("--seeds", type=parse_int, default=16, help="noise realisations (default 16)")
    sim.add_argument("--seed", type=parse_int, default=0, help="base random seed (default 0)")
    sim.add_argument("--saves", type=parse_int, default=200, help="saved frames (default 200)")
    sim.add_argument("--mass", type=parse_float, help="underdamped: block mass m (> 0; default 1)")
    sim.add_argument("--damping", type=parse_float, help="underdamped: viscous damping gamma")
    sim.add_argument("--decay", type=parse_float, help="underdamped: noise decay rate lambda")
    sim.add_argument(
        "--method",
        choices=("stick-slip", "smoothed"),
        default="stick-slip",
        help="underdamped: exact stick-slip stepping or diffrax SDE with tanh-smoothed friction",
    )
    sim.add_argument(
        "--smoothing",
        type=parse_float,
        help="underdamped, smoothed: velocity scale delta of the friction regularisation",
    )
    add_output(sim)

    pd = sub.add_parser(
        "phase-diagram",
        help="simulated (friction, noise) phase diagram with the analytic boundaries",
        description="Simulate model (a) over a grid of friction mu_R (mu_L = asymmetry * "
        "mu_R) and noise eps_bar, classify each cell's load curve as concave, linear or "
        "convex, and overlay the closed-form and mean-field phase boundaries. Runs on a "
        f"default grid with no arguments; writes into {DEFAULT_PHASE_OUT}/ unless --out is "
        "given. Finished rows are kept in DIR/checkpoint, so an interrupted run resumes.",
    )
    _add_chain(pd, "1")
    for name, default, text in (
        ("asymmetry", 4 / 3, "mu_L / mu_R (>= 0)"),
        ("mu-min", 0.005, "smallest mu_R"),
        ("mu-max", 0.2, "largest mu_R"),
        ("noise-min", 0.005, "smallest noise (> 0)"),
        ("noise-max", 0.5, "largest noise"),
        ("dt", 0.01, "step eta (> 0)"),
        ("tolerance", 0.05, "half-width of the linear band in curvature c (> 0)"),
    ):
        pd.add_argument(
            f"--{name}", type=parse_float, default=default, help=f"{text} (default {default:.4g})"
        )
    for name, default, text in (
        ("mu-points", 20, "friction values"),
        ("noise-points", 20, "noise values (log-spaced)"),
        ("steps", 10_000, "steps per run"),
        ("seeds", 16, "noise realisations per cell"),
        ("seed", 0, "base random seed"),
    ):
        pd.add_argument(
            f"--{name}", type=parse_int, default=default, help=f"{text} (default {default})"
        )
    pd.add_argument(
        "--shared-noise", action="store_true", help="one noise value per step for all blocks"
    )
    pd.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_output(pd)

    lx = sub.add_parser(
        "latex",
        help="the model equations and closed forms as LaTeX",
        description="Print the symbolic model and derived results as LaTeX.",
    )
    lx.add_argument("--variant", choices=("overdamped", "underdamped"), default="overdamped")
    lx.add_argument("--shared-noise", action="store_true")
    lx.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    for parser, func in (
        (eq, cmd_equilibrium),
        (sim, cmd_simulate),
        (pd, cmd_phase_diagram),
        (lx, cmd_latex),
    ):
        parser.set_defaults(func=func)


def _chain(args, stiffness_default: float = 1.0) -> Chain:
    return Chain(
        blocks=7 if args.blocks is None else args.blocks,
        stiffness=stiffness_default if args.stiffness is None else args.stiffness,
        target=1.0 if args.target is None else args.target,
    )


def _pick(value, default):
    return default if value is None else value


def cmd_equilibrium(args) -> int:
    from springblock.theory.spring import chain as chain_theory
    from springblock.theory.spring import equilibrium

    c = _chain(args)
    f = Friction(args.mu_right, args.mu_left)
    assert f.left is not None  # Friction.__post_init__ fills it in
    eq = equilibrium.pulled_equilibrium(c.blocks, c.stiffness, f.right, f.left, c.target)
    d = list(eq.elongations)
    load = [c.target - x for x in (0.0, *eq.positions)]
    mu = f.right if c.target >= 0 else f.left
    payload: dict[str, Any] = {
        "blocks": c.blocks,
        "stiffness": c.stiffness,
        "target": c.target,
        "mu_right": f.right,
        "mu_left": f.left,
        "elongations": d,
        "positions": list(eq.positions),
        "stuck_blocks": eq.stuck_blocks,
        "load_curve": load,
        "curvature": d[0] - d[-1],
        "spread": float(chain_theory.spread([*d]).evalf()),
        "lazy_threshold": float(
            equilibrium.lazy_threshold(c.blocks, 1, c.stiffness, abs(c.target))
        ),
        "friction_used": mu,
    }
    text = "\n".join(
        [
            f"pulled equilibrium, L={c.blocks}, k={c.stiffness:g}, y={c.target:g}, "
            f"mu_R={f.right:g}, mu_L={f.left:g}",
            f"stuck blocks (never move): {eq.stuck_blocks}",
            "elongations d_1..d_L+1: " + " ".join(f"{v:.6g}" for v in d),
            "positions x_1..x_L:     " + " ".join(f"{v:.6g}" for v in eq.positions),
            f"curvature c = {payload['curvature']:.6g}, spread v = {payload['spread']:.6g}",
            f"shallow blocks stick once mu/k >= {payload['lazy_threshold']:.6g} (2|y|/(L(L+1)))",
        ]
    )
    if args.out:
        from springblock import figures

        payload["figures"] = figures.save(
            figures.load_curves_figure(
                {"pulled equilibrium": load},
                f"noiseless pulled equilibrium ({eq.stuck_blocks} stuck)",
            ),
            args.out,
            "equilibrium",
        )
        write_results(args.out, "equilibrium", payload)
    emit(args, payload, text)
    return 0


def _simulate_config(args):
    if args.variant == "overdamped":
        base = Overdamped()
        c = _chain(args, 1.0)
        right = _pick(args.mu_right, base.friction.right)
        cfg = Overdamped(
            chain=c,
            friction=Friction(right, _pick(args.mu_left, right)),
            noise=_pick(args.noise, base.noise),
            shared_noise=_pick(args.shared_noise, base.shared_noise),
            dt=_pick(args.dt, base.dt),
            steps=_pick(args.steps, base.steps),
        )
    else:
        base = Underdamped()
        c = _chain(args, base.chain.stiffness)
        cfg = Underdamped(
            chain=c,
            friction=Friction(
                _pick(args.mu_right, base.friction.right), _pick(args.mu_left, base.friction.left)
            ),
            mass=_pick(args.mass, base.mass),
            damping=_pick(args.damping, base.damping),
            noise=_pick(args.noise, base.noise),
            decay=_pick(args.decay, base.decay),
            shared_noise=_pick(args.shared_noise, base.shared_noise),
            dt=_pick(args.dt, base.dt),
            steps=_pick(args.steps, base.steps),
            smoothing=_pick(args.smoothing, base.smoothing),
        )
    check_int("seeds", args.seeds, 1, 1_000_000)
    check_int("saves", args.saves, 1, 1_000_000)
    check_int("seed", args.seed, 0, 2**31 - 1)
    return cfg


def cmd_simulate(args) -> int:
    cfg = _simulate_config(args)  # validates everything before jax is imported
    import numpy as np

    from springblock.numerics.spring import statistics

    c, f = cfg.chain, cfg.friction
    started = time.perf_counter()
    run: overdamped.Trajectories | underdamped.Trajectories
    if args.variant == "overdamped":
        from springblock.numerics.spring import overdamped
        from springblock.theory.spring import phases

        run = overdamped.simulate(
            c.blocks,
            stiffness=c.stiffness,
            target=c.target,
            mu_right=f.right,
            mu_left=f.left,
            noise=cfg.noise,
            dt=cfg.dt,
            steps=cfg.steps,
            seeds=args.seeds,
            shared_noise=cfg.shared_noise,
            saves=args.saves,
            key=args.seed,
        )
        positions = run.positions
        prediction = phases.predict(
            c.blocks, c.stiffness, f.right, f.left, cfg.noise, cfg.duration, c.target
        )
        theory = {
            "curvature": prediction.curvature,
            "spread": prediction.spread,
            "elongations": list(prediction.elongations),
            "relaxation_time": prediction.relaxation_time,
            "stationary_force": prediction.stationary_force,
            "note": "relaxation-time interpolation of springblock.theory.spring.phases",
        }
    else:
        from springblock.numerics.spring import underdamped

        run = underdamped.simulate(
            cfg, args.seeds, method=args.method, saves=args.saves, key=args.seed
        )
        positions = run.positions
        theory = None
    stats = statistics.load_statistics(positions, c.target)  # (seeds, saves, ...)
    final = {name: np.asarray(getattr(stats, name))[:, -1] for name in stats._fields}
    elapsed = time.perf_counter() - started
    payload = {
        "variant": args.variant,
        "config": _config_dict(cfg),
        "seeds": args.seeds,
        "seed": args.seed,
        "load_curve": final["load_curve"].mean(axis=0).tolist(),
        "load_curve_sem": sem(final["load_curve"]),
        "elongations": final["elongations"].mean(axis=0).tolist(),
        "spread": float(final["spread"].mean()),
        "spread_sem": sem(final["spread"]),
        "curvature": float(final["curvature"].mean()),
        "curvature_sem": sem(final["curvature"]),
        "per_seed": {"spread": final["spread"].tolist(), "curvature": final["curvature"].tolist()},
        "theory": theory,
        "wall_time_s": elapsed,
    }
    if args.variant == "underdamped":
        payload["method"] = args.method
    payload = clean(payload)
    lines = [
        f"model ({'a' if args.variant == 'overdamped' else 'b'}) {args.variant}, "
        f"L={c.blocks}, {args.seeds} seeds, T={cfg.duration:g} ({elapsed:.1f} s)",
        "mean load curve y - x_l: " + " ".join(f"{v:.4f}" for v in payload["load_curve"]),
        f"curvature c = {payload['curvature']:.4g}"
        + (f" +- {payload['curvature_sem']:.2g}" if payload["curvature_sem"] else ""),
        f"spread v = {payload['spread']:.4g}",
    ]
    if theory:
        lines.append(
            f"theory (relaxation-time interpolation): c = {theory['curvature']:.4g}, "
            f"v = {theory['spread']:.4g}, tau = {theory['relaxation_time']:.4g}"
        )
    if args.out:
        from springblock import figures

        mean_load = np.asarray(stats.load_curve).mean(axis=0)  # (saves, L+1)
        curves = {"simulation (mean)": np.array(payload["load_curve"])}
        errors = {"simulation (mean)": np.array(payload["load_curve_sem"] or 0.0)}
        if theory:
            d = np.array(theory["elongations"])
            curves["theory"] = c.target - np.concatenate([[0.0], np.cumsum(d)[:-1]])
        paths = figures.save(
            figures.load_curves_figure(curves, f"{args.variant}: final load curve", errors),
            args.out,
            "load_curve",
        )
        paths += figures.save(
            figures.trajectories_figure(np.asarray(run.times), mean_load, "mean over seeds"),
            args.out,
            "trajectories",
        )
        payload["figures"] = paths
        write_results(args.out, "simulate", payload)
        np.savez(
            args.out / "trajectories.npz",
            times=np.asarray(run.times),
            positions=np.asarray(positions),
        )
    emit(args, payload, "\n".join(lines))
    return 0


def _config_dict(cfg) -> dict:
    import dataclasses

    return dataclasses.asdict(cfg)


def cmd_phase_diagram(args) -> int:
    from springblock.numerics.spring.phase_diagram import PhaseDiagramSpec

    c = _chain(args)
    spec = PhaseDiagramSpec(
        blocks=c.blocks,
        stiffness=c.stiffness,
        target=c.target,
        asymmetry=args.asymmetry,
        mu_min=args.mu_min,
        mu_max=args.mu_max,
        mu_points=args.mu_points,
        noise_min=args.noise_min,
        noise_max=args.noise_max,
        noise_points=args.noise_points,
        dt=args.dt,
        steps=args.steps,
        seeds=args.seeds,
        tolerance=args.tolerance,
        shared_noise=args.shared_noise,
        key=args.seed,
    )
    out = args.out or DEFAULT_PHASE_OUT

    from springblock import figures
    from springblock.numerics.spring import phase_diagram

    started = time.perf_counter()
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=spec.mu_points, desc="friction rows", unit="row", file=sys.stderr)

    def progress(done, total):
        if bar is not None:
            bar.n = done
            bar.refresh()
            if done == total:
                bar.close()
                print(
                    "computing the predicted boundaries (closed form, mean-field flow)...",
                    file=sys.stderr,
                )

    checkpoint = out / "checkpoint" / spec.digest()
    diagram = phase_diagram.run(spec, checkpoint, progress)
    payload = diagram.to_json()
    payload["wall_time_s"] = time.perf_counter() - started
    payload["figures"] = figures.save(figures.phase_diagram_figure(diagram), out, "phase_diagram")
    payload["arrays"] = str(out / "phase_diagram.npz")
    diagram.save_arrays(out / "phase_diagram.npz")
    write_results(out, "phase_diagram", payload)
    agree = payload["agreement"]
    text = "\n".join(
        [
            f"phase diagram of model (a): {spec.mu_points} x {spec.noise_points} cells, "
            f"{spec.seeds} seeds, T = {spec.duration:g} ({payload['wall_time_s']:.1f} s)",
            "cells per phase: " + ", ".join(f"{k} {v}" for k, v in payload["phase_counts"].items()),
            f"agreement of simulated phases with the closed-form prediction: "
            f"{agree['closed_form']:.1%}, with the mean-field flow: {agree['mean_field']:.1%}",
            f"figure: {payload['figures'][0]}",
            f"results: {out / 'phase_diagram.json'}",
        ]
    )
    emit(args, payload, text)
    return 0


def cmd_latex(args) -> int:
    import sympy as sp

    from springblock.theory import OverdampedModel, UnderdampedModel
    from springblock.theory.spring import drift, equilibrium, phases

    if args.variant == "overdamped":
        model_tex = OverdampedModel(2, args.shared_noise).latex()
    else:
        model_tex = UnderdampedModel(2, args.shared_noise).latex()
    L = phases.L_sym
    results = {
        "model": model_tex,
        "mean_drift": "g(F) = " + sp.latex(drift.mean_drift()),
        "mobility": "g'(F) = " + sp.latex(drift.mobility()),
        "stationary_force": "F^* = " + sp.latex(drift.stationary_force()),
        "relaxation_time": r"\tau = " + sp.latex(phases.relaxation_time_expr()),
        "stuck_blocks": r"n_\mathrm{stuck} = " + sp.latex(equilibrium.stuck_blocks_expr(L)),
        "lazy_threshold": r"\mu_R^{(1)} = " + sp.latex(equilibrium.lazy_threshold(L, 1)),
        "stationary_curvature": r"c_\infty = " + sp.latex(phases.stationary_curvature()),
        "curvature": "c(T) = " + sp.latex(phases.curvature_expr()),
        "boundary": r"\sigma_b = " + sp.latex(phases.boundary_expr()),
    }
    emit(args, results, "\n\n".join(f"% {k}\n{v}" for k, v in results.items()))
    return 0
