"""One ensemble run of model (a) or (b), summarised, labelled and drawn.

:func:`run` simulates a :class:`springblock.params.Simulation` (every noise realisation in
one compiled call: :mod:`~springblock.numerics.spring.overdamped` or
:mod:`~springblock.numerics.spring.underdamped`), measures the load-curve statistics of
every frame (:mod:`~springblock.numerics.spring.statistics`) and, for model (a), adds the
closed-form prediction of :func:`springblock.theory.spring.phases.predict` (relaxation-time
interpolation) for comparison.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from springblock.params import Overdamped, Simulation


@dataclass(frozen=True)
class Ensemble:
    """Frames of every realisation and their statistics; ``theory`` for model (a) only."""

    simulation: Simulation
    times: np.ndarray  # (saves,)
    positions: np.ndarray  # (seed, saves, block)
    load_curve: np.ndarray  # (seed, saves, layer = 0..L)
    elongations: np.ndarray  # (seed, saves, elongation = 1..L+1)
    spread: np.ndarray  # (seed, saves)
    curvature: np.ndarray  # (seed, saves)
    theory: dict | None
    wall_time_s: float


def run(sim: Simulation) -> Ensemble:
    """Simulate ``sim`` from rest and measure every saved frame."""
    from springblock.numerics.spring import overdamped, statistics, underdamped
    from springblock.theory.spring import phases

    model = sim.model
    chain, friction = model.chain, model.friction
    assert friction.left is not None  # Friction.__post_init__ fills it in
    started = time.perf_counter()
    theory = None
    trajectories: overdamped.Trajectories | underdamped.Trajectories
    if isinstance(model, Overdamped):
        trajectories = overdamped.simulate(
            chain.blocks,
            stiffness=chain.stiffness,
            target=chain.target,
            mu_right=friction.right,
            mu_left=friction.left,
            noise=model.noise,
            dt=model.dt,
            steps=model.steps,
            seeds=sim.seeds,
            shared_noise=model.shared_noise,
            saves=sim.saves,
            key=sim.seed,
        )
        prediction = phases.predict(
            chain.blocks,
            chain.stiffness,
            friction.right,
            friction.left,
            model.noise,
            model.duration,
            chain.target,
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
        trajectories = underdamped.simulate(
            model, sim.seeds, method=sim.method, saves=sim.saves, key=sim.seed
        )
    stats = statistics.load_statistics(trajectories.positions, chain.target)
    return Ensemble(
        sim,
        np.asarray(trajectories.times),
        np.asarray(trajectories.positions),
        np.asarray(stats.load_curve),
        np.asarray(stats.elongations),
        np.asarray(stats.spread),
        np.asarray(stats.curvature),
        theory,
        time.perf_counter() - started,
    )


def _sem(samples: np.ndarray):
    """Standard error over the first (seed) axis; None for one seed."""
    if samples.shape[0] < 2:
        return None
    return samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])


def summary(ens: Ensemble) -> dict:
    """The JSON summary of the final frame: mean load curve, v and c with standard errors
    over seeds (null for one seed, with ``sem_note``), per-seed values, the theory."""
    sim = ens.simulation
    load = ens.load_curve[:, -1]
    spread, curvature = ens.spread[:, -1], ens.curvature[:, -1]
    elongations = ens.elongations[:, -1]
    payload = {
        "variant": sim.variant,
        "config": sim.model,
        "seeds": sim.seeds,
        "seed": sim.seed,
        "load_curve": load.mean(axis=0),
        "load_curve_sem": _sem(load),
        "elongations": elongations.mean(axis=0),
        "spread": float(spread.mean()),
        "spread_sem": _sem(spread),
        "curvature": float(curvature.mean()),
        "curvature_sem": _sem(curvature),
        "per_seed": {"spread": spread, "curvature": curvature},
        "theory": ens.theory,
        "wall_time_s": ens.wall_time_s,
    }
    if sim.seeds < 2:
        payload["sem_note"] = "one seed: no standard errors"
    if sim.variant == "underdamped":
        payload["method"] = sim.method
    return payload


def to_dataset(ens: Ensemble):
    """Labelled arrays: positions (seed, time, block), load curve (seed, time, layer), v and
    c (seed, time)."""
    import xarray as xr

    from springblock import results

    sim = ens.simulation
    return xr.Dataset(
        {
            "positions": (("seed", "time", "block"), ens.positions),
            "load_curve": (("seed", "time", "layer"), ens.load_curve, {"long_name": "y - x_l"}),
            "spread": (("seed", "time"), ens.spread),
            "curvature": (("seed", "time"), ens.curvature),
        },
        coords={
            "seed": np.arange(sim.seeds),
            "time": ens.times,
            "block": np.arange(1, sim.model.chain.blocks + 1),
            "layer": np.arange(sim.model.chain.blocks + 1),
        },
        attrs=results.provenance_attrs(f"simulate-{sim.variant}", sim),
    )


def save(ens: Ensemble, out: Path) -> list[str]:
    """Write ``out/results.nc``, ``out/results.json`` and the figures; return the figures."""
    from springblock import results
    from springblock.numerics.spring import plots
    from springblock.plotting import save as save_figure

    payload = summary(ens)
    target = ens.simulation.model.chain.target
    final = ens.load_curve[:, -1]
    curves = {"simulation (mean)": final.mean(axis=0)}
    sem = _sem(final)
    errors = {"simulation (mean)": np.zeros(final.shape[-1]) if sem is None else sem}
    if ens.theory:
        d = np.array(ens.theory["elongations"])
        curves["theory"] = target - np.concatenate([[0.0], np.cumsum(d)[:-1]])
    variant = ens.simulation.variant
    paths = save_figure(
        plots.load_curves_figure(curves, f"{variant}: final load curve", errors), out, "load_curve"
    )
    paths += save_figure(
        plots.trajectories_figure(ens.times, ens.load_curve.mean(axis=0), "mean over seeds"),
        out,
        "trajectories",
    )
    results.write_results(out, payload | {"figures": paths}, to_dataset(ens))
    return paths
