"""Hypersphere harmonics and wide-net kernels: theory.curves.spectrum and the quadrature
spectra of numerics.curves.solve.

Independent references: sympy's own Gegenbauer/Chebyshev polynomials and exact integrals,
the reference's factorial formula and literature eigenvalues (companion reference, section
B), Monte Carlo Gaussian expectations, finite random networks, and Nystrom eigenvalues of
sampled Gram matrices.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from springblock.numerics.curves import solve as cv
from springblock.params import ParameterError
from springblock.theory.curves import spectrum as cs
from springblock.validation.curves import empirical as ce

#: The reference's kernel: normalised ReLU arc-cosine NNGP plus 0.1 on S^2.
REFERENCE = cv.KernelSpec(
    "relu", "nngp", depth=1, weight=2.0, bias=0.0, input_weight=1.0, readout_bias=0.1, dim=3
)
#: Reference section B: lambda_0..6 = 0.475, 0.16667, 0.02344, 0, 6.5e-4, 0, 9e-5.
REFERENCE_EIGENVALUES = (0.475, 0.16667, 0.02344, 0.0, 6.5e-4, 0.0, 9e-5)


@pytest.mark.parametrize("d", [2, 3, 4, 7])
def test_recurrence_reproduces_sympy_gegenbauer(d):
    """The recurrence coefficients rebuild sympy's normalised C_l^((d-2)/2) exactly."""
    a, b = cs.recurrence_coefficients()
    polys = [sp.Integer(1), cs.t]
    for l in range(1, 8):
        polys.append(
            sp.expand(
                a.subs({cs.l_sym: l, cs.d_sym: d}) * cs.t * polys[-1]
                - b.subs({cs.l_sym: l, cs.d_sym: d}) * polys[-2]
            )
        )
    for l, poly in enumerate(polys):
        assert sp.expand(poly - cs.gegenbauer(l, d)) == 0
        assert cs.gegenbauer(l, d).subs(cs.t, 1) == 1


@pytest.mark.parametrize(("d", "l"), [(2, 0), (2, 3), (3, 2), (4, 3), (5, 2), (6, 1)])
def test_orthogonality_normalisation_is_one_over_degeneracy(d, l):
    """c_d int P_l P_m (1 - t^2)^((d-3)/2) dt = delta_lm / N(d, l) (addition theorem),
    integrated exactly by sympy in the angle."""
    weight = cs.angular_weight(d)
    x = sp.cos(cs.theta)
    for m in range(l + 2):
        value = sp.integrate(
            sp.expand(cs.gegenbauer(l, d, x) * cs.gegenbauer(m, d, x) * weight),
            (cs.theta, 0, sp.pi),
        )
        expected = sp.Rational(1, cs.degeneracy(l, d)) if m == l else 0
        assert sp.simplify(value - expected) == 0


@settings(max_examples=40, deadline=None)
@given(l=st.integers(0, 60), d=st.integers(3, 40))
def test_degeneracy_matches_factorial_formula(l, d):
    assert cs.degeneracy(l, d) == cs.degeneracy_formula().subs({cs.l_sym: l, cs.d_sym: d})


def test_degeneracy_small_cases():
    """Circle: 1, 2, 2, ... (cos and sin); S^2: 2l + 1."""
    assert [cs.degeneracy(l, 2) for l in range(5)] == [1, 2, 2, 2, 2]
    assert [cs.degeneracy(l, 3) for l in range(5)] == [1, 3, 5, 7, 9]
    with pytest.raises(ParameterError, match="dim"):
        cs.degeneracy(2, 1)


@functools.cache
def reference_exact() -> list[sp.Expr]:
    """Exact Funk-Hecke eigenvalues l = 0..6 of the reference kernel (sympy, in the angle)."""
    kernel = cs.LayerMap("relu").kernel_of_angle(
        1, weight=2, bias=0, input_weight=1, readout_bias=sp.Rational(1, 10)
    )
    return [cs.funk_hecke(kernel, l, 3) for l in range(7)]


def test_exact_funk_hecke_matches_reference_values():
    """sympy's exact integrals give 19/40, 1/6, 3/128, 0, 1/1536, 0, 3/32768: the reference's
    (rounded) literature values."""
    exact = reference_exact()
    assert exact[:4] == [sp.Rational(19, 40), sp.Rational(1, 6), sp.Rational(3, 128), 0]
    # reference values have 2-4 significant digits
    np.testing.assert_allclose(
        [float(v) for v in exact], REFERENCE_EIGENVALUES, rtol=0.015, atol=1e-6
    )


