"""The coarse model tables of the CLI and pipeline tests: the comparison tests' grid
(:func:`tests.compare.panels.coarse_table_spec`) for both models, so that a chain length
of model (a) is tabulated once per session for both suites (:mod:`tests.tables`), and the
comparison's fits (compiled per table shape) compile once for model (a) and are reused for
model (b). Tabulating the default grids is tested in tests/spring and tests/compare; here
it would only cost time."""

from __future__ import annotations

import dataclasses

from springblock.numerics.spring.table import TableSpec
from tests.compare.panels import coarse_table_spec

#: model (b)'s ensemble on a short time range and a few seeds (its runs cost time per step)
MODEL_B = {"time_min": 0.5, "time_max": 200.0, "seeds": 4}


def coarse_table(blocks: int, model: str = "a") -> TableSpec:
    spec = coarse_table_spec(blocks)
    return dataclasses.replace(spec, model=model, **(MODEL_B if model == "b" else {}))
