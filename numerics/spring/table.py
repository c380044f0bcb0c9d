"""The spring-block model tabulated once: the load-curve shape it predicts for every
(friction, noise, asymmetry, time), for fits against trained nets. Two models
(``TableSpec.model``):

**Model (a)** (``"a"``, the default). Its mean-field flow
(:mod:`springblock.numerics.spring.flows`, the eta -> 0 limit of the authors' map; Shi,
Pan & Dokmanic 2025, reference sections 3-4) is solved from rest (x = 0: the whole load on
the last spring) with k = 1 and y = 1 on a grid of

- friction mu_R in [0, ``mu_max``] (uniform),
- noise sigma in [``noise_min``, ``noise_max``] (log-uniform),
- asymmetry r = mu_L / mu_R in [``asymmetry_min``, ``asymmetry_max``] (uniform),

and saved at log-uniform times t in [``time_min``, ``time_max``] (one solve gives every
time; Kvaerno5, so the long horizons cost little once the chain has settled). Stored: the
elongations d_1..d_{L+1} as fractions of y, which is how the nets' loads are compared
(fractions of the total load D_0 - D_last): the normalised curvature c / y = d_1 - d_{L+1}
and the normalised spread std(d / y).

:meth:`ModelTable.interpolate` is multilinear in (mu_R, log sigma, r, log t) on the uniform
axes, jittable and vmappable; it is only ever evaluated inside the grid (the fit's maps are
bounded to it by construction), and refuses points outside.

**Model (b)** (``"b"``): the underdamped chain with kinetic friction and one shared noise
decaying as exp(-lambda t) (:mod:`springblock.numerics.spring.underdamped`; the authors'
second notebook, reference section 3), with m = 1, gamma = 1, k = 1, y = 1, stick-slip
steps of ``dt``, started from rest. Its table holds the elongation fractions of the mean
positions over ``seeds`` noise paths, the same paths at every grid point (common random
numbers), at the same kind of grid. Being stochastic, it is an estimate: the standard error
of an entry is of order eps / sqrt(seeds) at the noisiest points. Its default grid
(:func:`default_spec`) is coarser and its times end at 1e4, by when the noise has decayed
by exp(-10) and the chain is frozen: about a minute on 2 cores.

The default tables of both models on the default nets' chain ship with the package
(:func:`bundled`); any other table is computed once and kept in the results store.

The friction range reaches mu_R = 0.5 and the asymmetry 4: fitted to the default run's
nets on a smaller box (mu_R <= 0.2, r <= 2), the friction and the asymmetry sat on their
upper bounds, and this box about halved the fit's loss; a box twice as large again lowered
it by a few per cent only (CHANGELOG: the theory-vs-nets fit).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from springblock import results
from springblock.params import ParameterError, check_int, check_real

MODELS = ("a", "b")


@dataclass(frozen=True)
class TableSpec:
    """The grid of the table (validated on construction)."""

    blocks: int = 6
    mu_max: float = 0.5
    mu_points: int = 11
    noise_min: float = 0.005
    noise_max: float = 0.5
    noise_points: int = 15
    asymmetry_min: float = 0.5
    asymmetry_max: float = 4.0
    asymmetry_points: int = 8
    time_min: float = 0.1
    time_max: float = 1e6
    time_points: int = 36
    model: str = "a"
    #: model (b) only: noise paths averaged, noise decay rate lambda, stick-slip step
    seeds: int = 32
    decay: float = 0.001
    dt: float = 0.05

    def __post_init__(self):
        check_int("blocks", self.blocks, 1, 100)
        check_real("mu_max", self.mu_max, minimum=0.0, strict=True)
        check_real("noise_min", self.noise_min, minimum=0.0, strict=True)
        check_real("noise_max", self.noise_max, minimum=self.noise_min, strict=True)
        check_real("asymmetry_min", self.asymmetry_min, minimum=0.0)
        check_real("asymmetry_max", self.asymmetry_max, minimum=self.asymmetry_min, strict=True)
        check_real("time_min", self.time_min, minimum=0.0, strict=True)
        check_real("time_max", self.time_max, minimum=self.time_min, strict=True)
        for name in ("mu_points", "noise_points", "asymmetry_points", "time_points"):
            check_int(name, getattr(self, name), 2, 400)
        check_int("seeds", self.seeds, 1, 100_000)
        check_real("decay", self.decay, minimum=0.0)
        check_real("dt", self.dt, minimum=0.0, strict=True)
        if self.model not in MODELS:
            raise ParameterError("model", self.model, f"one of {', '.join(MODELS)}")

    @property
    def mu(self) -> np.ndarray:
        return np.linspace(0.0, self.mu_max, self.mu_points)

    @property
    def noise(self) -> np.ndarray:
        return np.geomspace(self.noise_min, self.noise_max, self.noise_points)

    @property
    def asymmetry(self) -> np.ndarray:
        return np.linspace(self.asymmetry_min, self.asymmetry_max, self.asymmetry_points)

    @property
    def times(self) -> np.ndarray:
        return np.geomspace(self.time_min, self.time_max, self.time_points)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ModelTable:
    """Elongation fractions d_l / y, dims (mu, noise, asymmetry, time, elongation)."""

    spec: TableSpec
    elongations: np.ndarray

    @property
    def axes(self) -> tuple[np.ndarray, ...]:
        """The interpolation axes: mu_R, log sigma, r, log t (each uniform)."""
        s = self.spec
        return (s.mu, np.log(s.noise), s.asymmetry, np.log(s.times))

    @property
    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """(origin, step) of the four uniform axes, for :func:`interpolate`."""
        axes = self.axes
        origin = np.array([a[0] for a in axes])
        step = np.array([(a[-1] - a[0]) / (len(a) - 1) for a in axes])
        return origin, step

    def interpolate(self, mu, log_noise, asymmetry, log_time):
        """Elongation fractions (..., L+1) at broadcast points (jax, multilinear)."""
        origin, step = self.grid
        return interpolate(self.elongations, origin, step, mu, log_noise, asymmetry, log_time)

    def contains(self, mu, noise, asymmetry, time) -> np.ndarray:
        """True where a point lies inside the tabulated grid (1e-9 relative slack)."""
        s = self.spec
        checks = [
            (mu, 0.0, s.mu_max),
            (noise, s.noise_min, s.noise_max),
            (asymmetry, s.asymmetry_min, s.asymmetry_max),
            (time, s.time_min, s.time_max),
        ]
        inside: Any = True
        for x, lo, hi in checks:
            x = np.asarray(x, float)
            slack = 1e-9 * max(abs(lo), abs(hi))
            inside = inside & (x >= lo - slack) & (x <= hi + slack)
        return np.asarray(inside)


def interpolate(values, origin, step, mu, log_noise, asymmetry, log_time, which=None):
    """Multilinear interpolation of ``values`` (axis0, axis1, axis2, axis3, L+1) on uniform
    axes (``origin``, ``step`` per axis) at broadcast points; jittable, differentiable in
    the points. Points are expected inside the grid (the cell index is clamped to the last
    cell, so a point on the upper edge is exact). With ``which`` (integers broadcasting
    with the points), ``values`` has a leading axis of tables on the same grid and each
    point reads table ``which``."""
    import jax.numpy as jnp

    values = jnp.asarray(values)
    coords = jnp.broadcast_arrays(
        *(jnp.asarray(v, values.dtype) for v in (mu, log_noise, asymmetry, log_time))
    )
    grid_shape = values.shape if which is None else values.shape[1:]
    lower, weight = [], []
    for axis, x in enumerate(coords):
        position = (x - origin[axis]) / step[axis]
        index = jnp.clip(jnp.floor(position), 0, grid_shape[axis] - 2).astype(jnp.int32)
        lower.append(index)
        weight.append(position - index)
    lead = () if which is None else (jnp.broadcast_to(jnp.asarray(which), coords[0].shape),)
    out = 0.0
    for corner in range(16):
        bits = [(corner >> a) & 1 for a in range(4)]
        w = 1.0
        for b, frac in zip(bits, weight, strict=True):
            w = w * (frac if b else 1.0 - frac)
        index = lead + tuple(i + b for i, b in zip(lower, bits, strict=True))
        out = out + w[..., None] * values[index]
    return out


def default_spec(model: str, blocks: int) -> TableSpec:
    """The table a comparison uses for ``model`` with ``blocks`` blocks (module docstring:
    model (b)'s grid is coarser, its time axis shorter)."""
    if model == "a":
        return TableSpec(blocks=blocks)
    if model == "b":
        return TableSpec(
            blocks=blocks,
            model="b",
            mu_points=9,
            noise_points=10,
            asymmetry_points=6,
            time_min=0.5,
            time_max=1e4,
            time_points=16,
        )
    raise ParameterError("model", model, f"one of {', '.join(MODELS)}")


def _fractions(x: np.ndarray, target: float = 1.0) -> np.ndarray:
    """Elongation fractions d_l / y of positions x (..., L) between the wall and y."""
    pad = np.zeros(x.shape[:-1] + (1,))
    return np.diff(np.concatenate([pad, x, pad + target], -1), axis=-1) / target


def tabulate(spec: TableSpec) -> ModelTable:
    """Tabulate ``spec.model`` on the grid: model (a) in one vmapped diffrax call, model
    (b) in one compiled stick-slip ensemble."""
    if spec.model == "b":
        return _tabulate_underdamped(spec)
    import jax
    import jax.numpy as jnp

    from springblock.numerics.spring import flows

    mu, noise, asym = np.meshgrid(spec.mu, spec.noise, spec.asymmetry, indexing="ij")
    with jax.enable_x64(True):
        run = flows.solve(
            spec.blocks,
            mu_right=jnp.asarray(mu),
            mu_left=jnp.asarray(asym * mu),
            noise=jnp.asarray(noise),
            method="kvaerno5",
            times=spec.times,
            max_steps=20_000,
        )
        x = np.asarray(run.positions, float)  # (mu, noise, asym, time, L)
    return ModelTable(spec, _fractions(x))


def _tabulate_underdamped(spec: TableSpec) -> ModelTable:
    from springblock.numerics.spring import underdamped

    mu, noise, asym = np.meshgrid(spec.mu, spec.noise, spec.asymmetry, indexing="ij")
    x = underdamped.ensemble_mean_positions(
        spec.blocks,
        mu.ravel(),
        (asym * mu).ravel(),
        noise.ravel(),
        spec.times,
        decay=spec.decay,
        dt=spec.dt,
        seeds=spec.seeds,
    )
    return ModelTable(spec, _fractions(x.reshape(mu.shape + x.shape[1:])))


#: The folder of the shipped tables (beside this module: a data-only subfolder would be a
#: namespace package to the type checker).
BUNDLED = Path(__file__).resolve().parent


def bundled_path(spec: TableSpec) -> Path:
    """Where the package keeps a precomputed table of ``spec`` (it may not exist)."""
    return BUNDLED / f"table_model_{spec.model}_{spec.blocks}_blocks.npz"


def bundled(spec: TableSpec) -> ModelTable | None:
    """The table shipped with the package for exactly this ``spec``, or None.

    The package ships :func:`default_spec` of both models on the default nets' chain
    (6 blocks), made by ``tools/bundle_tables.py`` and stored in float32 (the fits
    interpolate between entries that far apart; 1e-7 relative is far below it);
    ``tests/spring/test_bundled_tables.py`` tabulates a sub-grid afresh and compares."""
    import json

    path = bundled_path(spec)
    if not path.exists():
        return None
    with np.load(path) as stored:
        if json.loads(str(stored["spec"])) != spec.to_json():
            return None
        return ModelTable(spec, stored["elongations"].astype(float))


def write_bundle(table: ModelTable, path: Path) -> None:
    """Store ``table`` the way :func:`bundled` reads it (tools/bundle_tables.py)."""
    import json

    np.savez_compressed(
        path,
        spec=np.array(json.dumps(table.spec.to_json(), sort_keys=True)),
        elongations=table.elongations.astype(np.float32),
    )


def load_or_tabulate(spec: TableSpec, store_root: Path | None = None, log=None) -> ModelTable:
    """The table of ``spec``: the one the package ships (:func:`bundled`) if it is that
    spec's, else from the results store under ``store_root`` (computed and stored there the
    first time; without a store, computed)."""
    shipped = bundled(spec)
    if shipped is not None:
        return shipped
    if store_root is None:
        return tabulate(spec)
    store = results.Store(Path(store_root), "model-table", spec.to_json())
    status = store.open()
    path = store.path / "table.npz"
    if path.exists():
        with np.load(path) as stored:
            return ModelTable(spec, stored["elongations"])
    if log is not None:
        flows = spec.mu_points * spec.noise_points * spec.asymmetry_points
        log(f"[model table] {status}: {flows} flows")
    table = tabulate(spec)
    results.write_npz(path, elongations=table.elongations)
    return table
