"""The trainer against independent references: a numpy forward pass with finite-difference
gradients, PyTorch's BatchNorm bookkeeping, the data-noise knob, and vmap vs one by one."""

from __future__ import annotations

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from springblock.validation.nets import mlp, train
from tests.toy import train_compiled

IN, WIDTH, DEPTH, CLASSES, N = 3, 4, 3, 2, 8


def numpy_loss(flat: np.ndarray, unravel, x: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """Cross-entropy of the MLP in training mode, written from the reference in numpy."""
    p = unravel(flat)

    def bn(z, scale, shift):
        return (z - z.mean(0)) / np.sqrt(z.var(0) + mlp.BN_EPS) * scale + shift

    h = bn(x, p["bn_scale"][0], p["bn_shift"][0])
    for l in range(1, DEPTH):
        z = bn(h @ p["weights"][l - 1].T + p["biases"][l - 1], p["bn_scale"][l], p["bn_shift"][l])
        h = np.where(z >= 0, z, alpha * z)
    logits = h @ p["weights"][-1].T + p["biases"][-1]
    logits = logits - logits.max(1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def flatten(params: mlp.MLP):
    parts = {
        "weights": params.weights,
        "biases": params.biases,
        "bn_scale": params.bn_scale,
        "bn_shift": params.bn_shift,
    }
    shapes = {k: [np.asarray(a).shape for a in v] for k, v in parts.items()}
    flat = np.concatenate([np.asarray(a, np.float64).ravel() for v in parts.values() for a in v])

    def unravel(vec):
        out, i = {}, 0
        for k, ss in shapes.items():
            out[k] = []
            for s in ss:
                size = int(np.prod(s))
                out[k].append(vec[i : i + size].reshape(s))
                i += size
        return out

    return flat, unravel


def finite_difference_gradient(flat, unravel, x, y, alpha, h=1e-6):
    grad = np.zeros_like(flat)
    for i in range(flat.size):
        e = np.zeros_like(flat)
        e[i] = h
        grad[i] = (
            numpy_loss(flat + e, unravel, x, y, alpha) - numpy_loss(flat - e, unravel, x, y, alpha)
        ) / (2 * h)
    return grad


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, IN))
    y = rng.integers(0, CLASSES, N)
    return x, y


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_one_step_matches_hand_computed_update(tiny, optimizer, precision):
    """One full-batch epoch = one step; compare with a finite-difference gradient step of
    the float64 numpy reference, training in float32 and in float64."""
    x, y = tiny
    alpha, lr = 0.3, 0.05
    config = train.TrainConfig(
        depth=DEPTH, width=WIDTH, epochs=1, optimizer=optimizer, early_stopping=False
    )
    trained = train_compiled(
        config,
        jnp.asarray(x, precision.dtype),
        jnp.asarray(y),
        CLASSES,
        train.Hyper(alpha=alpha, learning_rate=lr),
        jax.random.key(3),
    )
    assert trained.params.weights[0].dtype == precision.dtype
    flat0, unravel = flatten(trained.initial)
    flat1, _ = flatten(trained.params)
    # the reference starts from the net's own (rounded) initial parameters and data
    x = np.asarray(jnp.asarray(x, precision.dtype), np.float64)
    grad = finite_difference_gradient(flat0, unravel, x, y, alpha)
    # float64: central differences with h = 1e-6 leave ~1e-9 in the gradient. float32: the
    # parameters (O(1)) are stored to 6e-8 and the BatchNorm gradient loses a few more
    # digits to cancellation (measured error 1.5e-7 for SGD): 1e-6, ~16 ulps of 1.
    if optimizer == "sgd":
        expected = flat0 - lr * grad
        np.testing.assert_allclose(flat1, expected, atol=precision.pick(1e-6, 1e-8))
    else:
        # Adam's first step from zero moments (bias-corrected m = g, v = g^2) is
        # lr g / (|g| + eps), eps = 1e-8. Entries with |g| < 1e-5 are skipped: there the
        # finite-difference error (~1e-9) is no longer small against |g| + eps.
        big = np.abs(grad) > 1e-5
        expected = flat0 - lr * grad / (np.abs(grad) + 1e-8)
        np.testing.assert_allclose(flat1[big], expected[big], atol=precision.pick(1e-6, 1e-8))
    # The loss of the first epoch is the initial loss (float32: ~10 ulps of a sum of logs).
    assert float(trained.losses[0]) == pytest.approx(
        numpy_loss(flat0, unravel, x, y, alpha), rel=precision.pick(1e-6, 1e-9)
    )


