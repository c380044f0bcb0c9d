"""How we know: trained nets, Monte Carlo, measurements and scores, one folder per theory.

- :mod:`springblock.validation.nets`: the paper's nets (data, MLP, training, separation,
  laziness, sweeps);
- :mod:`springblock.validation.compare`: the spring-block model vs the nets;
- :mod:`springblock.validation.pdlt`, :mod:`~springblock.validation.curves`,
  :mod:`~springblock.validation.dynamics`: the companion theories vs Monte Carlo, kernel
  regression and trained nets.
"""
