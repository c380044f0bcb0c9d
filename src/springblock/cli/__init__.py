"""Command-line interface: ``springblock GROUP COMMAND [options]``.

A thin shell over the library. Each command registers two functions (see
:mod:`springblock.cli.common`): ``configure`` builds the library's validated config from the
options, before any work, and ``execute`` runs it. Bad input of any kind ends here with one
line naming the flag and what it allows, exit status 2, and no traceback; ``--dry-run``
prints the resolved config and exits. Every command takes ``--json`` (one JSON object on
stdout); commands that store results take ``--out DIR``.

Groups register themselves from their own modules (``register(groups)``), so adding one
touches only :data:`GROUPS` here.
"""

from __future__ import annotations

import argparse
import sys

from springblock.cli import curves, dynamics, model, nets, pdlt, run
from springblock.params import ParameterError

#: The command groups, in the order ``--help`` lists them.
GROUPS = (run, model, nets, pdlt, curves, dynamics)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``PROG: error: MESSAGE (see PROG --help)``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> Parser:
    from springblock import __version__

    parser = Parser(
        prog="springblock",
        description="Theories of feature learning in deep networks, derived, solved and "
        "validated. Starts with the spring-block theory (Shi, Pan & Dokmanic, PRL 2025).",
    )
    parser.add_argument("--version", action="version", version=f"springblock {__version__}")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    for group in GROUPS:
        group.register(groups)
    _finish(parser)
    return parser


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser) of every leaf command, e.g. (("model", "equilibrium"), parser)."""
    found = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found = True
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))
    if not found and path:
        yield path, parser


def _finish(parser: argparse.ArgumentParser) -> None:
    """Give every command ``--dry-run`` and make every option's help state its default."""
    for _, leaf in commands(parser):
        leaf.add_argument(
            "--dry-run",
            action="store_true",
            help="validate the options, print the resolved configuration as JSON and exit",
        )
        _state_defaults(leaf)


def _state_defaults(parser: argparse.ArgumentParser) -> None:
    """Append "(default: X)" to every option's help that does not state its default."""
    for action in parser._actions:
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


def _fail(prog: str, err: ParameterError) -> int:
    flag = "--" + err.name.replace("_", "-")
    sys.stderr.write(f"{prog}: error: argument {flag}: {err}\n")
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = " ".join(["springblock", args.group, *([args.command] if "command" in args else [])])
    try:
        config = args.configure(args)
    except ParameterError as err:
        sys.exit(_fail(prog, err))
    if args.dry_run:
        from springblock import results

        sys.stdout.write(results.dumps({"command": prog, "config": config}) + "\n")
        return 0
    import jax

    # Double precision for the ODE solvers and closed forms; the noisy ensembles and the
    # nets ask for float32 explicitly.
    jax.config.update("jax_enable_x64", True)
    try:
        return args.execute(config, args)
    except ParameterError as err:  # found only while running (e.g. a file changed since)
        sys.exit(_fail(prog, err))
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted; finished work is kept on disk\n")
        sys.exit(130)
    except BrokenPipeError:
        return 0
