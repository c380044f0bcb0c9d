"""Fuzz tables of the ``nets`` and ``run`` commands (see tests/cli/test_fuzz.py): the probes
each option accepts; every other probe must be refused with exit status 2."""

SWEEP = ("nets", "sweep")
COMPARE = ("nets", "compare")
TRAJECTORIES = ("nets", "trajectories")
RUN = ("run",)

BASE_ARGV = {
    SWEEP: ["--out", "fuzz-out"],
    COMPARE: ["--out", "{finished_panel}"],
    TRAJECTORIES: ["--out", "{checkpointed_panel}"],
}

ACCEPTED = {
    SWEEP: {
        "--alphas": {"0"},
        "--values": {"0"},  # data noise 0 (the default knob)
        "--seed": {"0"},
        "--data-seed": {"0"},
        "--workers": {"0"},  # 0: train in this process
    },
    COMPARE: {"--seed": {"0"}},
    TRAJECTORIES: {"--seed": {"0"}},
    RUN: {"--workers": {"0"}},
}