def test_quadrature_spectrum_matches_exact_integrals():
    """Gauss-Legendre in the angle vs sympy's exact Funk-Hecke integrals (depth 1: the
    reference NNGP on S^2, l <= 6; the NTK on S^2, l <= 4; an NNGP on S^4, l <= 3): the
    integrand is analytic in theta, so agreement to ~1e-13."""
    np.testing.assert_allclose(
        cv.spectrum(REFERENCE, 32).eigenvalues[:7],
        [float(v) for v in reference_exact()],
        rtol=1e-11,
        atol=1e-14,
    )
    for kind, d, count in (("ntk", 3, 5), ("nngp", 5, 4)):
        kernel = cs.LayerMap("relu").kernel_of_angle(
            1, kind=kind, weight=2, bias=0, readout_bias=sp.Rational(1, 10)
        )
        exact = [float(cs.funk_hecke(kernel, l, d)) for l in range(count)]
        spec = cv.KernelSpec("relu", kind, 1, 2.0, 0.0, readout_bias=0.1, dim=d)
        np.testing.assert_allclose(
            cv.spectrum(spec, 32).eigenvalues[:count], exact, rtol=1e-11, atol=1e-14
        )


SPECS = [
    REFERENCE,
    cv.KernelSpec("relu", "ntk", depth=3, weight=2.0, bias=0.05, dim=3),
    cv.KernelSpec("erf", "nngp", depth=2, weight=1.5, bias=0.1, dim=5),
    cv.KernelSpec("erf", "ntk", depth=1, weight=3.0, bias=0.0, dim=10),
    cv.KernelSpec("relu", "nngp", depth=4, weight=1.7, bias=0.2, dim=2),
    cv.KernelSpec("leaky_relu:0.2", "ntk", depth=2, weight=1.9, bias=0.1, dim=4),
    cv.KernelSpec("gelu", "nngp", depth=2, weight=1.5, bias=0.1, dim=3),
    cv.KernelSpec("sin", "ntk", depth=1, weight=1.0, bias=0.1, dim=3),
]


@pytest.mark.parametrize(
    "spec", SPECS, ids=lambda s: f"{s.activation}-{s.kind}-L{s.depth}-d{s.dim}"
)
def test_mercer_sum_reproduces_kernel(spec):
    """sum_(l <= l_max) lambda_l N(d, l) P_l(t) = k(t) up to the truncated trace: |P_l| <= 1
    and lambda_l >= 0 (Schoenberg: the kernel is positive definite on every sphere) bound
    the remainder by T_tail = k(1) - sum N lambda. Rounding (~1e-16 k(1) per eigenvalue)
    is multiplied by N(d, l), which grows like l^(d-2): l_max = 120 for d <= 5 and 30 for
    d = 10 keep it below 1e-10 k(1)."""
    l_max = 120 if spec.dim <= 5 else 30
    s = cv.spectrum(spec, l_max)
    assert np.all(s.eigenvalues >= 0)
    t = np.linspace(-1, 1, 41)
    mercer = (s.eigenvalues * s.degeneracies) @ cv.gegenbauer_table(t, l_max, spec.dim)
    np.testing.assert_allclose(mercer, cv.kernel(spec, t), atol=s.tail + 1e-10 * s.trace, rtol=0)
    assert s.tail < 1e-2 * s.trace  # the truncation captures the kernel


