"""numerics.pdlt_recursions: Gauss-Hermite quadrature accuracy, measured.

Independent references: scipy adaptive ``quad`` (1-d) for tanh, which has no closed form,
and the theory's closed forms for erf, sin, GELU (themselves checked against quad in
test_pdlt_gaussian.py). Measured accuracy of ``nodes``-point Gauss-Hermite for smooth
activations: <= 1e-9 at K <= 1 with 100 nodes (4e-10 for <tanh'^2> at K = 1); the
error grows with K (the integrand varies on the scale 1/sqrt(K) while the nodes do not),
~1e-9 at K = 3 with 200 nodes. For a
kinked activation given as a plain function (jax.nn.relu) the error decays only
algebraically, which is why closed forms are used whenever they exist.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

from springblock.numerics.pdlt import recursions as pr

pytestmark = pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")


@pytest.fixture(autouse=True, scope="module")
def x64():
    with jax.enable_x64(True):
        yield


def quad(f, k):
    def g(x):
        return f(math.sqrt(k) * x) * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    return sum(
        integrate.quad(g, a, b, epsabs=1e-15, epsrel=1e-14, limit=300)[0]
        for a, b in ((-np.inf, 0), (0, np.inf))
    )


def test_tanh_moments_against_adaptive_quadrature():
    for k in (0.1, 0.5, 1.0):
        m = pr.moments("tanh", jnp.asarray(k), nodes=100)
        assert float(m["g"]) == pytest.approx(quad(lambda z: math.tanh(z) ** 2, k), abs=1e-9)
        assert float(m["sp2"]) == pytest.approx(
            quad(lambda z: (1 - math.tanh(z) ** 2) ** 2, k), abs=1e-9
        )
        assert float(m["s4"]) == pytest.approx(quad(lambda z: math.tanh(z) ** 4, k), abs=1e-9)
    # larger K needs more nodes: error at K = 3 falls from ~4e-6 (80) to ~5e-10 (200)
    exact = quad(lambda z: math.tanh(z) ** 2, 3.0)
    errors = [
        abs(float(pr.moments("tanh", jnp.asarray(3.0), nodes=n)["g"]) - exact) for n in (80, 200)
    ]
    assert errors[0] > 1e-7 > 1e-8 > errors[1]


@pytest.mark.parametrize("name", ["erf", "sin", "gelu"])
def test_quadrature_matches_closed_forms(name):
    k = jnp.asarray([0.2, 0.6, 1.0])
    closed = pr.moments(name, k, nodes=100)
    numeric = pr.moments(name, k, nodes=100, closed=False)
    for key in closed:
        np.testing.assert_allclose(numeric[key], closed[key], atol=1e-9, err_msg=key)
    kernels = (
        jnp.asarray([1.0, 0.5, 0.8]),
        jnp.asarray([0.3, -0.2, 0.79]),
        jnp.asarray([0.6, 0.4, 0.8]),
    )
    closed = pr.pair_moments(name, *kernels)
    numeric = pr.pair_moments(name, *kernels, nodes=100, closed=False)
    for key in closed:
        np.testing.assert_allclose(numeric[key], closed[key], atol=1e-9, err_msg=key)


def test_kinked_function_converges_slowly():
    """jax.nn.relu by quadrature vs the ReLU closed forms: <sigma'^2> = 1/2 is off by
    ~1e-2..1e-3 (the step sigma' is integrated by a polynomial rule), far above the
    smooth-activation accuracy, and still improves with nodes."""
    exact = pr.moments("relu", jnp.asarray(1.0))
    errs = [
        abs(float(pr.moments(jax.nn.relu, jnp.asarray(1.0), nodes=n)["d3"]) - float(exact["d3"]))
        for n in (21, 81)
    ]
    assert 1e-6 < errs[1] < errs[0] < 0.2
    g = float(pr.moments(jax.nn.relu, jnp.asarray(1.0), nodes=100)["g"])
    assert g == pytest.approx(0.5, abs=1e-3)


def test_recursions_closed_vs_quadrature():
    """A 30-layer erf profile (K, V, NTK) is the same with closed forms and with
    100-node quadrature (K <= 1 along it, where quadrature is ~1e-10)."""
    a = pr.profile("erf", 30, C_W=math.pi / 4, q=1.0)
    b = pr.profile("erf", 30, C_W=math.pi / 4, q=1.0, closed=False)
    for field in ("K", "V", "K1", "H", "chi_par", "chi_perp"):
        np.testing.assert_allclose(getattr(b, field), getattr(a, field), rtol=1e-8, atol=1e-12)
