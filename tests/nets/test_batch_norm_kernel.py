"""The compiled CPU kernels of the MLP's BatchNorm + LeakyReLU (batch_norm_kernel.cc)
against the same maths in jax.numpy (mlp.batch_norm_activation_of(kernels=False)), and
against finite differences.

The two paths differ only in the order of their sums (the kernels add per vector lane, XLA
per its own tiling) and in how one product is associated, so they agree to a few units of
roundoff of the quantities summed: for n samples of O(1) values the difference of a mean
or a gradient sum is below about n eps, which the tolerances state (eps the dtype's unit
roundoff).
"""

import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from springblock.validation.nets import batch_norm_kernel, mlp, train

needs_kernels = pytest.mark.skipif(
    not batch_norm_kernel.AVAILABLE,
    reason="the CPU kernels are not built (no C++ compiler at install, or switched off by "
    f"{batch_norm_kernel.DISABLE_VARIABLE})",
)


def operands(rng, features, n, dtype, offset=0.0):
    z = jnp.asarray(rng.normal(size=(features, n)) * 2.0 + offset, dtype)
    bias = jnp.asarray(rng.normal(size=features), dtype)
    scale = jnp.asarray(rng.uniform(0.5, 1.5, features), dtype)
    shift = jnp.asarray(rng.normal(size=features), dtype)
    return z, bias, scale, shift


def test_the_kernels_are_built_where_a_compiler_is():
    """pip builds the kernels wherever a C++ compiler is installed (setup.py); a failed
    build would otherwise leave the trainer silently on the slower path."""
    if batch_norm_kernel.DISABLE_VARIABLE in os.environ:
        pytest.skip(f"{batch_norm_kernel.DISABLE_VARIABLE} is set")
    if shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler here, so no kernels to expect")
    assert batch_norm_kernel.library_path() is not None, "reinstall: pip install -e ."
    assert batch_norm_kernel.AVAILABLE


