"""Tests of :mod:`springblock.theory.spring.chain` against independent constructions.

Forces are compared with a discrete Laplacian assembled with numpy, the statistics with
numpy's own std, and the algebraic identities (elongations sum to y, positions and
elongations are inverse maps, the curvature telescopes) are checked symbolically.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from springblock.theory.spring import chain

SETTINGS = settings(max_examples=40, deadline=None)

blocks = st.integers(min_value=1, max_value=30)
finite = st.floats(min_value=-10.0, max_value=10.0, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=0.01, max_value=10.0, allow_nan=False, allow_infinity=False)


def dirichlet_laplacian(n: int) -> np.ndarray:
    """The n x n second-difference matrix (-2 on the diagonal, 1 off it)."""
    return -2.0 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)


def numpy_forces(x: np.ndarray, stiffness: float, target: float) -> np.ndarray:
    """k (A x + b) with x_0 = 0 and x_{L+1} = y entering through b = y e_L."""
    b = np.zeros(len(x))
    b[-1] = target
    return stiffness * (dirichlet_laplacian(len(x)) @ x + b)


@SETTINGS
@given(data=st.data(), L=blocks, stiffness=positive, target=finite)
def test_forces_equal_k_times_discrete_laplacian(data, L, stiffness, target):
    x = np.array(data.draw(st.lists(finite, min_size=L, max_size=L)))
    geometry = chain.ChainGeometry(L)
    f = sp.lambdify((geometry.x, chain.k, chain.y), geometry.forces, "numpy")
    got = np.array(f(x, stiffness, target), dtype=float)
    expected = numpy_forces(x, stiffness, target)
    # Entries are sums of 3 terms of size <= 10 * 10 * 2: float rounding is ~1e-13,
    # so 1e-10 absolute leaves a wide margin while catching any wrong coefficient.
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-10)
    # spring_forces also works directly on numbers (no lambdify in between)
    direct = np.array(chain.spring_forces(list(x), stiffness, target), dtype=float)
    np.testing.assert_allclose(direct, expected, rtol=1e-12, atol=1e-10)


def test_forces_docstring_example_is_the_laplacian():
    # Independent: build k * A x + k y e_L with sympy matrices.
    x1, x2 = chain.position_symbols(2)
    A = sp.Matrix([[-2, 1], [1, -2]])
    expected = chain.k * (A * sp.Matrix([x1, x2]) + sp.Matrix([0, chain.y]))
    got = sp.Matrix(chain.ChainGeometry(2).forces)
    assert sp.simplify(got - expected) == sp.zeros(2, 1)


@pytest.mark.parametrize("L", [1, 2, 3, 7, 16, 30])
def test_elongations_sum_to_target_symbolically(L):
    geometry = chain.ChainGeometry(L)
    assert len(geometry.elongations) == L + 1
    assert sp.simplify(sp.Add(*geometry.elongations) - chain.y) == 0
    # also for an arbitrary symbolic target
    z = sp.Symbol("z", real=True)
    assert sp.simplify(sp.Add(*chain.elongations(geometry.x, target=z)) - z) == 0


@pytest.mark.parametrize("L", [1, 2, 5, 30])
def test_positions_from_elongations_inverts_elongations(L):
    x = chain.position_symbols(L)
    back = chain.positions_from_elongations(chain.elongations(x))
    assert len(back) == L
    assert all(sp.expand(b - xl) == 0 for b, xl in zip(back, x, strict=True))
    # and the other way round, for free symbolic elongations d_1..d_{L+1}
    d = sp.symbols(f"d_1:{L + 2}", real=True)
    positions = chain.positions_from_elongations(d)
    again = chain.elongations(positions, target=sp.Add(*d))
    assert all(sp.expand(a - dl) == 0 for a, dl in zip(again, d, strict=True))


@SETTINGS
@given(data=st.data(), L=blocks, target=finite)
def test_positions_from_elongations_is_a_cumulative_sum(data, L, target):
    d = data.draw(st.lists(finite, min_size=L + 1, max_size=L + 1))
    got = np.array(chain.positions_from_elongations(d), dtype=float)
    # Sums of <= 30 terms of size <= 10, added in the same order: 1e-12 absolute.
    np.testing.assert_allclose(got, np.cumsum(d)[:-1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 8, 31])
def test_curvature_telescopes_to_first_minus_last(n):
    d = sp.symbols(f"d_1:{n + 1}", real=True)
    assert sp.expand(chain.curvature(d) - (d[0] - d[-1])) == 0


@SETTINGS
@given(st.lists(finite, min_size=2, max_size=31))
def test_curvature_numeric_equals_minus_sum_of_np_diff(d):
    # c = sum_l (d_l - d_{l+1}) = -sum(np.diff(d)); rounding of <= 30 terms of size 20.
    assert float(chain.curvature(d)) == pytest.approx(-np.sum(np.diff(d)), abs=1e-11)


@SETTINGS
@given(st.lists(finite, min_size=1, max_size=31))
def test_spread_equals_numpy_population_std(d):
    got = float(chain.spread([sp.Rational(v) for v in d]))  # exact rationals, then sqrt
    # The sympy value is exact up to the final float conversion; np.std (ddof=0) rounds
    # at ~1e-15 relative on values <= 10: 1e-9 relative / 1e-12 absolute is safe.
    assert got == pytest.approx(np.std(d), rel=1e-9, abs=1e-12)


def test_spread_of_equal_elongations_is_zero_and_scales_linearly():
    # Limiting case: the linear load curve (equal loads) has v = 0.
    assert chain.spread([sp.Rational(1, 8)] * 8) == 0
    a, b = sp.symbols("a b", positive=True)
    # v(a d) = a v(d) for a > 0 (population std is 1-homogeneous)
    d = [sp.Integer(1), sp.Integer(4), sp.Integer(-2)]
    assert sp.simplify(chain.spread([a * v for v in d]) - a * chain.spread(d)) == 0
    # shifting every elongation by b leaves v unchanged
    assert sp.simplify(chain.spread([v + b for v in d]) - chain.spread(d)) == 0


@pytest.mark.parametrize("L", [1, 4, 12])
def test_load_curve_starts_at_target_and_steps_by_elongations(L):
    geometry = chain.ChainGeometry(L)
    curve, d = geometry.load_curve, geometry.elongations
    assert len(curve) == L + 1
    assert curve[0] == chain.y  # x_0 = 0 (the wall)
    # D_{l-1} - D_l = d_l, l = 1..L; the last value is the last spring's elongation
    assert all(sp.expand(curve[l - 1] - curve[l] - d[l - 1]) == 0 for l in range(1, L + 1))
    assert sp.expand(curve[-1] - d[-1]) == 0


def test_position_symbols_rejects_empty_chain():
    with pytest.raises(ValueError):
        chain.position_symbols(0)


def test_latex_states_the_force_law():
    text = chain.ChainGeometry(3).latex()
    assert isinstance(text, str)
    for piece in ("F_\\ell", "x_{\\ell+1} - 2x_\\ell + x_{\\ell-1}", "x_0 = 0", "x_{L+1} = y"):
        assert piece in text
