"""Training the paper's MLP and measuring feature learning, in one compiled function.

Shi, Pan & Dokmanic (arXiv 2407.19353), the experiment (reference section 2) and the
authors' training script (GitHub DaDaCheng/DNN_Spring, ``src/main.py``): cross-entropy,
Adam (lr 1e-3 by default; SGD and SGLD also available), full batch or mini-batches of a
fresh permutation every epoch (a last partial batch is dropped), and the authors' early
stopping: stop after an epoch whose mean training loss is below 1e-4 or changed by less
than 1e-10 from the previous epoch. Training also stops at the first epoch whose loss, or
any parameter or BatchNorm statistic, is not finite; such a net is *diverged*
(:attr:`Measurement.diverged`): its accuracies and loss are NaN and the sweep leaves it out
of every cell statistic, counting it.

The four noise knobs of reference section 2 are traced hyperparameters, so one
compilation serves a whole panel of the same shape:

* data noise s: in every step a fraction floor(s B) of the batch gets uniformly random
  labels (redrawn each step) and the inputs get Gaussian noise of std s * std(X_batch);
* learning rate; dropout p; and batch size (a static shape: one compilation per size).

SGLD adds Gaussian noise of variance ``gradient_noise`` to every gradient entry before a
plain SGD step, as the authors' optimizer does: p <- p - lr (grad + sqrt(noise) xi).

After training, :func:`measure` reads the trained net on the training set in evaluation
mode (reference section 1): per-layer separation D_l with both measures, test accuracy, and
the lazy/active indicators of :mod:`springblock.validation.nets.lazy`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray, UInt32

from springblock.params import ParameterError, check_int
from springblock.validation.nets import cnn, lazy, mlp, random_bits, separation

OPTIMIZERS = ("adam", "sgd", "sgld")
#: mlp: the paper's MLP (:mod:`mlp`); cnn: the authors' CNN (:mod:`cnn`), ``depth - 1``
#: blocks of ``channels`` channels on images of ``image_shape``, so that both measure
#: ``depth`` layers (the input and one per block) and have ``depth`` weight arrays.
ARCHS = ("mlp", "cnn")
LOSS_FLOOR = 1e-4  # the authors' early-stopping thresholds
LOSS_PLATEAU = 1e-10
MAX_EPOCHS = 1_000_000


@dataclass(frozen=True)
class TrainConfig:
    """Static settings: everything that changes the compiled program's shapes or structure
    (``epochs`` only through the losses buffer's length, :func:`epoch_capacity`)."""

    depth: int = 8
    width: int = 100
    epochs: int = 100
    batch_size: int | None = None  # None: full batch
    optimizer: str = "adam"
    early_stopping: bool = True
    hessian: bool = False  # also measure the loss curvature (hessian.curvature)
    arch: str = "mlp"
    channels: int = 20  # the CNN's
    image_shape: tuple[int, int, int] | None = None  # the CNN's input (H, W, C)
    #: epochs (1-based, increasing) after which the separation of every layer is recorded
    checkpoints: tuple[int, ...] = ()

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise ParameterError("arch", self.arch, f"one of {ARCHS}")
        if self.arch == "cnn":
            if self.image_shape is None:
                raise ParameterError("dataset", None, "images (a data set with an image shape)")
            cnn.check_image_shape(self.image_shape)
            check_int("channels", self.channels, 1, 4096)
        check_int("depth", self.depth, 2, 1000)
        check_int("width", self.width, 1, 100_000)
        check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, 2, 10_000_000)
        if self.optimizer not in OPTIMIZERS:
            raise ParameterError("optimizer", self.optimizer, f"one of {OPTIMIZERS}")
        check_checkpoints(self.checkpoints, self.epochs)


def check_checkpoints(checkpoints, epochs: int) -> tuple[int, ...]:
    """``checkpoints`` as increasing epochs in [1, ``epochs``], else a ParameterError."""
    allowed = f"increasing epochs in [1, {epochs}]"
    try:
        out = tuple(int(check_int("checkpoints", e, 1, epochs)) for e in checkpoints)
    except (ParameterError, TypeError):
        raise ParameterError("checkpoints", checkpoints, allowed) from None
    if any(b <= a for a, b in zip(out, out[1:], strict=False)):
        raise ParameterError("checkpoints", checkpoints, allowed)
    return out


