"""Train/held-out splits of a panel's (alpha, knob value) grid.

- ``checkerboard`` (interpolation): two folds, the cells with (i + j) even held out, then
  the odd ones; every cell is predicted once, by a fit that saw its four neighbours;
- ``leave_one_alpha_out`` (extrapolation in the nonlinearity): one fold per alpha row;
- ``leave_one_knob_out`` (extrapolation in the noise): one fold per knob column.

Held-out predictions of all folds are pooled and scored together. The joint split across
panels, ``leave_one_panel_out``, lives in :mod:`~springblock.validation.compare.
theory_vs_nets` (it needs two fitting stages).
"""

from __future__ import annotations

import numpy as np

SPLITS = ("checkerboard", "leave_one_alpha_out", "leave_one_knob_out")


def folds(name: str, grid: tuple[int, int]) -> list[np.ndarray]:
    """Held-out masks (alpha, value) of every fold of split ``name``."""
    rows, cols = np.indices(grid)
    if name == "checkerboard":
        even = (rows + cols) % 2 == 0
        return [even, ~even]
    if name == "leave_one_alpha_out":
        return [rows == i for i in range(grid[0])]
    if name == "leave_one_knob_out":
        return [cols == j for j in range(grid[1])]
    raise ValueError(f"unknown split {name!r}; one of {SPLITS}")


def half_columns(grid: tuple[int, int], parity: int) -> np.ndarray:
    """The cells of every other knob column (``parity`` 0: columns 0, 2, ...)."""
    _, cols = np.indices(grid)
    return cols % 2 == parity
