"""LEGACY: the groups not yet moved to per-theory plotting modules save through here."""

from springblock.plotting import save

__all__ = ["save"]
