"""The load curve through training: the spring-block model's time evolution, with maps
fitted as in :mod:`~springblock.validation.compare.theory_vs_nets`, against the nets'
normalised curvature c(epoch) and spread v(epoch) at the checkpoints of a panel
(``springblock nets sweep --checkpoints ...``).

**Model time.** The comparison's model time is T = T0 f (:mod:`~springblock.validation.
compare.cells`: f the protocol's total length of Adam's steps); a net stopped after e of
its E epochs has taken e / E of those steps, so its checkpoint is compared with the
model at T = T0 f e / E: the tabulated flow of model (a) (reference section 5;
:func:`springblock.theory.spring.phases.curvature_expr` is its linearised
c(T) = c_inf + (c_0 - c_inf) exp(-T / tau)). The
model's clock is therefore linear in epochs with one scale T0 for the whole panel; the
time box of T0 is narrowed so that every checkpoint's time lies inside the table.

**Pairs.** Every (cell, time) of the panel is one pair: the last epoch's cells, then each
earlier checkpoint's (a checkpoint at the last epoch is the last epoch itself, tested in
``tests/nets/test_sweep.py``, and is not repeated). A pair is defined where its c and v
are (an ok net had gained separation by then).

**Splits.**

- ``earlier_epochs`` (does the model predict the past from the end?): the maps are fitted
  on the last epoch of every cell, what ``nets compare`` fits; held out: every earlier
  checkpoint. Baselines: ``frozen`` (each cell's last-epoch value at every earlier epoch)
  and ``majority`` (the most common last-epoch class and mean c, v).
- ``checkerboard``, ``leave_one_alpha_out``, ``leave_one_knob_out``
  (:mod:`~springblock.validation.compare.splits`): the maps are fitted on the training
  cells' whole trajectories; held out: the other cells' trajectories. Baselines: the five
  of :mod:`~springblock.validation.compare.baselines`, each fitted on the training cells
  at the same checkpoint.

**Scores** (held-out pairs only; theory and baselines on exactly the same pairs):

- pair scores :func:`springblock.validation.compare.scores.score` (class agreement,
  kappa, Spearman of c and of v over the pairs);
- ``time_spearman_c`` / ``_v``: per held-out cell, Spearman's correlation over its held-out
  times of predicted and measured c (v), averaged over the cells (at least three times per
  cell; a constant prediction such as ``frozen`` has none, which counts as no skill, 0),
  with its standard error over cells and a one-sided sign test (more cells positive than
  negative than chance);
- p-values: the predicted trajectories are permuted among the panel's cells (whole
  trajectories, so a common trend in time survives the permutation) ``permutations``
  times, p = (1 + #{permuted >= observed}) / (1 + permutations): does the model know each
  cell's own course beyond what every cell shares?

**The clock** (a diagnostic on the held-out pairs, not a score): with the ``earlier_epochs``
fit, the loss of the earlier checkpoints (the fit's weights) as the model's time is
multiplied by s on a log grid inside the table; s* = 1 means the fitted time scale tracks
the nets' through training, s* < 1 that the model relaxes too fast (its clock must be
slowed), s* > 1 too slowly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from springblock.params import ParameterError, check_int
from springblock.validation.compare import baselines, cells, fit, scores, splits

PERMUTATIONS = 200
SPLITS = ("earlier_epochs", *splits.SPLITS)
#: Baselines of the earlier_epochs split (the held-out cells' own last epoch is known).
EARLIER_BASELINES = ("frozen", "majority")
PAIR_SCORES = scores.SCORES
TIME_SCORES = ("time_spearman_c", "time_spearman_v")
#: Points of the clock's log grid.
CLOCK_POINTS = 49


@dataclass(frozen=True)
class Trajectories:
    """A checkpointed panel: ``final`` (its cells at the last epoch) and, at each checkpoint
    before the last epoch (``epochs``), the cells' mean normalised c and v over ok nets
    with their standard errors, dims (alpha, value, checkpoint)."""

    final: cells.PanelCells
    epochs: np.ndarray
    c: np.ndarray
    c_se: np.ndarray
    v: np.ndarray
    v_se: np.ndarray

    @property
    def last_epoch(self) -> int:
        return int(self.final.spec["epochs"])

    @property
    def times(self) -> np.ndarray:
        """Every epoch of the pairs, in pair order: the last, then the checkpoints."""
        return np.concatenate([[self.last_epoch], self.epochs])


def from_results(ds) -> Trajectories:
    """The trajectories of a finished panel's labelled results; ParameterError (naming
    ``out``) when it has fewer than two checkpoints before its last epoch."""
    spec = ds.attrs["spec"]
    if "checkpoint" not in ds.dims:
        raise ParameterError(
            "out",
            "a panel without checkpoints",
            "a panel swept with --checkpoints or --checkpoint-every",
        )
    earlier = ds["checkpoint"].values < spec["epochs"]
    if earlier.sum() < 2:
        raise ParameterError(
            "out",
            f"a panel with checkpoints {ds['checkpoint'].values.tolist()}",
            f"a panel with at least two checkpoints before its last epoch {spec['epochs']}",
        )
    dims = ("alpha", ds.attrs["knob_dim"], "checkpoint")
    part = ds.isel(checkpoint=earlier)

    def cell(name: str) -> np.ndarray:
        return part[f"cell_checkpoint_{name}"].transpose(*dims).values

    return Trajectories(
        final=cells.from_results(ds),
        epochs=part["checkpoint"].values.astype(int),
        c=cell("normalised_curvature_mean"),
        c_se=cell("normalised_curvature_sem"),
        v=cell("normalised_spread_mean"),
        v_se=cell("normalised_spread_sem"),
    )


@dataclass(frozen=True)
class Pairs:
    """Every (cell, time) pair as one :class:`~springblock.validation.compare.fit.Flat`
    (time-major: the last epoch's cells, then each checkpoint's), with each pair's cell
    (flat index into the grid), time index (0: the last epoch) and epoch."""

    flat: fit.Flat
    cell: np.ndarray
    time: np.ndarray
    epoch: np.ndarray
    cells: int

    @property
    def final(self) -> np.ndarray:
        return self.time == 0


def pairs_of(tr: Trajectories) -> Pairs:
    base = fit.flatten([tr.final])
    parts = [base]
    for k, e in enumerate(tr.epochs):
        observed = {n: getattr(tr, n)[..., k].ravel() for n in ("c", "c_se", "v", "v_se")}
        parts.append(
            dataclasses.replace(
                base,
                log_f=base.log_f + np.log(e / tr.last_epoch),
                defined=np.isfinite(observed["c"]) & np.isfinite(observed["v"]),
                **observed,
            )
        )
    flat = fit.Flat(
        **{
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in fit.Flat.__dataclass_fields__
        }
    )
    n, times = base.n, len(parts)
    return Pairs(
        flat=flat,
        cell=np.tile(np.arange(n), times),
        time=np.repeat(np.arange(times), n),
        epoch=np.repeat(tr.times, n),
        cells=n,
    )


def folds(tr: Trajectories, pairs: Pairs) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(split, training pairs, held-out pairs) of every fold of every split (module
    docstring); held-out pairs include undefined ones (predicted, never scored)."""
    defined = pairs.flat.defined
    out = [("earlier_epochs", pairs.final & defined, ~pairs.final)]
    for name in splits.SPLITS:
        for held_cells in splits.folds(name, tr.final.grid):
            held = held_cells.ravel()[pairs.cell]
            out.append((name, ~held & defined, held))
    return out


