"""Solutions of the representation-dynamics equations (diffrax) and fits of eta_h, eta_y.

Compiled from :mod:`springblock.theory.dynamics.representation` (van Rossem & Saxe 2024 pair
equations, conserved quantity C, final distance; Saxe et al. 2014 deep-linear mode
equation and closed form); nothing is retyped here.

* :func:`solve_pairs` integrates the pair equations for a batch of pairs in one compiled,
  vmapped diffrax call (Kvaerno5 for long, stiff horizons or Tsit5; PID step control,
  rtol 1e-9, atol 1e-12 relative to the scale of the start). The right-hand side is
  smooth for h > 0; h stays positive because dh/dt = -eta_h dx2 w and w -> 0 as h
  approaches its fixed point.
* :func:`fit_rates` fits (eta_h, eta_y) shared by a set of measured pair trajectories:
  least squares on the residuals of h, y, w, each divided by its pair's scale (max |.|
  over the run), minimised over (log eta_h, log eta_y) by Levenberg-Marquardt
  (optimistix) from the best point of a grid. The grid fixes eta_h/eta_y at the value the
  measured final distance implies through the closed-form final state (theory
  :func:`~springblock.theory.dynamics.representation.ratio_from_final_state`) and scans the overall
  rate eta_y over four decades, 0.1 to 1000 / (duration x max h) (the two-point nets land
  near 45), as the authors' ``optimize_eta`` scans with the rich-limit ratio.
* :func:`deep_linear` gives the mode strength u(t) of a depth-D linear net: the closed form
  for D <= 2, diffrax for D > 2.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import sympy as sp
from jaxtyping import Array, Float

from springblock.numerics.compile import vector_function, x64
from springblock.params import ParameterError, check_int, check_real
from springblock.theory.dynamics import representation as dr

GRID_POINTS = 33
PAIR_BLOCK = 4


@functools.cache
def _pair_functions():
    """rhs and C compiled once; the w-equation coefficients (a, b) are the last two
    parameters, so the theory and its perturbations share one compiled function."""
    model = dr.PairModel()
    rhs = vector_function(model.state, model.parameters, model.rhs)
    conserved = vector_function(model.state, model.parameters, [model.conserved])
    return rhs, conserved


@functools.cache
def _final_functions():
    final = sp.lambdify((dr.h0, dr.y0, dr.ratio, dr.dx2, dr.dy2), dr.final_distance(), "jax")
    ratio = sp.lambdify(
        (dr.h0, dr.y0, dr.h_final, dr.dx2, dr.dy2), dr.ratio_from_final_state(), "jax"
    )
    return final, ratio


def _solve_one(
    rhs,
    times,
    start,
    params,
    floor_index=3,
    adjoint=None,
    stiff=False,
    rtol=1e-9,
    max_steps=200_000,
):
    # absolute tolerance on the scale of the start and of the final state (params at
    # ``floor_index``: dy2 for the pair equations, s for a deep-linear mode), so that rich
    # starts (tiny h) are resolved and the fixed point is not chased into rounding noise
    scale = jnp.maximum(jnp.max(jnp.abs(start)), jnp.abs(params[floor_index])) + 1e-300
    term = diffrax.ODETerm(lambda t, z, args: rhs(z, args))
    sol = diffrax.diffeqsolve(
        term,
        diffrax.Kvaerno5() if stiff else diffrax.Tsit5(),
        t0=0.0,
        t1=times[-1],
        dt0=None,
        y0=start,
        args=params,
        saveat=diffrax.SaveAt(ts=times),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=1e-3 * rtol * scale),
        max_steps=max_steps,
        throw=False,
        adjoint=diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
    )
    return sol.ys


@functools.cache
def _pair_solver(stiff: bool):
    rhs, _ = _pair_functions()
    solve = functools.partial(_solve_one, rhs, stiff=stiff)
    return jax.jit(jax.vmap(solve, in_axes=(None, 0, 0)))


class PairTrajectory(NamedTuple):
    """h, y, w (pairs, times) and the conserved C along them."""

    times: np.ndarray
    h: np.ndarray
    y: np.ndarray
    w: np.ndarray
    conserved: np.ndarray


def _pair_arrays(h0, y0, w0, eta_h, eta_y, dx2, dy2):
    arrays = np.broadcast_arrays(
        *(
            np.atleast_1d(np.asarray(v, dtype=np.float64))
            for v in (h0, y0, w0, eta_h, eta_y, dx2, dy2)
        )
    )
    names = ("h0", "y0", "w0", "eta_h", "eta_y", "dx2", "dy2")
    for name, value in zip(names, arrays, strict=True):
        if not np.all(np.isfinite(value)):
            raise ParameterError(name, value.tolist(), "finite")
    for name, value, strict in (
        ("h0", arrays[0], True),
        ("y0", arrays[1], False),
        ("eta_h", arrays[3], True),
        ("eta_y", arrays[4], True),
        ("dx2", arrays[5], True),
        ("dy2", arrays[6], False),
    ):
        if np.any(value <= 0 if strict else value < 0):
            raise ParameterError(name, value.tolist(), "> 0" if strict else ">= 0")
    return [a.reshape(-1) for a in arrays]


@x64
def solve_pairs(
    times, h0, y0, w0, eta_h, eta_y, dx2, dy2, perturbation: str = "none", stiff: bool = True
) -> PairTrajectory:
    """Integrate the pair equations from (h0, y0, w0) for every pair (broadcast arrays) and
    return the trajectories at ``times`` (increasing, >= 0) with C evaluated on them.

    Near the fixed point w relaxes at rate ~ eta_y h while h settles at rate ~ eta_h dx2/h,
    so long horizons from lazy starts (large h) are stiff: ``stiff`` selects the implicit
    Kvaerno5 method (default); Tsit5 is faster over the few time constants of a training
    run. Unreachable times (the solver's 200 000-step budget) come back as inf."""
    a, b = dr.check_perturbation(perturbation)
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or times.size < 1 or np.any(np.diff(times) <= 0) or times[0] < 0:
        raise ParameterError("times", "array", "increasing times >= 0")
    h0, y0, w0, eta_h, eta_y, dx2, dy2 = _pair_arrays(h0, y0, w0, eta_h, eta_y, dx2, dy2)
    start = jnp.stack([h0, y0, w0], axis=-1)
    params = tuple(
        jnp.asarray(v) for v in (eta_h, eta_y, dx2, dy2, np.full(h0.shape, a), np.full(h0.shape, b))
    )
    ys = _pair_solver(bool(stiff))(jnp.asarray(times), start, params)
    _, conserved = _pair_functions()
    c = conserved(ys, tuple(p[:, None] for p in params))[..., 0]
    ys = np.asarray(ys)
    return PairTrajectory(times, ys[..., 0], ys[..., 1], ys[..., 2], np.asarray(c))


@x64
def final_distance(h0, y0, eta_h, eta_y, dx2, dy2) -> np.ndarray:
    """Closed-form h_inf
    (:func:`springblock.theory.dynamics.representation.final_distance`)."""
    h0, y0, _, eta_h, eta_y, dx2, dy2 = _pair_arrays(h0, y0, 0.0, eta_h, eta_y, dx2, dy2)
    final, _ = _final_functions()
    return np.asarray(final(h0, y0, eta_h / eta_y, dx2, dy2))


@x64
def implied_ratio(h0, y0, h_inf, dx2, dy2) -> np.ndarray:
    """eta_h/eta_y that makes the closed-form final distance equal ``h_inf``; NaN where no
    positive ratio does (e.g. h_inf on the wrong side of h0)."""
    _, ratio = _final_functions()
    r = np.asarray(
        ratio(*(jnp.asarray(np.asarray(v, dtype=np.float64)) for v in (h0, y0, h_inf, dx2, dy2)))
    )
    return np.where(np.isfinite(r) & (r > 0), r, np.nan)


# --- fitting eta_h, eta_y ------------------------------------------------------------------


class RateFit(NamedTuple):
    """Fitted effective learning rates and the quality of the fit: ``loss`` is the mean
    squared scaled residual (0 = perfect; 1 ~ residuals as large as the signals)."""

    eta_h: float
    eta_y: float
    loss: float
    prediction: PairTrajectory


@functools.cache
def _fit_compiled(points: int, pairs: int):
    rhs, _ = _pair_functions()
    # Levenberg-Marquardt builds Jacobians in forward mode; rtol 1e-7 is ample against
    # measurement noise and halves the solver steps of rtol 1e-9
    # (a candidate that needs more than 20 000 steps over the run is far off and returns inf)
    solve = jax.vmap(
        functools.partial(
            _solve_one, rhs, adjoint=diffrax.ForwardMode(), rtol=1e-7, max_steps=20_000
        ),
        in_axes=(None, 0, 0),
    )

    def trajectories(log_rates, data):
        times, start, dx2, dy2, _, _, a, b, _ = data
        ones = jnp.ones(pairs)
        return solve(
            times,
            start,
            (
                jnp.exp(log_rates[0]) * ones,
                jnp.exp(log_rates[1]) * ones,
                dx2,
                dy2,
                a * ones,
                b * ones,
            ),
        )  # (pairs, points, 3)

    def residuals(log_rates, data):
        measured, scale, weight = data[4], data[5], data[8]
        r = (trajectories(log_rates, data) - measured) / scale[:, None, :]
        return (weight[:, None, None] * jnp.where(jnp.isfinite(r), r, 1e3)).reshape(-1)

    def loss_and_path(log_rates, data):
        r = residuals(log_rates, data)
        return jnp.sum(r**2) / (3 * points * jnp.sum(data[8])), trajectories(log_rates, data)

    grid = jax.jit(jax.vmap(loss_and_path, in_axes=(0, None)))
    solver: optx.LevenbergMarquardt[Array, Array, None] = optx.LevenbergMarquardt(
        rtol=1e-8, atol=1e-10
    )

    @jax.jit
    def refine(start, data):
        sol = optx.least_squares(residuals, solver, start, args=data, max_steps=100, throw=False)
        return sol.value

    return grid, refine


@x64
def fit_rates(
    times, h, y, w, dx2, dy2, perturbation: str = "none", ratio_guess: float | None = None
) -> RateFit:
    """Fit shared (eta_h, eta_y) to measured trajectories h, y, w of shape (pairs, times)
    (or (times,) for one pair); ``times`` start at 0 with the measured initial state.

    ``ratio_guess`` (eta_h/eta_y) centres the grid; by default the median over pairs with
    dy2 > 0 (else over all pairs; else 1) of the ratio implied by the final measured
    distance (module docstring).
    """
    a, b = dr.check_perturbation(perturbation)
    times = np.asarray(times, dtype=np.float64)
    h, y, w = (np.atleast_2d(np.asarray(v, dtype=np.float64)) for v in (h, y, w))
    if times.ndim != 1 or times.size < 3 or times[0] != 0 or np.any(np.diff(times) <= 0):
        raise ParameterError("times", "array", "increasing, starting at 0, >= 3 points")
    if not (h.shape == y.shape == w.shape) or h.shape[-1] != times.size:
        raise ParameterError("h", h.shape, f"(pairs, {times.size}) like y and w")
    pairs = h.shape[0]
    dx2 = np.broadcast_to(np.asarray(dx2, dtype=np.float64), (pairs,))
    dy2 = np.broadcast_to(np.asarray(dy2, dtype=np.float64), (pairs,))
    _pair_arrays(h[:, 0], y[:, 0], w[:, 0], 1.0, 1.0, dx2, dy2)  # validates starts
    if ratio_guess is None:
        implied = implied_ratio(h[:, 0], y[:, 0], h[:, -1], dx2, dy2)
        informative = implied[(dy2 > 0) & np.isfinite(implied)]
        usable = informative if informative.size else implied[np.isfinite(implied)]
        ratio_guess = float(np.median(usable)) if usable.size else 1.0
    ratio_guess = check_real("ratio_guess", ratio_guess, minimum=0.0, strict=True)
    measured = np.stack([h, y, w], axis=-1)
    scale = np.maximum(np.abs(measured).max(axis=1), 1e-300)  # (pairs, 3)
    start = measured[:, 0, :]
    # pad the pairs to a multiple of PAIR_BLOCK with zero-weight copies of the first pair, so
    # that one compilation serves one pair (two-point task) and four (XOR)
    padded = -(-pairs // PAIR_BLOCK) * PAIR_BLOCK
    extra = padded - pairs
    weight = np.concatenate([np.ones(pairs), np.zeros(extra)])

    def pad(a):
        return np.concatenate([a, np.repeat(a[:1], extra, axis=0)], axis=0)

    # w relaxes at rate ~ eta_y h; a run that settles within its duration T has eta_y ~
    # 10-100 / (T max h) (measured ~45 for the two-point nets): scan four decades around
    base = 1.0 / (times[-1] * np.maximum(h.max(), 1e-12))
    scales = base * np.logspace(-1, 3, GRID_POINTS)
    candidates = np.stack([np.log(ratio_guess * scales), np.log(scales)], axis=-1)
    # the saved times skip t = 0 (the start)
    data = tuple(
        jnp.asarray(v)
        for v in (
            times[1:],
            pad(start),
            pad(dx2),
            pad(dy2),
            pad(measured[:, 1:]),
            pad(scale),
            float(a),
            float(b),
            weight,
        )
    )
    grid, refine = _fit_compiled(times.size - 1, padded)
    losses = np.asarray(grid(jnp.asarray(candidates), data)[0])
    best = candidates[np.nanargmin(np.where(np.isfinite(losses), losses, np.inf))]
    rates = np.asarray(refine(jnp.asarray(best), data))
    # the grid function evaluates the refined point too (same shape: no new compilation)
    refined_loss, path = grid(jnp.asarray(np.tile(rates, (GRID_POINTS, 1))), data)
    final_loss = float(refined_loss[0])
    if not np.isfinite(final_loss) or final_loss > np.nanmin(losses):
        rates = best
        refined_loss, path = grid(jnp.asarray(np.tile(rates, (GRID_POINTS, 1))), data)
        final_loss = float(refined_loss[0])
    eta_h, eta_y = float(np.exp(rates[0])), float(np.exp(rates[1]))
    ys = np.concatenate([start[:, None, :], np.asarray(path[0])[:pairs]], axis=1)
    _, conserved = _pair_functions()
    params = tuple(np.full((pairs, 1), v) for v in (eta_h, eta_y)) + (
        dx2[:, None],
        dy2[:, None],
        np.full((pairs, 1), float(a)),
        np.full((pairs, 1), float(b)),
    )
    c = np.asarray(conserved(jnp.asarray(ys), tuple(jnp.asarray(p) for p in params)))[..., 0]
    return RateFit(
        eta_h, eta_y, final_loss, PairTrajectory(times, ys[..., 0], ys[..., 1], ys[..., 2], c)
    )


# --- deep linear networks ------------------------------------------------------------------


@functools.cache
def _deep_linear_functions(depth: int):
    mode = dr.DeepLinearMode(depth)
    rhs = vector_function(mode.state, mode.parameters, mode.rhs)
    closed = None
    if depth <= 2:
        closed = sp.lambdify((dr.t, dr.s, dr.tau, dr.u0), mode.closed_form(), "jax")
    return rhs, closed


@functools.cache
def _deep_linear_solver(depth: int):
    rhs, _ = _deep_linear_functions(depth)

    def one(times, u_start, s, tau):
        return _solve_one(rhs, times, u_start[None], (s, tau), floor_index=0)[:, 0]

    return jax.jit(jax.vmap(one, in_axes=(None, 0, 0, 0)))


@x64
def deep_linear(
    times, singular_values, u0, tau: float = 1.0, depth: int = 2, method: str = "auto"
) -> Float[np.ndarray, "modes times"]:
    """Mode strengths u_alpha(t) of a depth-``depth`` linear net from balanced aligned
    initial strengths ``u0`` (Saxe et al.); ``method`` "closed" (D <= 2), "ode" (diffrax)
    or "auto" (closed form when available)."""
    depth = check_int("depth", depth, 1, 1000)
    tau = check_real("tau", tau, minimum=0.0, strict=True)
    if method not in ("auto", "closed", "ode"):
        raise ParameterError("method", method, "'auto', 'closed' or 'ode'")
    s, u_start = np.broadcast_arrays(
        np.atleast_1d(np.asarray(singular_values, np.float64)),
        np.atleast_1d(np.asarray(u0, np.float64)),
    )
    if np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ParameterError("singular_values", s.tolist(), "finite and > 0")
    if np.any(~np.isfinite(u_start)) or np.any(u_start <= 0):
        raise ParameterError("u0", u_start.tolist(), "finite and > 0")
    times = np.asarray(times, dtype=np.float64)
    if (
        times.ndim != 1
        or times.size == 0
        or not np.all(np.isfinite(times))
        or times[0] < 0
        or np.any(np.diff(times) <= 0)
    ):
        raise ParameterError("times", "array", "1-d, finite, >= 0 and increasing")
    _, closed = _deep_linear_functions(depth)
    if method == "closed" and closed is None:
        raise ParameterError("method", method, "'ode' for depth > 2 (no closed form)")
    if closed is not None and method != "ode":
        return np.asarray(
            closed(
                jnp.asarray(times)[None, :],
                jnp.asarray(s)[:, None],
                tau,
                jnp.asarray(u_start)[:, None],
            )
        )
    ts = times[times > 0]
    out = np.asarray(
        _deep_linear_solver(depth)(
            jnp.asarray(ts), jnp.asarray(u_start), jnp.asarray(s), jnp.full(s.shape, tau)
        )
    )
    if ts.size < times.size:
        out = np.concatenate(
            [np.repeat(u_start[:, None], times.size - ts.size, axis=1), out], axis=1
        )
    return out


@functools.cache
def _learning_time_function():
    return sp.lambdify((dr.s, dr.tau, dr.u0, dr.u_f), dr.DeepLinearMode(2).learning_time(), "numpy")


def learning_time(singular_values, u0, u_final, tau: float = 1.0) -> np.ndarray:
    """Time for a two-layer mode to grow from u0 to u_final (< s), Saxe et al.; compiled
    from :meth:`~springblock.theory.dynamics.representation.DeepLinearMode.learning_time`."""
    tau = check_real("tau", tau, minimum=0.0, strict=True)
    s, u0, u_final = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (singular_values, u0, u_final))
    )
    if not np.all(np.isfinite(s) & (s > 0)):
        raise ParameterError("singular_values", s.tolist(), "finite and > 0")
    if not np.all((u0 > 0) & (u0 < s)):
        raise ParameterError("u0", u0.tolist(), "0 < u0 < s")
    if not np.all((u_final > u0) & (u_final < s)):
        raise ParameterError("u_final", u_final.tolist(), "u0 < u_final < s")
    return np.asarray(_learning_time_function()(s, tau, u0, u_final))
