"""Phase diagram of model (a) over a (friction, noise) grid, simulated and predicted.

For every friction mu_R (rows; mu_L = asymmetry * mu_R) and noise eps_bar (columns) the
chain is run from rest for ``steps`` steps of size ``dt`` and ``seeds`` noise realisations
(:mod:`springblock.numerics.spring.overdamped`); the mean curvature c of the final load curve
classifies the cell as concave (c < -tol), linear or convex (c > tol), the definitions of
:mod:`springblock.theory.spring.phases` (Shi, Pan & Dokmanic 2025, reference sections 1, 4).

Three predictions are laid over the simulated grid:

* closed-form boundaries, sigma_b(mu) of :func:`springblock.theory.spring.phases.boundary_noise`
  (relaxation-time interpolation);
* mean-field boundaries: the noise at which the curvature of the mean-field flow
  (:mod:`springblock.numerics.spring.flows`, the eta -> 0 limit of the map) crosses -tol and +tol,
  found on a fine noise grid by linear interpolation in log(noise);
* the noiseless lazy/active threshold mu_R = 2yk / (L(L+1)) above which shallow blocks
  never move (:func:`springblock.theory.spring.equilibrium.lazy_threshold`).

Rows are simulated one compiled call at a time and written to ``checkpoint`` as they
finish, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from springblock.params import ParameterError, check_int, check_real
from springblock.theory.spring import equilibrium, phases


@dataclass(frozen=True)
class PhaseDiagramSpec:
    """Grid and model settings of a phase-diagram sweep (validated on construction)."""

    blocks: int = 7
    stiffness: float = 1.0
    target: float = 1.0
    asymmetry: float = 4 / 3  # mu_L / mu_R, the ratio of the authors' underdamped notebook
    mu_min: float = 0.005
    mu_max: float = 0.2
    mu_points: int = 20
    noise_min: float = 0.005
    noise_max: float = 0.5
    noise_points: int = 20
    dt: float = 0.01
    steps: int = 10_000
    seeds: int = 16
    tolerance: float = 0.05
    shared_noise: bool = False
    key: int = 0
    mean_field_points: int = 64

    def __post_init__(self):
        check_int("blocks", self.blocks, 1, 1000)
        check_real("stiffness", self.stiffness, minimum=0.0, strict=True)
        check_real("target", self.target, minimum=0.0, strict=True)
        check_real("asymmetry", self.asymmetry, minimum=0.0)
        check_real("mu_min", self.mu_min, minimum=0.0)
        check_real("mu_max", self.mu_max, minimum=0.0, strict=True)
        if self.mu_max <= self.mu_min:
            raise ParameterError("mu_max", self.mu_max, f"> mu_min = {self.mu_min:g}")
        check_int("mu_points", self.mu_points, 2, 1000)
        check_real("noise_min", self.noise_min, minimum=0.0, strict=True)
        check_real("noise_max", self.noise_max, minimum=0.0, strict=True)
        if self.noise_max <= self.noise_min:
            raise ParameterError("noise_max", self.noise_max, f"> noise_min = {self.noise_min:g}")
        check_int("noise_points", self.noise_points, 2, 1000)
        check_real("dt", self.dt, minimum=0.0, strict=True)
        check_int("steps", self.steps, 1, 100_000_000)
        check_int("seeds", self.seeds, 1, 100_000)
        check_real("tolerance", self.tolerance, minimum=0.0, strict=True)
        check_int("mean_field_points", self.mean_field_points, 2, 10_000)

    @property
    def mu(self) -> np.ndarray:
        return np.linspace(self.mu_min, self.mu_max, self.mu_points)

    @property
    def noise(self) -> np.ndarray:
        return np.geomspace(self.noise_min, self.noise_max, self.noise_points)

    @property
    def duration(self) -> float:
        return self.steps * self.dt

    def digest(self) -> str:
        """Content hash of the settings: names the checkpoint folder."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _save_atomic(path: Path, **arrays) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def simulate_rows(spec: PhaseDiagramSpec, checkpoint: Path | None = None, progress=None):
    """Final-load-curve statistics for every grid cell, row by row (resumable).

    Returns a dict of arrays with dims (mu, noise[, seed][, layer]).
    """
    from springblock.numerics.spring import overdamped, statistics

    rows = []
    if checkpoint is not None:
        checkpoint.mkdir(parents=True, exist_ok=True)
    for i, mu in enumerate(spec.mu):
        path = None if checkpoint is None else checkpoint / f"row_{i:04d}.npz"
        if path is not None and path.exists():
            with np.load(path) as data:
                rows.append({name: data[name] for name in data.files})
        else:
            run = overdamped.simulate(
                spec.blocks,
                stiffness=spec.stiffness,
                target=spec.target,
                mu_right=mu,
                mu_left=spec.asymmetry * mu,
                noise=spec.noise,
                dt=spec.dt,
                steps=spec.steps,
                seeds=spec.seeds,
                shared_noise=spec.shared_noise,
                saves=1,
                key=spec.key,
            )
            stats = statistics.load_statistics(run.positions[..., -1, :], spec.target)
            row = {
                "curvature": np.asarray(stats.curvature),  # (noise, seed)
                "spread": np.asarray(stats.spread),
                "load_curve": np.asarray(stats.load_curve).mean(axis=1),  # (noise, layer)
            }
            if path is not None:
                _save_atomic(path, **row)
            rows.append(row)
        if progress is not None:
            progress(i + 1, len(spec.mu))
    return {name: np.stack([r[name] for r in rows]) for name in rows[0]}


