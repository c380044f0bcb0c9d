"""Solutions of the representation-dynamics equations (diffrax) and fits of eta_h, eta_y.

Compiled from :mod:`springblock.theory.dynamics.representation` (van Rossem & Saxe 2024 pair
equations, conserved quantity C, final distance; Saxe et al. 2014 deep-linear mode
equation and closed form); nothing is retyped here.

* :func:`solve_pairs` integrates the pair equations for a batch of pairs in one compiled,
  vmapped diffrax call: Tsit5 with PID step control (rtol 1e-9, atol 1e-12 x the scale
  of the start), stopped by an event once the state is within that tolerance of its
  fixed point, which is then held (below). The right-hand side is smooth for h > 0.
* :func:`fit_rates` fits (eta_h, eta_y) shared by a set of measured pair trajectories:
  least squares on the residuals of h, y, w, each divided by its pair's scale (max |.|
  over the run), minimised over (log eta_h, log eta_y) by Levenberg-Marquardt
  (optimistix) from the best point of a grid. The grid fixes eta_h/eta_y at the value the
  measured final distance implies through the closed-form final state (theory
  :func:`~springblock.theory.dynamics.representation.ratio_from_final_state`) and scans the overall
  rate eta_y over four decades, 0.1 to 1000 / (duration x max h) (the two-point nets land
  near 45), as the authors' ``optimize_eta`` scans with the rich-limit ratio. Its solves
  span one training run and need no convergence event (:func:`_fit_compiled`).
* :func:`deep_linear` gives the mode strength u(t) of a depth-D linear net: the closed form
  for D <= 2, diffrax (the same solver, without the event) otherwise.

**Convergence event and held fixed point.** Every fixed point with h > 0 is
z* = (h_inf(C), dy2, 0), where h_inf(C) is the closed-form final distance
(:func:`~springblock.theory.dynamics.representation.final_distance`) of the conserved C
of the current state; the same holds for the perturbed w equations. The solve stops at the
first step whose state z has |z - z*(z)| <= atol + rtol |z| in every component, and every
later save time gets z*(z): the exact flow through z tends to z*(z) because C is
conserved, and its linearisation there (a zero eigenvalue along the line of fixed points,
and lambda^2 + delta lambda + beta gamma = 0 with delta = (a/2) eta_y h + (b/2) eta_h dx2
dy2/h > 0, beta gamma = (1/2) eta_y h (eta_y h + eta_h dx2 dy2/h) > 0 for the (y, w)
block) is stable, so the held values are within the solver's tolerance of the solution.
The condition is a distance to the fixed point, not a small right-hand side (diffrax's
``steady_state_event``), which would fire on the slow plateau of a rich start.

Why: the solver study of ``docs/jobs/dynamics.py`` (its numbers, regenerated, are in
docs/dynamics.md, section 1) runs Kvaerno5 and Tsit5, each with and without the event, on
starts of the property test's generator up to t = 2e4 and on rich starts to t = 1e8.
Without the event, the implicit Kvaerno5 (used before) can stall after convergence: its
chord (Newton) increments are then round-off only, about eps/rtol = 2e-7 in the root
finder's scaled norm, far above its "small increment" cut of 1e-13, so its convergence-rate
test reads noise and rejects steps; an unlucky run of rejections shrinks the step below the
resolution of t and the step budget runs out (the start of hypothesis seed 45191 kept in
tests/dynamics/test_dynamics_theory.py stalls at t = 19640 of 20000). The explicit Tsit5
without the event is limited by stability at the fixed point (nothing moves, but the step
stays ~3/(eta_y h)) and runs out of steps on long horizons. With the event both finish
every start; Tsit5 needs about a third of Kvaerno5's steps, keeps C more than an order of
magnitude better and is several times faster, so it is the solver here. Before convergence
accuracy, not stability, sets Tsit5's steps; a stiffer start that exhausts the budget
raises (below).

**Nothing unfinished is returned.** Each compiled solve returns a ``finished`` mask
(:func:`springblock.numerics.checks.successful`, or the convergence event) next to its
states; :func:`solve_pairs`, :func:`fit_rates` and :func:`deep_linear` call
:func:`springblock.numerics.checks.require_finished`, which raises
:class:`~springblock.numerics.checks.UnfinishedSolve` naming the parameters of every solve
that ran out of steps or produced non-finite values. Inside the fit, a candidate whose
solve does not finish is a bad candidate (residuals penalised), never a result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import sympy as sp
from jaxtyping import Array, Float

from springblock.numerics.checks import UnfinishedSolve, require_finished, successful
from springblock.numerics.compile import vector_function, x64
from springblock.params import ParameterError, check_int, check_real
from springblock.theory.dynamics import representation as dr

GRID_POINTS = 33
PAIR_BLOCK = 4
#: Relative tolerance of the trajectories; atol = ATOL_FRACTION x RTOL x the scale of the
#: start (module docstring), so that rich starts (tiny h) are resolved.
RTOL = 1e-9
ATOL_FRACTION = 1e-3
#: Step budget of one solve: ~75x the most that a pair of the solver study needs (module
#: docstring; at most ~1.3e3 steps).
MAX_STEPS = 100_000

FixedPoint = Callable[[Array, tuple], Array]


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


def _pair_fixed_point(z: Float[Array, "3"], params: tuple) -> Float[Array, "3"]:
    """(h_inf(C(z)), dy2, 0): the fixed point that the flow through z tends to."""
    final, _ = _final_functions()
    eta_h, eta_y, dx2, dy2 = params[:4]
    h_inf = final(z[0], z[1], eta_h / eta_y, dx2, dy2)
    return jnp.stack([h_inf, dy2 + 0.0 * z[1], 0.0 * z[2]])


def _mode_fixed_point(z: Float[Array, "1"], params: tuple) -> Float[Array, "1"]:
    """u = s: the strength every mode with u0 > 0 learns."""
    return jnp.broadcast_to(params[0], z.shape).astype(z.dtype)


class Solved(NamedTuple):
    """States at the save times, whether the solve finished, and its step counts and the
    time it stopped at (end time, convergence event, or where it ran out of steps)."""

    ys: Array
    finished: Array
    steps: Array
    rejected: Array
    stopped_at: Array


def _solve(
    rhs: Callable,
    fixed_point: FixedPoint,
    times: Float[Array, " times"],
    start: Float[Array, " state"],
    params: tuple,
    scale: Float[Array, ""],
    rtol: float = RTOL,
    max_steps: int = MAX_STEPS,
    adjoint: diffrax.AbstractAdjoint | None = None,
    hold: bool = True,
    solver: diffrax.AbstractSolver | None = None,
) -> Solved:
    """States at ``times`` (> 0, increasing) from ``start`` at t = 0, and whether the solve
    finished: reached ``times[-1]`` or (``hold``) the convergence event, after which the
    fixed point of the event's state is held (module docstring). ``solver`` (default
    Tsit5) exists for the solver study of ``docs/jobs/dynamics.py``."""
    atol = ATOL_FRACTION * rtol * scale

    def converged(t, z, args, **kwargs):
        return jnp.all(jnp.abs(z - fixed_point(z, args)) <= atol + rtol * jnp.abs(z))

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, z, args: rhs(z, args)),
        diffrax.Tsit5() if solver is None else solver,
        t0=0.0,
        t1=times[-1],
        dt0=None,
        y0=start,
        args=params,
        saveat=diffrax.SaveAt(ts=times, t1=True),
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        event=diffrax.Event(converged) if hold else None,
        max_steps=max_steps,
        throw=False,
        adjoint=diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
    )
    assert sol.ts is not None and sol.ys is not None
    # the t1 save follows the saves of ``times`` that were reached: at the end, or right
    # after the last time before the event, holding the event's state
    last = jnp.sum(jnp.isfinite(sol.ts)) - 1
    held = jnp.arange(times.shape[0]) >= last
    ys = jnp.where(held[:, None], fixed_point(sol.ys[last], params)[None, :], sol.ys[:-1])
    finished = successful(sol) | (sol.result == diffrax.RESULTS.event_occurred)
    stats = sol.stats
    return Solved(
        ys,
        jnp.asarray(finished),
        stats["num_steps"],
        stats["num_rejected_steps"],
        sol.ts[last],
    )


def _pair_scale(start, params):
    return jnp.maximum(jnp.max(jnp.abs(start)), jnp.abs(params[3]))


@functools.cache
def _pair_solver():
    rhs, _ = _pair_functions()

    def one(times, start, params):
        solved = _solve(rhs, _pair_fixed_point, times, start, params, _pair_scale(start, params))
        return solved.ys, solved.finished

    return jax.jit(jax.vmap(one, in_axes=(None, 0, 0)))


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


_PAIR_NAMES = ("h0", "y0", "w0", "eta_h", "eta_y", "dx2", "dy2")


@x64
def solve_pairs(
    times, h0, y0, w0, eta_h, eta_y, dx2, dy2, perturbation: str = "none"
) -> PairTrajectory:
    """Integrate the pair equations from (h0, y0, w0) for every pair (broadcast arrays) and
    return the trajectories at ``times`` (increasing, >= 0, last > 0) with C evaluated on
    them. After a pair has converged (to rtol 1e-9) its fixed point is held (module
    docstring); a solve that does not finish raises
    :class:`~springblock.numerics.checks.UnfinishedSolve` naming the pair's parameters."""
    a, b = dr.check_perturbation(perturbation)
    times = np.asarray(times, dtype=np.float64)
    if (
        times.ndim != 1
        or times.size < 1
        or not np.all(np.isfinite(times))
        or np.any(np.diff(times) <= 0)
        or times[0] < 0
        or times[-1] <= 0
    ):
        raise ParameterError("times", "array", "finite increasing times >= 0, the last > 0")
    arrays = _pair_arrays(h0, y0, w0, eta_h, eta_y, dx2, dy2)
    h0, y0, w0, eta_h, eta_y, dx2, dy2 = arrays
    start = jnp.stack([h0, y0, w0], axis=-1)
    params = tuple(
        jnp.asarray(v, dtype=jnp.float64)
        for v in (eta_h, eta_y, dx2, dy2, np.full(h0.shape, a), np.full(h0.shape, b))
    )
    # t = 0 is the start itself, not a solver output
    positive = times[times > 0]
    ys, finished = _pair_solver()(jnp.asarray(positive), start, params)
    require_finished(
        f"pair equations ({perturbation})",
        np.asarray(finished),
        np.asarray(ys),
        dict(zip(_PAIR_NAMES, arrays, strict=True)),
    )
    ys = np.asarray(ys)
    if positive.size < times.size:
        ys = np.concatenate([np.asarray(start)[:, None, :], ys], axis=1)
    _, conserved = _pair_functions()
    c = conserved(jnp.asarray(ys), tuple(p[:, None] for p in params))[..., 0]
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
    squared scaled residual (0 = perfect; 1 ~ residuals as large as the signals);
    ``refined`` says whether Levenberg-Marquardt converged to a point no worse than the
    best grid point; if it did not (it ran out of iterations, e.g. where the data are best
    fitted by rates running to 0), the best grid point is the fit, never the unconverged
    iterate. ``prediction`` is the fitted equations' trajectories."""

    eta_h: float
    eta_y: float
    loss: float
    refined: bool
    prediction: PairTrajectory


