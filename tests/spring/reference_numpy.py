"""Plain-numpy re-implementations of model (a), written from the reference text
(../shared/reference/spring-block.md, section 3) and independent of the sympy theory.

Positions carry the block index on the last axis; parameters are scalars or arrays of the
batch shape (they get a trailing axis here).
"""

import numpy as np


def static_friction(f, mu_right, mu_left):
    """S(f) in its three-case form: f - mu_R above mu_R, f + mu_L below -mu_L, else 0."""
    return np.where(f > mu_right, f - mu_right, np.where(f < -mu_left, f + mu_left, 0.0))


def padded(x, target):
    """[x_0 = 0, x_1..x_L, x_{L+1} = y] along the last axis."""
    x = np.asarray(x, dtype=np.float64)
    wall = np.zeros(x.shape[:-1] + (1,))
    end = np.broadcast_to(np.asarray(target, dtype=np.float64)[..., None], wall.shape)
    return np.concatenate([wall, x, end], axis=-1)


def spring_forces(x, stiffness, target):
    """F_l = k (x_{l+1} - 2 x_l + x_{l-1})."""
    p = padded(x, target)
    return np.asarray(stiffness, dtype=np.float64)[..., None] * (
        p[..., 2:] - 2 * p[..., 1:-1] + p[..., :-2]
    )


def map_step(x, xi, stiffness, target, mu_right, mu_left, noise, dt):
    """x + eta S(F + eps_bar xi); xi has L columns or one (shared noise)."""

    def col(v):
        return np.asarray(v, dtype=np.float64)[..., None]

    force = spring_forces(x, stiffness, target) + col(noise) * np.asarray(xi, np.float64)
    return np.asarray(x, np.float64) + col(dt) * static_friction(force, col(mu_right), col(mu_left))
