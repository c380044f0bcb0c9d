"""Shared test settings: strict JAX rank promotion, the hypothesis profiles, and the
``precision`` fixture.

``CI`` set in the environment selects the derandomized "ci" profile, otherwise "dev".

Where a result depends on JAX's floating-point precision, the test takes the ``precision``
fixture and runs twice: with ``jax_enable_x64`` off (float32, JAX's default and what the
noisy ensembles and the trainer use) and on (float64, what the CLI switches on). Each such
test states a tolerance per precision, derived from the unit roundoff of that precision.
"""

import os
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import settings

jax.config.update("jax_numpy_rank_promotion", "raise")

# CI (the ``CI`` environment variable set): derandomized, no example database, so every
# run tries the same examples and passes or fails the same way; a failure prints the
# falsifying example and the blob that reproduces it. Locally ("dev") hypothesis keeps
# exploring new examples and remembers failures in its database.
settings.register_profile(
    "ci", max_examples=20, deadline=None, derandomize=True, database=None, print_blob=True
)
settings.register_profile("dev", max_examples=50, deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


#: JAX's precision when the tests start (float32 unless JAX_ENABLE_X64 is set).
INITIAL_X64 = bool(jax.config.jax_enable_x64)


@pytest.fixture(autouse=True)
def _restore_x64():
    """`springblock.cli.main` switches on float64 for the whole process; tests that call it
    in-process (also from module-scoped fixtures, which run before this one) must not
    change the precision the tests after them run with. So every test starts and ends at
    the precision the session started with."""
    jax.config.update("jax_enable_x64", INITIAL_X64)
    yield
    jax.config.update("jax_enable_x64", INITIAL_X64)


@dataclass(frozen=True)
class Precision:
    """One floating-point setting of JAX: ``dtype`` and its unit roundoff ``eps``."""

    name: str
    dtype: type

    @property
    def eps(self) -> float:
        return float(np.finfo(self.dtype).eps)

    def pick(self, float32: float, float64: float) -> float:
        """The tolerance stated for this precision."""
        return float32 if self.dtype is jnp.float32 else float64


@pytest.fixture(params=["float32", "float64"])
def precision(request):
    """Run the test with jax_enable_x64 off (float32) and on (float64)."""
    x64 = request.param == "float64"
    with jax.enable_x64(x64):
        yield Precision(request.param, jnp.float64 if x64 else jnp.float32)
