"""The compiled CPU kernels of the MLP's training-mode BatchNorm + LeakyReLU
(``batch_norm_kernel.cc``), called from JAX through XLA's foreign function interface.

The maths is :func:`springblock.validation.nets.mlp.batch_norm_activation`'s, with the
Linear layer's bias folded in (the C++ file states it). XLA's CPU fusions make several
passes over the (F, N) activations for these few lines; the kernels read them once per
direction (a feature's row of samples stays in the L1 cache), which is what makes a
full-batch step of the paper's net cheaper (``benchmarks/train_step.py`` measures both
paths side by side).

The shared library is built by ``pip install`` (setup.py, an optional extension: where no
C++ compiler is found the install still succeeds). Where the library is absent, where it
was built for another jaxlib (a warning says so), where the environment sets
``SPRINGBLOCK_XLA_BATCH_NORM=1``, or off the CPU (a GPU runs XLA's fusions, which suit
it), the MLP uses the same maths written in ``jax.numpy``; :data:`AVAILABLE` says which.
The two paths agree to rounding (tests/nets/test_batch_norm_kernel.py), not bit for bit:
a sweep's results are reproducible on one machine and install, as they were before.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.metadata
import os
import pathlib
import warnings

import jax
import jax.numpy as jnp

LIBRARY_NAME = "_batch_norm_kernel"
#: set to 1 to train with XLA's fusions even where the kernels are built (benchmarks)
DISABLE_VARIABLE = "SPRINGBLOCK_XLA_BATCH_NORM"
_TARGETS = {
    jnp.dtype(jnp.float32): ("F32", "springblock_batch_norm_activation_f32"),
    jnp.dtype(jnp.float64): ("F64", "springblock_batch_norm_activation_f64"),
}


def library_path() -> pathlib.Path | None:
    """The built shared library next to this module, or None where it was not built."""
    here = pathlib.Path(__file__).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = here / f"{LIBRARY_NAME}{suffix}"
        if path.exists():
            return path
    return None


def _register() -> bool:
    if os.environ.get(DISABLE_VARIABLE, "") not in ("", "0"):
        return False
    path = library_path()
    if path is None or not hasattr(jax, "ffi"):
        return False
    library = ctypes.CDLL(str(path))
    library.SpringblockJaxlibVersion.restype = ctypes.c_char_p
    built_for = library.SpringblockJaxlibVersion().decode()
    running = importlib.metadata.version("jaxlib")
    if built_for != running:
        warnings.warn(
            f"springblock's CPU kernels were built for jaxlib {built_for}, this is jaxlib "
            f"{running}: training uses XLA's fusions instead (slower). Rebuild them with "
            "pip install --force-reinstall --no-deps springblock (or pip install -e . in a "
            "checkout).",
            stacklevel=2,
        )
        return False
    for suffix, target in _TARGETS.values():
        for direction in ("Forward", "Reverse"):
            handler = getattr(library, f"BatchNormActivation{direction}{suffix}")
            jax.ffi.register_ffi_target(
                f"{target}_{direction.lower()}", jax.ffi.pycapsule(handler), platform="cpu"
            )
    return True


#: True where the kernels are built and registered (and not switched off).
AVAILABLE: bool = _register()


#: The fewest samples (batch size) for which the kernels run. Below it a step's cost is
#: the launch of its kernels, and an FFI call costs more to launch than XLA's own fusions:
#: single-threaded on one core, a batch-5 step of the paper's net took 379 us with the
#: kernels against 243 us with XLA's fusions, batch 80 about the same (578 against
#: 585 us), batch 160 848 against 954 us (interleaved runs of benchmarks/batch_steps.py
#: with and without SPRINGBLOCK_XLA_BATCH_NORM=1).
MIN_SAMPLES = 128


def supports(dtype, samples: int) -> bool:
    """Whether the kernels serve arrays of ``dtype`` (float32 and float64, when built) over
    a batch of ``samples`` (at least :data:`MIN_SAMPLES`)."""
    return AVAILABLE and jnp.dtype(dtype) in _TARGETS and samples >= MIN_SAMPLES


def _call(direction: str, results, *operands):
    _, target = _TARGETS[jnp.dtype(operands[0].dtype)]
    # vmap over nets: every operand gets the batch axis in front, which the kernels read
    # as a batch of nets (their leading axes)
    call = jax.ffi.ffi_call(f"{target}_{direction}", results, vmap_method="broadcast_all")
    return call(*operands)


def forward(z, bias, scale, shift, alpha):
    """(h, batch mean, biased batch variance) of z (..., F, N) + bias[..., None]."""
    per_feature = jax.ShapeDtypeStruct(bias.shape, z.dtype)
    return _call(
        "forward",
        (jax.ShapeDtypeStruct(z.shape, z.dtype), per_feature, per_feature),
        z,
        bias,
        scale,
        shift,
        alpha,
    )


def reverse(z, bias, scale, shift, alpha, mean, var, dh):
    """(dz, dbias, dscale, dshift, dalpha): the reverse pass for the cotangent dh of h."""
    per_feature = jax.ShapeDtypeStruct(bias.shape, z.dtype)
    return _call(
        "reverse",
        (
            jax.ShapeDtypeStruct(z.shape, z.dtype),
            per_feature,
            per_feature,
            per_feature,
            jax.ShapeDtypeStruct(alpha.shape, z.dtype),
        ),
        z,
        bias,
        scale,
        shift,
        alpha,
        mean,
        var,
        dh,
    )
