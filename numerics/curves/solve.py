"""Spectra of wide-net kernels on the sphere and predicted learning curves (jax).

Compiled from :mod:`springblock.theory.curves.spectrum` (layer maps, Gegenbauer recurrence,
measure, degeneracies) and :mod:`springblock.theory.curves.generalization` (per-mode terms of the
equivalent kernel, its 1/N correction and the self-consistent theory); no formula is
retyped here. The sources and derivations are in those modules' docstrings. The validated
configuration (:class:`KernelSpec`, targets, default cut-offs) lives in the jax-free
:mod:`springblock.numerics.curves.config` and is re-exported here.

* Kernels: the layer map (q, c, Theta) -> (q', c', Theta') is applied ``depth`` times to
  the first layer's state, the last time with the readout's bias variance. The depth can
  be a traced integer below a static ``max_depth`` (layers past it are masked), so one
  compiled function serves a grid of depths.
* Spectra: lambda_l = c_d int_0^pi k(cos th) P_l(cos th) sin(th)^(d-2) dth by Gauss-Legendre
  quadrature in the angle, all l at once as one matrix product with a cached table of
  P_l at the nodes. The arc-cosine and erf kernels are analytic functions of th on [0, pi]
  (t = cos th removes the (1 - t)^(3/2) (ReLU NNGP) and (1 - t)^(1/2) (ReLU NTK)
  singularities of the kernels in t), so the rule
  converges exponentially; ``2 l_max + 200`` nodes resolve P_l up to l_max.
* Truncation: the modes above l_max carry the trace T_tail = k(1) - sum_(l <= l_max)
  N(d, l) lambda_l. Their eigenvalues are below lambda_(l_max) and, for the N used here,
  N lambda << sigma^2 <= kappa, so each contributes lambda/kappa to H(kappa) and lambda to
  S: the tail
  adds T_tail/kappa and T_tail respectively (its share of gamma, <= N lambda_max T_tail /
  kappa^2, is dropped). Targets must lie below l_max.
* kappa: safeguarded Newton iteration on phi(u) = 1 - H(e^u) (u = log kappa), kept inside
  the bracket [log sigma^2, log(sigma^2 + k(1))] that contains the unique root (proof in
  :mod:`springblock.theory.curves.generalization`): phi is strictly increasing, a Newton step that
  leaves the current bracket is replaced by bisection, and the bracket shrinks on the sign
  of phi at every iterate. A fixed number of iterations (``KAPPA_ITERATIONS``) keeps the
  loop vmappable; bisection alone would reach 2^-60 of the bracket.
"""

from __future__ import annotations

import functools
from typing import NamedTuple, overload

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from jaxtyping import Array, Float

from springblock.numerics.compile import vector_function, x64
from springblock.numerics.curves.config import (
    KernelSpec,
    check_target,
    default_l_max,
    parse_target,
)
from springblock.params import ParameterError, check_int, check_real
from springblock.theory.curves import generalization as ct
from springblock.theory.curves import spectrum as cs

KAPPA_ITERATIONS = 60


def target_powers(pairs, l_max: int) -> np.ndarray:
    """Power per degree 0..l_max (the target's block norms g_l^2 = sum_m g_lm^2)."""
    powers = np.zeros(l_max + 1)
    for degree, power in pairs:
        if degree > l_max:
            raise ParameterError("l_max", l_max, f">= the target's degree {degree}")
        powers[degree] = power
    return powers


# --- compiled pieces of the theory ----------------------------------------------------------


# Cephes atan (S. Moshier, Cephes Math Library 2.8, atan.c): rational approximation after
# range reduction, relative error ~1e-16 in double precision.
_ATAN_P = (
    -8.750608600031904122785e-1,
    -1.615753718733365076637e1,
    -7.500855792314704667340e1,
    -1.228866684490136173410e2,
    -6.485021904942025371773e1,
)
_ATAN_Q = (
    2.485846490142306297962e1,
    1.650270098316988542046e2,
    4.328810604912902668951e2,
    4.853903996359136964868e2,
    1.945506571482613964425e2,
)
_T3P8, _MOREBITS = 2.41421356237309504880, 6.123233995736765886130e-17


