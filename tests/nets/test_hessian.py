"""The loss-curvature measures (validation/nets/hessian.py) against exact references: a
symmetric matrix with known spectrum, and the dense Hessian of a tiny trained net."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from springblock.validation.nets import hessian, train
from tests.toy import train_compiled


def symmetric(seed: int, n: int = 40) -> np.ndarray:
    """A symmetric matrix with eigenvalues in [-7, 5]: a negative outlier larger in magnitude
    than the top one, so a method finding the largest |lambda| would fail."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    eig = np.concatenate([[5.0, -7.0], rng.uniform(-1.0, 2.0, n - 2)])
    return (q * eig) @ q.T


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lanczos_finds_the_largest_eigenvalue_and_bounds_its_error(seed):
    a = symmetric(seed)
    exact = np.linalg.eigvalsh(a)
    hvp = lambda v: jnp.asarray(a, jnp.float32) @ v  # noqa: E731
    full = hessian.lanczos_top(hvp, 40, jax.random.key(seed), steps=40)
    # full Krylov space, float32 products of norm ~5: 1e-4 relative
    assert float(full.value) == pytest.approx(exact[-1], rel=1e-4)
    few = hessian.lanczos_top(hvp, 40, jax.random.key(seed), steps=8)
    # the guarantee: an eigenvalue lies within the residual of the Ritz value (float32 slack)
    nearest = np.min(np.abs(exact - float(few.value)))
    assert nearest <= float(few.residual) + 1e-4
    assert float(few.value) <= exact[-1] + 1e-4  # a Ritz value never exceeds lambda_max


def test_hutchinson_trace_is_unbiased_with_the_stated_error():
    """tr A within 4 standard errors, and the standard error near the exact one: for
    Rademacher z, Var(z^T A z) = 2 sum_{i != j} A_ij^2."""
    a = symmetric(3)
    hvp = lambda v: jnp.asarray(a, jnp.float32) @ v  # noqa: E731
    got = hessian.hutchinson_trace(hvp, 40, jax.random.key(0), samples=400)
    exact_se = np.sqrt(2 * (np.sum(a**2) - np.sum(np.diag(a) ** 2)) / 400)
    assert abs(float(got.value) - np.trace(a)) < 4 * exact_se
    # the sample standard deviation of 400 draws: within 20 % (its own sd is ~5 % here)
    assert float(got.standard_error) == pytest.approx(exact_se, rel=0.2)


def test_curvature_of_a_tiny_trained_net_matches_its_dense_hessian():
    """Depth 3, width 4, 73 parameters, trained 30 epochs; the dense Hessian of the same
    evaluation-mode loss in float64 is the reference. Lanczos over the whole space in
    float32: 1e-3 relative (Hessian-vector products of a float32 net carry ~1e-6 relative
    rounding, amplified by the reorthogonalised recursion); Hutchinson within 4 SE."""
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(60, 3)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 60), jnp.int32)
    config = train.TrainConfig(depth=3, width=4, epochs=30, early_stopping=False)
    trained = train_compiled(config, x, y, 3, train.Hyper(alpha=0.3), jax.random.key(1))
    theta, _ = ravel_pytree(trained.params)
    got = hessian.curvature(
        trained.params, trained.stats, x, y, 0.3, jax.random.key(2), steps=theta.size, samples=256
    )
    dense = hessian.dense_hessian(trained.params, trained.stats, x, y, 0.3)
    np.testing.assert_allclose(dense, dense.T, atol=1e-10)
    eig = np.linalg.eigvalsh(dense)
    assert float(got.top_eigenvalue) == pytest.approx(eig[-1], rel=1e-3)
    assert abs(float(got.trace) - np.trace(dense)) < 4 * float(got.trace_standard_error)
    assert float(got.trace_standard_error) > 0
