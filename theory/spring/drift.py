"""Noise-averaged dynamics of model (a): mean drift, mobility, stationary force, relaxation.

Shi, Pan & Dokmanic (arXiv 2407.19353), reference section 4 ("inferred": derived here and
verified by the tests, not taken from the paper).

A block under net force F, kicked by Gaussian force noise sigma xi, moves on average by

    g(F) = E[S(F + sigma xi)]
         = (F - mu_R) Phi((F - mu_R)/sigma) + sigma phi((F - mu_R)/sigma)
         + (F + mu_L) Phi(-(F + mu_L)/sigma) - sigma phi((F + mu_L)/sigma)

per unit time (Phi, phi: standard normal cdf and pdf). Its slope, the mobility, is

    g'(F) = Phi((F - mu_R)/sigma) + Phi(-(F + mu_L)/sigma) > 0,

so noise lubricates: g'(0) = Phi(-mu_R/sigma) + Phi(-mu_L/sigma) > 0 for every sigma > 0.
g is increasing with g(-mu_L) <= 0 <= g(mu_R), so the stationary force F* (g(F*) = 0) is
unique and lies in [-mu_L, mu_R]. It is F* = (mu_R - mu_L)/2 for every sigma
(:func:`stationary_force`): zero for symmetric friction, and a ratchet otherwise.

Linearising dx_l/dt = g(F_l) about the stationary profile (all F_l = F*) gives
d(delta x)/dt = k g'(F*) A delta x with A the Dirichlet second-difference matrix of the L
blocks, whose eigenvalues are -4 sin^2(j pi / (2(L+1))), j = 1..L. The slowest relaxation
time of the chain is therefore

    tau = 1 / (4 k g'(F*) sin^2(pi / (2(L+1)))).
"""

from __future__ import annotations

import math

import sympy as sp
from scipy import special

from springblock.theory.spring import friction

F = sp.Symbol("F", real=True)  # net spring force on a block
sigma = sp.Symbol("sigma", positive=True)  # force-noise standard deviation


class Phi(sp.Function):
    """The standard normal cdf, Phi(z) = erfc(-z / sqrt 2) / 2, as its own sympy function.

    sympy rewrites erfc(-x) as 2 - erfc(x), which cancels to 0 in the far left tail (and
    so would (1 + erf(z / sqrt 2)) / 2): kept as a named function, Phi compiles to
    ``ndtr`` (scipy, jax), accurate in both tails, and evaluates with mpmath's ``ncdf``.
    Its derivative is the normal pdf.
    """

    def fdiff(self, argindex=1):
        return normal_pdf(self.args[0])

    def _eval_rewrite_as_erfc(self, z, **kwargs):
        return sp.erfc(-z / sp.sqrt(2)) / 2

    def _eval_evalf(self, prec):
        import mpmath

        z = self.args[0].evalf(prec)
        if not z.is_Number:
            return None
        with mpmath.workprec(prec):
            return sp.Float(mpmath.ncdf(z._to_mpmath(prec)), precision=prec)

    def _latex(self, printer, exp=None):
        body = rf"\Phi\left({printer._print(self.args[0])}\right)"
        return body if exp is None else rf"{body}^{{{exp}}}"


#: Name -> numeric implementation, for ``sympy.lambdify(..., modules=[NUMERIC, "scipy"])``.
NUMERIC = {"Phi": special.ndtr}


def normal_cdf(z: sp.Expr) -> sp.Expr:
    """Phi(z), the standard normal cdf (see :class:`Phi`)."""
    return Phi(z)


def normal_pdf(z: sp.Expr) -> sp.Expr:
    """phi(z) = exp(-z^2 / 2) / sqrt(2 pi)."""
    return sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)


