"""How to compute it: the theories compiled to jax and solved (lax.scan, diffrax).

One folder per theory (:mod:`~springblock.numerics.spring`, :mod:`~springblock.numerics.pdlt`,
:mod:`~springblock.numerics.curves`, :mod:`~springblock.numerics.dynamics`) and
:mod:`~springblock.numerics.compile`, which turns sympy expressions into jax callables.
The spring-block modules are re-exported lazily (``from springblock.numerics import
overdamped, flows``) so that importing one theory does not import the others.
"""

import importlib

_SPRING = ("flows", "overdamped", "phase_diagram", "statistics", "underdamped")


def __getattr__(name: str):
    if name in _SPRING:
        return importlib.import_module(f"springblock.numerics.spring.{name}")
    raise AttributeError(f"module 'springblock.numerics' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_SPRING])
