"""Fixtures of the CLI and pipeline tests: a tiny preset (toy data, a 3 x 3 model grid, a
small model table) that runs every stage of ``springblock run`` in seconds, and model
tables tabulated once per session."""

from __future__ import annotations

import pytest

from springblock import pipeline
from springblock.numerics.spring import table
from springblock.numerics.spring.phase_diagram import PhaseDiagramSpec
from springblock.validation.nets.sweep import SweepSpec
from tests.cli.coarse import coarse_table
from tests.tables import session_table
from tests.toy import write_toy_npz


@pytest.fixture(autouse=True)
def _each_model_table_tabulated_once(monkeypatch):
    """The commands tabulate their model tables through :func:`tests.tables.session_table`:
    the results store and its reuse stay the library's, the tabulation of each coarse table
    is done once per session."""
    monkeypatch.setattr(table, "tabulate", session_table)


@pytest.fixture(scope="module")
def tiny_preset(tmp_path_factory):
    data = write_toy_npz(tmp_path_factory.mktemp("data") / "toy.npz")
    model = PhaseDiagramSpec(
        blocks=3, mu_points=3, noise_points=3, steps=300, seeds=2, mean_field_points=8
    )
    nets = SweepSpec(
        knob="data-noise",
        dataset=str(data),
        alphas=(0.0, 1.0),
        values=(0.0, 0.4),
        seeds=1,
        epochs=3,
        depth=3,
        width=8,
    )
    tables = (coarse_table(1, "a"), coarse_table(1, "b"))
    return pipeline.Preset("tiny", model, (nets,), permutations=5, tables=tables)


@pytest.fixture(scope="module")
def paper_shrunk(tiny_preset):
    """The paper preset with each panel cut to the first knob value of its grid and one
    from its first half (batch size 80: the toy data has 90 training samples), two alphas,
    one seed, a fiftieth of its epochs (the learning-rate panel keeps its doubled epochs),
    on the tiny preset's data, model grid and table."""
    import dataclasses

    paper = pipeline.preset("paper")
    toy = tiny_preset.nets[0]
    nets = tuple(
        dataclasses.replace(
            spec,
            dataset=toy.dataset,
            alphas=(0.0, 1.0),
            values=(spec.values[0], spec.values[len(spec.values) // 2 - 1]),
            seeds=1,
            epochs=spec.epochs // 50,
            depth=toy.depth,
            width=toy.width,
            train_size=None,
        )
        for spec in paper.nets
    )
    return pipeline.Preset("paper-shrunk", tiny_preset.model, nets, 3, tiny_preset.tables)
