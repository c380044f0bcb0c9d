"""Make the bundled 10x10 FashionMNIST (validation/nets/fashion_mnist_10x10.npz).

    python3 tools/bundle_fashion_mnist.py [IDX_DIR]

Reads the four IDX files of Debian's ``dataset-fashion-mnist`` (IDX_DIR, default
/usr/share/datasets/fashion-mnist), keeps the first ``BUNDLED_TRAIN_POOL`` training images
and all 10 000 test images, converts them with the loader's own rule
(:func:`springblock.validation.nets.data.convert_images`: antialiased bilinear resize to
10x10 in exact integer arithmetic, rounded to uint8) and writes them, compressed, with
their uint8 labels. ``tests/nets/test_data.py`` converts the Debian files afresh and
compares bytes (the same on every machine: no floating point is involved).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from springblock import results
from springblock.validation.nets import data


def convert(directory: Path) -> dict[str, np.ndarray]:
    """The bundled arrays, converted from the IDX files in ``directory``."""
    raw = {
        key: data.read_idx(data._find_idx(directory, stem) or directory / stem)
        for key, stem in data.IDX_FILES.items()
    }
    pool = data.BUNDLED_TRAIN_POOL
    return {
        "x_train": data.convert_images(raw["x_train"][:pool], data.IMAGE_SIDE),
        "y_train": raw["y_train"][:pool].astype(np.uint8),
        "x_test": data.convert_images(raw["x_test"], data.IMAGE_SIDE),
        "y_test": raw["y_test"].astype(np.uint8),
    }


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else Path(data.FASHION_DEBIAN_DIR)
    arrays = convert(directory)
    target = Path(__file__).resolve().parents[1] / "validation" / "nets" / data.BUNDLED_FILE

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    results.atomic_write(target, write)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
