"""Infinite-width kernel recursion, susceptibilities, criticality and universality classes.

Roberts, Yaida & Hanin, PDLT (arXiv 2106.10165), chapter 5 ("Effective theory of
preactivations at initialization"): the kernel recursion (eq. 4.118 form), the parallel and
perpendicular susceptibilities and h (section 5.1), criticality (section 5.2) and the
universality classes (sections 5.3-5.4). Reference: companion-theories.md section A.

Network: z^(1) = b + W x, and for l >= 1 the residual block

    z^(l+1) = gamma z^(l) + xi (b + W sigma(z^(l))),  Var b = C_b, Var W_ij = C_W / n,

of which the plain MLP is gamma = 0, xi = 1 (:data:`MLP`). At infinite width a single
input has K' = gamma^2 K + xi^2 (C_b + C_W g(K)), g = <sigma^2>_K, and a pair of inputs
K'_ab = gamma^2 K_ab + xi^2 (C_b + C_W <sigma_a sigma_b>) (the residual form is derived
here: the shortcut and the branch are independent at initialization). Susceptibilities

    chi_par  = dK'/dK = gamma^2 + xi^2 C_W g'(K),
    chi_perp = gamma^2 + xi^2 C_W <sigma'^2>_K,      h = (1/2) d chi_perp / dK,

govern the gamma-basis perturbations of a pair (PDLT sec. 5.1): K_[1]' = chi_par K_[1],
K_[2]' = chi_perp K_[2] + h K_[1]^2. Criticality (MLP): K* = C_b + C_W g(K*) with
chi_par(K*) = chi_perp(K*) = 1.

Every expression is written in the moment symbols of :mod:`pdlt_gaussian` and becomes an
activation's closed form by :func:`substitute`; the numerics compile the same expressions.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import sympy as sp

from springblock.theory.pdlt import gaussian as pg

C_b = sp.Symbol("C_b", nonnegative=True)
C_W = sp.Symbol("C_W", positive=True)
gamma = sp.Symbol("gamma", real=True)  # residual shortcut weight
xi = sp.Symbol("xi", real=True)  # residual branch weight
l = sp.Symbol("ell", positive=True)  # layer index (asymptotics)
sigma_p = sp.symbols("sigma_0:4", real=True)  # Taylor coefficients sigma_p = sigma^(p)(0)

#: The plain MLP as a special case of the residual block.
MLP = {gamma: 0, xi: 1}

M = {name: m.symbol for name, m in pg.MOMENT.items()}  # moment symbols by name
P = {name: m.symbol for name, m in pg.PAIR_MOMENT.items()}

CLASSES = ("scale-invariant", "K*=0", "half-stable", "none")


def kernel_map() -> sp.Expr:
    """K^(l+1) = gamma^2 K + xi^2 (C_b + C_W <sigma^2>_K) (single input)."""
    return gamma**2 * pg.K + xi**2 * (C_b + C_W * M["g"])


def pair_map(previous: sp.Expr = pg.K12) -> sp.Expr:
    """K^(l+1)_ab = gamma^2 K_ab + xi^2 (C_b + C_W <sigma_a sigma_b>) (off-diagonal)."""
    return gamma**2 * previous + xi**2 * (C_b + C_W * P["pair"])


def chi_parallel() -> sp.Expr:
    """chi_par = d K^(l+1) / d K^(l) = gamma^2 + xi^2 C_W g'(K)."""
    return gamma**2 + xi**2 * C_W * M["dg"]


def chi_perp() -> sp.Expr:
    """chi_perp = gamma^2 + xi^2 C_W <sigma'^2>_K."""
    return gamma**2 + xi**2 * C_W * M["sp2"]


def h_coefficient() -> sp.Expr:
    """h = (1/2) d chi_perp/dK = xi^2 C_W <sigma'^2 (z^2 - K)> / (4 K^2) (PDLT sec. 5.1)."""
    return xi**2 * C_W * M["dsp2"] / 2