def test_batchnorm_running_statistics_follow_pytorch(tiny):
    """After one training step the input BatchNorm's running stats are
    0.9 * (0, 1) + 0.1 * (batch mean, unbiased batch variance); evaluation uses them."""
    x, y = tiny
    config = train.TrainConfig(depth=DEPTH, width=WIDTH, epochs=1, early_stopping=False)
    with jax.enable_x64(True):
        trained = train_compiled(
            config, jnp.asarray(x), jnp.asarray(y), CLASSES, train.Hyper(), jax.random.key(0)
        )
        mean, var = np.asarray(trained.stats.mean[0]), np.asarray(trained.stats.var[0])
        np.testing.assert_allclose(mean, 0.1 * x.mean(0), atol=1e-12)
        np.testing.assert_allclose(var, 0.9 + 0.1 * x.var(0, ddof=1), atol=1e-12)
        _, _, feats = mlp.forward(
            trained.params, trained.stats, jnp.asarray(x), alpha=1.0, train=False
        )
        scale, shift = (
            np.asarray(trained.params.bn_scale[0]),
            np.asarray(trained.params.bn_shift[0]),
        )
        expected = (x - mean) / np.sqrt(var + mlp.BN_EPS) * scale + shift
        np.testing.assert_allclose(np.asarray(feats[0]), expected, atol=1e-12)


def test_pytorch_default_initialisation_bounds():
    """Linear weights and biases uniform on +-1/sqrt(fan_in): the range and the variance
    1/(3 fan_in) of a uniform distribution (Monte Carlo over 100 x 100 entries)."""
    params, stats = mlp.init(jax.random.key(0), 40, 100, 4, 10)
    for w, b in zip(params.weights, params.biases, strict=True):
        bound = 1 / np.sqrt(w.shape[1])
        assert float(jnp.abs(w).max()) <= bound and float(jnp.abs(b).max()) <= bound
    w = np.asarray(params.weights[1])
    # Sample variance of 10^4 uniforms: relative standard error sqrt(0.8/10^4) ~ 0.9 %.
    assert w.var() == pytest.approx(1 / (3 * 100), rel=0.05)
    assert all(float(jnp.abs(m).max()) == 0 for m in stats.mean)


def test_data_noise_knob():
    """floor(s n) labels are redrawn uniformly (some by chance to the same class) and the
    inputs get Gaussian noise of std s * std(x)."""
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(2.0, 3.0, (4000, 5)), jnp.float32)
    y = jnp.zeros(4000, jnp.int32)
    xn, yn = train.corrupt(x, y, 0.25, jax.random.key(0), 10)
    changed = int(jnp.sum(yn != y))
    # 1000 redrawn labels, 9/10 of them land on another class: 900 +- 3 sd (sd ~ 9.5).
    assert 870 <= changed <= 1000
    noise = np.asarray(xn - x)
    assert noise.std() == pytest.approx(0.25 * float(jnp.std(x)), rel=0.03)  # 2e4 samples
    same_x, same_y = train.corrupt(x, y, 0.0, jax.random.key(0), 10)
    assert jnp.array_equal(same_y, y) and jnp.array_equal(same_x, x)


