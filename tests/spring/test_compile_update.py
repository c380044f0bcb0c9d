"""compile.vector_function: the compiled sympy update of model (a) against plain numpy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from springblock.numerics.compile import vector_function
from springblock.numerics.spring.overdamped import compiled_step
from springblock.theory import OverdampedModel
from tests.spring.reference_numpy import map_step, static_friction

BATCH = (2, 3)


def random_case(rng, blocks, shared):
    """Positions, noise and parameters that visit all three branches of S."""
    x = rng.normal(0.0, 0.5, BATCH + (blocks,))
    xi = rng.normal(size=BATCH + ((1,) if shared else (blocks,)))
    params = (
        rng.uniform(0.1, 3.0, BATCH),  # k, one per batch element
        float(rng.uniform(-2.0, 2.0)),  # y, a scalar
        rng.uniform(0.0, 0.5, BATCH),  # mu_R
        float(rng.uniform(0.0, 0.5)),  # mu_L
        rng.uniform(0.0, 1.0, BATCH),  # eps_bar
        float(rng.uniform(1e-3, 0.5)),  # eta
    )
    return x, xi, params


@given(blocks=st.integers(1, 6), shared=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_compiled_update_matches_numpy_map(blocks, shared, seed):
    x, xi, params = random_case(np.random.default_rng(seed), blocks, shared)
    step = compiled_step(blocks, shared)
    with jax.enable_x64(True):
        got = step(jnp.asarray(x), jnp.asarray(xi), tuple(jnp.asarray(p) for p in params))
        assert got.shape == x.shape  # batch axes pass through
        assert got.dtype == jnp.float64
    # float64 on both sides; the two only sum the same terms in a different order.
    np.testing.assert_allclose(np.asarray(got), map_step(x, xi, *params), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shared", [False, True])
def test_compiled_update_float32_keeps_dtype(shared):
    x, xi, params = random_case(np.random.default_rng(3), 5, shared)
    step = compiled_step(5, shared)
    got = step(
        jnp.asarray(x, jnp.float32),
        jnp.asarray(xi, jnp.float32),
        tuple(jnp.asarray(p, jnp.float32) for p in params),
    )
    assert got.dtype == jnp.float32
    # float32 rounding of O(1) inputs: a few ulps of ~1e-7 each.
    np.testing.assert_allclose(np.asarray(got), map_step(x, xi, *params), atol=1e-5)


def test_shared_noise_acts_on_every_block():
    """Shared noise: one column of xi drives all blocks, i.e. equals the independent-noise
    update with that column repeated L times."""
    x, xi, params = random_case(np.random.default_rng(4), 4, True)
    shared = compiled_step(4, True)
    independent = compiled_step(4, False)
    with jax.enable_x64(True):
        a = shared(jnp.asarray(x), jnp.asarray(xi), params)
        b = independent(jnp.asarray(x), jnp.asarray(np.repeat(xi, 4, axis=-1)), params)
    # the same terms in two compiled programs (vector_function jits each): XLA may fuse and
    # contract them differently, so a few float64 ulps of the O(1) values, no more
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=8 * np.finfo(float).eps)


def test_compiled_mean_drift_matches_quadrature(precision):
    """The mean-field flow compiles g(F) = E[S(F + sigma xi)] through ndtr (jax.scipy); check
    it against direct quadrature of S over the normal density, one block (F = k(y - 2x)),
    in float32 and float64."""
    model = OverdampedModel(1)
    flow = vector_function(model.x, model.parameters, model.mean_field_flow)
    forces = np.array([-0.7, -0.12, -0.05, 0.0, 0.03, 0.1, 0.25, 1.3])
    k, y, mu_r, mu_l, sigma = 1.0, 1.0, 0.1, 0.15, 0.08
    x = (y - forces / k) / 2  # positions at which F takes the values above
    got = np.asarray(flow(jnp.asarray(x[:, None], precision.dtype), (k, y, mu_r, mu_l, sigma, 1.0)))
    assert got.dtype == precision.dtype
    got = got[:, 0]
    expected = [
        integrate.quad(
            lambda z, f=f: static_friction(f + sigma * z, mu_r, mu_l) * stats.norm.pdf(z),
            -12,
            12,
            points=[(mu_r - f) / sigma, (-mu_l - f) / sigma],
            epsabs=1e-13,
            epsrel=1e-12,
        )[0]
        for f in forces
    ]
    # quadrature accurate to ~1e-12. float64: ndtr to ~1e-15. float32: g is a sum of O(1)
    # terms (|F| <= 1.3) that cancel to ~1e-3 inside the friction band, so the absolute
    # error is about two float32 ulps of 1 (eps = 1.2e-7; measured <= 7e-8), not of g.
    rtol, atol = precision.pick(float32=1e-6, float64=1e-9), precision.pick(2.5e-7, 1e-12)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
