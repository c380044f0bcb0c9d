"""Compiled PDLT depth recursions: kernels, susceptibilities, NTK, four-point vertex.

Every map evaluated here is a sympy expression of :mod:`springblock.theory.pdlt.criticality`
or :mod:`springblock.theory.pdlt.finite_width`, compiled by
:func:`springblock.numerics.compile.vector_function`; the Gaussian expectations it needs
(:data:`springblock.theory.pdlt.gaussian.MOMENTS`) come from the activation's closed forms
where the theory has them and otherwise from Gauss-Hermite quadrature of the theory's
integrands,

    <F(z)>_K ~ sum_i w_i F(sqrt(K) x_i),   (x_i, w_i) probabilists' Hermite nodes, sum w = 1,

    <F(u, v)> ~ sum_ij w_i w_j F(sqrt(K11) x_i, sqrt(K22)(rho x_i + sqrt(1 - rho^2) x_j)),

rho = K12 / sqrt(K11 K22). Measured accuracy (tests/pdlt/test_quadrature.py): for
smooth activations (tanh, erf) <= 1e-9 at K <= 1 with the default 100 nodes, but the
error grows with K because the integrand varies on the scale 1/sqrt(K) while the nodes
do not: ~5e-10 at K = 3 needs 200 nodes, and at K ~ 14 (SWISH's K*) 200 nodes give
~1e-5. For kinked activations given as plain functions (jax.nn.relu) the error falls only
algebraically (~1e-3), which is why closed forms are used whenever they exist.

An activation is a name (``"tanh"``, ``"leaky_relu:0.2"``), a
:class:`~springblock.theory.pdlt.gaussian.Activation`, or any jax-traceable elementwise
function of one array (checked by :func:`resolve`: arity, traceability, finiteness).
Compiled functions are cached on (activation, depth, quadrature nodes, options) and
vmapped over a flat batch of parameters, so a grid of initializations is one call.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from jaxtyping import Array, Float

from springblock.numerics.compile import _JAX_SPECIAL, vector_function
from springblock.params import ParameterError, check_int
from springblock.theory.pdlt import criticality as pc
from springblock.theory.pdlt import finite_width as pf
from springblock.theory.pdlt import gaussian as pg

DEFAULT_NODES = 100
#: numpy's hermegauss loses its weights to overflow beyond ~380 nodes.
MAX_NODES = 350
MOMENT_NAMES = tuple(m.name for m in pg.MOMENTS)
#: z range on which a user-supplied activation must be finite (with its derivative).
CHECK_RANGE = 20.0


# --- activations -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CompiledActivation:
    """An activation ready for the recursions.

    ``sigma``/``dsigma``: jax elementwise functions. ``closed_single(K)`` returns the moments
    ``closed_names`` stacked on the last axis; ``closed_pair(K11, K12, K22)`` returns
    (pair, dpair) stacked, or is None. ``theory``: the symbolic activation, if any.
    """

    name: str
    sigma: Callable
    dsigma: Callable
    theory: pg.Activation | None
    closed_names: tuple[str, ...]
    closed_single: Callable | None
    closed_pair: Callable | None


#: What :func:`resolve` accepts (a CompiledActivation passes through unchanged).
ActivationLike = str | pg.Activation | CompiledActivation | Callable


def _compile_closed(act: pg.Activation):
    closed = act.closed_moments()
    names = tuple(n for n in MOMENT_NAMES if n in closed)
    single = None
    if names:
        f = vector_function([pg.K], [], [closed[n] for n in names])
        single = functools.partial(_call_single, f)
    pair = None
    pairs = act.closed_pair_moments()
    if len(pairs) == 2:
        f2 = vector_function([pg.K11, pg.K12, pg.K22], [], [pairs["pair"], pairs["dpair"]])
        pair = functools.partial(_call_pair, f2)
    return names, single, pair


def _call_single(f, k):
    return f(k[..., None], ())


def _call_pair(f, k11, k12, k22):
    bound = jnp.sqrt(k11 * k22)
    k12 = jnp.clip(k12, -bound, bound)  # rounding can push |cos t| past 1
    return f(jnp.stack([k11, k12, k22], axis=-1), ())


@functools.cache
def _from_theory(act: pg.Activation) -> CompiledActivation:
    sigma = sp.lambdify(pg.z, act.expr, modules=[_JAX_SPECIAL, "jax"])
    dsigma = sp.lambdify(pg.z, act.derivative, modules=[_JAX_SPECIAL, "jax"])

    def elementwise(f):
        return lambda x: jnp.broadcast_to(f(x), jnp.shape(x)).astype(jnp.result_type(x))

    names, single, pair = _compile_closed(act)
    return CompiledActivation(
        act.name, elementwise(sigma), elementwise(dsigma), act, names, single, pair
    )


ALLOWED = (
    "a named activation (" + ", ".join(pg.NAMED) + "; leaky_relu:SLOPE) or a "
    "jax-traceable elementwise function of one array"
)


@functools.cache
def _from_name(spec: str) -> CompiledActivation:
    try:
        act = pg.named(spec)
    except (KeyError, ValueError) as err:
        raise ParameterError("activation", spec, ALLOWED) from err
    return _from_theory(act)


def _check_callable(fn: Callable) -> str:
    """Validate a user activation before any work; return a display name."""
    name = getattr(fn, "__name__", type(fn).__name__)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(0.0)
        except TypeError:
            raise ParameterError(
                "activation",
                name,
                f"a function of exactly one argument (got signature {signature})",
            ) from None
    probe = jnp.linspace(-CHECK_RANGE, CHECK_RANGE, 401)
    try:
        values = jax.jit(fn)(probe)
        slopes = jax.jit(jax.grad(lambda x: jnp.sum(fn(x))))(probe)
    except Exception as err:  # noqa: BLE001 - any failure to trace is the user's input
        raise ParameterError(
            "activation",
            name,
            f"a jax-traceable elementwise function (tracing failed: {type(err).__name__}: {err})"[
                :400
            ],
        ) from None
    if jnp.shape(values) != probe.shape:
        raise ParameterError(
            "activation",
            name,
            "elementwise: output shape equal to input "
            f"shape (got {jnp.shape(values)} for {probe.shape})",
        )
    bad = ~(np.isfinite(np.asarray(values)) & np.isfinite(np.asarray(slopes)))
    if bad.any():
        at = float(np.asarray(probe)[np.argmax(bad)])
        raise ParameterError(
            "activation",
            name,
            f"finite with a finite derivative on "
            f"[-{CHECK_RANGE:g}, {CHECK_RANGE:g}] (NaN/inf at z = {at:g})",
        )
    return name


@functools.cache
def _from_callable(fn: Callable) -> CompiledActivation:
    name = _check_callable(fn)
    grad = jax.grad(lambda x: jnp.sum(fn(x)))
    return CompiledActivation(name, fn, grad, None, (), None, None)


def resolve(activation: ActivationLike) -> CompiledActivation:
    """Compile ``activation`` (name, theory Activation or jax function), validating it.

    Raises :class:`ParameterError` (parameter "activation") for an unknown name, a
    function of the wrong arity, one that jax cannot trace, or one that is not finite
    (with its derivative) on [-20, 20].
    """
    if isinstance(activation, CompiledActivation):
        return activation
    if isinstance(activation, str):
        return _from_name(activation)
    if isinstance(activation, pg.Activation):
        return _from_theory(activation)
    if callable(activation):
        return _from_callable(activation)
    raise ParameterError("activation", activation, ALLOWED)


# --- quadrature ----------------------------------------------------------------------------


@functools.cache
def gauss_hermite(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes x_i and weights w_i with sum w_i = 1, so that
    sum w_i f(x_i) = E f(x), x ~ N(0, 1), exactly for polynomials of degree < 2 nodes."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    return x, w / math.sqrt(2 * math.pi)


def _integrands(names: tuple[str, ...]) -> Callable:
    """(z, K, s0, s1) -> the theory's integrands of ``names``, stacked on the last axis."""
    exprs = [pg.MOMENT[n].integrand for n in names]
    f = sp.lambdify([pg.z, pg.K, pg.s0, pg.s1], exprs, modules=[_JAX_SPECIAL, "jax"])

    def evaluate(zz, kk, a, b):
        cols = f(zz, kk, a, b)
        return jnp.stack([jnp.broadcast_to(c, jnp.shape(zz)) for c in cols], axis=-1)

    return evaluate


