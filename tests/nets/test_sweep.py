"""Panel sweeps: the spec and its defaults, the store (resume, content addressing), the
labelled results, diverged nets, cell statistics over ok nets only."""

from __future__ import annotations

import json

import numpy as np
import pytest

import springblock
from springblock import results
from springblock.params import ParameterError
from springblock.validation.nets import sweep
from tests.toy import toy_arrays, train_compiled, write_toy_npz


@pytest.fixture(scope="module")
def toy_file(tmp_path_factory):
    return write_toy_npz(tmp_path_factory.mktemp("data") / "toy.npz")


def tiny_spec(dataset, **kw):
    base = dict(
        knob="data-noise",
        dataset=str(dataset),
        alphas=(0.0, 1.0),
        values=(0.0, 0.5),
        seeds=2,
        epochs=3,
        depth=3,
        width=8,
    )
    return sweep.SweepSpec(**{**base, **kw})


class Interrupt(Exception):
    pass


def test_interrupted_sweep_resumes_to_identical_results(toy_file, tmp_path):
    spec = tiny_spec(toy_file)
    reference = sweep.run(spec, tmp_path / "straight")
    assert sweep.is_complete(reference)

    def stop_after_three(done, total):
        if done == 3:
            raise Interrupt

    out = tmp_path / "interrupted"
    with pytest.raises(Interrupt):
        sweep.run(spec, out, progress=stop_after_three)
    kept = sorted(out.rglob("nets/*.json"))
    assert len(kept) == 3  # what finished before the interruption is on disk
    assert all("alpha=" in p.name and "data-noise=" in p.name for p in kept)  # named by coordinates
    data = sweep.load_data(spec)
    partial = sweep.collect(spec, sweep.store_of(spec, out, data), data)
    assert sweep.counts(partial)["missing"] == 5 and not sweep.is_complete(partial)
    assert np.isnan(partial["test_accuracy"]).sum() == 5
    calls, lines = [], []
    resumed = sweep.run(spec, out, progress=lambda d, t: calls.append(d), log=lines.append)
    assert calls[0] == 3 and calls[-1] == spec.nets
    assert "resuming" in lines[0]
    for name in ("separation_pinv", "test_accuracy", "curvature", "weight_change", "losses"):
        np.testing.assert_array_equal(resumed[name].values, reference[name].values)


def test_batched_sweep_runs_the_same_nets(toy_file, tmp_path):
    """vmapped training of a cell's seeds gives the nets of streamed training. In float32 the
    two summation orders differ by rounding that Adam's normalised steps amplify (measured
    up to 2e-3 on D after 3 epochs), so the bound here is 1e-2; the float64 equivalence is
    tested to 1e-9 in test_train.test_vmapped_training_equals_one_by_one."""
    from springblock.validation.nets.executor import Execution

    streamed = sweep.run(tiny_spec(toy_file), tmp_path / "a", execution=Execution(workers=0))
    batched = sweep.run(
        tiny_spec(toy_file), tmp_path / "b", execution=Execution(workers=0, batched=True)
    )
    np.testing.assert_array_equal(batched["status"], streamed["status"])
    np.testing.assert_allclose(batched["separation_trace"], streamed["separation_trace"], atol=1e-2)
    # batched changes only the execution, not what is computed: the same digest
    assert batched.attrs["store"].split("/")[-1] == streamed.attrs["store"].split("/")[-1]


