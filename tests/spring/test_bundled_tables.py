"""The model tables the package ships (numerics/spring/table_model_*.npz, made by
tools/bundle_tables.py) are
those the code computes today: each is its model's default spec on the default nets'
chain, and a sub-grid tabulated afresh (the corners of its friction, noise and asymmetry
axes, every time) reproduces the shipped entries. Model (a)'s flows are independent per
grid point; model (b)'s ensemble drives every grid point with the same noise paths, so a
sub-grid reproduces its entries too."""

import dataclasses

import numpy as np
import pytest

from springblock.numerics.spring import table
from springblock.validation.nets.sweep import SweepSpec

BLOCKS = SweepSpec().depth - 2
#: float32 storage (1e-7 relative) plus the solvers' own differences between a large and a
#: small batch (adaptive steps for model (a), float32 arithmetic for model (b)).
TOLERANCE = {"a": 1e-6, "b": 2e-5}


@pytest.mark.parametrize("model", table.MODELS)
def test_the_shipped_table_is_the_code_s(model):
    spec = table.default_spec(model, BLOCKS)
    shipped = table.bundled(spec)
    assert shipped is not None, f"no bundled table for {spec}: run tools/bundle_tables.py"
    assert shipped.elongations.shape == (
        spec.mu_points,
        spec.noise_points,
        spec.asymmetry_points,
        spec.time_points,
        BLOCKS + 1,
    )
    corners = dataclasses.replace(spec, mu_points=2, noise_points=2, asymmetry_points=2)
    fresh = table.tabulate(corners).elongations
    ends = [0, -1]
    expected = shipped.elongations[np.ix_(ends, ends, ends)]
    np.testing.assert_allclose(fresh, expected, rtol=0, atol=TOLERANCE[model])
    # load_or_tabulate hands out the shipped table without computing anything
    assert table.load_or_tabulate(spec).elongations is not None
    assert np.array_equal(table.load_or_tabulate(spec).elongations, shipped.elongations)


def test_another_spec_is_not_served_the_shipped_table():
    spec = dataclasses.replace(table.default_spec("a", BLOCKS), mu_max=0.3)
    assert table.bundled(spec) is None
