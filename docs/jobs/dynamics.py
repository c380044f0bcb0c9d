"""Representation dynamics: every number and figure of docs/dynamics.md and the README's
bullet and Python example.

The figures are drawn by the documented commands (``springblock dynamics ... --out DIR``;
the PNGs are copied to docs/img) and their numbers read back from each ``results.json`` and
``results.nc``. The rest comes from the library: the solver study that chose the pair
solver (Tsit5 or Kvaerno5, with or without the convergence event, on starts of the property
test's generator, the start of seed 45191 that stalled Kvaerno5, and long horizons), the
conservation property on more random starts, the measured values of the numerical checks
that the tests make with stated tolerances, and fit and training timings (with the
machine's load average: the times depend on what else runs). Four to seven minutes on 2
cores, depending on their load (``compute_s`` of the result).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

#: figure (docs/img/NAME.png) -> the command that draws it (and its results)
COMMANDS: dict[str, list[str]] = {
    "two_point": ["two-point"],
    "xor": ["xor"],
    "mnist1d_pair": ["two-point", "--inputs", "mnist1d"],
    "mnist1d_same_class": ["two-point", "--inputs", "mnist1d", "--same-class"],
    "linear": ["linear"],
    "linear_depth3": ["linear", "--depth", "3"],
}
FIGURES = (
    *(f"dynamics_{name}.png" for name in COMMANDS),
    "dynamics_xor_final.png",
)

#: Save times of the conservation property test (tests/dynamics/test_dynamics_theory.py).
PROPERTY_TIMES = np.geomspace(1e-2, 2e4, 40)
#: The hypothesis seed whose third start stalled the implicit solver.
STALLED_SEED = 45191
#: Seeds of the solver study (each gives 4 starts) and of the property check (others).
STUDY_SEEDS = range(100)
PROPERTY_SEEDS = range(1000, 1600)
#: Step budget of the solver study: the one the library used before the event.
STUDY_MAX_STEPS = 200_000
SOLVERS = {
    "Kvaerno5": ("Kvaerno5", False),
    "Kvaerno5 + event": ("Kvaerno5", True),
    "Tsit5": ("Tsit5", False),
    "Tsit5 + event": ("Tsit5", True),
}
#: The solver the library uses (numerics/dynamics/solve.py).
CHOSEN = "Tsit5 + event"


def random_starts(seed: int):
    """The property test's generator: 4 pairs a network can start from (w0 = y0 - cosine
    sqrt(y0 dy2), 0 <= cosine <= 1), rates over two decades, dx2 = 1."""
    rng = np.random.default_rng(seed)
    h0 = 10 ** rng.uniform(-3, 1.3, 4)
    y0 = rng.uniform(0, 2, 4) * h0
    dy2 = rng.uniform(0.05, 2, 4)
    w0 = y0 - rng.uniform(0, 1, 4) * np.sqrt(y0 * dy2)
    eta_h, eta_y = 10 ** rng.uniform(-3, -1, 4), 10 ** rng.uniform(-3, -1, 4)
    return h0, y0, w0, eta_h, eta_y, dy2


def _drift(conserved, h, h0, y0, eta_h, eta_y) -> np.ndarray:
    """max |C(t) - C(0)| over the run, over the property test's scale of C."""
    scale = eta_y * h0 + eta_h * y0 / h0 + eta_y * np.abs(h).max(axis=1)
    return np.abs(conserved - conserved[:, :1]).max(axis=1) / scale


# --------------------------------------------------------------------------- computing


def _command_results(img: Path) -> dict[str, dict]:
    from springblock import cli, open_results

    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in COMMANDS.items():
            out = Path(tmp) / name
            with contextlib.redirect_stdout(io.StringIO()):
                assert cli.main(["dynamics", *argv, "--out", str(out)]) == 0, argv
            for png in out.glob("*.png"):
                shutil.copyfile(png, img / png.name)
            result = json.loads((out / "results.json").read_text())
            result["command"] = "springblock dynamics " + " ".join(argv)
            # the figures' names, not the temporary directory they were drawn in
            result["figures"] = [Path(path).name for path in result["figures"]]
            if name == "mnist1d_same_class":
                result["rich_path"] = _rich_path(open_results(out))
            found[name] = result
    return found


def _rich_path(ds) -> dict:
    """The rich same-class run: where h peaks, and the sign of w while it grows."""
    run = ds.sel(gain=ds["gain"].values.min(), pair=0)
    h, w = run["h"].values, run["w"].values
    peak = int(np.argmax(h))
    return {
        "h0": float(h[0]),
        "h_peak": float(h[peak]),
        "peak_step": float(run["step"].values[peak]),
        "h_final": float(h[-1]),
        "w_positive_while_growing": bool(np.all(w[:peak] > 0)) if peak else False,
    }