def _time_spearman(pred, obs, pairs: Pairs, mask) -> dict:
    """Per cell, Spearman over its pairs in ``mask``; mean, standard error, sign test."""
    from scipy import stats

    per_cell = []
    for cell in np.unique(pairs.cell[mask]):
        mine = mask & (pairs.cell == cell)
        if mine.sum() < 3 or np.ptp(obs[mine]) == 0:
            continue
        cell_rho = scores.spearman(pred[mine], obs[mine])
        per_cell.append(0.0 if cell_rho is None else cell_rho)
    rho = np.array(per_cell)
    if rho.size == 0:
        return {"mean": None, "sem": None, "cells": 0, "positive": 0, "sign_p": None}
    positive, negative = int(np.sum(rho > 0)), int(np.sum(rho < 0))
    sign_p = (
        float(stats.binomtest(positive, positive + negative, 0.5, alternative="greater").pvalue)
        if positive + negative
        else None
    )
    return {
        "mean": float(rho.mean()),
        "sem": float(rho.std(ddof=1) / np.sqrt(rho.size)) if rho.size > 1 else None,
        "cells": int(rho.size),
        "positive": positive,
        "sign_p": sign_p,
    }


def score(pred_c, pred_v, pairs: Pairs, mask) -> dict:
    """Pair scores and time scores of predictions (n,) over the pairs ``mask``."""
    f = pairs.flat
    out = scores.score(pred_c[mask], pred_v[mask], f.c[mask], f.v[mask])
    for name, pred, obs in (("c", pred_c, f.c), ("v", pred_v, f.v)):
        t = _time_spearman(pred, obs, pairs, mask)
        out[f"time_spearman_{name}"] = t["mean"]
        out[f"time_spearman_{name}_detail"] = t
    return out


