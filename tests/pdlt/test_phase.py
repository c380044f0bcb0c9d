"""numerics.pdlt.phase: the (C_b, C_W) order-to-chaos diagram.

Independent checks: ReLU's boundary is exactly C_W = 2 for every C_b (chi_perp = C_W/2
whatever the kernel); tanh's critical point (0, 1) sits on its boundary, which leaves it
towards larger C_W as C_b grows (Poole et al. 2016, Fig. 1; Schoenholz et al. 2017); the
default 60-node diagram agrees with a 150-node one (chi_perp within 5e-4; measured
1.5e-4 on this grid, K up to 2.1) and on every phase away from the boundary.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from springblock.numerics.pdlt import phase as pdlt_phase
from springblock.params import ParameterError


@pytest.fixture(autouse=True, scope="module")
def x64():
    with jax.enable_x64(True):
        yield


def test_relu_boundary_is_cw_two():
    d = pdlt_phase.phase_diagram(
        "relu", C_b=np.linspace(0, 1, 5), C_W=[1.5, 1.99, 2.01, 3.0], depth=30
    )
    expected = np.broadcast_to(np.asarray([1.5, 1.99, 2.01, 3.0])[:, None] / 2, (4, 5))
    np.testing.assert_allclose(d.chi_perp, expected, rtol=1e-12)
    assert (d.phase[:2] == -1).all() and (d.phase[2:] == 1).all()
    assert d.critical.C_W == 2.0
    # chi_perp is linear in C_W, so the interpolated boundary is exact
    np.testing.assert_allclose(d.boundary_c_w(), 2.0, rtol=1e-12)
    below = pdlt_phase.phase_diagram("relu", C_b=[0.0], C_W=[1.0, 1.5], depth=3, classify=False)
    assert np.isnan(below.boundary_c_w()).all()  # no crossing inside the grid


def test_tanh_diagram_critical_point_and_boundary():
    cb = np.linspace(0.0, 0.5, 11)
    cw = np.linspace(0.5, 3.0, 26)
    d = pdlt_phase.phase_diagram("tanh", C_b=cb, C_W=cw, depth=200)
    assert d.K.shape == (26, 11) and np.isfinite(d.chi_perp).all()
    # at C_b = 0: ordered below C_W = 1, chaotic above (K -> 0 with chi_perp -> C_W)
    assert (d.phase[cw < 0.95, 0] == -1).all() and (d.phase[cw > 1.05, 0] == 1).all()
    # the boundary C_W*(C_b) increases with C_b
    boundary = [cw[np.argmax(d.phase[:, j] > 0)] for j in range(cb.size)]
    assert np.all(np.diff(boundary) >= 0) and boundary[-1] > boundary[0] + 0.5
    # the interpolated boundary lies in the grid cell where the phase flips
    step = cw[1] - cw[0]
    assert np.all((d.boundary_c_w() <= boundary) & (d.boundary_c_w() > np.asarray(boundary) - step))
    assert (d.critical.C_b, d.critical.C_W) == (0.0, 1.0)
    fine = pdlt_phase.phase_diagram("tanh", C_b=cb, C_W=cw, depth=200, nodes=150, classify=False)
    away = np.abs(fine.chi_perp - 1) > 1e-3
    assert (fine.phase[away] == d.phase[away]).all()
    np.testing.assert_allclose(d.chi_perp, fine.chi_perp, atol=5e-4)


def test_bad_grid():
    with pytest.raises(ParameterError) as err:
        pdlt_phase.phase_diagram("tanh", C_W=[0.0, 1.0])
    assert err.value.name == "C_W"
    with pytest.raises(ParameterError) as err:
        pdlt_phase.phase_diagram("tanh", C_b=[-1.0])
    assert err.value.name == "C_b"


def test_fixed_points_against_adaptive_quadrature():
    """tanh at (C_b, C_W) = (0.1, 1.5), chaotic side: one stable fixed point, which solves
    K = C_b + C_W <tanh^2>_K with <tanh^2> by scipy's adaptive quadrature (independent of
    the 200-node Gauss-Hermite used to find it; tolerance 1e-9 for both accuracies)."""
    from springblock.numerics.pdlt import universality
    from springblock.theory.pdlt import criticality as pc
    from springblock.theory.pdlt import gaussian as pg

    (point,) = universality.fixed_points("tanh", 0.1, 1.5)
    g = pc.moment_function(pg.named("tanh"), "g")
    assert point["K"] == pytest.approx(0.1 + 1.5 * g(point["K"]), abs=1e-9)
    sp2 = pc.moment_function(pg.named("tanh"), "sp2")
    assert point["chi_perp"] == pytest.approx(1.5 * sp2(point["K"]), abs=1e-9)
    assert point["chi_par"] < 1  # stable: kernels converge onto it