def perturbation_maps(k1: sp.Symbol, k2: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """(K_[1]', K_[2]') = (chi_par K_[1], chi_perp K_[2] + h K_[1]^2)."""
    return chi_parallel() * k1, chi_perp() * k2 + h_coefficient() * k1**2


def substitute(expr: sp.Expr, act: pg.Activation, *, mlp: bool = False) -> sp.Expr:
    """``expr`` with every moment symbol that ``act`` knows in closed form replaced."""
    table = {M[name]: value for name, value in act.closed_moments().items()}
    table.update({P[name]: value for name, value in act.closed_pair_moments().items()})
    out = expr.subs(table)
    return out.subs(MLP) if mlp else out


@functools.cache
def critical_initialization() -> tuple[sp.Expr, sp.Expr]:
    """(C_b, C_W) solving chi_perp(K*) = 1 and K* = C_b + C_W g(K*) for an MLP, in
    moments at K = K*: C_W = 1 / <sigma'^2>, C_b = K* - <sigma^2>/<sigma'^2>."""
    sol = sp.solve([chi_perp().subs(MLP) - 1, kernel_map().subs(MLP) - pg.K], [C_W, C_b], dict=True)
    return sol[0][C_b], sol[0][C_W]


def half_stable_condition() -> sp.Expr:
    """chi_par - chi_perp at C_W = 1 (MLP): <sigma^2>' - <sigma'^2> = <sigma sigma''>."""
    return sp.simplify((chi_parallel() - chi_perp()).subs(MLP).subs(C_W, 1))


# --- scale-invariant class ------------------------------------------------------------------


def scale_invariant(act: pg.Activation) -> dict[str, sp.Expr]:
    """Criticality of a positively homogeneous sigma = a_+ z / a_- z (PDLT sec. 5.3.1).

    g = A2 K, so chi_par = chi_perp = C_W A2 for every K: critical C_b = 0, C_W = 1/A2
    (every K is then a fixed point). With chi = 1 and K' = K the four-point recursion of
    :mod:`pdlt_finite_width` adds C_W^2 (<sigma^4> - <sigma^2>^2) / K^2 = 3 A4/A2^2 - 1
    to V/K^2 per layer (ReLU 5, leaky ReLU 6(1 + a^4)/(1 + a^2)^2 - 1, linear 2).
    """
    if act.slopes is None:
        raise ValueError(f"{act.name} is not positively homogeneous")
    moments = act.closed_moments()
    a2 = sp.simplify(moments["g"] / pg.K)
    a4 = sp.simplify(moments["s4"] / (3 * pg.K**2))
    cw = sp.solve(sp.Eq(substitute(chi_parallel(), act, mlp=True), 1), C_W)[0]
    slope = sp.simplify(cw**2 * (moments["s4"] - moments["g"] ** 2) / pg.K**2)
    return {
        "A2": a2,
        "A4": a4,
        "C_b": sp.Integer(0),
        "C_W": sp.simplify(cw),
        "four_point_slope": slope,
    }


def relu_angle_map(theta: sp.Symbol) -> sp.Expr:
    """cos theta^(l+1) for critical ReLU (C_b = 0, C_W = 2) given theta^(l), from the pair
    closed form with K11 = K22: [sin theta + (pi - theta) cos theta] / pi."""
    act = pg.relu()
    kk = sp.Symbol("kappa", positive=True)
    mapped = substitute(pair_map(), act, mlp=True).subs({C_b: 0, C_W: 2})
    mapped = mapped.subs({pg.K11: kk, pg.K22: kk, pg.K12: kk * sp.cos(theta)})
    return sp.simplify(mapped / kk)


# --- K* = 0 class ----------------------------------------------------------------------------


def polynomial_expectation(poly: sp.Expr) -> sp.Expr:
    """<poly(z)>_K for a polynomial in z, from the Gaussian moments of each monomial."""
    p = sp.Poly(sp.expand(poly), pg.z)
    return sp.expand(sum(c * (1 + (-1) ** k) * pg.half_line_moment(k) for (k,), c in p.terms()))


@functools.cache
def k0_coefficients() -> dict[str, sp.Expr]:
    """a1, b1 of the K* = 0 class in the Taylor coefficients sigma_1..3 (sigma_0 = 0).

    With C_W = 1/sigma_1^2 (chi_perp(0) = 1): C_W g(K) = K + a1 K^2 + O(K^3) and
    chi_perp(K) = 1 + b1 K + O(K^2), read off the Gaussian moments of the cubic Taylor
    polynomial (higher orders enter at O(K^3), O(K^2)). PDLT sec. 5.3.3.
    """
    s1, s2, s3 = sigma_p[1:]
    poly = s1 * pg.z + s2 * pg.z**2 / 2 + s3 * pg.z**3 / 6
    cw = 1 / s1**2
    g = sp.expand(cw * polynomial_expectation(poly**2))
    chi = sp.expand(cw * polynomial_expectation(sp.diff(poly, pg.z) ** 2))
    a1 = sp.simplify(g.coeff(pg.K, 2))
    b1 = sp.simplify(chi.coeff(pg.K, 1))
    assert sp.simplify(g.coeff(pg.K, 1) - 1) == 0 and sp.simplify(chi.coeff(pg.K, 0) - 1) == 0
    return {"C_W": cw, "a1": a1, "b1": b1}


@functools.cache
def k0_asymptotics() -> dict[str, sp.Expr]:
    """Large-depth behaviour at K* = 0 criticality (derived here from the recursions).

    * K' = K + a1 K^2 + ...  =>  K^(l) = 1 / (-a1 l) + o(1/l) (needs a1 < 0);
    * K_[2]' = chi_perp K_[2], chi_perp = 1 + b1 K  =>  K_[2] ~ l^(-p_perp), p_perp = b1/a1;
    * V' = chi_par^2 V + C_W^2 (<sigma^4> - <sigma^2>^2) with chi_par = 1 + 2 a1 K and
      C_W^2 (<sigma^4> - <sigma^2>^2) = 2 K^2 + O(K^3): the ansatz V = c/l balances at
      O(1/l^2) for c = 2/(3 a1^2), i.e. V/K^2 = (2/3) l for every member of the class.
    """
    a1 = sp.Symbol("a_1", negative=True)
    b1 = sp.Symbol("b_1", real=True)
    c = sp.Symbol("c")
    s1 = sigma_p[1]
    kl = 1 / (-a1 * l)
    # quartic source: C_W^2 (<sigma^4> - <sigma^2>^2) at leading order, sigma = sigma_1 z
    source = sp.simplify(
        (polynomial_expectation((s1 * pg.z) ** 4) - polynomial_expectation((s1 * pg.z) ** 2) ** 2)
        / s1**4
    )
    chi_par = 1 + 2 * a1 * pg.K
    v = c / l
    residual = c / (l + 1) - (chi_par.subs(pg.K, kl) ** 2 * v + source.subs(pg.K, kl))
    leading = sp.limit(sp.simplify(residual * l**2), l, sp.oo)
    c_value = sp.solve(leading, c)[0]
    slope = sp.simplify(c_value * a1**2)
    return {
        "K": kl,
        "p_perp": b1 / a1,
        "V": c_value / l,
        "four_point_slope": slope,
        "quartic_source": source,
    }


# --- classification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Criticality:
    """Universality class and critical initialization of one activation.

    ``K_star`` is None for the scale-invariant class (every K is a fixed point at
    criticality). ``exponents`` maps a name to a power-law exponent in depth; ``details``
    holds the class's constants (a1, b1, A2, A4, all roots found, precision...).
    """

    activation: str
    universality_class: str
    C_b: float | None
    C_W: float | None
    K_star: float | None
    four_point_slope: float | None = None
    exponents: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "activation": self.activation,
            "universality_class": self.universality_class,
            "C_b": self.C_b,
            "C_W": self.C_W,
            "K_star": self.K_star,
            "four_point_slope": self.four_point_slope,
            "exponents": self.exponents,
            "details": self.details,
        }


