"""Per-net speed in a real sweep, issue 14's table: ``benchmarks/sweep.py --skip-paper`` in
a child process (24 nets of the data-noise knob, training, measurement and records; the
matmul limit, PyTorch before and after, streamed, vmapped and 1 and 2 Dask workers, then 10
rounds pairing PyTorch with the 2 workers, all in that one run), then the same run with the
compiled BatchNorm kernels switched off (``SPRINGBLOCK_XLA_BATCH_NORM=1``, without the
paired rounds): what they are worth in a sweep. About fifteen minutes.
"""

from __future__ import annotations

import os
from pathlib import Path

from _cli import run_benchmark

from springblock.validation.nets import batch_norm_kernel

ARGV = ["--nets", "24", "--workers", "2", "--skip-paper"]


def run(img: Path) -> dict:
    result = run_benchmark("sweep.py", ARGV)
    result["command"] = "python3 benchmarks/sweep.py " + " ".join(ARGV)
    result["load_average"] = os.getloadavg()
    result["kernels_built"] = batch_norm_kernel.AVAILABLE
    if batch_norm_kernel.AVAILABLE:
        result["xla_fusions"] = run_benchmark(  # the table only: no paired rounds
            "sweep.py", [*ARGV, "--rounds", "0"], {batch_norm_kernel.DISABLE_VARIABLE: "1"}
        )
    return result


def block_table(r: dict) -> str:
    limit = r["matmul_limit_s_per_net"]
    ours = r["springblock"]
    torch = (r.get("pytorch") or {}).get("per_net_s")

    def row(name: str, seconds: float) -> str:
        versus = f"{torch / seconds:.2f}x" if torch else "n/a"
        return f"| {name} | {seconds:.3f} | {versus} | {100 * limit / seconds:.0f} % |"

    rows = [
        "| | s per net | speed-up over PyTorch | matmul limit over s per net |",
        "|---|---|---|---|",
        f"| matmul limit, (2560 x 100) @ (100 x 100) at {r['matmul_gflops']:.0f} GFLOP/s "
        f"| {limit:.3f} | | 100 % |",
    ]
    if torch:
        rows.append(
            row(f"PyTorch {r['pytorch']['version']}, {r['pytorch']['threads']} threads", torch)
        )
    rows.append(row("streamed, one process", ours["streamed"]["per_net_s"]))
    rows.append(row("vmapped cells, one process", ours["batched"]["per_net_s"]))
    workers = sorted(int(k.split("_")[1]) for k in ours if k.startswith("workers_"))
    for n in workers:
        entry = ours[f"workers_{n}"]
        rows.append(row(f"{n} Dask worker{'s' if n > 1 else ''}, warm", entry["per_net_s"]))
    most = ours[f"workers_{workers[-1]}"]
    scaling = ours["workers_1"]["per_net_s"] / most["per_net_s"] if len(workers) > 1 else 1.0
    runs = (r.get("pytorch") or {}).get("per_net_s_runs", [])
    torch_text = (
        f"{torch / r['best_per_net_s']:.2f}x PyTorch's per-net time"
        + (
            f" (PyTorch's faster of its runs before and after ours, "
            f"{' and '.join(f'{t:.3f}' for t in runs)} s)"
            if len(runs) > 1
            else ""
        )
        if torch
        else "PyTorch not installed here (the bench extra), so no ratio"
    )
    fusions = r.get("xla_fusions")
    if fusions is None:
        kernel_text = "The compiled BatchNorm kernels were not built where this ran."
    else:
        mine = most["per_net_s"]
        theirs = fusions["springblock"][f"workers_{workers[-1]}"]["per_net_s"]
        fusions_torch = (fusions.get("pytorch") or {}).get("per_net_s")  # None where skipped
        kernel_text = (
            f"Run again just after with the compiled BatchNorm kernels switched off "
            f"(`{batch_norm_kernel.DISABLE_VARIABLE}=1`, XLA's fusions of the same maths), "
            f"{workers[-1]} workers took {theirs:.3f} s per net, {theirs / mine:.2f}x the time "
            f"with the kernels (that run's matmul limit "
            f"{fusions['matmul_limit_s_per_net']:.3f} s"
            + (f", PyTorch {fusions_torch:.3f} s" if fusions_torch else "")
            + ")."
        )
    return "\n".join(
        [
            f"Measured by `{r['command']}` in one run (load average {r['load_average'][0]:.1f};"
            " 24 nets of the data-noise knob at 0 and 0.2, alphas 0.4 and 1, 100 full-batch "
            "epochs each, training, measurement and records included; compilation and the "
            "cluster's start-up timed apart"
            + (
                "; PyTorch trains the same mix, the data noise drawn at every step as the "
                "authors' `src/main.py` draws it, and measures the same separations and "
                "accuracies):"
                if "mix" in (r.get("pytorch") or {})
                else "):"
            ),
            "",
            *rows,
            "",
            f"The fastest execution, {r['best_per_net_s']:.3f} s per net, is {torch_text} and "
            f"{100 * r['fraction_of_matmul_limit']:.0f} % of the matmul limit. From 1 to "
            f"{workers[-1]} workers the per-net time falls {scaling:.2f}x; the workers' start-up "
            f"and compilation, {most['start_and_compile_s']:.0f} s, are paid once per panel. "
            + kernel_text,
        ]
    )


def _interval(entry: dict, fmt: str) -> str:
    low, high = entry["ci95"]
    if low is None or high is None:
        return "too few rounds for a 95 % interval"
    return f"95 % interval {fmt.format(low)}-{fmt.format(high)}"


def paired_text(r: dict) -> str:
    """The paired rounds' summary (benchmarks/sweep.py ``paired_rounds``), in words."""
    paired = r.get("paired")
    if not paired or "rounds" not in paired:
        return ""
    speedup, fraction = paired["speedup"], paired["fraction_of_matmul_limit"]
    p = paired["p_median_speedup_at_most_2"]
    percent = {"ci95": [None if e is None else 100 * e for e in fraction["ci95"]]}
    low = speedup["ci95"][0]
    if low is not None and low >= 2:
        verdict = "the 2x target holds: the whole interval lies above 2x"
    elif low is None and speedup["median"] >= 2:
        verdict = "the median is above 2x, but too few rounds to show it"
    elif speedup["median"] >= 2:
        verdict = (
            "the median is above 2x, but the interval reaches below it: not shown to be at least 2x"
        )
    else:
        verdict = "the median is below 2x: the 2x target is not met"
    return (
        f"Because this machine's speed drifts by tens of per cent within minutes (PyTorch's "
        f"two runs above), the same run then pairs the two round by round: "
        f"{len(paired['rounds'])} rounds, each timing PyTorch on "
        f"{paired['pytorch_nets_per_round']} nets in two fresh processes (the faster counts) "
        f"and ours on {paired['nets_per_round']} nets of the same mix on a cluster of "
        f"{paired['workers']} workers started for the round and warmed up untimed, in "
        "alternating order, PyTorch never beside a live cluster; the matmul rate is the "
        "faster of two measurements beside ours. Median speed-up "
        f"over PyTorch {speedup['median']:.2f}x ({_interval(speedup, '{:.2f}x')}; sign "
        f"test of a median of at most 2x: p = {p:.3f}); {verdict}. Median fraction of the "
        f"matmul limit {100 * fraction['median']:.0f} % "
        f"({_interval(percent, '{:.0f} %')})."
    )


def block_paired(r: dict) -> str:
    text = paired_text(r)
    return text or "This run did not pair PyTorch with ours (PyTorch skipped, or --rounds 0)."


BLOCKS = {"table": block_table, "paired": block_paired}
