"""Symbolic spring-block theory (sympy only; imports no jax).

Modules: :mod:`~springblock.theory.chain` (geometry, load curve, statistics),
:mod:`~springblock.theory.friction` (friction laws), :mod:`~springblock.theory.overdamped`
(model a), :mod:`~springblock.theory.underdamped` (model b),
:mod:`~springblock.theory.equilibrium` (static and pulled equilibria),
:mod:`~springblock.theory.drift` (noise-averaged dynamics),
:mod:`~springblock.theory.phases` (load-curve shape and phase boundaries).
"""

from springblock.theory.overdamped import OverdampedModel
from springblock.theory.underdamped import UnderdampedModel

__all__ = ["OverdampedModel", "UnderdampedModel"]
