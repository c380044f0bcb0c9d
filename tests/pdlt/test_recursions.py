"""numerics.pdlt.recursions and .depth_profile: depth recursions against literature limits
and exact solutions.

Literature (PDLT ch. 5, reference section A): at criticality V/K^2 grows by 5 per layer
for ReLU, 6(1+a^4)/(1+a^2)^2 - 1 for leaky ReLU, 2 for linear, and like (2/3) l for the
K* = 0 class; tanh has 2 l K^(l) -> 1 (reference numerics: 1.16, 1.02, 1.003 at l = 10,
100, 1000); the ReLU angle obeys theta^(l) l / (3 pi) -> 1. Independent checks: the
gamma-basis perturbation recursion against the exact two-input recursion at small input
difference (finite differences), and linear networks against their closed-form powers.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from springblock.numerics.pdlt import depth_profile
from springblock.numerics.pdlt import recursions as pr
from springblock.params import ParameterError


@pytest.fixture(autouse=True, scope="module")
def x64():
    with jax.enable_x64(True):
        yield


def test_relu_four_point_slope_is_five():
    p = pr.profile("relu", 40, C_W=2.0, q=1.3)
    ratio = np.asarray(p.V / p.K**2)
    np.testing.assert_allclose(np.diff(ratio), 5.0, rtol=1e-12)
    np.testing.assert_allclose(p.K, 2.6, rtol=1e-14)


def test_exact_recursions_in_both_precisions(precision):
    """The compiled recursions follow the JAX precision (dtype) and keep the exact solutions
    to the rounding of that precision: ReLU at C_W = 2 keeps K = C_W q and adds 5 to V/K^2
    per layer; the linear net's K is a geometric sequence. float32 tolerances: V/K^2 reaches
    ~200 after 40 layers, so the per-layer difference of 5 carries ~200 eps = 2.4e-5
    relative (measured 3e-6); K after 12 affine steps ~12 eps (measured 2.6e-7)."""
    p = pr.profile("relu", 40, C_W=2.0, q=1.3)
    assert p.K.dtype == precision.dtype
    np.testing.assert_allclose(p.K, 2.6, rtol=precision.pick(1e-6, 1e-14))
    slope = np.diff(np.asarray(p.V / p.K**2, np.float64))
    np.testing.assert_allclose(slope, 5.0, rtol=precision.pick(3e-5, 1e-12))
    g, x, cb, cw = 0.6, 0.9, 0.3, 1.1
    lin = pr.profile("linear", 12, C_b=cb, C_W=cw, gamma=g, xi=x, q=0.5)
    k = [cb + cw * 0.5]
    for _ in range(11):
        k.append((g * g + x * x * cw) * k[-1] + x * x * cb)
    np.testing.assert_allclose(lin.K, k, rtol=precision.pick(2e-6, 1e-13))


@pytest.mark.parametrize("a", [-0.5, 0.3])  # any slope: test_criticality (hypothesis)
def test_leaky_relu_slope_and_criticality(a):
    name = f"leaky_relu:{a!r}"
    p = pr.profile(name, 6, C_W=2 / (1 + a * a))
    np.testing.assert_allclose(p.chi_par, 1.0, rtol=1e-12)
    np.testing.assert_allclose(p.chi_perp, 1.0, rtol=1e-12)
    slope = 6 * (1 + a**4) / (1 + a * a) ** 2 - 1
    np.testing.assert_allclose(np.diff(np.asarray(p.V / p.K**2)), slope, rtol=1e-10)


def test_linear_network_is_exactly_solvable():
    """sigma = z: K' = gamma^2 K + xi^2 (C_b + C_W K), a geometric sequence; at C_W = 1,
    C_b = 0 (MLP) V/K^2 = 2 (l - 1)."""
    g, x, cb, cw = 0.6, 0.9, 0.3, 1.1
    p = pr.profile("linear", 12, C_b=cb, C_W=cw, gamma=g, xi=x, q=0.5)
    a, b = g * g + x * x * cw, x * x * cb
    k = [cb + cw * 0.5]
    for _ in range(11):
        k.append(a * k[-1] + b)
    np.testing.assert_allclose(p.K, k, rtol=1e-13)
    m = pr.profile("linear", 8, C_W=1.0)
    np.testing.assert_allclose(m.V / m.K**2, 2 * np.arange(8), rtol=1e-12, atol=1e-14)


def test_tanh_kernel_decays_like_one_over_two_l():
    p = pr.profile("tanh", 1000, C_W=1.0, q=1.0)
    two_lk = np.asarray(2 * p.layers * p.K)[[9, 99, 999]]
    # the reference's numerics, to the digits it quotes
    for value, quoted, digits in zip(
        two_lk, (1.16, 1.02, 1.003), (0.005, 0.005, 0.0005), strict=True
    ):
        assert value == pytest.approx(quoted, abs=digits)
    assert two_lk[0] > two_lk[1] > two_lk[2] > 1.0


@pytest.mark.parametrize(("name", "cw"), [("tanh", 1.0), ("erf", math.pi / 4), ("sin", 1.0)])
def test_k0_class_four_point_slope_two_thirds(name, cw):
    """V/(K^2 l) -> 2/3; the approach is ~log(l)/l (3e-4 at l = 10^4 for tanh, 8e-5
    for sin), hence rel 1e-3, and 10 times closer at l = 10^4 than at l = 100."""
    p = pr.profile(name, 10_000, C_W=cw)
    ratio = np.asarray(p.V / p.K**2 / p.layers)
    assert ratio[-1] == pytest.approx(2 / 3, rel=1e-3)
    assert abs(ratio[99] - 2 / 3) > 10 * abs(ratio[-1] - 2 / 3)


def test_relu_angle_approaches_three_pi_over_l():
    """theta l/(3 pi) -> 1 (from below, error ~ log(l)/l: 0.986 at 10^3, 0.998 at 10^4)."""
    pp = pr.pair_profile("relu", 10_000, C_W=2.0, q12=0.0)
    theta = np.arccos(np.clip(np.asarray(pp.cos_angle), -1, 1))
    ratio = theta * np.arange(1, 10_001) / (3 * math.pi)
    assert ratio[999] < ratio[9999] < 1.0
    assert ratio[9999] == pytest.approx(1.0, abs=3e-3)


@pytest.mark.parametrize(
    ("name", "cb", "cw"), [("erf", 0.1, 1.5), ("tanh", 0.0, 1.0), ("relu", 0.2, 1.7)]
)
def test_perturbations_match_exact_pair_recursion(name, cb, cw):
    """Inputs x0 +- eps d: the exact 2x2 recursion's gamma-basis components
    K_[1] = (K++ - K--)/2 and K_[2] = (K++ - 2K+- + K--)/4 agree with the linearised maps
    K_[1]' = chi_par K_[1], K_[2]' = chi_perp K_[2] + h K_[1]^2 up to O(eps) relative
    corrections (eps = 1e-3: tolerance 1e-2 relative)."""
    eps, depth = 1e-3, 12
    x0, xd, x0d = 1.0, 0.7, 0.4  # |x0|^2/n0, |d|^2/n0, x0.d/n0
    q_pp = x0 + 2 * eps * x0d + eps**2 * xd
    q_mm = x0 - 2 * eps * x0d + eps**2 * xd
    q_pm = x0 - eps**2 * xd
    pair = pr.pair_profile(name, depth, q11=q_pp, q12=q_pm, q22=q_mm, C_b=cb, C_W=cw)
    k1_exact = np.asarray(pair.K11 - pair.K22) / 2
    k2_exact = np.asarray(pair.K11 - 2 * pair.K12 + pair.K22) / 4
    _, k1, k2 = pr.perturbation_profile(
        name, depth, K0=cb + cw * x0, K1=2 * eps * cw * x0d, K2=eps**2 * cw * xd, C_b=cb, C_W=cw
    )
    np.testing.assert_allclose(k1, k1_exact, rtol=1e-2)
    np.testing.assert_allclose(k2, k2_exact, rtol=1e-2)


def test_ntk_recursion_relu_and_residual_limits():
    """Critical ReLU: H' = H + lambda_b + lambda_W K/2 with K = 2: H^(l) = 2 l (q = 1).
    Residual with xi = 0 is the identity: K and H frozen at layer 1."""
    p = pr.profile("relu", 10, C_W=2.0)
    np.testing.assert_allclose(p.H, 2.0 * np.arange(1, 11), rtol=1e-13)
    r = pr.profile("tanh", 5, C_W=1.3, C_b=0.2, gamma=1.0, xi=0.0)
    np.testing.assert_allclose(r.K, 1.5, rtol=1e-14)
    np.testing.assert_allclose(r.H, 2.0, rtol=1e-14)
    np.testing.assert_allclose(r.V, 0.0, atol=1e-14)


def test_grid_broadcasting_matches_single_runs():
    cws = np.array([0.8, 1.0, 1.4])
    grid = pr.profile("erf", 7, C_W=cws[:, None], C_b=np.array([0.0, 0.3])[None, :])
    assert grid.K.shape == (3, 2, 7)
    single = pr.profile("erf", 7, C_W=1.4, C_b=0.3)
    np.testing.assert_allclose(grid.K[2, 1], single.K, rtol=1e-14)


def test_bad_parameters_are_named():
    cases = [
        (dict(C_W=-1.0), "C_W"),
        (dict(C_b=float("nan")), "C_b"),
        (dict(q=0.0), "q"),
        (dict(nodes=2), "nodes"),
        (dict(gamma=float("inf")), "gamma"),
    ]
    for kwargs, name in cases:
        with pytest.raises(ParameterError) as err:
            pr.profile("tanh", 3, **kwargs)
        assert err.value.name == name
    with pytest.raises(ParameterError) as err:
        pr.profile("tanh", 0)
    assert err.value.name == "depth"
    with pytest.raises(ParameterError) as err:
        pr.pair_profile("tanh", 3, q11=1.0, q22=1.0, q12=1.5)
    assert err.value.name == "q12"


def test_fit_exponent_on_exact_power_laws():
    """p of |c l^(-p)| over the deeper half, exactly; NaN/inf/zero entries are skipped and
    fewer than 3 usable values give None."""
    layers = np.arange(1, 41, dtype=float)
    assert depth_profile.fit_exponent(layers, 3.0 * layers**-1.5) == pytest.approx(1.5, rel=1e-12)
    assert depth_profile.fit_exponent(layers, -2.0 * layers) == pytest.approx(-1.0, rel=1e-12)
    spoiled = 3.0 * layers**-0.5
    spoiled[[25, 30]] = [np.nan, 0.0]
    assert depth_profile.fit_exponent(layers, spoiled) == pytest.approx(0.5, rel=1e-12)
    assert depth_profile.fit_exponent(layers[:3], layers[:3]) is None  # 2 deep layers only


@pytest.mark.parametrize(
    ("fn", "fragment"),
    [
        (lambda x: x if x > 0 else 0.0, "traceable"),
        (lambda x: np.tanh(np.asarray(x)), "traceable"),
        (jnp.log, "NaN/inf"),
        (lambda x: jnp.exp(40.0 * x), "NaN/inf"),  # overflows for z > 17.7
        (lambda x, y: x * y, "exactly one argument"),
        (lambda x: jnp.sum(x), "elementwise"),
        (42, "named activation"),
    ],
)
def test_bad_activation_functions_are_rejected_before_work(fn, fragment):
    with pytest.raises(ParameterError) as err:
        pr.profile(fn, 3)
    assert err.value.name == "activation"
    assert fragment in str(err.value)
