"""Classification data sets for the trained-net validation, none downloaded at run time.

The paper's experiment (Shi, Pan & Dokmanic 2025; ../shared/reference/spring-block.md
section 2) trains MLPs on 100-feature images with 2560 training samples. This module gives
the same shape of problem from sources that need no network access:

- ``"mnist1d"``: MNIST-1D (Greydanus 2020), generated procedurally by
  ``mnist1d.data.make_dataset`` with the package's default arguments (5000 samples, 80/20
  train/test split, 40 features, 10 classes); only the generator seed is changed.
- ``"digits"``: scikit-learn's bundled 8x8 digits (1797 samples, 64 features scaled to
  [0, 1], 10 classes), split 75/25 with a seeded permutation.
- ``"gmm"``: the authors' Gaussian mixture (``GaussianMixtureDataset`` in GitHub
  DaDaCheng/DNN_Spring ``src/utils.py``): K classes, class means ~ N(0, I_D), per-class
  per-feature standard deviations |N(0, 1)|, D = 100 features, balanced classes.
- ``"fashion-mnist"``: FashionMNIST from the IDX files installed by the Debian package
  ``dataset-fashion-mnist``, resized 28x28 -> 10x10 as the authors do
  (``src/dataloader.py``: ToTensor, then torchvision ``Resize(10)``) and flattened to 100
  features in [0, 1]; 2560 training samples by default, the full 10 000-image test set.
- a path ending in ``.npz`` with arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``.

Subsampling uses seeded numpy permutations (the authors' ``torch.utils.data.random_split``
stream cannot be reproduced without torch, so the subsets differ from theirs but have the
same size and distribution).
"""

from __future__ import annotations

import gzip
import math
import os
import random
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from springblock.params import ParameterError, check_int

#: Built-in data set names accepted by :func:`load_dataset` (besides ``*.npz`` paths).
DATASETS = ("mnist1d", "digits", "gmm", "fashion-mnist")

#: Gaussian mixture defaults, as in the authors' ``GaussianMixtureDataset`` runs.
GMM_CLASSES = 10
GMM_FEATURES = 100
GMM_TRAIN = 2560
GMM_TEST = 10_000

#: FashionMNIST: training subset of the paper, image side after resizing.
FASHION_TRAIN = 2560
FASHION_SIDE = 10
FASHION_DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_ENV = "SPRINGBLOCK_FASHION_MNIST_DIR"
FASHION_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

DIGITS_TEST_FRACTION = 0.25

# independent random streams derived from the user's seed (numpy SeedSequence entropy)
_STREAM_SPLIT, _STREAM_TRAIN, _STREAM_TEST, _STREAM_GMM_PARAMS = 1, 2, 3, 4


class DatasetUnavailable(RuntimeError):
    """An optional data set is not installed; the message says how to get it."""


