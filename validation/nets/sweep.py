"""A panel of the noise x nonlinearity phase diagram of trained nets: specify, run, store.

Shi, Pan & Dokmanic (arXiv 2407.19353), reference section 2: one panel crosses a noise
knob (data noise, learning rate, dropout or batch size) with the LeakyReLU slope alpha,
several seeds per cell. Every net is trained and measured by one compiled function
(:func:`springblock.validation.nets.train.compiled_train_and_measure`), compiled once per
distinct shape; nets are streamed through it one at a time (on a 2-core CPU faster per net
than a vmapped batch: ``benchmarks/sweep.py``) or, with ``batched``, all seeds of a cell in
one vmapped call.

**Execution** (:mod:`~springblock.validation.nets.executor`): in this process, or on Dask
distributed workers (a local cluster of single-threaded processes, or an existing cluster).

**Store.** The nets of a panel live in the results store (:class:`springblock.results.Store`)
under ``OUT/store/nets/<digest>/nets/``, one JSON record per net named by its coordinates
(``alpha=0.2_dropout=0.04_seed=3.json``), each written atomically when the net finishes, so
an interrupted sweep loses nothing and resumes. The digest covers the spec, the package
version and the content of the training and test data: a changed data file or version
recomputes, and the output says why.

**Labelled arrays.** :func:`collect` assembles the records into an :class:`xarray.Dataset`
with dimensions ``alpha``, the knob under its own name (``data_noise``, ``learning_rate``,
``dropout``, ``batch_size``, ``width``, ``depth``), ``seed``, ``layer`` (h_0..h_{depth-1}),
``load`` (d_1..d_{depth-1}), ``linear`` and ``epoch`` (a depth panel's layer axes are as long
as its deepest nets, the others NaN beyond their depth, coordinate ``net_depth``);
``status`` says for every net whether it is ``ok``, ``diverged`` (loss or features
non-finite: training stopped), ``undefined`` (its separation is not finite, e.g.
coinciding class means) or ``missing`` (not trained yet).
:func:`cell_statistics` reduces over seeds using the ``ok`` nets only, with their counts.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from springblock import results
from springblock.params import ParameterError, check_int, check_real
from springblock.validation.nets import data as datasets

#: The noise knobs of reference section 2, then the two structural knobs (issue 15: the
#: paper's abstract names width and depth among what shapes feature learning): the
#: hidden width of the MLP, and its depth (Linear layers; the CNN's blocks + 1).
NOISE_KNOBS = ("data-noise", "learning-rate", "dropout", "batch-size")
STRUCTURAL_KNOBS = ("width", "depth")
KNOBS = NOISE_KNOBS + STRUCTURAL_KNOBS
#: Knobs whose values are integers (stored and named as such).
INTEGER_KNOBS = ("batch-size", "width", "depth")

#: The knob's dimension name in the labelled results (a Python identifier, for ``.sel``).
KNOB_DIMS = {knob: knob.replace("-", "_") for knob in KNOBS}

#: The paper's grids (reference section 2).
PAPER_ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
PAPER_VALUES = {
    "data-noise": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8),
    "learning-rate": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 5e-1),
    "dropout": tuple(round(0.02 * i, 2) for i in range(16)),
    "batch-size": (5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560),
}
#: Our grids of the structural knobs (the paper has none): widths around the paper's 100
#: by factors of two, and depths around its 8 up to twice as deep.
STRUCTURAL_VALUES = {
    "width": (25, 50, 100, 200, 400),
    "depth": (4, 6, 8, 10, 12, 16),
}
DEFAULT_VALUES = {**PAPER_VALUES, **{k: tuple(map(float, v)) for k, v in STRUCTURAL_VALUES.items()}}
#: Epochs of the paper's protocol: 200 for the learning-rate panel, 100 otherwise.
PAPER_EPOCHS = {"learning-rate": 200}
DEFAULT_EPOCHS = 100
MEASURES = ("pinv", "trace")
OPTIMIZERS = ("adam", "sgd", "sgld")

#: A net's load-curve shape (loads as fractions of the total) is defined only when it
#: gained at least this much separation, D_0 - D_last in nats: below it the fractions
#: divide by almost nothing (a net at data noise 0.8 gains ~0.01 and gives c / total ~ 20).
MIN_TOTAL_LOAD = 0.1

#: Every net's status in the labelled results (``status`` variable, int8 codes).
STATUSES = ("ok", "diverged", "undefined", "missing")

#: The allowed values of each knob, in words (checked by :func:`check_knob_value`).
KNOB_RANGES = {
    "data-noise": "fractions in [0, 1)",
    "dropout": "probabilities in [0, 1)",
    "learning-rate": "learning rates in (0, 10]",
    "batch-size": "integer batch sizes in [1, the training-set size]",
    "width": "integer widths in [1, 10000]",
    "depth": "integer depths (Linear layers) in [3, 200]",
}


def knob_dim(knob: str) -> str:
    return KNOB_DIMS[knob]


def check_knob_value(knob: str, value, train_size: int) -> float:
    """``value`` as a float if it is allowed for ``knob`` (:data:`KNOB_RANGES`), else a
    ParameterError naming ``values``."""
    allowed = KNOB_RANGES[knob].replace("the training-set size", str(train_size))
    try:
        v = check_real("values", value)
    except ParameterError:
        raise ParameterError("values", value, allowed) from None
    ok = {
        "data-noise": 0.0 <= v < 1.0,
        "dropout": 0.0 <= v < 1.0,
        "learning-rate": 0.0 < v <= 10.0,
        "batch-size": float(v).is_integer() and 1 <= v <= train_size,
        "width": float(v).is_integer() and 1 <= v <= 10_000,
        "depth": float(v).is_integer() and 3 <= v <= 200,
    }[knob]
    if not ok:
        raise ParameterError("values", value, allowed)
    return v


#: SweepSpec fields added after panels were stored, with their defaults (left out of its
#: JSON, hence its digests, at the default).
LATER_DEFAULTS = {"hessian": False, "arch": "mlp", "channels": 20, "checkpoints": ()}

#: Checkpoint variables reduced over seeds by :func:`cell_statistics` (dims with checkpoint).
CHECKPOINT_CELL_FIELDS = ("checkpoint_normalised_curvature", "checkpoint_normalised_spread")

#: The curvature variables of a panel with ``hessian`` (train.Measurement's, per net).
HESSIAN_FIELDS = {
    "hessian_top_eigenvalue": "top eigenvalue of the Hessian of the final evaluation-mode "
    "training loss (Lanczos; a lower bound)",
    "hessian_top_eigenvalue_residual": "Lanczos residual: an eigenvalue lies within it of "
    "hessian_top_eigenvalue",
    "hessian_trace": "trace of the same Hessian (Hutchinson estimate)",
    "hessian_trace_standard_error": "standard error of hessian_trace",
}


@dataclass(frozen=True)
class SweepSpec:
    """Everything that determines a panel's results; validated on construction.

    ``values`` and ``epochs`` default to the paper's grid and epochs of ``knob``
    (:data:`PAPER_VALUES`, :data:`PAPER_EPOCHS`; ours for the structural knobs,
    :data:`STRUCTURAL_VALUES`); ``train_size`` to the data set's
    (:func:`~springblock.validation.nets.data.default_train_size`: 2560 for image data, all
    samples of a user file). ``seed`` seeds the nets (initialisation, noise: seed s of every
    cell uses key fold_in(key(seed), s)); ``data_seed`` the one fixed training subset all
    nets share. ``learning_rate`` applies unless the knob is the learning rate,
    ``batch_size`` (None: full batch) unless it is the batch size. How the nets are
    executed (:class:`~springblock.validation.nets.executor.Execution`) is not part of it.
    ``hessian`` also measures every net's loss curvature (:data:`HESSIAN_FIELDS`);
    ``checkpoints`` (increasing epochs) records every layer's separation after each of
    those epochs (dimension ``checkpoint`` of the results; streamed nets only).
    ``arch`` "cnn" trains the authors' CNN instead of the MLP (``depth - 1`` blocks of
    ``channels`` channels, on image data; ``width`` is then unused): see
    :mod:`springblock.validation.nets.cnn`. With ``knob`` "width" or "depth" the knob's
    value replaces ``width`` or ``depth`` (which are then unused); the width knob is the
    MLP's (the CNN's width is ``channels``).
    """

    knob: str = "data-noise"
    dataset: str = datasets.DEFAULT_DATASET
    alphas: tuple[float, ...] = PAPER_ALPHAS
    values: tuple[float, ...] | None = None
    seeds: int = 10
    epochs: int | None = None
    depth: int = 8
    width: int = 100
    train_size: int | None = None
    learning_rate: float = 1e-3
    batch_size: int | None = None
    optimizer: str = "adam"
    measure: str = "pinv"
    seed: int = 0
    data_seed: int = 0
    hessian: bool = False
    arch: str = "mlp"
    channels: int = 20
    checkpoints: tuple[int, ...] = ()

    def __post_init__(self):
        set_ = object.__setattr__
        if self.knob not in KNOBS:
            raise ParameterError("knob", self.knob, f"one of {', '.join(KNOBS)}")
        if self.measure not in MEASURES:
            raise ParameterError("measure", self.measure, f"one of {', '.join(MEASURES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ParameterError("optimizer", self.optimizer, f"one of {', '.join(OPTIMIZERS)}")
        available = datasets.check_source(self.dataset, self.train_size)
        set_(self, "dataset", str(self.dataset))
        set_(self, "train_size", available)
        alphas = tuple(
            float(check_real("alphas", a, minimum=0.0, maximum=1.0)) for a in self.alphas
        )
        if not alphas or len(set(alphas)) != len(alphas):
            raise ParameterError(
                "alphas", self.alphas, "a non-empty list of distinct slopes in [0, 1]"
            )
        set_(self, "alphas", alphas)
        values = DEFAULT_VALUES[self.knob] if self.values is None else self.values
        values = tuple(check_knob_value(self.knob, v, available) for v in values)
        if not values or len(set(values)) != len(values):
            raise ParameterError(
                "values", self.values, f"a non-empty list of distinct {KNOB_RANGES[self.knob]}"
            )
        if self.knob in INTEGER_KNOBS:
            values = tuple(float(int(v)) for v in values)
        set_(self, "values", values)
        epochs = PAPER_EPOCHS.get(self.knob, DEFAULT_EPOCHS) if self.epochs is None else self.epochs
        set_(self, "epochs", check_int("epochs", epochs, 1, 100_000))
        check_int("seeds", self.seeds, 1, 10_000)
        check_int("depth", self.depth, 3, 200)
        check_int("width", self.width, 1, 10_000)
        check_real("learning_rate", self.learning_rate, minimum=0.0, strict=True, maximum=10.0)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, 1, available)
        from springblock.validation.nets.train import ARCHS

        if self.arch not in ARCHS:
            raise ParameterError("arch", self.arch, f"one of {', '.join(ARCHS)}")
        if self.arch == "cnn" and self.knob == "width":
            raise ParameterError(
                "knob", self.knob, "not width with --arch cnn (its width is --channels)"
            )
        check_int("channels", self.channels, 1, 4096)
        if not isinstance(self.hessian, bool):
            raise ParameterError("hessian", self.hessian, "true or false")
        from springblock.validation.nets.train import check_checkpoints

        set_(self, "checkpoints", check_checkpoints(self.checkpoints, self.epochs))
        check_int("seed", self.seed, 0, 2**31 - 1)
        check_int("data_seed", self.data_seed, 0, 2**31 - 1)
        if self.nets > 10_000_000:
            raise ParameterError("seeds", self.seeds, "at most 1e7 nets per panel in all")

    @classmethod
    def for_knob(cls, knob: str, **overrides) -> SweepSpec:
        """The paper's panel of ``knob`` (its grid and epochs), with ``overrides``."""
        return cls(knob=knob, **overrides)

    @property
    def dim(self) -> str:
        """The knob's dimension name in the results."""
        return KNOB_DIMS[self.knob]

    @property
    def depths(self) -> tuple[int, ...]:
        """The depth of the nets of every knob value (one unless the knob is the depth)."""
        assert self.values is not None
        if self.knob == "depth":
            return tuple(int(v) for v in self.values)
        return (self.depth,) * len(self.values)

    @property
    def max_depth(self) -> int:
        """The length of the layer axis of the results (shorter nets padded with NaN)."""
        return max(self.depths)

    @property
    def cells(self) -> int:
        assert self.values is not None
        return len(self.alphas) * len(self.values)

    @property
    def nets(self) -> int:
        return self.cells * self.seeds

    def to_json(self) -> dict:
        """Every field, except those added after results were first stored when they are at
        their default (:data:`LATER_DEFAULTS`): a store written before them keeps its digest."""
        out = dataclasses.asdict(self)
        return {
            k: v for k, v in out.items() if not (k in LATER_DEFAULTS and v == LATER_DEFAULTS[k])
        }

    def store_params(self) -> dict:
        """What the nets' results depend on (the digest of the store)."""
        return self.to_json()

    @classmethod
    def from_json(cls, record: dict) -> SweepSpec:
        record = dict(record)
        for key in ("alphas", "values", "checkpoints"):
            if key in record:
                record[key] = tuple(record[key])
        return cls(**record)


