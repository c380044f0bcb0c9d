"""``springblock model {equilibrium,simulate,phase-diagram,latex}``: the spring-block model."""

from __future__ import annotations

import argparse
from pathlib import Path

from springblock.cli.common import (
    add_output,
    check_out,
    default_of,
    emit,
    flag_names,
    given,
    log,
    parse_float,
    parse_int,
    progress_bar,
    shown,
)
from springblock.params import (
    UNDERDAMPED_METHODS,
    Chain,
    Friction,
    Overdamped,
    ParameterError,
    Simulation,
    Underdamped,
)

DEFAULT_PHASE_OUT = Path("springblock-results") / "phase-diagram"
VARIANTS = ("overdamped", "underdamped")


def _add_chain(p: argparse.ArgumentParser, stiffness_default: str) -> None:
    p.add_argument(
        "--blocks",
        "-L",
        type=parse_int,
        help=f"number of blocks L (>= 1; default {default_of(Chain, 'blocks')})",
    )
    p.add_argument(
        "--stiffness",
        "-k",
        type=parse_float,
        help=f"spring constant k (> 0; default {stiffness_default})",
    )
    p.add_argument(
        "--target",
        "-y",
        type=parse_float,
        help=f"target position y (default {default_of(Chain, 'target'):g})",
    )


def register(groups) -> None:
    """Add the ``model`` command group to the top-level subparsers ``groups``."""
    from springblock.numerics.spring.phase_diagram import PhaseDiagramSpec

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
    _add_chain(eq, f"{default_of(Chain, 'stiffness'):g}")
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
    eq.set_defaults(configure=configure_equilibrium, execute=execute_equilibrium)

    sim = sub.add_parser(
        "simulate",
        help="simulate an ensemble of noisy chains",
        description="Simulate model (a) (overdamped, static friction, force noise; the "
        "authors' map) or model (b) (underdamped Langevin, kinetic friction, decaying "
        "noise) from rest, for several noise realisations in one compiled call. Defaults "
        "are the authors' notebook values of the chosen variant.",
    )
    sim.add_argument("--variant", choices=VARIANTS, default="overdamped")
    _add_chain(
        sim,
        f"{Overdamped().chain.stiffness:g} (overdamped) or "
        f"{Underdamped().chain.stiffness:g} (underdamped)",
    )
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
    for name, text in (("seeds", "noise realisations"), ("saves", "saved frames")):
        sim.add_argument(
            f"--{name}", type=parse_int, help=f"{text} (default {default_of(Simulation, name)})"
        )
    sim.add_argument(
        "--seed",
        type=parse_int,
        help=f"base random seed (default {default_of(Simulation, 'seed')})",
    )
    sim.add_argument(
        "--mass",
        type=parse_float,
        help=f"underdamped: block mass m (> 0; default {Underdamped().mass:g})",
    )
    sim.add_argument("--damping", type=parse_float, help="underdamped: viscous damping gamma")
    sim.add_argument("--decay", type=parse_float, help="underdamped: noise decay rate lambda")
    sim.add_argument(
        "--method",
        choices=UNDERDAMPED_METHODS,
        help="underdamped: exact stick-slip stepping or diffrax SDE with tanh-smoothed "
        f"friction (default {default_of(Simulation, 'method')})",
    )
    sim.add_argument(
        "--smoothing",
        type=parse_float,
        help="underdamped, smoothed: velocity scale delta of the friction regularisation",
    )
    add_output(sim)
    sim.set_defaults(configure=configure_simulate, execute=execute_simulate)

    pd = sub.add_parser(
        "phase-diagram",
        help="simulated (friction, noise) phase diagram with the analytic boundaries",
        description="Simulate model (a) over a grid of friction mu_R (mu_L = asymmetry * "
        "mu_R) and noise eps_bar, classify each cell's load curve as concave, linear or "
        "convex (|c| / y <= the linear tolerance), and overlay the closed-form and "
        "mean-field phase boundaries. Runs on a default grid with no arguments; writes into "
        f"{DEFAULT_PHASE_OUT}/ unless --out is given. Finished rows are kept in the results "
        "store (DIR/store), so an interrupted run resumes.",
    )
    _add_chain(pd, f"{default_of(PhaseDiagramSpec, 'stiffness'):g}")
    for name, text in PHASE_FLOATS.items():
        default = shown(default_of(PhaseDiagramSpec, name.replace("-", "_")))
        pd.add_argument(f"--{name}", type=parse_float, help=f"{text} (default {default})")
    for name, text in PHASE_INTS.items():
        default = default_of(PhaseDiagramSpec, PHASE_RENAME.get(name, name).replace("-", "_"))
        pd.add_argument(f"--{name}", type=parse_int, help=f"{text} (default {default})")
    pd.add_argument(
        "--shared-noise", action="store_true", help="one noise value per step for all blocks"
    )
    pd.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_output(pd, help=f"results directory (default {DEFAULT_PHASE_OUT})")
    pd.set_defaults(configure=configure_phase_diagram, execute=execute_phase_diagram)

    lx = sub.add_parser(
        "latex",
        help="the model equations and closed forms as LaTeX",
        description="Print the symbolic model and derived results as LaTeX.",
    )
    lx.add_argument("--variant", choices=VARIANTS, default="overdamped")
    lx.add_argument("--shared-noise", action="store_true")
    lx.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    lx.set_defaults(
        configure=lambda args: vars_of(args, "variant", "shared_noise"), execute=execute_latex
    )


