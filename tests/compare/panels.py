"""Synthetic panels of cells for the comparison tests: the protocol's spec and a grid of
zeros that a test fills with planted or chosen values."""

from __future__ import annotations

import functools

import numpy as np

from springblock.numerics.spring.table import ModelTable, TableSpec
from springblock.validation.compare import cells
from tests.tables import session_table


def blank_panel(knob: str, alphas, values, depth: int, se: float = 0.01, **extra):
    """A panel of ``knob`` over ``alphas`` x ``values`` of nets of ``depth`` layers (the
    paper's protocol: Adam 1e-3, 2560 samples, full batch, 100 epochs), c = v = 0 with
    standard error ``se`` and three ok nets per cell; ``extra`` replaces any field (a depth
    panel's ``depths`` and longer ``shape``)."""
    spec = {"knob": knob, "learning_rate": 1e-3, "train_size": 2560, "batch_size": None}
    spec |= {"epochs": 100, "depth": depth}
    values = np.asarray(values, float)
    grid = (len(alphas), len(values))
    fields = {
        "knob": knob,
        "dim": knob.replace("-", "_"),
        "alphas": np.asarray(alphas, float),
        "values": values,
        "u": cells.knob_coordinate(knob, values),
        "log_time_factor": np.log(cells.time_factor(spec, values)),
        "c": np.zeros(grid),
        "c_se": np.full(grid, se),
        "v": np.zeros(grid),
        "v_se": np.full(grid, se),
        "n_ok": np.full(grid, 3),
        "shape": np.zeros((*grid, depth - 1)),
        "depth": depth,
        "spec": spec,
    }
    return cells.PanelCells(**(fields | extra))


def coarse_table_spec(blocks: int) -> TableSpec:
    """A coarse model table over friction up to 0.2 and asymmetry 1 to 2: it keeps the
    tests fast, and the fits and plants only interpolate in it. One grid for every
    comparison test, so that a chain length is tabulated (and its solver compiled) once
    per session (:func:`coarse_table`)."""
    return TableSpec(
        blocks=blocks,
        mu_max=0.2,
        mu_points=6,
        noise_points=7,
        asymmetry_min=1.0,
        asymmetry_max=2.0,
        asymmetry_points=3,
        time_points=16,
    )


@functools.cache
def coarse_table(blocks: int) -> ModelTable:
    """The tabulated :func:`coarse_table_spec` (computed once per session,
    :func:`tests.tables.session_table`)."""
    return session_table(coarse_table_spec(blocks))