def quadrature_moments(
    act: CompiledActivation, k: Float[Array, "..."], names: tuple[str, ...], nodes: int
) -> Float[Array, "... m"]:
    """Gauss-Hermite values of the moments ``names`` at kernel(s) ``k``."""
    x_np, w_np = gauss_hermite(nodes)
    x = jnp.asarray(x_np, k.dtype).reshape((1,) * k.ndim + (-1,))
    w = jnp.asarray(w_np, k.dtype)
    zz = jnp.sqrt(k)[..., None] * x
    kk = jnp.broadcast_to(k[..., None], zz.shape)
    vals = _integrands(names)(zz, kk, act.sigma(zz), act.dsigma(zz))
    return jnp.einsum("...im,i->...m", vals, w)


def moments(
    activation: ActivationLike,
    k: Float[Array, "..."],
    *,
    nodes: int = DEFAULT_NODES,
    closed: bool = True,
) -> dict[str, Array]:
    """Every moment of :data:`~springblock.theory.pdlt.gaussian.MOMENTS` at kernel ``k``:
    closed forms where known (unless ``closed=False``), Gauss-Hermite for the rest."""
    act = resolve(activation)
    k = jnp.asarray(k, _dtype())
    return dict(
        zip(MOMENT_NAMES, jnp.moveaxis(_moment_array(act, k, nodes, closed), -1, 0), strict=True)
    )