def _number(x: sp.Expr) -> float:
    return float(sp.N(x, 30))


def is_homogeneous(act: pg.Activation) -> bool:
    """sigma(lambda z) = lambda sigma(z) for every lambda > 0 (symbolically)."""
    if act.slopes is not None:
        return True
    lam = sp.Symbol("lambda", positive=True)
    return sp.simplify(act.expr.subs(pg.z, lam * pg.z) - lam * act.expr) == 0


def classify(
    act: pg.Activation,
    *,
    k_range: tuple[float, float] = (1e-3, 1e3),
    xtol: float = 1e-12,
    grid: int = 121,
) -> Criticality:
    """Universality class, critical (C_b, C_W), K* and exponents of ``act`` (an MLP).

    Order of tests (PDLT ch. 5): positively homogeneous -> scale-invariant; sigma_0 = 0,
    sigma_1 != 0, a1 < 0 -> K* = 0; otherwise the roots of <sigma sigma''>_K = 0 in
    ``k_range`` (:func:`half_stable_points`) with C_b >= 0 -> half-stable; else "none".
    """
    if is_homogeneous(act):
        si = scale_invariant(act)
        return Criticality(
            act.name,
            "scale-invariant",
            0.0,
            _number(si["C_W"]),
            None,
            _number(si["four_point_slope"]),
            {"K": 0.0},
            {
                "A2": _number(si["A2"]),
                "A4": _number(si["A4"]),
                "note": "every K is a fixed point at criticality (marginal line)",
            },
        )
    sig = act.taylor(3)
    if sig[0] == 0 and sig[1] != 0:
        co = {
            k: v.subs(dict(zip(sigma_p[1:], sig[1:], strict=True)))
            for k, v in k0_coefficients().items()
        }
        a1, b1 = _number(co["a1"]), _number(co["b1"])
        if a1 < 0:
            asym = k0_asymptotics()
            return Criticality(
                act.name,
                "K*=0",
                0.0,
                _number(co["C_W"]),
                0.0,
                _number(asym["four_point_slope"]),
                {"K": 1.0, "K_[2]": b1 / a1, "V/K^2": -1.0},
                {
                    "a1": a1,
                    "b1": b1,
                    "sigma_1": _number(sig[1]),
                    "sigma_2": _number(sig[2]),
                    "sigma_3": _number(sig[3]),
                    "K_asymptote": f"1/({-a1:.6g} l)",
                },
            )
    exact = exact_half_stable_points(act)
    if exact is not None:
        roots = [r for r in exact if k_range[0] <= r["K_star"] <= k_range[1]]
        precision = "exact (closed-form root)"
    else:
        roots = half_stable_points(act, k_range=k_range, xtol=xtol, grid=grid)
        precision = f"relative {xtol:g} (Brent on adaptive quadrature)"
    valid = [r for r in roots if r["C_b"] >= 0]
    if valid:
        best = valid[0]
        return Criticality(
            act.name,
            "half-stable",
            best["C_b"],
            best["C_W"],
            best["K_star"],
            None,
            {},
            {"roots": roots, "precision": precision, "k_range": list(k_range)},
        )
    return Criticality(
        act.name,
        "none",
        None,
        None,
        None,
        None,
        {},
        {"roots": roots, "k_range": list(k_range), "note": "no critical point with C_b >= 0 found"},
    )


