"""Theory vs trained nets: the spring-block model's prediction of a measured panel.

Reference section 5 (Shi, Pan & Dokmanic, arXiv 2407.19353): compare the sign and size of
the curvature c and the spread v cell by cell over the noise x nonlinearity grid, with a
monotone map from (alpha, knob value) to the model's (friction, noise) fitted on part of the
grid and tested on the rest; report numbers, never impressions.

The model side is the mean-field flow of model (a) (:mod:`springblock.numerics.spring.flows`, the
eta -> 0 limit of the authors' map), run for a time T from rest on a chain whose L+1
elongations match the net's depth-1 layer loads (L = depth - 2), with mu_L = asymmetry mu_R.
It is tabulated once on a (mu_R, log sigma) grid and interpolated while fitting.

The maps (all monotone by construction; theta are the fitted parameters):

    mu_R(alpha) = exp(theta_0) (1 - alpha)^exp(theta_1)   (alpha = 1, linear net: no friction)
    sigma(u)    = exp(theta_2) + exp(theta_3) u^exp(theta_4)
                  (u: the knob value scaled to [0, 1], inverted for batch size)
    c_net ~ a c_model,  v_net ~ a v_model,  a = exp(theta_5)

fitted by least squares (Nelder-Mead from several starts) on the training cells, a
checkerboard half of the grid; the other half is held out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import interpolate, optimize, stats

from springblock.params import check_int

ASYMMETRY = 4 / 3  # mu_L / mu_R, the authors' underdamped-notebook ratio
DURATION = 100.0
MU_MAX = 0.3
NOISE_RANGE = (1e-3, 1.0)


@dataclass(frozen=True)
class ModelTable:
    """Mean-field c and v of the chain over a (mu_R, sigma) grid."""

    blocks: int
    mu: np.ndarray
    noise: np.ndarray
    curvature: np.ndarray  # (mu, noise)
    spread: np.ndarray

    def interpolators(self):
        grid = (self.mu, np.log(self.noise))
        kw = {"bounds_error": False, "fill_value": None}
        return (
            interpolate.RegularGridInterpolator(grid, self.curvature, **kw),
            interpolate.RegularGridInterpolator(grid, self.spread, **kw),
        )


def model_table(
    blocks: int,
    mu_points: int = 31,
    noise_points: int = 41,
    asymmetry: float = ASYMMETRY,
    duration: float = DURATION,
) -> ModelTable:
    """Tabulate the mean-field flow's c and v (one vmapped diffrax call)."""
    import jax.numpy as jnp

    from springblock.numerics.spring import flows, statistics

    mu = np.linspace(0.0, MU_MAX, mu_points)
    noise = np.geomspace(*NOISE_RANGE, noise_points)
    run = flows.solve(
        blocks,
        mu_right=jnp.asarray(mu[:, None]),
        mu_left=jnp.asarray(asymmetry * mu[:, None]),
        noise=jnp.asarray(noise[None, :]),
        duration=duration,
        saves=1,
    )
    s = statistics.load_statistics(run.positions[..., -1, :])
    return ModelTable(blocks, mu, noise, np.asarray(s.curvature), np.asarray(s.spread))


def knob_coordinate(knob: str, values: np.ndarray) -> np.ndarray:
    """The knob value scaled to [0, 1] so that larger means noisier."""
    values = np.asarray(values, float)
    if knob == "batch-size":
        return values.min() / values
    if knob == "learning-rate":
        return values / values.max()
    return values


def maps(theta: np.ndarray, alphas: np.ndarray, u: np.ndarray):
    """(mu_R, sigma, scale) of every cell for parameters theta (module docstring)."""
    mu = math.exp(theta[0]) * np.clip(1.0 - alphas, 0.0, None) ** math.exp(theta[1])
    sigma = math.exp(theta[2]) + math.exp(theta[3]) * u ** math.exp(theta[4])
    return mu, sigma, math.exp(theta[5])


def checkerboard(shape: tuple[int, int]) -> np.ndarray:
    """True on the training half of the (alpha, value) grid."""
    i, j = np.indices(shape)
    return (i + j) % 2 == 0


