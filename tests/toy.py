"""Toy data shared by the tests that train nets."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from springblock.validation.nets import train

#: ``train.train`` as one compiled program (the config and the class count static): run
#: eagerly, its set-up and measurement would dispatch, and compile, each operation alone
train_compiled = jax.jit(train.train, static_argnums=(0, 3))


def toy_arrays(n=120, scale=1.0, seed=0):
    """Three well-separated Gaussian classes in 6 dimensions: trains in a few epochs."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 2, (3, 6))
    y = rng.integers(0, 3, n)
    x = ((means[y] + rng.normal(size=(n, 6))) * scale).astype(np.float32)
    return {"x_train": x[:90], "y_train": y[:90], "x_test": x[90:], "y_test": y[90:]}


def write_toy_npz(path: Path, **kw) -> Path:
    """:func:`toy_arrays` saved as a user ``.npz`` at ``path``."""
    np.savez(path, **toy_arrays(**kw))
    return path
