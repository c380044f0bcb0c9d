"""Compiled solvers for the spring-block models (jax + diffrax)."""