def compare(
    knob: str,
    alphas,
    values,
    curvature: np.ndarray,
    spread: np.ndarray,
    depth: int,
    table: ModelTable | None = None,
    starts: int = 12,
    seed: int = 0,
) -> dict:
    """Fit the maps on the training half, predict the held-out half, score both.

    ``curvature`` and ``spread`` are cell means over seeds, dims (alpha, value).
    """
    starts = check_int("starts", starts, 1, 10_000)
    alphas, values = np.asarray(alphas, float), np.asarray(values, float)
    table = table or model_table(depth - 2)
    c_of, v_of = table.interpolators()
    A, U = np.meshgrid(alphas, knob_coordinate(knob, values), indexing="ij")
    train = checkerboard(A.shape)
    if not (np.all(np.isfinite(curvature)) and np.all(np.isfinite(spread))):
        raise ValueError("every cell needs a finite mean curvature and spread")
    c_scale = np.std(curvature[train]) or 1.0
    v_scale = np.std(spread[train]) or 1.0

    def predict(theta):
        mu, sigma, scale = maps(theta, A, U)
        points = np.stack(
            [
                np.clip(mu, table.mu[0], table.mu[-1]),
                np.log(np.clip(sigma, table.noise[0], table.noise[-1])),
            ],
            -1,
        )
        return scale * c_of(points), scale * v_of(points)

    def loss(theta):
        c_pred, v_pred = predict(theta)
        r = np.concatenate(
            [((c_pred - curvature) / c_scale)[train], ((v_pred - spread) / v_scale)[train]]
        )
        return float(np.sum(r**2))

    rng = np.random.default_rng(seed)
    best = None
    for _ in range(starts):
        theta0 = np.array(
            [
                math.log(rng.uniform(0.02, MU_MAX)),
                rng.normal(0, 0.5),
                math.log(rng.uniform(1e-3, 0.05)),
                math.log(rng.uniform(0.01, 0.5)),
                rng.normal(0, 0.5),
                math.log(rng.uniform(0.5, 20)),
            ]
        )
        fit = optimize.minimize(
            loss,
            theta0,
            method="Nelder-Mead",
            options={"maxiter": 3000, "xatol": 1e-6, "fatol": 1e-10},
        )
        if best is None or fit.fun < best.fun:
            best = fit
    assert best is not None  # starts >= 1 (checked above)
    c_pred, v_pred = predict(best.x)
    mu, sigma, scale = maps(best.x, A, U)

    def scores(mask):
        ok = mask & ~np.isnan(curvature)
        sign = float(np.mean(np.sign(c_pred[ok]) == np.sign(curvature[ok])))
        rho_c = stats.spearmanr(c_pred[ok], curvature[ok]).statistic
        rho_v = stats.spearmanr(v_pred[ok], spread[ok]).statistic
        return {
            "cells": int(ok.sum()),
            "sign_agreement_c": sign,
            "spearman_c": _finite(rho_c),
            "spearman_v": _finite(rho_v),
        }

    return {
        "model": {
            "blocks": table.blocks,
            "asymmetry": ASYMMETRY,
            "duration": DURATION,
            "solver": "mean-field flow of model (a) (numerics.flows)",
        },
        "theta": best.x.tolist(),
        "fit_loss": float(best.fun),
        "mu": mu.tolist(),
        "noise": sigma.tolist(),
        "scale": scale,
        "predicted_curvature": c_pred.tolist(),
        "predicted_spread": v_pred.tolist(),
        "held_out": scores(~train),
        "training": scores(train),
    }


def _finite(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def check_panel(out) -> None:
    """Refuse (ParameterError naming ``out``) a directory that holds no finished sweep, a
    sweep with missing nets, or one with a cell without any ok net."""
    from pathlib import Path

    import springblock
    from springblock.params import ParameterError
    from springblock.validation.nets import sweep

    try:
        nets = springblock.open_results(Path(out))
    except FileNotFoundError:
        raise ParameterError(
            "out", str(out), "a directory holding a finished `springblock nets sweep`"
        ) from None
    if nets.attrs.get("kind") != "nets-sweep":
        raise ParameterError("out", str(out), "the results of `springblock nets sweep`")
    counts = sweep.counts(nets)
    if counts["missing"]:
        raise ParameterError(
            "out",
            str(out),
            f"a complete sweep ({counts['missing']} nets are missing: rerun the sweep)",
        )
    empty = int((nets["cell_n_ok"] == 0).sum())
    if empty:
        raise ParameterError(
            "out", str(out), f"a sweep with an ok net in every cell ({empty} cells have none)"
        )


def run_compare(out, starts: int = 12) -> dict:
    """Theory vs nets on the finished panel in ``out``; writes ``out/compare/``."""
    from pathlib import Path

    import springblock
    from springblock import results
    from springblock.plotting import save
    from springblock.validation.nets import plots

    check_panel(out)
    nets = springblock.open_results(Path(out))
    spec = nets.attrs["spec"]
    dim = nets.attrs["knob_dim"]
    c = nets["cell_curvature_mean"].values
    v = nets["cell_spread_mean"].values
    result = compare(
        spec["knob"], spec["alphas"], spec["values"], c, v, spec["depth"], starts=starts
    )
    result["knob"] = spec["knob"]
    target = Path(out) / "compare"
    names = [str(n) for n in nets.data_vars if str(n).startswith("cell_")]
    cells = nets[names].rename({n: n[len("cell_") :] for n in names}).assign_attrs(knob_dim=dim)
    result["figures"] = save(
        plots.maps_figure(
            cells,
            spec["knob"],
            predicted=np.array(result["predicted_curvature"]),
            title="predicted map: raw c of the model (not normalised)",
        ),
        target,
        f"compare_{spec['knob']}",
    )
    results.write_results(target, result)
    return result