class Hyper(NamedTuple):
    """Traced per-net hyperparameters (scalars, or arrays with a leading axis for vmap)."""

    alpha: Float[Array, ""] | float = 1.0
    learning_rate: Float[Array, ""] | float = 1e-3
    dropout: Float[Array, ""] | float = 0.0
    data_noise: Float[Array, ""] | float = 0.0
    gradient_noise: Float[Array, ""] | float = 0.0


class Trained(NamedTuple):
    params: mlp.MLP | cnn.CNN
    stats: mlp.BatchStats | cnn.BatchStats
    initial: mlp.MLP | cnn.CNN
    initial_stats: mlp.BatchStats | cnn.BatchStats
    losses: Float[Array, " epochs"]  # NaN after early stopping
    epochs_run: Int[Array, ""]
    diverged: Bool[Array, ""]  # an epoch's loss was not finite (training stopped there)
    # with config.checkpoints: (checkpoints, 2, layers), pinv then trace separations of
    # every layer after each checkpoint epoch (NaN where training had stopped before it)
    snapshots: Float[Array, "checkpoints 2 layers"] | None = None


def corrupt(x, y, level, key, classes):
    """The data-noise knob: floor(level B) random labels and input noise level * std(x).

    The k = floor(level B) relabelled samples are those whose random 32-bit draw ranks
    lowest, ties going to the lower index (a uniformly random subset of size k). That is
    the subset a stable argsort of the draws would pick; it is found here from the k-th
    smallest draw t of one sort of the draws alone, a fraction of the cost of the argsort
    and its scatter (benchmarks/train_step.py times both): every draw below t, and of the
    draws equal to t the first k - #(below t) in index order."""
    k_pick, k_label, k_input = jax.random.split(key, 3)
    n = x.shape[0]
    draws = jax.random.bits(k_pick, (n,), jnp.uint32)
    chosen = lowest_ranked(draws, jnp.floor(level * n).astype(jnp.int32))
    y = jnp.where(chosen, jax.random.randint(k_label, (n,), 0, classes, y.dtype), y)
    x = x + random_bits.normal(k_input, x.shape, x.dtype) * jnp.std(x) * level
    return x, y


def lowest_ranked(draws: UInt32[Array, " n"], k: Int[Array, ""]) -> Bool[Array, " n"]:
    """True at the ``k`` entries of ``draws`` that a stable ascending sort puts first
    (equal draws in index order), for 0 <= k <= n: :func:`corrupt`'s pick."""
    threshold = jnp.sort(draws)[jnp.maximum(k - 1, 0)]
    below = draws < threshold
    tied = draws == threshold
    room = k - jnp.sum(below, dtype=jnp.int32)  # tied draws that still make the cut
    return (below | (tied & (jnp.cumsum(tied, dtype=jnp.int32) <= room))) & (k > 0)


def init_net(config: TrainConfig, key: PRNGKeyArray, in_features: int, classes: int, dtype):
    """PyTorch-default parameters and BatchNorm statistics of ``config``'s architecture."""
    if config.arch == "cnn":
        assert config.image_shape is not None
        return cnn.init(key, config.image_shape, config.channels, config.depth - 1, classes, dtype)
    return mlp.init(key, in_features, config.width, config.depth, classes, dtype)


def forward_of(config: TrainConfig):
    """``forward(params, stats, x, **options) -> (logits, stats, features)`` of ``config``'s
    architecture on flat rows x (N, D): the CNN reads each row as its row-major image."""
    if config.arch != "cnn":
        return mlp.forward
    image = config.image_shape
    assert image is not None

    def forward(params, stats, x, **options):
        return cnn.forward(params, stats, x.reshape(x.shape[0], *image), **options)

    return forward