#: Step budget of one candidate solve in the fit: a candidate that needs more over the
#: run is far off (the fitted ones take a few hundred) and is scored as unfinished.
FIT_MAX_STEPS = 20_000
#: Levenberg-Marquardt iterations: a rate the data do not determine (the encoder rate of a
#: lazy net, whose h hardly moves) walks to 0 in log space and needs ~800 to converge.
LM_MAX_STEPS = 2_000
#: Residual given to every sample of a candidate whose solve did not finish, so the
#: least-squares objective stays finite (a finished fit has scaled residuals ~ 0.1).
UNFINISHED_RESIDUAL = 1e3


@functools.cache
def _fit_compiled(points: int, pairs: int):
    rhs, _ = _pair_functions()

    # Levenberg-Marquardt builds Jacobians in forward mode; rtol 1e-7 is ample against
    # measurement noise and halves the solver steps of rtol 1e-9. The horizon is one
    # training run, over which even the fastest grid candidate (eta_y max h T = 1000)
    # needs well under FIT_MAX_STEPS stability-limited steps after converging, so the
    # convergence event is not needed here (in forward mode it costs ~10 s to compile)
    def one(times, start, params):
        solved = _solve(
            rhs,
            _pair_fixed_point,
            times,
            start,
            params,
            _pair_scale(start, params),
            rtol=1e-7,
            max_steps=FIT_MAX_STEPS,
            adjoint=diffrax.ForwardMode(),
            hold=False,
        )
        return solved.ys, solved.finished

    solve = jax.vmap(one, in_axes=(None, 0, 0))

    def trajectories(log_rates, data):
        times, start, dx2, dy2, _, _, a, b, _ = data
        ones = jnp.ones(pairs)
        rates = (jnp.exp(log_rates[0]) * ones, jnp.exp(log_rates[1]) * ones)
        return solve(times, start, (*rates, dx2, dy2, a * ones, b * ones))

    def residuals(log_rates, data):
        measured, scale, weight = data[4], data[5], data[8]
        ys, finished = trajectories(log_rates, data)
        r = (ys - measured) / scale[:, None, :]
        r = jnp.where(finished[:, None, None], r, UNFINISHED_RESIDUAL)
        return (weight[:, None, None] * r).reshape(-1)

    def loss_and_path(log_rates, data):
        ys, finished = trajectories(log_rates, data)
        loss = jnp.sum(residuals(log_rates, data) ** 2) / (3 * points * jnp.sum(data[8]))
        used = data[8] > 0
        return jnp.where(jnp.all(finished | ~used), loss, jnp.inf), ys, finished

    grid = jax.jit(jax.vmap(loss_and_path, in_axes=(0, None)))
    solver: optx.LevenbergMarquardt[Array, Array, None] = optx.LevenbergMarquardt(
        rtol=1e-8, atol=1e-10
    )

    @jax.jit
    def refine(start, data):
        sol = optx.least_squares(
            residuals, solver, start, args=data, max_steps=LM_MAX_STEPS, throw=False
        )
        return sol.value, sol.result == optx.RESULTS.successful

    return grid, refine


