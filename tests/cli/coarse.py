"""The coarse model tables of the CLI and pipeline tests: one grid for both models, so
that the comparison's fits (compiled per table shape) compile once for model (a) and are
reused for model (b), across the tests of a process and, through the session's
compilation cache, across processes. Tabulating the default grids is tested in
tests/spring and tests/compare; here it would only cost time."""

from __future__ import annotations

from springblock.numerics.spring.table import TableSpec

GRID = {"mu_points": 4, "noise_points": 5, "asymmetry_points": 2, "time_points": 10}
#: model (b)'s ensemble on a short time range and a few seeds (its runs cost time per step)
MODEL_B = {"time_min": 0.5, "time_max": 200.0, "seeds": 4}


def coarse_table(blocks: int, model: str = "a") -> TableSpec:
    return TableSpec(blocks=blocks, model=model, **GRID, **(MODEL_B if model == "b" else {}))
