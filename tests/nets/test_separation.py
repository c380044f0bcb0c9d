"""validation.separation: the two separation measures and the load-curve statistics,
against plain numpy loops over classes, invariances and limiting cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from springblock.validation.nets import separation as sep

# a few (N, F, K) only: every new shape costs jit compilations (~0.3 s). (60, 3, 6): K-1 > F
# (Sigma_b full rank), (25, 20, 10) has few samples per class and often an empty class.
SHAPES = [(40, 12, 4), (60, 3, 6), (25, 20, 10)]


def numpy_covariances(x, y, k):
    """Reference section 1 written as a loop over classes (empty classes skipped)."""
    n, f = x.shape
    mu = x.mean(axis=0)
    sb, sw = np.zeros((f, f)), np.zeros((f, f))
    for c in range(k):
        xc = x[y == c]
        if len(xc) == 0:
            continue
        mc = xc.mean(axis=0)
        sb += len(xc) * np.outer(mc - mu, mc - mu)
        sw += (xc - mc).T @ (xc - mc)
    return sw / n, sb / n


def numpy_measures(x, y, k):
    sw, sb = numpy_covariances(x, y, k)
    rcond = x.shape[1] * np.finfo(x.dtype).eps  # relative cutoff on the singular values
    return (
        np.log(np.trace(sw) / np.trace(sb)),
        np.log(np.trace(sw @ np.linalg.pinv(sb, rcond=rcond))),
    )


def draw(seed, shape, spread=1.0):
    """Gaussian classes around random means; labels uniform at random."""
    n, f, k = shape
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    x = rng.normal(0.0, spread, (k, f))[y] + rng.normal(0.0, 1.0, (n, f)) * rng.uniform(0.2, 2.0, f)
    return x, y


def measures(x, y, k):
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    return float(sep.separation_trace(xj, yj, k)), float(sep.separation_pinv(xj, yj, k))


@given(shape=st.sampled_from(SHAPES), spread=st.floats(0.1, 5.0), seed=st.integers(0, 2**32 - 1))
def test_measures_match_numpy_loop(shape, spread, seed):
    x, y = draw(seed, shape, spread)
    k = shape[2]
    with jax.enable_x64(True):
        sw, sb = (np.asarray(a) for a in sep.within_between(jnp.asarray(x), jnp.asarray(y), k))
        got = measures(x, y, k)
    sw_ref, sb_ref = numpy_covariances(x, y, k)
    # float64 sums of N products of O(1) numbers: rounding ~1e-15 relative
    np.testing.assert_allclose(sw, sw_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sb, sb_ref, rtol=1e-10, atol=1e-12)
    # Sigma_w + Sigma_b is the total covariance (ddof 0): law of total variance
    np.testing.assert_allclose(sw + sb, np.cov(x.T, bias=True), rtol=1e-10, atol=1e-12)
    ref = numpy_measures(x, y, k)
    # trace: a ratio of sums, ~1e-15; pinv: inversion amplifies rounding by the condition
    # number of Sigma_b on its range (< 1e6 for these draws) -> 1e-8 absolute on the log
    assert got[0] == pytest.approx(ref[0], abs=1e-11)
    assert got[1] == pytest.approx(ref[1], abs=1e-8)


def test_float32_features_match_float64():
    """Net features are float32: both measures stay within 1e-5 of the float64 value
    (eps 1.2e-7 times the condition number of Sigma_b on its range, here below 1e2;
    observed ~2e-7)."""
    x, y = draw(7, (500, 20, 10), 1.0)
    ref = numpy_measures(x, y, 10)
    got = measures(x.astype(np.float32), y.astype(np.int32), 10)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def random_orthogonal(rng, f):
    q, r = np.linalg.qr(rng.normal(size=(f, f)))
    return q * np.sign(np.diag(r))


@given(shape=st.sampled_from(SHAPES), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 2**32 - 1))
def test_invariant_under_rotation_and_scaling(shape, scale, seed):
    x, y = draw(seed, shape)
    q = random_orthogonal(np.random.default_rng(seed + 1), shape[1])
    shift = np.random.default_rng(seed + 2).normal(size=(1, shape[1]))
    with jax.enable_x64(True):
        base = measures(x, y, shape[2])
        rotated = measures(x @ q, y, shape[2])
        scaled = measures(scale * x, y, shape[2])
        translated = measures(x + shift, y, shape[2])
    # exact invariances; float64 rounding, amplified for pinv as above
    np.testing.assert_allclose(rotated, base, atol=1e-8)
    np.testing.assert_allclose(scaled, base, atol=1e-8)
    np.testing.assert_allclose(translated, base, atol=1e-8)


def merge(x, y, a, b, t):
    """Move classes a and b a fraction t of the way to their pooled mean (t = 1: merged).
    Within-class scatter and global mean are unchanged; the between-class scatter drops by
    (1 - (1-t)^2) n_a n_b / (n_a + n_b) delta delta^T, delta = mu_a - mu_b."""
    x = x.copy()
    na, nb = np.sum(y == a), np.sum(y == b)
    ma, mb = x[y == a].mean(0), x[y == b].mean(0)
    pooled = (na * ma + nb * mb) / (na + nb)
    x[y == a] += t * (pooled - ma)
    x[y == b] += t * (pooled - mb)
    drop = (1 - (1 - t) ** 2) * na * nb / (na + nb) * np.sum((ma - mb) ** 2)
    return x, drop


@given(shape=st.sampled_from(SHAPES), t=st.floats(0.05, 1.0), seed=st.integers(0, 2**32 - 1))
def test_merging_two_classes_raises_separation(shape, t, seed):
    """Pulling two class means together (towards their pooled mean) raises D_trace strictly
    (tr Sigma_b drops by the closed-form amount, tr Sigma_w is unchanged). For D_pinv it
    holds while the merge is partial (t < 1): then Sigma_b' <= Sigma_b with the same range,
    so pinv(Sigma_b') >= pinv(Sigma_b) (Loewner order) and tr(Sigma_w pinv) cannot drop."""
    n, f, k = shape
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k  # every class populated
    x = rng.normal(0.0, 1.0, (k, f))[y] + rng.normal(0.0, 1.0, (n, f))
    a, b = rng.choice(k, 2, replace=False)
    merged, drop = merge(x, y, a, b, t)
    with jax.enable_x64(True):
        before = measures(x, y, k)
        after = measures(merged, y, k)
        sw0, sb0 = (np.asarray(a) for a in sep.within_between(jnp.asarray(x), jnp.asarray(y), k))
        sw1, sb1 = (
            np.asarray(a) for a in sep.within_between(jnp.asarray(merged), jnp.asarray(y), k)
        )
    # float64 rounding of O(1) sums
    np.testing.assert_allclose(sw1, sw0, atol=1e-10)
    assert np.trace(sb0) - np.trace(sb1) == pytest.approx(drop / n, rel=1e-9, abs=1e-12)
    assert after[0] > before[0]
    if t < 0.95:  # away from the rank drop at t = 1 (tolerance: float64 rounding)
        assert after[1] >= before[1] - 1e-9


def test_one_sided_merge_is_not_monotone():
    """Why the merge test moves both classes to their pooled mean: moving class b onto
    class a can *raise* tr Sigma_b. 1-d class means 0, 10, 11 (one sample each, no
    within-class spread added): tr Sigma_b = 74/3 before, (2 (11/3)^2 + (22/3)^2)/3 =
    242/9 after moving the class at 10 onto the class at 0."""
    x = np.array([[0.0], [10.0], [11.0]])
    y = np.array([0, 1, 2])
    with jax.enable_x64(True):
        _, before = sep.within_between(jnp.asarray(x), jnp.asarray(y), 3)
        _, after = sep.within_between(
            jnp.asarray(np.array([[0.0], [0.0], [11.0]])), jnp.asarray(y), 3
        )
    assert float(before[0, 0]) == pytest.approx(74 / 3, rel=1e-12)
    assert float(after[0, 0]) == pytest.approx(242 / 9, rel=1e-12)
    assert float(after[0, 0]) > float(before[0, 0])


def test_coincident_class_means_limit():
    """Limiting case noted in the docstrings: K = 2 classes holding the same samples have
    Sigma_b = 0 exactly (small integers: every sum is exact), so nothing is in the range
    of Sigma_b, D_pinv = log 0 = -inf, and D_trace = log(tr Sigma_w / 0) = +inf."""
    rows = np.random.default_rng(3).integers(-4, 5, (4, 3)).astype(float)
    x = np.concatenate([rows, rows])
    y = np.repeat([0, 1], 4)
    with jax.enable_x64(True):
        sw, sb = sep.within_between(jnp.asarray(x), jnp.asarray(y), 2)
        d_trace, d_pinv = measures(x, y, 2)
    assert not np.any(np.asarray(sb)) and np.trace(np.asarray(sw)) > 0
    assert d_pinv == -np.inf and d_trace == np.inf


@given(shape=st.sampled_from(SHAPES), scale=st.floats(0.1, 10.0), seed=st.integers(0, 2**32 - 1))
def test_identity_layer_carries_no_load(shape, scale, seed):
    """A layer that is the identity (or an orthogonal map times a scale: the same
    representation) has elongation d = D_{l-1} - D_l = 0."""
    x, y = draw(seed, shape)
    q = random_orthogonal(np.random.default_rng(seed + 1), shape[1])
    with jax.enable_x64(True):
        for measure in sep.MEASURES.values():
            same = jnp.stack([measure(jnp.asarray(x), jnp.asarray(y), shape[2])] * 2)
            d = sep.load_curve_statistics(same).elongations
            assert float(d[0]) == 0.0
            moved = jnp.stack(
                [measure(jnp.asarray(f), jnp.asarray(y), shape[2]) for f in (x, scale * x @ q)]
            )
            assert abs(float(sep.load_curve_statistics(moved).elongations[0])) < 1e-8


def test_vmap_over_layers_matches_per_layer():
    """The measures vmap over a stack of equal-width layers (how a trainer calls them)."""
    rng = np.random.default_rng(5)
    y = jnp.asarray(np.arange(200) % 10)
    layers = jnp.asarray(rng.normal(size=(4, 200, 16)).astype(np.float32))
    for measure in sep.MEASURES.values():
        batched = jax.vmap(measure, in_axes=(0, None, None))(layers, y, 10)
        single = jnp.stack([measure(layer, y, 10) for layer in layers])
        np.testing.assert_allclose(np.asarray(batched), np.asarray(single), rtol=1e-5)


def numpy_load_statistics(curve):
    """The authors' v_and_c (src/utils.py) for one curve: d from a loop, c as the sum of
    second differences, v as a population standard deviation."""
    d = np.array([curve[i] - curve[i + 1] for i in range(len(curve) - 1)])
    dd = [d[i] - d[i + 1] for i in range(len(d) - 1)]
    return d, np.sqrt(np.mean((d - d.mean()) ** 2)), float(np.sum(dd))


# few shapes: each compiles once
@given(
    layers=st.sampled_from([2, 3, 8]),
    batch=st.sampled_from([(), (3,), (2, 4)]),
    seed=st.integers(0, 2**32 - 1),
)
def test_load_curve_statistics_match_authors_loop(layers, batch, seed):
    curves = np.random.default_rng(seed).normal(size=(*batch, layers))
    with jax.enable_x64(True):
        got = sep.load_curve_statistics(jnp.asarray(curves))
        got = [np.asarray(a) for a in got]
    flat = curves.reshape(-1, layers)
    ref = [numpy_load_statistics(c) for c in flat]
    for i, name in enumerate(("elongations", "spread", "curvature")):
        expected = np.array([r[i] for r in ref]).reshape(got[i].shape)
        assert got[i].shape == batch + ((layers - 1,) if i == 0 else ())
        # float64 sums of at most 9 O(1) terms
        np.testing.assert_allclose(got[i], expected, atol=1e-12, err_msg=name)


def test_load_curve_limiting_cases():
    """Linear D curve: equal load on every layer, v = 0 and c = 0. Concave (D flat, then
    dropping: deep layers carry the load): c < 0. Convex (steep, then flat): c > 0 --
    the sign convention of reference section 1."""
    with jax.enable_x64(True):
        linear = sep.load_curve_statistics(jnp.asarray(2.0 - 0.3 * np.arange(8)))
        concave = sep.load_curve_statistics(jnp.array([2.0, 2.0, 1.98, 1.9, 1.7, 1.3, 0.6]))
        convex = sep.load_curve_statistics(jnp.array([2.0, 1.3, 0.9, 0.7, 0.62, 0.6, 0.6]))
    np.testing.assert_allclose(np.asarray(linear.elongations), 0.3, atol=1e-14)
    assert abs(float(linear.spread)) < 1e-14 and abs(float(linear.curvature)) < 1e-14
    assert float(concave.curvature) < 0 < float(convex.curvature)
    with pytest.raises(ValueError, match="at least 2 layers"):
        sep.load_curve_statistics(jnp.zeros((3, 1)))