def mean_drift(
    force: sp.Expr = F,
    sigma: sp.Expr = sigma,
    right: sp.Expr = friction.mu_R,
    left: sp.Expr = friction.mu_L,
) -> sp.Expr:
    """g(F) = E[S(F + sigma xi)], xi ~ N(0, 1), in closed form (module docstring)."""
    a = (force - right) / sigma
    b = (force + left) / sigma
    return (
        (force - right) * normal_cdf(a)
        + sigma * normal_pdf(a)
        + (force + left) * normal_cdf(-b)
        - sigma * normal_pdf(b)
    )


def mobility(
    force: sp.Expr = F,
    sigma: sp.Expr = sigma,
    right: sp.Expr = friction.mu_R,
    left: sp.Expr = friction.mu_L,
) -> sp.Expr:
    """g'(F) = Phi((F - mu_R)/sigma) + Phi(-(F + mu_L)/sigma)."""
    return normal_cdf((force - right) / sigma) + normal_cdf(-(force + left) / sigma)


def laplacian_slowest_rate(blocks: int | sp.Expr) -> sp.Expr:
    """lambda_1 = 4 sin^2(pi / (2(L+1))): smallest |eigenvalue| of the Dirichlet chain."""
    return 4 * sp.sin(sp.pi / (2 * (blocks + 1))) ** 2


def relaxation_time(blocks: int | sp.Expr, stiffness: sp.Expr, slope: sp.Expr) -> sp.Expr:
    """tau = 1 / (k g'(F*) lambda_1), the slowest relaxation time of the mean-field chain."""
    return 1 / (stiffness * slope * laplacian_slowest_rate(blocks))


_g_numeric = sp.lambdify((F, sigma, friction.mu_R, friction.mu_L), mean_drift(), [NUMERIC, "scipy"])
_slope_numeric = sp.lambdify(
    (F, sigma, friction.mu_R, friction.mu_L), mobility(), [NUMERIC, "scipy"]
)


def mean_drift_value(force: float, noise: float, mu_right: float, mu_left: float) -> float:
    """Numeric g(F); at noise = 0 it is the static-friction map S(F) itself."""
    if noise == 0:
        if force > mu_right:
            return force - mu_right
        if force < -mu_left:
            return force + mu_left
        return 0.0
    return float(_g_numeric(force, noise, mu_right, mu_left))


def mobility_value(force: float, noise: float, mu_right: float, mu_left: float) -> float:
    """Numeric g'(F) (noise > 0)."""
    return float(_slope_numeric(force, noise, mu_right, mu_left))


def stationary_force(mu_right=friction.mu_R, mu_left=friction.mu_L):
    """F* = (mu_R - mu_L) / 2, for every sigma > 0.

    S is the symmetric dead-zone map with half-width a = (mu_R + mu_L)/2 shifted by
    c = (mu_R - mu_L)/2: S(f; mu_R, mu_L) = S(f - c; a, a). Averaging over the noise keeps
    the shift, g(F; mu_R, mu_L) = g(F - c; a, a), and the symmetric g is odd, so g(c) = 0;
    g' > 0 makes the root unique. (The reference expected a numerical root here; the
    tests check this closed form against Brent's method.)
    """
    return (mu_right - mu_left) / 2


def stationary_mobility(noise=sigma, mu_right=friction.mu_R, mu_left=friction.mu_L):
    """g'(F*) = 2 Phi(-(mu_R + mu_L) / (2 sigma))."""
    return 2 * normal_cdf(-(mu_right + mu_left) / (2 * noise))


def relaxation_time_value(
    blocks: int, stiffness: float, noise: float, mu_right: float, mu_left: float
) -> float:
    """Numeric tau at the stationary force (noise > 0); inf when the mobility underflows."""
    if noise <= 0:
        raise ValueError(f"noise must be > 0 for a finite relaxation time, got {noise}")
    slope = math.erfc((mu_right + mu_left) / (2 * noise) / math.sqrt(2))  # 2 Phi(-a/sigma)
    rate = stiffness * slope * 4 * math.sin(math.pi / (2 * (blocks + 1))) ** 2
    return math.inf if rate == 0 else 1.0 / rate
