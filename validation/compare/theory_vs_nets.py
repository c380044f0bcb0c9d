"""Theory vs nets that can fail: the spring-block model fitted to trained panels, scored out
of sample next to theory-free baselines, with permutation p-values.

Reference section 5 (Shi, Pan & Dokmanic, arXiv 2407.19353): compare the shape of the load
curves cell by cell over the noise x nonlinearity grid, with a monotone map from (alpha,
knob value) to the model's (friction, noise) fitted on part of the grid and tested on the
rest. Here:

- the model is the tabulated mean-field flow of model (a)
  (:mod:`springblock.numerics.spring.table`), one table for every panel (a table per chain
  length where the nets' depths differ: a depth panel), stored in the results store; the
  maps are those of :mod:`~springblock.validation.compare.fit` (one friction map for all
  panels, a noise map per knob, shared asymmetry and time scale);
- per panel, three splits (:mod:`~springblock.validation.compare.splits`): checkerboard,
  leave-one-alpha-row-out and leave-one-knob-column-out, each fit seeing only that panel's
  training cells; held-out predictions are pooled and scored
  (:mod:`~springblock.validation.compare.scores`: three classes with the one tolerance,
  agreement and Cohen's kappa; Spearman of c and of v, normalised);
- jointly over the panels of a run, ``leave_one_panel_out``: a whole panel is predicted
  from the friction map, asymmetry and time scale fitted on the other panels and its own
  noise map fitted on every other knob column (then the complement), so the shared
  friction is tested on a panel it never saw;
- baselines (:mod:`~springblock.validation.compare.baselines`) get exactly the same training
  cells of every fold and the same scores;
- the permutation test refits the theory on every fold with the cells' (c, v, standard
  errors) permuted within each panel, ``permutations`` times; the p-value of a held-out
  score is (1 + #{permuted >= observed}) / (1 + permutations).

Every normalisation (the standard-error floor of the weights) is computed on training
cells only, so changing held-out cells cannot change a fit (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from springblock.params import ParameterError, check_int
from springblock.validation.compare import baselines, cells, fit, scores, splits

PERMUTATIONS = 200
SOLVERS = {
    "a": "mean-field flow of model (a) (numerics.spring.flows, Kvaerno5), tabulated",
    "b": "model (b), underdamped with shared decaying noise (numerics.spring.underdamped, "
    "stick-slip), mean of a tabulated ensemble",
}


@dataclass(frozen=True)
class Outcome:
    """Pooled held-out predictions of one split (flat over the panel's cells; NaN where a
    cell is undefined) and their scores."""

    c: np.ndarray
    v: np.ndarray
    scores: dict


def chain_lengths(panels) -> list[int]:
    """The model chains the panels' nets need: L = D - 2 blocks for nets of depth D (its
    L + 1 elongations match the D - 1 layer loads); several for a depth panel."""
    return sorted({int(d) - 2 for p in panels for d in p.column_depths})


def default_table_spec(panels, model: str = "a"):
    """The grid every panel of a comparison shares: ``model``'s default
    (:func:`springblock.numerics.spring.table.default_spec`, the model stage's friction and
    noise ranges) on the panels' shortest chain; :func:`model_tables` adds the others."""
    from springblock.numerics.spring.table import default_spec

    return default_spec(model, chain_lengths(panels)[0])


def model_tables(panels, spec, store: Path, log=None):
    """``spec``'s grid tabulated on every chain the panels need (:func:`chain_lengths`),
    each loaded or computed once in the results store ``store``, as one
    :class:`~springblock.validation.compare.fit.TableStack`."""
    import dataclasses

    from springblock.numerics.spring import table as tables

    return fit.TableStack(
        tuple(
            tables.load_or_tabulate(dataclasses.replace(spec, blocks=b), store, log)
            for b in chain_lengths(panels)
        )
    )


def default_target(model: str) -> str:
    """The folder of a panel directory that holds ``model``'s comparison."""
    return "compare" if model == "a" else f"compare-{model}"


def _permutations(flat, count: int, seed: int) -> np.ndarray:
    """(count + 1, n) index maps: the identity, then permutations of the defined cells
    within each panel."""
    rng = np.random.default_rng([seed, 7])
    out = [np.arange(flat.n)]
    for _ in range(count):
        index = np.arange(flat.n)
        for k in np.unique(flat.panel):
            chosen = np.flatnonzero((flat.panel == k) & flat.defined)
            index[chosen] = rng.permutation(chosen)
        out.append(index)
    return np.array(out)


def _data(flat, perms):
    """Observed arrays (P, n) under each index map."""
    return tuple(getattr(flat, name)[perms] for name in ("c", "v", "c_se", "v_se"))


