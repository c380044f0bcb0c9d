"""Theory-free predictors of held-out cells, scored on exactly the splits the theory is.

Each takes the training cells of one panel (grid positions, alpha, knob coordinate u, the
normalised curvature c and spread v, their standard errors) and predicts (c, v) at the
held-out cells:

- ``majority``: the most common class of the training cells and their mean c and v (a
  constant: its correlations are undefined, i.e. no skill);
- ``alpha_only`` / ``knob_only``: weighted isotonic regression of c and of v on alpha
  (on u), increasing or decreasing, whichever fits the training cells better; held-out
  coordinates are interpolated, beyond the training range held at the end value;
- ``additive``: c = b0 + b1 alpha^e + b2 u^f and v = g0 + g1 alpha^e + g2 u^f, monotone in
  each coordinate, eight parameters like the theory's fit of one panel (five shared, three
  of its noise map), weighted least squares;
- ``nearest_neighbour``: the mean of the training cells nearest in grid steps.

Weights are 1/(se^2 + s0^2) with s0 the median standard error of the training cells, the
theory's weights (:mod:`~springblock.validation.compare.fit`).
"""

from __future__ import annotations

import numpy as np

NAMES = ("majority", "alpha_only", "knob_only", "additive", "nearest_neighbour")


def _weights(se: np.ndarray) -> np.ndarray:
    finite = se[np.isfinite(se)]
    floor = float(np.median(finite)) if finite.size and np.median(finite) > 0 else 1.0
    return 1.0 / (np.where(np.isfinite(se), se, 0.0) ** 2 + floor**2)


def _isotonic(x_train, y_train, w, x_test) -> np.ndarray:
    from sklearn.isotonic import IsotonicRegression

    best, best_loss = None, np.inf
    for increasing in (True, False):
        model = IsotonicRegression(increasing=increasing, out_of_bounds="clip")
        fitted = model.fit(x_train, y_train, sample_weight=w)
        loss = float(np.sum(w * (fitted.predict(x_train) - y_train) ** 2))
        if loss < best_loss:
            best, best_loss = fitted, loss
    assert best is not None
    return best.predict(x_test)


def _additive(train: dict, test: dict) -> tuple[np.ndarray, np.ndarray]:
    from scipy import optimize

    wc, wv = np.sqrt(_weights(train["c_se"])), np.sqrt(_weights(train["v_se"]))

    def design(cells, e, f):
        return np.stack([np.ones_like(cells["alpha"]), cells["alpha"] ** e, cells["u"] ** f], -1)

    def residual(params):
        X = design(train, *params[6:])
        return np.concatenate(
            [wc * (X @ params[:3] - train["c"]), wv * (X @ params[3:6] - train["v"])]
        )

    start = np.array([np.mean(train["c"]), 0, 0, np.mean(train["v"]), 0, 0, 1.0, 1.0])
    lower = [-np.inf] * 6 + [0.25] * 2
    upper = [np.inf] * 6 + [4.0] * 2
    fit = optimize.least_squares(residual, start, bounds=(lower, upper))
    X = design(test, *fit.x[6:])
    return X @ fit.x[:3], X @ fit.x[3:6]


def _nearest(train: dict, test: dict) -> tuple[np.ndarray, np.ndarray]:
    c, v = [], []
    for r, q in zip(test["row"], test["col"], strict=True):
        d = np.abs(train["row"] - r) + np.abs(train["col"] - q)
        near = d == d.min()
        c.append(train["c"][near].mean())
        v.append(train["v"][near].mean())
    return np.array(c), np.array(v)


def cells_of(flat, mask, c=None, v=None) -> dict:
    """The cells ``mask`` of a :class:`~springblock.validation.compare.fit.Flat` as the
    dict the baselines take (``c``, ``v``: other observations of the same cells)."""
    c = flat.c if c is None else c
    v = flat.v if v is None else v
    return {
        "row": flat.row[mask],
        "col": flat.col[mask],
        "alpha": flat.alpha[mask],
        "u": flat.u[mask],
        "c": c[mask],
        "v": v[mask],
        "c_se": flat.c_se[mask],
        "v_se": flat.v_se[mask],
    }


def predict(name: str, train: dict, test: dict) -> tuple[np.ndarray, np.ndarray]:
    """Baseline ``name``'s (c, v) at the ``test`` cells from the ``train`` cells (dicts of
    1-d arrays: row, col, alpha, u, c, v, c_se, v_se)."""
    from springblock.theory.spring import phases

    n = len(test["row"])
    if n == 0:
        return np.zeros(0), np.zeros(0)
    if len(train["row"]) == 0:
        return np.full(n, np.nan), np.full(n, np.nan)
    if name == "majority":
        classes = phases.phase_index(train["c"])
        counts = np.bincount(classes, minlength=3)
        majority = int(np.argmax(counts))
        # the class's representative curvature: the mean c of the training cells of that class
        c0 = float(np.mean(train["c"][classes == majority]))
        return np.full(n, c0), np.full(n, float(np.mean(train["v"])))
    if name in ("alpha_only", "knob_only"):
        key = "alpha" if name == "alpha_only" else "u"
        return (
            _isotonic(train[key], train["c"], _weights(train["c_se"]), test[key]),
            _isotonic(train[key], train["v"], _weights(train["v_se"]), test[key]),
        )
    if name == "additive":
        return _additive(train, test)
    if name == "nearest_neighbour":
        return _nearest(train, test)
    raise ValueError(f"unknown baseline {name!r}")
