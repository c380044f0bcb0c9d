"""Gaussian expectations of an activation: the building blocks of the PDLT recursions.

Roberts, Yaida & Hanin, *The Principles of Deep Learning Theory* (arXiv 2106.10165, "PDLT"),
chapters 4-5; reference ../shared/reference/companion-theories.md section A.

Notation. ``<F(z)>_K = E_{z ~ N(0, K)} F(z)`` for one input; for a pair of inputs
``<F(u, v)>_{K11, K12, K22}`` with ``(u, v)`` centred Gaussian, Var u = K11, Var v = K22,
Cov(u, v) = K12. sigma is the activation, sigma' its derivative.

Every recursion in :mod:`~springblock.theory.pdlt.criticality` and
:mod:`~springblock.theory.pdlt.finite_width` needs only the single-input *moments* listed in
:data:`MOMENTS` and the two pair expectations :data:`PAIR_MOMENTS`. Each moment is stated
here once, as an integrand in ``z, K`` and the symbols ``s0 = sigma(z)``, ``s1 = sigma'(z)``
(the pair moments in ``s0a, s1a, s0b, s1b``). The K-derivatives use Gaussian integration
by parts (Stein's lemma; PDLT ch. 4-5 use the same identities), so no
moment needs sigma'' and every one is defined for kinked activations such as ReLU:

    d<F>/dK    = <F (z^2 - K)> / (2 K^2) = <F''> / 2,
    <F z^2>    = K <F> + 2 K^2 d<F>/dK,
    <F'''>     = <F (z^3 - 3 K z)> / K^3,      <F''''> = <F (z^4 - 6 K z^2 + 3 K^2)> / K^4.

An :class:`Activation` holds sigma as a sympy expression in :data:`z` and, where known,
closed forms of the pair expectations (literature formulas, each cited) from which the
single-input moments follow by substitution K11 = K12 = K22 = K and by the identities
above (:meth:`Activation.closed_moments`). Positively homogeneous activations (the ReLU
family) get every moment by exact piecewise-polynomial integration (derived here).
Activations without closed forms (tanh, SWISH, softplus, ...) are integrated numerically
by the numerics layer (Gauss-Hermite) from the same integrands.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import sympy as sp

z = sp.Symbol("z", real=True)  # a preactivation
K = sp.Symbol("K", positive=True)  # single-input kernel (variance of z)
K11 = sp.Symbol("K_{11}", positive=True)
K22 = sp.Symbol("K_{22}", positive=True)
K12 = sp.Symbol("K_{12}", real=True)
s0 = sp.Symbol("s_0", real=True)  # sigma(z) inside an integrand
s1 = sp.Symbol("s_1", real=True)  # sigma'(z)
s0a, s1a = sp.Symbol("s_{0a}", real=True), sp.Symbol("s_{1a}", real=True)
s0b, s1b = sp.Symbol("s_{0b}", real=True), sp.Symbol("s_{1b}", real=True)


@dataclass(frozen=True)
class Moment:
    """A Gaussian expectation ``symbol = <integrand>_K`` used by the recursions."""

    name: str
    symbol: sp.Symbol
    integrand: sp.Expr
    meaning: str


def _moment(name: str, latex: str, integrand: sp.Expr, meaning: str) -> Moment:
    return Moment(name, sp.Symbol(latex, real=True), integrand, meaning)


#: Single-input moments: integrands in z, K, s0 = sigma(z), s1 = sigma'(z).
MOMENTS: tuple[Moment, ...] = (
    _moment("g", r"\langle\sigma^2\rangle", s0**2, "g(K) = <sigma^2>_K"),
    _moment(
        "dg",
        r"\partial_K\langle\sigma^2\rangle",
        s0**2 * (z**2 - K) / (2 * K**2),
        "g'(K) = <sigma^2 (z^2 - K)>/(2K^2)",
    ),
    _moment("sp2", r"\langle\sigma'^2\rangle", s1**2, "<sigma'^2>_K"),
    _moment(
        "dsp2",
        r"\partial_K\langle\sigma'^2\rangle",
        s1**2 * (z**2 - K) / (2 * K**2),
        "d<sigma'^2>/dK",
    ),
    _moment("s4", r"\langle\sigma^4\rangle", s0**4, "<sigma^4>_K"),
    _moment("s2z", r"\langle\sigma^2 z\rangle", s0**2 * z, "<sigma^2 z>_K"),
    _moment("s2z2", r"\langle\sigma^2 z^2\rangle", s0**2 * z**2, "<sigma^2 z^2>_K"),
    _moment(
        "d3", r"\langle(\sigma^2)'''\rangle", s0**2 * (z**3 - 3 * K * z) / K**3, "<(sigma^2)'''>_K"
    ),
    _moment(
        "d4",
        r"\langle(\sigma^2)''''\rangle",
        s0**2 * (z**4 - 6 * K * z**2 + 3 * K**2) / K**4,
        "<(sigma^2)''''>_K",
    ),
)
MOMENT = {m.name: m for m in MOMENTS}

#: Pair moments: integrands in s0a = sigma(u), s1a = sigma'(u), s0b, s1b.
PAIR_MOMENTS: tuple[Moment, ...] = (
    _moment("pair", r"\langle\sigma_a\sigma_b\rangle", s0a * s0b, "<sigma(u) sigma(v)>"),
    _moment("dpair", r"\langle\sigma'_a\sigma'_b\rangle", s1a * s1b, "<sigma'(u) sigma'(v)>"),
)
PAIR_MOMENT = {m.name: m for m in PAIR_MOMENTS}


def gaussian_density(variance: sp.Expr = K, var: sp.Symbol = z) -> sp.Expr:
    """phi_K(z) = exp(-z^2 / (2K)) / sqrt(2 pi K)."""
    return sp.exp(-(var**2) / (2 * variance)) / sp.sqrt(2 * sp.pi * variance)


@functools.cache
def half_line_moment(power: int) -> sp.Expr:
    """int_0^oo z^p phi_K(z) dz, integrated by sympy (PDLT-independent, exact)."""
    return sp.simplify(sp.integrate(z**power * gaussian_density(), (z, 0, sp.oo)))


def exponential_sum_expectation(expr: sp.Expr) -> sp.Expr | None:
    """<expr>_K for a finite sum of c * exp(b z) terms (trigonometric and hyperbolic
    polynomials after ``rewrite(exp)``), using <exp(b z)>_K = exp(b^2 K / 2).

    Returns None when some term is not of that form (then use quadrature).
    """
    total = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(sp.expand(expr).rewrite(sp.exp))):
        coeff, rest = term.as_independent(z, as_Add=False)
        if rest == 1:
            total += coeff
            continue
        if not isinstance(rest, sp.exp):
            return None
        b = sp.simplify(rest.args[0] / z)
        if b.has(z):
            return None
        total += coeff * sp.exp(b**2 * K / 2)
    return sp.simplify(total.rewrite(sp.cos))


@dataclass(frozen=True)
class Activation:
    """An activation sigma(z) with whatever closed forms are known for it.

    ``expr``: sigma as a sympy expression in :data:`z`. ``pair`` / ``dpair``: closed forms
    of <sigma(u) sigma(v)> and <sigma'(u) sigma'(v)> in K11, K12, K22 (or None).
    ``slopes``: (a_+, a_-) when sigma is positively homogeneous, sigma = a_+ z for z > 0
    and a_- z for z < 0 (then every moment is exact, :func:`homogeneous_moment`).
    ``extra``: further single-input moments in closed form (name -> expression in K).
    ``source``: where the closed forms come from.
    """

    name: str
    expr: sp.Expr
    pair: sp.Expr | None = None
    dpair: sp.Expr | None = None
    slopes: tuple[sp.Expr, sp.Expr] | None = None
    extra: tuple[tuple[str, sp.Expr], ...] = field(default=())
    source: str = ""

    @property
    def derivative(self) -> sp.Expr:
        """sigma'(z)."""
        return sp.diff(self.expr, z)

    @property
    def sigma_squared_is_even(self) -> bool:
        """sigma(-z)^2 == sigma(z)^2 identically (then <sigma^2 z> = <(sigma^2)'''> = 0)."""
        if self.slopes is not None:
            return sp.simplify(self.slopes[0] ** 2 - self.slopes[1] ** 2) == 0
        return sp.simplify(self.expr.subs(z, -z) ** 2 - self.expr**2) == 0

    def closed_moments(self) -> dict[str, sp.Expr]:
        """Every single-input moment of :data:`MOMENTS` known in closed form (in K)."""
        return dict(_closed_moments(self))

    def closed_pair_moments(self) -> dict[str, sp.Expr]:
        """The pair moments known in closed form (in K11, K12, K22)."""
        return {n: e for n, e in (("pair", self.pair), ("dpair", self.dpair)) if e is not None}

    def taylor(self, order: int = 5) -> list[sp.Expr]:
        """sigma_p = d^p sigma/dz^p at 0, p = 0..order (PDLT sec. 5.3.3 notation)."""
        series = sp.series(self.expr, z, 0, order + 1).removeO()
        return [sp.factorial(p) * series.coeff(z, p) for p in range(order + 1)]