PHASE_FLOATS = {
    "asymmetry": "mu_L / mu_R (>= 0)",
    "mu-min": "smallest mu_R (>= 0)",
    "mu-max": "largest mu_R",
    "noise-min": "smallest noise (> 0)",
    "noise-max": "largest noise",
    "dt": "step eta (> 0)",
}
PHASE_INTS = {
    "mu-points": "friction values",
    "noise-points": "noise values (log-spaced)",
    "steps": "steps per run",
    "seeds": "noise realisations per cell",
    "seed": "base random seed",
}
#: Options whose library field has another name.
PHASE_RENAME = {"seed": "key"}


def vars_of(args, *names: str) -> dict:
    return {name: getattr(args, name) for name in names}


# ------------------------------------------------------------------ equilibrium


def configure_equilibrium(args) -> tuple[Chain, Friction, Path | None]:
    chain = Chain(**given(args, "blocks", "stiffness", "target"))
    friction = Friction(args.mu_right, args.mu_left)
    return chain, friction, check_out(args.out)


def execute_equilibrium(config, args) -> int:
    from springblock import results
    from springblock.numerics.spring import equilibrium, plots
    from springblock.plotting import save

    chain, friction, out = config
    payload = equilibrium.summary(chain, friction)
    d = payload["elongations"]
    text = "\n".join(
        [
            f"pulled equilibrium, L={chain.blocks}, k={chain.stiffness:g}, y={chain.target:g}, "
            f"mu_R={friction.right:g}, mu_L={friction.left:g}",
            f"stuck blocks (never move): {payload['stuck_blocks']}",
            "elongations d_1..d_L+1: " + " ".join(f"{v:.6g}" for v in d),
            "positions x_1..x_L:     " + " ".join(f"{v:.6g}" for v in payload["positions"]),
            f"curvature c = {payload['curvature']:.6g}, spread v = {payload['spread']:.6g}",
            f"shallow blocks stick once mu/k >= {payload['lazy_threshold']:.6g} (2|y|/(L(L+1)))",
        ]
    )
    if out is not None:
        payload["figures"] = save(
            plots.load_curves_figure(
                {"pulled equilibrium": payload["load_curve"]},
                f"noiseless pulled equilibrium ({payload['stuck_blocks']} stuck)",
            ),
            out,
            "equilibrium",
        )
        results.write_results(out, payload, equilibrium.to_dataset(payload))
    emit(args, payload, text)
    return 0


# ------------------------------------------------------------------ simulate


#: Options of model (b) only, and the option they need.
UNDERDAMPED_ONLY = ("mass", "damping", "decay", "method", "smoothing")


