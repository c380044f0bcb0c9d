"""Harmonic analysis of dot-product kernels on the hypersphere, and the kernels of wide nets.

Sources: the companion reference ../shared/reference/companion-theories.md, section B;
A. Canatar, B. Bordelon, C. Pehlevan, Nat. Commun. 12, 2914 (2021), "Spectral bias and
task-model alignment" (Methods, "Spectrum of dot-product kernels on the sphere");
K. Atkinson, W. Han, "Spherical Harmonics and Approximations on the Unit Sphere" (Springer
2012), chapters 1-2 (Gegenbauer/Legendre polynomials, addition and Funk-Hecke theorems).

Data x are uniform on the unit sphere S^(d-1) in R^d (d >= 2); t = x.x' in [-1, 1] has
density c_d (1 - t^2)^((d-3)/2), c_d = Gamma(d/2) / (sqrt(pi) Gamma((d-1)/2)).

* P_l(t) = P_l^(d)(t) is the Gegenbauer polynomial C_l^((d-2)/2)(t) normalised to
  P_l(1) = 1 (Legendre for d = 3, Chebyshev T_l for d = 2). It obeys
  P_(l+1)(t) = [(2l + d - 2) t P_l(t) - l P_(l-1)(t)] / (l + d - 2),  P_0 = 1, P_1 = t.
* N(d, l) = binom(l+d-1, l) - binom(l+d-3, l-2) is the dimension of the degree-l spherical
  harmonics (harmonic homogeneous polynomials: all degree-l monomials minus the multiples
  of |x|^2); for d >= 3 it equals (2l + d - 2)(l + d - 3)! / (l! (d-2)!).
* Addition theorem: sum_m Y_lm(x) Y_lm(x') = N(d, l) P_l(x.x') for an orthonormal basis Y_lm
  of the degree-l harmonics under the uniform probability measure.
* Funk-Hecke: a dot-product kernel k(x.x') has the harmonics as eigenfunctions,
  lambda_l = c_d int_{-1}^{1} k(t) P_l(t) (1 - t^2)^((d-3)/2) dt
           = c_d int_0^pi k(cos th) P_l(cos th) sin(th)^(d-2) dth,
  each with multiplicity N(d, l), and k(t) = sum_l lambda_l N(d, l) P_l(t) (Mercer).

The kernels of infinitely wide MLPs (NNGP K and NTK Theta) are dot-product kernels on the
sphere. With z^(1) = sqrt(C_b) b + sqrt(C_in) W x (|x| = 1) and
z^(l+1) = sqrt(C_b) b + sqrt(C_W / n) W sigma(z^(l)), W, b standard normal (PDLT
convention, companion reference section A, with inputs standardised to |x|^2 = n_0, so
that C_W x.x'/n_0 = C_W t; C_in = C_W unless set otherwise):

  K^(1)(x, x') = C_b + C_in t,                 Theta^(1) = K^(1),
  K^(l+1)      = C_b + C_W <sigma(u) sigma(v)>,
  Theta^(l+1)  = K^(l+1) + C_W <sigma'(u) sigma'(v)> Theta^(l),

(u, v) ~ N(0, [[q, c], [c, q]]) with q = K^(l)(x, x), c = K^(l)(x, x') (Jacot, Gabriel,
Hongler 2018, NTK parametrisation: every parameter contributes its own gradient term). On
the sphere q does not depend on x, so every layer is a map (q, c, Theta) -> (q', c',
Theta'); :class:`LayerMap` holds it as sympy expressions. The Gaussian expectations are the
closed forms of :mod:`springblock.theory.pdlt.gaussian` (companion reference, section A), e.g.

  ReLU:   <s s> = q / (2 pi) [sin a + (pi - a) cos a],  <s' s'> = (pi - a) / (2 pi),  cos a = c/q
  erf:    <s s> = (2/pi) asin(2c / (1 + 2q)),            <s' s'> = (4/pi) / sqrt((1 + 2q)^2 - 4c^2)

and likewise leaky ReLU, linear, sin and GELU; activations without closed forms (tanh,
SWISH) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from springblock.params import ParameterError
from springblock.theory.pdlt import gaussian as pg

t = sp.Symbol("t", real=True)  # cosine x.x' of two points on the unit sphere
theta = sp.Symbol("theta", real=True)  # angle, t = cos(theta)
l_sym = sp.Symbol("l", integer=True, nonnegative=True)
d_sym = sp.Symbol("d", integer=True, positive=True)

q = sp.Symbol("q", positive=True)  # K(x, x): variance of one preactivation
c = sp.Symbol("c", real=True)  # K(x, x'): covariance of the pair
ntk = sp.Symbol("Theta", real=True)  # NTK of the pair at the current layer
C_W = sp.Symbol("C_W", positive=True)
C_b = sp.Symbol("C_b", nonnegative=True)
C_in = sp.Symbol("C_in", positive=True)  # weight variance of the first layer (default C_W)

#: Activations with closed-form pair expectations (leaky_relu also as leaky_relu:SLOPE).
ACTIVATIONS = tuple(
    name for name, make in pg.NAMED.items() if make().pair is not None and make().dpair is not None
)


def check_dimension(d: object) -> int:
    """d >= 2 (the sphere S^(d-1) in R^d); raises :class:`ParameterError` naming ``dim``."""
    from springblock.params import check_int

    return check_int("dim", d, 2, 10_000)


# --- Gegenbauer polynomials, degeneracies, the measure of t ------------------------------


def recurrence_coefficients(l=l_sym, d=d_sym) -> tuple[sp.Expr, sp.Expr]:
    """(a, b) with P_(l+1)(t) = a t P_l(t) - b P_(l-1)(t), l >= 1:
    a = (2l + d - 2)/(l + d - 2), b = l/(l + d - 2) (Atkinson & Han, eq. 2.89)."""
    return (2 * l + d - 2) / (l + d - 2), l / (l + d - 2)


def gegenbauer(l: int, d: int, x: sp.Expr = t) -> sp.Expr:
    """Normalised Gegenbauer polynomial P_l^(d)(x), P_l(1) = 1, from sympy's own
    Gegenbauer/Chebyshev polynomials (independent of :func:`recurrence_coefficients`)."""
    d = check_dimension(d)
    if d == 2:
        return sp.chebyshevt(l, x)
    alpha = sp.Rational(d - 2, 2)
    poly = sp.gegenbauer(l, alpha, x)
    return sp.expand(poly / sp.gegenbauer(l, alpha, 1))


def degeneracy(l: int, d: int) -> int:
    """N(d, l) = binom(l+d-1, l) - binom(l+d-3, l-2): dimension of degree-l harmonics."""
    d = check_dimension(d)
    first = sp.binomial(l + d - 1, l)
    second = sp.binomial(l + d - 3, l - 2) if l >= 2 else 0
    return int(first - second)


def degeneracy_formula(l=l_sym, d=d_sym) -> sp.Expr:
    """(2l + d - 2)(l + d - 3)! / (l! (d - 2)!), the reference's form (d >= 3)."""
    return (2 * l + d - 2) * sp.factorial(l + d - 3) / (sp.factorial(l) * sp.factorial(d - 2))