def _solver_study() -> dict:
    """Each solver on the starts of STUDY_SEEDS and STALLED_SEED (4 pairs per compiled
    call, as the property test), and on rich starts integrated to t = 1e8."""
    import diffrax
    import jax
    import jax.numpy as jnp

    from springblock.numerics.dynamics import solve as ds

    rhs, conserved = ds._pair_functions()

    def compiled(name: str, event: bool):
        solver = diffrax.Kvaerno5() if name == "Kvaerno5" else diffrax.Tsit5()

        def one(times, start, params):
            scale = ds._pair_scale(start, params)
            return ds._solve(
                rhs,
                ds._pair_fixed_point,
                times,
                start,
                params,
                scale,
                max_steps=STUDY_MAX_STEPS,
                hold=event,
                solver=solver,
            )

        return jax.jit(jax.vmap(one, in_axes=(None, 0, 0)))

    def solve(fn, times, h0, y0, w0, eta_h, eta_y, dx2, dy2):
        n = len(h0)
        params = tuple(
            jnp.asarray(np.broadcast_to(np.asarray(v, float), (n,)))
            for v in (eta_h, eta_y, dx2, dy2, 3.0, 1.0)
        )
        start = jnp.stack([jnp.asarray(v) for v in (h0, y0, w0)], axis=-1)
        out = fn(jnp.asarray(times), start, params)
        c = conserved(out.ys, tuple(p[:, None] for p in params))[..., 0]
        return out, np.asarray(c)

    rich_h0 = np.array([1e-7, 1e-6, 1e-5, 1e-4])
    rich = (rich_h0, rich_h0**2, np.array([0.0, -1e-4, 1e-5, -1e-3]) * rich_h0)
    study: dict = {}
    with jax.enable_x64(True):
        for label, (name, event) in SOLVERS.items():
            fn = compiled(name, event)
            started = time.perf_counter()
            unfinished, steps, rejected, drift = [], [], [], []
            for seed in [*STUDY_SEEDS, STALLED_SEED]:
                h0, y0, w0, eta_h, eta_y, dy2 = random_starts(seed)
                out, c = solve(fn, PROPERTY_TIMES, h0, y0, w0, eta_h, eta_y, 1.0, dy2)
                ok = np.asarray(out.finished) & np.isfinite(np.asarray(out.ys)).all(axis=(1, 2))
                for k in np.flatnonzero(~ok):
                    unfinished.append(
                        {"seed": seed, "start": int(k), "stopped_at": float(out.stopped_at[k])}
                    )
                steps += np.asarray(out.steps).tolist()
                rejected += np.asarray(out.rejected).tolist()
                d = _drift(c, np.asarray(out.ys)[..., 0], h0, y0, eta_h, eta_y)
                drift += d[ok].tolist()
            wall = time.perf_counter() - started
            long, _ = solve(fn, np.geomspace(1, 1e8, 40), *rich, 0.01, 0.04, 2.0, 0.5)
            study[label] = {
                "pairs": len(steps),
                "unfinished": unfinished,
                "steps_mean": float(np.mean(steps)),
                "steps_max": int(np.max(steps)),
                "rejected_fraction": float(np.sum(rejected) / np.sum(steps)),
                "drift_max": float(np.max(drift)),
                "wall_time_s": wall,
                "long_finished": int(np.sum(np.asarray(long.finished))),
                "long_steps_max": int(np.max(np.asarray(long.steps))),
                "long_pairs": len(rich_h0),
            }
        # the stalled start alone under Kvaerno5: rejections once converged
        fn = compiled("Kvaerno5", False)
        h0, y0, w0, eta_h, eta_y, dy2 = (v[2:3] for v in random_starts(STALLED_SEED))
        out, _ = solve(fn, PROPERTY_TIMES, h0, y0, w0, eta_h, eta_y, 1.0, dy2)
    study["stalled_start"] = {
        "h0": float(h0[0]),
        "y0": float(y0[0]),
        "w0": float(w0[0]),
        "eta_h": float(eta_h[0]),
        "eta_y": float(eta_y[0]),
        "dy2": float(dy2[0]),
        "dx2": 1.0,
        "t_end": float(PROPERTY_TIMES[-1]),
        "kvaerno_stopped_at": float(out.stopped_at[0]),
        "kvaerno_finished": bool(out.finished[0]),
    }
    study["roundoff_over_rtol"] = float(np.finfo(np.float64).eps / ds.RTOL)
    study["small_increment_cut"] = float(10.0 ** (2 - np.finfo(np.float64).precision))
    study["rtol"] = ds.RTOL
    study["max_steps"] = ds.MAX_STEPS
    return study


