"""Fuzz tables of the ``model`` commands (see tests/cli/test_fuzz.py): the probes each
option accepts; every other probe must be refused with exit status 2."""

EQ = ("model", "equilibrium")
SIM = ("model", "simulate")
PD = ("model", "phase-diagram")

BASE_ARGV = {EQ: ["--mu-right", "0.1"]}

UNDERDAMPED = ("--mass", "--damping", "--decay", "--method")
FLAG_ARGV = {(SIM, flag): ["--variant", "underdamped"] for flag in UNDERDAMPED} | {
    (SIM, "--smoothing"): ["--variant", "underdamped", "--method", "smoothed"]
}

ACCEPTED = {
    EQ: {"--target": {"-1", "0"}, "--mu-right": {"0"}, "--mu-left": {"0"}},
    SIM: {
        "--target": {"-1", "0"},
        "--mu-right": {"0"},
        "--mu-left": {"0"},
        "--noise": {"0"},
        "--seed": {"0"},
        "--damping": {"0"},
        "--decay": {"0"},
    },
    PD: {"--asymmetry": {"0"}, "--mu-min": {"0"}, "--seed": {"0"}},
}
