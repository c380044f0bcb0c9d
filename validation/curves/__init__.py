"""Learning curves vs kernel regression and trained wide nets: :mod:`empirical` (the
measurements), :mod:`compare` (``curves compare``: config, scores, labelled arrays) and
:mod:`plots` (the figures)."""
