"""Helpers shared by the command groups: number parsing, output flags, JSON, results files."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path

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


def parse_numbers(kind=float):
    """argparse type: a list of numbers separated by spaces or commas, e.g. '40 80 160'."""

    def parse(text: str) -> tuple:
        try:
            return tuple(kind(v) for v in text.replace(",", " ").split())
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None

    return parse


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


def add_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write figures (PNG, PDF) and a results file into DIR",
    )


def emit(args, payload: dict, text: str) -> None:
    if args.json:
        json.dump(payload, sys.stdout, allow_nan=False, default=_jsonable)
        sys.stdout.write("\n")
    else:
        print(text)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value)}")


def clean(value):
    """Replace NaN/inf by None so the JSON is strict."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def write_results(out: Path | None, name: str, payload: dict) -> None:
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{name}.json.tmp"
    tmp.write_text(json.dumps(payload, indent=1, allow_nan=False))
    tmp.replace(out / f"{name}.json")


def sem(samples):
    """Standard error of the mean over the first (seed) axis; None for one seed."""
    if samples.shape[0] < 2:
        return None
    return (samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])).tolist()
