"""Model tables tabulated once per test session.

A table's first tabulation in a process costs seconds of tracing and compiling the
implicit solve (and of XLA's compile, which the session's compilation cache only saves in
the next process), then milliseconds to run; the tests ask for a few coarse tables many
times, from several pytest-xdist processes. :func:`session_table` computes each spec once
per session with the real :func:`springblock.numerics.spring.table.tabulate` and keeps its
elongations in the session's table directory (``SPRINGBLOCK_TEST_TABLES``, a fresh
temporary directory made by tests/conftest.py, inherited by the xdist processes); a
process that finds another one tabulating the same spec waits for it (a file lock) and
reads the result. Tabulation itself is tested in tests/spring and tests/compare.
"""

from __future__ import annotations

import fcntl
import functools
import os
from pathlib import Path

import numpy as np

from springblock import results
from springblock.numerics.spring import table as tables

DIRECTORY_VARIABLE = "SPRINGBLOCK_TEST_TABLES"
#: the library's tabulation, kept before any test replaces the module's name by
#: :func:`session_table`
tabulate = tables.tabulate


@functools.cache
def session_table(spec: tables.TableSpec) -> tables.ModelTable:
    """``tabulate(spec)``, computed once per test session (module docstring)."""
    # named by the results store's content address of the spec (load_or_tabulate's)
    name = results.digest("model-table", spec.to_json())
    path = Path(os.environ[DIRECTORY_VARIABLE]) / f"{name}.npz"
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not path.exists():
            table = tabulate(spec)
            results.write_npz(path, elongations=table.elongations)
            return table
    with np.load(path) as stored:
        return tables.ModelTable(spec, stored["elongations"])