def test_nystrom_eigenvalues_have_the_analytic_multiplicities():
    """Eigenvalues of K/n for n = 1000 uniform points cluster at lambda_l with multiplicity
    N(3, l). The clusters of l = 0, 1, 2, 4 (lambda = 0.475, 0.167, 0.0234, 6.5e-4; l = 3
    vanishes) are separated by factors > 7, so the gap between consecutive clusters holds
    exactly 1, 3, 5, 9 eigenvalues; the cluster sums match N(d, l) lambda_l within 4%
    (measured: <= 1.5% over 5 seeds; Monte Carlo error O(n^-1/2), Koltchinskii & Gine 2000)."""
    s = cv.spectrum(REFERENCE, 64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1000, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    mu = np.linalg.eigvalsh(cv.kernel(REFERENCE, np.clip(x @ x.T, -1, 1)) / 1000)[::-1]
    lam = s.eigenvalues
    start = 0
    for l, upper, lower in (
        (0, np.inf, lam[1]),
        (1, lam[0], lam[2]),
        (2, lam[1], lam[4]),
        (4, lam[2], lam[6]),
    ):
        count = int(np.sum((mu < np.sqrt(upper * lam[l])) & (mu > np.sqrt(lam[l] * lower))))
        assert count == cs.degeneracy(l, 3)
        block = mu[start : start + count]
        np.testing.assert_allclose(block.sum(), count * lam[l], rtol=0.04)
        start += count


@settings(max_examples=10, deadline=None)
@given(
    q=st.floats(0.2, 3.0),
    rho=st.floats(-0.95, 0.95),
    activation=st.sampled_from(["relu", "erf", "leaky_relu:0.2"]),
)
def test_gaussian_products_match_monte_carlo(q, rho, activation):
    """<sigma(u) sigma(v)> and <sigma'(u) sigma'(v)> in closed form (the PDLT module's, as
    used here) vs 200 000 Gaussian pairs; tolerance 5 standard errors of the mean."""
    both, slopes = cs.gaussian_products(activation)
    values = {cs.q: q, cs.c: rho * q}
    rng = np.random.default_rng(1)
    u = rng.standard_normal(200_000)
    v = rho * u + np.sqrt(1 - rho**2) * rng.standard_normal(200_000)
    u, v = np.sqrt(q) * u, np.sqrt(q) * v
    if activation == "relu":
        s, ds = (lambda a: np.maximum(a, 0)), (lambda a: (a > 0).astype(float))
    elif activation == "leaky_relu:0.2":
        s, ds = (lambda a: np.where(a > 0, a, 0.2 * a)), (lambda a: np.where(a > 0, 1.0, 0.2))
    else:
        from scipy.special import erf

        s, ds = erf, (lambda a: 2 / np.sqrt(np.pi) * np.exp(-(a**2)))
    for expr, samples in ((both, s(u) * s(v)), (slopes, ds(u) * ds(v))):
        err = samples.std() / np.sqrt(samples.size)
        assert abs(float(expr.subs(values)) - samples.mean()) < 5 * err + 1e-12


@pytest.mark.parametrize(
    "spec",
    [
        cv.KernelSpec("relu", "nngp", 2, 2.0, 0.1, dim=3),
        cv.KernelSpec("erf", "nngp", 2, 1.5, 0.1, dim=4),
        cv.KernelSpec("relu", "ntk", 2, 2.0, 0.1, dim=3),
        cv.KernelSpec("erf", "ntk", 2, 1.5, 0.1, dim=4),
    ],
    ids=lambda s: f"{s.activation}-{s.kind}",
)
def test_finite_nets_approach_the_kernels(spec):
    """Kernels of 64 random finite nets of width 256 (NNGP: the readout's feature kernel;
    NTK: jax Jacobians; float32), averaged, vs the compiled recursion at 3 points. One net
    fluctuates by ~sqrt(5/256) = 14% (the ReLU four-point vertex, companion reference
    section A), the average of 64 by ~1.7%; the finite-width bias is O(1/width) ~ 1%.
    Tolerance: 6% of the largest entry (measured: <= 4.3% over 5 seeds)."""
    x = ce.sample_sphere(jax.random.PRNGKey(0), (3,), spec.dim)
    with jax.enable_x64(True):
        x64 = jnp.asarray(x, jnp.float64)
        exact = np.asarray(
            ce._gram(
                (spec.activation, spec.kind, spec.depth),
                tuple(jnp.float64(v) for v in spec.values),
                x64,
                x64,
            )
        )
    measure = ce.empirical_nngp if spec.kind == "nngp" else ce.empirical_ntk
    keys = jax.random.split(jax.random.PRNGKey(1), 64)
    samples = jax.vmap(
        lambda k: measure(
            ce.init_net(k, spec.dim, 256, spec.depth), x, x, spec.activation, spec.values
        )
    )(keys)
    error = np.abs(np.asarray(samples).mean(axis=0) - exact).max() / exact.max()
    assert error < 0.06


def test_kernel_spec_rejects_bad_input():
    for kwargs, name in (
        ({"activation": "tanh"}, "activation"),
        ({"activation": "x"}, "activation"),
        ({"kind": "gp"}, "kind"),
        ({"depth": 0}, "depth"),
        ({"weight": 0.0}, "weight"),
        ({"bias": -1.0}, "bias"),
        ({"dim": 1}, "dim"),
        ({"weight": float("nan")}, "weight"),
        ({"readout_bias": -0.1}, "readout_bias"),
    ):
        with pytest.raises(ParameterError) as err:
            cv.KernelSpec(**kwargs)
        assert err.value.name == name
    with pytest.raises(ParameterError, match="l_max"):
        cv.spectrum(REFERENCE, 0)


def test_fast_acos_matches_numpy():
    """The Cephes-style acos used in the layer maps agrees with numpy's arccos on [-1, 1]
    (1e5 points, endpoints included) to 2e-15: a few ulps of pi, the function's scale."""
    x = np.linspace(-1.0, 1.0, 100_001)
    with jax.enable_x64(True):
        got = np.asarray(cv.fast_acos(jnp.asarray(x)))
    assert np.max(np.abs(got - np.arccos(x))) < 2e-15
