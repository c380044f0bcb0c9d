"""Fuzz tables of the ``pdlt`` commands (see tests/cli/test_fuzz.py): the probes each
option accepts; every other probe must be refused with exit status 2.

Why these are valid: C_b = 0 is the critical bias of every named class; the residual
shortcut weight gamma may be any real (the recursions are even in gamma except the third
cumulant, which flips sign with it); the branch weight xi may be negative (b and W are
symmetric, so only xi^2 matters) but not 0; q12 = -1 and 0 are Gram entries of unit
inputs (q12^2 <= q11 q22 = 1); seed 0 is a seed.
"""

CR = ("pdlt", "criticality")
KN = ("pdlt", "kernel")
FW = ("pdlt", "finite-width")

BASE_ARGV = {command: ["--activation", "tanh"] for command in (CR, KN, FW)}

ACCEPTED = {
    KN: {"--cb": {"0"}, "--gamma": {"-1", "0"}, "--xi": {"-1"}, "--q12": {"-1", "0"}},
    FW: {"--cb": {"0"}, "--gamma": {"-1", "0"}, "--xi": {"-1"}, "--seed": {"0"}},
}
