"""How the load distributes over the layers as the nets get deeper (a ``depth`` panel).

A net of depth D has loads d_1..d_{D-1} (layer l's gain in separation, reference section 1).
As fractions of its total load, w_l = d_l / (D_0 - D_last), they sum to one whatever the
depth, so nets of different depths compare at the same *relative depth* of a load,
(l - 1/2) / (D - 1) in (0, 1). One number per net summarises where the work is done:

    deep share = sum_l w_l h_l,   h_l = |I_l n (1/2, 1]| / |I_l|,   I_l = [(l-1)/(D-1), l/(D-1)]

that is, the loads are laid side by side on [0, 1], each over an interval of length 1/(D - 1),
and the deep share is the load lying in the deeper half (1/2, 1]: 1/2 for a linear load
curve (equal loads) at every depth, above 1/2 when deep layers do more (concave curve,
c < 0), below when shallow layers do (convex). A load whose interval straddles 1/2 (odd
D - 1) counts half on each side. Only nets whose load-curve shape is defined (status ok,
total load at least :data:`~springblock.validation.nets.sweep.MIN_TOTAL_LOAD`) enter.
"""

from __future__ import annotations

import numpy as np


def deep_half_weights(loads: int) -> np.ndarray:
    """The fraction of each of ``loads`` equal intervals tiling [0, 1] that lies in (1/2, 1]."""
    edges = np.linspace(0.0, 1.0, loads + 1)
    lo, hi = edges[:-1], edges[1:]
    return (np.clip(hi, 0.5, 1.0) - np.clip(lo, 0.5, 1.0)) * loads


def deep_share(fractions: np.ndarray, loads: int) -> np.ndarray:
    """The deep share of load fractions (..., >= ``loads``) whose first ``loads`` entries are
    a net's (module docstring); NaN where any of them is NaN."""
    w = deep_half_weights(loads)
    return np.sum(np.asarray(fractions, float)[..., :loads] * w, axis=-1)


def load_by_depth(nets):
    """Per (alpha, depth) cell of a depth panel's labelled results: the mean load fractions
    of the defined nets (dims alpha, depth, load; NaN beyond the cell's D - 1 loads) and
    the deep share's mean and standard error over them, with their count."""
    import xarray as xr

    if nets.attrs.get("knob") != "depth":
        raise ValueError("load_by_depth needs a depth panel (knob depth)")
    fractions = (nets["elongations"] / nets["total_load"]).where(
        np.isfinite(nets["normalised_curvature"])
    )
    depths = nets["net_depth"].values
    share = np.full(fractions.shape[:-1], np.nan)
    for j, depth in enumerate(depths):
        share[:, j] = deep_share(fractions.values[:, j], int(depth) - 1)
    share = xr.DataArray(share, dims=fractions.dims[:-1], coords=fractions["seed"].coords)
    n = share.notnull().sum("seed")
    mean = share.mean("seed")
    sem = share.std("seed", ddof=1) / np.sqrt(n)
    return xr.Dataset(
        {
            "load_fraction_mean": fractions.mean("seed").assign_attrs(
                long_name="d_l / (D_0 - D_last), mean over the defined nets"
            ),
            "deep_share_mean": mean.assign_attrs(
                long_name="fraction of the total load in the deeper half of the layers",
                nan_meaning="no net of the cell has a defined load-curve shape",
            ),
            "deep_share_sem": sem.where(n > 1).assign_attrs(
                nan_meaning="fewer than two nets of the cell have a defined shape"
            ),
            "deep_share_nets": n,
        },
        coords={"net_depth": nets["net_depth"]},
    )


def summary(by_depth) -> list[dict]:
    """JSON rows, one per (alpha, depth): the deep share with its standard error."""

    def number(x):
        x = float(x)
        return x if np.isfinite(x) else None

    rows = []
    for alpha in by_depth["alpha"].values:
        for depth in by_depth["depth"].values:
            cell = by_depth.sel(alpha=alpha, depth=depth)
            rows.append(
                {
                    "alpha": float(alpha),
                    "depth": int(depth),
                    "deep_share": number(cell["deep_share_mean"]),
                    "deep_share_sem": number(cell["deep_share_sem"]),
                    "nets": int(cell["deep_share_nets"]),
                }
            )
    return rows
