"""A panel of the noise x nonlinearity phase diagram of trained nets: run, store, resume.

Shi, Pan & Dokmanic (arXiv 2407.19353), reference section 2: one panel crosses a noise
knob (data noise, learning rate, dropout or batch size) with the LeakyReLU slope alpha,
several seeds per cell. Every net is trained and measured by one compiled function
(:func:`springblock.validation.nets.train.compiled_train_and_measure`), compiled once per
distinct shape; nets are streamed through it one at a time (on this 2-core CPU faster per
net than a vmapped batch: ``benchmarks/sweep.py``) or, with ``batched``, all seeds of a cell
in one vmapped call.

Each finished net is written at once to ``DIR/nets/`` (one small ``.npz``, atomically), so
an interrupted sweep resumes where it stopped and loses nothing; :func:`collect` assembles
the labelled arrays (dims alpha, value, seed, layer) and the per-net records.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from springblock.params import ParameterError, check_int, check_real

KNOBS = ("data-noise", "learning-rate", "dropout", "batch-size")

#: The paper's grids (reference section 2).
PAPER_ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
PAPER_VALUES = {
    "data-noise": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
    "learning-rate": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 5e-1),
    "dropout": tuple(round(0.02 * i, 2) for i in range(16)),
    "batch-size": (5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560),
}
MEASURES = ("pinv", "trace")


@dataclass(frozen=True)
class SweepSpec:
    """Everything that determines a panel's results (its digest names the store)."""

    knob: str = "data-noise"
    dataset: str = "mnist1d"
    alphas: tuple[float, ...] = PAPER_ALPHAS
    values: tuple[float, ...] = PAPER_VALUES["data-noise"]
    seeds: int = 10
    epochs: int = 100
    depth: int = 8
    width: int = 100
    train_size: int | None = 2560
    learning_rate: float = 1e-3  # used unless the knob is the learning rate
    batch_size: int | None = None  # full batch unless the knob is the batch size
    optimizer: str = "adam"
    measure: str = "pinv"
    seed: int = 0
    batched: bool = False

    def __post_init__(self):
        if self.knob not in KNOBS:
            raise ParameterError("knob", self.knob, f"one of {KNOBS}")
        if self.measure not in MEASURES:
            raise ParameterError("measure", self.measure, f"one of {MEASURES}")
        if not self.alphas:
            raise ParameterError("alphas", self.alphas, "a non-empty list")
        for a in self.alphas:
            check_real("alphas", a, minimum=0.0, maximum=1.0)
        if not self.values:
            raise ParameterError("values", self.values, "a non-empty list")
        limits = {
            "data-noise": (0.0, 1.0),
            "dropout": (0.0, 0.95),
            "learning-rate": (0.0, 10.0),
            "batch-size": (2.0, 1e9),
        }[self.knob]
        for v in self.values:
            check_real(
                "values",
                v,
                minimum=limits[0],
                maximum=limits[1],
                strict=self.knob == "learning-rate",
            )
            if self.knob == "batch-size" and not float(v).is_integer():
                raise ParameterError("values", v, "integer batch sizes")
        check_int("seeds", self.seeds, 1, 10_000)
        check_int("epochs", self.epochs, 1, 1_000_000)
        check_int("depth", self.depth, 3, 1000)
        check_int("width", self.width, 1, 100_000)
        if self.train_size is not None:
            check_int("train_size", self.train_size, 10, 10_000_000)
        check_real("learning_rate", self.learning_rate, minimum=0.0, strict=True)

    @property
    def cells(self) -> int:
        return len(self.alphas) * len(self.values)

    @property
    def nets(self) -> int:
        return self.cells * self.seeds

    def digest(self) -> str:
        text = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SweepSpec:
        data = dict(data)
        for key in ("alphas", "values"):
            data[key] = tuple(data[key])
        return cls(**data)


def _hyper_and_config(spec: SweepSpec, alpha: float, value: float):
    from springblock.validation.nets.train import Hyper, TrainConfig

    batch = int(value) if spec.knob == "batch-size" else spec.batch_size
    config = TrainConfig(
        depth=spec.depth,
        width=spec.width,
        epochs=spec.epochs,
        batch_size=batch,
        optimizer=spec.optimizer,
    )
    hyper = Hyper(
        alpha=alpha,
        learning_rate=value if spec.knob == "learning-rate" else spec.learning_rate,
        dropout=value if spec.knob == "dropout" else 0.0,
        data_noise=value if spec.knob == "data-noise" else 0.0,
    )
    return config, hyper


def _net_path(store: Path, i: int, j: int, s: int) -> Path:
    return store / "nets" / f"net_a{i:02d}_v{j:02d}_s{s:03d}.npz"


