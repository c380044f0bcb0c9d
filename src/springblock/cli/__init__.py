"""Command-line interface: ``springblock GROUP COMMAND [options]``.

A thin shell: each group module parses, validates into :mod:`springblock.params` objects
(bad input exits with status 2 and a message naming the parameter before any work starts),
calls the library and writes results. Every command takes ``--json`` (one JSON object on
stdout) and ``--out DIR`` (figures as PNG and PDF plus a results file).

Groups register themselves from their own modules (``register(groups)``), so adding one
touches only :data:`GROUPS` here.
"""

from __future__ import annotations

import argparse

from springblock.cli import curves, dynamics, model, nets, pdlt, run
from springblock.params import ParameterError

#: The command groups, in the order ``--help`` lists them.
GROUPS = (run, model, nets, pdlt, curves, dynamics)


def build_parser() -> argparse.ArgumentParser:
    from springblock import __version__

    parser = argparse.ArgumentParser(
        prog="springblock",
        description="Theories of feature learning in deep networks, derived, solved and "
        "validated. Starts with the spring-block theory (Shi, Pan & Dokmanic, PRL 2025).",
    )
    parser.add_argument("--version", action="version", version=f"springblock {__version__}")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    for group in GROUPS:
        group.register(groups)
    _state_defaults(parser)
    return parser


def _state_defaults(parser: argparse.ArgumentParser) -> None:
    """Append "(default: X)" to every option's help that does not state its default, in
    every subcommand, so ``--help`` always shows what a bare command runs with."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _state_defaults(sub)
            continue
        default = action.default
        if (
            not action.option_strings
            or action.nargs == 0  # flags (store_true, help, version)
            or default is None
            or default is argparse.SUPPRESS
            or "default" in (action.help or "")
        ):
            continue
        shown = " ".join(map(str, default)) if isinstance(default, tuple | list) else default
        action.help = f"{action.help} (default: {shown})" if action.help else f"default: {shown}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import jax

    # Double precision for the ODE solvers and closed forms; the noisy ensembles ask for
    # float32 explicitly (numerics.overdamped, numerics.underdamped).
    jax.config.update("jax_enable_x64", True)
    try:
        return args.func(args)
    except ParameterError as err:
        flag = "--" + err.name.replace("_", "-")
        parser.exit(2, f"springblock: error: argument {flag}: {err}\n")
    except KeyboardInterrupt:
        parser.exit(130, "springblock: interrupted; finished work is kept on disk\n")
    except BrokenPipeError:
        return 0