def mask_shape(config: TrainConfig, n: int) -> tuple[int, ...]:
    """The dropout masks' shape for a batch of ``n``: :func:`mlp.mask_shape` (feature-major)
    for the MLP, (depth - 1, n, H, W, channels) for the CNN (after each block's
    upsampling)."""
    if config.arch == "cnn":
        assert config.image_shape is not None
        h, w, _ = config.image_shape
        return (config.depth - 1, n, h, w, config.channels)
    return mlp.mask_shape(config.depth, n, config.width)


def dropout_masks_of(config: TrainConfig, key: PRNGKeyArray, p, n: int):
    """Keep-masks of every dropout site (:func:`mask_shape`, :func:`mlp.dropout_masks`)."""
    return mlp.dropout_masks(key, p, mask_shape(config, n))


def weights_of(params) -> list:
    """The weight arrays, input side first: the MLP's Linear weights; the CNN's kernels and
    its head (what the relative weight change compares)."""
    if isinstance(params, cnn.CNN):
        return [*params.kernels, params.head_weight]
    return list(params.weights)


def layer_separations(feats, y, classes) -> Float[Array, "2 layers"]:
    """The pinv and trace separations (reference section 1) of every layer's features."""
    return jnp.stack(
        [
            jnp.stack([separation.separation_pinv(f, y, classes) for f in feats]),
            jnp.stack([separation.separation_trace(f, y, classes) for f in feats]),
        ]
    )


def _all_finite(tree) -> Bool[Array, ""]:
    """True if every entry of every array of ``tree`` is finite."""
    leaves = jax.tree.leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def _optimizer(name: str, learning_rate):
    if name == "adam":
        return optax.flatten(optax.adam(learning_rate))
    return optax.flatten(optax.sgd(learning_rate))


