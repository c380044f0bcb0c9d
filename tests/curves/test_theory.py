"""Learning-curve theory: symbolic identities of theory.curves.generalization and the kappa solver,
predictions and grids of numerics.curves.solve.

Independent references: sympy series expansions, scipy's Brent root finder, brute-force
sums in numpy, and the literature values of the companion reference (section B).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from springblock.numerics.curves import solve as cv
from springblock.params import ParameterError
from springblock.theory.curves import generalization as ct

REFERENCE = cv.KernelSpec(
    "relu", "nngp", depth=1, weight=2.0, bias=0.0, input_weight=1.0, readout_bias=0.1, dim=3
)


def test_correction_is_first_order_expansion_of_self_consistent_gain():
    assert ct.correction_is_first_order_expansion() == 0
    assert sp.simplify(ct.first_iterate_of_kappa() - ct.correction_term()) == 0
    assert ct.ek_is_sc_at_bare_ridge() == 0
    assert ct.one_minus_gamma_identity() == 0


def test_kappa_terms_are_decreasing():
    """The uniqueness argument: every term of H(kappa) decreases in kappa."""
    assert sp.simplify(ct.kappa_term_derivative() + ct.lam / (ct.N * ct.lam + ct.kappa) ** 2) == 0
    assert sp.diff(ct.ridge / ct.kappa, ct.kappa).is_negative


_SOLVE = jax.jit(cv.solve_kappa)


def _random_spectrum(seed, modes=30):
    rng = np.random.default_rng(seed)
    lam = np.sort(rng.pareto(1.5, modes) + 1e-3)[::-1] * rng.uniform(0.1, 2)
    deg = rng.integers(1, 20, modes).astype(float)
    return lam, deg


def _brent_kappa(lam, deg, tail, n, ridge):
    def h(kappa):
        return ridge / kappa + deg @ (lam / (n * lam + kappa)) + tail / kappa - 1

    return optimize.brentq(
        h, ridge * (1 - 1e-12), ridge + deg @ lam + tail + 1, xtol=1e-15, rtol=1e-14
    )


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.floats(1, 1e5),
    ridge=st.floats(1e-6, 10),
    tail=st.floats(0, 1),
)
def test_kappa_solver_matches_brent_and_bounds(seed, n, ridge, tail):
    """Safeguarded Newton vs scipy's Brent on H(kappa) = 1: relative 1e-10. The root lies in
    [sigma^2, sigma^2 + trace] and 0 <= gamma < 1 there (theory docstring)."""
    lam, deg = _random_spectrum(seed)
    with jax.enable_x64(True):
        kappa = float(_SOLVE(lam, deg, tail, n, ridge))
    assert kappa == pytest.approx(_brent_kappa(lam, deg, tail, n, ridge), rel=1e-10)
    assert ridge <= kappa * (1 + 1e-12)
    assert kappa <= (ridge + deg @ lam + tail) * (1 + 1e-12)
    gamma = deg @ (n * lam**2 / (n * lam + kappa) ** 2)
    assert 0 <= gamma < 1


def test_kappa_monotone_in_n_and_ridge():
    """kappa decreases with N and increases with sigma^2 (theory docstring)."""
    s = cv.spectrum(REFERENCE, 64)
    n = np.geomspace(1, 1e5, 60)
    for ridge in (1e-4, 0.05, 3.0):
        kappa = cv.predict(s, ((2, 1.0),), n, ridge).kappa
        assert np.all(np.diff(kappa) < 0)
        assert np.all(kappa >= ridge)
    k = [cv.predict(s, ((2, 1.0),), [100], r).kappa[0] for r in (0.01, 0.1, 1.0)]
    assert k[0] < k[1] < k[2]


def test_literature_self_consistent_values():
    """Companion reference, section B: ReLU NNGP + 0.1 on S^2, ridge 0.05, unit degree-2
    target, Canatar et al. prediction 6.48e-3, 1.18e-3, 2.44e-4, 5.43e-5 at N = 40..320
    (3 significant digits: rtol 0.5%)."""
    p = cv.predict(REFERENCE, ((2, 1.0),), [40, 80, 160, 320], 0.05)
    np.testing.assert_allclose(p.self_consistent, [6.48e-3, 1.18e-3, 2.44e-4, 5.43e-5], rtol=5e-3)


def test_predictions_match_brute_force_sums():
    """EK, corrected EK and E_g recomputed in numpy from the spectrum, mode by mode, with
    the expressions typed independently here (the reference's formulas)."""
    s = cv.spectrum(REFERENCE, 64)
    target = ((0, 0.3), (2, 1.0), (4, 0.5))
    g2 = cv.target_powers(target, 64)
    n, ridge, noise = np.array([10.0, 50.0, 400.0]), 0.02, 0.01
    p = cv.predict(s, target, n, ridge, noise)
    lam, deg = s.eigenvalues, s.degeneracies
    for i, size in enumerate(n):
        r = ridge / size
        ek = np.sum((r / (lam + r)) ** 2 * g2)
        S = np.sum(deg * lam * r / (lam + r)) + s.tail
        corrected = np.sum((1 - lam / (lam + r) * (1 - S / (size * (lam + r)))) ** 2 * g2)
        kappa = _brent_kappa(lam, deg, s.tail, size, ridge)
        gamma = np.sum(deg * size * lam**2 / (size * lam + kappa) ** 2)
        bias = np.sum(kappa**2 * g2 / (size * lam + kappa) ** 2)
        assert p.equivalent_kernel[i] == pytest.approx(ek, rel=1e-12)
        assert p.ek_corrected[i] == pytest.approx(corrected, rel=1e-12)
        assert p.self_consistent[i] == pytest.approx((bias + noise * gamma) / (1 - gamma), rel=1e-9)
        assert p.gp_variance[i] == pytest.approx(kappa - ridge, rel=1e-9)


def test_theories_agree_at_large_n():
    """kappa -> sigma^2 as N grows, so the EK converges to the self-consistent theory; the
    gap is first order in kappa - sigma^2 (which decays like N^-0.6 for this power-law
    spectrum, not 1/N), and the corrected EK's gap to the self-consistent mean predictor is
    second order: it shrinks at least as fast as the EK gap to the power 1.5."""
    p = cv.predict(REFERENCE, ((1, 1.0), (2, 1.0)), [1e2, 1e3, 1e4, 1e5], 0.05)
    gap_ek = np.abs(p.self_consistent - p.equivalent_kernel) / p.self_consistent
    assert np.all(np.diff(gap_ek) < 0) and gap_ek[-1] < 1e-2
    mean_ek = np.abs(p.sc_mean_predictor - p.equivalent_kernel) / p.sc_mean_predictor
    mean_corr = np.abs(p.sc_mean_predictor - p.ek_corrected) / p.sc_mean_predictor
    assert np.all(mean_corr < mean_ek)
    assert np.all(mean_corr[1:] / mean_corr[:-1] < (mean_ek[1:] / mean_ek[:-1]) ** 1.5)


def test_truncation_tail_keeps_kappa():
    """l_max = 16 plus the tail trace gives kappa within 0.5% of l_max = 200 at N <= 2000
    (the tail modes satisfy N lambda << kappa there); without the tail it would not."""
    n = np.array([40.0, 300.0, 2000.0])
    fine = cv.predict(REFERENCE, ((2, 1.0),), n, 0.05, l_max=200)
    coarse_spec = cv.spectrum(REFERENCE, 16)
    coarse = cv.predict(coarse_spec, ((2, 1.0),), n, 0.05)
    np.testing.assert_allclose(coarse.kappa, fine.kappa, rtol=5e-3)
    np.testing.assert_allclose(coarse.self_consistent, fine.self_consistent, rtol=1e-2)
    no_tail = cv.predict(coarse_spec._replace(tail=0.0), ((2, 1.0),), n, 0.05)
    assert np.max(np.abs(no_tail.kappa / fine.kappa - 1)) > np.max(
        np.abs(coarse.kappa / fine.kappa - 1)
    )


def test_grid_matches_single_predictions():
    """The vmapped grid (depths, C_W, C_b, ridges) equals one-at-a-time predictions."""
    depth = np.array([1, 2, 3, 2])
    weight = np.array([2.0, 1.5, 2.0, 2.5])
    bias = np.array([0.0, 0.1, 0.2, 0.05])
    ridge = np.array([0.05, 0.01, 0.1, 0.3])
    n = np.array([20.0, 200.0])
    grid = cv.predict_grid(
        "erf", "ntk", 4, ((1, 0.5), (3, 1.0)), n, depth=depth, weight=weight, bias=bias, ridge=ridge
    )
    for i in range(4):
        spec = cv.KernelSpec("erf", "ntk", int(depth[i]), weight[i], bias[i], dim=4)
        single = cv.predict(spec, ((1, 0.5), (3, 1.0)), n, ridge[i])
        np.testing.assert_allclose(grid["self_consistent"][i], single.self_consistent, rtol=1e-10)
        np.testing.assert_allclose(
            grid["equivalent_kernel"][i], single.equivalent_kernel, rtol=1e-10
        )


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: cv.predict(REFERENCE, ((2, 1.0),), [40], 0.0), "ridge"),
        (lambda: cv.predict(REFERENCE, ((2, 1.0),), [0], 0.05), "n"),
        (lambda: cv.predict(REFERENCE, ((2, 1.0),), [40], 0.05, noise=-1), "noise"),
        (lambda: cv.predict(REFERENCE, ((2, -1.0),), [40], 0.05), "target"),
        (lambda: cv.predict(REFERENCE, ((80, 1.0),), [40], 0.05, l_max=64), "l_max"),
        (lambda: cv.parse_target("2=1"), "target"),
        (
            lambda: cv.predict_grid(
                "relu",
                "nngp",
                3,
                ((1, 1.0),),
                [10],
                depth=[0],
                weight=[1.0],
                bias=[0.0],
                ridge=[0.1],
            ),
            "depth",
        ),
        (
            lambda: cv.predict_grid(
                "relu",
                "nngp",
                3,
                ((1, 1.0),),
                [10],
                depth=[1],
                weight=[1.0],
                bias=[0.0],
                ridge=[-0.1],
            ),
            "ridge",
        ),
        (
            lambda: cv.predict_grid(
                "relu",
                "nngp",
                3,
                ((1, 1.0),),
                [10],
                depth=1,
                weight=1.0,
                bias=0.0,
                ridge=0.1,
                noise=-1.0,
            ),
            "noise",
        ),
        # the target is checked before the (here deliberately huge) spectrum is computed
        (
            lambda: cv.predict(cv.KernelSpec(depth=3), ((2, -1.0),), [40], 0.05, l_max=5000),
            "target",
        ),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ParameterError) as err:
        call()
    assert err.value.name == name