# --- half-stable class ------------------------------------------------------------------------


def _side(curvature: float) -> str:
    """K' - K ~ curvature (K - K*)^2 < 0 pulls kernels above K* down onto it (and pushes
    those below away): "above"; the opposite sign: "below"."""
    return "above" if curvature < 0 else "below"


def exact_half_stable_points(act: pg.Activation) -> list[dict] | None:
    """Half-stable points from the closed forms, if the condition chi_par = chi_perp
    (<sigma^2>' = <sigma'^2>) factors to a solvable numerator; None otherwise. For GELU
    it is proportional to K (K^2 - 3K - 2): K* = (3 + sqrt 17)/2 (derived here)."""
    closed = act.closed_moments()
    if not {"g", "dg", "sp2", "d4"} <= set(closed):
        return None
    cond = sp.factor(sp.together(closed["dg"] - closed["sp2"]))
    try:
        candidates = sp.solve(sp.numer(cond), pg.K)
    except (NotImplementedError, ValueError):
        return None
    cb_expr, cw_expr = critical_initialization()
    roots = []
    for root in candidates:
        value = complex(sp.N(root, 30))
        if abs(value.imag) > 1e-30 or value.real <= 0:
            continue
        subs = {
            M["g"]: closed["g"].subs(pg.K, root),
            M["sp2"]: closed["sp2"].subs(pg.K, root),
            pg.K: root,
        }
        cw = cw_expr.subs(subs)
        curvature = _number(cw * closed["d4"].subs(pg.K, root) / 8)
        roots.append(
            {
                "K_star": _number(root),
                "K_star_exact": str(root),
                "C_W": _number(cw),
                "C_b": _number(cb_expr.subs(subs)),
                "curvature": curvature,
                "attracts_from": _side(curvature),
            }
        )
    return sorted(roots, key=lambda r: r["K_star"])