def homogeneous_moment(integrand: sp.Expr, a_plus: sp.Expr, a_minus: sp.Expr) -> sp.Expr:
    """<integrand>_K for sigma = a_+ z (z > 0), a_- z (z < 0), exactly (derived here).

    On each half-line s0 = a z and s1 = a, so the integrand is a polynomial in z whose
    monomials integrate to :func:`half_line_moment` (times (-1)^p on the negative side).
    """
    total = sp.Integer(0)
    for a, sign in ((a_plus, 1), (a_minus, -1)):
        poly = sp.Poly(sp.expand(integrand.subs({s0: a * z, s1: a})), z)
        for (power,), coeff in poly.terms():
            total += coeff * sign**power * half_line_moment(power)
    return sp.simplify(total)


@functools.cache
def _closed_moments(act: Activation) -> tuple[tuple[str, sp.Expr], ...]:
    if act.slopes is not None:
        a_plus, a_minus = act.slopes
        return tuple((m.name, homogeneous_moment(m.integrand, a_plus, a_minus)) for m in MOMENTS)
    out: dict[str, sp.Expr] = dict(act.extra)
    diagonal = {K11: K, K22: K, K12: K}
    if act.pair is not None:
        g = sp.simplify(act.pair.subs(diagonal))
        out.setdefault("g", g)
        out.setdefault("dg", sp.diff(g, K))
        out.setdefault("s2z2", K * g + 2 * K**2 * sp.diff(g, K))
        out.setdefault("d4", 4 * sp.diff(g, K, 2))
    if act.dpair is not None:
        sp2 = sp.simplify(act.dpair.subs(diagonal))
        out.setdefault("sp2", sp2)
        out.setdefault("dsp2", sp.diff(sp2, K))
    if act.sigma_squared_is_even:
        out.setdefault("s2z", sp.Integer(0))
        out.setdefault("d3", sp.Integer(0))
    if "s4" not in out:
        s4 = exponential_sum_expectation(act.expr**4)
        if s4 is not None:
            out["s4"] = s4
    return tuple(out.items())


