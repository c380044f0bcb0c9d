"""Learning-curve numerics: :mod:`solve` (quadrature spectra, the kappa solver, predicted
curves vmapped over hyperparameter grids)."""
