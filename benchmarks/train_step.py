"""Benchmark: the parts of a training step of the paper's net that the trainer hand-tunes.

Measured side by side in one run, on the protocol net (depth 8, width 100, 2560 x 100
float32 inputs, full batch, Adam), 100 steps per timed call, the fastest of ``--repeats``
taken in rounds of one call of each variant (:func:`fastest_interleaved`):

1. BatchNorm + LeakyReLU, training mode: XLA's reverse pass of the plain formula with
   sample-major activations (N, F), the same feature-major (F, N), and
   :func:`springblock.validation.nets.mlp.batch_norm_activation` (feature-major, written
   reverse pass, the Linear bias folded in) computed by XLA's fusions and by the compiled
   CPU kernels (:mod:`springblock.validation.nets.batch_norm_kernel`; the row is left out
   where they are not built), against the matrix products alone (the same step without
   BatchNorm or activation): the floor the elementwise part sits on;
2. the step's random draws: Threefry bits (``jax.random``; for the masks one 32-bit word
   split into two 16-bit draws, what the trainer did before) against the counter-based bits
   of :mod:`springblock.validation.nets.random_bits`, for the dropout masks of every
   hidden layer (7 x 2560 x 100 entries) and for the input noise (2560 x 100 normals);
3. the data-noise knob's pick of the relabelled samples (a fifth of the 2,560): the rank
   of every draw from a stable argsort and a scatter (what the trainer did before)
   against :func:`springblock.validation.nets.train.lowest_ranked` (one sort of the draws
   alone, the same subset).

Run it single-threaded to see what one Dask worker sees:
    XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \\
        taskset -c 0 python3 benchmarks/train_step.py

Usage: python3 benchmarks/train_step.py [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from springblock.validation.nets import batch_norm_kernel, mlp, random_bits, train

N, FEATURES, WIDTH, DEPTH, CLASSES, STEPS = 2560, 100, 100, 8, 10, 100


def plain_batch_norm(z, scale, shift, axis):
    """BatchNorm over ``axis`` as a formula (XLA differentiates it)."""
    shape = (1, -1) if axis == 0 else (-1, 1)
    mean = z.mean(axis, keepdims=True)
    var = z.var(axis, keepdims=True)
    return (z - mean) * jax.lax.rsqrt(var + mlp.BN_EPS) * scale.reshape(shape) + shift.reshape(
        shape
    )


def losses(x, y):
    """Loss functions of the step variants: params, alpha -> mean cross-entropy."""
    xt = x.T

    def logits_of(h, params, feature_major):
        if feature_major:
            return (params.weights[-1] @ h).T + params.biases[-1]
        return h @ params.weights[-1].T + params.biases[-1]

    def sample_major(params, alpha):
        h = plain_batch_norm(x, params.bn_scale[0], params.bn_shift[0], 0)
        for l in range(1, DEPTH):
            z = h @ params.weights[l - 1].T + params.biases[l - 1]
            h = mlp.leaky_relu(
                plain_batch_norm(z, params.bn_scale[l], params.bn_shift[l], 0), alpha
            )
        return logits_of(h, params, False)

    def feature_major(params, alpha):
        h = plain_batch_norm(xt, params.bn_scale[0], params.bn_shift[0], 1)
        for l in range(1, DEPTH):
            z = params.weights[l - 1] @ h + params.biases[l - 1][:, None]
            h = mlp.leaky_relu(
                plain_batch_norm(z, params.bn_scale[l], params.bn_shift[l], 1), alpha
            )
        return logits_of(h, params, True)

    def written_reverse(kernels):
        layer = mlp.batch_norm_activation_of(kernels)

        def forward(params, alpha):
            no_bias = jnp.zeros(FEATURES, xt.dtype)
            h = layer(xt, no_bias, params.bn_scale[0], params.bn_shift[0], 1.0)[0]
            for l in range(1, DEPTH):
                z = params.weights[l - 1] @ h
                h = layer(z, params.biases[l - 1], params.bn_scale[l], params.bn_shift[l], alpha)[0]
            return logits_of(h, params, True)

        return forward

    def products_only(params, alpha):
        h = xt
        for l in range(1, DEPTH):
            h = params.weights[l - 1] @ h + params.biases[l - 1][:, None]
        return logits_of(h, params, True)

    variants = {
        "plain, sample-major": sample_major,
        "plain, feature-major": feature_major,
        "batch_norm_activation, XLA fusions": written_reverse(kernels=False),
        **(
            {"batch_norm_activation, CPU kernels": written_reverse(kernels=True)}
            if batch_norm_kernel.AVAILABLE
            else {}
        ),
        "matrix products only": products_only,
    }

    def loss(forward):
        return lambda p, a: optax.softmax_cross_entropy_with_integer_labels(forward(p, a), y).mean()

    return {name: loss(f) for name, f in variants.items()}


def step_loop(loss):
    opt = optax.flatten(optax.adam(1e-3))

    @jax.jit
    def run(params, state, alpha):
        def step(carry, _):
            params, state = carry
            value, grads = jax.value_and_grad(loss)(params, alpha)
            updates, state = opt.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), value

        return jax.lax.scan(step, (params, state), None, length=STEPS)

    return run, opt


def fastest_interleaved(calls: dict, repeats: int) -> dict:
    """The fastest of ``repeats`` timings of each ``name: (f, args)``, taken in rounds of
    one call of each (after a warm-up call of each), so that a drift in the machine's
    speed within the run (tens of per cent within minutes on the shared 2-core machines)
    reaches every variant alike instead of the ones timed last."""
    for f, args in calls.values():
        jax.block_until_ready(f(*args))
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeats):
        for name, (f, args) in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(f(*args))
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def draws(repeats: int) -> dict:
    """Milliseconds per step of each draw, Threefry against the counter-based bits."""
    mask_shape = (DEPTH - 1, WIDTH, N)

    def threefry_masks(key):
        """The trainer's masks before random_bits: one Threefry word per two entries."""
        words = jax.random.bits(key, (*mask_shape[:-1], mask_shape[-1] // 2), jnp.uint32)
        draws = jnp.concatenate([words & 0xFFFF, words >> 16], axis=-1)
        return draws < jnp.uint32(round(0.8 * 2**16))

    def argsort_pick(key):
        """The trainer's label pick before lowest_ranked: every draw's rank."""
        order = jnp.argsort(jax.random.bits(key, (N,), jnp.uint32))
        ranks = jnp.zeros(N, jnp.int32).at[order].set(jnp.arange(N, dtype=jnp.int32))
        return ranks < N // 5

    def sort_pick(key):
        return train.lowest_ranked(jax.random.bits(key, (N,), jnp.uint32), jnp.int32(N // 5))

    def per_step(draw):
        def run(key):
            def body(total, k):
                return total + draw(k).astype(jnp.float32).sum(), None

            return jax.lax.scan(body, jnp.float32(0), jax.random.split(key, STEPS))[0]

        return jax.jit(run), (jax.random.key(0),)

    calls = {
        "dropout masks, threefry": per_step(threefry_masks),
        "dropout masks, random_bits": per_step(lambda k: mlp.dropout_masks(k, 0.2, mask_shape)),
        "input noise, jax.random.normal": per_step(lambda k: jax.random.normal(k, (N, FEATURES))),
        "input noise, random_bits.normal": per_step(lambda k: random_bits.normal(k, (N, FEATURES))),
        "label pick, argsort ranks": per_step(argsort_pick),
        "label pick, train.lowest_ranked": per_step(sort_pick),
    }
    return {name: 1e3 * s / STEPS for name, s in fastest_interleaved(calls, repeats).items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(N, FEATURES)), jnp.float32)
    y = jnp.asarray(rng.integers(0, CLASSES, N), jnp.int32)
    params, _ = mlp.init(jax.random.key(0), FEATURES, WIDTH, DEPTH, CLASSES)
    calls = {}
    for name, loss in losses(x, y).items():
        run, opt = step_loop(loss)
        calls[name] = (run, (params, opt.init(params), 0.5))
    steps = {name: 1e3 * s / STEPS for name, s in fastest_interleaved(calls, args.repeats).items()}
    result = {
        "ms_per_step": steps,
        "draws_ms_per_step": draws(args.repeats),
        "kernels_built": batch_norm_kernel.AVAILABLE,
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"full-batch step of the protocol net ({N} x {FEATURES}, depth {DEPTH}), ms per step:")
    for name, ms in steps.items():
        print(f"  {name:36s} {ms:7.2f}")
    if not batch_norm_kernel.AVAILABLE:
        print("  (the CPU kernels are not built here: batch_norm_kernel.AVAILABLE is False)")
    print("random draws of one step, ms:")
    for name, ms in result["draws_ms_per_step"].items():
        print(f"  {name:32s} {ms:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