def test_vmapped_training_equals_one_by_one():
    """Many nets in one vmapped call give the nets trained one at a time (same keys), for
    every traced knob. float64, so only summation order can differ: 1e-9."""
    with jax.enable_x64(True):
        rng = np.random.default_rng(2)
        x = jnp.asarray(rng.normal(size=(48, 5)))
        y = jnp.asarray(rng.integers(0, 3, 48), jnp.int32)
        config = train.TrainConfig(depth=3, width=6, epochs=4)
        hypers = train.Hyper(
            alpha=jnp.array([0.0, 0.5, 1.0]),
            learning_rate=jnp.array([1e-3, 1e-2, 3e-3]),
            dropout=jnp.array([0.0, 0.1, 0.0]),
            data_noise=jnp.array([0.0, 0.0, 0.3]),
            gradient_noise=jnp.zeros(3),
        )
        keys = jnp.stack([jax.random.key(s) for s in range(3)])

        def final_weights(hyper, key):
            return train.train(config, x, y, 3, hyper, key).params.weights

        batched = jax.jit(jax.vmap(final_weights))(hypers, keys)
        single = jax.jit(final_weights)
        for n in range(3):
            one = single(train.Hyper(*[h[n] for h in hypers]), keys[n])
            for wb, w1 in zip(batched, one, strict=True):
                np.testing.assert_allclose(wb[n], w1, atol=1e-9)


def _primitive_inputs(jaxpr, name: str) -> list[tuple]:
    """Input shapes of every ``name`` primitive in ``jaxpr`` and its sub-jaxprs."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == name:
            found.append(tuple(eqn.invars[0].aval.shape))
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            found += _primitive_inputs(sub, name)
    return found


def test_batched_nets_measure_with_unbatched_svds_and_one_shared_hyper():
    """The batched trainer's SVDs (the pinv measure) stay one (K, F) matrix each, inside a
    loop over nets: batched SVDs side by side deadlocked jaxlib's CPU LAPACK kernels on 2
    cores (a batched sweep of paper nets hung). The cell's hyperparameters are shared,
    unbatched, so every noise knob's ``cond`` remains a branch, not a select of both."""
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(40, 5)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 40), jnp.int32)
    config = train.TrainConfig(depth=3, width=6, epochs=2)
    fn = train._compiled(config, 3, True)
    keys = jax.random.split(jax.random.key(0), 4)
    jaxpr = jax.make_jaxpr(fn)(x, y, x, y, train.Hyper(alpha=0.5), keys, np.int32(2)).jaxpr
    svd_inputs = _primitive_inputs(jaxpr, "svd")
    assert svd_inputs and all(shape == (3, 6) or shape == (3, 5) for shape in svd_inputs)
    assert _primitive_inputs(jaxpr, "cond"), "the noise knobs' branches became selects"
    out = train.compiled_train_and_measure(config, 3, batched=True)(
        x, y, x, y, train.Hyper(alpha=0.5, dropout=0.1), keys
    )
    one = train.compiled_train_and_measure(config, 3)(
        x, y, x, y, train.Hyper(alpha=0.5, dropout=0.1), keys[2]
    )
    # float32, batched products tiled differently from single ones: 1e-4
    np.testing.assert_allclose(out.separation_pinv[2], one.separation_pinv, rtol=1e-4)


def test_early_stopping_on_a_separable_task():
    """The authors' rule stops once the epoch loss is below 1e-4: an easy task stops early."""
    x = jnp.concatenate([jnp.full((32, 2), -3.0), jnp.full((32, 2), 3.0)])
    x = x + 0.1 * jax.random.normal(jax.random.key(0), x.shape)
    y = jnp.concatenate([jnp.zeros(32, jnp.int32), jnp.ones(32, jnp.int32)])
    config = train.TrainConfig(depth=3, width=16, epochs=3000)
    trained = train_compiled(config, x, y, 2, train.Hyper(learning_rate=0.05), jax.random.key(0))
    stopped = int(trained.epochs_run)
    assert stopped < 3000
    last = float(trained.losses[stopped - 1])
    before = float(trained.losses[stopped - 2])
    assert last < train.LOSS_FLOOR or abs(before - last) < train.LOSS_PLATEAU
    assert np.isnan(np.asarray(trained.losses[stopped:])).all()


