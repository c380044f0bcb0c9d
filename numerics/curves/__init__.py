"""Learning-curve numerics: :mod:`config` (validated configs, no jax), :mod:`solve`
(quadrature spectra, the kappa solver, predicted curves vmapped over hyperparameter grids),
:mod:`prediction` (``curves predict`` as a result and labelled arrays) and :mod:`tune`
(``curves tune``)."""