@x64
def fit_rates(
    times, h, y, w, dx2, dy2, perturbation: str = "none", ratio_guess: float | None = None
) -> RateFit:
    """Fit shared (eta_h, eta_y) to measured trajectories h, y, w of shape (pairs, times)
    (or (times,) for one pair); ``times`` start at 0 with the measured initial state.

    ``ratio_guess`` (eta_h/eta_y) centres the grid; by default the median over pairs with
    dy2 > 0 (else over all pairs; else 1) of the ratio implied by the final measured
    distance (module docstring). The refinement replaces the best grid point only if
    Levenberg-Marquardt converged to a lower loss. Raises
    :class:`~springblock.numerics.checks.UnfinishedSolve` (naming the rates and the pair)
    if no candidate, or the fitted rates, integrate over the whole run.
    """
    a, b = dr.check_perturbation(perturbation)
    times = np.asarray(times, dtype=np.float64)
    h, y, w = (np.atleast_2d(np.asarray(v, dtype=np.float64)) for v in (h, y, w))
    if times.ndim != 1 or times.size < 3 or times[0] != 0 or np.any(np.diff(times) <= 0):
        raise ParameterError("times", "array", "increasing, starting at 0, >= 3 points")
    if not (h.shape == y.shape == w.shape) or h.shape[-1] != times.size:
        raise ParameterError("h", h.shape, f"(pairs, {times.size}) like y and w")
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(y)) and np.all(np.isfinite(w))):
        raise ParameterError("h", "measured trajectories", "finite h, y and w")
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
    losses, paths, finished = (np.asarray(v) for v in grid(jnp.asarray(candidates), data))
    if not np.any(np.isfinite(losses)):
        raise UnfinishedSolve(
            f"fit of the pair equations ({perturbation})",
            [{"eta_h": float(np.exp(c[0])), "eta_y": float(np.exp(c[1]))} for c in candidates],
            len(candidates),
            "did not finish for any candidate rates",
        )
    index = int(np.argmin(losses))
    rates, final_loss, path, done = candidates[index], losses[index], paths[index], finished[index]
    refined_rates, converged = (np.asarray(v) for v in refine(jnp.asarray(rates), data))
    # the grid function evaluates the refined point too (same shape: no new compilation)
    r_loss, r_path, r_done = (
        np.asarray(v)[0] for v in grid(jnp.asarray(np.tile(refined_rates, (GRID_POINTS, 1))), data)
    )
    refined = bool(converged) and bool(np.isfinite(r_loss)) and r_loss <= final_loss
    if refined:
        rates, final_loss, path, done = refined_rates, r_loss, r_path, r_done
    eta_h, eta_y = float(np.exp(rates[0])), float(np.exp(rates[1]))
    require_finished(
        f"fitted pair equations ({perturbation})",
        done[:pairs],
        path[:pairs],
        {
            "eta_h": np.full(pairs, eta_h),
            "eta_y": np.full(pairs, eta_y),
            "dx2": dx2,
            "dy2": dy2,
            "h0": h[:, 0],
            "y0": y[:, 0],
            "w0": w[:, 0],
        },
    )
    ys = np.concatenate([start[:, None, :], path[:pairs]], axis=1)
    _, conserved = _pair_functions()
    params = tuple(np.full((pairs, 1), v) for v in (eta_h, eta_y)) + (
        dx2[:, None],
        dy2[:, None],
        np.full((pairs, 1), float(a)),
        np.full((pairs, 1), float(b)),
    )
    c = np.asarray(conserved(jnp.asarray(ys), tuple(jnp.asarray(p) for p in params)))[..., 0]
    return RateFit(
        eta_h,
        eta_y,
        float(final_loss),
        refined,
        PairTrajectory(times, ys[..., 0], ys[..., 1], ys[..., 2], c),
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
        start = u_start[None]
        scale = jnp.maximum(u_start, s)
        # a mode's horizon is a training run of a few tau/s, where the explicit steps after
        # convergence are few: no convergence event (it would double the compilation)
        solved = _solve(rhs, _mode_fixed_point, times, start, (s, tau), scale, hold=False)
        return solved.ys[:, 0], solved.finished

    return jax.jit(jax.vmap(one, in_axes=(None, 0, 0, 0)))


@x64
def deep_linear(
    times, singular_values, u0, tau: float = 1.0, depth: int = 2, method: str = "auto"
) -> Float[np.ndarray, "modes times"]:
    """Mode strengths u_alpha(t) of a depth-``depth`` linear net from balanced aligned
    initial strengths ``u0`` (Saxe et al.); ``method`` "closed" (D <= 2), "ode" (diffrax;
    raises :class:`~springblock.numerics.checks.UnfinishedSolve` naming s, u0, tau if a
    solve does not finish) or "auto" (closed form when available)."""
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
    if ts.size == 0:
        return np.repeat(u_start[:, None], times.size, axis=1)
    out, finished = (
        np.asarray(v)
        for v in _deep_linear_solver(depth)(
            jnp.asarray(ts), jnp.asarray(u_start), jnp.asarray(s), jnp.full(s.shape, tau)
        )
    )
    require_finished(
        f"deep linear mode equation (depth {depth})",
        finished,
        out,
        {"s": s, "u0": u_start, "tau": np.full(s.shape, tau)},
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