def test_bad_config_names_the_parameter():
    from springblock.params import ParameterError

    with pytest.raises(ParameterError, match="optimizer"):
        train.TrainConfig(optimizer="lbfgs")
    with pytest.raises(ParameterError, match="depth"):
        train.TrainConfig(depth=1)


def test_dropout_masks_keep_the_stated_fraction():
    """Masks from 16-bit draws: the kept fraction over 7 x 2560 x 100 entries is within 5
    binomial standard deviations of round((1-p) 2^16)/2^16, layers and entries differ, and
    the inverted scaling keeps the mean activation."""
    from springblock.validation.nets import mlp

    for p in (0.02, 0.3, 0.64):
        masks = mlp.dropout_masks(jax.random.key(1), p, (7, 2560, 100))
        keep = float(mlp.kept_fraction(p))
        assert abs(keep - (1 - p)) <= 2**-17
        n = masks.size
        assert abs(float(masks.mean()) - keep) < 5 * np.sqrt(keep * (1 - keep) / n)
        assert not bool(jnp.all(masks[0] == masks[1]))
        h = jnp.ones((2560, 100))
        scaled = jnp.where(masks[0], h / keep, 0.0)
        assert abs(float(scaled.mean()) - 1.0) < 5 * np.sqrt((1 - keep) / keep / h.size)
    assert bool(jnp.all(mlp.dropout_masks(jax.random.key(1), 0.0, (2, 10, 7))))


def test_corrupted_labels_are_an_exact_count():
    x = jnp.zeros((200, 3))
    y = jnp.full(200, 11, jnp.int32)  # a label no random draw (0..9) can produce
    for level in (0.0, 0.1, 0.55):
        _, noisy = train.corrupt(x, y, level, jax.random.key(5), 10)
        assert int(jnp.sum(noisy != 11)) == int(np.floor(level * 200))


_LOWEST_RANKED = jax.jit(train.lowest_ranked)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 300).flatmap(
        lambda n: st.tuples(
            # a top of 3 forces many ties, 2**32 - 1 almost none
            st.sampled_from([3, 40, 2**32 - 1]).flatmap(
                lambda top: st.lists(st.integers(0, top), min_size=n, max_size=n)
            ),
            st.integers(0, n),
        )
    )
)
def test_lowest_ranked_is_the_first_k_of_a_stable_argsort(draws_and_k):
    """corrupt's pick is exactly the first k indices of a stable ascending argsort (the
    subset the trainer picked before, so nets trained before and after agree bitwise), ties
    included: k of them, every one ranked no later than any left out."""
    draws, k = draws_and_k
    draws = np.asarray(draws, np.uint32)
    expected = np.zeros(draws.size, bool)
    expected[np.argsort(draws, kind="stable")[:k]] = True
    got = np.asarray(_LOWEST_RANKED(jnp.asarray(draws), jnp.int32(k)))
    np.testing.assert_array_equal(got, expected)