def _atan_nonnegative(x):
    big = x > _T3P8
    mid = (x > 0.66) & ~big
    xr = jnp.where(big, -1.0 / jnp.where(big, x, 1.0), jnp.where(mid, (x - 1.0) / (x + 1.0), x))
    z = xr * xr
    p = (((_ATAN_P[0] * z + _ATAN_P[1]) * z + _ATAN_P[2]) * z + _ATAN_P[3]) * z + _ATAN_P[4]
    q = ((((z + _ATAN_Q[0]) * z + _ATAN_Q[1]) * z + _ATAN_Q[2]) * z + _ATAN_Q[3]) * z + _ATAN_Q[4]
    r = xr * (z * p / q) + xr + jnp.where(big, _MOREBITS, jnp.where(mid, 0.5 * _MOREBITS, 0.0))
    return jnp.where(big, jnp.pi / 2, jnp.where(mid, jnp.pi / 4, 0.0)) + r


def fast_acos(x):
    """acos(x) = 2 atan(sqrt((1 - x)/(1 + x))) with Cephes' atan: exact to ~4e-16 on
    [-1, 1] (tested against numpy) and about 5x faster than XLA's float64 acos on CPU,
    where acos dominates the cost of arc-cosine Gram matrices."""
    return 2.0 * _atan_nonnegative(jnp.sqrt((1.0 - x) / (1.0 + x)))


def _sqrt_nonnegative(x):
    """sqrt of a quantity that is >= 0 in exact arithmetic (q^2 - c^2 at c = q: compiled
    code contracts it to a fused multiply-add, which can return -1e-17, and sqrt -> NaN)."""
    return jnp.sqrt(jnp.maximum(x, 0.0))


@functools.cache
def _layer_functions(activation: str):
    """The first layer and the layer map, compiled from :class:`LayerMap` with acos ->
    :func:`fast_acos` and sqrt -> :func:`_sqrt_nonnegative` (every sqrt of the layer maps
    has an argument that is nonnegative for |c| <= q)."""
    model = cs.LayerMap(activation)
    fast = {"acos": fast_acos, "sqrt": _sqrt_nonnegative}
    first = vector_function((cs.t,), model.first_parameters, model.first, functions=fast)
    step = vector_function(model.state, model.parameters, model.step, functions=fast)
    return first, step


def kernel_values(
    t: Float[Array, " n"],
    activation: str,
    kind: str,
    depth,
    weight,
    bias,
    input_weight,
    readout_bias,
    max_depth: int,
) -> Float[Array, " n"]:
    """k(t) of the wide MLP (NNGP or NTK), traced; ``depth`` may be traced (<= max_depth).

    The covariance is clipped to |c| <= q before each layer (rounding can push c/q past 1,
    where acos is undefined).
    """
    first, step = _layer_functions(activation)
    state = first(t[:, None], (input_weight, bias))

    def layer(state, index):
        q, c, theta = state[:, 0], state[:, 1], state[:, 2]
        c = jnp.clip(c, -q, q)
        last = index == depth - 1
        new = step(jnp.stack([q, c, theta], axis=-1), (weight, jnp.where(last, readout_bias, bias)))
        return jnp.where(index < depth, new, state), None

    state, _ = jax.lax.scan(layer, state, jnp.arange(max_depth))
    return state[:, 1] if kind == "nngp" else state[:, 2]


def degeneracies(l_max: int, dim: int) -> np.ndarray:
    """N(d, l) for l = 0..l_max, exact integers from the theory, as float64."""
    return np.array([cs.degeneracy(l, dim) for l in range(l_max + 1)], dtype=np.float64)


