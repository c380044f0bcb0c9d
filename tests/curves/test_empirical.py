"""Predicted learning curves vs measured ones: kernel ridge regression / GP posterior on
sampled sphere data, and trained wide nets (validation.curves.empirical and .compare).

The measurements share no code with the predictions beyond the kernel function itself:
data are sampled, Gram matrices solved by Cholesky, errors measured on fresh test points.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from springblock.numerics.curves import solve as cv
from springblock.params import ParameterError
from springblock.validation.curves import empirical as ce
from springblock.validation.curves.compare import CompareConfig, compare

REFERENCE = cv.KernelSpec(
    "relu", "nngp", depth=1, weight=2.0, bias=0.0, input_weight=1.0, readout_bias=0.1, dim=3
)


def test_zonal_target_has_the_stated_power_per_degree():
    """E g^2 = sum_i p_i and E g P_l(x.v) = 0 for degrees absent from the target (Monte
    Carlo over 400 000 points: relative standard error of E g^2 ~0.3%, tolerance 2%; the
    standard error of E g P_3 is sqrt(1.75 / N(5, 3)) / sqrt(4e5) = 3.8e-4, bound 5 of
    them)."""
    pairs = ((1, 0.5), (2, 1.0), (4, 0.25))
    degrees, amplitudes = ce.zonal_amplitudes(pairs, 5)
    axes = ce.target_axes(0, 3, 5)
    with jax.enable_x64(True):
        x = ce.sample_sphere(jax.random.PRNGKey(3), (400_000,), 5)
        g = np.asarray(ce.target_function(x, degrees, amplitudes, axes, 5))
        p3 = np.asarray(cv.gegenbauer_table(x @ jnp.asarray(axes[0]), 3, 5))[3]
    assert np.mean(g**2) == pytest.approx(1.75, rel=0.02)
    assert abs(np.mean(g * p3)) < 5 * 3.8e-4


@pytest.fixture(scope="module")
def reference_curve():
    """The reference's experiment through the library's comparison: 200 datasets at
    N = 40, 80, 160 (padded to one compilation, the default of CompareConfig), 500 test
    and 500 common points (the common points' Gram block dominates the work)."""
    config = CompareConfig(
        kernel=REFERENCE,
        n=(40, 80, 160),
        datasets=200,
        test_points=500,
        common_points=500,
        posterior_points=100,
        seed=1,
    )
    result = compare(config)
    return result.measured, result.prediction


def test_self_consistent_theory_predicts_measured_error(reference_curve):
    """|measured - E_g| <= 3 SEM + 10% for N >= 40: the self-consistent theory is exact as
    N -> infinity at fixed N/(number of modes); the reference found 9% at N = 40 and <= 3%
    beyond, so 10% bounds the finite-N bias."""
    measured, predicted = reference_curve
    gap = np.abs(measured.mean - predicted.self_consistent)
    assert np.all(gap <= 3 * measured.sem + 0.10 * predicted.self_consistent)
    # the reference's own measurement (7.06e-3, 1.22e-3, 2.44e-4; other seeds) agrees too
    assert np.all(
        np.abs(measured.mean - [7.06e-3, 1.22e-3, 2.44e-4])
        <= 4 * measured.sem + 0.03 * measured.mean
    )


def test_equivalent_kernel_alone_misses_the_variance(reference_curve):
    """Negative control for the comparison above: the leading-order EK (error of the
    averaged predictor, no dataset variance) is more than 3 SEM + 30% below the measured
    test error at N = 40, so the test above can tell the theories apart."""
    measured, predicted = reference_curve
    assert (
        measured.mean[0] - predicted.equivalent_kernel[0]
        > 3 * measured.sem[0] + 0.3 * predicted.equivalent_kernel[0]
    )


def test_averaged_predictor_and_its_corrections(reference_curve):
    """The dataset-averaged predictor's error (debiased for 200 datasets) matches the
    self-consistent mean predictor within 8%, and the 1/N-corrected EK is closer to it than
    the leading-order EK at every N."""
    measured, predicted = reference_curve
    np.testing.assert_allclose(measured.mean_predictor, predicted.sc_mean_predictor, rtol=0.08)
    ek_gap = np.abs(predicted.equivalent_kernel - measured.mean_predictor)
    corrected_gap = np.abs(predicted.ek_corrected - measured.mean_predictor)
    assert np.all(corrected_gap < ek_gap)


def test_gp_posterior_variance_matches_sollich(reference_curve):
    """Mean GP posterior variance (100 test points x 200 datasets) vs kappa - sigma^2 within
    4% (measured ~1% at N = 40, less beyond)."""
    measured, predicted = reference_curve
    np.testing.assert_allclose(measured.posterior_variance, predicted.gp_variance, rtol=0.04)


def test_other_kernel_with_label_noise():
    """erf NTK, depth 2, on S^11, a three-degree target and label noise eps^2 = 0.01: E_g
    within 3 SEM + 10% of 100 datasets at N = 80 (measured within 3% at N = 40 to 320,
    docs/curves.md). On S^4 with this kernel and ridge 0.02 the theory underestimates the
    error by about 40% at N = 120 (docs/curves.md): the Gaussian-feature assumption behind
    it fails for the strongly degenerate low-dimensional spectrum, so the check is made
    where it applies."""
    spec = cv.KernelSpec("erf", "ntk", depth=2, weight=1.5, bias=0.1, dim=12)
    target = ((1, 0.5), (2, 1.0), (3, 0.3))
    n = [80]
    measured = ce.krr_learning_curve(
        spec, target, n, 0.02, noise=0.01, datasets=100, test_points=400, common_points=0, seed=2
    )
    predicted = cv.predict(spec, target, n, 0.02, noise=0.01)
    gap = np.abs(measured.mean - predicted.self_consistent)
    assert np.all(gap <= 3 * measured.sem + 0.10 * predicted.self_consistent)


def test_wide_nets_converge_to_ntk_regression():
    """Trained antisymmetric NTK-parametrised nets (ReLU, depth 1) vs kernel regression with
    the analytic NTK on the same 4 datasets of N = 40: the mean squared difference of the two
    predictors falls like 1/width (expected ratio 1/4 from width 512 to 2048; asserted
    < 0.4), and at width 2048 the nets' test error is within 15% of the kernel's."""
    spec = cv.KernelSpec("relu", "ntk", 1, 2.0, 0.1, dim=3)
    target = ((1, 0.5), (2, 1.0))
    runs = {
        w: ce.net_learning_curve(
            spec, target, [40], 0.1, width=w, datasets=4, steps=300, test_points=300
        )
        for w in (512, 2048)
    }
    assert runs[2048].function_gap.mean() < 0.4 * runs[512].function_gap.mean()
    wide = runs[2048]
    assert wide.net_errors.mean() == pytest.approx(wide.kernel_errors.mean(), rel=0.15)


def test_padding_is_exact(reference_curve):
    """Masked padding reproduces the unpadded solve on the same data: in the fixture's
    compiled function (N = 160, 200 datasets, no new compilation), 30 used points give the
    error of a plain 30-point regression on the first 30 sampled points, solved in numpy
    with the closed forms of the kernel, k(t) = 0.1 + (sin th + (pi - th) t)/pi (arc-cosine
    kernel of degree 1, Cho & Saul 2009, with C_in = 1, C_W = 2, readout C_b = 0.1), and of
    the target, sqrt(5) P_2(x.u) with P_2(t) = (3t^2 - 1)/2 (rtol 1e-9: the two kernels
    agree to ~1e-15 and K + 0.05 I has condition number ~25)."""
    degrees, amplitudes = ce.zonal_amplitudes(((2, 1.0),), 3)
    static = ("relu", "nngp", 1)
    axes = ce.target_axes(1, 1, 3)
    with jax.enable_x64(True):
        params = tuple(jnp.float64(v) for v in REFERENCE.values)
        keys = jax.random.split(jax.random.PRNGKey(5), 200)
        common = ce.sample_sphere(jax.random.PRNGKey(2), (500,), 3)
        padded = ce._krr_compiled(static, 3, 160, 500, 500, 100, 50, degrees)(
            keys, 30, params, jnp.asarray(amplitudes), jnp.asarray(axes), 0.05, 0.0, common
        )
        kx, kt, _ = jax.random.split(keys[0], 3)
        x = np.asarray(ce.sample_sphere(kx, (160,), 3))[:30]
        xt = np.asarray(ce.sample_sphere(kt, (500,), 3))

    def kernel(a, b):
        t = np.clip(a @ b.T, -1.0, 1.0)
        theta = np.arccos(t)
        return 0.1 + (np.sin(theta) + (np.pi - theta) * t) / np.pi

    def target(points):
        t = points @ axes[0]
        return np.sqrt(5.0) * (3 * t**2 - 1) / 2

    alpha = np.linalg.solve(kernel(x, x) + 0.05 * np.eye(30), target(x))
    expected = np.mean((kernel(xt, x) @ alpha - target(xt)) ** 2)
    assert float(padded[0][0]) == pytest.approx(expected, rel=1e-9)


def test_bad_input():
    with pytest.raises(ParameterError, match="datasets"):
        ce.krr_learning_curve(REFERENCE, ((2, 1.0),), [10], 0.05, datasets=1)
    with pytest.raises(ParameterError, match="kind"):
        ce.net_learning_curve(REFERENCE, ((2, 1.0),), [10], 0.05)
    with pytest.raises(ParameterError, match="n"):
        ce.krr_learning_curve(REFERENCE, ((2, 1.0),), [0], 0.05)
