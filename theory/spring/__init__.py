"""The spring-block model (Shi, Pan & Dokmanic, arXiv 2407.19353; reference
../shared/reference/spring-block.md sections 3-4) in sympy.

:mod:`chain` (geometry, load curve, v and c), :mod:`friction` (friction laws),
:mod:`overdamped` (model a), :mod:`underdamped` (model b), :mod:`equilibrium` (static and
pulled equilibria), :mod:`drift` (noise-averaged dynamics), :mod:`phases` (load-curve shape
and phase boundaries).
"""
