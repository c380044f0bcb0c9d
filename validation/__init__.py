"""Validation against trained networks (planned: issue "Validation: compact JAX trainer").

Nothing is implemented here yet; the subpackage exists so the layout matches the design.
"""