def _p_values(observed: dict, null: list[dict]) -> dict:
    return {
        name: scores.permutation_p(
            scores.value(observed, name), [scores.value(n, name) for n in null]
        )
        for name in scores.SCORES
    }


def _sentence(split: str, entry: dict) -> str:
    t = entry["theory"]
    beaten = [name for name, won in entry["beats"].items() if won]
    lost = [name for name, won in entry["beats"].items() if not won]
    fmt = lambda x: "n/a" if x is None else f"{x:.2f}"  # noqa: E731
    head = (
        f"{split}: agreement {fmt(t['agreement'])}, kappa {fmt(t['kappa'])} (p = "
        f"{entry['p_value']['kappa']:.3f}), Spearman c {fmt(t['spearman_c'])}, v "
        f"{fmt(t['spearman_v'])} over {t['cells']} held-out cells"
    )
    if not lost:
        return head + "; the theory beats every baseline."
    return (
        head
        + f"; it does not beat {', '.join(lost)}"
        + (f" (it beats {', '.join(beaten)})." if beaten else " (nor any other baseline).")
    )


def _split_entry(split, theory: Outcome, null: list[dict], base: dict, permutations: int) -> dict:
    beats = {name: scores.beats(theory.scores, b) for name, b in base.items()}
    entry: dict[str, Any] = {
        "theory": theory.scores,
        "baselines": base,
        "p_value": _p_values(theory.scores, null),
        "permutations": permutations,
        "beats": beats,
        "beats_every_baseline": all(beats.values()),
    }
    entry["sentence"] = _sentence(split, entry)
    return entry


def _fit_entry(lay, flat, fits_theta, loss, converged, mask) -> dict:
    values = lay.values(fits_theta)
    on_bound = lay.on_bound(fits_theta)
    loss_mean = (
        _constant_loss(flat, mask, flat.c[mask].mean(), flat.v[mask].mean()) if mask.any() else None
    )
    return {
        "parameters": dict(zip(lay.names, values.tolist(), strict=True)),
        "bounds": {n: [lo, hi] for n, lo, hi in zip(lay.names, lay.lower, lay.upper, strict=True)},
        "on_bound": on_bound,
        "loss": float(loss),
        "loss_of_the_mean": loss_mean,
        "loss_note": "null: no cell with a defined shape to fit" if loss_mean is None else "",
        "cells": int(mask.sum()),
        "converged": bool(converged),
    }


def _constant_loss(flat, mask, c0, v0) -> float:
    """The loss (same weights as the fit) of predicting the mean c and v everywhere."""
    total = 0.0
    for obs, se, x0 in ((flat.c, flat.c_se, c0), (flat.v, flat.v_se, v0)):
        finite = mask & np.isfinite(se)
        floor = float(np.median(se[finite])) if finite.any() else 1.0
        floor = floor if floor > 0 else 1.0
        scale = np.sqrt(np.where(np.isfinite(se), se, 0.0) ** 2 + floor**2)
        total += float(np.sum(((x0 - obs[mask]) / scale[mask]) ** 2))
    return total


def evaluate_panel(panel: cells.PanelCells, table, permutations: int = PERMUTATIONS, seed: int = 0):
    """The theory's fit and its three splits on one panel (module docstring)."""
    flat = fit.flatten([panel])
    lay = fit.layout(table, [panel])
    defined = flat.defined
    perms = _permutations(flat, permutations, seed)
    fold_masks = [
        (name, held.ravel()) for name in splits.SPLITS for held in splits.folds(name, panel.grid)
    ]
    F, P = len(fold_masks), len(perms)
    train = np.array([~held & defined for _, held in fold_masks])  # (F, n)
    c, v, c_se, v_se = _data(flat, perms)  # (P, n)
    masks = np.repeat(train, P, axis=0)  # problem index = f * P + p
    tile = lambda x: np.tile(x, (F, 1))  # noqa: E731
    fits = fit.fit_many(
        flat, lay, table, masks, tile(c), tile(v), tile(c_se), tile(v_se), seed=seed
    )
    c_hat, v_hat, _ = fit.predictions(fits.theta, flat, lay, table)
    full = fit.fit_many(flat, lay, table, defined[None], seed=seed)
    c_full, v_full, d_full = fit.predictions(full.theta, flat, lay, table)
    out: dict[str, Any] = {
        "knob": panel.knob,
        "fit": _fit_entry(lay, flat, full.theta[0], full.loss[0], full.converged[0], defined),
        "fits_converged": float(np.mean(fits.converged)),
        "splits": {},
    }
    predictions: dict[str, tuple[np.ndarray, ...]] = {"full": (c_full[0], v_full[0], d_full[0])}
    for split in splits.SPLITS:
        members = [f for f, (name, _) in enumerate(fold_masks) if name == split]
        pooled = []
        for p in range(P):
            cp, vp = np.full(flat.n, np.nan), np.full(flat.n, np.nan)
            for f in members:
                held = fold_masks[f][1] & defined
                cp[held], vp[held] = c_hat[f * P + p][held], v_hat[f * P + p][held]
            pooled.append((cp, vp))
        scored = [
            scores.score(cp[defined], vp[defined], c[p][defined], v[p][defined])
            for p, (cp, vp) in enumerate(pooled)
        ]
        theory = Outcome(pooled[0][0], pooled[0][1], scored[0])
        base = {}
        for name in baselines.NAMES:
            bc, bv = np.full(flat.n, np.nan), np.full(flat.n, np.nan)
            for f in members:
                held = fold_masks[f][1] & defined
                tr = ~fold_masks[f][1] & defined
                bc[held], bv[held] = baselines.predict(
                    name, baselines.cells_of(flat, tr), baselines.cells_of(flat, held)
                )
            base[name] = scores.score(bc[defined], bv[defined], flat.c[defined], flat.v[defined])
        out["splits"][split] = _split_entry(split, theory, scored[1:], base, permutations)
        predictions[split] = (theory.c, theory.v)
    return out, predictions, (flat, lay)


