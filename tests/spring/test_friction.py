"""Tests of :mod:`springblock.theory.spring.friction`: the static dead-zone map and kinetic
friction.

Independent checks: the identity S(f) = f - clip(f, -mu_L, mu_R) computed with numpy,
one-sided sympy limits at the kinks, finite differences for the slope, and the exact
tanh tail bound 1 - tanh(u) <= 2 exp(-2u) for the smoothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from springblock.theory.spring import friction

SETTINGS = settings(max_examples=50, deadline=None)

f_sym = sp.Symbol("f", real=True)
v_sym = sp.Symbol("v", real=True)
mu_R, mu_L, delta = friction.mu_R, friction.mu_L, friction.delta

S_num = sp.lambdify((f_sym, mu_R, mu_L), friction.static_friction(f_sym), "numpy")
kin_num = sp.lambdify((v_sym, mu_R, mu_L), friction.kinetic_friction(v_sym), "numpy")
smooth_num = sp.lambdify(
    (v_sym, mu_R, mu_L, delta), friction.smoothed_kinetic_friction(v_sym), "numpy"
)

mus = st.floats(min_value=0.0, max_value=5.0, allow_nan=False)
forces = st.floats(min_value=-20.0, max_value=20.0, allow_nan=False)


def clip_form(f, right, left):
    """Independent form of the dead-zone map: what is left after clipping to the cone."""
    return f - np.clip(f, -left, right)


@SETTINGS
@given(f=forces, right=mus, left=mus)
def test_static_friction_equals_force_minus_clipped_force(f, right, left):
    # Both sides are one subtraction of floats <= 25 in size: equal to 1e-12.
    assert float(S_num(f, right, left)) == pytest.approx(clip_form(f, right, left), abs=1e-12)


@pytest.mark.parametrize(
    ("right", "left"),
    [
        (sp.Rational(1, 10), sp.Rational(1, 10)),
        (sp.Rational(3, 1000), sp.Rational(1, 250)),
        (sp.Integer(2), sp.Rational(1, 3)),
    ],
)
def test_static_friction_continuous_at_both_kinks(right, left):
    # sympy writes S with Min/Max; its limit code needs the Piecewise form
    S = friction.static_friction(f_sym, right, left).rewrite(sp.Piecewise)
    for kink in (right, -left):
        lhs = sp.limit(S, f_sym, kink, "-")
        rhs = sp.limit(S, f_sym, kink, "+")
        assert lhs == rhs == S.subs(f_sym, kink) == 0


def test_static_friction_just_outside_the_cone_symbolically():
    # For symbolic thresholds and h > 0: S(mu_R + h) = h and S(-mu_L - h) = -h, so S -> 0
    # at both kinks from outside, with slope exactly 1.
    h = sp.Symbol("h", positive=True)
    S = friction.static_friction(f_sym)
    assert sp.simplify(S.subs(f_sym, mu_R + h) - h) == 0
    assert sp.simplify(S.subs(f_sym, -mu_L - h) + h) == 0


@SETTINGS
@given(right=mus, left=mus, u=st.floats(min_value=0.0, max_value=1.0))
def test_static_friction_zero_inside_dead_zone(right, left, u):
    # Exact rationals: every point of [-mu_L, mu_R] (ends included) must give exactly 0.
    R, Lq, U = (sp.Rational(v) for v in (right, left, u))
    point = -Lq + U * (R + Lq)
    assert friction.static_friction(point, R, Lq) == 0


@SETTINGS
@given(
    right=mus,
    left=mus,
    gap=st.floats(min_value=1e-3, max_value=10.0),
    sign=st.sampled_from([1, -1]),
)
def test_static_friction_slope_one_outside(right, left, gap, sign):
    f = right + gap if sign > 0 else -left - gap
    h = 1e-4 * gap  # stays on the same branch
    slope = (S_num(f + h, right, left) - S_num(f - h, right, left)) / (2 * h)
    # Linear branch: the central difference is exact up to rounding, |f| eps / h <~ 2e-8.
    assert slope == pytest.approx(1.0, abs=1e-6)
    # and the value is the distance beyond the threshold, with the right sign
    assert float(S_num(f, right, left)) == pytest.approx(sign * gap, abs=1e-12)


def test_static_friction_derivative_is_indicator_of_motion():
    dS = sp.diff(friction.static_friction(f_sym, sp.Rational(1, 5), sp.Rational(1, 2)), f_sym)
    cases = [(1, 1), (sp.Rational(1, 10), 0), (0, 0), (-sp.Rational(2, 5), 0), (-3, 1)]
    for point, expected in cases:
        assert dS.subs(f_sym, point) == expected


@SETTINGS
@given(v=st.floats(min_value=-10.0, max_value=10.0), right=mus, left=mus)
def test_kinetic_friction_values(v, right, left):
    expected = right if v > 0 else (-left if v < 0 else 0.0)
    assert float(kin_num(v, right, left)) == expected


@SETTINGS
@given(
    v=st.floats(min_value=1e-3, max_value=10.0),
    sign=st.sampled_from([1, -1]),
    right=st.floats(min_value=1e-3, max_value=5.0),
    left=st.floats(min_value=1e-3, max_value=5.0),
)
def test_smoothed_friction_tends_to_kinetic_friction(v, sign, right, left):
    v = sign * v
    exact = float(kin_num(v, right, left))
    errors = []
    for ratio in (1.0, 0.3, 0.1, 0.03, 0.01):
        d = ratio * abs(v)
        err = abs(float(smooth_num(v, right, left, d)) - exact)
        # exact tail bound: |mu tanh(|v|/delta) - mu| = mu (1 - tanh(u)) <= 2 mu exp(-2u);
        # 1e-15 absolute covers the rounding of tanh near 1.
        assert err <= 2 * max(right, left) * math.exp(-2 * abs(v) / d) + 1e-15
        errors.append(err)
    assert errors[-1] <= 1e-15  # delta = |v| / 100: the bound is 2 mu e^-200, i.e. zero
    assert all(b <= a for a, b in zip(errors, errors[1:], strict=False))  # monotone in delta


@pytest.mark.parametrize("v", [sp.Rational(1, 3), sp.Rational(-1, 7), sp.Integer(2)])
def test_smoothed_friction_symbolic_limit(v):
    fd = friction.smoothed_kinetic_friction(v)
    assert sp.limit(fd, delta, 0, "+") == friction.kinetic_friction(v)


def test_smoothed_friction_vanishes_at_rest_and_is_continuous():
    fd = friction.smoothed_kinetic_friction(v_sym)
    assert fd.subs(v_sym, 0) == 0
    assert sp.limit(fd, v_sym, 0, "-") == sp.limit(fd, v_sym, 0, "+") == 0
    # kinetic friction is also zero at rest
    assert friction.kinetic_friction(sp.Integer(0)) == 0


@SETTINGS
@given(
    v=st.floats(min_value=-10.0, max_value=10.0),
    right=mus,
    left=mus,
    d=st.floats(min_value=1e-3, max_value=10.0),
)
def test_smoothed_friction_sign_and_bound(v, right, left, d):
    value = float(smooth_num(v, right, left, d))
    # it opposes the motion with the right threshold and never exceeds it
    assert np.sign(value) == np.sign(v) or value == 0.0
    assert -left <= value <= right


# ---------------------------------------------------------------- the two forms of S


@SETTINGS
@given(f=forces, right=mus, left=mus, on_kink=st.sampled_from([None, "right", "left"]))
def test_clip_form_equals_three_case_definition(f, right, left, on_kink):
    # exact rationals, kinks included: the Min/Max form and the Piecewise must agree exactly
    R, Lq = sp.Rational(right), sp.Rational(left)
    point = {"right": R, "left": -Lq, None: sp.Rational(f)}[on_kink]
    clip = friction.static_friction(point, R, Lq)
    cases = friction.static_friction_cases(point, R, Lq)
    assert clip == cases
    assert float(cases) == pytest.approx(clip_form(float(point), right, left), abs=1e-12)


def test_three_case_definition_continuous_at_kinks():
    right, left = sp.Rational(1, 10), sp.Rational(3, 10)
    S = friction.static_friction_cases(f_sym, right, left)
    for kink in (right, -left):
        assert sp.limit(S, f_sym, kink, "-") == sp.limit(S, f_sym, kink, "+") == 0
