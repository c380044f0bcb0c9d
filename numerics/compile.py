"""Turn the theory's sympy expressions into jax functions.

Every equation the numerics evaluate comes from :mod:`springblock.theory` through
:func:`vector_function`; nothing is retyped here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import ParamSpec, TypeVar

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import sympy as sp

#: sympy functions that ``modules="jax"`` would otherwise map to the scalar ``math`` module.
_JAX_SPECIAL = {"erf": jsp.erf, "erfc": jsp.erfc, "erfinv": jsp.erfinv, "Phi": jsp.ndtr}


def vector_function(
    state: Sequence[sp.Symbol],
    parameters: Sequence[sp.Symbol],
    exprs: Sequence[sp.Expr],
    extra: Sequence[Sequence[sp.Symbol]] = (),
    functions: Mapping[str, Callable] | None = None,
    cse: bool = False,
    jit: bool = True,
) -> Callable:
    """Compile ``exprs`` into ``f(state, *extra, params) -> array``.

    ``state`` (and every array in ``extra``) carries its components on the last axis,
    ``params`` is a tuple of scalars or arrays broadcastable against one component; the
    result stacks the expressions on the last axis, so batch axes pass through. The
    generated code is plain jax.numpy (``sympy.lambdify(..., modules="jax")``, with the error
    functions and the normal cdf ``Phi`` (:class:`springblock.theory.spring.drift.Phi`) taken from
    ``jax.scipy.special``). ``functions`` overrides the implementation of named functions
    (e.g. ``{"acos": fast_acos}``).

    ``jit``: ``f`` is a ``jax.jit`` function, so a solver that calls it many times inside
    one trace (an implicit Runge-Kutta method: every stage and the Jacobian) traces it
    once per argument signature, and ``vmap`` batches that one trace; XLA inlines it into
    the caller, so a solver's compiled code computes the same numbers as before (measured:
    the tests' coarse 4-block model-(a) table took the same steps, cell by cell, to bitwise
    the same positions); a call outside ``jit`` runs fused instead of op by op and can
    differ in the last bits.
    ``cse``: the generated code computes each repeated subexpression once (sympy's
    common-subexpression elimination). It cuts the table solve's trace, compile and run
    time further, but it regroups sums and products, so values change in the last bits,
    and that was enough to send one cell of a 1,200-cell Kvaerno5 grid (4 blocks, mu
    0.47, noise 0.34, settled at rest) from 234 steps to the 20,000-step budget. Off
    until the solver is robust to that (``benchmarks/symbolic_compile.py --cse`` measures
    all four variants).
    """
    raw = sp.lambdify(
        [list(state), *[list(e) for e in extra], *parameters],
        list(exprs),
        modules=[dict(functions or {}), _JAX_SPECIAL, "jax"],
        cse=cse,
    )

    def evaluate(x, *rest):
        *extra_arrays, params = rest
        columns = raw(
            jnp.moveaxis(x, -1, 0), *[jnp.moveaxis(a, -1, 0) for a in extra_arrays], *params
        )
        shape = jnp.broadcast_shapes(*[jnp.shape(c) for c in columns], x.shape[:-1])
        return jnp.stack([jnp.broadcast_to(c, shape) for c in columns], axis=-1).astype(x.dtype)

    return jax.jit(evaluate) if jit else evaluate


_P = ParamSpec("_P")
_R = TypeVar("_R")


def x64(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``fn`` with double precision enabled (results keep their float64 dtype)."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with jax.enable_x64(True):
            return fn(*args, **kwargs)

    return wrapper
