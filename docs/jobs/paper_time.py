"""The expected wall time of ``springblock run --preset paper`` on this machine, extrapolated
from 6 nets of every knob value of its four panels (10 % of the nets;
springblock.validation.nets.timing); docs/jobs/panel.py checks the same extrapolation
against the data-noise panel it trains in full.

Each panel's sample trains on the workers the whole panel would get (one per core on a
machine with several); the data-noise sample is also trained in this one process, to show
what the other execution would cost. About 15 minutes on 2 cores.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from panel import SAMPLE_PER_VALUE as PER_VALUE  # the sample its check is made with


def run(img: Path) -> dict:
    from springblock import pipeline
    from springblock.validation.nets import timing
    from springblock.validation.nets.executor import Execution

    preset = pipeline.preset("paper")
    panels = []
    in_process = None
    for spec in preset.nets:
        with tempfile.TemporaryDirectory() as tmp:
            panels.append(timing.measure(spec, tmp, PER_VALUE, log=print).to_json())
        if spec.knob == "data-noise":
            with tempfile.TemporaryDirectory() as tmp:
                alone = timing.measure(spec, tmp, PER_VALUE, Execution(workers=0), log=print)
                in_process = alone.to_json()
        print(f"[paper_time] {spec.knob}: {panels[-1]['total_s'] / 60:.1f} min", flush=True)
    return {
        "command": "springblock run --preset paper",
        "per_value": PER_VALUE,
        "panels": panels,
        "data_noise_in_process": in_process,
        "total_s": sum(p["total_s"] for p in panels),
        "nets": sum(p["nets"] for p in panels),
        "sampled_nets": sum(p["sampled_nets"] for p in panels),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} hours" if seconds >= 5400 else f"{seconds / 60:.0f} minutes"


def block_estimate(r: dict) -> str:
    rows = [
        "| panel | nets | workers | seconds per net, one worker (min-max over knob values) "
        "| compilations x seconds | expected |",
        "|---|---|---|---|---|---|",
    ]
    for p in r["panels"]:
        t = p["seconds_per_net"]
        rows.append(
            f"| {p['knob']} | {p['nets']} | {p['workers']} | {min(t):.2f}-{max(t):.2f} "
            f"| {p['shapes']} x {p['compile_s']:.1f} | {_hours(p['total_s'])} |"
        )
    lines = [
        f"`{r['command']}` trains {r['nets']} nets; extrapolated from {r['sampled_nets']} of "
        f"them ({r['per_value']} per knob value, on the workers each panel gets), it is "
        f"expected to take about **{_hours(r['total_s'])}** here ({r['cpu_count']} CPU "
        "cores), the model stage and the comparison aside:",
        "",
        *rows,
    ]
    by_knob = {p["knob"]: p for p in r["panels"]}
    alone = r.get("data_noise_in_process")
    if alone is not None and "data-noise" in by_knob:
        lines += [
            "",
            f"In one process (`--workers 0`) instead of {by_knob['data-noise']['workers']} "
            f"workers, the data-noise panel would take {alone['total_s'] / 60:.1f} minutes "
            f"({min(alone['seconds_per_net']):.2f}-{max(alone['seconds_per_net']):.2f} s "
            "per net).",
        ]
    return "\n".join(lines)


def block_readme(r: dict) -> str:
    return (
        f"`{r['command']}` (the paper's whole protocol, {r['nets']} nets) is expected to take "
        f"about {_hours(r['total_s'])} on {r['cpu_count']} cores, extrapolated from "
        f"{r['sampled_nets']} of its nets ([docs/validation.md](docs/validation.md#how-long-"
        "the-whole-paper-preset-takes)); spread it over more cores or a cluster with "
        "`--workers` and `--scheduler` ([docs/scaling.md](docs/scaling.md))."
    )


BLOCKS = {"estimate": block_estimate, "readme": block_readme}