def evaluate_joint(panels, table, permutations: int = PERMUTATIONS, seed: int = 0) -> dict:
    """One fit of all panels (a shared friction map) and ``leave_one_panel_out``."""
    flat = fit.flatten(panels)
    lay = fit.layout(table, panels)
    defined = flat.defined
    full = fit.fit_many(flat, lay, table, defined[None], seed=seed)
    out: dict[str, Any] = {
        "fit": _fit_entry(lay, flat, full.theta[0], full.loss[0], full.converged[0], defined),
        "leave_one_panel_out": {},
    }
    if len(panels) < 2:
        out["leave_one_panel_out_note"] = "one panel: no other panel to transfer the friction from"
        return out
    perms = _permutations(flat, permutations, seed)
    P = len(perms)
    c, v, c_se, v_se = _data(flat, perms)
    for k, panel in enumerate(panels):
        mine = flat.panel == k
        stage1 = fit.fit_many(
            flat, lay, table, np.tile(defined & ~mine, (P, 1)), c, v, c_se, v_se, seed=seed
        )
        free = lay.of_panel(k)
        grid_cols = flat.col
        preds_c = np.full((P, flat.n), np.nan)
        preds_v = np.full((P, flat.n), np.nan)
        base_c = {name: np.full(flat.n, np.nan) for name in baselines.NAMES}
        base_v = {name: np.full(flat.n, np.nan) for name in baselines.NAMES}
        for parity in (0, 1):
            train = mine & defined & (grid_cols % 2 == parity)
            held = mine & defined & (grid_cols % 2 != parity)
            stage2 = fit.fit_many(
                flat,
                lay,
                table,
                np.tile(train, (P, 1)),
                c,
                v,
                c_se,
                v_se,
                fixed=stage1.theta,
                free=free,
                seed=seed,
            )
            ch, vh, _ = fit.predictions(stage2.theta, flat, lay, table)
            preds_c[:, held], preds_v[:, held] = ch[:, held], vh[:, held]
            for name in baselines.NAMES:
                bc, bv = baselines.predict(
                    name, baselines.cells_of(flat, train), baselines.cells_of(flat, held)
                )
                base_c[name][held], base_v[name][held] = bc, bv
        scored_mask = mine & defined
        scored = [
            scores.score(
                preds_c[p][scored_mask],
                preds_v[p][scored_mask],
                c[p][scored_mask],
                v[p][scored_mask],
            )
            for p in range(P)
        ]
        base = {
            name: scores.score(
                base_c[name][scored_mask],
                base_v[name][scored_mask],
                flat.c[scored_mask],
                flat.v[scored_mask],
            )
            for name in baselines.NAMES
        }
        theory = Outcome(preds_c[0], preds_v[0], scored[0])
        out["leave_one_panel_out"][panel.knob] = _split_entry(
            f"leave_one_panel_out ({panel.knob})", theory, scored[1:], base, permutations
        )
    return out


# --------------------------------------------------------------------------- on disk


def check_panel(out, flag: str = "out") -> None:
    """Refuse (ParameterError naming ``flag``) a directory that holds no finished sweep, a
    sweep with missing nets, or one with a cell without any ok net."""
    import springblock
    from springblock.validation.nets import sweep

    try:
        nets = springblock.open_results(Path(out))
    except FileNotFoundError:
        raise ParameterError(
            flag, str(out), "a directory holding a finished `springblock nets sweep`"
        ) from None
    if nets.attrs.get("kind") != "nets-sweep":
        raise ParameterError(flag, str(out), "the results of `springblock nets sweep`")
    counts = sweep.counts(nets)
    if counts["missing"]:
        raise ParameterError(
            flag,
            str(out),
            f"a complete sweep ({counts['missing']} nets are missing: rerun the sweep)",
        )
    empty = int((nets["cell_n_ok"] == 0).sum())
    if empty:
        raise ParameterError(
            flag, str(out), f"a sweep with an ok net in every cell ({empty} cells have none)"
        )


