"""Learning curves vs kernel regression and trained wide nets: :mod:`empirical`."""
