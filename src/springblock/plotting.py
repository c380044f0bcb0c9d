"""What the plotting modules share: a display-free matplotlib and the phase colours.

Each theory keeps its figures next to what they plot (``numerics/spring/plots.py``,
``validation/nets/plots.py``, ...); they import matplotlib through this module so that no
display is needed, and save with :func:`save` (PNG and PDF, written atomically).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from springblock.results import write_figure as save  # noqa: E402

#: Colours of the three load-curve classes: concave, linear, convex.
PHASE_COLORS = ("#c0392b", "#f1c40f", "#2471a3")

__all__ = ["PHASE_COLORS", "plt", "save"]