# --- the activations with literature closed forms ----------------------------------------


def arccos_angle() -> sp.Expr:
    """theta with cos theta = K12 / sqrt(K11 K22)."""
    return sp.acos(K12 / sp.sqrt(K11 * K22))


def abrelu(
    a_plus: float | sp.Expr = 1, a_minus: float | sp.Expr = 0, name: str | None = None
) -> Activation:
    """sigma(z) = a_+ z for z > 0, a_- z for z < 0 (ReLU: 1, 0; leaky: 1, a; linear: 1, 1).

    Pair closed forms: the arc-cosine kernel of Cho & Saul (NeurIPS 2009) for ReLU,
    <relu(u) relu(v)> = sqrt(K11 K22) [sin t + (pi - t) cos t] / (2 pi) and
    P(u > 0, v > 0) = (pi - t)/(2 pi); writing sigma = a_+ relu(u) - a_- relu(-u) and
    noting that (u, -v) has angle pi - t gives (derived here)

        <sigma sigma>   = sqrt(K11 K22)/(2 pi) [(a_+^2 + a_-^2)(sin t + (pi - t) cos t)
                                                - 2 a_+ a_- (sin t - t cos t)],
        <sigma' sigma'> = (a_+^2 + a_-^2)(pi - t)/(2 pi) + a_+ a_- t / pi.
    """
    ap, am = sp.nsimplify(a_plus), sp.nsimplify(a_minus)
    t = arccos_angle()
    pair = (
        sp.sqrt(K11 * K22)
        / (2 * sp.pi)
        * (
            (ap**2 + am**2) * (sp.sin(t) + (sp.pi - t) * sp.cos(t))
            - 2 * ap * am * (sp.sin(t) - t * sp.cos(t))
        )
    )
    dpair = (ap**2 + am**2) * (sp.pi - t) / (2 * sp.pi) + ap * am * t / sp.pi
    expr = sp.Piecewise((ap * z, z > 0), (am * z, True))
    return Activation(
        name or f"abrelu({a_plus},{a_minus})",
        expr,
        pair,
        dpair,
        (ap, am),
        source="Cho & Saul 2009 (arc-cosine kernel); half-line integrals",
    )


def relu() -> Activation:
    return abrelu(1, 0, "relu")


def leaky_relu(slope: float | sp.Expr | None = None) -> Activation:
    """sigma = z (z > 0), slope z (z < 0); default slope 1/100."""
    slope = sp.Rational(1, 100) if slope is None else slope
    return abrelu(1, slope, f"leaky_relu({slope})")


