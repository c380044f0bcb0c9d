"""statistics.load_statistics against direct numpy computations."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from springblock.numerics.spring import statistics


def numpy_statistics(x, target):
    """Load curve y - x_l (l = 0..L, x_0 = 0 first), elongations from np.diff of the padded
    positions, population std (ddof 0) and curvature d_first - d_last."""
    batch = x.shape[:-1]
    padded = np.concatenate([np.zeros(batch + (1,)), x, np.full(batch + (1,), target)], -1)
    d = np.diff(padded, axis=-1)
    return target - padded[..., :-1], d, np.std(d, axis=-1), d[..., 0] - d[..., -1]


# a few batch shapes only: every new shape costs eager jax dispatch compilations
@given(
    blocks=st.integers(1, 9),
    batch=st.sampled_from([(), (3,), (2, 4), (2, 1, 3)]),
    target=st.floats(-3.0, 3.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_load_statistics_matches_numpy(blocks, batch, target, seed):
    x = np.random.default_rng(seed).normal(0.0, 1.0, (*batch, blocks))
    with jax.enable_x64(True):
        got = statistics.load_statistics(jnp.asarray(x), target)
        got = [np.asarray(a) for a in got]
    expected = numpy_statistics(x, target)
    for name, a, b in zip(
        ("load_curve", "elongations", "spread", "curvature"), got, expected, strict=True
    ):
        assert a.shape == b.shape, name
        assert a.dtype == np.float64, name
        # float64, sums of at most L+1 terms of size O(1): rounding ~1e-15
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=name)


def test_linear_profile_has_zero_spread_and_curvature(precision):
    """Limiting case: equal elongations y/(L+1) (zero friction) give v = 0 and c = 0;
    a pulled, concave profile gives c < 0 (deep layers carry the load). In float32 and
    float64: the elongations are differences of O(1) positions, so they carry about one
    ulp of 1 (float32 1.2e-7, float64 2.2e-16); tolerances are a few ulps."""
    L = 7
    linear = statistics.load_statistics(jnp.arange(1, L + 1, dtype=precision.dtype) / (L + 1), 1.0)
    concave = statistics.load_statistics(
        jnp.array([0, 0, 0, 0.1, 0.25, 0.45, 0.7], precision.dtype), 1.0
    )
    assert linear.spread.dtype == precision.dtype
    ulps = 4 * precision.eps
    np.testing.assert_allclose(np.asarray(linear.elongations), 1 / (L + 1), atol=ulps)
    assert abs(float(linear.spread)) < ulps and abs(float(linear.curvature)) < ulps
    np.testing.assert_allclose(
        np.asarray(linear.load_curve), 1 - np.arange(L + 1) / (L + 1), atol=ulps
    )
    assert float(concave.curvature) < 0