def mean_field_curvature(spec: PhaseDiagramSpec, noise: np.ndarray) -> np.ndarray:
    """Curvature of the mean-field flow at time T for every (mu, noise): (mu, noise)."""
    import jax.numpy as jnp

    from springblock.numerics.spring import flows, statistics

    mu = spec.mu[:, None]
    run = flows.solve(
        spec.blocks,
        stiffness=spec.stiffness,
        target=spec.target,
        mu_right=jnp.asarray(mu),
        mu_left=jnp.asarray(spec.asymmetry * mu),
        noise=jnp.asarray(noise[None, :]),
        duration=spec.duration,
        saves=1,
    )
    return np.asarray(statistics.load_statistics(run.positions[..., -1, :], spec.target).curvature)


def crossing(x: np.ndarray, y: np.ndarray, level: float) -> float:
    """First x where sampled y(x) crosses ``level``, by linear interpolation; NaN if none."""
    s = y - level
    for i in range(len(x) - 1):
        if s[i] == 0:
            return float(x[i])
        if s[i] * s[i + 1] < 0:
            return float(x[i] + (x[i + 1] - x[i]) * s[i] / (s[i] - s[i + 1]))
    return math.nan


@dataclass(frozen=True)
class PhaseDiagram:
    """Sweep results. Arrays are indexed (mu, noise); see :func:`to_json` for the dims."""

    spec: PhaseDiagramSpec
    curvature: np.ndarray  # (mu, noise) mean over seeds
    curvature_sem: np.ndarray
    spread: np.ndarray
    load_curve: np.ndarray  # (mu, noise, layer) mean over seeds
    phase: np.ndarray  # (mu, noise) int index into theory.phases.PHASES
    predicted_curvature: np.ndarray  # closed-form interpolation, (mu, noise)
    mean_field_noise: np.ndarray  # fine noise grid of the mean-field curves
    mean_field_curvature: np.ndarray  # (mu, mean_field_noise)
    boundary_mu: np.ndarray  # fine mu grid for the closed-form boundaries
    closed_form_boundaries: np.ndarray  # (2, boundary_mu): noise at c = -tol, +tol
    mean_field_boundaries: np.ndarray  # (2, mu)
    lazy_threshold: float

    def agreement(self) -> dict[str, float]:
        """Fraction of cells whose simulated phase equals each prediction's phase."""
        tol = self.spec.tolerance
        mf_on_grid = np.stack(
            [
                np.interp(np.log(self.spec.noise), np.log(self.mean_field_noise), row)
                for row in self.mean_field_curvature
            ]
        )
        return {
            "closed_form": float(
                np.mean(_phase_index(self.predicted_curvature, tol) == self.phase)
            ),
            "mean_field": float(np.mean(_phase_index(mf_on_grid, tol) == self.phase)),
        }

    def to_json(self) -> dict:
        counts = {name: int(np.sum(self.phase == i)) for i, name in enumerate(phases.PHASES)}
        return {
            "spec": dataclasses.asdict(self.spec),
            "dims": {
                "curvature": ["mu", "noise"],
                "load_curve": ["mu", "noise", "layer"],
                "mean_field_curvature": ["mu", "mean_field_noise"],
                "closed_form_boundaries": ["level", "boundary_mu"],
                "mean_field_boundaries": ["level", "mu"],
            },
            "phases": list(phases.PHASES),
            "mu": self.spec.mu.tolist(),
            "noise": self.spec.noise.tolist(),
            "curvature": self.curvature.tolist(),
            "curvature_sem": self.curvature_sem.tolist(),
            "spread": self.spread.tolist(),
            "phase": [[phases.PHASES[j] for j in row] for row in self.phase],
            "phase_counts": counts,
            "predicted_curvature": self.predicted_curvature.tolist(),
            "boundary_mu": self.boundary_mu.tolist(),
            "closed_form_boundaries": _nan_to_none(self.closed_form_boundaries),
            "mean_field_boundaries": _nan_to_none(self.mean_field_boundaries),
            "lazy_threshold": self.lazy_threshold,
            "agreement": self.agreement(),
        }

    def save_arrays(self, path: Path) -> None:
        arrays = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }
        _save_atomic(path, mu=self.spec.mu, noise=self.spec.noise, **arrays)