def test_labelled_results_open_by_name(toy_file, tmp_path):
    spec = tiny_spec(toy_file, knob="dropout", values=(0.0, 0.2), seeds=1)
    from springblock.validation.nets import panel

    result = panel.run_panel(spec, tmp_path)
    ds = springblock.open_results(tmp_path)
    assert ds.attrs["kind"] == "nets-sweep" and ds.attrs["knob"] == "dropout"
    assert ds.attrs["spec"]["values"] == [0.0, 0.2]
    assert ds.attrs["computed_by"]["springblock"] == springblock.__version__
    net = ds.sel(alpha=1.0, dropout=0.2, seed=0)
    assert net["load_curve"].dims == ("layer",) and net["load_curve"].size == spec.depth
    d = -np.diff(net["load_curve"].values)
    np.testing.assert_allclose(net["elongations"], d, rtol=1e-12)
    assert float(net["curvature"]) == pytest.approx(d[0] - d[-1], abs=1e-12)
    assert float(net["spread"]) == pytest.approx(np.std(d), abs=1e-12)
    cell = ds["cell_curvature_mean"].sel(alpha=0.0, dropout=0.0)
    assert float(cell) == pytest.approx(float(ds["curvature"].sel(alpha=0.0, dropout=0.0).mean()))
    payload = json.loads((tmp_path / "results.json").read_text())
    assert len(payload["cells"]) == spec.nets and payload["nets"]["ok"] == spec.nets
    assert set(payload["claims"]["sentences"]) == {
        "regimes",
        "best_in_band",
        "accuracy_correlations",
        "seeds",
    }
    assert result.payload["complete"]


def test_a_changed_data_file_at_the_same_path_recomputes(tmp_path):
    path = tmp_path / "mine.npz"
    np.savez(path, **toy_arrays(seed=1))
    spec = tiny_spec(path, alphas=(1.0,), values=(0.0,), seeds=1)
    lines = []
    first = sweep.run(spec, tmp_path / "out", log=lines.append)
    assert "computing afresh" in lines[-1]
    sweep.run(spec, tmp_path / "out", log=lines.append)
    assert "resuming" in lines[-1]
    np.savez(path, **toy_arrays(seed=2))  # same path, other content
    second = sweep.run(spec, tmp_path / "out", log=lines.append)
    assert "recomputing" in lines[-1] and "data content changed" in lines[-1]
    assert first.attrs["store"] != second.attrs["store"]
    assert not np.array_equal(first["separation_pinv"], second["separation_pinv"])


def test_a_diverging_net_is_flagged_counted_and_left_out(tmp_path):
    """Inputs scaled by 1e30 overflow float32 (their squares exceed 3.4e38): the net
    diverges at its first step; it is flagged, counted, and no cell statistic uses it."""
    path = tmp_path / "huge.npz"
    np.savez(path, **toy_arrays(scale=1e30))
    spec = tiny_spec(path, alphas=(1.0,), values=(0.0,), seeds=1)
    from springblock.validation.nets import panel

    result = panel.run_panel(spec, tmp_path / "out")
    assert result.payload["nets"] == {"ok": 0, "diverged": 1, "undefined": 0, "missing": 0}
    assert "diverged" in result.payload["excluded_note"]
    record = next((tmp_path / "out").rglob("nets/*.json"))
    rec = json.loads(record.read_text())
    assert rec["diverged"] is True and rec["test_accuracy"] is None and "note" in rec
    assert rec["epochs_run"] == 1  # stopped at the first non-finite epoch
    ds = springblock.open_results(tmp_path / "out")
    assert int(ds["cell_n_diverged"].sum()) == 1 and int(ds["cell_n_ok"].sum()) == 0
    assert np.isnan(ds["cell_test_accuracy_mean"]).all()
    assert "NaN" not in (tmp_path / "out" / "results.json").read_text()


def test_cell_statistics_use_ok_nets_only():
    """A hand-made panel: one net of a cell diverged (its values would spoil any mean)."""
    import xarray as xr

    status = np.array([[[0, 0, 1]]], np.int8)
    values = np.array([[[0.5, 0.7, 123.0]]])
    ds = xr.Dataset(
        {
            "status": (("alpha", "dropout", "seed"), status),
            **{
                name: (("alpha", "dropout", "seed"), values)
                for name in (
                    "test_accuracy",
                    "curvature",
                    "spread",
                    "normalised_curvature",
                    "normalised_spread",
                    "total_load",
                )
            },
        },
        coords={"alpha": [0.0], "dropout": [0.1], "seed": [0, 1, 2]},
        attrs={"knob_dim": "dropout"},
    )
    cells = sweep.cell_statistics(ds)
    cell = cells.isel(alpha=0, dropout=0)
    assert int(cell["n_ok"]) == 2 and int(cell["n_diverged"]) == 1
    assert float(cell["curvature_mean"]) == pytest.approx(0.6)
    assert float(cell["curvature_sem"]) == pytest.approx(np.std([0.5, 0.7], ddof=1) / np.sqrt(2))
    assert int(cell["phase"]) == 2  # 0.6 > the linear tolerance: convex


