"""How long a sweep will take, extrapolated from a measured sample of its own nets.

A panel's nets differ in cost only through their knob value (the batch size sets the
steps per epoch, the learning-rate panel trains longer, a diverging net stops early), not
through alpha or the seed. So a sample that trains ``per_value`` nets of every knob value,
with the execution the panel would get, measures what the panel costs:

    wall ~= sum_v n_v t_v / W  +  S c  +  o,

with n_v the panel's nets at value v, t_v the sample's mean seconds per net at v once its
shape is compiled (one worker's time), W the workers training in parallel (1 in this
process), S the compiled shapes (one per batch size, else one), c the mean extra seconds
of the first net of a shape in a process (compilation; the W workers compile in parallel)
and o the sample's wall time not spent in nets (starting the workers, the store, the
labelled results), paid once per panel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from springblock.validation.nets.sweep import SweepSpec


def sample_spec(spec: SweepSpec, per_value: int = 3) -> SweepSpec:
    """``spec`` with ``per_value`` nets of every knob value (its first alpha, that many
    seeds; every alpha it needs when ``per_value`` exceeds its seeds) and everything else
    unchanged."""
    n = max(1, min(int(per_value), spec.seeds * len(spec.alphas)))
    seeds = min(n, spec.seeds)
    return SweepSpec.from_json(
        spec.to_json() | {"alphas": spec.alphas[: math.ceil(n / seeds)], "seeds": seeds}
    )


@dataclass(frozen=True)
class WallTimeEstimate:
    """The extrapolated wall time of one panel (module docstring), with its terms."""

    knob: str
    nets: int
    workers: int
    seconds_per_net: tuple[float, ...]  # t_v, per knob value of the panel
    shapes: int
    compile_s: float
    overhead_s: float
    sampled_nets: int
    sample_wall_s: float

    @property
    def training_s(self) -> float:
        """sum_v n_v t_v / W (every value holds the same number of nets)."""
        per_value = self.nets / len(self.seconds_per_net)
        return per_value * float(np.sum(self.seconds_per_net)) / self.workers

    @property
    def total_s(self) -> float:
        return self.training_s + self.shapes * self.compile_s + self.overhead_s

    def to_json(self) -> dict:
        return {
            "knob": self.knob,
            "nets": self.nets,
            "workers": self.workers,
            "seconds_per_net": list(self.seconds_per_net),
            "shapes": self.shapes,
            "compile_s": self.compile_s,
            "overhead_s": self.overhead_s,
            "sampled_nets": self.sampled_nets,
            "sample_wall_s": self.sample_wall_s,
            "training_s": self.training_s,
            "total_s": self.total_s,
        }


def estimate(spec: SweepSpec, sample, sample_wall_s: float, workers: int) -> WallTimeEstimate:
    """The wall time of the panel ``spec`` from ``sample``, the labelled results of a sweep
    of :func:`sample_spec` (its ``train_seconds`` and ``first_of_shape``) that took
    ``sample_wall_s`` on ``workers`` workers (1: this process). Every knob value needs a
    net that was not the first of its shape (``per_value`` >= 2)."""
    seconds = np.asarray(sample["train_seconds"].values, float)  # (alpha, value, seed)
    first = np.asarray(sample["first_of_shape"].values, float) == 1
    if np.isnan(seconds).any():
        raise ValueError("the sample is incomplete: some of its nets are missing")
    warm = np.where(first, np.nan, seconds)
    counts = (~first).sum(axis=(0, 2))
    if (counts == 0).any():
        values = [v for v, k in zip(spec.values or (), counts, strict=True) if k == 0]
        raise ValueError(
            f"no compiled-shape time at {spec.knob} = {values}: sample at least 2 nets per value"
        )
    per_value = np.nansum(warm, axis=(0, 2)) / counts
    # a first net's extra time over the warm nets of its value: its compilation
    extra = (seconds - per_value[None, :, None])[first]
    compile_s = float(extra.mean()) if extra.size else 0.0
    shapes = len(spec.values or ()) if spec.knob == "batch-size" else 1
    overhead = max(sample_wall_s - float(seconds.sum()) / workers, 0.0)
    return WallTimeEstimate(
        knob=spec.knob,
        nets=spec.nets,
        workers=workers,
        seconds_per_net=tuple(float(t) for t in per_value),
        shapes=shapes,
        compile_s=max(compile_s, 0.0),
        overhead_s=overhead,
        sampled_nets=int(seconds.size),
        sample_wall_s=float(sample_wall_s),
    )


def measure(spec: SweepSpec, out, per_value: int = 3, execution=None, log=None):
    """Train the sample of ``spec`` (:func:`sample_spec`) under ``out`` on this machine, with
    as many local workers as the whole panel would get with ``execution`` (default: the
    automatic choice), and extrapolate (:func:`estimate`)."""
    import time
    from pathlib import Path

    from springblock.validation.nets import sweep
    from springblock.validation.nets.executor import Execution

    workers = (execution or Execution()).resolve(spec.nets)  # 0: this process
    sample = sample_spec(spec, per_value)
    started = time.perf_counter()
    ds = sweep.run(sample, Path(out), execution=Execution(workers=workers), log=log)
    wall = time.perf_counter() - started
    return estimate(spec, ds, wall, max(workers, 1))
