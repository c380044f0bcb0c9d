"""Shared test settings: strict JAX rank promotion, the hypothesis profiles, and the
``precision`` fixture.

``CI`` set in the environment selects the derandomized "ci" profile, otherwise "dev".

Where a result depends on JAX's floating-point precision, the test takes the ``precision``
fixture and runs twice: with ``jax_enable_x64`` off (float32, JAX's default and what the
noisy ensembles and the trainer use) and on (float64, what the CLI switches on). Each such
test states a tolerance per precision, derived from the unit roundoff of that precision.
"""

import os
import tempfile
from dataclasses import dataclass

# One XLA compilation cache for the whole test session, shared by the pytest-xdist
# processes, the CLI subprocesses and the Dask workers the tests start (they inherit the
# environment): they compile the same trainer and solvers, and a cache hit skips XLA's
# compile (tracing still runs). Fresh for every session, so a run never reuses executables
# of another one. Measured: tests/nets/test_executor.py and tests/cli/test_resume_kill.py
# take 95 s instead of 146 s on 2 cores.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="springblock-xla-"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.1")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# The session's model tables, each tabulated once (tests/tables.py), in a directory shared
# the same way.
os.environ.setdefault("SPRINGBLOCK_TEST_TABLES", tempfile.mkdtemp(prefix="springblock-tables-"))
# XLA's backend optimisation level 2 instead of its default 3, for the tests only (the
# toolkit keeps XLA's default): the suite spends about half its time in XLA compiles
# (jax.monitoring on 2 cores: 599 s of 1253 s of test time), most of them of programs that
# then run for milliseconds. benchmarks/xla_level.py measures the trade: the test-sized
# trainer compiles faster (7.1 s against 8.8 s in one run, 6.6 s against 9.9 s in another),
# the paper's net trains 10-20 % slower. Suite, same commit: 651 s -> 566 s.
# Also LLVM's expensive optimisation passes off (xla_llvm_disable_expensive_passes):
# backend compile time summed over the suite 266 s -> 219 s, suite 312 s -> 272 s (another
# machine, same commit, jax.monitoring; benchmarks/xla_level.py "level-2-cheap-llvm").
# Results can differ from level 3 in the last bits; tests compare runs made under the same
# flags or state tolerances far above that (the bundled FashionMNIST, compared by bytes, is
# converted in integer arithmetic: no float rounding, whatever the flags or the CPU).
TEST_XLA_FLAGS = "--xla_backend_optimization_level=2 --xla_llvm_disable_expensive_passes=true"
if TEST_XLA_FLAGS not in os.environ.get("XLA_FLAGS", ""):  # xdist workers inherit it
    from springblock.validation.nets.executor import xla_flags_with  # imports no jax

    os.environ["XLA_FLAGS"] = xla_flags_with(TEST_XLA_FLAGS)

import jax  # noqa: E402  (after the cache settings, which jax reads when imported)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])

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


#: The smallest panel on the bundled data found whose nets gain separation by some
#: checkpoint (so ``nets trajectories`` has pairs to fit): 8 nets, about 20 s.
CHECKPOINTED_SWEEP = [
    *("nets", "sweep", "--train-size", "256", "--alphas", "0", "1", "--values", "0", "0.3"),
    *("--seeds", "2", "--epochs", "30", "--depth", "4", "--width", "16"),
    *("--learning-rate", "0.01", "--checkpoint-every", "10", "--no-progress"),
]


@pytest.fixture(scope="session")
def checkpointed_panel(tmp_path_factory):
    """A finished panel with checkpoints at epochs 10, 20 and 30
    (:data:`CHECKPOINTED_SWEEP`)."""
    from springblock import cli

    out = tmp_path_factory.mktemp("checkpointed") / "panel"
    assert cli.main([*CHECKPOINTED_SWEEP, "--out", str(out)]) == 0
    return out