def test_epoch_counts_share_one_compilation_and_train_as_a_static_count():
    """Runs of 3 and 5 epochs use one compiled trainer (a 16-epoch buffer, the count
    traced), and ``losses`` has exactly their epochs; the 3-epoch run gives bitwise what
    ``train`` with a static count of 3 gives (the same operations in the same order).
    The capacity rule: the next power of two, at least 16, never above the largest count
    allowed."""
    assert [train.epoch_capacity(e) for e in (1, 16, 17, 100, 200)] == [16, 16, 32, 128, 256]
    assert train.epoch_capacity(train.MAX_EPOCHS) == train.MAX_EPOCHS
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(24, 4)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 24), jnp.int32)
    hyper = train.Hyper(*(jnp.float32(h) for h in (0.3, 1e-2, 0.1, 0.2, 0.0)))  # traced
    key = jax.random.key(5)

    def config(epochs):
        return train.TrainConfig(depth=2, width=5, epochs=epochs, early_stopping=False)

    before = train._compiled.cache_info().currsize
    three, five = (
        train.compiled_train_and_measure(config(e), 3)(x, y, x, y, hyper, key) for e in (3, 5)
    )
    assert train._compiled.cache_info().currsize == before + 1
    assert three.losses.shape == (3,) and int(three.epochs_run) == 3
    assert five.losses.shape == (5,) and int(five.epochs_run) == 5
    np.testing.assert_array_equal(five.losses[:3], three.losses)  # same nets, same keys
    static = jax.jit(
        lambda x, y, h, k: train.measure(train.train(config(3), x, y, 3, h, k), h, x, y, x, y, 3)
    )(x, y, hyper, key)
    for name in ("losses", "separation_pinv", "test_accuracy"):
        np.testing.assert_array_equal(getattr(three, name), getattr(static, name))


def test_the_cnn_trainer_has_no_convolution_primitive():
    """The CNN's convolutions are matrix products (cnn.conv_3x3): XLA's CPU convolution
    gradient ran ~25x slower inside the trainer's loop than outside it."""
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(8, 16)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 8), jnp.int32)
    config = train.TrainConfig(arch="cnn", image_shape=(4, 4, 1), depth=3, channels=2, epochs=2)
    fn = train._compiled(config, 3, False)
    jaxpr = jax.make_jaxpr(fn)(x, y, x, y, train.Hyper(alpha=0.5), jax.random.key(0), np.int32(2))
    assert not _primitive_inputs(jaxpr.jaxpr, "conv_general_dilated")
    assert _primitive_inputs(jaxpr.jaxpr, "dot_general")


def test_checkpoints_record_the_separations_a_shorter_run_ends_with():
    """A checkpoint after epoch e holds the separations that the same net (same key)
    trained for e epochs is measured with; a checkpoint training never reaches is NaN; the
    batched trainer refuses checkpoints."""
    from springblock.params import ParameterError

    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(48, 5)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, 48), jnp.int32)
    hyper = train.Hyper(alpha=0.3, learning_rate=1e-2, dropout=0.1)
    key = jax.random.key(4)
    config = train.TrainConfig(depth=4, width=8, epochs=6, checkpoints=(2, 6))
    # the compiled programs a sweep runs, the number of epochs traced: one compilation
    # with checkpoints and one without serve every run below
    with_checkpoints = train.program(config, 3)
    recorded = with_checkpoints(x, y, x, y, hyper, key, np.int32(6))
    assert recorded.checkpoint_separation_pinv.shape == (2, 4)
    plain = train.program(train.TrainConfig(depth=4, width=8, epochs=6), 3)
    for k, epochs in enumerate((2, 6)):
        m = plain(x, y, x, y, hyper, key, np.int32(epochs))
        assert int(m.epochs_run) == epochs
        # the same arithmetic in two compiled programs: float32 rounding only
        np.testing.assert_allclose(
            recorded.checkpoint_separation_pinv[k], m.separation_pinv, rtol=1e-5
        )
        np.testing.assert_allclose(
            recorded.checkpoint_separation_trace[k], m.separation_trace, rtol=1e-5
        )
    capped = with_checkpoints(x, y, x, y, hyper, key, np.int32(3))
    assert np.isfinite(capped.checkpoint_separation_pinv[0]).all()
    assert np.isnan(capped.checkpoint_separation_pinv[1]).all()
    with pytest.raises(ParameterError, match="checkpoints"):
        train.compiled_train_and_measure(config, 3, batched=True)
    with pytest.raises(ParameterError, match="checkpoints"):
        train.program(config, 3, batched=True)
    for bad in ((3, 2), (0,), (7,)):
        with pytest.raises(ParameterError, match="checkpoints"):
            train.TrainConfig(depth=4, width=8, epochs=6, checkpoints=bad)
