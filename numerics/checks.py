"""Solutions that did not finish are errors, never results.

A compiled (jit, vmap) diffrax solve cannot raise per batch element, so the solvers return
``diffrax`` result codes as a boolean ``finished`` mask next to their states and call
:func:`require_finished` in Python before anything is returned to a user: it raises
:class:`UnfinishedSolve`, naming the parameters of every element that stopped early (step
budget exhausted, step size collapsed) or produced non-finite values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class UnfinishedSolve(RuntimeError):
    """An ODE/SDE solve stopped before its end time or produced non-finite values.

    ``failures`` lists, for each failed element, its parameters by name.
    """

    def __init__(self, what: str, failures: list[dict[str, float]], total: int, reason: str):
        self.what = what
        self.failures = failures
        shown = "; ".join(", ".join(f"{k}={v:.6g}" for k, v in f.items()) for f in failures[:5]) + (
            f"; ... ({len(failures) - 5} more)" if len(failures) > 5 else ""
        )
        super().__init__(f"{what}: {len(failures)} of {total} solves {reason}: {shown}")


def successful(sol) -> object:
    """Inside jit: True where a diffrax solution reached its end time."""
    import diffrax

    return sol.result == diffrax.RESULTS.successful


def require_finished(
    what: str,
    finished: np.ndarray,
    values: np.ndarray | None,
    parameters: Mapping[str, np.ndarray],
) -> None:
    """Raise :class:`UnfinishedSolve` unless every element finished with finite values.

    ``finished`` has the batch shape B; ``values`` (B, ...) are the saved states (checked
    for NaN and inf); ``parameters`` maps names to arrays broadcastable to B.
    """
    finished = np.asarray(finished, bool)
    shape = finished.shape
    params = {k: np.broadcast_to(np.asarray(v, float), shape) for k, v in parameters.items()}
    for mask, reason in (
        (~finished, "stopped before their end time (step budget or step size exhausted)"),
        (
            np.zeros(shape, bool)
            if values is None
            else ~np.isfinite(np.asarray(values)).reshape(*shape, -1).all(axis=-1),
            "produced non-finite values",
        ),
    ):
        if mask.any():
            index = np.argwhere(mask)
            failures = [{k: float(v[tuple(i)]) for k, v in params.items()} for i in index]
            raise UnfinishedSolve(what, failures, int(np.prod(shape)), reason)
