"""Predicted learning curves against measured ones: ``curves compare``.

:func:`compare` takes a :class:`CompareConfig`, predicts the curves of its kernel
(:mod:`springblock.numerics.curves.prediction`) and measures them by kernel ridge
regression on ``datasets`` sampled datasets per N
(:func:`springblock.validation.curves.empirical.krr_learning_curve`); with ``nets`` it also
trains wide NTK-parametrised nets
(:func:`springblock.validation.curves.empirical.net_learning_curve`), whose
infinite-width limit is kernel regression with the NTK (Jacot et al. 2018; Lee et al.
2019), so ``nets`` requires ``kernel.kind == "ntk"``.

The score of a prediction is measured/predicted - 1 with the measurement's standard error
of the mean (over datasets) as its uncertainty; the leading-order equivalent kernel is
the baseline the self-consistent theory must beat. :func:`summary` gives the JSON payload,
:func:`to_dataset` the labelled arrays (dims ``n``, ``dataset``, ``net_dataset``).

Sizes are bounded by memory: one dataset holds its Gram matrix and test block,
N (N + test points) doubles, and a net of width w and depth L about L w^2 weights
(times 6: two copies, their velocities, the gradient and the initial weights).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from springblock.numerics.curves.config import KernelSpec, PredictConfig, Target, normalise_problem
from springblock.params import ParameterError, check_int

if TYPE_CHECKING:
    import xarray as xr

    from springblock.numerics.curves.solve import Prediction
    from springblock.validation.curves.empirical import EmpiricalCurve, NetCurve

#: Largest measured N (a float64 Gram matrix of 10^4 x 10^4 is 0.8 GB).
MAX_MEASURED_N = 10_000
#: Largest number of doubles one dataset (or one net's batch of activations) may hold: 2 GB.
MAX_ENTRIES = 250_000_000
#: Largest number of weights of one net (6 copies of 5e7 doubles: 2.4 GB).
MAX_NET_WEIGHTS = 50_000_000
MAX_DATASETS = 1_000_000
MAX_TEST_POINTS = 1_000_000


@dataclass(frozen=True)
class NetsConfig:
    """Trained wide nets: ``datasets`` nets of width ``width`` per N, each trained for
    ``steps`` full-batch heavy-ball steps
    (:func:`springblock.validation.curves.empirical.net_learning_curve`)."""

    width: int = 1024
    datasets: int = 10
    steps: int = 1000

    def __post_init__(self):
        object.__setattr__(self, "width", check_int("width", self.width, 1, 1_000_000))
        object.__setattr__(self, "datasets", check_int("datasets", self.datasets, 2, 100_000))
        object.__setattr__(self, "steps", check_int("steps", self.steps, 1, 10_000_000))


@dataclass(frozen=True)
class CompareConfig:
    """``curves compare``: the problem of :class:`~springblock.numerics.curves.config.PredictConfig`
    (kernel, target, ridge, label noise, sample sizes ``n``, l_max) measured by kernel ridge
    regression on ``datasets`` datasets per N, each scored on ``test_points`` fresh points;
    the dataset-averaged predictor on ``common_points`` shared points; the GP posterior
    variance on ``posterior_points`` of the test points (0: not measured); ``seed`` fixes
    the data and the target's axes; ``nets``: also train wide nets (NTK kernels only).
    The sizes up to ``pad`` share one compilation, at the largest of them, by exact masked
    padding (:func:`~springblock.validation.curves.empirical.krr_learning_curve`): a
    compilation costs more than the padded arithmetic at such sizes."""

    kernel: KernelSpec = field(default_factory=KernelSpec)
    target: Target = ((2, 1.0),)
    ridge: float = 0.05
    noise: float = 0.0
    n: tuple[int, ...] = (40, 80, 160, 320)
    l_max: int | None = None
    datasets: int = 200
    test_points: int = 1000
    common_points: int = 1000
    posterior_points: int = 0
    seed: int = 0
    nets: NetsConfig | None = None
    pad: int = 256

    def __post_init__(self):
        normalise_problem(self, MAX_MEASURED_N)
        set_ = object.__setattr__
        set_(self, "datasets", check_int("datasets", self.datasets, 2, MAX_DATASETS))
        set_(self, "test_points", check_int("test_points", self.test_points, 1, MAX_TEST_POINTS))
        set_(
            self,
            "common_points",
            check_int("common_points", self.common_points, 0, MAX_TEST_POINTS),
        )
        set_(
            self,
            "posterior_points",
            check_int("posterior_points", self.posterior_points, 0, self.test_points),
        )
        set_(self, "seed", check_int("seed", self.seed, 0, 2**31 - 1))
        set_(self, "pad", check_int("pad", self.pad, 0, MAX_MEASURED_N))
        largest = max(self.n)
        points = max(self.test_points, self.common_points)
        if largest * (largest + points) > MAX_ENTRIES:
            raise ParameterError(
                "test_points",
                points,
                f"small enough that N (N + points) <= {MAX_ENTRIES:.3g} doubles at N = {largest}",
            )
        if self.nets is not None:
            self._check_nets(self.nets, largest)

    def _check_nets(self, nets: NetsConfig, largest: int) -> None:
        if not isinstance(nets, NetsConfig):
            raise ParameterError("nets", nets, "a NetsConfig or None")
        if self.kernel.kind != "ntk":
            raise ParameterError(
                "kind",
                self.kernel.kind,
                "'ntk' for trained nets (gradient descent follows the NTK)",
            )
        d, w, depth = self.kernel.dim, nets.width, self.kernel.depth
        weights = d * w + (depth - 1) * w * w + (depth + 1) * w + 1
        if weights > MAX_NET_WEIGHTS:
            raise ParameterError(
                "width", w, f"small enough that a net has <= {MAX_NET_WEIGHTS:.3g} weights"
            )
        if w * max(largest, self.test_points) > MAX_ENTRIES:
            raise ParameterError(
                "width",
                w,
                f"small enough that width x max(N, test points) <= {MAX_ENTRIES:.3g} activations",
            )

    @property
    def prediction(self) -> PredictConfig:
        """The predicted side of the comparison."""
        return PredictConfig(self.kernel, self.target, self.ridge, self.noise, self.n, self.l_max)


@dataclass(frozen=True)
class Comparison:
    """Predictions, kernel-regression measurements and (optionally) trained nets over N."""

    config: CompareConfig
    prediction: Prediction
    measured: EmpiricalCurve
    nets: NetCurve | None
    wall_time_s: float

    @property
    def ratio(self) -> np.ndarray:
        """Measured / self-consistent error per N."""
        return self.measured.mean / self.prediction.self_consistent

    @property
    def ratio_sem(self) -> np.ndarray:
        """Standard error of :attr:`ratio` (the prediction has none)."""
        return self.measured.sem / self.prediction.self_consistent


def compare(config: CompareConfig) -> Comparison:
    """Predict and measure (module docstring)."""
    from springblock.numerics.curves import prediction, solve
    from springblock.validation.curves import empirical

    started = time.perf_counter()
    spectrum = solve.spectrum(config.kernel, config.l_max)
    prediction.check_finite_spectrum(config.kernel, spectrum)
    predicted = solve.predict(spectrum, config.target, config.n, config.ridge, config.noise)
    prediction.check_finite_prediction(config.kernel, predicted)
    measured = empirical.krr_learning_curve(
        config.kernel,
        config.target,
        config.n,
        config.ridge,
        noise=config.noise,
        datasets=config.datasets,
        test_points=config.test_points,
        common_points=config.common_points,
        posterior_points=config.posterior_points,
        seed=config.seed,
        pad=config.pad,
    )
    checked = {"mean": measured.mean, "sem": measured.sem}
    if config.common_points:
        checked["mean_predictor"] = measured.mean_predictor
    if config.posterior_points:
        checked["posterior_variance"] = measured.posterior_variance
    prediction.require_finite(f"kernel regression with {config.kernel.label()}", checked, config.n)
    nets = None
    if config.nets is not None:
        nets = empirical.net_learning_curve(
            config.kernel,
            config.target,
            config.n,
            config.ridge,
            width=config.nets.width,
            datasets=config.nets.datasets,
            steps=config.nets.steps,
            test_points=config.test_points,
            seed=config.seed,
        )
        prediction.require_finite(
            f"trained nets of width {config.nets.width}",
            {"net_error": nets.net_errors.mean(axis=1), "gap": nets.function_gap.mean(axis=1)},
            config.n,
        )
    return Comparison(config, predicted, measured, nets, time.perf_counter() - started)


def curve_rows(c: Comparison) -> list[dict]:
    """One dict per N: measurement (mean, SEM), the predictions and their scores."""
    from springblock.numerics.curves.prediction import PREDICTED

    cfg, p, m = c.config, c.prediction, c.measured
    rows = []
    for i, size in enumerate(cfg.n):
        row = {
            "n": size,
            "empirical_mean": float(m.mean[i]),
            "empirical_sem": float(m.sem[i]),
            **{k: float(getattr(p, k)[i]) for k in PREDICTED},
            "sc_relative_error": float(c.ratio[i] - 1),
            "sc_relative_error_sem": float(c.ratio_sem[i]),
        }
        if cfg.common_points:
            row["empirical_mean_predictor"] = float(m.mean_predictor[i])
        if cfg.posterior_points:
            row["empirical_posterior_variance"] = float(m.posterior_variance[i])
        if c.nets is not None:
            row["nets_mean"] = float(c.nets.mean[i])
            row["nets_sem"] = float(c.nets.sem[i])
            row["nets_kernel_regression_mean"] = float(c.nets.kernel_errors[i].mean())
            row["nets_function_gap"] = float(c.nets.function_gap[i].mean())
        rows.append(row)
    return rows


def summary(c: Comparison) -> dict:
    """The JSON payload of ``curves compare``; rows hold ``empirical_mean_predictor``
    only when common points were used, ``empirical_posterior_variance`` only when
    posterior points were, and the ``nets_*`` fields only with nets."""
    cfg = c.config
    payload = {
        "kernel": cfg.kernel,
        "target": cfg.target,
        "ridge": cfg.ridge,
        "noise": cfg.noise,
        "l_max": cfg.l_max,
        "datasets": cfg.datasets,
        "test_points": cfg.test_points,
        "common_points": cfg.common_points,
        "posterior_points": cfg.posterior_points,
        "seed": cfg.seed,
        "pad": cfg.pad,
        "curve": curve_rows(c),
        "wall_time_s": c.wall_time_s,
    }
    if cfg.nets is not None:
        payload["nets"] = cfg.nets
    return payload


def to_dataset(c: Comparison) -> xr.Dataset:
    """Labelled arrays over ``n`` (training-set size): the predictions, the measured mean
    and SEM and their ratio; ``per_dataset_error`` over (``n``, ``dataset``); with nets,
    the nets' and the same-data kernel regression's errors over (``n``, ``net_dataset``)."""
    import xarray as xr

    from springblock import results
    from springblock.numerics.curves.prediction import prediction_variables

    cfg, m = c.config, c.measured
    variables = {
        **prediction_variables(c.prediction),
        "measured_mean": (("n",), m.mean, {"meaning": "mean test error over the datasets"}),
        "measured_sem": (("n",), m.sem, {"meaning": "standard error of measured_mean"}),
        "measured_over_self_consistent": (
            ("n",),
            c.ratio,
            {"meaning": "measured_mean / self_consistent"},
        ),
        "per_dataset_error": (
            ("n", "dataset"),
            m.per_dataset,
            {"meaning": "test error of kernel regression on each sampled dataset"},
        ),
    }
    if cfg.common_points:
        variables["measured_mean_predictor"] = (
            ("n",),
            m.mean_predictor,
            {"meaning": "error of the dataset-averaged predictor, finite-B variance removed"},
        )
    if cfg.posterior_points:
        variables["measured_posterior_variance"] = (
            ("n",),
            m.posterior_variance,
            {"meaning": "mean GP posterior variance over the posterior points"},
        )
    coords: dict = {
        "n": ("n", np.asarray(cfg.n, np.int64), {"meaning": "training-set size N"}),
        "dataset": ("dataset", np.arange(cfg.datasets), {"meaning": "sampled dataset"}),
    }
    if c.nets is not None:
        net_dims = ("n", "net_dataset")
        for key, text in (
            ("net_errors", "test error of the trained net"),
            ("kernel_errors", "test error of NTK regression on the same data"),
            ("function_gap", "mean squared difference of net and NTK-regression predictors"),
            ("train_residual", "final gradient norm of the training loss"),
        ):
            variables[f"nets_{key}"] = (net_dims, getattr(c.nets, key), {"meaning": text})
        coords["net_dataset"] = (
            "net_dataset",
            np.arange(c.nets.net_errors.shape[1]),
            {"meaning": "dataset of one trained net"},
        )
    return xr.Dataset(
        variables,
        coords=coords,
        attrs={**results.provenance_attrs("curves_compare", cfg), "wall_time_s": c.wall_time_s},
    )