def _moment_array(
    act: CompiledActivation,
    k,
    nodes: int,
    closed: bool = True,
    names: tuple[str, ...] = MOMENT_NAMES,
):
    """The moments ``names`` at ``k``, stacked on a new last axis (closed forms first)."""
    # a kernel that underflows (ordered phase, C_b = 0) is held at a tiny positive value,
    # where every moment has reached its K -> 0 limit
    k = jnp.maximum(k, jnp.finfo(k.dtype).tiny ** 0.25)
    have = tuple(n for n in act.closed_names if n in names) if closed else ()
    missing = tuple(n for n in names if n not in have)
    cols = {}
    if have:
        assert act.closed_single is not None  # set whenever closed_names is non-empty
        vals = act.closed_single(k)
        cols.update({n: vals[..., act.closed_names.index(n)] for n in have})
    if missing:
        vals = quadrature_moments(act, k, missing, nodes)
        cols.update({n: vals[..., i] for i, n in enumerate(missing)})
    return jnp.stack([cols[n] for n in names], axis=-1)


def quadrature_pair(act: CompiledActivation, k11, k12, k22, nodes: int):
    """2-d Gauss-Hermite (pair, dpair) = (<sigma_a sigma_b>, <sigma'_a sigma'_b>)."""
    x, w_np = gauss_hermite(nodes)
    prefix = (1,) * k11.ndim
    xs = jnp.asarray(x, k11.dtype).reshape(prefix + (-1, 1))
    ys = jnp.asarray(x, k11.dtype).reshape(prefix + (1, -1))
    w = jnp.asarray(w_np, k11.dtype)
    rho = jnp.clip(k12 / jnp.sqrt(k11 * k22), -1.0, 1.0)[..., None, None]
    u = jnp.sqrt(k11)[..., None, None] * xs + 0.0 * ys
    v = jnp.sqrt(k22)[..., None, None] * (rho * xs + jnp.sqrt(1.0 - rho**2) * ys)
    ww = w[:, None] * w[None, :]
    integrand = [pg.PAIR_MOMENT[n].integrand for n in ("pair", "dpair")]
    f = sp.lambdify([pg.s0a, pg.s1a, pg.s0b, pg.s1b], integrand, modules="jax")
    vals = f(act.sigma(u), act.dsigma(u), act.sigma(v), act.dsigma(v))
    return jnp.stack(
        [jnp.einsum("...ij,ij->...", jnp.broadcast_to(c, u.shape), ww) for c in vals], axis=-1
    )


