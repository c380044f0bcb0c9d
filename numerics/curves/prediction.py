"""Predicted learning curves of one kernel, as a result: ``curves predict``.

:func:`compute` takes a :class:`~springblock.numerics.curves.config.PredictConfig`, computes
the Funk-Hecke spectrum of the kernel (:func:`springblock.numerics.curves.solve.spectrum`)
and the three predictions at every N (:func:`springblock.numerics.curves.solve.predict`:
equivalent kernel of Cohen, Malka & Ringel, its first 1/N correction, the self-consistent
theory of Canatar, Bordelon & Pehlevan eqs. 3-4, with kappa, gamma and Sollich's GP
posterior variance kappa - sigma^2). A kernel that overflows (C_W far above criticality
at large depth) or whose predictions overflow is refused as a parameter out of range,
naming the sample sizes; it is never a result. :func:`summary` gives the JSON payload,
:func:`to_dataset` the labelled arrays (dims ``n`` and ``degree``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from springblock.numerics.curves.config import KernelSpec, PredictConfig
from springblock.params import ParameterError

if TYPE_CHECKING:
    import xarray as xr

    from springblock.numerics.curves.solve import Prediction, Spectrum

#: Predicted quantities over N, with what each one is (units: squared target).
PREDICTED = {
    "self_consistent": "self-consistent mean test error E_g (Canatar et al. eq. 4)",
    "equivalent_kernel": "error of the dataset-averaged predictor, equivalent kernel",
    "ek_corrected": "equivalent kernel with its first 1/N correction",
    "sc_mean_predictor": "self-consistent error of the dataset-averaged predictor",
    "kappa": "self-consistent ridge kappa (root of H(kappa) = 1)",
    "gamma": "gamma = sum N lambda^2 / (N lambda + kappa)^2",
    "gp_variance": "mean GP posterior variance kappa - sigma^2 (Sollich)",
}
#: Eigenvalues listed in the JSON payload (the dataset holds all of them).
LISTED_EIGENVALUES = 12


@dataclass(frozen=True)
class PredictedCurves:
    """The spectrum (degrees 0..l_max) and the predictions over ``config.n``."""

    config: PredictConfig
    spectrum: Spectrum
    prediction: Prediction
    wall_time_s: float


def require_finite(what: str, values: Mapping[str, np.ndarray], n: Sequence[int]) -> None:
    """Raise naming the sample sizes at which any of the measured ``values`` (arrays over
    N) is not finite (:func:`springblock.numerics.checks.require_finished`)."""
    from springblock.numerics import checks

    stacked = np.stack([np.asarray(v, dtype=np.float64) for v in values.values()], axis=-1)
    checks.require_finished(what, np.ones(len(n), bool), stacked, {"n": np.asarray(n)})


def check_finite_spectrum(spec: KernelSpec, spectrum: Spectrum) -> None:
    """A kernel whose variance q grows like (C_W <sigma'^2>)^depth overflows float64 at
    large depth; that is a parameter out of range, found once the spectrum is computed."""
    if not (np.all(np.isfinite(spectrum.eigenvalues)) and np.isfinite(spectrum.trace)):
        raise ParameterError(
            "weight",
            spec.weight,
            f"small enough that the kernel stays finite at depth {spec.depth} "
            f"(k(1) = {spectrum.trace} in float64)",
        )


def check_finite_prediction(spec: KernelSpec, prediction: Prediction) -> None:
    """The predictions square the eigenvalues (gamma, the bias terms): a kernel of scale
    above ~1e154 overflows them although its spectrum is finite. Refused like an
    overflowing spectrum, naming the sample sizes."""
    values = np.stack([np.asarray(getattr(prediction, k), np.float64) for k in PREDICTED])
    bad = ~np.isfinite(values).all(axis=0)
    if bad.any():
        sizes = ", ".join(str(int(v)) for v in prediction.n[bad][:5])
        raise ParameterError(
            "weight",
            spec.weight,
            f"small enough that the predictions stay finite at depth {spec.depth} "
            f"(not finite in float64 at N = {sizes})",
        )


def compute(config: PredictConfig) -> PredictedCurves:
    """Spectrum and predicted curves of ``config`` (module docstring)."""
    from springblock.numerics.curves import solve

    started = time.perf_counter()
    spectrum = solve.spectrum(config.kernel, config.l_max)
    check_finite_spectrum(config.kernel, spectrum)
    prediction = solve.predict(spectrum, config.target, config.n, config.ridge, config.noise)
    check_finite_prediction(config.kernel, prediction)
    return PredictedCurves(config, spectrum, prediction, time.perf_counter() - started)


def spectrum_summary(spectrum: Spectrum, count: int = LISTED_EIGENVALUES) -> dict:
    """The first ``count`` eigenvalues with their multiplicities, the tail and full traces."""
    return {
        "eigenvalues": spectrum.eigenvalues[:count].tolist(),
        "multiplicities": spectrum.degeneracies[:count].astype(int).tolist(),
        "tail_trace": spectrum.tail,
        "trace": spectrum.trace,
    }


def curve_rows(prediction: Prediction) -> list[dict]:
    """One dict per N: n and every predicted quantity."""
    return [
        {"n": int(size), **{k: float(getattr(prediction, k)[i]) for k in PREDICTED}}
        for i, size in enumerate(prediction.n)
    ]


def summary(result: PredictedCurves) -> dict:
    """The JSON payload of ``curves predict``."""
    c = result.config
    return {
        "kernel": c.kernel,
        "target": c.target,
        "ridge": c.ridge,
        "noise": c.noise,
        "l_max": c.l_max,
        "spectrum": spectrum_summary(result.spectrum),
        "curve": curve_rows(result.prediction),
        "wall_time_s": result.wall_time_s,
    }


def prediction_variables(prediction: Prediction) -> dict:
    """The predicted curves as (dims, values, attrs) variables over ``n``."""
    return {
        k: (("n",), np.asarray(getattr(prediction, k)), {"meaning": v})
        for k, v in PREDICTED.items()
    }


def to_dataset(result: PredictedCurves) -> xr.Dataset:
    """Labelled arrays: the predictions over ``n`` (training-set size), the spectrum over
    ``degree`` (eigenvalue lambda_l, multiplicity N(d, l), the target's power g_l^2)."""
    import xarray as xr

    from springblock import results
    from springblock.numerics.curves import solve

    spectrum, c = result.spectrum, result.config
    degrees = np.arange(len(spectrum.eigenvalues))
    ds = xr.Dataset(
        {
            **prediction_variables(result.prediction),
            "eigenvalue": (
                ("degree",),
                spectrum.eigenvalues,
                {"meaning": "Mercer eigenvalue lambda_l"},
            ),
            "multiplicity": (
                ("degree",),
                spectrum.degeneracies.astype(np.int64),
                {"meaning": "number N(d, l) of harmonics of degree l"},
            ),
            "target_power": (
                ("degree",),
                solve.target_powers(c.target, int(degrees[-1])),
                {"meaning": "target power g_l^2 = sum_m g_lm^2 of degree l"},
            ),
        },
        coords={
            "n": ("n", result.prediction.n.astype(np.int64), {"meaning": "training-set size N"}),
            "degree": ("degree", degrees, {"meaning": "harmonic degree l"}),
        },
        attrs={
            **results.provenance_attrs("curves_predict", c),
            "tail_trace": spectrum.tail,
            "trace": spectrum.trace,
            "wall_time_s": result.wall_time_s,
        },
    )
    return ds