# --------------------------------------------------------------------------- one net


@dataclass(frozen=True)
class NetJob:
    """One net of a panel: its cell (alpha, knob value) and seed index."""

    alpha: float
    value: float
    seed: int

    def name(self, knob: str) -> str:
        """File stem of its record: coordinates, not grid positions."""
        value = int(self.value) if knob in INTEGER_KNOBS else self.value
        return f"alpha={self.alpha!r}_{knob}={value!r}_seed={self.seed}"


def jobs(spec: SweepSpec) -> list[NetJob]:
    """Every net of the panel, cell by cell (alpha, then knob value), seeds innermost."""
    assert spec.values is not None
    return [NetJob(a, v, s) for a in spec.alphas for v in spec.values for s in range(spec.seeds)]


def check_arch(spec: SweepSpec) -> None:
    """Refuse (ParameterError naming ``arch``) a CNN panel whose data set has no image
    shape, before any net trains; an MLP panel takes any data."""
    if spec.arch == "cnn":
        train_config(spec, (spec.values or (0.0,))[0], load_data(spec).image_shape)


def train_config(spec: SweepSpec, value: float, image_shape=None):
    """The static training settings of a net of the cell with knob ``value``; the CNN
    needs the data's ``image_shape``."""
    from springblock.validation.nets.train import TrainConfig

    cnn = spec.arch == "cnn"
    if cnn and image_shape is None:
        raise ParameterError("arch", spec.arch, f"image data ({spec.dataset} has no image shape)")

    batch = int(value) if spec.knob == "batch-size" else spec.batch_size
    assert spec.epochs is not None
    return TrainConfig(
        depth=int(value) if spec.knob == "depth" else spec.depth,
        width=int(value) if spec.knob == "width" else spec.width,
        epochs=spec.epochs,
        batch_size=batch,
        optimizer=spec.optimizer,
        hessian=spec.hessian,
        arch=spec.arch,
        channels=spec.channels,
        image_shape=tuple(image_shape) if cnn else None,
        checkpoints=spec.checkpoints,
    )