def pair_moments(
    activation: ActivationLike, k11, k12, k22, *, nodes: int = DEFAULT_NODES, closed: bool = True
) -> dict[str, Array]:
    """(<sigma(u) sigma(v)>, <sigma'(u) sigma'(v)>) for kernels (K11, K12, K22)."""
    act = resolve(activation)
    k11, k12, k22 = jnp.broadcast_arrays(*(jnp.asarray(a, _dtype()) for a in (k11, k12, k22)))
    vals = _pair_array(act, k11, k12, k22, nodes, closed)
    return {"pair": vals[..., 0], "dpair": vals[..., 1]}


def _pair_array(act, k11, k12, k22, nodes: int, closed: bool = True):
    if closed and act.closed_pair is not None:
        return act.closed_pair(k11, k12, k22)
    return quadrature_pair(act, k11, k12, k22, nodes)


def _dtype():
    return jnp.float64 if jax.config.jax_enable_x64 else jnp.float32


# --- parameter checks ---------------------------------------------------------------------------


def check_array(name: str, value, *, minimum: float | None = None, strict: bool = False):
    """``value`` as a float numpy array, all finite and in range, else ParameterError."""
    lo = "" if minimum is None else (f" > {minimum:g}" if strict else f" >= {minimum:g}")
    allowed = f"finite real number(s){lo}"
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(name, value, allowed) from None
    if not np.all(np.isfinite(arr)):
        raise ParameterError(name, value, allowed)
    if minimum is not None and np.any(arr <= minimum if strict else arr < minimum):
        raise ParameterError(name, value, allowed)
    return arr


def _layer_parameters(C_b, C_W, gamma, xi, lambda_b, lambda_W) -> list[np.ndarray]:
    """The six per-layer parameters, validated, in the order the compiled maps take them
    (``params`` of :func:`_single_map` and its kin)."""
    return [
        check_array("C_b", C_b, minimum=0.0),
        check_array("C_W", C_W, minimum=0.0, strict=True),
        check_array("gamma", gamma),
        check_array("xi", xi),
        check_array("lambda_b", lambda_b, minimum=0.0),
        check_array("lambda_W", lambda_W, minimum=0.0),
    ]


def _check_common(depth: int, nodes: int) -> tuple[int, int]:
    return check_int("depth", depth, 1, 1_000_000), check_int("nodes", nodes, 4, MAX_NODES)


# --- compiled theory maps --------------------------------------------------------------------

_PARAMS = (pc.C_b, pc.C_W, pc.gamma, pc.xi, pf.lambda_b, pf.lambda_W)
_MOMENT_SYMBOLS = tuple(m.symbol for m in pg.MOMENTS)
_PAIR_SYMBOLS = tuple(m.symbol for m in pg.PAIR_MOMENTS)


_V_REFERENCE = sp.Symbol("V_ref", real=True)
_STATE = 6  # K, V, T, K1, H, V_reference