@needs_kernels
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@given(
    features=st.integers(1, 6),
    n=st.integers(2, 70),
    alpha=st.sampled_from([0.0, 0.3, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_forward_and_reverse_agree_with_the_xla_path(dtype, features, n, alpha, seed):
    """h, the batch mean and variance, and every gradient (dz, dbias, dscale, dshift,
    dalpha) of the kernels equal the jax.numpy path's within 8 n eps (relative to the
    largest entry of each output, O(1) here)."""
    with jax.enable_x64(dtype is jnp.float64):
        rng = np.random.default_rng(seed)
        z, bias, scale, shift = operands(rng, features, n, dtype, offset=3.0)
        a = jnp.asarray(alpha, dtype)
        dh = jnp.asarray(rng.normal(size=(features, n)), dtype)
        eps = float(jnp.finfo(dtype).eps)
        kernel = jax.jit(batch_norm_kernel.forward)(z, bias, scale, shift, a)
        xla = jax.jit(mlp._bn_activation_xla)(z, bias, scale, shift, a)
        _, mean, var = xla
        kernel_reverse = jax.jit(batch_norm_kernel.reverse)(z, bias, scale, shift, a, mean, var, dh)
        xla_reverse = jax.jit(mlp._bn_activation_reverse_xla)(
            z, bias, scale, shift, a, mean, var, dh
        )
        for got, want in zip((*kernel, *kernel_reverse), (*xla, *xla_reverse), strict=True):
            assert got.shape == want.shape and got.dtype == want.dtype
            magnitude = max(1.0, float(jnp.max(jnp.abs(want))))
            np.testing.assert_allclose(got, want, rtol=0, atol=8 * n * eps * magnitude)


@needs_kernels
def test_a_batch_of_nets_under_vmap_is_each_net_alone():
    """vmap over nets ("broadcast_all": every operand gets the batch axis, the kernels read
    it as a batch of nets) gives each net's own result, bit for bit (the same rows)."""
    rng = np.random.default_rng(3)
    nets = [operands(rng, 5, 40, jnp.float32) for _ in range(3)]
    alphas = jnp.asarray([0.0, 0.5, 1.0], jnp.float32)
    stacked = [jnp.stack(column) for column in zip(*nets, strict=True)]
    batched = jax.jit(jax.vmap(batch_norm_kernel.forward))(*stacked, alphas)
    for i, net in enumerate(nets):
        alone = jax.jit(batch_norm_kernel.forward)(*net, alphas[i])
        for b, a in zip(batched, alone, strict=True):
            np.testing.assert_array_equal(b[i], a)


@needs_kernels
def test_shapes_that_do_not_fit_are_refused_by_the_kernel():
    """An alpha per net, or a batch statistic, that does not match z's leading axes stops
    the call with the kernel's message, instead of reading past the buffers."""
    z, bias, scale, shift = operands(np.random.default_rng(0), 4, 10, jnp.float32)
    with pytest.raises(Exception, match="alpha"):
        jax.block_until_ready(
            batch_norm_kernel.forward(z, bias, scale, shift, jnp.zeros(2, jnp.float32))
        )
    # the reverse checks every per-feature operand, the batch statistics included
    alpha = jnp.float32(0.5)
    short = jnp.zeros(3, jnp.float32)
    with pytest.raises(Exception, match="per-feature"):
        jax.block_until_ready(
            batch_norm_kernel.reverse(z, bias, scale, shift, alpha, short, short, z)
        )


@pytest.mark.parametrize("kernels", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_batch_norm_activation_matches_the_formula_and_finite_differences(kernels, alpha):
    """Both paths of the fused training-mode layer (feature-major, bias folded in, written
    reverse pass): forward equal to mlp.batch_norm + LeakyReLU on the transposed
    activations plus bias, and every gradient (z, bias, scale, shift, alpha; cotangents on
    h, the batch mean and the batch variance) equal to central finite differences in
    float64 (check_grads: step 1e-4 on O(1) inputs, error ~1e-8 relative, tolerance 1e-5).
    Without built kernels both parametrisations run the jax.numpy path."""
    from jax.test_util import check_grads

    layer = mlp.batch_norm_activation_of(kernels)
    rng = np.random.default_rng(1)
    with jax.enable_x64(True):
        # enough samples for the kernels (MIN_SAMPLES) to take the kernels=True call
        n = max(9, batch_norm_kernel.MIN_SAMPLES)
        z, bias, scale, shift = operands(rng, 4, n, jnp.float64, offset=0.5)
        h, mean, var = layer(z, bias, scale, shift, jnp.float64(alpha))
        y = z + bias[:, None]
        normed, _, _ = mlp.batch_norm(y.T, scale, shift, mean * 0, var * 0 + 1, True)
        np.testing.assert_allclose(np.asarray(h), np.asarray(mlp.leaky_relu(normed, alpha).T))
        np.testing.assert_allclose(np.asarray(mean), np.asarray(y.mean(1)))
        np.testing.assert_allclose(np.asarray(var), np.asarray(y.var(1)))
        check_grads(
            layer,
            (z, bias, scale, shift, jnp.float64(alpha)),
            order=1,
            modes=["rev"],
            eps=1e-4,
            atol=1e-5,
            rtol=1e-5,
        )


@needs_kernels
def test_the_trainer_runs_the_kernels_on_the_cpu():
    """The compiled trainer calls the kernels (one forward and one reverse call per
    BatchNorm), so a sweep is not silently on the slower path."""
    config = train.TrainConfig(depth=3, width=8, epochs=2)
    n = batch_norm_kernel.MIN_SAMPLES
    x = jnp.zeros((n, 5), jnp.float32)
    y = jnp.zeros(n, jnp.int32)
    hlo = (
        jax.jit(lambda x, y: train.train(config, x, y, 3, train.Hyper(), jax.random.key(0)))
        .lower(x, y)
        .as_text()
    )
    target = "springblock_batch_norm_activation_f32"
    assert hlo.count(f"{target}_forward") >= 3 and hlo.count(f"{target}_reverse") >= 3


@needs_kernels
def test_small_batches_run_xla_fusions():
    """Below MIN_SAMPLES a step is bound by kernel launches, where XLA's fusions are the
    cheaper path: a trainer with such minibatches calls no kernel."""
    n = batch_norm_kernel.MIN_SAMPLES
    config = train.TrainConfig(depth=3, width=8, epochs=1, batch_size=n // 2)
    x, y = jnp.zeros((n, 5), jnp.float32), jnp.zeros(n, jnp.int32)
    hlo = (
        jax.jit(lambda x, y: train.train(config, x, y, 3, train.Hyper(), jax.random.key(0)))
        .lower(x, y)
        .as_text()
    )
    assert "springblock_batch_norm_activation" not in hlo