def hyper(spec: SweepSpec, job: NetJob):
    """The traced hyperparameters of ``job``."""
    from springblock.validation.nets.train import Hyper

    return Hyper(
        alpha=job.alpha,
        learning_rate=job.value if spec.knob == "learning-rate" else spec.learning_rate,
        dropout=job.value if spec.knob == "dropout" else 0.0,
        data_noise=job.value if spec.knob == "data-noise" else 0.0,
    )


def status_of(measurement: dict) -> str:
    """``diverged``, ``undefined`` (a separation is not finite) or ``ok``."""
    if bool(measurement["diverged"]):
        return "diverged"
    separations = np.concatenate(
        [np.ravel(measurement["separation_pinv"]), np.ravel(measurement["separation_trace"])]
    )
    return "ok" if np.all(np.isfinite(separations)) else "undefined"


#: Compiled shapes this process has already run (a net's time includes compilation when
#: it is the first of its shape here: ``first_of_shape`` in its record).
_RAN: set = set()


def record(job: NetJob, measurement: dict, seconds: float, first: bool = False) -> dict:
    """The JSON record of a finished net."""
    status = status_of(measurement)
    rec = {"alpha": job.alpha, "value": job.value, "seed": job.seed, "status": status}
    rec |= {k: np.asarray(v).tolist() for k, v in measurement.items()}
    rec["diverged"] = status == "diverged"
    rec["train_seconds"] = seconds
    rec["first_of_shape"] = first
    if status != "ok":
        rec["note"] = {
            "diverged": "the training loss, the features or the logits became non-finite; "
            "training stopped and no measurement of this net is a result",
            "undefined": "a per-layer separation is not finite (e.g. all class means "
            "coincide in a layer); the load curve is undefined",
        }[status]
    return rec