@functools.cache
def _single_map() -> Callable:
    """(state [K, V, T, K1, H, V_ref], moments at K, params) -> [K', V', T', K1', H',
    V_ref', chi_par, chi_perp, h], all compiled from the theory; V_ref follows the
    four-point recursion without the third-cumulant term."""
    state = [pg.K, pf.V, pf.T, pf.K1, pf.H, _V_REFERENCE]
    exprs = [
        pc.kernel_map(),
        pf.four_point_map(True),
        pf.third_cumulant_map(),
        pf.mean_correction_map(),
        pf.ntk_map(),
        pf.four_point_map(False).subs(pf.V, _V_REFERENCE),
        pc.chi_parallel(),
        pc.chi_perp(),
        pc.h_coefficient(),
    ]
    return vector_function(state, _PARAMS, exprs, extra=[_MOMENT_SYMBOLS])


@functools.cache
def _pair_map() -> Callable:
    """(state [K12, H12], pair moments, params) -> [K12', H12']."""
    return vector_function(
        [pg.K12, pf.H], _PARAMS, [pc.pair_map(), pf.ntk_pair_map()], extra=[_PAIR_SYMBOLS]
    )


@functools.cache
def _first_layer() -> Callable:
    first = pf.first_layer()
    return vector_function([first["q"]], _PARAMS, [first["K"], first["H"]])


@functools.cache
def _perturbation_map() -> Callable:
    k1, k2 = sp.symbols("k_1 k_2", real=True)
    return vector_function(
        [pg.K, k1, k2],
        _PARAMS,
        [pc.kernel_map(), *pc.perturbation_maps(k1, k2)],
        extra=[_MOMENT_SYMBOLS],
    )


