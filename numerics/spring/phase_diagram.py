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
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from springblock import results
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
        check_int("key", self.key, 0, 2**31 - 1)
        cells = self.mu_points * self.noise_points * self.seeds
        if cells * self.blocks > 2e8:
            raise ParameterError(
                "seeds",
                self.seeds,
                f"small enough that mu_points x noise_points x seeds x blocks <= 2e8 "
                f"(here {cells * self.blocks:.3g})",
            )
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

    @property
    def tolerance(self) -> float:
        """Half-width of the linear band in c / y (the one tolerance of the three classes)."""
        return phases.LINEAR_TOLERANCE

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def simulate_rows(spec: PhaseDiagramSpec, checkpoint: Path | None = None, progress=None):
    """Final-load-curve statistics for every grid cell, row by row (resumable: each row is
    written atomically to ``checkpoint`` as it finishes and read back on a rerun).

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
                results.write_npz(path, **row)
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
    """Sweep results; :meth:`to_dataset` gives them as labelled arrays."""

    spec: PhaseDiagramSpec
    curvature_seeds: np.ndarray  # (mu, noise, seed)
    spread_seeds: np.ndarray  # (mu, noise, seed)
    load_curve: np.ndarray  # (mu, noise, layer) mean over seeds
    predicted_curvature: np.ndarray  # closed-form interpolation, (mu, noise)
    mean_field_noise: np.ndarray  # fine noise grid of the mean-field curves
    mean_field_curvature: np.ndarray  # (mu, mean_field_noise)
    boundary_mu: np.ndarray  # fine mu grid for the closed-form boundaries
    closed_form_boundaries: np.ndarray  # (2, boundary_mu): noise at c = -tol y, +tol y
    mean_field_boundaries: np.ndarray  # (2, mu)
    lazy_threshold: float

    @property
    def curvature(self) -> np.ndarray:
        """(mu, noise): mean over seeds."""
        return self.curvature_seeds.mean(axis=-1)

    @property
    def curvature_sem(self) -> np.ndarray:
        """(mu, noise): standard error over seeds (NaN for one seed)."""
        n = self.spec.seeds
        if n < 2:
            return np.full(self.curvature.shape, np.nan)
        return self.curvature_seeds.std(axis=-1, ddof=1) / math.sqrt(n)

    @property
    def spread(self) -> np.ndarray:
        return self.spread_seeds.mean(axis=-1)

    @property
    def phase(self) -> np.ndarray:
        """(mu, noise): index into :data:`phases.PHASES` of the mean curvature's class."""
        return _phase_index(self.curvature, self.spec)

    def agreement(self) -> dict[str, float]:
        """Fraction of cells whose simulated phase equals each prediction's phase, beside the
        fraction a trivial predictor gets (every cell in the most common simulated phase)."""
        mf_on_grid = np.stack(
            [
                np.interp(np.log(self.spec.noise), np.log(self.mean_field_noise), row)
                for row in self.mean_field_curvature
            ]
        )
        counts = np.bincount(self.phase.ravel(), minlength=len(phases.PHASES))
        return {
            "closed_form": float(
                np.mean(_phase_index(self.predicted_curvature, self.spec) == self.phase)
            ),
            "mean_field": float(np.mean(_phase_index(mf_on_grid, self.spec) == self.phase)),
            # the trivial predictor: every cell in the most common simulated phase
            "majority_baseline": float(counts.max() / counts.sum()),
        }

    def summary(self) -> dict:
        """The JSON summary: spec, phase counts, agreement with both predictions."""
        counts = {name: int(np.sum(self.phase == i)) for i, name in enumerate(phases.PHASES)}
        return {
            "spec": self.spec.to_json(),
            "linear_tolerance": self.spec.tolerance,
            "phases": list(phases.PHASES),
            "phase_counts": counts,
            "agreement": self.agreement(),
            "lazy_threshold": self.lazy_threshold,
            "boundaries_note": "a boundary is null (NaN in results.nc) at a friction where the "
            "prediction's curvature never crosses the level inside the noise range",
        }

    def to_dataset(self, computed_by: dict | None = None):
        """The diagram as an xarray Dataset: dims ``mu_right``, ``noise``, ``seed``,
        ``layer``, ``mean_field_noise``, ``boundary_mu``, ``level``."""
        import xarray as xr

        spec = self.spec
        cell = ("mu_right", "noise")
        no_crossing = "no crossing of the level inside the noise range at this friction"
        ds = xr.Dataset(
            {
                "curvature": (cell, self.curvature, {"long_name": "mean curvature c over seeds"}),
                "curvature_sem": (
                    cell,
                    self.curvature_sem,
                    {"nan_meaning": "one seed: no standard error"},
                ),
                "curvature_per_seed": ((*cell, "seed"), self.curvature_seeds),
                "spread": (cell, self.spread, {"long_name": "mean spread v over seeds"}),
                "spread_per_seed": ((*cell, "seed"), self.spread_seeds),
                "load_curve": ((*cell, "layer"), self.load_curve, {"long_name": "y - x_l"}),
                "phase": (
                    cell,
                    self.phase.astype(np.int32),
                    {"flag_values": [0, 1, 2], "flag_meanings": " ".join(phases.PHASES)},
                ),
                "predicted_curvature": (
                    cell,
                    self.predicted_curvature,
                    {"long_name": "closed-form relaxation-time interpolation"},
                ),
                "mean_field_curvature": (
                    ("mu_right", "mean_field_noise"),
                    self.mean_field_curvature,
                ),
                "closed_form_boundaries": (
                    ("level", "boundary_mu"),
                    self.closed_form_boundaries,
                    {"nan_meaning": no_crossing},
                ),
                "mean_field_boundaries": (
                    ("level", "mu_right"),
                    self.mean_field_boundaries,
                    {"nan_meaning": no_crossing},
                ),
            },
            coords={
                "mu_right": ("mu_right", spec.mu, {"long_name": "friction mu_R"}),
                "noise": ("noise", spec.noise, {"long_name": "force-noise std eps_bar"}),
                "seed": np.arange(spec.seeds),
                "layer": np.arange(spec.blocks + 1),
                "mean_field_noise": self.mean_field_noise,
                "boundary_mu": self.boundary_mu,
                "level": ("level", ["concave", "convex"]),
            },
            attrs={
                **results.provenance_attrs("phase-diagram", spec, computed_by),
                "linear_tolerance": spec.tolerance,
                "mu_left_over_mu_right": spec.asymmetry,
                "lazy_threshold": self.lazy_threshold,
            },
        )
        return ds