def _property() -> dict:
    """The conservation property on PROPERTY_SEEDS x 4 starts through ds.solve_pairs (which
    raises on any unfinished solve)."""
    from springblock.numerics.dynamics import solve as ds

    drift = []
    for seed in PROPERTY_SEEDS:
        h0, y0, w0, eta_h, eta_y, dy2 = random_starts(seed)
        tr = ds.solve_pairs(PROPERTY_TIMES, h0, y0, w0, eta_h, eta_y, 1.0, dy2)
        drift += _drift(tr.conserved, tr.h, h0, y0, eta_h, eta_y).tolist()
    return {"examples": len(PROPERTY_SEEDS), "pairs": len(drift), "drift_max": max(drift)}


def _checks() -> dict:
    """The measured values behind the tests of tests/dynamics/test_dynamics_theory.py."""
    from scipy import integrate

    from springblock.numerics.dynamics import solve as ds

    out: dict = {}
    h0 = np.array([1e-4, 0.05, 5.0, 40.0])
    y0 = np.array([1e-8, 1e-3, 3.0, 10.0])
    w0 = y0 - np.array([0.9, 0.5, 0.2, 0.8]) * np.sqrt(y0 * 0.5)
    rates = (0.02, 0.05, 1.0, 0.5)
    tr = ds.solve_pairs(np.geomspace(1, 1e6, 40), h0, y0, w0, *rates)
    out["long_time"] = float(np.abs(tr.h[:, -1] / ds.final_distance(h0, y0, *rates) - 1).max())
    rich = np.array([1e-7, 1e-6, 1e-5, 1e-4])
    w_rich = np.array([0.0, -1e-4, 1e-5, -1e-3]) * rich
    tr = ds.solve_pairs(np.geomspace(1, 1e8, 40), rich, rich**2, w_rich, 0.01, 0.04, 2.0, 0.5)
    out["rich_limit"] = float(np.abs(tr.h[:, -1] / np.sqrt(0.01 / 0.04 * 2.0 * 0.5) - 1).max())
    times = np.linspace(0, 3000, 101)
    h0, y0, w0 = np.array([0.05, 0.3, 1.0, 2.0]), np.array([0.01, 0.02, 0.1, 0.2]), -0.05
    tr = ds.solve_pairs(times[1:], h0, y0, w0, 3e-3, 1e-3, 1.0, np.array([0.5, 1.5, 1, 1]))
    h, y, w = (np.concatenate([[s], v[0]]) for s, v in ((h0[0], tr.h), (y0[0], tr.y), (w0, tr.w)))
    started = time.perf_counter()
    fit = ds.fit_rates(times, h, y, w, 1.0, 0.5)
    out["fit_first_call_s"] = time.perf_counter() - started
    out["fit_rates"] = max(abs(fit.eta_h / 3e-3 - 1), abs(fit.eta_y / 1e-3 - 1))
    out["fit_loss"] = fit.loss
    out["control_loss"] = min(
        ds.fit_rates(times, h, y, w, 1.0, 0.5, perturbation=name).loss
        for name in ("decoder", "encoder")
    )
    s, u0, tau = np.array([3.0, 1.0]), 1e-2, 2.0
    grid = np.linspace(0, 40, 81)
    ode2 = ds.deep_linear(grid, s, u0, tau, 2, method="ode")
    out["deep_linear_closed"] = float(np.abs(ode2 / ds.deep_linear(grid, s, u0, tau, 2) - 1).max())
    ode3 = ds.deep_linear(grid, s, u0, tau, 3, method="ode")
    worst = 0.0
    for mode, sv in enumerate(s):
        for index in (10, 30, 60):
            u = ode3[mode, index]
            if u > 0.999 * sv:
                continue
            elapsed, _ = integrate.quad(
                lambda v, sv=sv: tau / (3 * v ** (4 / 3) * (sv - v)),
                u0,
                u,
                epsabs=0,
                epsrel=1e-10,
                limit=200,
            )
            worst = max(worst, abs(elapsed / grid[index] - 1))
    out["deep_linear_quadrature"] = worst
    return out


def _timings() -> dict:
    """Training and fitting one rich two-point net once compiled (best of 3)."""
    from springblock.numerics.dynamics import solve as ds
    from springblock.validation.dynamics import config as cf
    from springblock.validation.dynamics import train as dt

    task = cf.TwoPointTask()
    net = task.nets[0]
    inputs, targets = task.points()

    def train():
        return dt.train_pairs(net, inputs, targets, seed=task.seed, records=task.samples)

    run = train()
    args = (run.times, run.h, run.y, run.w, run.dx2, run.dy2)
    ds.fit_rates(*args)

    def best(fn) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times)

    return {
        "train_s": best(train),
        "fit_s": best(lambda: ds.fit_rates(*args)),
        "steps": net.steps,
        "load_average": os.getloadavg()[0],
    }