def _nan_to_none(a: np.ndarray):
    return [[None if math.isnan(v) else float(v) for v in row] for row in a]


def _phase_index(curvature: np.ndarray, tolerance: float) -> np.ndarray:
    return np.where(curvature < -tolerance, 0, np.where(curvature > tolerance, 2, 1))


def run(spec: PhaseDiagramSpec, checkpoint: Path | None = None, progress=None) -> PhaseDiagram:
    """Simulate the grid (resumable through ``checkpoint``) and compute the predictions."""
    sim = simulate_rows(spec, checkpoint, progress)
    curvature = sim["curvature"].mean(axis=-1)
    sem = (
        sim["curvature"].std(axis=-1, ddof=1) / math.sqrt(spec.seeds)
        if spec.seeds > 1
        else np.full_like(curvature, np.nan)
    )
    predicted = np.array(
        [
            [
                phases.predict(
                    spec.blocks,
                    spec.stiffness,
                    mu,
                    spec.asymmetry * mu,
                    s,
                    spec.duration,
                    spec.target,
                ).curvature
                for s in spec.noise
            ]
            for mu in spec.mu
        ]
    )
    mf_noise = np.geomspace(spec.noise_min, spec.noise_max, spec.mean_field_points)
    mf_curv = mean_field_curvature(spec, mf_noise)
    levels = (-spec.tolerance, spec.tolerance)
    # exp(NaN) is NaN: rows without a crossing stay NaN.
    mf_bounds = np.exp([[crossing(np.log(mf_noise), row, lv) for row in mf_curv] for lv in levels])
    boundary_mu = np.linspace(spec.mu_min, spec.mu_max, 200)
    closed = np.array(
        [
            [
                phases.boundary_noise(
                    lv,
                    spec.blocks,
                    spec.stiffness,
                    mu,
                    spec.asymmetry * mu,
                    spec.duration,
                    spec.target,
                )
                for mu in boundary_mu
            ]
            for lv in levels
        ]
    )
    lazy = float(equilibrium.lazy_threshold(spec.blocks, 1, spec.stiffness, spec.target))
    return PhaseDiagram(
        spec,
        curvature,
        sem,
        sim["spread"].mean(axis=-1),
        sim["load_curve"],
        _phase_index(curvature, spec.tolerance),
        predicted,
        mf_noise,
        mf_curv,
        boundary_mu,
        closed,
        mf_bounds,
        lazy,
    )