def binomial_se(fraction: float, cells: int) -> float:
    """Standard error sqrt(p (1 - p) / n) of an agreement fraction p over n cells."""
    return math.sqrt(fraction * (1.0 - fraction) / cells)


def _phase_index(curvature: np.ndarray, spec: PhaseDiagramSpec) -> np.ndarray:
    """Three classes of the normalised curvature c / y (:func:`phases.phase_index`)."""
    return phases.phase_index(np.asarray(curvature) / spec.target)


def run(spec: PhaseDiagramSpec, checkpoint: Path | None = None, progress=None) -> PhaseDiagram:
    """Simulate the grid (resumable through ``checkpoint``) and compute the predictions."""
    sim = simulate_rows(spec, checkpoint, progress)
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
    levels = (-spec.tolerance * spec.target, spec.tolerance * spec.target)
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
        sim["curvature"],
        sim["spread"],
        sim["load_curve"],
        predicted,
        mf_noise,
        mf_curv,
        boundary_mu,
        closed,
        mf_bounds,
        lazy,
    )


def compute(
    spec: PhaseDiagramSpec, out: Path, progress=None, log=None
) -> tuple[PhaseDiagram, dict]:
    """Run (or resume) the sweep with its rows in the results store under ``out/store``,
    then write ``out/results.nc``, ``out/results.json`` and the figure; returns the diagram
    and the JSON payload. ``log`` receives one line saying whether the rows are new,
    resumed or recomputed (and why)."""
    from springblock.numerics.spring import plots
    from springblock.plotting import save

    store = results.Store(out / "store", "phase-diagram", spec.to_json())
    status = store.open(lambda path: path.glob("row_*.npz"))
    if log is not None:
        log(status)
    diagram = run(spec, store.path, progress)
    computed_by = store.provenance()["computed_by"]
    payload = diagram.summary() | {"store": str(store.path), "status": status}
    payload["figures"] = save(plots.phase_diagram_figure(diagram), out, "phase_diagram")
    results.write_results(out, payload, diagram.to_dataset(computed_by))
    return diagram, payload
