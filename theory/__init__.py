"""What is true: the theories as sympy expressions (imports no jax).

One folder per theory:

- :mod:`springblock.theory.spring`: the spring-block model of Shi, Pan & Dokmanic (PRL
  2025): chain geometry, friction laws, models (a) and (b), equilibria, noise-averaged
  drift, load-curve phases and boundaries;
- :mod:`springblock.theory.pdlt`: Roberts, Yaida & Hanin at initialization (Gaussian
  expectations, criticality, finite-width corrections);
- :mod:`springblock.theory.curves`: learning curves of wide nets (spectra, equivalent
  kernel, self-consistent theory);
- :mod:`springblock.theory.dynamics`: van Rossem & Saxe pair equations and deep linear nets.

The spring-block modules are re-exported here, so ``from springblock.theory import
OverdampedModel, drift, phases`` works.
"""

from springblock.theory.spring import (
    chain,
    drift,
    equilibrium,
    friction,
    overdamped,
    phases,
    underdamped,
)
from springblock.theory.spring.overdamped import OverdampedModel
from springblock.theory.spring.underdamped import UnderdampedModel

__all__ = [
    "OverdampedModel",
    "UnderdampedModel",
    "chain",
    "drift",
    "equilibrium",
    "friction",
    "overdamped",
    "phases",
    "underdamped",
]