def test_spec_defaults_belong_to_the_knob(toy_file):
    dropout = sweep.SweepSpec(knob="dropout", dataset=str(toy_file))
    assert dropout.values == sweep.PAPER_VALUES["dropout"] and dropout.epochs == 100
    lr = sweep.SweepSpec.for_knob("learning-rate", dataset=str(toy_file))
    assert lr.epochs == 200 and lr.values == sweep.PAPER_VALUES["learning-rate"]
    assert sweep.SweepSpec(dataset=str(toy_file)).train_size == 90  # all samples of a user file
    assert sweep.SweepSpec().train_size == 2560  # the bundled FashionMNIST, the paper's subset


@pytest.mark.parametrize(
    ("field", "value", "knob"),
    [
        ("knob", "temperature", "data-noise"),
        ("alphas", (1.5,), "data-noise"),
        ("alphas", (0.0, 0.0), "data-noise"),
        ("values", (-0.1,), "data-noise"),
        ("values", (1.0,), "data-noise"),
        ("values", (1.0,), "dropout"),
        ("values", (0.0,), "learning-rate"),
        ("values", (2.5,), "batch-size"),
        ("values", (91,), "batch-size"),  # more than the 90 training samples
        ("values", (), "dropout"),
        ("seeds", 0, "data-noise"),
        ("measure", "cka", "data-noise"),
        ("dataset", "mnsit1d", "data-noise"),
        ("train_size", 91, "data-noise"),
        ("epochs", 0, "data-noise"),
        ("batch_size", 0, "data-noise"),
    ],
)
def test_bad_sweep_spec_names_the_parameter(toy_file, field, value, knob):
    kw = {"dataset": str(toy_file), "knob": knob, field: value}
    with pytest.raises(ParameterError) as err:
        sweep.SweepSpec(**kw)
    assert err.value.name == field


def test_records_are_strict_json(toy_file, tmp_path):
    ds = sweep.run(tiny_spec(toy_file, seeds=1), tmp_path)
    recs = sweep.records(ds)
    assert len(recs) == 4
    for rec in recs:
        assert set(rec) >= {
            "alpha",
            "value",
            "seed",
            "test_accuracy",
            "load_curve",
            "spread",
            "curvature",
            "status",
        }
    json.loads(results.dumps(recs))


def test_a_hessian_panel_stores_the_curvature_of_every_net(toy_file, tmp_path):
    """``hessian=True`` adds the four curvature variables (finite for ok nets, the residual
    and standard error non-negative); the same net's curvature recomputed from its
    retrained parameters agrees; without it the spec's JSON (and the store's digest) is
    that of a spec written before the field existed."""
    import jax
    import jax.numpy as jnp

    from springblock.validation.nets import hessian, train

    spec = tiny_spec(toy_file, values=(0.0,), alphas=(0.5,), hessian=True)
    ds = sweep.run(spec, tmp_path / "h")
    for name in sweep.HESSIAN_FIELDS:
        assert np.isfinite(ds[name].values).all(), name
    assert (ds["hessian_top_eigenvalue_residual"].values >= 0).all()
    assert (ds["hessian_trace_standard_error"].values > 0).all()
    data = sweep.load_data(spec)
    x, y = jnp.asarray(data.x_train), jnp.asarray(data.y_train)
    key = jax.random.fold_in(jax.random.key(spec.seed), 1)
    config = sweep.train_config(spec, 0.0)
    trained = train_compiled(config, x, y, data.num_classes, train.Hyper(alpha=0.5), key)
    again = hessian.curvature(
        trained.params,
        trained.stats,
        x,
        y,
        0.5,
        jax.random.fold_in(key, train.HESSIAN_KEY_TAG),
        steps=train.HESSIAN_STEPS,
        samples=train.HESSIAN_SAMPLES,
    )
    stored = ds.sel(alpha=0.5).isel({"seed": 1, spec.dim: 0})
    # the same computation jitted apart from the trainer: float32 rounding, 1e-3
    np.testing.assert_allclose(float(stored["hessian_trace"]), float(again.trace), rtol=1e-3)
    np.testing.assert_allclose(
        float(stored["hessian_top_eigenvalue"]), float(again.top_eigenvalue), rtol=1e-3
    )
    plain = tiny_spec(toy_file)
    assert "hessian" not in plain.to_json()
    assert sweep.SweepSpec.from_json(spec.to_json()).hessian is True
    with pytest.raises(ParameterError, match="hessian"):
        tiny_spec(toy_file, hessian="yes")