def configure_simulate(args) -> tuple[Simulation, Path | None]:
    if args.variant == "overdamped":
        for name in UNDERDAMPED_ONLY:
            if getattr(args, name) is not None:
                flag = "--" + name
                raise ParameterError(
                    name,
                    getattr(args, name),
                    f"not given ({flag} applies to --variant underdamped only)",
                )
    elif args.smoothing is not None and args.method != "smoothed":
        raise ParameterError(
            "smoothing", args.smoothing, "not given (--smoothing applies to --method smoothed only)"
        )
    if args.variant == "overdamped":
        base = Overdamped()
        right = base.friction.right if args.mu_right is None else args.mu_right
        model: Overdamped | Underdamped = Overdamped(
            chain=Chain(**given(args, "blocks", "stiffness", "target")),
            friction=Friction(right, right if args.mu_left is None else args.mu_left),
            **given(args, "noise", "shared_noise", "dt", "steps"),
        )
    else:
        base_b = Underdamped()
        chain_b = {"stiffness": base_b.chain.stiffness} | given(
            args, "blocks", "stiffness", "target"
        )
        model = Underdamped(
            chain=Chain(**chain_b),
            friction=Friction(
                base_b.friction.right if args.mu_right is None else args.mu_right,
                base_b.friction.left if args.mu_left is None else args.mu_left,
            ),
            **given(
                args,
                "mass",
                "damping",
                "noise",
                "decay",
                "shared_noise",
                "dt",
                "steps",
                "smoothing",
            ),
        )
    sim = Simulation(model=model, **given(args, "seeds", "saves", "seed", "method"))
    return sim, check_out(args.out)


def execute_simulate(config, args) -> int:
    from springblock.numerics.spring import simulation

    sim, out = config
    ens = simulation.run(sim)
    payload = simulation.summary(ens)
    chain = sim.model.chain
    sem = payload["curvature_sem"]
    lines = [
        f"model ({'a' if sim.variant == 'overdamped' else 'b'}) {sim.variant}, "
        f"L={chain.blocks}, {sim.seeds} seeds, T={sim.model.duration:g} "
        f"({ens.wall_time_s:.1f} s)",
        "mean load curve y - x_l: " + " ".join(f"{v:.4f}" for v in payload["load_curve"]),
        f"curvature c = {payload['curvature']:.4g}" + (f" +- {sem:.2g}" if sem else ""),
        f"spread v = {payload['spread']:.4g}",
    ]
    theory = payload["theory"]
    if theory:
        lines.append(
            f"theory (relaxation-time interpolation): c = {theory['curvature']:.4g}, "
            f"v = {theory['spread']:.4g}, tau = {theory['relaxation_time']:.4g}"
        )
    if out is not None:
        payload["figures"] = simulation.save(ens, out)
    emit(args, payload, "\n".join(lines))
    return 0


# ------------------------------------------------------------------ phase diagram


def configure_phase_diagram(args):
    from springblock.numerics.spring.phase_diagram import PhaseDiagramSpec

    names = [n.replace("-", "_") for n in (*PHASE_FLOATS, *PHASE_INTS)]
    options = given(args, "blocks", "stiffness", "target", *names, rename=PHASE_RENAME)
    if args.shared_noise:
        options["shared_noise"] = True
    with flag_names(key="seed"):
        spec = PhaseDiagramSpec(**options)
    return spec, check_out(args.out or DEFAULT_PHASE_OUT)


def execute_phase_diagram(config, args) -> int:
    from springblock.numerics.spring import phase_diagram

    spec, out = config
    update = progress_bar(args, spec.mu_points, "friction rows", "row")

    def progress(done: int, total: int) -> None:
        update(done, total)
        if done == total:
            log(args, "computing the predicted boundaries (closed form, mean-field flow)...")

    _, payload = phase_diagram.compute(spec, out, progress, log=lambda m: log(args, m))
    agree = payload["agreement"]
    cells = spec.mu_points * spec.noise_points
    text = "\n".join(
        [
            f"phase diagram of model (a): {spec.mu_points} x {spec.noise_points} cells, "
            f"{spec.seeds} seeds, T = {spec.duration:g}",
            "cells per phase: " + ", ".join(f"{k} {v}" for k, v in payload["phase_counts"].items()),
            "agreement of simulated phases with the closed-form prediction: "
            + ", with the mean-field flow: ".join(
                f"{agree[k]:.1%} ± {phase_diagram.binomial_se(agree[k], cells):.1%}"
                for k in ("closed_form", "mean_field")
            )
            + f" (every cell in the most common phase: {agree['majority_baseline']:.1%}; "
            "± binomial standard error)",
            f"figure: {payload['figures'][0]}",
            f"results: {out / 'results.nc'}, {out / 'results.json'}",
        ]
    )
    emit(args, payload, text)
    return 0


# ------------------------------------------------------------------ latex


def execute_latex(config, args) -> int:
    from springblock.theory.spring import latex

    forms = latex.closed_forms(config["variant"], config["shared_noise"])
    emit(args, forms, "\n\n".join(f"% {k}\n{v}" for k, v in forms.items()))
    return 0