def load_panels(dirs) -> list[cells.PanelCells]:
    import springblock

    for d in dirs:
        check_panel(d)
    panels = [cells.from_results(springblock.open_results(Path(d))) for d in dirs]
    knobs = [p.knob for p in panels]
    if len(set(knobs)) != len(knobs):
        raise ParameterError("out", [str(d) for d in dirs], "panels of different knobs")
    return panels


def run_compare(
    dirs,
    target: Path | None = None,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
    store: Path | None = None,
    log=None,
    table_spec=None,
    model: str = "a",
) -> dict:
    """Compare the theory with the finished panels in ``dirs`` (a directory or a list);
    write ``target`` (default: ``<first dir>/compare``, ``compare-b`` for model (b), so the
    two models' results sit side by side) as a results directory. The model
    table (``table_spec``, default :func:`default_table_spec`) is kept in the results store
    ``store`` (default ``<first dir>/store``). ``model`` picks the default table: ``"a"``
    (mean-field flow of model (a)) or ``"b"`` (model (b)'s stick-slip ensemble)."""
    from springblock import results
    from springblock.plotting import save
    from springblock.validation.compare import plots

    dirs = [Path(dirs)] if isinstance(dirs, str | Path) else [Path(d) for d in dirs]
    permutations = check_int("permutations", permutations, 1, 100_000)
    panels = load_panels(dirs)
    spec = table_spec or default_table_spec(panels, model)
    table = model_tables(panels, spec, store or dirs[0] / "store", log)
    spec = table.spec
    target = Path(target) if target is not None else dirs[0] / default_target(spec.model)
    per_panel, figures, datasets = [], [], []
    for panel in panels:
        entry, predictions, _ = evaluate_panel(panel, table, permutations, seed)
        for name in entry["fit"]["on_bound"]:
            if log is not None:
                log(f"[compare {panel.knob}] warning: the fitted {name} sits on its bound")
        per_panel.append(entry)
        figures += save(plots.maps_figure(panel, predictions), target, f"compare_maps_{panel.knob}")
        figures += save(
            plots.curves_figure(panel, predictions), target, f"compare_curves_{panel.knob}"
        )
        figures += save(plots.maps_of_fit(entry, table, panel), target, f"compare_fit_{panel.knob}")
        datasets.append(plots.predictions_dataset(panel, predictions))
    joint = evaluate_joint(panels, table, permutations, seed)
    result = {
        "model": {
            "name": spec.model,
            "solver": SOLVERS[spec.model],
            "table": spec.to_json(),
            "blocks": spec.blocks,
            "chains": list(table.blocks),
            "chains_note": "a net of depth D is compared with the chain of D - 2 blocks",
        },
        "permutations": permutations,
        "panels": per_panel,
        "joint": joint,
        "figures": figures,
    }
    import xarray as xr

    ds = xr.merge(datasets, combine_attrs="override")
    ds.attrs = results.provenance_attrs(
        "theory-vs-nets", {"panels": [str(d) for d in dirs], "permutations": permutations}
    )
    results.write_results(target, result, ds)
    return result


def summary_lines(result: dict) -> list[str]:
    """The comparison in plain sentences: per panel the fit and every split, then the
    joint leave-one-panel-out."""
    lines = [
        f"spring-block model ({result['model']['solver']}, "
        f"{'/'.join(map(str, result['model'].get('chains', [result['model']['blocks']])))} "
        f"blocks) vs nets; p-values from {result['permutations']} permutations"
    ]
    for entry in result["panels"]:
        f = entry["fit"]
        bound = f" ON ITS BOUND: {', '.join(f['on_bound'])}" if f["on_bound"] else ""
        lines.append(
            f"[{entry['knob']}] fit on all {f['cells']} cells: loss {f['loss']:.4g} (predicting "
            f"the mean: {f['loss_of_the_mean'] or float('nan'):.4g}){bound}"
        )
        lines += [f"[{entry['knob']}] {s['sentence']}" for s in entry["splits"].values()]
    joint = result["joint"]
    for s in joint["leave_one_panel_out"].values():
        lines.append(f"[joint] {s['sentence']}")
    if "leave_one_panel_out_note" in joint:
        lines.append(f"[joint] {joint['leave_one_panel_out_note']}")
    lines.append(f"figures: {result['figures'][0]} ...")
    return lines