def linear() -> Activation:
    return abrelu(1, 1, "linear")


def erf_activation() -> Activation:
    """sigma = erf(z). Williams (NeurIPS 1996): <erf erf> = (2/pi) arcsin(2 K12 / sqrt((1 +
    2 K11)(1 + 2 K22))); <erf' erf'> = (4/pi) / sqrt((1 + 2 K11)(1 + 2 K22) - 4 K12^2)."""
    d = (1 + 2 * K11) * (1 + 2 * K22)
    return Activation(
        "erf",
        sp.erf(z),
        2 / sp.pi * sp.asin(2 * K12 / sp.sqrt(d)),
        4 / sp.pi / sp.sqrt(d - 4 * K12**2),
        source="Williams 1996",
    )


def sin_activation() -> Activation:
    """sigma = sin(z): <sin u sin v> = exp(-(K11 + K22)/2) sinh K12 and <cos u cos v> =
    exp(-(K11 + K22)/2) cosh K12 (from <cos(u -+ v)> = exp(-Var(u -+ v)/2))."""
    e = sp.exp(-(K11 + K22) / 2)
    return Activation(
        "sin",
        sp.sin(z),
        e * sp.sinh(K12),
        e * sp.cosh(K12),
        source="characteristic function of a Gaussian",
    )


def gelu() -> Activation:
    """sigma = z Phi(z). Pair closed forms of Tsuchida, Pearce, van der Heide, Roosta &
    Gallagher (arXiv 2002.08517), in the form neural-tangents implements: with
    D^2 = (1 + K11)(1 + K22) - K12^2 and t = atan(K12 / D),

        <sigma sigma>   = K12/4 + [(K12^2 + K11 K22 D^2) / ((1 + K11)(1 + K22) D)
                                   + K12 t] / (2 pi),
        <sigma' sigma'> = 1/4 + t/(2 pi) + K12/(2 pi D) [1/D^2 + (1 - K11 K22)
                                                          / ((1 + K11)(1 + K22)) + 1].
    """
    p1 = (1 + K11) * (1 + K22)
    d2 = p1 - K12**2
    d = sp.sqrt(d2)
    t = sp.atan(K12 / d)
    pair = K12 / 4 + ((K12**2 + K11 * K22 * d2) / (p1 * d) + K12 * t) / (2 * sp.pi)
    dpair = (
        sp.Rational(1, 4)
        + t / (2 * sp.pi)
        + K12 / (2 * sp.pi * d) * (1 / d2 + (1 - K11 * K22) / p1 + 1)
    )
    expr = z * (1 + sp.erf(z / sp.sqrt(2))) / 2
    return Activation("gelu", expr, pair, dpair, source="Tsuchida et al. arXiv 2002.08517")


def tanh_activation() -> Activation:
    return Activation("tanh", sp.tanh(z), source="no closed form: Gauss-Hermite")


def swish() -> Activation:
    """sigma = z / (1 + e^-z), written z (1 + tanh(z/2)) / 2 (the same function; no
    overflow of e^-z for large negative z)."""
    return Activation("swish", z * (1 + sp.tanh(z / 2)) / 2, source="no closed form: Gauss-Hermite")


def softplus() -> Activation:
    return Activation("softplus", sp.log(1 + sp.exp(z)), source="no closed form")


def sigmoid() -> Activation:
    """sigma = 1 / (1 + e^-z), written (1 + tanh(z/2)) / 2."""
    return Activation("sigmoid", (1 + sp.tanh(z / 2)) / 2, source="no closed form")


#: The named activations (``--activation NAME``); leaky_relu takes ``leaky_relu:SLOPE``.
NAMED = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "linear": linear,
    "tanh": tanh_activation,
    "erf": erf_activation,
    "sin": sin_activation,
    "gelu": gelu,
    "swish": swish,
    "softplus": softplus,
    "sigmoid": sigmoid,
}


def named(spec: str) -> Activation:
    """The activation called ``spec`` ("relu", "tanh", "leaky_relu:0.2", ...).

    Raises KeyError for an unknown name and ValueError for a bad parameter.
    """
    name, _, arg = spec.strip().lower().partition(":")
    if name not in NAMED:
        raise KeyError(name)
    if arg:
        if name != "leaky_relu":
            raise ValueError(f"{name} takes no parameter")
        value = float(arg)
        if not math.isfinite(value):
            raise ValueError(f"slope must be finite, got {arg}")
        return leaky_relu(sp.nsimplify(arg))
    return NAMED[name]()