class DatasetFormatError(ValueError):
    """A user-supplied data file has the wrong keys, shapes, dtypes or labels."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification problem: features ``x`` (N, D) float32, labels ``y`` (N,) int32 in
    [0, num_classes). ``eq=False``: arrays have no boolean equality, compare fields."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    def __post_init__(self):
        if self.num_classes < 1:
            raise ValueError(f"{self.name}: num_classes={self.num_classes} must be >= 1")
        features = None
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 2 or x.dtype != np.float32:
                raise ValueError(
                    f"{self.name}: x_{split} must be float32 (N, D), got {x.dtype} {x.shape}"
                )
            if y.shape != (x.shape[0],) or y.dtype != np.int32:
                raise ValueError(
                    f"{self.name}: y_{split} must be int32 ({x.shape[0]},), got {y.dtype} {y.shape}"
                )
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise ValueError(
                    f"{self.name}: y_{split} labels must lie in [0, {self.num_classes})"
                )
            if features is not None and x.shape[1] != features:
                raise ValueError(f"{self.name}: x_train and x_test feature counts differ")
            features = x.shape[1]

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])

    def describe(self) -> dict:
        """JSON-ready summary: name, sizes, feature and class counts, training class counts."""
        return {
            "name": self.name,
            "train_size": int(self.x_train.shape[0]),
            "test_size": int(self.x_test.shape[0]),
            "features": self.features,
            "classes": int(self.num_classes),
            "train_class_counts": np.bincount(self.y_train, minlength=self.num_classes)
            .astype(int)
            .tolist(),
        }


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _subsample(x, y, size, default, name, seed, stream):
    """The first ``size`` rows of a seeded permutation (``default`` when ``size`` is None;
    ``None`` default = keep all rows in their order)."""
    size = default if size is None else size
    if size is None:
        return x, y
    size = check_int(name, size, 1, x.shape[0])
    index = _rng(seed, stream).permutation(x.shape[0])[:size]
    return x[index], y[index]


def _finish(
    name,
    x_train,
    y_train,
    x_test,
    y_test,
    num_classes,
    train_size,
    test_size,
    seed,
    default_train=None,
    default_test=None,
) -> Dataset:
    x_train, y_train = _subsample(
        x_train, y_train, train_size, default_train, "train_size", seed, _STREAM_TRAIN
    )
    x_test, y_test = _subsample(
        x_test, y_test, test_size, default_test, "test_size", seed, _STREAM_TEST
    )
    return Dataset(
        name,
        np.ascontiguousarray(x_train, np.float32),
        np.ascontiguousarray(y_train, np.int32),
        np.ascontiguousarray(x_test, np.float32),
        np.ascontiguousarray(y_test, np.int32),
        int(num_classes),
    )


def load_dataset(
    name: str, *, train_size: int | None = None, test_size: int | None = None, seed: int = 0
) -> Dataset:
    """Load data set ``name`` (one of :data:`DATASETS` or a path ending in ``.npz``).

    ``train_size``/``test_size`` keep that many samples, drawn by a permutation seeded with
    ``seed`` (None: every sample, except FashionMNIST's training set, 2560 by default as in
    the paper, and the generated Gaussian mixture, 2560 train / 10 000 test). ``seed`` also
    seeds the generators of ``mnist1d`` and ``gmm`` and the ``digits`` split, so one seed
    gives one reproducible data set.

    Raises :class:`~springblock.params.ParameterError` (name ``dataset``, ``train_size``,
    ``test_size`` or ``seed``) for bad arguments, :class:`DatasetUnavailable` when
    FashionMNIST is not installed, :class:`DatasetFormatError` for a malformed ``.npz``.
    """
    seed = check_int("seed", seed, 0, 2**32 - 1)
    if not isinstance(name, str | os.PathLike):
        raise ParameterError("dataset", name, f"one of {', '.join(DATASETS)} or a .npz path")
    name = os.fspath(name)
    if name == "mnist1d":
        return _mnist1d(train_size, test_size, seed)
    if name == "digits":
        return _digits(train_size, test_size, seed)
    if name == "gmm":
        return gaussian_mixture(
            train_size=GMM_TRAIN if train_size is None else train_size,
            test_size=GMM_TEST if test_size is None else test_size,
            seed=seed,
        )
    if name == "fashion-mnist":
        return _fashion_mnist(train_size, test_size, seed)
    if name.endswith(".npz"):
        return _npz(name, train_size, test_size, seed)
    raise ParameterError("dataset", name, f"one of {', '.join(DATASETS)} or a .npz path")


# --------------------------------------------------------------------------- MNIST-1D


def _mnist1d(train_size, test_size, seed) -> Dataset:
    """MNIST-1D from ``mnist1d.data.make_dataset`` with the default arguments of
    ``get_dataset_args()`` except ``seed``; generated in memory (about 1 s), nothing is
    read from or written to disk. make_dataset seeds the global ``random``/``numpy.random``
    state, which is restored afterwards."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise DatasetUnavailable(
            "MNIST-1D needs the mnist1d package: `python3 -m pip install mnist1d`"
        ) from None
    args = get_dataset_args()
    args.seed = seed
    py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        data = make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002
    return _finish(
        "mnist1d",
        data["x"],
        data["y"],
        data["x_test"],
        data["y_test"],
        10,
        train_size,
        test_size,
        seed,
    )


# --------------------------------------------------------------------------- digits