#: The README's example call of the closed-form final distance (h0, y0, eta_h, eta_y, dx2, dy2).
PYTHON_API_ARGS = "0.01, 1e-4, 0.3, 1.0, 1.0, 0.5"


def _python_api() -> dict:
    import ast

    from springblock.numerics.dynamics import solve as ds

    h0, y0, eta_h, eta_y, dx2, dy2 = ast.literal_eval(PYTHON_API_ARGS)
    return {
        "args": PYTHON_API_ARGS,
        "value": float(ds.final_distance(h0, y0, eta_h, eta_y, dx2, dy2)[0]),
        "rich_limit": math.sqrt(eta_h / eta_y * dx2 * dy2),
        "rich_limit_text": f"sqrt({eta_h / eta_y:g} * {dx2 * dy2:g})",
    }


def run(img: Path) -> dict:
    from springblock import results

    started = time.perf_counter()
    out: dict = {"checks": _checks(), "python_api": _python_api()}
    out["commands"] = _command_results(img)
    out["timings"] = _timings()
    out["property"] = _property()
    out["solver"] = _solver_study()
    out["cpu_count"] = os.cpu_count()
    out["compute_s"] = time.perf_counter() - started
    return results.to_jsonable(out)


# --------------------------------------------------------------------------- rendering


