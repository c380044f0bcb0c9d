"""Order-to-chaos phase diagram over initializations (C_b, C_W).

Poole, Lahiri, Raghu, Sohl-Dickstein & Ganguli (NeurIPS 2016) and Schoenholz, Gilmer,
Ganguli & Sohl-Dickstein (ICLR 2017); PDLT (arXiv 2106.10165) section 5.2. For every
(C_b, C_W) the single-input kernel is iterated ``depth`` layers from K^(1) = C_b + C_W q
(:func:`springblock.theory.pdlt.criticality.kernel_map`), and the perpendicular
susceptibility chi_perp at the reached kernel decides the phase: nearby inputs converge
(ordered, chi_perp < 1) or separate (chaotic, chi_perp > 1); chi_perp = 1 is the
order-to-chaos boundary, on which the critical point (chi_par = 1 as well) lies.
One compiled, vmapped scan over the whole grid.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from springblock.numerics.compile import vector_function
from springblock.numerics.pdlt import recursions as pr
from springblock.params import ParameterError, check_int
from springblock.theory.pdlt import criticality as pc
from springblock.theory.pdlt import gaussian as pg

#: kernels that explode (chaotic phase of unbounded activations) are held here, where the
#: susceptibilities have reached their large-K limits (ReLU-like: C_W A2)
K_MAX = 1e8


def _finite_or_null(a: np.ndarray) -> list:
    """``a.tolist()`` with every non-finite entry replaced by None (JSON null)."""
    return np.where(np.isfinite(a), a, np.array(None, dtype=object)).tolist()


@dataclass(frozen=True)
class PhaseDiagram:
    """Arrays of shape (len(C_W), len(C_b)): kernel after ``depth`` layers and the
    susceptibilities there; ``phase`` = -1 ordered, +1 chaotic. ``critical``: the
    activation's :class:`~springblock.theory.pdlt.criticality.Criticality`."""

    C_b: np.ndarray
    C_W: np.ndarray
    K: np.ndarray
    chi_par: np.ndarray
    chi_perp: np.ndarray
    depth: int
    critical: pc.Criticality | None = None

    @property
    def phase(self) -> np.ndarray:
        return np.where(self.chi_perp > 1.0, 1, -1)

    def boundary_c_w(self) -> np.ndarray:
        """The order-to-chaos boundary, one C_W per C_b (shape (len(C_b),)): where
        chi_perp first rises through 1 along the C_W grid, linearly interpolated between
        the two grid points around the crossing (exact where chi_perp is linear in C_W,
        as for the scale-invariant class, chi_perp = C_W A2). NaN where it does not cross
        inside the grid."""
        out = np.full(self.C_b.shape, np.nan)
        for j in range(self.C_b.size):
            chi = self.chi_perp[:, j]
            above = np.flatnonzero((chi[:-1] <= 1.0) & (chi[1:] > 1.0))
            if above.size:
                i = above[0]
                frac = (1.0 - chi[i]) / (chi[i + 1] - chi[i])
                out[j] = self.C_W[i] + frac * (self.C_W[i + 1] - self.C_W[i])
        return out

    def to_json(self) -> dict:
        return {
            "C_b": self.C_b.tolist(),
            "C_W": self.C_W.tolist(),
            "depth": self.depth,
            "K": _finite_or_null(self.K),
            "chi_par": _finite_or_null(self.chi_par),
            "chi_perp": _finite_or_null(self.chi_perp),
            "chaotic_fraction": float(np.mean(self.phase > 0)),
            "boundary_C_W": _finite_or_null(self.boundary_c_w()),
            "boundary_C_W_null": "chi_perp does not cross 1 inside the C_W grid at this C_b",
        }


@functools.cache
def _maps():
    kernel = vector_function([pg.K], pr._PARAMS, [pc.kernel_map()], extra=[[pc.M["g"]]])
    chis = vector_function(
        [pg.K], pr._PARAMS, [pc.chi_parallel(), pc.chi_perp()], extra=[pr._MOMENT_SYMBOLS]
    )
    return kernel, chis


@functools.cache
def _solver(act: pr.CompiledActivation, depth: int, nodes: int):
    kernel, chis = _maps()

    def one(c_b, c_w, q):
        zero, one_ = jnp.zeros_like(c_b), jnp.ones_like(c_b)
        params = (c_b, c_w, zero, one_, zero, zero)  # MLP, no NTK
        k0 = c_b + c_w * q

        def step(k, _):
            m = pr._moment_array(act, k, nodes, names=("g",))
            return jnp.minimum(kernel(k[None], m, params)[0], K_MAX), None

        k, _ = jax.lax.scan(step, k0, None, length=depth - 1)
        m = pr._moment_array(act, k, nodes)
        return jnp.concatenate([k[None], chis(k[None], m, params)])

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None)))


def phase_diagram(
    activation: pr.ActivationLike,
    *,
    C_b=None,
    C_W=None,
    depth: int = 100,
    q: float = 1.0,
    nodes: int = 60,
    classify: bool = True,
) -> PhaseDiagram:
    """Kernel and susceptibilities after ``depth`` layers over the grid C_W x C_b.

    Defaults: C_b in [0, 1] (128 points), C_W in [0.5, 4] (128 points). ``nodes``:
    Gauss-Hermite nodes for activations without closed forms; 60 nodes keep chi_perp
    within ~2e-4 of a 150-node evaluation for tanh with K <= 2
    (tests/pdlt/test_phase.py), far below what the phase boundary needs.
    """
    depth = check_int("depth", depth, 1, 100_000)
    nodes = check_int("nodes", nodes, 4, pr.MAX_NODES)
    act = pr.resolve(activation)
    cb = pr.check_array(
        "C_b", np.linspace(0.0, 1.0, 128) if C_b is None else C_b, minimum=0.0
    ).ravel()
    cw = pr.check_array(
        "C_W", np.linspace(0.5, 4.0, 128) if C_W is None else C_W, minimum=0.0, strict=True
    ).ravel()
    if cb.size == 0 or cw.size == 0:
        raise ParameterError("C_b" if cb.size == 0 else "C_W", [], "a non-empty grid")
    q = float(pr.check_array("q", q, minimum=0.0, strict=True))
    dt = pr._dtype()
    gw, gb = np.meshgrid(cw, cb, indexing="ij")
    out = _solver(act, depth, nodes)(
        jnp.asarray(gb.ravel(), dt), jnp.asarray(gw.ravel(), dt), jnp.asarray(q, dt)
    )
    out = np.asarray(out).reshape(cw.size, cb.size, 3)
    critical = pr.criticality(act) if classify else None
    return PhaseDiagram(cb, cw, out[..., 0], out[..., 1], out[..., 2], depth, critical)
