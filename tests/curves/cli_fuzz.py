"""Fuzz tables of the ``curves`` commands (see tests/cli/test_fuzz.py): the probes each
option accepts; every other probe must be refused with exit status 2.

Zero is a valid bias variance, label-noise variance, number of common or posterior points
and seed;
nothing else among the probes is valid (sizes, counts, depths, dimensions, widths and
variances of weights and ridges must be positive, and 10**12 exceeds every size bound).
"""

PREDICT = ("curves", "predict")
COMPARE = ("curves", "compare")
TUNE = ("curves", "tune")

#: Options of the trained nets: they apply only with --nets, which needs the NTK.
NET_OPTIONS = ("--width", "--net-datasets", "--steps")
FLAG_ARGV = {(COMPARE, flag): ["--nets", "--kernel", "ntk"] for flag in NET_OPTIONS}

_KERNEL_ZEROS = {"--bias": {"0"}, "--readout-bias": {"0"}, "--noise": {"0"}}

ACCEPTED = {
    PREDICT: dict(_KERNEL_ZEROS),
    COMPARE: {
        **_KERNEL_ZEROS,
        "--common-points": {"0"},
        "--posterior-points": {"0"},
        "--seed": {"0"},
    },
    TUNE: {"--biases": {"0"}, "--noise": {"0"}},
}
