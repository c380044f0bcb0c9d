"""PDLT vs finite-width nets: :mod:`montecarlo`."""
