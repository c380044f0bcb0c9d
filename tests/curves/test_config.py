"""The learning-curve configs: library defaults, normalisation, and refusals before work."""

from __future__ import annotations

import dataclasses

import pytest

from springblock.numerics.curves.config import KernelSpec, PredictConfig, TuneConfig
from springblock.params import ParameterError
from springblock.validation.curves.compare import CompareConfig, NetsConfig


def test_fields_are_normalised_and_frozen():
    config = PredictConfig(target="1:0.5, 2:1", n=[80, 40], ridge=1)
    assert config.target == ((1, 0.5), (2, 1.0))
    assert config.n == (80, 40) and config.ridge == 1.0
    assert config.l_max == 64  # default_l_max(3)
    assert PredictConfig(kernel=KernelSpec(dim=50)).l_max == 6  # fewer harmonics in high d
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.ridge = 2.0  # type: ignore[misc]  # frozen: the point of the test


def test_compare_refines_the_predicted_problem():
    config = CompareConfig(kernel=KernelSpec(kind="ntk"), nets=NetsConfig(width=64))
    assert config.prediction == PredictConfig(
        kernel=KernelSpec(kind="ntk"), n=config.n, l_max=config.l_max
    )


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: PredictConfig(target=((2, 1.0),), l_max=1), "target"),
        (lambda: PredictConfig(n=()), "n"),
        (lambda: PredictConfig(n=(10, 10)), "n"),
        (lambda: PredictConfig(n=(10**10,)), "n"),
        (lambda: CompareConfig(nets=NetsConfig()), "kind"),  # the nets follow the NTK
        (
            lambda: CompareConfig(
                kernel=KernelSpec(kind="ntk"), nets=NetsConfig(width=10**5), test_points=10**4
            ),
            "width",
        ),
        (lambda: CompareConfig(n=(5000,), test_points=10**5), "test_points"),
        (lambda: CompareConfig(posterior_points=1001), "posterior_points"),
        (lambda: NetsConfig(datasets=1), "datasets"),
        (lambda: TuneConfig(depths=(0,)), "depths"),
        (lambda: TuneConfig(biases=(0.1, 0.1)), "biases"),
        (lambda: TuneConfig(ridges=tuple(range(1, 10_002))), "ridges"),
        (lambda: TuneConfig(kind="gp"), "kind"),
    ],
)
def test_bad_values_are_refused_by_name(build, name):
    with pytest.raises(ParameterError) as err:
        build()
    assert err.value.name == name