def _digits(train_size, test_size, seed) -> Dataset:
    """scikit-learn's bundled digits (no download), pixel values 0..16 scaled to [0, 1];
    a seeded 75/25 split (test set of ceil(0.25 N) samples, as train_test_split rounds)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DatasetUnavailable(
            "the digits data set ships with scikit-learn: `python3 -m pip install scikit-learn`"
        ) from None
    digits = load_digits()
    x = digits.data.astype(np.float32) / 16.0
    y = digits.target
    n = x.shape[0]
    n_test = math.ceil(DIGITS_TEST_FRACTION * n)
    order = _rng(seed, _STREAM_SPLIT).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return _finish("digits", x[train], y[train], x[test], y[test], 10, train_size, test_size, seed)


# --------------------------------------------------------------------------- Gaussian mixture


def gaussian_mixture(
    *,
    num_classes: int = GMM_CLASSES,
    num_features: int = GMM_FEATURES,
    train_size: int = GMM_TRAIN,
    test_size: int = GMM_TEST,
    seed: int = 0,
) -> Dataset:
    """The authors' Gaussian mixture: class means m_k ~ N(0, I_D) and per-feature standard
    deviations s_k = |N(0, I_D)| (k = 1..K), samples x = m_k + s_k * z with z ~ N(0, I_D)
    (elementwise product), as ``GaussianMixtureDataset`` in DaDaCheng/DNN_Spring
    ``src/utils.py``. Classes are balanced (sample i has label i mod K before shuffling);
    the training and test sets are independent draws from the same mixture. The mixture
    and each split use separate random streams of ``seed``, so changing ``train_size``
    changes neither the mixture nor the test set.
    """
    num_classes = check_int("num_classes", num_classes, 2, 10_000)
    num_features = check_int("num_features", num_features, 1, 1_000_000)
    train_size = check_int("train_size", train_size, 1, 100_000_000)
    test_size = check_int("test_size", test_size, 1, 100_000_000)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    params = _rng(seed, _STREAM_GMM_PARAMS)
    means = params.standard_normal((num_classes, num_features))
    stds = np.abs(params.standard_normal((num_classes, num_features)))

    def draw(size, stream):
        rng = _rng(seed, stream)
        labels = rng.permutation(np.arange(size) % num_classes)
        x = means[labels] + stds[labels] * rng.standard_normal((size, num_features))
        return x.astype(np.float32), labels.astype(np.int32)

    x_train, y_train = draw(train_size, _STREAM_TRAIN)
    x_test, y_test = draw(test_size, _STREAM_TEST)
    return Dataset("gmm", x_train, y_train, x_test, y_test, num_classes)


# --------------------------------------------------------------------------- FashionMNIST


def fashion_mnist_dir() -> Path:
    """Directory searched for the FashionMNIST IDX files: ``$SPRINGBLOCK_FASHION_MNIST_DIR``
    if set, else where Debian's ``dataset-fashion-mnist`` installs them."""
    return Path(os.environ.get(FASHION_ENV) or FASHION_DEBIAN_DIR)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (LeCun's MNIST format; gzip-compressed when the name ends in .gz):
    magic 0x0000 <type> <ndim>, then ndim big-endian uint32 sizes, then the data. Only
    unsigned-byte data (type 0x08), the MNIST/FashionMNIST case, is supported."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DatasetFormatError(f"{path}: not an IDX file (bad magic number)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != 0x08:
        raise DatasetFormatError(
            f"{path}: IDX data type 0x{dtype_code:02x} unsupported (only unsigned bytes, 0x08)"
        )
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise DatasetFormatError(f"{path}: header says shape {shape} but holds {data.size} values")
    return data.reshape(shape)


def resize_images(images: np.ndarray, side: int) -> np.ndarray:
    """Resize (N, H, W) images in [0, 1] to (N, side, side), float32.

    This is torchvision's ``Resize(side)`` on a square float tensor, i.e.
    ``torch.nn.functional.interpolate(mode="bilinear", antialias=True,
    align_corners=False)`` (the default of torchvision >= 0.17; equal to PIL's BILINEAR
    resize): separable triangle filter whose support is stretched by the scale factor
    s = H/side when downsampling, output pixel i centred at input coordinate (i + 1/2) s,
    weights renormalised at the borders. Implemented with
    ``jax.image.resize(..., "linear", antialias=True)``, which uses the same rule.
    The authors' FashionMNIST transform calls ``Resize(size=size)`` without ``antialias``;
    on torchvision < 0.17 that meant no antialiasing for tensors, so their exact images
    depend on their torchvision version (the commented-out line next to it has
    ``antialias=True``).
    """
    import jax
    import jax.numpy as jnp

    n = images.shape[0]
    out = jax.image.resize(
        jnp.asarray(images, jnp.float32), (n, side, side), "linear", antialias=True
    )
    return np.asarray(out, np.float32)


def _fashion_mnist(train_size, test_size, seed) -> Dataset:
    """FashionMNIST: IDX files from :func:`fashion_mnist_dir`, uint8 / 255 (torchvision
    ToTensor), subsampled, then resized 28x28 -> 10x10 by :func:`resize_images` and
    flattened row-major to 100 features in [0, 1]."""
    directory = fashion_mnist_dir()
    found = {key: _find_idx(directory, stem) for key, stem in FASHION_FILES.items()}
    paths = {key: path for key, path in found.items() if path is not None}
    missing = [FASHION_FILES[key] for key in found if key not in paths]
    if missing:
        raise DatasetUnavailable(
            f"FashionMNIST is not installed: {', '.join(missing)}[.gz] not found in "
            f"{directory}. Install it with `sudo apt-get install dataset-fashion-mnist` "
            f"(Debian/Ubuntu; files go to {FASHION_DEBIAN_DIR}), or put the four IDX files "
            f"in a directory and set {FASHION_ENV} to it, or pass a .npz file instead."
        )
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise DatasetFormatError(
                f"{directory}: FashionMNIST {split} images {x.shape} and "
                f"labels {y.shape} do not match"
            )
    # subsample first: resizing 2560 images instead of 60 000 is the same per image
    x_train, y_train = _subsample(
        arrays["x_train"],
        arrays["y_train"],
        train_size,
        FASHION_TRAIN,
        "train_size",
        seed,
        _STREAM_TRAIN,
    )
    x_test, y_test = _subsample(
        arrays["x_test"], arrays["y_test"], test_size, None, "test_size", seed, _STREAM_TEST
    )

    def prepare(images):
        small = resize_images(images.astype(np.float32) / 255.0, FASHION_SIDE)
        return small.reshape(images.shape[0], FASHION_SIDE * FASHION_SIDE)

    return _finish(
        "fashion-mnist", prepare(x_train), y_train, prepare(x_test), y_test, 10, None, None, seed
    )


# --------------------------------------------------------------------------- .npz


def _npz(path: str, train_size, test_size, seed) -> Dataset:
    """A user's .npz: x_train (N, D) and x_test (M, D) real, y_train (N,) and y_test (M,)
    integer labels >= 0; num_classes = 1 + the largest label of either split."""
    if not Path(path).is_file():
        raise ParameterError(
            "dataset", path, f"an existing .npz file (or a built-in name: {', '.join(DATASETS)})"
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DatasetFormatError(f"{path}: cannot read as .npz ({err})") from None
    with archive:
        keys = ("x_train", "y_train", "x_test", "y_test")
        absent = [key for key in keys if key not in archive.files]
        if absent:
            raise DatasetFormatError(
                f"{path}: missing key(s) {', '.join(absent)}; "
                f"found {', '.join(archive.files) or 'none'}"
            )
        arrays = {key: archive[key] for key in keys}
    for key in ("x_train", "x_test"):
        x = arrays[key]
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise DatasetFormatError(
                f"{path}: {key} must be a non-empty 2-d array "
                f"(samples, features), got shape {x.shape}"
            )
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise DatasetFormatError(f"{path}: {key} must be real numbers, got {x.dtype}")
        if not np.all(np.isfinite(x)):
            raise DatasetFormatError(f"{path}: {key} contains NaN or infinite values")
    if arrays["x_train"].shape[1] != arrays["x_test"].shape[1]:
        raise DatasetFormatError(
            f"{path}: x_train has {arrays['x_train'].shape[1]} features "
            f"but x_test has {arrays['x_test'].shape[1]}"
        )
    for key, xkey in (("y_train", "x_train"), ("y_test", "x_test")):
        y, n = arrays[key], arrays[xkey].shape[0]
        if y.shape != (n,):
            raise DatasetFormatError(
                f"{path}: {key} must have shape ({n},) to match {xkey}, got {y.shape}"
            )
        if not np.issubdtype(y.dtype, np.integer):
            raise DatasetFormatError(
                f"{path}: {key} must hold integer class labels, got dtype {y.dtype}"
            )
        if y.min() < 0 or y.max() >= 2**31 - 1:
            raise DatasetFormatError(
                f"{path}: {key} labels must be integers in [0, 2^31-1), "
                f"got range [{y.min()}, {y.max()}]"
            )
    num_classes = int(max(arrays["y_train"].max(), arrays["y_test"].max())) + 1
    return _finish(
        path,
        arrays["x_train"],
        arrays["y_train"],
        arrays["x_test"],
        arrays["y_test"],
        num_classes,
        train_size,
        test_size,
        seed,
    )
