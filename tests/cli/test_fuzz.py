"""Every option of every command, fed bad values, through :func:`springblock.cli.main`.

For each leaf command (found by walking the real parser, so a new command or option is
fuzzed without editing this file) and each option that takes a value, the probes of the
option's kind are tried with ``--dry-run`` (validation only, no work):

- numbers: ``abc``, ``nan``, ``inf``, ``-inf``, ``-1``, ``0``;
- integers: ``abc``, ``1.5``, ``-1``, ``0``, ``10**12`` (a size that would exhaust memory);
- lists of numbers: the same, and an empty list;
- choices: ``bogus``; paths: one under a regular file (cannot be created or read).

A probe must end with exit status 2 and exactly one line on stderr that names the option
(``argument --flag``), and no traceback, unless the command's table of accepted probes
(``tests/<theory>/cli_fuzz.py``: ``ACCEPTED``) lists it as valid, in which case it must
pass validation (exit 0). ``BASE_ARGV`` gives the arguments a command needs to validate
at all (its required options), keyed by the command's path; ``FLAG_ARGV``, keyed by
(path, flag), the arguments an option needs to apply (``--mass`` needs ``--variant
underdamped``). So the tables document, option by option, which of these values each
command allows, and this test holds the code to them.
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

import pytest

from springblock import cli
from tests.toy import write_toy_npz

THEORIES = ("spring", "nets", "pdlt", "curves", "dynamics")


def _tables():
    base, flag_argv, accepted = {}, {}, {}
    for theory in THEORIES:
        try:
            module = importlib.import_module(f"tests.{theory}.cli_fuzz")
        except ModuleNotFoundError:
            continue
        base.update(getattr(module, "BASE_ARGV", {}))
        flag_argv.update(getattr(module, "FLAG_ARGV", {}))
        accepted.update(getattr(module, "ACCEPTED", {}))
    return base, flag_argv, accepted


BASE_ARGV, FLAG_ARGV, ACCEPTED = _tables()
NUMBER_PROBES = ("abc", "nan", "inf", "-inf", "-1", "0")
INT_PROBES = ("abc", "1.5", "-1", "0", "1000000000000")
UNDER_A_FILE = "pyproject.toml/inside"  # a path whose parent is a regular file


def _kind(action: argparse.Action) -> str | None:
    if action.nargs == 0 or not action.option_strings or action.dest in ("help", "dry_run"):
        return None
    if action.choices is not None:
        return "choice"
    typ = action.type
    name = getattr(typ, "__qualname__", "") or ""
    if typ is Path:
        return "path"
    if "parse_numbers" in name:
        closure = typ.__closure__ or ()
        kinds = [c.cell_contents for c in closure if callable(c.cell_contents)]
        return "ints" if int in kinds else "numbers"
    if name.endswith("parse_float") or typ is float:
        return "number"
    if name.endswith("parse_int") or typ is int:
        return "int"
    return "text"


def _probes(kind: str) -> tuple[str, ...]:
    return {
        "number": NUMBER_PROBES,
        "numbers": (*NUMBER_PROBES, ""),
        "int": INT_PROBES,
        "ints": (*INT_PROBES, ""),
        "choice": ("bogus",),
        "path": (UNDER_A_FILE,),
        "text": ("",),
    }[kind]


def _cases():
    parser = cli.build_parser()
    for path, leaf in cli.commands(parser):
        for action in leaf._actions:
            kind = _kind(action)
            if kind is None:
                continue
            flag = max(action.option_strings, key=len)
            for probe in _probes(kind):
                yield pytest.param(path, flag, probe, id=f"{' '.join(path)} {flag}={probe!r}")


CASES = list(_cases())


def test_every_command_is_fuzzed():
    commands = {case.values[0] for case in CASES}
    assert commands == {path for path, _ in cli.commands(cli.build_parser())}
    assert len(CASES) >= 400


@pytest.fixture(scope="session")
def finished_panel(tmp_path_factory):
    """A finished one-cell sweep, for commands that read one (``{finished_panel}`` in a
    fuzz table's arguments; ``{checkpointed_panel}`` for one with checkpoints, the fixture
    of tests/conftest.py). The toy data and net of test_cli.py's sweep on a user .npz: the
    command line's sweeps of that net (float64 switched on, as the CLI does) share one
    trainer program per session through the compilation cache."""
    root = tmp_path_factory.mktemp("fuzz-panel")
    write_toy_npz(root / "toy.npz")
    out = root / "panel"
    argv = [
        "nets",
        "sweep",
        "--dataset",
        str(root / "toy.npz"),
        "--alphas",
        "1",
        "--values",
        "0",
        "--seeds",
        "1",
        "--epochs",
        "3",
        "--depth",
        "3",
        "--width",
        "8",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert cli.main(argv) == 0
    return out


@pytest.mark.parametrize(("path", "flag", "probe"), CASES)
def test_bad_value_exits_2_with_one_line_naming_the_flag(
    path, flag, probe, capsys, monkeypatch, request
):
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)  # UNDER_A_FILE is relative to the repository root
    base = [*BASE_ARGV.get(path, []), *FLAG_ARGV.get((path, flag), [])]
    for placeholder in ("finished_panel", "checkpointed_panel"):
        if f"{{{placeholder}}}" in base:
            panel = str(request.getfixturevalue(placeholder))
            base = [panel if a == f"{{{placeholder}}}" else a for a in base]
            capsys.readouterr()
    argv = [*path, *base, flag, probe, "--dry-run"]
    with pytest.raises(SystemExit) as exit_info:
        code = cli.main(argv)
        raise SystemExit(code)
    captured = capsys.readouterr()
    if probe in ACCEPTED.get(path, {}).get(flag, ()):
        assert exit_info.value.code == 0, captured.err
        json.loads(captured.out)
        return
    assert exit_info.value.code == 2, f"accepted {flag} {probe!r}: {captured.out[:300]}"
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert f"argument {flag}" in lines[0] or _alias_named(path, flag, lines[0]), lines[0]
    assert "Traceback" not in captured.err


def _alias_named(path, flag, line) -> bool:
    """An option may be named by another of its spellings (-L for --blocks)."""
    parser = cli.build_parser()
    for leaf_path, leaf in cli.commands(parser):
        if leaf_path == path:
            for action in leaf._actions:
                if flag in action.option_strings:
                    return any(f"argument {o}" in line for o in action.option_strings)
    return False