def density_constant(d=d_sym) -> sp.Expr:
    """c_d = Gamma(d/2) / (sqrt(pi) Gamma((d-1)/2)): normalises the density of t = x.x'."""
    half = sp.Rational(1, 2)
    return sp.gamma(half * d) / (sp.sqrt(sp.pi) * sp.gamma((d - 1) * half))


def angular_weight(d: int, angle: sp.Expr = theta) -> sp.Expr:
    """The same measure in the angle: c_d sin(theta)^(d-2) on [0, pi]."""
    return density_constant(d) * sp.sin(angle) ** (d - 2)


def funk_hecke(kernel_of_angle: sp.Expr, l: int, d: int, angle: sp.Symbol = theta) -> sp.Expr:
    """Exact lambda_l = c_d int_0^pi k(cos th) P_l(cos th) sin(th)^(d-2) dth by sympy.

    ``kernel_of_angle`` is k written as a function of the angle (the arc-cosine kernels are
    trigonometric polynomials times (pi - th) there, which sympy integrates exactly).
    """
    integrand = sp.expand(
        kernel_of_angle * gegenbauer(l, d, sp.cos(angle)) * sp.sin(angle) ** (d - 2)
    )
    return sp.nsimplify(
        sp.simplify(density_constant(d) * sp.integrate(integrand, (angle, 0, sp.pi)))
    )


# --- kernels of wide nets ------------------------------------------------------------------


z = pg.z  # a preactivation


def named_activation(activation: str) -> pg.Activation:
    """The activation ``activation`` of :mod:`springblock.theory.pdlt.gaussian` (the PDLT
    issue's single source of activations and their Gaussian closed forms); only those with
    closed-form pair expectations <s s> and <s' s'> have kernels here."""
    allowed = f"one of {', '.join(ACTIVATIONS)} (leaky_relu:SLOPE for another slope)"
    try:
        act = pg.named(str(activation))
    except (KeyError, ValueError):
        raise ParameterError("activation", activation, allowed) from None
    if act.pair is None or act.dpair is None:
        raise ParameterError("activation", activation, allowed + "; no closed form for " + act.name)
    return act