def beats(theory: dict, baseline: dict) -> bool:
    """At least as good on every pair and time score, better on one."""
    return scores.beats(theory, baseline, (*PAIR_SCORES, *TIME_SCORES))


def permuted(pred: np.ndarray, pairs: Pairs, order: np.ndarray) -> np.ndarray:
    """Predictions with whole trajectories moved between cells: cell i gets cell order[i]'s."""
    return pred[pairs.time * pairs.cells + order[pairs.cell]]


def _p_values(pred_c, pred_v, pairs: Pairs, mask, observed: dict, permutations, seed) -> dict:
    rng = np.random.default_rng([seed, 11])
    names = (*PAIR_SCORES[1:], *TIME_SCORES)
    null: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(permutations):
        order = rng.permutation(pairs.cells)
        s = score(permuted(pred_c, pairs, order), permuted(pred_v, pairs, order), pairs, mask)
        for n in names:
            null[n].append(scores.value(s, n))
    return {n: scores.permutation_p(scores.value(observed, n), null[n]) for n in names}


def _baseline_predictions(name: str, split_folds, pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
    """Pooled held-out predictions of a baseline over a split's folds."""
    f = pairs.flat
    bc, bv = np.full(f.n, np.nan), np.full(f.n, np.nan)
    for train, held in split_folds:
        if name == "frozen":
            source = pairs.cell[held]  # the same cell's last epoch (time-major: index = cell)
            bc[held], bv[held] = f.c[source], f.v[source]
            continue
        for t in np.unique(pairs.time[held]):
            at = pairs.time == t
            # each checkpoint's training cells; earlier_epochs knows only the last epoch
            tr = train & at if (train & at).any() else train
            te = held & at
            bc[te], bv[te] = baselines.predict(
                name, baselines.cells_of(f, tr), baselines.cells_of(f, te)
            )
    return bc, bv


def _clock(theta, pairs: Pairs, lay, table, held) -> dict:
    """The loss of the held-out pairs with the model's time multiplied by s (module
    docstring), and its minimiser on the grid."""
    f = pairs.flat
    spec = fit.stack_of(table).spec
    log_t0 = float(lay.values(theta)[lay.names.index("log_time_scale")])
    log_t = log_t0 + f.log_f
    lo = np.log(spec.time_min) - log_t.min()
    hi = np.log(spec.time_max) - log_t.max()
    log_s = np.union1d(np.linspace(lo, hi, CLOCK_POINTS), [0.0])
    weights = {}
    for name in ("c", "v"):
        se = getattr(f, f"{name}_se")
        finite = held & np.isfinite(se)
        floor = float(np.median(se[finite])) if finite.any() else 1.0
        floor = floor if floor > 0 else 1.0
        weights[name] = 1.0 / (np.where(np.isfinite(se), se, 0.0) ** 2 + floor**2)

    def loss(c_hat, v_hat):
        return float(
            np.sum(weights["c"][held] * (c_hat[held] - f.c[held]) ** 2)
            + np.sum(weights["v"][held] * (v_hat[held] - f.v[held]) ** 2)
        )

    losses = []
    for s in log_s:
        shifted = dataclasses.replace(f, log_f=f.log_f + s)
        c_hat, v_hat, _ = fit.predictions(theta, shifted, lay, table)
        losses.append(loss(c_hat[0], v_hat[0]))
    losses_ = np.array(losses)
    best = int(np.argmin(losses_))
    frozen = loss(f.c[pairs.cell], f.v[pairs.cell])  # time-major: the cell's last epoch
    factor = float(np.exp(log_s[best]))
    on_edge = best in (0, len(log_s) - 1)
    at_one = float(losses_[np.flatnonzero(log_s == 0.0)[0]])
    if factor < 1:
        reading = f"the model relaxes too fast: its clock must run {1 / factor:.3g}x slower"
    else:
        reading = f"the model relaxes too slowly: its clock must run {factor:.3g}x faster"
    sentence = (
        f"the model's clock: fitted on the last epoch, its earlier load curves match the "
        f"nets' best with its time multiplied by {factor:.3g} (loss {losses_[best]:.4g}, "
        f"against {at_one:.4g} at the fitted clock and {frozen:.4g} for the frozen "
        f"baseline); {reading}"
        + (" (the best factor sits at the edge of the table's times)" if on_edge else "")
        + "; a diagnostic on the held-out pairs, not a score."
    )
    return {
        "log_time_scale": log_t0,
        "log_factors": log_s.tolist(),
        "losses": losses_.tolist(),
        "best_factor": factor,
        "loss_at_best": float(losses_[best]),
        "loss_at_fitted": at_one,
        "loss_frozen": frozen,
        "on_edge": bool(on_edge),
        "sentence": sentence,
    }


def _sentence(split: str, entry: dict) -> str:
    t = entry["theory"]
    fmt = lambda x: "n/a" if x is None else f"{x:.2f}"  # noqa: E731
    detail = t["time_spearman_c_detail"]
    lost = [n for n, won in entry["beats"].items() if not won]
    won = [n for n, w in entry["beats"].items() if w]
    head = (
        f"{split}: over {t['cells']} held-out (cell, epoch) pairs kappa {fmt(t['kappa'])} "
        f"(p = {entry['p_value']['kappa']:.3f}), Spearman c {fmt(t['spearman_c'])} (p = "
        f"{entry['p_value']['spearman_c']:.3f}), v {fmt(t['spearman_v'])}; through time, "
        f"per cell, Spearman of c {fmt(detail['mean'])} ± {fmt(detail['sem'])} over "
        f"{detail['cells']} cells ({detail['positive']} positive, sign test p = "
        f"{fmt(detail['sign_p'])}; trajectories permuted p = "
        f"{entry['p_value']['time_spearman_c']:.3f})"
    )
    if scores.value(t, "time_spearman_c") <= 0:
        head += ", at chance through time"
    if not lost:
        return head + "; the theory beats every baseline."
    return (
        head
        + f"; it does not beat {', '.join(lost)}"
        + (f" (it beats {', '.join(won)})." if won else " (nor any other baseline).")
    )


def evaluate(tr: Trajectories, table, permutations: int = PERMUTATIONS, seed: int = 0):
    """The fits, held-out predictions and scores of every split, the full fit on every
    pair and the clock (module docstring). Returns (result, predictions by split)."""
    pairs = pairs_of(tr)
    f = pairs.flat
    lay = fit.layout(table, [tr.final], log_f=f.log_f)
    all_folds = folds(tr, pairs)
    masks = np.array([train for _, train, _ in all_folds] + [f.defined])
    fits = fit.fit_many(f, lay, table, masks, seed=seed)
    c_hat, v_hat, _ = fit.predictions(fits.theta, f, lay, table)
    last_defined = f.defined[pairs.cell]  # the pair's cell had a defined last epoch
    result: dict[str, Any] = {
        "knob": tr.final.knob,
        "epochs": tr.times.tolist(),
        "pairs": int(f.n),
        "defined_pairs": int(f.defined.sum()),
        "fit": {
            "parameters": dict(zip(lay.names, lay.values(fits.theta[-1]).tolist(), strict=True)),
            "on_bound": lay.on_bound(fits.theta[-1]),
            "loss": float(fits.loss[-1]),
            "converged": bool(fits.converged[-1]),
            "pairs": int(f.defined.sum()),
        },
        "fits_converged": float(np.mean(fits.converged)),
        "splits": {},
    }
    predictions = {"full": (c_hat[-1], v_hat[-1])}
    for split in SPLITS:
        members = [i for i, (name, _, _) in enumerate(all_folds) if name == split]
        pc, pv = np.full(f.n, np.nan), np.full(f.n, np.nan)
        for i in members:
            held = all_folds[i][2]
            pc[held], pv[held] = c_hat[i][held], v_hat[i][held]
        scored = np.isfinite(pc) & f.defined
        if split == "earlier_epochs":
            scored &= last_defined
        theory = score(pc, pv, pairs, scored)
        names = EARLIER_BASELINES if split == "earlier_epochs" else baselines.NAMES
        split_folds = [(all_folds[i][1], all_folds[i][2] & scored) for i in members]
        base = {}
        for name in names:
            bc, bv = _baseline_predictions(name, split_folds, pairs)
            base[name] = score(bc, bv, pairs, scored)
        won = {name: beats(theory, b) for name, b in base.items()}
        entry: dict[str, Any] = {
            "theory": theory,
            "baselines": base,
            "p_value": _p_values(pc, pv, pairs, scored, theory, permutations, seed),
            "permutations": permutations,
            "beats": won,
            "beats_every_baseline": all(won.values()),
        }
        if split == "earlier_epochs":
            entry["fit_on_bound"] = lay.on_bound(fits.theta[members[0]])
            result["clock"] = _clock(fits.theta[members[0]], pairs, lay, table, scored)
        entry["sentence"] = _sentence(split, entry)
        result["splits"][split] = entry
        predictions[split] = (pc, pv)
    return result, predictions, pairs


def dataset(tr: Trajectories, pairs: Pairs, predictions: dict):
    """Measured and predicted c and v, dims (alpha, value, epoch): ``measured_c``,
    ``measured_c_se``, ..., ``predicted_c`` with a ``fit`` dimension (each split's pooled
    held-out predictions, and ``full``: the fit on every pair)."""
    import xarray as xr

    grid = tr.final.grid
    times = len(tr.times)

    def shaped(x):
        return np.moveaxis(np.asarray(x, float).reshape(times, *grid), 0, -1)

    dims = ("alpha", tr.final.dim, "epoch")
    names = list(predictions)
    f = pairs.flat
    variables: dict[str, tuple] = {
        f"measured_{n}": (dims, shaped(getattr(f, n))) for n in ("c", "c_se", "v", "v_se")
    }
    for i, n in enumerate(("c", "v")):
        variables[f"predicted_{n}"] = (
            ("fit", *dims),
            np.stack([shaped(predictions[k][i]) for k in names]),
        )
    meanings = {
        "measured_c": "no ok net with a gain in separation by that epoch",
        "measured_v": "no ok net with a gain in separation by that epoch",
        "measured_c_se": "fewer than two such nets",
        "measured_v_se": "fewer than two such nets",
        "predicted_c": "a pair that fit does not predict (held out by no fold, or the "
        "last epoch in earlier_epochs)",
        "predicted_v": "a pair that fit does not predict (held out by no fold, or the "
        "last epoch in earlier_epochs)",
    }
    return xr.Dataset(
        {k: (*v, {"nan_meaning": meanings[k]}) for k, v in variables.items()},
        coords={
            "alpha": tr.final.alphas,
            tr.final.dim: tr.final.values,
            "epoch": tr.times,
            "fit": names,
        },
    ).sortby("epoch")


def load(out) -> Trajectories:
    """The trajectories of the finished, checkpointed panel in directory ``out``, or a
    ParameterError (naming ``out``) before any work: for a depth panel, or one with no
    defined pair (nothing to fit or score)."""
    import springblock
    from springblock.validation.compare import theory_vs_nets

    theory_vs_nets.check_panel(out)
    tr = from_results(springblock.open_results(Path(out)))
    if tr.final.knob == "depth":
        raise ParameterError("out", str(out), "a panel of one depth (not --knob depth)")
    if not pairs_of(tr).flat.defined.any():
        raise ParameterError(
            "out",
            f"{out}, where no cell's nets gained separation at any checkpoint",
            "a panel with at least one defined (cell, epoch) pair",
        )
    return tr


def run_trajectories(
    out,
    target: Path | None = None,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
    store: Path | None = None,
    log=None,
    table_spec=None,
) -> dict:
    """Compare the model's time evolution with the checkpointed panel in ``out``; write
    ``target`` (default ``<out>/trajectories``) as a results directory (JSON, the
    :func:`dataset` and figures). The model table is kept in the results store ``store``
    (default ``<out>/store``), shared with ``nets compare``."""
    from springblock import results
    from springblock.plotting import save
    from springblock.validation.compare import plots, theory_vs_nets

    out = Path(out)
    permutations = check_int("permutations", permutations, 1, 100_000)
    tr = load(out)
    spec = table_spec or theory_vs_nets.default_table_spec([tr.final])
    table = theory_vs_nets.model_tables([tr.final], spec, store or out / "store", log)
    target = Path(target) if target is not None else out / "trajectories"
    result, predictions, pairs = evaluate(tr, table, permutations, seed)
    if log is not None:
        for name in result["fit"]["on_bound"]:
            log(f"[trajectories] warning: the fitted {name} sits on its bound")
    ds = dataset(tr, pairs, predictions)
    figures = []
    for name in ("c", "v"):
        figures += save(
            plots.trajectories_figure(ds, tr.final, name), target, f"trajectories_{name}"
        )
    result.update(
        {
            "model": {
                "solver": theory_vs_nets.SOLVERS[table.spec.model],
                "table": table.spec.to_json(),
                "blocks": table.spec.blocks,
            },
            "permutations": permutations,
            "figures": figures,
        }
    )
    ds.attrs = results.provenance_attrs(
        "theory-vs-nets-through-training", {"panel": str(out), "permutations": permutations}
    )
    results.write_results(target, result, ds)
    return result


def summary_lines(result: dict) -> list[str]:
    f = result["fit"]
    bound = f" ON ITS BOUND: {', '.join(f['on_bound'])}" if f["on_bound"] else ""
    lines = [
        f"[{result['knob']}] spring-block model ({result['model']['solver']}, "
        f"{result['model']['blocks']} blocks) through training, epochs "
        f"{', '.join(map(str, sorted(result['epochs'])))}; p-values from "
        f"{result['permutations']} permutations of the cells' trajectories",
        f"[{result['knob']}] fit on all {f['pairs']} defined pairs: loss {f['loss']:.4g}{bound}",
    ]
    lines += [f"[{result['knob']}] {s['sentence']}" for s in result["splits"].values()]
    lines.append(f"[{result['knob']}] {result['clock']['sentence']}")
    lines.append(f"figures: {result['figures'][0]} ...")
    return lines
