"""theory.pdlt_gaussian: every closed-form Gaussian expectation against adaptive quadrature.

The closed forms are literature formulas (arc-cosine kernel, Williams' erf kernel, the
Gaussian characteristic function, Tsuchida et al.'s GELU kernel) or sympy integrals; the
independent check is scipy's adaptive ``quad`` (1-d) and nested ``quad`` (2-d) on the
defining integrals, at absolute tolerance 1e-9 (quad reaches ~1e-12 here; the margin
covers the cancellation in the K-derivative integrands).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from springblock.theory.pdlt import gaussian as pg

TOL = 1e-9
KS = (0.05, 0.7, 2.5)


def _numeric(act: pg.Activation):
    f = sp.lambdify(pg.z, act.expr, "math")
    df = sp.lambdify(pg.z, act.derivative, "math")
    return f, df


pytestmark = pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")


def quad_moment(act: pg.Activation, name: str, k: float) -> float:
    """<integrand>_K by scipy quad on x = z/sqrt(K), split at the kink z = 0."""
    f, df = _numeric(act)
    integrand = sp.lambdify((pg.z, pg.K, pg.s0, pg.s1), pg.MOMENT[name].integrand, "math")

    def weighted(x):
        zz = math.sqrt(k) * x
        return integrand(zz, k, f(zz), df(zz)) * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    return sum(
        integrate.quad(weighted, a, b, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
        for a, b in ((-np.inf, 0), (0, np.inf))
    )


def quad_pair(act: pg.Activation, name: str, k11: float, k12: float, k22: float) -> float:
    """<F(u, v)> by nested quad: u = sqrt(K11) x, v = sqrt(K22)(rho x + sqrt(1-rho^2) y),
    inner integral split where v changes sign (the kink of ReLU-like activations)."""
    f, df = _numeric(act)
    rho = k12 / math.sqrt(k11 * k22)
    c = math.sqrt(1 - rho * rho)

    def phi(t):
        return math.exp(-t * t / 2) / math.sqrt(2 * math.pi)

    use = (f, f) if name == "pair" else (df, df)

    def inner(x):
        u = math.sqrt(k11) * x
        y0 = -rho * x / c

        def g(y):
            v = math.sqrt(k22) * (rho * x + c * y)
            return use[0](u) * use[1](v) * phi(y)

        return phi(x) * sum(
            integrate.quad(g, a, b, epsabs=1e-12, epsrel=1e-11)[0]
            for a, b in ((-np.inf, y0), (y0, np.inf))
        )

    return sum(
        integrate.quad(inner, a, b, epsabs=1e-11, epsrel=1e-10, limit=100)[0]
        for a, b in ((-np.inf, 0), (0, np.inf))
    )


CLOSED = [
    pg.relu(),
    pg.leaky_relu(sp.Rational(3, 10)),
    pg.linear(),
    pg.erf_activation(),
    pg.sin_activation(),
    pg.gelu(),
]


@pytest.mark.parametrize("act", CLOSED, ids=lambda a: a.name)
def test_single_input_closed_forms_match_quadrature(act):
    closed = act.closed_moments()
    assert {"g", "dg", "sp2", "dsp2", "s2z2", "d4"} <= set(closed)
    for name, expr in closed.items():
        f = sp.lambdify(pg.K, expr, "math")
        for k in KS:
            assert f(k) == pytest.approx(quad_moment(act, name, k), abs=TOL, rel=1e-9), name


@pytest.mark.parametrize("act", CLOSED[:1] + CLOSED[3:], ids=lambda a: a.name)
@pytest.mark.parametrize("kernel", [(1.0, 0.3, 2.0), (0.5, -0.4, 0.8), (2.0, 1.9, 2.0)])
def test_pair_closed_forms_match_quadrature(act, kernel):
    for name, expr in act.closed_pair_moments().items():
        f = sp.lambdify((pg.K11, pg.K12, pg.K22), expr, "math")
        assert f(*kernel) == pytest.approx(quad_pair(act, name, *kernel), abs=1e-8), name


@settings(max_examples=12)  # each example: 4 sympy integrals and 4 adaptive quadratures
@given(a=st.floats(-0.99, 0.99), b=st.floats(0.1, 2.0), k=st.floats(0.1, 3.0))
def test_abrelu_single_moments_any_slopes(a, b, k):
    """Exact piecewise integration (ours) against quad for random slopes (a_+, a_-)."""
    act = pg.abrelu(sp.nsimplify(b, rational=True), sp.nsimplify(a, rational=True))
    closed = act.closed_moments()
    for name in ("g", "s4", "s2z", "d3"):
        value = float(closed[name].subs(pg.K, k))
        assert value == pytest.approx(quad_moment(act, name, k), rel=1e-8, abs=1e-10)


def test_pair_forms_reduce_to_single_forms_on_the_diagonal():
    """Substituting K11 = K12 = K22 into the abrelu pair closed forms (arc-cosine) must
    give the independently integrated half-line moments g = A2 K, <sigma'^2> = A2."""
    act = pg.leaky_relu(sp.Rational(1, 5))
    a2 = (1 + sp.Rational(1, 25)) / 2
    diagonal = {pg.K11: pg.K, pg.K22: pg.K, pg.K12: pg.K}
    assert sp.simplify(act.pair.subs(diagonal) - a2 * pg.K) == 0
    assert sp.simplify(act.dpair.subs(diagonal) - a2) == 0


def test_gaussian_moments_of_monomials():
    """<z^(2m)>_K = (2m-1)!! K^m (textbook), odd moments vanish."""
    for m in range(5):
        full = 2 * pg.half_line_moment(2 * m)
        assert sp.simplify(full - sp.factorial2(2 * m - 1) * pg.K**m) == 0
    assert sp.simplify(pg.half_line_moment(1) - sp.sqrt(pg.K / (2 * sp.pi))) == 0


def test_exponential_sums_against_quadrature():
    e = pg.exponential_sum_expectation(sp.sin(pg.z) ** 4)
    expected = sp.Rational(3, 8) - sp.exp(-2 * pg.K) / 2 + sp.exp(-8 * pg.K) / 8
    assert sp.simplify(e - expected) == 0
    assert pg.exponential_sum_expectation(pg.z * sp.sin(pg.z)) is None


def test_stable_rewrites_are_the_same_functions():
    """Same functions up to rounding: 1 + tanh(z/2) cancels for z << 0, where both are
    below 1e-12 in absolute value."""
    x = np.linspace(-30, 30, 61)
    swish = sp.lambdify(pg.z, pg.swish().expr, "numpy")
    sigmoid = sp.lambdify(pg.z, pg.sigmoid().expr, "numpy")
    np.testing.assert_allclose(swish(x), x / (1 + np.exp(-x)), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-13, atol=1e-12)


def test_taylor_coefficients():
    """tanh z = z - z^3/3 + 2 z^5/15: sigma_1 = 1, sigma_3 = -2, sigma_5 = 16."""
    assert pg.tanh_activation().taylor(5) == [0, 1, 0, -2, 0, 16]


def test_named_lookup_and_errors():
    assert pg.named("ReLU").name == "relu"
    assert pg.named("leaky_relu:0.2").slopes == (1, sp.Rational(1, 5))
    with pytest.raises(KeyError):
        pg.named("nope")
    with pytest.raises(ValueError):
        pg.named("tanh:2")
    with pytest.raises(ValueError):
        pg.named("leaky_relu:nan")