def train_jobs(
    spec: SweepSpec, data: datasets.Dataset, todo: list[NetJob], batched: bool = False
) -> Iterator[tuple[NetJob, dict]]:
    """Train and measure the nets ``todo`` (grouped by cell: one compiled shape per knob
    value); yield each (job, record) as soon as it is finished. ``batched``: the nets of a
    cell in one vmapped call, sharded over the JAX devices (padded to a multiple of their
    number)."""
    import jax
    import jax.numpy as jnp

    from springblock.validation.nets.executor import shard_over_devices
    from springblock.validation.nets.train import compiled_train_and_measure

    arrays = [jnp.asarray(a) for a in (data.x_train, data.y_train, data.x_test, data.y_test)]
    base = jax.random.key(spec.seed)
    cells: dict[tuple[float, float], list[NetJob]] = {}
    for job in todo:
        cells.setdefault((job.alpha, job.value), []).append(job)
    for (_, value), group in cells.items():
        config = train_config(spec, value, data.image_shape)
        h = hyper(spec, group[0])
        h32 = type(h)(*[jnp.float32(x) for x in h])  # one traced dtype with or without x64
        keys = [jax.random.fold_in(base, job.seed) for job in group]
        shape_key = (config, data.num_classes, batched, data.x_train.shape)
        first = shape_key not in _RAN
        _RAN.add(shape_key)
        if batched:
            fn = compiled_train_and_measure(config, data.num_classes, batched=True)
            devices = jax.device_count()
            size = -(-len(group) // devices) * devices  # pad: every device gets as many nets
            padded = keys + [keys[-1]] * (size - len(group))
            stacked = shard_over_devices(jnp.stack(padded))
            started = time.perf_counter()
            out = jax.block_until_ready(fn(*arrays, h32, stacked))
            seconds = (time.perf_counter() - started) / len(group)
            for n, job in enumerate(group):
                measurement = {
                    k: np.asarray(v[n]) for k, v in out._asdict().items() if v is not None
                }
                yield job, record(job, measurement, seconds, first and n == 0)
        else:
            fn = compiled_train_and_measure(config, data.num_classes)
            for n, (job, key) in enumerate(zip(group, keys, strict=True)):
                started = time.perf_counter()
                out = fn(*arrays, h32, key)
                measurement = {k: np.asarray(v) for k, v in out._asdict().items() if v is not None}
                elapsed = time.perf_counter() - started
                yield job, record(job, measurement, elapsed, first and n == 0)


# --------------------------------------------------------------------------- the panel


def load_data(spec: SweepSpec) -> datasets.Dataset:
    return datasets.load_dataset(spec.dataset, train_size=spec.train_size, seed=spec.data_seed)


def store_of(spec: SweepSpec, out: Path, data: datasets.Dataset) -> results.Store:
    return results.Store(Path(out) / "store", "nets", spec.store_params(), data.fingerprint())


def _record_path(store: results.Store, spec: SweepSpec, job: NetJob) -> Path:
    return store.path / "nets" / f"{job.name(spec.knob)}.json"


def run(
    spec: SweepSpec,
    out: Path,
    data: datasets.Dataset | None = None,
    progress: Callable[[int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
    execution=None,
):
    """Train every net of the panel not already in the store under ``out`` (where:
    ``execution``, an :class:`~springblock.validation.nets.executor.Execution`; default:
    its automatic choice); return the labelled results (:func:`collect`).
    ``progress(done, total)`` is called as nets finish (also for nets found in the store);
    ``log`` gets one line on the store's state and one on the workers."""
    from springblock.validation.nets.executor import Execution, run_distributed

    execution = execution or Execution()
    if spec.checkpoints and execution.batched:
        raise ParameterError("batched", True, "not with checkpoints (streamed nets only)")
    data = data or load_data(spec)
    store = store_of(spec, out, data)
    status = store.open(lambda path: (path / "nets").glob("*.json"))
    if log is not None:
        log(f"[{spec.knob} panel] {status}")
    nets_dir = store.path / "nets"
    nets_dir.mkdir(parents=True, exist_ok=True)
    all_jobs = jobs(spec)
    todo = [job for job in all_jobs if not _record_path(store, spec, job).exists()]
    done = len(all_jobs) - len(todo)
    if progress is not None:
        progress(done, len(all_jobs))
    if todo and execution.distributed(len(todo)):

        def advance(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(done, len(all_jobs))

        run_distributed(spec, data, todo, nets_dir, execution, advance, log)
    else:
        for job, rec in train_jobs(spec, data, todo, execution.batched):
            results.write_json(_record_path(store, spec, job), rec)
            done += 1
            if progress is not None:
                progress(done, len(all_jobs))
    return collect(spec, store, data)


def collect(spec: SweepSpec, store: results.Store, data: datasets.Dataset | None = None):
    """The stored nets as an :class:`xarray.Dataset` (module docstring). Nets not in the
    store are ``missing`` (their values NaN)."""
    import jax
    import xarray as xr

    from springblock.validation.nets.separation import load_curve_statistics

    assert spec.values is not None and spec.epochs is not None
    shape = (len(spec.alphas), len(spec.values), spec.seeds)
    layers = linears = spec.max_depth  # a depth panel's shallower nets: NaN beyond their depth
    fields = {
        "test_accuracy": (),
        "train_accuracy": (),
        "final_loss": (),
        "epochs_run": (),
        "train_seconds": (),
        "first_of_shape": (),
        "separation_pinv": (layers,),
        "separation_trace": (layers,),
        "weight_change": (linears,),
        "kernel_change": (layers,),
        "losses": (spec.epochs,),
    }
    if spec.hessian:
        fields |= {name: () for name in HESSIAN_FIELDS}
    snaps = len(spec.checkpoints)
    if snaps:
        fields |= {f"checkpoint_separation_{m}": (snaps, layers) for m in MEASURES}
    arrays = {name: np.full(shape + extra, np.nan) for name, extra in fields.items()}
    status = np.full(shape, STATUSES.index("missing"), np.int8)
    for i, alpha in enumerate(spec.alphas):
        for j, value in enumerate(spec.values):
            for s in range(spec.seeds):
                path = _record_path(store, spec, NetJob(alpha, value, s))
                if not path.exists():
                    continue
                rec = results.read_json(path)
                status[i, j, s] = STATUSES.index(rec["status"])
                for name in fields:
                    got = np.array(rec[name], dtype=float)  # null -> NaN
                    # a depth panel's shallower nets fill the leading entries only
                    index: tuple[int | slice, ...] = (i, j, s)
                    index += tuple(slice(0, n) for n in got.shape)
                    arrays[name][index] = got
    load = arrays["separation_" + spec.measure]
    ok = status == STATUSES.index("ok")
    usable = np.where(ok[..., None], load, 0.0)  # statistics of non-ok nets are masked below
    d = np.full(shape + (layers - 1,), np.nan)
    v, c, total = (np.full(shape, np.nan) for _ in range(3))
    for j, depth in enumerate(spec.depths):  # each knob column on its own nets' layers
        curve = usable[:, j, :, :depth]
        with jax.enable_x64(True):  # the stored float32 values, exactly, in float64
            d_j, v[:, j], c[:, j] = (np.asarray(a, float) for a in load_curve_statistics(curve))
        d[:, j, :, : depth - 1] = d_j
        total[:, j] = curve[..., 0] - curve[..., -1]
    d, v, c, total = (
        np.where(ok.reshape(ok.shape + (1,) * (a.ndim - 3)), a, np.nan) for a in (d, v, c, total)
    )
    normalised, normalised_spread = _normalised(c, v, total)

    net = ("alpha", spec.dim, "seed")
    no_shape = f", or where the total load is below {MIN_TOTAL_LOAD} (no separation gained)"
    not_ok = "NaN where the net's status is not 'ok' (diverged, undefined or missing)"
    missing = "NaN where the net is missing (not trained yet) or diverged"
    beyond = ", or beyond the net's depth (coordinate net_depth)" if spec.knob == "depth" else ""

    def var(dims, values, meaning, **attrs):
        return (dims, values, {"nan_meaning": meaning, **attrs})

    ds = xr.Dataset(
        {
            "status": (
                net,
                status,
                {"flag_values": list(range(len(STATUSES))), "flag_meanings": " ".join(STATUSES)},
            ),
            "diverged": (net, status == STATUSES.index("diverged")),
            "test_accuracy": var(net, arrays["test_accuracy"], missing),
            "train_accuracy": var(net, arrays["train_accuracy"], missing),
            "final_loss": var(net, arrays["final_loss"], missing),
            "epochs_run": var(net, arrays["epochs_run"], "NaN where the net is missing"),
            "train_seconds": var(
                net,
                arrays["train_seconds"],
                "NaN where the net is missing",
                long_name="seconds to train and measure (with compilation where first_of_shape)",
            ),
            "first_of_shape": var(
                net,
                arrays["first_of_shape"],
                "NaN where the net is missing",
                long_name="1 where the net was the first of its compiled shape in its process",
            ),
            "separation_pinv": var((*net, "layer"), arrays["separation_pinv"], missing + beyond),
            "separation_trace": var((*net, "layer"), arrays["separation_trace"], missing + beyond),
            "load_curve": var(
                (*net, "layer"),
                np.where(ok[..., None], load, np.nan),
                not_ok + beyond,
                long_name=f"separation D_l ({spec.measure}) of layers h_0..h_(depth-1)",
            ),
            "elongations": var((*net, "load"), d, not_ok + beyond, long_name="d_l = D_{l-1} - D_l"),
            "spread": var(net, v, not_ok, long_name="v = std_l d_l"),
            "curvature": var(net, c, not_ok, long_name="c = d_first - d_last"),
            "total_load": var(net, total, not_ok, long_name="D_0 - D_last = sum_l d_l"),
            "normalised_curvature": var(
                net,
                normalised,
                not_ok + no_shape,
                long_name="c / (D_0 - D_last)",
            ),
            "normalised_spread": var(
                net,
                normalised_spread,
                not_ok + no_shape,
                long_name="v / (D_0 - D_last): the spread of the loads as fractions of the total",
            ),
            "weight_change": var((*net, "linear"), arrays["weight_change"], missing + beyond),
            "kernel_change": var((*net, "layer"), arrays["kernel_change"], missing + beyond),
            "losses": var(
                (*net, "epoch"),
                arrays["losses"],
                "NaN after the last epoch run (early stopping), or where the net is missing",
            ),
            **{
                name: var(
                    net,
                    arrays[name],
                    missing + ", or where the curvature was not finite (the net's other "
                    "measurements stand)",
                    long_name=meaning,
                )
                for name, meaning in HESSIAN_FIELDS.items()
                if spec.hessian
            },
            **(
                _checkpoint_variables(spec, arrays, ok, net, var, missing + beyond) if snaps else {}
            ),
        },
        coords={
            "alpha": (
                "alpha",
                np.array(spec.alphas),
                {"long_name": "LeakyReLU slope (1 = linear)"},
            ),
            spec.dim: (spec.dim, np.array(spec.values), {"long_name": spec.knob}),
            "seed": np.arange(spec.seeds),
            "layer": np.arange(layers),
            "load": np.arange(1, layers),
            "linear": np.arange(1, linears + 1),
            "epoch": np.arange(1, spec.epochs + 1),
            **(
                {
                    "checkpoint": (
                        "checkpoint",
                        np.array(spec.checkpoints),
                        {"long_name": "epochs after which the separations were recorded"},
                    )
                }
                if snaps
                else {}
            ),
            "net_depth": (
                spec.dim,
                np.array(spec.depths),
                {"long_name": "Linear layers of the nets (layers beyond it are NaN)"},
            ),
        },
        attrs={
            **results.provenance_attrs("nets-sweep", spec, _computed_by(store)),
            "knob": spec.knob,
            "knob_dim": spec.dim,
            "knob_kind": "structural" if spec.knob in STRUCTURAL_KNOBS else "noise",
            "measure": spec.measure,
            "data_fingerprint": store.data or "",
            "dataset": spec.dataset,
            "dataset_description": {} if data is None else data.describe(),
            "store": str(store.path),
            "seeds_note": "seed s of every cell uses the key "
            f"jax.random.fold_in(jax.random.key({spec.seed}), s)",
        },
    )
    return ds


def _normalised(c, v, total):
    """c / total and v / total where the total load is at least :data:`MIN_TOTAL_LOAD`
    (else NaN: no shape)."""
    gained = total >= MIN_TOTAL_LOAD
    positive = np.where(gained, total, 1.0)
    return np.where(gained, c / positive, np.nan), np.where(gained, v / positive, np.nan)


def _checkpoint_statistics(spec: SweepSpec, arrays: dict, ok: np.ndarray) -> dict:
    """(name -> array) of the load-curve statistics at every checkpoint of every net, dims
    (alpha, value, seed, checkpoint[, layer]); NaN where the net is not ok or had stopped
    training before the checkpoint (and, for the shape, where it had gained no separation)."""
    import jax

    from springblock.validation.nets.separation import load_curve_statistics

    curves = arrays["checkpoint_separation_" + spec.measure]  # (a, v, s, K, layers)
    curves = np.where(ok[..., None, None], curves, np.nan)
    shape = curves.shape[:-1]
    v, c, total = (np.full(shape, np.nan) for _ in range(3))
    for j, depth in enumerate(spec.depths):
        curve = curves[:, j, ..., :depth]
        reached = np.all(np.isfinite(curve), axis=-1)
        with jax.enable_x64(True):
            _, v_j, c_j = (
                np.asarray(a, float)
                for a in load_curve_statistics(np.where(reached[..., None], curve, 0.0))
            )
        v[:, j], c[:, j] = np.where(reached, v_j, np.nan), np.where(reached, c_j, np.nan)
        total[:, j] = np.where(reached, curve[..., 0] - curve[..., -1], np.nan)
    normalised, normalised_spread = _normalised(c, v, np.nan_to_num(total, nan=-np.inf))
    return {
        "checkpoint_load_curve": curves,
        "checkpoint_curvature": c,
        "checkpoint_spread": v,
        "checkpoint_total_load": total,
        "checkpoint_normalised_curvature": normalised,
        "checkpoint_normalised_spread": normalised_spread,
    }


def _checkpoint_variables(spec, arrays, ok, net, var, missing) -> dict:
    """The labelled checkpoint variables (dims net + checkpoint [+ layer])."""
    stopped = ", or after the net had stopped training (early stopping)"
    not_ok = "NaN where the net's status is not 'ok'" + stopped
    stats = _checkpoint_statistics(spec, arrays, ok)
    dims = (*net, "checkpoint")
    out = {
        f"checkpoint_separation_{m}": var(
            (*dims, "layer"), arrays[f"checkpoint_separation_{m}"], missing + stopped
        )
        for m in MEASURES
    }
    out["checkpoint_load_curve"] = var(
        (*dims, "layer"),
        stats.pop("checkpoint_load_curve"),
        not_ok,
        long_name=f"separation D_l ({spec.measure}) after each checkpoint epoch",
    )
    shape = f", or where the total load is below {MIN_TOTAL_LOAD}"
    for name, values in stats.items():
        meaning = not_ok + (shape if "normalised" in name else "")
        out[name] = var(dims, values, meaning, long_name=name.replace("_", " "))
    return out


def _computed_by(store: results.Store) -> dict:
    try:
        return store.provenance()["computed_by"]
    except (OSError, ValueError):
        return results.versions()


def counts(ds) -> dict[str, int]:
    """How many nets of the panel are ok, diverged, undefined, missing."""
    status = ds["status"].values
    return {name: int(np.sum(status == i)) for i, name in enumerate(STATUSES)}


def is_complete(ds) -> bool:
    return counts(ds)["missing"] == 0


def cell_statistics(ds):
    """Per-cell (alpha, knob) statistics over the ``ok`` nets only: counts and, for test
    accuracy, c, v, the normalised curvature and the total load, the mean and its standard
    error over seeds (NaN: no ok net, or one for the standard error). The class of the
    mean normalised curvature (:func:`springblock.theory.spring.phases.phase_index`) and
    whether the seeds resolve the sign of c (|mean| > 2 standard errors, two or more ok
    nets) complete it."""
    import xarray as xr

    from springblock.theory.spring import phases

    ok = ds["status"] == STATUSES.index("ok")
    n_ok = ok.sum("seed")
    out = {"n_ok": n_ok}
    for i, name in enumerate(STATUSES[1:], start=1):
        out[f"n_{name}"] = (ds["status"] == i).sum("seed")
    for name in (
        "test_accuracy",
        "curvature",
        "spread",
        "normalised_curvature",
        "normalised_spread",
        "total_load",
        *(name for name in ("hessian_top_eigenvalue", "hessian_trace") if name in ds),
        *(name for name in CHECKPOINT_CELL_FIELDS if name in ds),
    ):
        values = ds[name].where(ok)
        present = values.notnull()
        n = present.sum("seed")
        total = values.fillna(0.0).sum("seed")
        mean = (total / n).where(n > 0)
        deviation = ((values - mean) ** 2).fillna(0.0).sum("seed")
        sem = np.sqrt(deviation / (n - 1) / n).where(n > 1)
        out[f"{name}_mean"] = mean.assign_attrs(nan_meaning="no ok net in the cell")
        out[f"{name}_sem"] = sem.assign_attrs(nan_meaning="fewer than two ok nets in the cell")
    mean_c = out["curvature_mean"]
    out["sign_resolved"] = (np.abs(mean_c) > 2 * out["curvature_sem"]).fillna(False)
    out["phase"] = xr.DataArray(
        phases.phase_index(out["normalised_curvature_mean"].values).astype(np.int8),
        dims=mean_c.dims,
        attrs={
            "flag_values": [-1, 0, 1, 2],
            "flag_meanings": "undefined " + " ".join(phases.PHASES),
        },
    )
    return xr.Dataset(out, coords={k: ds.coords[k] for k in ("alpha", ds.attrs["knob_dim"])})


def records(ds) -> list[dict]:
    """One JSON-ready record per net that finished (ok, diverged or undefined)."""
    dim = ds.attrs["knob_dim"]
    out = []
    for alpha in ds["alpha"].values:
        for value in ds[dim].values:
            for seed in ds["seed"].values:
                net = ds.sel({"alpha": alpha, dim: value, "seed": seed})
                status = STATUSES[int(net["status"])]
                if status == "missing":
                    continue
                depth = int(net["net_depth"]) if "net_depth" in ds.coords else ds.sizes["layer"]
                out.append(
                    {
                        "alpha": float(alpha),
                        "value": float(value),
                        "seed": int(seed),
                        "status": status,
                        "diverged": status == "diverged",
                        "test_accuracy": _number(net["test_accuracy"]),
                        "load_curve": [_number(x) for x in net["load_curve"].values[:depth]],
                        "spread": _number(net["spread"]),
                        "curvature": _number(net["curvature"]),
                        "normalised_curvature": _number(net["normalised_curvature"]),
                        "normalised_spread": _number(net["normalised_spread"]),
                        "epochs_run": int(net["epochs_run"]),
                    }
                    | {name: _number(net[name]) for name in HESSIAN_FIELDS if name in ds}
                )
    return out


def _number(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
