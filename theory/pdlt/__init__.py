"""Roberts, Yaida & Hanin, "The Principles of Deep Learning Theory" at initialization:
:mod:`gaussian` (Gaussian expectations), :mod:`criticality` (criticality and universality
classes), :mod:`finite_width` (the 1/width four-point correction)."""