def train(
    config: TrainConfig,
    x: Float[Array, "N D"],
    y: Int[Array, " N"],
    classes: int,
    hyper: Hyper,
    key: PRNGKeyArray,
    epochs: Int[Array, ""] | int | None = None,
) -> Trained:
    """Initialise (PyTorch defaults) and train one net; pure and jittable.

    ``epochs`` (traced; at most ``config.epochs``, which then only sizes the losses
    buffer) caps the epochs run; None runs up to ``config.epochs``."""
    n_train, in_features = x.shape
    batch = n_train if config.batch_size is None else min(config.batch_size, n_train)
    steps = n_train // batch
    k_init, k_train = jax.random.split(key)
    params0, stats0 = init_net(config, k_init, in_features, classes, x.dtype)
    forward = forward_of(config)
    opt = _optimizer(config.optimizer, hyper.learning_rate)

    def loss_fn(params, stats, xb, yb, masks):
        logits, new_stats, _ = forward(
            params,
            stats,
            xb,
            alpha=hyper.alpha,
            train=True,
            masks=masks,
            keep=mlp.kept_fraction(hyper.dropout),
        )
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean(), new_stats

    gradient = jax.value_and_grad(loss_fn, has_aux=True)

    def step(carry, inputs):
        params, stats, opt_state = carry
        index, (k_noise, k_drop, k_grad) = inputs
        xb, yb = (x, y) if index is None else (x[index], y[index])
        xb, yb = jax.lax.cond(
            hyper.data_noise > 0,
            lambda: corrupt(xb, yb, hyper.data_noise, k_noise, classes),
            lambda: (xb, yb),
        )
        # two branches: a net without dropout neither draws masks nor applies them
        (loss, stats), grads = jax.lax.cond(
            hyper.dropout > 0,
            lambda: gradient(
                params, stats, xb, yb, dropout_masks_of(config, k_drop, hyper.dropout, batch)
            ),
            lambda: gradient(params, stats, xb, yb, None),
        )
        if config.optimizer == "sgld":
            leaves, tree = jax.tree.flatten(grads)
            noise_keys = jax.random.split(k_grad, len(leaves))
            scale = jnp.sqrt(hyper.gradient_noise)
            grads = jax.tree.unflatten(
                tree,
                [
                    g + scale * jax.random.normal(k, g.shape, g.dtype)
                    for g, k in zip(leaves, noise_keys, strict=True)
                ],
            )
        updates, opt_state = opt.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), stats, opt_state), loss

    checkpoints = jnp.asarray(config.checkpoints or (0,), jnp.int32)

    def snapshot(snaps, params, stats, done):
        """Record the separations after epoch ``done`` if it is a checkpoint (the features
        in evaluation mode on the whole training set, as :func:`measure` reads them)."""
        if not config.checkpoints:
            return snaps
        hit = checkpoints == done

        def record():
            _, _, feats = forward(params, stats, x, alpha=hyper.alpha, train=False)
            return snaps.at[jnp.argmax(hit)].set(layer_separations(feats, y, classes))

        return jax.lax.cond(jnp.any(hit), record, lambda: snaps)

    def epoch(state):
        params, stats, opt_state, e, previous, _, _, k, losses, snaps = state
        k, k_perm, k_steps = jax.random.split(k, 3)
        # every step's three keys in one vectorised split (a split per step costs a
        # Threefry call of its own, which adds up over the 512 steps of batch 5)
        step_keys = jax.random.split(k_steps, (steps, 3))
        if batch == n_train:
            (params, stats, opt_state), batch_losses = jax.lax.scan(
                lambda c, kk: step(c, (None, kk)), (params, stats, opt_state), step_keys
            )
        else:
            order = jax.random.permutation(k_perm, n_train)[: steps * batch]
            (params, stats, opt_state), batch_losses = jax.lax.scan(
                step, (params, stats, opt_state), (order.reshape(steps, batch), step_keys)
            )
        loss = batch_losses.mean()
        # non-finite loss, or an overflow inside the net (e.g. a BatchNorm variance of
        # inputs near 1e30 is inf: the normalised features become silently 0)
        diverged = ~(jnp.isfinite(loss) & _all_finite(params) & _all_finite(stats))
        stop = diverged | (
            jnp.asarray(config.early_stopping)
            & ((loss < LOSS_FLOOR) | (jnp.abs(previous - loss) < LOSS_PLATEAU))
        )
        snaps = snapshot(snaps, params, stats, e + 1)
        return (
            params,
            stats,
            opt_state,
            e + 1,
            loss,
            stop,
            diverged,
            k,
            losses.at[e].set(loss),
            snaps,
        )

    limit = config.epochs if epochs is None else jnp.minimum(epochs, config.epochs)

    def going(state):
        return (state[3] < limit) & ~state[5]

    losses = jnp.full((config.epochs,), jnp.nan, x.dtype)
    layers = config.depth  # the input and every hidden layer (or CNN block)
    snaps = jnp.full((len(config.checkpoints), 2, layers), jnp.nan, x.dtype)
    start = (
        params0,
        stats0,
        opt.init(params0),
        jnp.int32(0),
        jnp.asarray(1000.0, x.dtype),
        jnp.asarray(False),
        jnp.asarray(False),
        k_train,
        losses,
        snaps,
    )
    params, stats, _, e, _, _, diverged, _, losses, snaps = jax.lax.while_loop(going, epoch, start)
    recorded = jnp.where(diverged, jnp.nan, snaps) if config.checkpoints else None
    return Trained(params, stats, params0, stats0, losses, e, diverged, recorded)


class Measurement(NamedTuple):
    """Per-net measurements (reference section 1); layer axis = h_0..h_{depth-1}.

    ``diverged``: the training loss, the features or the logits became non-finite; the
    accuracies and ``final_loss`` are then NaN and nothing else may be read as a result.
    ``losses`` holds the mean training loss of every epoch (NaN after the last epoch run).
    """

    separation_trace: Float[Array, " layers"]
    separation_pinv: Float[Array, " layers"]
    test_accuracy: Float[Array, ""]
    train_accuracy: Float[Array, ""]
    final_loss: Float[Array, ""]
    epochs_run: Int[Array, ""]
    weight_change: Float[Array, " linears"]
    kernel_change: Float[Array, " layers"]
    diverged: Bool[Array, ""]
    losses: Float[Array, " epochs"]
    # with TrainConfig(hessian=True): the Hessian of the final evaluation-mode training loss
    hessian_top_eigenvalue: Float[Array, ""] | None = None
    hessian_top_eigenvalue_residual: Float[Array, ""] | None = None
    hessian_trace: Float[Array, ""] | None = None
    hessian_trace_standard_error: Float[Array, ""] | None = None
    # with TrainConfig(checkpoints): the separations after each checkpoint epoch
    checkpoint_separation_pinv: Float[Array, "checkpoints layers"] | None = None
    checkpoint_separation_trace: Float[Array, "checkpoints layers"] | None = None