def activation_function(activation: str, x: sp.Expr = z) -> sp.Expr:
    """sigma(x) as a sympy expression (ReLU family as Piecewise)."""
    return named_activation(activation).expr.subs(pg.z, x)


def gaussian_products(activation: str) -> tuple[sp.Expr, sp.Expr]:
    """(<sigma(u) sigma(v)>, <sigma'(u) sigma'(v)>) for (u, v) ~ N(0, [[q, c], [c, q]]):
    the closed forms of :mod:`~springblock.theory.pdlt.gaussian` (Cho & Saul 2009 for the
    ReLU family, Williams 1996 for erf, ...) at K11 = K22 = q, K12 = c."""
    act = named_activation(activation)
    assert act.pair is not None and act.dpair is not None  # named_activation checked both
    values = {pg.K11: q, pg.K22: q, pg.K12: c}
    return sp.simplify(act.pair.subs(values)), sp.simplify(act.dpair.subs(values))


@dataclass(frozen=True)
class LayerMap:
    """One hidden layer of a wide MLP acting on a pair of points of the sphere.

    ``state`` = (q, c, Theta); ``step`` maps it to the next layer, ``first`` gives the
    first layer's state from t (module docstring). ``bias`` is the bias variance of the
    layer being applied (C_b for hidden layers; the readout may use another value).
    """

    activation: str = "relu"

    def __post_init__(self):
        gaussian_products(self.activation)  # validates the name

    @property
    def state(self) -> tuple[sp.Symbol, sp.Symbol, sp.Symbol]:
        return (q, c, ntk)

    @property
    def parameters(self) -> tuple[sp.Symbol, sp.Symbol]:
        return (C_W, C_b)

    @property
    def first_parameters(self) -> tuple[sp.Symbol, sp.Symbol]:
        return (C_in, C_b)

    @cached_property
    def first(self) -> list[sp.Expr]:
        """(q^(1), c^(1), Theta^(1)) = (C_b + C_in, C_b + C_in t, C_b + C_in t)."""
        return [C_b + C_in, C_b + C_in * t, C_b + C_in * t]

    @cached_property
    def step(self) -> list[sp.Expr]:
        """(q', c', Theta') = (C_b + C_W <s^2>_q, C_b + C_W <s s>, c' + C_W <s' s'> Theta)."""
        both, slopes = gaussian_products(self.activation)
        diagonal = sp.simplify(both.subs(c, q))
        new_c = C_b + C_W * both
        return [C_b + C_W * diagonal, new_c, new_c + C_W * slopes * ntk]

    def kernel_of_angle(
        self,
        depth: int,
        kind: str = "nngp",
        weight: sp.Expr = C_W,
        bias: sp.Expr = C_b,
        input_weight: sp.Expr | None = None,
        readout_bias: sp.Expr | None = None,
        angle: sp.Symbol = theta,
    ) -> sp.Expr:
        """The kernel of ``depth`` hidden layers plus the readout as an explicit sympy
        expression of the angle (small depths only: the expressions nest).

        ``weight``, ``bias`` (C_W, C_b) may be numbers; ``input_weight`` is the first
        layer's weight variance (default ``weight``), ``readout_bias`` the readout's bias
        variance (default ``bias``). On theta in [0, pi], acos(cos theta) = theta and
        sqrt(1 - cos^2 theta) = sin theta are applied so that sympy can integrate.
        """
        if kind not in ("nngp", "ntk"):
            raise ParameterError("kind", kind, "'nngp' or 'ntk'")
        values = {C_in: weight if input_weight is None else input_weight, C_b: bias}
        state = [e.subs(values).subs(t, sp.cos(angle)) for e in self.first]
        for layer in range(depth):
            last = layer == depth - 1
            values = {C_W: weight, C_b: bias if not last or readout_bias is None else readout_bias}
            subs = dict(zip(self.state, state, strict=True))
            state = [
                _on_angle(e.subs(values).subs(subs, simultaneous=True), angle) for e in self.step
            ]
        return state[1] if kind == "nngp" else state[2]


def _on_angle(expr: sp.Expr, angle: sp.Symbol) -> sp.Expr:
    """Simplify for angle in [0, pi]: acos(cos a) = a, |sin a| = sin a."""
    expr = sp.trigsimp(sp.simplify(expr).replace(sp.acos(sp.cos(angle)), angle))
    return expr.replace(sp.Abs(sp.sin(angle)), sp.sin(angle))