def _save_atomic(path: Path, arrays: dict) -> None:
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def run(
    spec: SweepSpec, store: Path, dataset=None, progress: Callable[[int, int], None] | None = None
) -> dict:
    """Train and measure every net of the panel not already in ``store``; return :func:`collect`.

    ``progress(done, total)`` is called after every net (also for nets found on disk).
    """
    import jax
    import jax.numpy as jnp

    from springblock.validation.nets.data import load_dataset
    from springblock.validation.nets.train import compiled_train_and_measure

    store.mkdir(parents=True, exist_ok=True)
    (store / "nets").mkdir(exist_ok=True)
    spec_path = store / "spec.json"
    if not spec_path.exists():
        spec_path.write_text(json.dumps(spec.to_json(), indent=1))
    data = dataset or load_dataset(spec.dataset, train_size=spec.train_size, seed=spec.seed)
    arrays = [jnp.asarray(a) for a in (data.x_train, data.y_train, data.x_test, data.y_test)]
    base = jax.random.key(spec.seed)
    done = 0
    for i, alpha in enumerate(spec.alphas):
        for j, value in enumerate(spec.values):
            config, hyper = _hyper_and_config(spec, alpha, value)
            todo = [s for s in range(spec.seeds) if not _net_path(store, i, j, s).exists()]
            done += spec.seeds - len(todo)
            if not todo:
                if progress:
                    progress(done, spec.nets)
                continue
            # Seed s of every cell uses the same initialisation and noise stream.
            keys = [jax.random.fold_in(base, s) for s in todo]
            if spec.batched:
                fn = compiled_train_and_measure(config, data.num_classes, batched=True)
                hypers = type(hyper)(*[jnp.full((len(todo),), h, jnp.float32) for h in hyper])
                out = fn(*arrays, hypers, jnp.stack(keys))
                results = [
                    {k: np.asarray(v[n]) for k, v in out._asdict().items()}
                    for n in range(len(todo))
                ]
            else:
                fn = compiled_train_and_measure(config, data.num_classes)
                hyper = type(hyper)(*[jnp.float32(h) for h in hyper])
                results = [
                    {k: np.asarray(v) for k, v in fn(*arrays, hyper, k)._asdict().items()}
                    for k in keys
                ]
            for s, result in zip(todo, results, strict=True):
                _save_atomic(_net_path(store, i, j, s), result)
                done += 1
                if progress:
                    progress(done, spec.nets)
    return collect(spec, store)


def collect(spec: SweepSpec, store: Path) -> dict:
    """Stack the stored nets into arrays with dims (alpha, value, seed[, layer]).

    Missing nets (an unfinished sweep) are NaN. Load-curve statistics use the measure
    ``spec.measure`` over layers h_0..h_{depth-1} (logits dropped, as the authors do).
    """
    from springblock.validation.nets.separation import load_curve_statistics

    shape = (len(spec.alphas), len(spec.values), spec.seeds)
    fields: dict[str, np.ndarray] = {}
    for i in range(shape[0]):
        for j in range(shape[1]):
            for s in range(shape[2]):
                path = _net_path(store, i, j, s)
                if not path.exists():
                    continue
                with np.load(path) as net:
                    for name in net.files:
                        value = net[name]
                        if name not in fields:
                            fields[name] = np.full(shape + value.shape, np.nan)
                        fields[name][i, j, s] = value
    if not fields:
        raise FileNotFoundError(f"no finished nets in {store / 'nets'}")
    load = fields["separation_" + spec.measure]
    d, v, c = (np.asarray(a) for a in load_curve_statistics(load))
    fields.update(load_curve=load, elongations=d, spread=v, curvature=c)
    fields["complete"] = np.array(not np.isnan(fields["test_accuracy"]).any())
    return fields


def records(spec: SweepSpec, fields: dict) -> list[dict]:
    """One JSON-ready record per finished net: alpha, value, seed, accuracy, load curve, v, c."""
    out = []
    for i, alpha in enumerate(spec.alphas):
        for j, value in enumerate(spec.values):
            for s in range(spec.seeds):
                acc = float(fields["test_accuracy"][i, j, s])
                if math.isnan(acc):
                    continue
                out.append(
                    {
                        "alpha": alpha,
                        "value": value,
                        "seed": s,
                        "test_accuracy": acc,
                        "load_curve": [float(x) for x in fields["load_curve"][i, j, s]],
                        "spread": float(fields["spread"][i, j, s]),
                        "curvature": float(fields["curvature"][i, j, s]),
                        "epochs_run": int(fields["epochs_run"][i, j, s]),
                        "weight_change": [float(x) for x in fields["weight_change"][i, j, s]],
                        "kernel_change": [float(x) for x in fields["kernel_change"][i, j, s]],
                    }
                )
    return out


def summary(spec: SweepSpec, fields: dict) -> dict:
    """Cell means and the accuracy-linearity correlation (Spearman, over cells)."""
    from scipy import stats

    acc = np.nanmean(fields["test_accuracy"], axis=-1)
    v = np.nanmean(fields["spread"], axis=-1)
    c = np.nanmean(fields["curvature"], axis=-1)
    rho_v = stats.spearmanr(acc.ravel(), v.ravel())
    rho_c = stats.spearmanr(acc.ravel(), np.abs(c).ravel())
    best = np.unravel_index(np.nanargmax(acc), acc.shape)
    return {
        "cell_test_accuracy": acc.tolist(),
        "cell_spread": v.tolist(),
        "cell_curvature": c.tolist(),
        "spearman_accuracy_vs_spread": {
            "rho": float(rho_v.statistic),
            "p_value": float(rho_v.pvalue),
        },
        "spearman_accuracy_vs_abs_curvature": {
            "rho": float(rho_c.statistic),
            "p_value": float(rho_c.pvalue),
        },
        "best_cell": {
            "alpha": spec.alphas[best[0]],
            "value": spec.values[best[1]],
            "test_accuracy": float(acc[best]),
        },
        "phase_counts": {"concave": int(np.sum(c < 0)), "convex": int(np.sum(c > 0))},
    }


def default_values(knob: str) -> Sequence[float]:
    return PAPER_VALUES[knob]