def test_a_tiny_cnn_dropout_sweep_end_to_end(tmp_path):
    """``arch="cnn"`` on 4 x 4 x 1 images: a dropout panel of two values trains, measures
    ``depth`` layers (the input and one per block) and keeps the MLP's digest untouched;
    data without an image shape is refused, naming --arch."""
    from springblock.validation.nets import data as datasets

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4, 4, 1)).astype(np.float32)
    y = (x[:, :2].mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    path = tmp_path / "images.npz"
    np.savez(path, x_train=x[:48], y_train=y[:48], x_test=x[48:], y_test=y[48:])
    assert datasets.load_dataset(str(path)).image_shape == (4, 4, 1)
    spec = sweep.SweepSpec(
        knob="dropout",
        dataset=str(path),
        alphas=(0.5,),
        values=(0.0, 0.2),
        seeds=2,
        epochs=3,
        depth=3,
        arch="cnn",
        channels=2,
    )
    ds = sweep.run(spec, tmp_path / "cnn")
    assert sweep.is_complete(ds) and sweep.counts(ds)["ok"] == 4
    assert ds["separation_pinv"].shape[-1] == 3 and np.isfinite(ds["load_curve"]).all()
    assert spec.to_json()["arch"] == "cnn" and "arch" not in tiny_spec(path).to_json()
    flat = tmp_path / "flat.npz"
    np.savez(
        flat,
        x_train=x[:48].reshape(48, -1),
        y_train=y[:48],
        x_test=x[48:].reshape(12, -1),
        y_test=y[48:],
    )
    with pytest.raises(ParameterError, match="arch"):
        sweep.run(
            sweep.SweepSpec.from_json(spec.to_json() | {"dataset": str(flat)}), tmp_path / "f"
        )


def test_a_depth_panel_pads_shallower_nets_and_matches_single_depth_panels(toy_file, tmp_path):
    """``knob="depth"``: every net has its own depth; the layer axes are as long as the
    deepest net's, NaN beyond a net's depth; each column's nets, load statistics and JSON
    records equal those of a panel at that fixed depth (same keys, same data)."""
    spec = tiny_spec(toy_file, knob="depth", values=(3, 5), alphas=(0.5,), seeds=2)
    assert spec.values == (3.0, 5.0) and spec.depths == (3, 5) and spec.max_depth == 5
    ds = sweep.run(spec, tmp_path / "depth")
    assert sweep.counts(ds)["ok"] == 4
    assert ds.sizes["layer"] == 5 and list(ds["net_depth"].values) == [3, 5]
    shallow = ds.sel(depth=3.0)
    assert np.isfinite(shallow["load_curve"].values[..., :3]).all()
    assert np.isnan(shallow["load_curve"].values[..., 3:]).all()
    assert np.isnan(shallow["elongations"].values[..., 2:]).all()
    assert np.isnan(shallow["weight_change"].values[..., 3:]).all()
    assert np.isfinite(ds.sel(depth=5.0)["elongations"].values).all()
    for depth in (3, 5):
        fixed = sweep.run(
            tiny_spec(toy_file, values=(0.0,), alphas=(0.5,), seeds=2, depth=depth),
            tmp_path / f"fixed{depth}",
        ).isel(data_noise=0)
        column = ds.sel(depth=float(depth))
        np.testing.assert_array_equal(
            column["load_curve"].values[..., :depth], fixed["load_curve"].values
        )
        for name in ("curvature", "spread", "normalised_curvature", "test_accuracy"):
            np.testing.assert_array_equal(column[name].values, fixed[name].values)
    recs = sweep.records(ds)
    assert sorted(len(r["load_curve"]) for r in recs) == [3, 3, 5, 5]
    assert "alpha=0.5_depth=5_seed=1.json" in {p.name for p in (tmp_path / "depth").rglob("*.json")}


def test_a_width_panel_trains_nets_of_each_width(toy_file, tmp_path):
    """``knob="width"`` sets the hidden width: its width-4 column holds the nets of a
    fixed-width-4 panel (same keys, same data), and its width-8 column other nets."""
    spec = tiny_spec(toy_file, knob="width", values=(4, 8), alphas=(0.5,), seeds=1)
    ds = sweep.run(spec, tmp_path / "width")
    fixed = sweep.run(
        tiny_spec(toy_file, values=(0.0,), alphas=(0.5,), seeds=1, width=4), tmp_path / "w4"
    )
    np.testing.assert_array_equal(
        ds.sel(width=4.0)["load_curve"].values, fixed.isel(data_noise=0)["load_curve"].values
    )
    assert not np.array_equal(
        ds.sel(width=4.0)["load_curve"].values, ds.sel(width=8.0)["load_curve"].values
    )
    assert ds.attrs["knob_kind"] == "structural"


@pytest.mark.parametrize(
    ("knob", "value"), [("depth", 2), ("depth", 4.5), ("width", 0), ("width", 20_000)]
)
def test_structural_knob_values_are_checked(toy_file, knob, value):
    with pytest.raises(ParameterError) as err:
        sweep.SweepSpec(dataset=str(toy_file), knob=knob, values=(value,))
    assert err.value.name == "values"


def test_the_width_knob_is_the_mlps(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4, 4, 1)).astype(np.float32)
    path = tmp_path / "images.npz"
    y = np.arange(20) % 2
    np.savez(path, x_train=x[:16], y_train=y[:16], x_test=x[16:], y_test=y[16:])
    with pytest.raises(ParameterError) as err:
        sweep.SweepSpec(dataset=str(path), knob="width", arch="cnn")
    assert err.value.name == "knob"


