"""theory.pdlt_criticality: critical initializations and universality classes.

Literature values (PDLT ch. 5; reference section A): ReLU C_W = 2, leaky ReLU
2/(1 + a^2), linear 1, tanh 1 (erf pi/4 since erf'(0) = 2/sqrt(pi)), four-point slopes
5, 6(1 + a^4)/(1 + a^2)^2 - 1, 2 and 2/3; a1, b1 in terms of the Taylor coefficients.
Half-stable points are checked against an independent solver (Gauss-Hermite in jax,
:mod:`springblock.numerics.pdlt.recursions`, on the plain jax activation).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from springblock.numerics.pdlt import recursions as pr
from springblock.theory.pdlt import criticality as pc
from springblock.theory.pdlt import gaussian as pg


@pytest.fixture(autouse=True, scope="module")
def x64():
    with jax.enable_x64(True):
        yield


def test_relu_linear_tanh_erf_sin_literature_values():
    cases = {
        "relu": ("scale-invariant", 2.0, 5.0),
        "linear": ("scale-invariant", 1.0, 2.0),
        "tanh": ("K*=0", 1.0, 2 / 3),
        "erf": ("K*=0", math.pi / 4, 2 / 3),
        "sin": ("K*=0", 1.0, 2 / 3),
    }
    for name, (cls, cw, slope) in cases.items():
        r = pc.classify(pg.named(name))
        assert (r.universality_class, r.C_b) == (cls, 0.0)
        assert r.C_W == pytest.approx(cw, rel=1e-14)
        assert r.four_point_slope == pytest.approx(slope, rel=1e-14)
        assert (r.K_star is None) == (cls == "scale-invariant")


@settings(max_examples=15)  # each example: sympy integration of 9 moments
@given(a=st.fractions(-1, 1, max_denominator=1000))
def test_leaky_relu_any_slope(a):
    si = pc.scale_invariant(pg.leaky_relu(sp.Rational(a.numerator, a.denominator)))
    a = sp.Rational(a.numerator, a.denominator)
    assert sp.simplify(si["C_W"] - 2 / (1 + a**2)) == 0
    assert sp.simplify(si["four_point_slope"] - (6 * (1 + a**4) / (1 + a**2) ** 2 - 1)) == 0


def test_k0_coefficients_match_the_literature_formulas():
    s1, s2, s3 = pc.sigma_p[1:]
    co = pc.k0_coefficients()
    assert sp.simplify(co["a1"] - (s3 / s1 + sp.Rational(3, 4) * (s2 / s1) ** 2)) == 0
    assert sp.simplify(co["b1"] - (s3 / s1 + (s2 / s1) ** 2)) == 0
    asym = pc.k0_asymptotics()
    assert asym["four_point_slope"] == sp.Rational(2, 3)
    assert sp.simplify(asym["p_perp"] - pc.k0_asymptotics()["p_perp"]) == 0
    r = pc.classify(pg.tanh_activation())
    assert (r.details["a1"], r.details["b1"], r.exponents["K_[2]"]) == (-2.0, -2.0, 1.0)


def test_relu_angle_map_is_the_arccosine_map():
    theta = sp.Symbol("theta", positive=True)
    mapped = sp.lambdify(theta, pc.relu_angle_map(theta), "math")
    for t in np.linspace(0.01, math.pi - 0.01, 9):
        assert mapped(t) == pytest.approx(
            (math.sin(t) + (math.pi - t) * math.cos(t)) / math.pi, abs=1e-14
        )


def test_critical_initialization_solves_the_conditions():
    cb, cw = pc.critical_initialization()
    subs = {pc.C_b: cb, pc.C_W: cw}
    assert sp.simplify(pc.chi_perp().subs(pc.MLP).subs(subs) - 1) == 0
    assert sp.simplify(pc.kernel_map().subs(pc.MLP).subs(subs) - pg.K) == 0


def test_gelu_half_stable_point_in_closed_form():
    """The closed form gives <sigma sigma''> proportional to -K^2 + 3K + 2, so
    K* = (3 + sqrt 17)/2 (derived here); the reference's 3.5616, 1.9831, 0.1729 agree
    to its 4-5 digits, and jax's exact GELU through Gauss-Hermite (200 nodes) finds the
    same point to 1e-8 (GH error at K ~ 3.6 with 200 nodes is ~1e-10)."""
    r = pc.classify(pg.gelu())
    assert r.universality_class == "half-stable"
    assert r.K_star == pytest.approx((3 + math.sqrt(17)) / 2, rel=1e-12)
    assert (r.K_star, r.C_W, r.C_b) == pytest.approx((3.5616, 1.9831, 0.1729), abs=6e-5)
    assert len(r.details["roots"]) == 1  # no second root in [1e-3, 1e3] (reference: "check")
    numeric = pr.criticality(lambda x: jax.nn.gelu(x, approximate=False), nodes=200)
    assert numeric.universality_class == "half-stable"
    assert (numeric.K_star, numeric.C_W, numeric.C_b) == pytest.approx(
        (r.K_star, r.C_W, r.C_b), rel=1e-8
    )


def test_swish_half_stable_point_two_quadratures():
    """Theory (scipy adaptive quad, ~1e-13) vs numerics (200-node Gauss-Hermite; at
    K ~ 14 its relative error is ~1e-5, hence rel 1e-4). Both give K* = 14.3202, not the
    reference's 14.506 (its C_W 1.9869 and C_b 0.5626 are off too)."""
    r = pc.classify(pg.swish())
    numeric = pr.criticality(jax.nn.swish, nodes=200)
    assert r.universality_class == numeric.universality_class == "half-stable"
    assert (numeric.K_star, numeric.C_W, numeric.C_b) == pytest.approx(
        (r.K_star, r.C_W, r.C_b), rel=1e-4
    )
    assert abs(r.K_star - 14.506) > 0.1


def test_half_stable_point_is_a_fixed_point_with_unit_susceptibilities():
    """At (C_b, C_W) of GELU the compiled recursion (Gauss-Hermite, not the closed forms)
    maps K* to itself with chi_par = chi_perp = 1."""
    r = pc.classify(pg.gelu())
    q = (r.K_star - r.C_b) / r.C_W  # input norm that puts layer 1 at K*
    p = pr.profile("gelu", 5, C_b=r.C_b, C_W=r.C_W, q=q, closed=False, nodes=200)
    np.testing.assert_allclose(p.K, r.K_star, rtol=1e-9)
    np.testing.assert_allclose(p.chi_par, 1.0, atol=1e-9)
    np.testing.assert_allclose(p.chi_perp, 1.0, atol=1e-9)


def test_no_criticality_for_softplus_and_sigmoid():
    for act in (pg.softplus(), pg.sigmoid()):
        assert pc.classify(act).universality_class == "none"


def test_numeric_classification_of_plain_jax_functions():
    """Callables get the same classes and constants as the symbolic activations."""
    assert pr.criticality(jax.nn.relu).C_W == pytest.approx(2.0, rel=1e-12)
    leaky = pr.criticality(lambda x: jnp.where(x > 0, x, 0.3 * x))
    assert leaky.C_W == pytest.approx(2 / 1.09, rel=1e-9)
    t = pr.criticality(jnp.tanh)
    assert (t.universality_class, t.C_W, t.details["a1"]) == ("K*=0", 1.0, -2.0)
    assert pr.criticality(jax.nn.softplus).universality_class == "none"
