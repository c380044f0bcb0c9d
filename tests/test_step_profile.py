"""The kernel classifier of benchmarks/step_profile.py, whose shares docs/scaling.md quotes:
every instruction of a compiled module that does a product, a reduction or elementwise
work lands in that class."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "step_profile.py"


def _step_profile():
    spec = importlib.util.spec_from_file_location("step_profile", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_products_reductions_and_elementwise_fusions_are_told_apart():
    def f(w, h):
        z = w @ h
        centred = z - z.mean(axis=1, keepdims=True)
        return jnp.where(centred > 0, centred, 0.5 * centred).T @ w

    w, h = jnp.ones((64, 64)), jnp.ones((64, 256))
    text = jax.jit(f).lower(w, h).compile().as_text()
    classes = _step_profile().kernel_classes(text)
    found = set(classes.values())
    assert {"matrix products", "reductions", "elementwise"} <= found, classes
    assert sum(c == "matrix products" for c in classes.values()) == 2, classes
    # a name the module does not have is left to the caller ("other")
    assert "no_such_kernel.1" not in classes


def test_the_compiled_batch_norm_kernels_are_a_class_of_their_own():
    """The custom calls of the compiled BatchNorm kernels (where built) land in their own
    class, not in "other"."""
    from springblock.validation.nets import batch_norm_kernel, mlp

    if not batch_norm_kernel.AVAILABLE:
        import pytest

        pytest.skip("the CPU kernels are not built here")

    def f(z, bias, scale, shift):
        return jax.grad(lambda z: mlp.batch_norm_activation(z, bias, scale, shift, 0.5)[0].sum())(z)

    z, v = jnp.ones((8, batch_norm_kernel.MIN_SAMPLES)), jnp.ones(8)
    text = jax.jit(f).lower(z, v, v, v).compile().as_text()
    classes = _step_profile().kernel_classes(text)
    assert sum(c == "BatchNorm + LeakyReLU kernels" for c in classes.values()) == 2, classes