# --- half-stable class: numerical roots --------------------------------------------------


def moment_function(act: pg.Activation, name: str, *, closed: bool = True):
    """K -> <moment>_K as a float: the closed form if known (and ``closed``), else adaptive
    quadrature (scipy ``quad`` on x = z / sqrt(K) with the Gaussian weight, split at 0; points where
    the double-precision integrand overflows, e.g. exp(z)/(1 + exp(z))^2 far in a tail,
    are evaluated with mpmath instead). Absolute accuracy ~1e-13."""
    import warnings

    import mpmath
    import numpy as np
    from scipy import integrate

    form = act.closed_moments().get(name) if closed else None
    if form is not None:
        f = sp.lambdify(pg.K, form, "mpmath")
        return lambda k: float(f(k))
    integrand = pg.MOMENT[name].integrand.subs({pg.s0: act.expr, pg.s1: act.derivative})
    x = sp.Symbol("x", real=True)
    scaled = integrand.subs(pg.z, sp.sqrt(pg.K) * x)
    fast = sp.lambdify((x, pg.K), scaled, "numpy")
    exact = sp.lambdify((x, pg.K), scaled, "mpmath")
    norm = 1 / math.sqrt(2 * math.pi)

    def value(k: float) -> float:
        def weighted(t: float) -> float:
            with np.errstate(all="ignore"):
                v = float(fast(t, k))
            if not math.isfinite(v):
                v = float(exact(mpmath.mpf(t), mpmath.mpf(k)))
            return v * math.exp(-t * t / 2) * norm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            return sum(
                integrate.quad(weighted, a, b, epsabs=1e-14, epsrel=1e-13, limit=400)[0]
                for a, b in ((-np.inf, 0.0), (0.0, np.inf))
            )

    return value


def half_stable_points(
    act: pg.Activation,
    *,
    k_range: tuple[float, float] = (1e-3, 1e3),
    grid: int = 121,
    xtol: float = 1e-12,
) -> list[dict]:
    """All K* in ``k_range`` with chi_par = chi_perp, i.e. <sigma sigma''>_K* = 0, solved
    to relative precision ``xtol`` (Brent's method on the closed form or on adaptive
    quadrature, sign changes located on a log grid of ``grid`` points); with
    C_W = 1/<sigma'^2>_K* and C_b = K* - C_W <sigma^2>_K* (:func:`critical_initialization`).
    PDLT sec. 5.4 (SWISH, GELU). ``curvature`` = C_W g''(K*)/2: K' - K* = curvature
    (K - K*)^2 + ..., so the fixed point attracts from one side only (half-stable).
    """
    import numpy as np
    from scipy import optimize

    dg, sp2, g = (moment_function(act, n) for n in ("dg", "sp2", "g"))
    d4 = moment_function(act, "d4")

    def condition(k: float) -> float:
        return dg(k) - sp2(k)

    ks = np.geomspace(*k_range, grid)
    values = [condition(k) for k in ks]
    cb_expr, cw_expr = critical_initialization()
    roots = []
    for a, b, fa, fb in zip(ks[:-1], ks[1:], values[:-1], values[1:], strict=True):
        if fa == 0 or fa * fb >= 0:
            continue
        k_star = optimize.brentq(condition, a, b, xtol=xtol * a, rtol=4 * np.finfo(float).eps)
        subs = {M["g"]: g(k_star), M["sp2"]: sp2(k_star), pg.K: k_star}
        cw = float(cw_expr.subs(subs))
        cb = float(cb_expr.subs(subs))
        # g'' = <(sigma^2)''''>/4 (pdlt_gaussian identities)
        curvature = cw * d4(k_star) / 8
        roots.append(
            {
                "K_star": k_star,
                "C_W": cw,
                "C_b": cb,
                "curvature": curvature,
                "attracts_from": _side(curvature),
            }
        )
    return roots