@functools.lru_cache(maxsize=64)
def _recurrence(l_max: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = cs.recurrence_coefficients()
    fa = sp.lambdify((cs.l_sym, cs.d_sym), a, "numpy")
    fb = sp.lambdify((cs.l_sym, cs.d_sym), b, "numpy")
    ls = np.arange(1, max(l_max, 1), dtype=np.float64)
    return np.asarray(fa(ls, dim), dtype=np.float64), np.asarray(fb(ls, dim), dtype=np.float64)


@overload
def gegenbauer_table(
    t: Float[np.ndarray, "..."], l_max: int, dim: int
) -> Float[np.ndarray, "l ..."]: ...


@overload
def gegenbauer_table(t: Float[Array, "..."], l_max: int, dim: int) -> Float[Array, "l ..."]: ...


def gegenbauer_table(
    t: Float[np.ndarray, "..."] | Float[Array, "..."], l_max: int, dim: int
) -> Float[np.ndarray, "l ..."] | Float[Array, "l ..."]:
    """P_l^(d)(t) for l = 0..l_max stacked on a leading axis (three-term recurrence of
    :func:`springblock.theory.curves.spectrum.recurrence_coefficients`); works on numpy
    or jax arrays."""
    xp = jnp if isinstance(t, jax.Array) else np
    a, b = _recurrence(l_max, dim)
    rows = [xp.ones_like(t), t]
    for i in range(l_max - 1):
        rows.append(a[i] * t * rows[-1] - b[i] * rows[-2])
    return xp.stack(rows[: l_max + 1])


@functools.lru_cache(maxsize=16)
def quadrature(l_max: int, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cos theta_j, P table (l_max+1, n), weights c_d sin^(d-2) w_j) of the Gauss-Legendre
    rule on [0, pi] with n = 2 l_max + 200 nodes."""
    n = 2 * l_max + 200
    x, w = np.polynomial.legendre.leggauss(n)
    angles = np.pi * (x + 1) / 2
    measure = sp.lambdify(cs.theta, cs.angular_weight(dim), "numpy")
    weights = w * np.pi / 2 * np.broadcast_to(measure(angles), angles.shape)
    cosines = np.cos(angles)
    return cosines, gegenbauer_table(cosines, l_max, dim), weights


class Spectrum(NamedTuple):
    """Mercer eigenvalues lambda_l (multiplicity N(d, l)), l = 0..l_max; ``tail`` = trace
    of the modes above l_max; ``trace`` = k(1) = sum of all eigenvalues."""

    eigenvalues: np.ndarray
    degeneracies: np.ndarray
    tail: float
    trace: float


def _spectrum_traced(
    activation, kind, l_max, dim, max_depth, depth, weight, bias, input_weight, readout_bias
):
    cosines, table, weights = quadrature(l_max, dim)
    values = kernel_values(
        jnp.asarray(np.append(cosines, 1.0)),
        activation,
        kind,
        depth,
        weight,
        bias,
        input_weight,
        readout_bias,
        max_depth,
    )
    # lambda_l >= 0 for a kernel positive definite on every sphere (Schoenberg 1942);
    # clipping removes rounding noise that the degeneracies would amplify
    eigenvalues = jnp.maximum(jnp.asarray(table) @ (jnp.asarray(weights) * values[:-1]), 0.0)
    trace = values[-1]
    tail = jnp.maximum(trace - jnp.asarray(degeneracies(l_max, dim)) @ eigenvalues, 0.0)
    return eigenvalues, tail, trace


@functools.cache
def _spectrum_compiled(activation, kind, l_max, dim, max_depth):
    return jax.jit(
        jax.vmap(functools.partial(_spectrum_traced, activation, kind, l_max, dim, max_depth))
    )


@x64
def spectrum(spec: KernelSpec, l_max: int | None = None) -> Spectrum:
    """Funk-Hecke eigenvalues of the kernel of ``spec`` by quadrature (module docstring),
    l = 0..l_max (default :func:`default_l_max`)."""
    l_max = default_l_max(spec.dim) if l_max is None else check_int("l_max", l_max, 1, 5000)
    fn = _spectrum_compiled(spec.activation, spec.kind, l_max, spec.dim, spec.depth)
    args = [jnp.asarray([v], jnp.float64) for v in (spec.depth, *spec.values)]
    args[0] = args[0].astype(jnp.int32)
    eigenvalues, tail, trace = fn(*args)
    return Spectrum(
        np.asarray(eigenvalues[0]), degeneracies(l_max, spec.dim), float(tail[0]), float(trace[0])
    )


@functools.cache
def _kernel_compiled(activation: str, kind: str, depth: int):
    def fn(t, w, b, cin, bout):
        return kernel_values(t, activation, kind, depth, w, b, cin, bout, depth)

    return jax.jit(fn)


@x64
def kernel(spec: KernelSpec, t) -> np.ndarray:
    """k(t) of ``spec`` at the cosines ``t`` (numpy in, numpy out; jitted per shape)."""
    t = jnp.asarray(t, jnp.float64)
    out = _kernel_compiled(spec.activation, spec.kind, spec.depth)(t.reshape(-1), *spec.values)
    return np.asarray(out).reshape(t.shape)


# --- learning curves --------------------------------------------------------------------------


@functools.cache
def _terms():
    """The per-mode expressions of the theory, lambdified to jax."""
    lam, N, ridge, kappa, g2, S = ct.lam, ct.N, ct.ridge, ct.kappa, ct.g2, ct.S

    def f(expr, *symbols):
        return sp.lambdify(symbols, expr, "jax")

    return {
        "ek_error": f(ct.ek_error_term(), lam, N, ridge, g2),
        "correction": f(ct.correction_term(), lam, N, ridge),
        "corrected_error": f(ct.corrected_error_term(), lam, N, ridge, S, g2),
        "kappa_term": f(ct.kappa_term(), lam, N, kappa),
        "kappa_derivative": f(ct.kappa_term_derivative(), lam, N, kappa),
        "residual": f(ct.kappa_residual_total(sp.Symbol("M")), ridge, kappa, sp.Symbol("M")),
        "gamma": f(ct.gamma_term(), lam, N, kappa),
        "bias": f(ct.sc_bias_term(), lam, N, kappa, g2),
        "error": f(ct.sc_error(), ct.bias_sum, ct.gamma, ct.noise),
        "gp": f(ct.gp_posterior_variance(), kappa, ridge),
    }


def solve_kappa(
    eigenvalues: Float[Array, " l"],
    degeneracies: Float[Array, " l"],
    tail,
    n,
    ridge,
    iterations: int = KAPPA_ITERATIONS,
):
    """The unique root kappa of H(kappa) = 1 (module docstring), traced; scalars n, ridge."""
    terms = _terms()

    def mode_sum(kappa):
        return degeneracies @ terms["kappa_term"](eigenvalues, n, kappa) + tail / kappa

    def phi_and_slope(u):
        kappa = jnp.exp(u)
        phi = terms["residual"](ridge, kappa, mode_sum(kappa))
        # d phi/du = kappa (sigma^2/kappa^2 - sum d/dkappa terms + tail/kappa^2)
        dsum = degeneracies @ terms["kappa_derivative"](eigenvalues, n, kappa) - tail / kappa**2
        dphi = kappa * (ridge / kappa**2 - dsum)
        return phi, dphi

    trace = degeneracies @ eigenvalues + tail
    lo, hi = jnp.log(ridge), jnp.log(ridge + trace)

    def body(_, carry):
        u, lo, hi = carry
        phi, dphi = phi_and_slope(u)
        lo = jnp.where(phi < 0, u, lo)
        hi = jnp.where(phi > 0, u, hi)
        newton = u - phi / dphi
        inside = (newton > lo) & (newton < hi) & jnp.isfinite(newton)
        return jnp.where(inside, newton, (lo + hi) / 2), lo, hi

    u, _, _ = jax.lax.fori_loop(0, iterations, body, ((lo + hi) / 2, lo, hi))
    return jnp.exp(u)


def learning_curve_traced(eigenvalues, degeneracies, tail, powers, n, ridge, noise):
    """All predictions at one (N, ridge, label noise), traced. Returns a dict of scalars:
    kappa, gamma, equivalent_kernel, ek_corrected, self_consistent, sc_mean_predictor,
    gp_variance, ek_variance_factor... (see :func:`predict`)."""
    terms = _terms()
    ek = jnp.sum(terms["ek_error"](eigenvalues, n, ridge, powers))
    S = degeneracies @ terms["correction"](eigenvalues, n, ridge) + tail
    corrected = jnp.sum(terms["corrected_error"](eigenvalues, n, ridge, S, powers))
    kappa = solve_kappa(eigenvalues, degeneracies, tail, n, ridge)
    gamma = degeneracies @ terms["gamma"](eigenvalues, n, kappa)
    bias = jnp.sum(terms["bias"](eigenvalues, n, kappa, powers))
    return {
        "kappa": kappa,
        "gamma": gamma,
        "S": S,
        "equivalent_kernel": ek,
        "ek_corrected": corrected,
        "self_consistent": terms["error"](bias, gamma, noise),
        "sc_mean_predictor": bias,
        "gp_variance": terms["gp"](kappa, ridge),
    }


@functools.cache
def _curve_compiled():
    over_n = jax.vmap(learning_curve_traced, in_axes=(None, None, None, None, 0, None, None))
    return jax.jit(over_n)


class Prediction(NamedTuple):
    """Predicted learning curves over ``n`` (arrays of the same length)."""

    n: np.ndarray
    equivalent_kernel: np.ndarray
    ek_corrected: np.ndarray
    self_consistent: np.ndarray
    sc_mean_predictor: np.ndarray
    kappa: np.ndarray
    gamma: np.ndarray
    gp_variance: np.ndarray

    def as_dict(self) -> dict:
        return {k: np.asarray(v).tolist() for k, v in self._asdict().items()}


@x64
def predict(
    spec_or_spectrum, target, n, ridge: float, noise: float = 0.0, l_max: int | None = None
) -> Prediction:
    """Predicted errors at the sample sizes ``n``: equivalent kernel (error of the averaged
    predictor at leading order), its 1/N correction, the self-consistent E_g (mean test
    error) and mean-predictor error, kappa, gamma, and the GP posterior variance kappa -
    sigma^2. ``target``: (degree, power) pairs; ``ridge`` = sigma^2 > 0; ``noise`` = label
    noise variance eps^2."""
    ridge = check_real("ridge", ridge, minimum=0.0, strict=True)
    noise = check_real("noise", noise, minimum=0.0)
    n = np.atleast_1d(np.asarray(n, dtype=np.float64))
    if n.ndim != 1 or not np.all(np.isfinite(n)) or np.any(n < 1):
        raise ParameterError("n", n.tolist(), "sample sizes >= 1")
    pairs = check_target(target)  # before the spectrum: bad input fails before any work
    if isinstance(spec_or_spectrum, KernelSpec):
        kernel_spectrum = spectrum(spec_or_spectrum, l_max)
    elif l_max is not None:
        raise ParameterError("l_max", l_max, "None when a Spectrum is given (it fixes l_max)")
    else:
        kernel_spectrum = spec_or_spectrum
    powers = target_powers(pairs, len(kernel_spectrum.eigenvalues) - 1)
    out = _curve_compiled()(
        jnp.asarray(kernel_spectrum.eigenvalues),
        jnp.asarray(kernel_spectrum.degeneracies),
        kernel_spectrum.tail,
        jnp.asarray(powers),
        jnp.asarray(n),
        ridge,
        noise,
    )
    return Prediction(n=n, **{k: np.asarray(out[k]) for k in Prediction._fields if k != "n"})


# --- grids of hyperparameters (tuning, benchmarks) --------------------------------------------


def _grid_traced(
    activation,
    kind,
    l_max,
    dim,
    max_depth,
    powers,
    n,
    noise,
    depth,
    weight,
    bias,
    input_weight,
    readout_bias,
    ridge,
):
    eigenvalues, tail, _ = _spectrum_traced(
        activation, kind, l_max, dim, max_depth, depth, weight, bias, input_weight, readout_bias
    )
    deg = jnp.asarray(degeneracies(l_max, dim))
    over_n = jax.vmap(learning_curve_traced, in_axes=(None, None, None, None, 0, None, None))
    out = over_n(eigenvalues, deg, tail, powers, n, ridge, noise)
    return {
        k: out[k]
        for k in ("self_consistent", "equivalent_kernel", "ek_corrected", "kappa", "gamma")
    }


@functools.cache
def grid_function(activation: str, kind: str, l_max: int, dim: int, max_depth: int):
    """Compiled f(powers, n[M], noise, depth[S], C_W[S], C_b[S], C_in[S], readout C_b[S],
    ridge[S]) -> dict of (S, M) arrays; one compilation per static configuration."""
    fn = functools.partial(_grid_traced, activation, kind, l_max, dim, max_depth)
    return jax.jit(jax.vmap(fn, in_axes=(None, None, None, 0, 0, 0, 0, 0, 0)))


@x64
def predict_grid(
    activation: str,
    kind: str,
    dim: int,
    target,
    n,
    *,
    depth,
    weight,
    bias,
    ridge,
    input_weight=None,
    readout_bias=None,
    noise: float = 0.0,
    l_max: int | None = None,
) -> dict[str, np.ndarray]:
    """Predicted curves for S hyperparameter settings (arrays of length S, or scalars
    broadcast) at the M sample sizes ``n``: dict of (S, M) arrays."""
    KernelSpec(activation=activation, kind=kind, dim=dim)  # validates names and dim
    l_max = default_l_max(dim) if l_max is None else check_int("l_max", l_max, 1, 5000)
    noise = check_real("noise", noise, minimum=0.0)
    depth = np.atleast_1d(np.asarray(depth))
    arrays = np.broadcast_arrays(
        depth, *(np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (weight, bias, ridge))
    )
    depth, weight, bias, ridge = arrays
    input_weight = (
        weight
        if input_weight is None
        else np.broadcast_to(np.asarray(input_weight, dtype=np.float64), weight.shape)
    )
    readout_bias = (
        bias
        if readout_bias is None
        else np.broadcast_to(np.asarray(readout_bias, dtype=np.float64), bias.shape)
    )
    for value, (name, positive) in (
        (weight, ("weight", True)),
        (bias, ("bias", False)),
        (ridge, ("ridge", True)),
        (input_weight, ("input_weight", True)),
        (readout_bias, ("readout_bias", False)),
    ):
        bad = ~np.isfinite(value) | ((value <= 0) if positive else (value < 0))
        if np.any(bad):
            raise ParameterError(name, value[bad][0].item(), "> 0" if positive else ">= 0")
    if np.any(depth < 1) or np.any(depth != np.round(depth)):
        raise ParameterError("depth", depth.tolist(), "integers >= 1")
    n = np.atleast_1d(np.asarray(n, dtype=np.float64))
    if np.any(~np.isfinite(n)) or np.any(n < 1):
        raise ParameterError("n", n.tolist(), "sample sizes >= 1")
    powers = target_powers(check_target(target), l_max)
    fn = grid_function(activation, kind, l_max, dim, int(depth.max()))
    out = fn(
        jnp.asarray(powers),
        jnp.asarray(n),
        float(noise),
        jnp.asarray(depth.astype(np.int32)),
        jnp.asarray(weight),
        jnp.asarray(bias),
        jnp.asarray(input_weight),
        jnp.asarray(readout_bias),
        jnp.asarray(ridge),
    )
    return {k: np.asarray(v) for k, v in out.items()}


__all__ = [
    "KernelSpec",
    "Prediction",
    "Spectrum",
    "degeneracies",
    "gegenbauer_table",
    "kernel",
    "kernel_values",
    "parse_target",
    "predict",
    "predict_grid",
    "quadrature",
    "solve_kappa",
    "spectrum",
    "target_powers",
]
