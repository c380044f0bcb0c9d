"""Fuzz tables of the ``dynamics`` commands (see tests/cli/test_fuzz.py): the probes each
option accepts; every other probe must be refused with exit status 2.

Accepted, and why: ``--dy2 0`` is a pair with equal targets (they merge in the rich
regime); ``--seed 0`` and ``--tracked-layer 0`` (the first hidden layer, 0-based) are
valid values; ``--controls ""`` fits no negative control.
"""

TWO_POINT = ("dynamics", "two-point")
XOR = ("dynamics", "xor")
LINEAR = ("dynamics", "linear")

_NETS = {"--seed": {"0"}, "--tracked-layer": {"0"}, "--controls": {""}}

ACCEPTED = {
    TWO_POINT: {**_NETS, "--dy2": {"0"}},
    XOR: dict(_NETS),
    LINEAR: {"--seed": {"0"}},
}
