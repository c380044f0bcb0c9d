"""Hyperparameters that minimise the predicted test error: ``curves tune``.

:func:`tune` evaluates the self-consistent E_g (Canatar, Bordelon & Pehlevan eq. 4) and the
equivalent-kernel error on the full grid depths x C_W x C_b x ridges of a
:class:`~springblock.numerics.curves.config.TuneConfig` in one compiled, vmapped call
(:func:`springblock.numerics.curves.solve.predict_grid`; the depth is traced below a
static maximum) and ranks the settings per N.

A setting whose kernel overflows float64 (variance growing like (C_W <sigma'^2>)^depth) has
no prediction: it is kept as NaN in the arrays, named in ``non_finite`` of the summary and
left out of the ranking; if no setting is finite at some N, that is an error.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from jaxtyping import Float

from springblock.numerics.curves.config import TuneConfig
from springblock.params import ParameterError

if TYPE_CHECKING:
    import xarray as xr

#: The grid's axes: config field -> coordinate name.
AXES = {"depths": "depth", "weights": "weight", "biases": "bias", "ridges": "ridge"}
NAN_MEANING = "the kernel overflows float64 at this setting (no prediction)"


@dataclass(frozen=True)
class Tuning:
    """Predicted errors on the grid, dims (depth, weight, bias, ridge, n)."""

    config: TuneConfig
    self_consistent: Float[np.ndarray, "depth weight bias ridge n"]
    equivalent_kernel: Float[np.ndarray, "depth weight bias ridge n"]
    wall_time_s: float

    @property
    def shape(self) -> tuple[int, ...]:
        return self.self_consistent.shape[:-1]

    def setting(self, index: tuple[int, ...]) -> dict:
        """The hyperparameters of grid cell ``index`` = (depth, weight, bias, ridge)."""
        values = [getattr(self.config, f)[i] for f, i in zip(AXES, index, strict=True)]
        return dict(zip(AXES.values(), values, strict=True))

    def ranking(self, j: int) -> list[tuple[int, ...]]:
        """Grid cells with a finite prediction, best (lowest E_g) first, at the j-th N."""
        flat = self.self_consistent[..., j].reshape(-1)
        finite = np.flatnonzero(np.isfinite(flat))
        order = finite[np.argsort(flat[finite], kind="stable")]
        return [tuple(int(i) for i in np.unravel_index(k, self.shape)) for k in order]

    def best(self) -> list[tuple[int, ...]]:
        """The best cell at every N."""
        return [self.ranking(j)[0] for j in range(len(self.config.n))]


def tune(config: TuneConfig) -> Tuning:
    """All predictions of the grid (module docstring)."""
    from springblock.numerics.curves import solve

    grid = np.array(
        list(itertools.product(config.depths, config.weights, config.biases, config.ridges)),
        dtype=np.float64,
    )
    started = time.perf_counter()
    out = solve.predict_grid(
        config.activation,
        config.kind,
        config.dim,
        config.target,
        np.asarray(config.n, dtype=np.float64),
        depth=grid[:, 0].astype(int),
        weight=grid[:, 1],
        bias=grid[:, 2],
        ridge=grid[:, 3],
        noise=config.noise,
        l_max=config.l_max,
    )
    shape = (*(len(getattr(config, f)) for f in AXES), len(config.n))
    errors = {k: np.asarray(out[k], dtype=np.float64).reshape(shape) for k in out}
    bad = ~(np.isfinite(errors["self_consistent"]) & np.isfinite(errors["equivalent_kernel"]))
    for key in ("self_consistent", "equivalent_kernel"):
        errors[key] = np.where(bad, np.nan, errors[key])
    dead = np.flatnonzero(bad.reshape(-1, len(config.n)).all(axis=0))
    if dead.size:
        raise ParameterError(
            "weights",
            config.weights,
            f"values whose kernel stays finite for some depth (every setting overflows "
            f"at N = {config.n[int(dead[0])]})",
        )
    return Tuning(
        config,
        errors["self_consistent"],
        errors["equivalent_kernel"],
        time.perf_counter() - started,
    )


def non_finite_settings(tuning: Tuning) -> list[dict]:
    """The settings without a prediction (at any N)."""
    bad = np.isnan(tuning.self_consistent).any(axis=-1)
    return [tuning.setting(tuple(int(i) for i in index)) for index in np.argwhere(bad)]


def summary(tuning: Tuning) -> dict:
    """The JSON payload of ``curves tune``: the ``top`` settings per N, best first."""
    c = tuning.config
    best = []
    for j, size in enumerate(c.n):
        ranked = tuning.ranking(j)[: c.top]
        best.append(
            {
                "n": size,
                "settings": [
                    {
                        **tuning.setting(index),
                        "self_consistent": float(tuning.self_consistent[(*index, j)]),
                        "equivalent_kernel": float(tuning.equivalent_kernel[(*index, j)]),
                    }
                    for index in ranked
                ],
            }
        )
    return {
        "activation": c.activation,
        "kernel": c.kind,
        "dim": c.dim,
        "target": c.target,
        "noise": c.noise,
        "l_max": c.l_max,
        "settings": c.settings,
        "best": best,
        "non_finite": non_finite_settings(tuning),
        "non_finite_meaning": "settings without a prediction: " + NAN_MEANING,
        "wall_time_s": tuning.wall_time_s,
    }


def to_dataset(tuning: Tuning) -> xr.Dataset:
    """Labelled arrays with dims ``depth``, ``weight`` (C_W), ``bias`` (C_b), ``ridge``
    (sigma^2) and ``n`` (training-set size)."""
    import xarray as xr

    from springblock import results

    c = tuning.config
    dims = (*AXES.values(), "n")
    coords = {
        "depth": ("depth", np.asarray(c.depths, np.int64), {"meaning": "hidden layers"}),
        "weight": ("weight", np.asarray(c.weights), {"meaning": "weight variance C_W"}),
        "bias": ("bias", np.asarray(c.biases), {"meaning": "bias variance C_b"}),
        "ridge": ("ridge", np.asarray(c.ridges), {"meaning": "ridge sigma^2"}),
        "n": ("n", np.asarray(c.n, np.int64), {"meaning": "training-set size N"}),
    }
    meanings = {
        "self_consistent": "self-consistent mean test error E_g",
        "equivalent_kernel": "error of the dataset-averaged predictor, equivalent kernel",
    }
    return xr.Dataset(
        {
            key: (dims, getattr(tuning, key), {"meaning": text, "nan_meaning": NAN_MEANING})
            for key, text in meanings.items()
        },
        coords=coords,
        attrs={**results.provenance_attrs("curves_tune", c), "wall_time_s": tuning.wall_time_s},
    )
