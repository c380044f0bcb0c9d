"""What the command groups share: number parsing, list options, output flags, printing.

Every command is two functions registered on its parser with ``set_defaults``:

- ``configure(args) -> config``: turns the parsed options into the library's validated
  config object (defaults come from the library, never from here) and checks every file it
  names. It does no work; a bad value raises :class:`~springblock.params.ParameterError`,
  which :func:`springblock.cli.main` prints as one line naming the flag, exit status 2.
- ``execute(config, args) -> int``: calls the library with that config, prints, writes.

``--dry-run`` (every command) prints the resolved config as JSON and stops after
``configure``.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from springblock.params import ParameterError


def parse_float(text: str) -> float:
    """argparse type: any float literal (NaN and inf are rejected later, by name)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def parse_numbers(kind: Callable[[str], Any] = float):
    """argparse type: numbers separated by spaces or commas, e.g. '40 80 160' or '40,80'."""

    def parse(text: str) -> tuple:
        try:
            return tuple(kind(v) for v in text.replace(",", " ").split())
        except ValueError:
            name = "integers" if kind is int else "numbers"
            raise argparse.ArgumentTypeError(f"not a list of {name}: {text!r}") from None

    return parse


class _Concatenate(argparse.Action):
    """Joins the values of a list option given as several words and/or quoted lists."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, tuple(x for part in values for x in part))


def add_numbers(
    p: argparse._ActionsContainer, *flags: str, kind: Callable[[str], Any] = float, **kwargs
) -> argparse.Action:
    """A list option that takes ``--flag 0 0.5 1`` as well as ``--flag "0 0.5 1"`` or
    ``--flag 0,0.5,1``; the parsed value is a tuple."""
    kwargs.setdefault("metavar", "X")
    return p.add_argument(
        *flags, nargs="+", type=parse_numbers(kind), action=_Concatenate, **kwargs
    )


def add_words(p: argparse._ActionsContainer, *flags: str, **kwargs) -> argparse.Action:
    """A list-of-names option: ``--flag a b`` or ``--flag "a,b"``; the value is a tuple
    (possibly empty: ``--flag ""``)."""

    def words(text: str) -> tuple[str, ...]:
        return tuple(w for w in text.replace(",", " ").split() if w)

    kwargs.setdefault("metavar", "NAME")
    return p.add_argument(*flags, nargs="+", type=words, action=_Concatenate, **kwargs)


def default_of(cls, name: str):
    """The library's default of field ``name`` of the dataclass ``cls`` (for help texts:
    the CLI states defaults, the library owns them)."""
    import dataclasses

    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    raise KeyError(f"{cls.__name__} has no field {name!r} with a default")


def shown(value) -> str:
    """A default as the help text shows it."""
    if isinstance(value, tuple | list):
        return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def given(args, *names: str, rename: dict[str, str] | None = None) -> dict:
    """The options among ``names`` that the user gave (not None), as keyword arguments
    (``rename`` maps an option's dest to the library's field name)."""
    rename = rename or {}
    return {
        rename.get(name, name): getattr(args, name)
        for name in names
        if getattr(args, name, None) is not None
    }


def check_out(path: Path | None, flag: str = "out") -> Path | None:
    """Refuse an output directory that cannot be one (it, or a parent, is a regular file)."""
    if path is None:
        return None
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                raise ParameterError(flag, str(path), f"a directory ({part} is a file)")
            break
    return path


@contextlib.contextmanager
def flag_names(**names: str) -> Iterator[None]:
    """Re-raise a library ParameterError under the name of the CLI option that carried the
    value (e.g. the library checks one ``ridge``, the option is ``--ridges``), so the
    error message names a flag the user can find."""
    try:
        yield
    except ParameterError as err:
        if err.name not in names:
            raise
        raise ParameterError(names[err.name], err.value, err.allowed) from None


def add_output(p: argparse.ArgumentParser, *, required: bool = False, help: str | None = None):
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        required=required,
        help=help or "write results.nc, results.json and figures (PNG, PDF) into DIR",
    )


def emit(args, payload: Any, text: str) -> None:
    """Print ``payload`` as one strict JSON object (``--json``) or ``text``."""
    if getattr(args, "json", False):
        from springblock import results

        sys.stdout.write(results.dumps(payload) + "\n")
    else:
        print(text)


def log(args, message: str) -> None:
    """Progress and status lines: stderr under ``--json`` (stdout stays one object)."""
    print(message, file=sys.stderr if getattr(args, "json", False) else sys.stdout, flush=True)


def progress_bar(args, total: int, desc: str, unit: str):
    """A tqdm bar on stderr (None with ``--no-progress``); returns ``update(done, total)``."""
    if getattr(args, "no_progress", False):
        return lambda done, total: None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, smoothing=0.1)

    def update(done: int, total: int) -> None:
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def sem(samples):
    """Standard error of the mean over the first (seed) axis; None for one seed."""
    if samples.shape[0] < 2:
        return None
    return (samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])).tolist()
