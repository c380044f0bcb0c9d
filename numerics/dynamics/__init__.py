"""Representation-dynamics numerics: :mod:`solve` (diffrax pair solutions, rate fits, deep
linear modes)."""
