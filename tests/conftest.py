"""Shared test settings: strict JAX rank promotion and the hypothesis profiles.

``CI`` set in the environment selects the fast "ci" profile, otherwise "dev".
"""

import os

import jax
import pytest
from hypothesis import settings

jax.config.update("jax_numpy_rank_promotion", "raise")

settings.register_profile("ci", max_examples=20, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _restore_x64():
    """`springblock.cli.main` switches on float64 for the whole process; tests that call it
    in-process must not change the precision the tests after them run with."""
    before = jax.config.jax_enable_x64
    yield
    jax.config.update("jax_enable_x64", before)
