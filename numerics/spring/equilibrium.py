"""The closed-form pulled equilibrium (:func:`springblock.theory.spring.equilibrium.
pulled_equilibrium`) evaluated for given numbers: summary and labelled arrays."""

from __future__ import annotations

import numpy as np

from springblock.params import Chain, Friction


def summary(chain: Chain, friction: Friction) -> dict:
    """Elongations, positions, stuck blocks, load curve, v, c and the lazy threshold of the
    chain pulled from rest without noise (exact rationals, then floats)."""
    from springblock.theory.spring import chain as chain_theory
    from springblock.theory.spring import equilibrium

    assert friction.left is not None  # Friction.__post_init__ fills it in
    eq = equilibrium.pulled_equilibrium(
        chain.blocks, chain.stiffness, friction.right, friction.left, chain.target
    )
    d = [float(v) for v in eq.elongations]
    return {
        "blocks": chain.blocks,
        "stiffness": chain.stiffness,
        "target": chain.target,
        "mu_right": friction.right,
        "mu_left": friction.left,
        "elongations": d,
        "positions": [float(x) for x in eq.positions],
        "stuck_blocks": eq.stuck_blocks,
        "load_curve": [chain.target - float(x) for x in (0.0, *eq.positions)],
        "curvature": d[0] - d[-1],
        "spread": float(chain_theory.spread([*d]).evalf()),
        "lazy_threshold": float(
            equilibrium.lazy_threshold(chain.blocks, 1, chain.stiffness, abs(chain.target))
        ),
        "friction_used": friction.right if chain.target >= 0 else friction.left,
    }


def to_dataset(result: dict):
    """Labelled arrays of :func:`summary`: elongations (elongation = 1..L+1), positions
    (block = 1..L), load curve (layer = 0..L)."""
    import xarray as xr

    from springblock import results

    blocks = result["blocks"]
    scalars = ("blocks", "stiffness", "target", "mu_right", "mu_left")
    return xr.Dataset(
        {
            "elongations": ("elongation", np.array(result["elongations"])),
            "positions": ("block", np.array(result["positions"])),
            "load_curve": ("layer", np.array(result["load_curve"]), {"long_name": "y - x_l"}),
        },
        coords={
            "elongation": np.arange(1, blocks + 2),
            "block": np.arange(1, blocks + 1),
            "layer": np.arange(blocks + 1),
        },
        attrs={
            **results.provenance_attrs("equilibrium", {k: result[k] for k in scalars}),
            "stuck_blocks": result["stuck_blocks"],
            "curvature": result["curvature"],
            "spread": result["spread"],
        },
    )
