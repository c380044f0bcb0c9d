"""springblock: the spring-block theory of feature learning, derived, solved and validated.

Subpackages: :mod:`springblock.theory` (sympy), :mod:`springblock.numerics` (jax +
diffrax), :mod:`springblock.validation` (trained networks).
"""

__version__ = "0.1.0"

from springblock.results import open_results  # noqa: E402

__all__ = ["__version__", "open_results"]
