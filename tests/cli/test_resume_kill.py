"""A sweep killed with SIGKILL mid-run loses nothing already finished and resumes to the
same results as an uninterrupted run.

The kill is placed, not timed: the sweep runs under :data:`KILLED_WHILE_WRITING`, which
SIGKILLs the process halfway through writing its fourth net's record. (Killing it from
outside once a few records had appeared was a race: with the session's compilation cache
warm, all 12 tiny nets could finish between two looks at the store.)"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np

from springblock import cli

#: Runs ``springblock`` with its arguments, but the process SIGKILLs itself halfway through
#: writing the record of its fourth net: three records are on disk, the fourth is a torn
#: temporary file.
KILLED_WHILE_WRITING = """
import os, signal, sys
from pathlib import Path
from springblock import cli, results

write_json, written = results.write_json, []

def write_json_then_die(path, value):
    if Path(path).parent.name == "nets":
        written.append(path)
        if len(written) == 4:
            def torn(tmp):
                tmp.write_text('{"torn')
                os.kill(os.getpid(), signal.SIGKILL)
            return results.atomic_write(path, torn)
    return write_json(path, value)

results.write_json = write_json_then_die
sys.exit(cli.main(sys.argv[1:]))
"""


def sweep_args(data, out):
    return [
        "nets",
        "sweep",
        "--dataset",
        str(data),
        "--alphas",
        "0 0.5 1",
        "--values",
        "0 0.3",
        "--seeds",
        "2",
        "--epochs",
        "40",
        "--depth",
        "3",
        "--width",
        "16",
        "--train-size",
        "200",
        "--no-progress",
        "--json",
        "--out",
        str(out),
    ]


def test_sigkill_mid_sweep_then_resume(tmp_path, capsys):
    rng = np.random.default_rng(0)
    means = rng.normal(0, 2, (3, 8))
    y = rng.integers(0, 3, 260)
    x = (means[y] + rng.normal(size=(260, 8))).astype(np.float32)
    data = tmp_path / "toy.npz"
    np.savez(data, x_train=x[:200], y_train=y[:200], x_test=x[200:], y_test=y[200:])

    # Only the killed run needs its own process; the resumed and the straight run share this
    # one (and its compiled trainer), which a resume in a new process would not change.
    killed = tmp_path / "killed"
    crash = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_WRITING, *sweep_args(data, killed)],
        capture_output=True,
        timeout=600,
    )
    assert crash.returncode == -signal.SIGKILL, crash.stderr
    nets = killed / "store"
    survivors = [p for p in nets.rglob("nets/*.json") if not p.name.startswith(".")]
    assert len(survivors) == 3
    assert [p for p in nets.rglob("nets/.*")], "the torn temporary file is left, never read"
    kept = {p: p.read_bytes() for p in survivors}  # records carry timings: a retrain differs

    assert cli.main(sweep_args(data, killed)) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert {p: p.read_bytes() for p in survivors} == kept, "finished nets are not retrained"
    assert cli.main(sweep_args(data, tmp_path / "straight")) == 0
    straight = json.loads(capsys.readouterr().out)
    a, b = resumed["cells"], straight["cells"]
    assert len(a) == 12  # 3 alphas x 2 values x 2 seeds
    assert [c["load_curve"] for c in a] == [c["load_curve"] for c in b]
    assert [c["test_accuracy"] for c in a] == [c["test_accuracy"] for c in b]