def test_parse_target():
    assert cv.parse_target("2:1") == ((2, 1.0),)
    assert cv.parse_target("3:0.2, 1:0.5") == ((1, 0.5), (3, 0.2))
    with pytest.raises(ParameterError):
        cv.parse_target("1:1,1:2")


def test_predictions_do_not_depend_on_the_global_precision(precision):
    """The learning-curve solvers always run in float64 (``numerics.compile.x64``): kappa's
    Newton-bisection and the mode sums need it for E_g ~ 1e-5 next to O(1) traces. With JAX
    left in float32 or switched to float64 they return the same float64 numbers, bit for
    bit (same compiled function, same inputs)."""
    spec = cv.KernelSpec(
        "relu", "nngp", depth=1, weight=2.0, bias=0.0, input_weight=1.0, readout_bias=0.1, dim=3
    )
    got = cv.predict(spec, ((2, 1.0),), [40, 160, 640], 0.05)
    assert np.asarray(got.self_consistent).dtype == np.float64
    with jax.enable_x64(True):
        reference = cv.predict(spec, ((2, 1.0),), [40, 160, 640], 0.05)
    for name in ("equivalent_kernel", "ek_corrected", "self_consistent", "kappa"):
        np.testing.assert_array_equal(getattr(got, name), getattr(reference, name), name)
