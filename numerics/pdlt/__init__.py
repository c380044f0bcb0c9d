"""PDLT numerics: :mod:`recursions` (kernel, NTK and four-point recursions through depth)
and :mod:`phase` (order-to-chaos grids)."""
