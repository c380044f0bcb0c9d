"""springblock: the spring-block theory of feature learning, derived, solved and validated.

Subpackages: :mod:`springblock.theory` (sympy), :mod:`springblock.numerics` (jax +
diffrax), :mod:`springblock.validation` (trained networks).
"""

__version__ = "0.1.0"