#: Lanczos steps and Hutchinson samples of the curvature measurement (hessian.curvature):
#: 32 Krylov vectors resolve the top eigenvalue of the paper net's loss to the residual
#: the measurement reports; 64 Rademacher draws give the trace's standard error.
HESSIAN_STEPS = 32
HESSIAN_SAMPLES = 64
#: fold_in tag of a net's key for its curvature draws (apart from training's split)
HESSIAN_KEY_TAG = 0x48455353


def measure(
    trained: Trained,
    hyper: Hyper,
    x,
    y,
    x_test,
    y_test,
    classes,
    curvature_key=None,
    forward=mlp.forward,
) -> Measurement:
    """Separation, accuracy and laziness of a trained net (evaluation mode, training set);
    with ``curvature_key`` also the Hessian's top eigenvalue and trace
    (:func:`springblock.validation.nets.hessian.curvature`).

    The feature-kernel change compares batch-normalised features (batch statistics, no
    dropout) at initialisation and after training, so both ends see the same
    normalisation.
    """
    logits_train, _, feats = forward(
        trained.params, trained.stats, x, alpha=hyper.alpha, train=False
    )
    d_pinv, d_trace = layer_separations(feats, y, classes)
    logits_test, _, _ = forward(
        trained.params, trained.stats, x_test, alpha=hyper.alpha, train=False
    )
    _, _, feats0 = forward(trained.initial, trained.initial_stats, x, alpha=hyper.alpha, train=True)
    _, _, feats1 = forward(trained.params, trained.stats, x, alpha=hyper.alpha, train=True)
    finite = jnp.all(jnp.isfinite(logits_train)) & jnp.all(jnp.isfinite(logits_test))
    for f in feats:
        finite = finite & jnp.all(jnp.isfinite(f))
    diverged = trained.diverged | ~finite
    nan = jnp.asarray(jnp.nan, x.dtype)

    def unless_diverged(value):
        return jnp.where(diverged, nan, value)

    out = Measurement(
        separation_trace=d_trace,
        separation_pinv=d_pinv,
        test_accuracy=unless_diverged(jnp.mean(jnp.argmax(logits_test, -1) == y_test)),
        train_accuracy=unless_diverged(jnp.mean(jnp.argmax(logits_train, -1) == y)),
        final_loss=unless_diverged(trained.losses[jnp.maximum(trained.epochs_run - 1, 0)]),
        epochs_run=trained.epochs_run,
        weight_change=lazy.relative_weight_change(
            weights_of(trained.initial), weights_of(trained.params)
        ),
        kernel_change=lazy.feature_kernel_change(feats0, feats1),
        diverged=diverged,
        losses=trained.losses,
    )
    if trained.snapshots is not None:
        out = out._replace(
            checkpoint_separation_pinv=trained.snapshots[:, 0],
            checkpoint_separation_trace=trained.snapshots[:, 1],
        )
    if curvature_key is None:
        return out
    from springblock.validation.nets import hessian

    got = hessian.curvature(
        trained.params,
        trained.stats,
        x,
        y,
        hyper.alpha,
        curvature_key,
        steps=HESSIAN_STEPS,
        samples=HESSIAN_SAMPLES,
        forward=forward,
    )
    return out._replace(
        hessian_top_eigenvalue=unless_diverged(got.top_eigenvalue),
        hessian_top_eigenvalue_residual=unless_diverged(got.top_eigenvalue_residual),
        hessian_trace=unless_diverged(got.trace),
        hessian_trace_standard_error=unless_diverged(got.trace_standard_error),
    )


