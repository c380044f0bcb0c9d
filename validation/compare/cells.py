"""What the theory-vs-nets comparison reads from a finished panel: per cell, the shape of
the nets' load curve as fractions of the total load, with its standard error over seeds,
and the two coordinates the model's maps take (the knob scaled to [0, 1], and the
training protocol's time factor).

Shapes on the same footing (reference section 5): a net's loads d_l = D_{l-1} - D_l are
divided by its total load D_0 - D_last, the chain's elongations by y, so both sum to one;
the normalised curvature c / total and spread v / total are compared
(:mod:`springblock.validation.nets.sweep`).

**Knob coordinate** u in [0, 1], larger = noisier, from the panel's grid of values (known
before any net trains): linear for data noise and dropout, log for the learning rate,
inverted log for the batch size. The structural knobs get a coordinate too (inverted log
width, linear depth), for the theory-free baselines; the model's noise does not follow
them (:mod:`~springblock.validation.compare.fit`).

**Time factor.** The model's time is T = T0 f with one fitted scale T0 shared by every panel
and a factor f derived from the training protocol: the total length of Adam's steps,
f = (lr / 1e-3) x (epochs x steps per epoch) / 100, relative to the default protocol (100
full-batch epochs at lr 1e-3). So the learning-rate knob moves both the noise (through its
fitted noise map) and the time, and small batches (more steps per epoch) train longer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REFERENCE_LR = 1e-3
REFERENCE_STEPS = 100


def knob_coordinate(knob: str, values) -> np.ndarray:
    """u in [0, 1] for each knob value, larger = noisier (module docstring)."""
    values = np.asarray(values, float)
    if knob in ("learning-rate", "batch-size", "width"):
        x = np.log(values)
        if knob in ("batch-size", "width"):
            x = -x
    else:
        x = values
    span = x.max() - x.min()
    return np.zeros_like(x) if span == 0 else (x - x.min()) / span


def time_factor(spec: dict, values) -> np.ndarray:
    """f for each knob value of a panel ``spec`` (a SweepSpec as JSON)."""
    values = np.asarray(values, float)
    knob = spec["knob"]
    lr = values if knob == "learning-rate" else np.full(values.shape, spec["learning_rate"])
    n = spec["train_size"]
    if knob == "batch-size":
        batch = values
    else:
        batch = np.full(values.shape, spec["batch_size"] or n, float)
    steps = spec["epochs"] * np.floor(n / np.minimum(batch, n))
    return (lr / REFERENCE_LR) * steps / REFERENCE_STEPS


@dataclass(frozen=True)
class PanelCells:
    """One panel's cells, dims (alpha, value): means over ok nets and standard errors
    (NaN with fewer than two ok nets), and ``defined`` where the shape is defined (an ok
    net gained separation: total load > 0)."""

    knob: str
    dim: str
    alphas: np.ndarray
    values: np.ndarray
    u: np.ndarray
    log_time_factor: np.ndarray
    c: np.ndarray
    c_se: np.ndarray
    v: np.ndarray
    v_se: np.ndarray
    n_ok: np.ndarray
    shape: np.ndarray  # (alpha, value, load): mean elongation fractions of the ok nets
    depth: int
    spec: dict
    depths: np.ndarray | None = None  # (value,): a depth panel's nets' depth per column

    @property
    def column_depths(self) -> np.ndarray:
        """The nets' depth in each knob column (all ``depth`` unless the knob is the depth)."""
        if self.depths is None:
            return np.full(len(self.values), self.depth)
        return np.asarray(self.depths, int)

    @property
    def defined(self) -> np.ndarray:
        return np.isfinite(self.c) & np.isfinite(self.v)

    @property
    def grid(self) -> tuple[int, int]:
        return self.c.shape


def from_results(ds) -> PanelCells:
    """The cells of a panel's labelled results (``springblock.open_results(panel_dir)``)."""
    spec = ds.attrs["spec"]
    dim = ds.attrs["knob_dim"]
    ok = ds["status"] == 0
    total = ds["total_load"].where(ok)
    fractions = (ds["elongations"].where(ok) / total).mean("seed").values
    values = ds[dim].values
    return PanelCells(
        knob=spec["knob"],
        dim=dim,
        alphas=ds["alpha"].values,
        values=values,
        u=knob_coordinate(spec["knob"], values),
        log_time_factor=np.log(time_factor(spec, values)),
        c=ds["cell_normalised_curvature_mean"].values,
        c_se=ds["cell_normalised_curvature_sem"].values,
        v=ds["cell_normalised_spread_mean"].values,
        v_se=ds["cell_normalised_spread_sem"].values,
        n_ok=ds["cell_n_ok"].values,
        shape=fractions,
        depth=int(spec["depth"]),
        spec=spec,
        depths=(
            ds["net_depth"].values.astype(int)
            if "net_depth" in ds.coords
            else np.full(values.shape, int(spec["depth"]))
        ),
    )