# --- single input ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """Single-input depth profile, arrays of shape (*grid, depth), layer l = 1..depth.

    K: kernel; V: four-point vertex (Cov(z_i^2, z_j^2) = V/n); T: third cumulant
    (E[z_i^2 z_j] = T/n); K1: NLO mean metric (E[z^2] = K + K1/n); H: NTK;
    V_reference: V without the third-cumulant term (the reference's residual recursion;
    equal to V for MLPs and even sigma^2); chi_par, chi_perp, h: at layer l's kernel
    (they map layer l to l+1).
    """

    K: Array
    V: Array
    T: Array
    K1: Array
    H: Array
    V_reference: Array
    chi_par: Array
    chi_perp: Array
    h: Array

    @property
    def layers(self) -> np.ndarray:
        return np.arange(1, self.K.shape[-1] + 1)


@functools.cache
def _profile_solver(act: CompiledActivation, depth: int, nodes: int, closed: bool):
    step_map = _single_map()
    first = _first_layer()

    def one(q, params):
        k0, h0 = first(q[None], params)
        zero = jnp.zeros_like(k0)
        state = jnp.stack([k0, zero, zero, zero, h0, zero])

        def step(s, _):
            m = _moment_array(act, s[0], nodes, closed)
            out = step_map(s, m, params)
            return out[:_STATE], jnp.concatenate([s, out[_STATE:]])

        _, rows = jax.lax.scan(step, state, None, length=depth)
        return rows.T  # (9, depth)

    return jax.jit(jax.vmap(one))


def _grid(*values):
    arrays = np.broadcast_arrays(*values)
    shape = arrays[0].shape
    dt = _dtype()
    return shape, [jnp.asarray(a.reshape(-1), dt) for a in arrays]


def profile(
    activation: ActivationLike,
    depth: int,
    *,
    C_b=0.0,
    C_W=1.0,
    q=1.0,
    gamma=0.0,
    xi=1.0,
    lambda_b=1.0,
    lambda_W=1.0,
    nodes: int = DEFAULT_NODES,
    closed: bool = True,
) -> Profile:
    """Depth profile of one input with input norm q = x.x/n_0 (MLP: gamma = 0, xi = 1).

    Parameters broadcast to a grid; one compiled, vmapped scan over layers. Layer l's
    entries: K^(l), V^(l), ...; the susceptibilities are evaluated at K^(l).
    """
    depth, nodes = _check_common(depth, nodes)
    act = resolve(activation)
    values = [
        *_layer_parameters(C_b, C_W, gamma, xi, lambda_b, lambda_W),
        check_array("q", q, minimum=0.0, strict=True),
    ]
    shape, flat = _grid(*values)
    rows = _profile_solver(act, depth, nodes, bool(closed))(flat[6], tuple(flat[:6]))
    rows = rows.reshape(*shape, 9, depth)
    return Profile(*[rows[..., i, :] for i in range(9)])


# --- input pairs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairProfile:
    """Two-input depth profile: kernels K11, K12, K22 and NTKs H11, H12, H22, (*grid, depth)."""

    K11: Array
    K12: Array
    K22: Array
    H11: Array
    H12: Array
    H22: Array

    @property
    def cos_angle(self) -> Array:
        """cos theta^(l) = K12 / sqrt(K11 K22)."""
        return self.K12 / jnp.sqrt(self.K11 * self.K22)


@functools.cache
def _pair_solver(act: CompiledActivation, depth: int, nodes: int, closed: bool):
    step_map = _single_map()
    cross_map = _pair_map()
    first = _first_layer()

    def diag_step(k, h, params):
        m = _moment_array(act, k, nodes, closed)
        zero = jnp.zeros_like(k)
        out = step_map(jnp.stack([k, zero, zero, zero, h, zero]), m, params)
        return out[0], out[4]

    def one(q, params):
        (k11, h11), (k12, h12), (k22, h22) = (first(q[i : i + 1], params) for i in range(3))
        state = jnp.stack([k11, k12, k22, h11, h12, h22])

        def step(s, _):
            a11, a12, a22, b11, b12, b22 = s
            n11, m11 = diag_step(a11, b11, params)
            n22, m22 = diag_step(a22, b22, params)
            pm = _pair_array(act, a11, a12, a22, nodes, closed)
            n12, m12 = cross_map(jnp.stack([a12, b12]), pm, params)
            return jnp.stack([n11, n12, n22, m11, m12, m22]), s

        _, rows = jax.lax.scan(step, state, None, length=depth)
        return rows.T

    return jax.jit(jax.vmap(one))


def pair_profile(
    activation: ActivationLike,
    depth: int,
    *,
    q11=1.0,
    q12=0.5,
    q22=1.0,
    C_b=0.0,
    C_W=1.0,
    gamma=0.0,
    xi=1.0,
    lambda_b=1.0,
    lambda_W=1.0,
    nodes: int = DEFAULT_NODES,
    closed: bool = True,
) -> PairProfile:
    """Full 2x2 kernel and NTK through depth for inputs with Gram entries q_ab = x_a.x_b/n_0.

    The diagonal follows the single-input maps, the off-diagonal the pair maps
    (:func:`~springblock.theory.pdlt.criticality.pair_map`,
    :func:`~springblock.theory.pdlt.finite_width.ntk_pair_map`).
    """
    depth, nodes = _check_common(depth, nodes)
    act = resolve(activation)
    q11a = check_array("q11", q11, minimum=0.0, strict=True)
    q22a = check_array("q22", q22, minimum=0.0, strict=True)
    q12a = check_array("q12", q12)
    if np.any(q12a**2 > q11a * q22a * (1 + 1e-12)):
        raise ParameterError("q12", q12, "a Gram entry with q12^2 <= q11 q22")
    values = [
        *_layer_parameters(C_b, C_W, gamma, xi, lambda_b, lambda_W),
        q11a,
        q12a,
        q22a,
    ]
    shape, flat = _grid(*values)
    rows = _pair_solver(act, depth, nodes, bool(closed))(
        jnp.stack(flat[6:9], axis=-1), tuple(flat[:6])
    )
    rows = rows.reshape(*shape, 6, depth)
    return PairProfile(*[rows[..., i, :] for i in range(6)])


# --- gamma-basis perturbations -----------------------------------------------------------------


@functools.cache
def _perturbation_solver(act: CompiledActivation, depth: int, nodes: int, closed: bool):
    step_map = _perturbation_map()

    def one(state, params):
        def step(s, _):
            m = _moment_array(act, s[0], nodes, closed)
            return step_map(s, m, params), s

        _, rows = jax.lax.scan(step, state, None, length=depth)
        return rows.T

    return jax.jit(jax.vmap(one))


def perturbation_profile(
    activation: ActivationLike,
    depth: int,
    *,
    K0=1.0,
    K1=1.0,
    K2=0.0,
    C_b=0.0,
    C_W=1.0,
    gamma=0.0,
    xi=1.0,
    nodes: int = DEFAULT_NODES,
    closed: bool = True,
) -> tuple[Array, Array, Array]:
    """(K_[0], K_[1], K_[2]) through depth from their layer-1 values, by the linearised
    gamma-basis maps K_[1]' = chi_par K_[1], K_[2]' = chi_perp K_[2] + h K_[1]^2."""
    depth, nodes = _check_common(depth, nodes)
    act = resolve(activation)
    values = [
        *_layer_parameters(C_b, C_W, gamma, xi, 0.0, 0.0),
        check_array("K0", K0, minimum=0.0, strict=True),
        check_array("K1", K1),
        check_array("K2", K2),
    ]
    shape, flat = _grid(*values)
    rows = _perturbation_solver(act, depth, nodes, bool(closed))(
        jnp.stack(flat[6:9], axis=-1), tuple(flat[:6])
    )
    rows = rows.reshape(*shape, 3, depth)
    return rows[..., 0, :], rows[..., 1, :], rows[..., 2, :]


# --- criticality of any activation -------------------------------------------------------------


def _taylor_numeric(fn: Callable, order: int = 3) -> list[float]:
    """sigma_p = sigma^(p)(0), p = 0..order, by repeated jax differentiation (float64)."""
    out, f = [], (lambda x: fn(jnp.reshape(x, (1,)))[0])
    for _ in range(order + 1):
        out.append(float(f(jnp.asarray(0.0, _dtype()))))
        f = jax.grad(f)
    return out


def _homogeneous_slopes(act: CompiledActivation) -> tuple[float, float] | None:
    z = jnp.linspace(-5.0, 5.0, 41, dtype=_dtype())
    base = np.asarray(act.sigma(z))
    for lam in (0.5, 2.0, 3.0):
        if not np.allclose(
            np.asarray(act.sigma(lam * z)),
            lam * base,
            rtol=1e-9,
            atol=1e-12 * (1 + np.abs(base).max()),
        ):
            return None
    one = np.asarray(act.sigma(jnp.asarray([1.0, -1.0], _dtype())))
    return float(one[0]), float(-one[1])


def criticality(
    activation: ActivationLike,
    *,
    k_range: tuple[float, float] = (1e-3, 1e3),
    nodes: int = 200,
    xtol: float = 1e-10,
) -> pc.Criticality:
    """Universality class, critical (C_b, C_W) and K* of any activation.

    Symbolic activations go to :func:`springblock.theory.pdlt.criticality.classify`
    (exact where the theory has closed forms). A jax function follows the same decision
    list numerically: homogeneous on a grid -> the theory's scale-invariant result for
    its slopes; sigma_0 = 0, sigma_1 != 0 and a1 < 0 (jax derivatives at 0 inserted in
    the theory's a1, b1) -> K* = 0; otherwise roots of the theory's half-stable condition
    by ``nodes``-point Gauss-Hermite and bisection to relative ``xtol``.
    """
    act = resolve(activation)
    if act.theory is not None:
        return _classify(act.theory, tuple(k_range))
    slopes = _homogeneous_slopes(act)
    if slopes is not None:
        result = pc.classify(pg.abrelu(*slopes, name=act.name))
        return result
    sig = _taylor_numeric(act.sigma)
    if abs(sig[0]) < 1e-12 and abs(sig[1]) > 1e-12:
        co = {
            k: float(v.subs(dict(zip(pc.sigma_p[1:], sig[1:], strict=True))))
            for k, v in pc.k0_coefficients().items()
        }
        if co["a1"] < 0:
            slope = float(pc.k0_asymptotics()["four_point_slope"])
            return pc.Criticality(
                act.name,
                "K*=0",
                0.0,
                co["C_W"],
                0.0,
                slope,
                {"K": 1.0, "K_[2]": co["b1"] / co["a1"], "V/K^2": -1.0},
                {
                    "a1": co["a1"],
                    "b1": co["b1"],
                    "sigma_1": sig[1],
                    "sigma_2": sig[2],
                    "sigma_3": sig[3],
                },
            )
    roots = half_stable_roots(act, k_range=k_range, nodes=nodes, xtol=xtol)
    valid = [r for r in roots if r["C_b"] >= 0]
    if valid:
        r = valid[0]
        return pc.Criticality(
            act.name,
            "half-stable",
            r["C_b"],
            r["C_W"],
            r["K_star"],
            None,
            {},
            {"roots": roots, "nodes": nodes, "xtol": xtol},
        )
    return pc.Criticality(
        act.name,
        "none",
        None,
        None,
        None,
        None,
        {},
        {"roots": roots, "note": "no critical point with C_b >= 0 found"},
    )


@functools.cache
def _classify(act: pg.Activation, k_range: tuple[float, float]) -> pc.Criticality:
    """The theory's classification, kept: it is exact, and for half-stable or unclassed
    activations it costs seconds of adaptive quadrature."""
    return pc.classify(act, k_range=k_range)


@functools.cache
def _half_stable_evaluator(act: CompiledActivation, nodes: int):
    names = ("g", "dg", "sp2")
    symbols = [pg.MOMENT[n].symbol for n in names]
    cond = sp.lambdify(symbols, pc.half_stable_condition(), "jax")
    cb_expr, cw_expr = pc.critical_initialization()
    crit = sp.lambdify([pg.K, *symbols], [cb_expr, cw_expr], "jax")

    def evaluate(k):
        m = jnp.moveaxis(_moment_array(act, k, nodes, True, names), -1, 0)
        cb, cw = crit(k, *m)
        return jnp.stack([cond(*m), cb, cw], axis=-1)

    return jax.jit(evaluate)


def half_stable_roots(
    activation: ActivationLike,
    *,
    k_range: tuple[float, float] = (1e-3, 1e3),
    grid: int = 241,
    nodes: int = 200,
    xtol: float = 1e-10,
) -> list[dict]:
    """Roots K* of the theory's half-stable condition (chi_par = chi_perp at C_W = 1) by
    Gauss-Hermite moments, bracketed on a log grid and bisected to relative ``xtol``;
    C_b, C_W from :func:`~springblock.theory.pdlt.criticality.critical_initialization`."""
    act = resolve(activation)
    nodes = check_int("nodes", nodes, 4, MAX_NODES)
    evaluate = _half_stable_evaluator(act, nodes)
    dt = _dtype()
    ks = np.geomspace(*k_range, grid)
    values = np.asarray(evaluate(jnp.asarray(ks, dt)))[:, 0]
    roots = []
    for a, b, fa, fb in zip(ks[:-1], ks[1:], values[:-1], values[1:], strict=True):
        if not (np.isfinite(fa) and np.isfinite(fb)) or fa * fb >= 0:
            continue
        lo, hi, flo = a, b, fa
        while hi - lo > xtol * lo:
            mid = 0.5 * (lo + hi)
            fm = float(evaluate(jnp.asarray([mid], dt))[0, 0])
            if fm * flo > 0:
                lo, flo = mid, fm
            else:
                hi = mid
        k_star = 0.5 * (lo + hi)
        _, cb, cw = (float(v) for v in evaluate(jnp.asarray([k_star], dt))[0])
        roots.append({"K_star": k_star, "C_W": cw, "C_b": cb})
    return roots