def test_a_checkpointed_panel_has_a_checkpoint_dimension_and_an_animation(toy_file, tmp_path):
    """``checkpoints``: every net's separations after those epochs (dimension
    ``checkpoint``), the last one at the final epoch equal to the final load curve; the
    shape statistics at each checkpoint; the small multiples and a GIF of one frame per
    checkpoint; a spec without checkpoints keeps its digest."""
    from PIL import Image

    from springblock.validation.nets import panel

    spec = tiny_spec(toy_file, knob="dropout", values=(0.0, 0.3), checkpoints=(1, 2, 3))
    result = panel.run_panel(spec, tmp_path / "ck")
    ds = result.nets
    assert list(ds["checkpoint"].values) == [1, 2, 3]
    assert ds["checkpoint_load_curve"].dims == ("alpha", "dropout", "seed", "checkpoint", "layer")
    np.testing.assert_allclose(
        ds["checkpoint_load_curve"].isel(checkpoint=-1).values, ds["load_curve"].values, rtol=1e-6
    )
    np.testing.assert_allclose(
        ds["checkpoint_curvature"].isel(checkpoint=-1).values, ds["curvature"].values, rtol=1e-5
    )
    assert np.isfinite(ds["checkpoint_separation_trace"].values).all()
    assert result.payload["checkpoints"]["epochs"] == [1, 2, 3]
    with Image.open(tmp_path / "ck" / "load_curves_dropout.gif") as gif:
        assert gif.n_frames == 3
    assert (tmp_path / "ck" / "checkpoints_dropout.png").stat().st_size > 0
    assert "checkpoints" not in tiny_spec(toy_file).to_json()
    assert sweep.SweepSpec.from_json(spec.to_json()).checkpoints == (1, 2, 3)
    with pytest.raises(ParameterError, match="checkpoints"):
        tiny_spec(toy_file, checkpoints=(2, 5))  # beyond the 3 epochs