#: A compiled trainer holds a losses buffer of :func:`epoch_capacity` epochs and takes the
#: number of epochs as a traced argument, so runs of up to this many epochs share one
#: compilation, and longer runs one per power of two (tests and short runs train for a few
#: epochs, the paper's panels for 100 or 200: a compilation costs seconds).
MIN_EPOCH_CAPACITY = 16


def epoch_capacity(epochs: int) -> int:
    """The losses-buffer length compiled for ``epochs``: the next power of two, at least
    :data:`MIN_EPOCH_CAPACITY`."""
    capacity = max(MIN_EPOCH_CAPACITY, 1 << (int(epochs) - 1).bit_length())
    return capacity if capacity <= MAX_EPOCHS else int(epochs)


@functools.cache
def _compiled(shape: TrainConfig, classes: int, batched: bool):
    def curvature_key(key):
        return jax.random.fold_in(key, HESSIAN_KEY_TAG) if shape.hessian else None

    forward = forward_of(shape)

    def one(x, y, x_test, y_test, hyper, key, epochs):
        trained = train(shape, x, y, classes, hyper, key, epochs)
        return measure(trained, hyper, x, y, x_test, y_test, classes, curvature_key(key), forward)

    if not batched:
        return jax.jit(one)

    def many(x, y, x_test, y_test, hyper, keys, epochs):
        # one hyper for the whole group (a cell's nets share it): vmapped over per-net
        # hyperparameters, the noise knobs' lax.cond would become a select that draws the
        # dropout masks and label noise of every net, noisy or not
        trained = jax.vmap(lambda k: train(shape, x, y, classes, hyper, k, epochs))(keys)
        # measured one net after another: vmapped, the pinv measure's per-layer SVDs become
        # batched LAPACK calls, each spreading its batch over XLA's CPU thread pool and
        # waiting for it; side by side they wait for each other and on 2 cores a batched
        # sweep of paper nets hung (jaxlib 0.10, every pool thread idle). The measurement
        # is a few per cent of a net's time, so the loop costs little.
        return jax.lax.map(
            lambda tk: measure(
                tk[0], hyper, x, y, x_test, y_test, classes, curvature_key(tk[1]), forward
            ),
            (trained, keys),
        )

    return jax.jit(many)


def program(config: TrainConfig, classes: int, batched: bool = False):
    """The jitted ``f(x, y, x_test, y_test, hyper, key, epochs)`` that
    :func:`compiled_train_and_measure` calls, compiled for :func:`epoch_capacity` of
    ``config.epochs``: ``epochs`` (an int32, at most that capacity) is traced, so one
    compilation serves runs of every length up to it (benchmarks time a step as the
    difference of two lengths), and ``losses`` has capacity entries. ``.lower`` gives the
    compiled module."""
    if batched and config.checkpoints:
        # vmapped, the checkpoint's cond becomes a select: every net would pay for the
        # separations (SVDs) after every epoch
        raise ParameterError("batched", batched, "not with checkpoints (streamed nets only)")
    return _compiled(
        dataclasses.replace(config, epochs=epoch_capacity(config.epochs)), classes, batched
    )


@functools.cache
def compiled_train_and_measure(config: TrainConfig, classes: int, batched: bool = False):
    """``f(x, y, x_test, y_test, hyper, key) -> Measurement``: train ``config.epochs``
    epochs at most (early stopping aside) and measure; ``losses`` has ``config.epochs``
    entries. Jitted once per config up to the number of epochs (:func:`epoch_capacity`).

    With ``batched`` the function maps over a leading axis of ``key`` (jax.vmap), all nets
    sharing ``hyper``: the nets of one cell in one call.
    """
    fn = program(config, classes, batched)
    epochs = np.int32(config.epochs)  # a fixed dtype: one compilation with or without x64

    def run(x, y, x_test, y_test, hyper, key) -> Measurement:
        out = fn(x, y, x_test, y_test, hyper, key, epochs)
        return out._replace(losses=out.losses[..., : config.epochs])

    return run