def sig(x: float | None, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits, scientific notation when small or large."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e5:
        mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{x:.{digits}g}"


def pct(x: float, digits: int = 1, signed: bool = True) -> str:
    text = f"{100 * x:+.{digits}f}%" if signed else f"{100 * abs(x):.{digits}f}%"
    return text.replace("-", "−")


def ratio(x: float) -> str:
    return f"{x:.1f}×" if x < 10 else f"{x:.0f}×"


def _runs(r: dict, key: str) -> list[dict]:
    return r["commands"][key]["runs"]


def _by_regime(r: dict, key: str) -> dict[str, dict]:
    return {run["regime"]: run for run in _runs(r, key)}


def _rate(run: dict, name: str) -> str:
    """A fitted rate; one below 1e-9 of the other rate is the fit running it to 0."""
    other = run["eta_y" if name == "eta_h" else "eta_h"]
    value = run[name]
    return f"→ 0 ({sig(value, 2)})" if value < 1e-9 * other else sig(value)


def _control(run: dict, name: str) -> str:
    c = run["controls"][name]
    return f"{sig(c['fit_loss'], 2)} ({ratio(c['over_theory'])})"


def block_commands(r: dict) -> str:
    lines = ["```"]
    for name in COMMANDS:
        lines.append(f"{r['commands'][name]['command']} --out DIR")
    lines.append("```")
    return "\n".join(lines)


def block_checks(r: dict) -> str:
    c, p = r["checks"], r["property"]
    rows = [
        (
            f"C along solutions of {p['pairs']} random pairs ({p['examples']} draws of the "
            "property test's generator, t up to 2e4)",
            f"drift ≤ {sig(p['drift_max'], 2)} × its scale",
            "a wrong right-hand side drifts at O(1)",
        ),
        (
            "h at t = 1e6 vs the closed-form h_∞ (rich, intermediate, lazy starts)",
            f"relative error {sig(c['long_time'], 2)}",
            "closed form",
        ),
        (
            "rich starts h₀ = 1e-7 … 1e-4, t = 1e8, vs √(r Δx² Δy²)",
            f"relative deviation {sig(c['rich_limit'], 2)}",
            "rich limit (A → 0)",
        ),
        (
            "fit of a trajectory generated with (η_h, η_y) = (3e-3, 1e-3)",
            f"rates to {sig(c['fit_rates'], 2)}, loss {sig(c['fit_loss'], 2)}",
            f"the controls' loss ≥ {sig(c['control_loss'], 2)}",
        ),
        (
            "deep-linear ODE (D = 2) vs the logistic closed form",
            f"relative error {sig(c['deep_linear_closed'], 2)}",
            "closed form",
        ),
        (
            "deep-linear ODE (D = 3) vs t(u) = ∫ τ du / f(u)",
            f"relative error {sig(c['deep_linear_quadrature'], 2)}",
            "scipy quadrature",
        ),
    ]
    lines = ["| check | measured | independent reference |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {d} |" for a, b, d in rows]
    return "\n".join(lines)


def _require(condition: bool, claim: str) -> None:
    """The prose states ``claim``; a regenerated result that contradicts it stops the job."""
    if not condition:
        raise AssertionError(f"docs/dynamics.md claims {claim!r}, the new result does not")


def block_solver(r: dict) -> str:
    s = r["solver"]
    st = s["stalled_start"]
    for label in ("Kvaerno5 + event", "Tsit5 + event"):
        row = s[label]
        _require(
            not row["unfinished"] and row["long_finished"] == row["long_pairs"],
            f"{label} finishes every solve",
        )
    _require(
        s["Tsit5"]["long_finished"] < s["Tsit5"]["long_pairs"],
        "Tsit5 without the event runs out of steps on long horizons",
    )
    stall = next(
        (u for u in s["Kvaerno5"]["unfinished"] if u["seed"] == STALLED_SEED and u["start"] == 2),
        None,
    )
    chosen, kv_event = s[CHOSEN], s["Kvaerno5 + event"]
    lines = [
        "| solver | unfinished pairs (t to 2e4) | steps per pair: mean, max | rejected steps "
        "| largest C drift (× scale) | time | rich starts to t = 1e8: finished |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in SOLVERS:
        row = s[label]
        lines.append(
            f"| {label}{' (used)' if label == CHOSEN else ''} | {len(row['unfinished'])} of "
            f"{row['pairs']} | {row['steps_mean']:.0f}, {row['steps_max']} | "
            f"{pct(row['rejected_fraction'], 0, signed=False)} | {sig(row['drift_max'], 2)} | "
            f"{row['wall_time_s']:.0f} s | {row['long_finished']} of {row['long_pairs']} "
            f"(≤ {row['long_steps_max']} steps) |"
        )
    table = "\n".join(lines)
    where = (
        f"it stopped at t = {stall['stopped_at']:.0f} of {st['t_end']:.0f}"
        if stall
        else "it finished this time"
    )
    text = (
        f"Once a pair has converged nothing moves, yet a solver must keep stepping to the last "
        f"save time. The implicit Kvaerno5 used before did this badly: at a converged state its "
        f"chord (Newton) increments are pure round-off, about eps/rtol = "
        f"{sig(s['roundoff_over_rtol'], 1)} in the root finder's scaled norm (its "
        f'"negligible" cut is {sig(s["small_increment_cut"], 1)}), so the convergence-rate '
        f"test reads noise and rejects steps at random. An unlucky run of rejections shrinks "
        f"the step below the "
        f"resolution of t and the step budget runs out: for the start h₀ = {st['h0']:.3g}, "
        f"y₀ = {st['y0']:.3g}, w₀ = {st['w0']:.3g}, η_h = {st['eta_h']:.3g}, η_y = "
        f"{st['eta_y']:.3g}, Δx² = 1, Δy² = {st['dy2']:.4g} (hypothesis seed {STALLED_SEED}) "
        f"{where}, and the old solver returned inf there. The explicit Tsit5 has no Newton "
        f"iteration, but at the fixed point its step is held to the stability limit (stiffness "
        f"after convergence) and runs out of its {STUDY_MAX_STEPS:,} steps on long horizons. "
        f"Both are cured by an event that ends the solve at the first step within the solver "
        f"tolerance (rtol {sig(s['rtol'], 1)}) of the fixed point (h_∞(C), Δy², 0) of the "
        f"state's own conserved C, after which that fixed point is held: the exact flow tends "
        f"to it (C is conserved and the fixed point is linearly stable), so holding it is exact "
        f"to the tolerance. The event tests the distance to the fixed point, not a small "
        f"right-hand side, which would fire on the slow plateau of a rich start. With it, "
        f"Tsit5 needs {chosen['steps_mean']:.0f} steps per pair on average (Kvaerno5 "
        f"{kv_event['steps_mean']:.0f}), keeps C to {sig(chosen['drift_max'], 1)} of its scale "
        f"(Kvaerno5 {sig(kv_event['drift_max'], 1)}) and runs the study "
        f"{kv_event['wall_time_s'] / chosen['wall_time_s']:.0f}× faster (compilation "
        f"included), so the library uses "
        f"Tsit5 with the event (budget {s['max_steps']:,} steps). A solve that still does not "
        f"finish (step budget, non-finite values) raises `UnfinishedSolve` naming the pair's "
        f"parameters; nothing unfinished is returned. The study (4 starts per draw of the "
        f"property test's generator, {len(STUDY_SEEDS)} draws and seed {STALLED_SEED}):"
    )
    return wrap(text) + "\n\n" + table


def block_setup(r: dict) -> str:
    tp, xo = r["commands"]["two_point"]["config"], r["commands"]["xor"]["config"]
    gains = ", ".join(f"g = {run['gain']:g} {run['regime']}" for run in _runs(r, "two_point"))
    every = tp["steps"] / tp["samples"]
    every_xor = xo["steps"] / xo["samples"]
    rich = _by_regime(r, "two_point")["rich"]["pairs"][0]
    text = (
        f"MLPs as in the authors' code: {tp['hidden_layers']} hidden layers of width "
        f"{tp['width']} ({xo['hidden_layers']} for XOR), Xavier-normal weights with gain g, "
        f"zero biases, {ACTIVATIONS[tp['nonlinearity']]}, full-batch gradient "
        f"descent on ½ MSE. The gain sets the regime: {gains} (the signal shrinks with depth "
        f"at small gains: h₀ = {sig(rich['h0'] / rich['dx2'], 2)} Δx² in the rich run). h, y "
        f"and w are measured {tp['samples']} times per run (every {every:g} steps; every "
        f"{every_xor:g} for XOR's {xo['steps']} steps) at hidden layer {tp['tracked_layer']} "
        f"({xo['tracked_layer']} for XOR), and every measurement enters the fit."
    )
    return wrap(text)


ACTIVATIONS = {"leaky_relu": "leaky ReLU (slope 0.01)", "tanh": "tanh", "linear": "linear"}


def block_two_point_table(r: dict) -> str:
    lines = [
        "| gain (regime) | η_h | η_y | fit loss | decoder control | encoder control "
        "| final h measured | closed form |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in _runs(r, "two_point"):
        p = run["pairs"][0]
        lines.append(
            f"| {run['gain']:g} ({run['regime']}) | {_rate(run, 'eta_h')} | "
            f"{_rate(run, 'eta_y')} | {sig(run['fit_loss'], 2)} | {_control(run, 'decoder')} | "
            f"{_control(run, 'encoder')} | {sig(p['h_final_measured'], 4)} | "
            f"{sig(p['h_final_predicted'], 4)} ({pct(p['relative_error'])}) |"
        )
    return "\n".join(lines)


def block_two_point_text(r: dict) -> str:
    runs = _by_regime(r, "two_point")
    rich, lazy = runs["rich"], runs["lazy"]
    rp, lp = rich["pairs"][0], lazy["pairs"][0]
    decoder = [run["controls"]["decoder"]["over_theory"] for run in runs.values()]
    encoder_tells = [
        name for name, run in runs.items() if run["controls"]["encoder"]["over_theory"] > 1.5
    ]
    lazy_move = lp["h_final_measured"] / lp["h0"] - 1
    eta_h_zero = lazy["eta_h"] < 1e-9 * lazy["eta_y"]
    text = (
        f"The rich net ends at h = {sig(rp['h_final_measured'], 3)} from h₀ = "
        f"{sig(rp['h0'], 2)}, against the initialisation-free limit √(r Δx² Δy²) = "
        f"{sig(rp['rich_limit'], 3)} of its fitted rates: it learned a representation whose "
        f"scale is set by the task, not by the start. The lazy net's h moves by "
        f"{pct(lazy_move)}, and the equations cannot follow it: "
        + (
            "the fit sends η_h to 0 (Levenberg–Marquardt walks log η_h down until it "
            "converges), i.e. the best the pair equations can do is to freeze h, and the "
            "closed form keeps h₀."
            if eta_h_zero
            else f"with η_h = {sig(lazy['eta_h'])} the closed form stays near h₀."
        )
        + f" The decoder control fits {ratio(min(decoder))}–{ratio(max(decoder))} worse; the "
        "encoder control is distinguishable (more than 1.5× worse) only in the "
        + (" and ".join(encoder_tells) or "no")
        + " regime"
        + ("s" if len(encoder_tells) > 1 else "")
        + ", where the η_h term of dw/dt matters (when η_h Δx²/h is small, dropping it "
        "changes nothing)."
    )
    return wrap(text)


def block_two_point_rates(r: dict) -> str:
    lrs = ", ".join(f"{run['lr']:.2g}" for run in _runs(r, "two_point"))
    return wrap(
        "*Tests* (`tests/dynamics/test_dynamics_train.py`, each tolerance stated there): the "
        "same architecture and gains with hand-set learning rates (the commands' defaults "
        f"are {lrs}, from `default_lr`), so the fitted per-step rates differ from the table. "
        "They check that the fit follows every regime, that the closed-form final distance "
        "matches the net, that the decoder control fits worse, that only the rich run is "
        "near the initialisation-free limit, and that two rich gains end at the same "
        "distance."
    )


def block_xor_table(r: dict) -> str:
    lines = [
        "| gain (regime) | fit loss | decoder / encoder control | pairs with Δy² = 1: "
        "measured / predicted | same-target pairs: measured / predicted |",
        "|---|---|---|---|---|",
    ]
    for run in _runs(r, "xor"):

        def cells(same: bool, run: dict = run) -> str:
            return ", ".join(
                f"{sig(p['h_final_measured'], 3)}/{sig(p['h_final_predicted'], 3)}"
                for p in run["pairs"]
                if (p["dy2"] == 0) == same
            )

        c = run["controls"]
        lines.append(
            f"| {run['gain']:g} ({run['regime']}) | {sig(run['fit_loss'], 2)} | "
            f"{sig(c['decoder']['fit_loss'], 2)} / {sig(c['encoder']['fit_loss'], 2)} | "
            f"{cells(False)} | {cells(True)} |"
        )
    return "\n".join(lines)


def block_xor_text(r: dict) -> str:
    runs = _by_regime(r, "xor")
    rich = runs["rich"]
    different = [p["h_final_measured"] for p in rich["pairs"] if p["dy2"] > 0]
    same = [p["h_final_measured"] for p in rich["pairs"] if p["dy2"] == 0]
    spread = (max(different) - min(different)) / np.mean(different)
    merged = max(same) / np.mean(different)
    two_point_rich = _by_regime(r, "two_point")["rich"]["fit_loss"]
    better = [
        f"the {name} control in the {regime} regime ({sig(run['controls'][name]['fit_loss'], 2)} "
        f"vs {sig(run['fit_loss'], 2)})"
        for regime, run in runs.items()
        for name in run["controls"]
        if run["controls"][name]["over_theory"] < 1
    ]
    text = (
        f"In the rich regime the theory gets the structure right: the four different-target "
        f"pairs end at the same distance (within {pct(spread, 0, False)}) and the same-target "
        f"pairs merge to {pct(merged, 0, False)} of it or less. The pair equations treat each "
        f"pair on its own, while XOR's four points share the weights: the rich fit loss is "
        f"{ratio(rich['fit_loss'] / two_point_rich)} the two-point one"
        + (
            ", and a negative control fits better than the theory: "
            + "; ".join(better)
            + ". On XOR the controls therefore do not single out the van Rossem–Saxe w "
            "equation; only the predicted final distances do."
            if better
            else ", yet every control still fits worse than the theory."
        )
    )
    return wrap(text)


def block_mnist_table(r: dict) -> str:
    lines = [
        "| pair | gain (regime) | fit loss | decoder / encoder control "
        "| final h measured / closed form |",
        "|---|---|---|---|---|",
    ]
    for key, label in (
        ("mnist1d_pair", "different classes"),
        ("mnist1d_same_class", "same class"),
    ):
        for i, run in enumerate(_runs(r, key)):
            p = run["pairs"][0]
            loss = sig(run["fit_loss"], 2)
            if not run["refined"]:
                loss = f"**{loss} (no converged fit)**"
            c = run["controls"]
            first = f"{label} (Δy² = {p['dy2']:g})" if i == 0 else ""
            lines.append(
                f"| {first} | {run['gain']:g} ({run['regime']}) | {loss} | "
                f"{sig(c['decoder']['fit_loss'], 2)} / {sig(c['encoder']['fit_loss'], 2)} | "
                f"{sig(p['h_final_measured'], 4)} / {sig(p['h_final_predicted'], 4)} "
                f"({pct(p['relative_error'])}) |"
            )
    return "\n".join(lines)


def block_mnist_text(r: dict) -> str:
    pair = r["commands"]["mnist1d_pair"]["runs"][0]["pairs"][0]
    path = r["commands"]["mnist1d_same_class"]["rich_path"]
    rich = _by_regime(r, "mnist1d_same_class")["rich"]
    grows = path["h_peak"] > path["h0"]
    text = (
        f"Δx² = {pair['dx2']:.3g} for these two samples, one-hot targets. **Where the theory "
        f"fails.** For the rich same-class pair, h first "
        + (
            f"*grows* from {sig(path['h0'], 3)} to {sig(path['h_peak'], 3)} (step "
            f"{path['peak_step']:.0f})"
            + (" while w > 0" if path["w_positive_while_growing"] else "")
            + f" and then shrinks to {sig(path['h_final'], 3)}: "
            if grows
            else f"moves from {sig(path['h0'], 3)} to {sig(path['h_final'], 3)}: "
        )
        + "the equations force dh/dt = −η_h Δx² w < 0 whenever w > 0, so no rates fit"
        + (
            " (Levenberg–Marquardt runs both rates towards 0, 'nothing moves', without "
            f"converging; the table shows the best grid point, loss {sig(rich['fit_loss'], 2)})."
            if not rich["refined"]
            else f" well (loss {sig(rich['fit_loss'], 2)})."
        )
        + " With equal targets the pair's difference is not what drives the representation: "
        "the shared output is learned first and moves both representations together. The "
        "theory covers pairs whose output difference is what training changes."
    )
    return wrap(text)


def block_linear(r: dict) -> str:
    d2, d3 = r["commands"]["linear"], r["commands"]["linear_depth3"]
    cfg = d2["config"]
    s = ", ".join(f"{v:g}" for v in cfg["singular_values"])
    s_max = max(cfg["singular_values"])
    measured = [m["half_time_measured"] for m in d2["modes"]]
    closed = [m["half_time_closed_form"] for m in d2["modes"]]
    lags = [(a - b) / cfg["lr"] for a, b in zip(measured, closed, strict=True)]
    reached3 = [m for m in d3["modes"] if m["half_time_measured"] is not None]
    text = (
        f"and diffrax for D > 2. Gradient descent is the Euler discretisation of this flow, so "
        f"the gap is O(lr): `{d2['command']}` (s = {s}, u₀ = {cfg['u0']:g}, lr = {cfg['lr']:g}, "
        f"{cfg['steps']} steps) measures a largest gap of {sig(d2['max_abs_error'], 2)} "
        f"(D = 2) and {sig(d3['max_abs_error'], 2)} (D = 3), i.e. "
        f"{pct(d2['max_abs_error'] / s_max, 1, False)} and "
        f"{pct(d3['max_abs_error'] / s_max, 1, False)} of s = {s_max:g}. The time to reach s/2 "
        f"(interpolated between the {cfg['records']} records) is "
        + ", ".join(f"{v:.3f}" for v in measured)
        + " against the closed form's "
        + ", ".join(f"{v:.3f}" for v in closed)
        + f": the discrete steps lag by {min(lags):.1f}–{max(lags):.1f} steps. At D = 3, "
        f"{len(reached3)} of the {len(d3['modes'])} modes reach s/2 within the run (the "
        f"deeper the net, the longer the plateau from a small start), at "
        + ", ".join(f"{m['half_time_measured']:.3f}" for m in reached3)
        + " against the ODE's "
        + ", ".join(f"{m['half_time_theory']:.3f}" for m in reached3)
        + ". *Test:* halving lr halves the gap (first-order convergence) for D = 2 and 3 "
        "(`tests/dynamics/test_dynamics_train.py`)."
    )
    return wrap(text)


def block_performance(r: dict) -> str:
    t, c = r["timings"], r["checks"]
    return wrap(
        f"A fit of (η_h, η_y) to one two-point run takes {t['fit_s']:.2f} s once compiled "
        f"(the first call, compiling the vmapped diffrax grid and the Levenberg–Marquardt "
        f"refinement, took {c['fit_first_call_s']:.0f} s); training one net for "
        f"{t['steps']} steps takes {t['train_s']:.2f} s once compiled ({r['cpu_count']} CPU "
        f"cores, load average {t['load_average']:.1f} when measured)."
    )


def block_readme(r: dict) -> str:
    runs = _by_regime(r, "two_point")
    rich = abs(runs["rich"]["pairs"][0]["relative_error"])
    lazy = abs(runs["lazy"]["pairs"][0]["relative_error"])
    return (
        "- **Representation dynamics** (van Rossem & Saxe; Saxe, McClelland & Ganguli): pair\n"
        "  equations with their conserved quantity and final distance, fitted to trained nets on\n"
        "  two points, XOR and MNIST-1D pairs; deep linear nets "
        "([docs/dynamics.md](docs/dynamics.md)).\n"
        f"  Two-point task: final representation distance predicted within {pct(rich, 1, False)}"
        f" (rich) to {pct(lazy, 1, False)} (lazy)."
    )


def block_python_api(r: dict) -> str:
    api = r["python_api"]
    return (
        "```python\n"
        "from springblock.numerics.dynamics import solve as ds\n\n"
        "# final representation distance of a pair: h0, y0, eta_h, eta_y, dx2, dy2\n"
        f"print(ds.final_distance({api['args']}))  # [{api['value']:.3f}]: small h0, so near\n"
        f"# the rich limit {api['rich_limit_text']} = {api['rich_limit']:.3f}\n"
        "```"
    )


def wrap(text: str, width: int = 90) -> str:
    import textwrap

    return textwrap.fill(text, width=width, break_long_words=False, break_on_hyphens=False)


BLOCKS = {
    "commands": block_commands,
    "checks": block_checks,
    "solver": block_solver,
    "setup": block_setup,
    "two_point_table": block_two_point_table,
    "two_point_text": block_two_point_text,
    "two_point_tests": block_two_point_rates,
    "xor_table": block_xor_table,
    "xor_text": block_xor_text,
    "mnist_table": block_mnist_table,
    "mnist_text": block_mnist_text,
    "linear": block_linear,
    "performance": block_performance,
    "readme": block_readme,
    "python_api": block_python_api,
}
