"""Representation-learning dynamics: :mod:`representation` (van Rossem & Saxe pair
equations, conserved quantity, final distance; Saxe, McClelland & Ganguli deep linear
modes)."""
