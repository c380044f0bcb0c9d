"""Make the model tables the package ships (numerics/spring/table_model_*.npz).

    python3 tools/bundle_tables.py

Tabulates :func:`springblock.numerics.spring.table.default_spec` of model (a) and model
(b) on the default nets' chain (depth 8: 6 blocks) and writes them with their spec, in
float32 (:func:`springblock.numerics.spring.table.write_bundle`). About a minute and a
half on 2 cores. ``tests/spring/test_bundled_tables.py`` tabulates a sub-grid of each
afresh and compares, so a change to either model that leaves these files stale fails the
tests.
"""

from __future__ import annotations

import time

from springblock.numerics.spring import table
from springblock.validation.nets.sweep import SweepSpec

BLOCKS = SweepSpec().depth - 2


def main() -> None:
    for model in table.MODELS:
        spec = table.default_spec(model, BLOCKS)
        started = time.perf_counter()
        made = table.tabulate(spec)
        path = table.bundled_path(spec)
        table.write_bundle(made, path)
        print(f"model ({model}): {path} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
