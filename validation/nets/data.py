"""Classification data sets for the trained-net validation, none downloaded at run time.

The paper's experiment (Shi, Pan & Dokmanic 2025; ../shared/reference/spring-block.md
section 2) trains MLPs on 100-feature images with 2560 training samples. Sources:

- ``"fashion-mnist"`` (the default): FashionMNIST (Xiao, Rasul & Vollgraf 2017, MIT
  license, ``fashion_mnist_LICENSE`` beside the data) at 10x10, **bundled** with the
  package: the first :data:`BUNDLED_TRAIN_POOL` training images and all 10 000 test
  images of the Debian package ``dataset-fashion-mnist``, converted by
  ``tools/bundle_fashion_mnist.py`` with :func:`convert_images` (the rule the IDX loader
  below uses, so a fresh conversion equals the bundled bytes; tested).
- ``"fashion-mnist:system"``: all 60 000 training images, read from the Debian package's
  IDX files (or the directory in ``$SPRINGBLOCK_FASHION_MNIST_DIR``).
- ``"idx:DIR"``: any directory of IDX files with the MNIST file names
  (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte``, each gzipped or not), e.g. MNIST itself, the paper's main data
  set; images are resized to ``image_side`` x ``image_side`` (10 by default) like the
  authors' ``Resize(10)``.
- ``"mnist1d"``: MNIST-1D (Greydanus 2020), generated procedurally by
  ``mnist1d.data.make_dataset`` with the package's default arguments (5000 samples, 80/20
  train/test split, 40 features, 10 classes); only the generator seed is changed.
- ``"digits"``: scikit-learn's bundled 8x8 digits (1797 samples, 64 features scaled to
  [0, 1], 10 classes), split 75/25 with a seeded permutation.
- ``"gmm"``: the authors' Gaussian mixture (``GaussianMixtureDataset`` in GitHub
  DaDaCheng/DNN_Spring ``src/utils.py``): K classes, class means ~ N(0, I_D), per-class
  per-feature standard deviations |N(0, 1)|, D = 100 features, balanced classes.
- a path ending in ``.npz`` with arrays ``x_train``, ``y_train``, ``x_test``, ``y_test``
  (inputs (N, D) or images (N, H, W[, C])).

**Image conversion** (:func:`convert_images`): the antialiased bilinear resize of
torchvision's ``Resize(side)`` (:func:`resize_weights`) applied to the 8-bit levels in
exact integer arithmetic and rounded to the nearest level (so the bundled copy is the same
bytes on every machine; the rounding changes a pixel by at most 1/510), then / 255 as
float32 (torchvision ``ToTensor``).

**Training subset.** As the authors do (one ``random_split`` with a fixed generator), one
fixed subset of ``train_size`` images (2560 for FashionMNIST and IDX directories) is drawn
by a permutation seeded with the data seed, the same for every net of a sweep: the nets'
seeds change only their initialisation and noise. The permutation is numpy's, so the
subset differs from the authors' torch subset but has the same size and distribution.

:func:`check_source` validates a data-set name or path (existence, format, sizes) without
loading it, so a sweep refuses bad data before any work.
"""

from __future__ import annotations

import gzip
import math
import os
import random
import struct
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from springblock.params import ParameterError, check_int

#: Built-in data set names accepted by :func:`load_dataset` (besides ``idx:DIR`` and
#: ``*.npz`` paths).
DATASETS = ("fashion-mnist", "fashion-mnist:system", "mnist1d", "digits", "gmm")
DEFAULT_DATASET = "fashion-mnist"
ALLOWED = (
    f"one of {', '.join(DATASETS)}, idx:DIR (a directory of MNIST-named IDX files) or a PATH.npz"
)

#: Gaussian mixture defaults, as in the authors' ``GaussianMixtureDataset`` runs.
GMM_CLASSES = 10
GMM_FEATURES = 100
GMM_TRAIN = 2560
GMM_TEST = 10_000

#: Image data (FashionMNIST, IDX directories): the paper's training subset and image side.
IMAGE_TRAIN = 2560
IMAGE_SIDE = 10
BUNDLED_TRAIN_POOL = 20_000
BUNDLED_FILE = "fashion_mnist_10x10.npz"
FASHION_DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_ENV = "SPRINGBLOCK_FASHION_MNIST_DIR"
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
FASHION_FILES = IDX_FILES  # FashionMNIST uses the MNIST file names
#: The largest user file we read into memory (bytes).
MAX_FILE_BYTES = 4 * 2**30

DIGITS_TEST_FRACTION = 0.25

# independent random streams derived from the data seed (numpy SeedSequence entropy)
_STREAM_SPLIT, _STREAM_TRAIN, _STREAM_TEST, _STREAM_GMM_PARAMS = 1, 2, 3, 4


class DatasetUnavailable(RuntimeError):
    """An optional data set is not installed; the message says how to get it."""


class DatasetFormatError(ValueError):
    """A user-supplied data file has the wrong keys, shapes, dtypes or labels."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification problem: features ``x`` (N, D) float32, labels ``y`` (N,) int32 in
    [0, num_classes); ``image_shape`` (H, W, C) when the D features are a flattened
    row-major image (the CNN reshapes them). ``eq=False``: arrays have no boolean
    equality, compare fields."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    image_shape: tuple[int, int, int] | None = field(default=None)

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
        if self.image_shape is not None and math.prod(self.image_shape) != features:
            raise ValueError(f"{self.name}: image shape {self.image_shape} != {features} features")

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])

    def fingerprint(self) -> str:
        """Hash of the arrays' content (the results store keys on it)."""
        from springblock import results

        return results.fingerprint(self.x_train, self.y_train, self.x_test, self.y_test)

    def describe(self) -> dict:
        """JSON-ready summary: name, sizes, feature and class counts, training class counts,
        image shape and content hash."""
        return {
            "name": self.name,
            "train_size": int(self.x_train.shape[0]),
            "test_size": int(self.x_test.shape[0]),
            "features": self.features,
            "classes": int(self.num_classes),
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "train_class_counts": np.bincount(self.y_train, minlength=self.num_classes)
            .astype(int)
            .tolist(),
            "fingerprint": self.fingerprint(),
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
    image_shape=None,
) -> Dataset:
    x_train, y_train = _subsample(
        x_train, y_train, train_size, default_train, "train_size", seed, _STREAM_TRAIN
    )
    x_test, y_test = _subsample(
        x_test, y_test, test_size, default_test, "test_size", seed, _STREAM_TEST
    )
    return Dataset(
        name,
        np.ascontiguousarray(np.reshape(x_train, (x_train.shape[0], -1)), np.float32),
        np.ascontiguousarray(y_train, np.int32),
        np.ascontiguousarray(np.reshape(x_test, (x_test.shape[0], -1)), np.float32),
        np.ascontiguousarray(y_test, np.int32),
        int(num_classes),
        image_shape,
    )


def _kind(name) -> str:
    """'builtin', 'idx' or 'npz' for a valid identifier, else ParameterError."""
    if not isinstance(name, str | os.PathLike) or not os.fspath(name):
        raise ParameterError("dataset", name, ALLOWED)
    name = os.fspath(name)
    if name in DATASETS:
        return "builtin"
    if name.startswith("idx:") and len(name) > 4:
        return "idx"
    if name.endswith(".npz"):
        return "npz"
    raise ParameterError("dataset", name, ALLOWED)


def default_train_size(name: str) -> int | None:
    """The training-set size a data set gives when none is asked for (None: all samples)."""
    if name in ("fashion-mnist", "fashion-mnist:system") or name.startswith("idx:"):
        return IMAGE_TRAIN
    if name == "gmm":
        return GMM_TRAIN
    return None


def check_source(name, train_size: int | None = None) -> int:
    """Validate a data set's name or path without loading it; return the number of
    training samples it will give (``train_size`` or the default). Raises
    :class:`~springblock.params.ParameterError` naming ``dataset`` (unknown name, missing or
    malformed file, data set not installed) or ``train_size`` (more than available)."""
    kind = _kind(name)
    name = os.fspath(name)
    if train_size is not None:
        check_int("train_size", train_size, 1, 100_000_000)
    if kind == "idx":
        available = _idx_train_count(Path(name[4:]), name)
    elif kind == "npz":
        available = _npz_train_count(Path(name))
    elif name == "fashion-mnist:system":
        available = _idx_train_count(fashion_mnist_dir(), name)
    else:
        available = {
            "fashion-mnist": BUNDLED_TRAIN_POOL,
            "mnist1d": 4000,
            "digits": 1797 - math.ceil(DIGITS_TEST_FRACTION * 1797),
            "gmm": 100_000_000,
        }[name]
    size = default_train_size(name) if train_size is None else train_size
    if size is None:
        return available
    if size > available:
        if train_size is None:
            raise ParameterError(
                "dataset",
                name,
                f"a data set with at least {size} training samples (the default train size; "
                f"{name} has {available}: pass a smaller --train-size)",
            )
        raise ParameterError("train_size", train_size, f"at most {available} for {name}")
    return size


def load_dataset(
    name: str,
    *,
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
    image_side: int | None = IMAGE_SIDE,
) -> Dataset:
    """Load data set ``name`` (one of :data:`DATASETS`, ``idx:DIR`` or a ``.npz`` path).

    ``train_size``/``test_size`` keep that many samples, drawn by a permutation seeded with
    ``seed`` (None: :func:`default_train_size`, and every test sample). ``seed`` also seeds
    the generators of ``mnist1d`` and ``gmm`` and the ``digits`` split, so one seed gives
    one reproducible data set. ``image_side`` is the side images of IDX directories are
    resized to (None: keep their size).

    Raises :class:`~springblock.params.ParameterError` (name ``dataset``, ``train_size``,
    ``test_size`` or ``seed``) for bad arguments, :class:`DatasetUnavailable` when the
    system FashionMNIST is not installed, :class:`DatasetFormatError` for a malformed file.
    """
    seed = check_int("seed", seed, 0, 2**32 - 1)
    kind = _kind(name)
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
        return _bundled_fashion_mnist(train_size, test_size, seed)
    if name == "fashion-mnist:system":
        return _idx_directory(fashion_mnist_dir(), name, train_size, test_size, seed, image_side)
    if kind == "idx":
        return _idx_directory(Path(name[4:]), name, train_size, test_size, seed, image_side)
    return _npz(name, train_size, test_size, seed)


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


# --------------------------------------------------------------------------- images (IDX)


def fashion_mnist_dir() -> Path:
    """Directory searched for the system FashionMNIST IDX files:
    ``$SPRINGBLOCK_FASHION_MNIST_DIR`` if set, else where Debian's ``dataset-fashion-mnist``
    installs them."""
    return Path(os.environ.get(FASHION_ENV) or FASHION_DEBIAN_DIR)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _idx_paths(directory: Path, name: str) -> dict[str, Path]:
    found = {key: _find_idx(directory, stem) for key, stem in IDX_FILES.items()}
    missing = [IDX_FILES[key] for key, path in found.items() if path is None]
    if missing:
        hint = (
            " Install the system copy with `sudo apt-get install dataset-fashion-mnist` "
            f"(Debian/Ubuntu; files go to {FASHION_DEBIAN_DIR}) or put the four files in a "
            f"directory and set {FASHION_ENV} to it; the bundled copy needs nothing: "
            "--dataset fashion-mnist."
            if name == "fashion-mnist:system"
            else ""
        )
        raise DatasetUnavailable(
            f"{name}: {', '.join(missing)}[.gz] not found in {directory}.{hint}"
        )
    return {key: path for key, path in found.items() if path is not None}


def _idx_header(path: Path) -> tuple[int, ...]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                raise DatasetFormatError(f"{path}: not an IDX file (bad magic number)")
            return struct.unpack(f">{head[3]}I", f.read(4 * head[3]))
    except (OSError, EOFError, struct.error) as err:
        raise DatasetFormatError(f"{path}: cannot read as IDX ({err})") from None


def _idx_train_count(directory: Path, name: str) -> int:
    try:
        shapes = {key: _idx_header(path) for key, path in _idx_paths(directory, name).items()}
    except (DatasetUnavailable, DatasetFormatError) as err:
        raise ParameterError("dataset", name, f"readable IDX files ({err})") from None
    for split in ("train", "test"):
        x, y = shapes[f"x_{split}"], shapes[f"y_{split}"]
        if len(x) not in (3, 4) or len(y) != 1 or x[0] != y[0]:
            raise ParameterError(
                "dataset", name, f"{split} images (N, H, W[, C]) with N labels, got {x} and {y}"
            )
    return int(shapes["x_train"][0])


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


def resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """Integer weights (n_out, n_in) of the antialiased bilinear resize along one axis.

    This is torchvision's ``Resize`` on a float tensor, i.e.
    ``torch.nn.functional.interpolate(mode="bilinear", antialias=True,
    align_corners=False)`` (the default of torchvision >= 0.17; equal to PIL's BILINEAR):
    output pixel i is centred at input coordinate x_i = (i + 1/2) s, s = n_in / n_out; input
    pixel j (centre c_j = j + 1/2) gets the triangle weight max(0, 1 - |c_j - x_i| / h) with
    half-width h = max(s, 1) (stretched by the scale when downsampling), and each row is
    normalised to sum to one. Multiplying by 2 n_out h makes every weight an integer:

        a_ij = max(0, 2 max(n_in, n_out) - |(2 j + 1) n_out - (2 i + 1) n_in|),

    and the resize is w_ij = a_ij / sum_j a_ij. The authors' FashionMNIST transform calls
    ``Resize(size=size)`` without ``antialias``; on torchvision < 0.17 that meant no
    antialiasing for tensors, so their exact images depend on their torchvision version
    (the commented-out line next to it has ``antialias=True``).
    """
    i = np.arange(n_out)[:, None]
    j = np.arange(n_in)[None, :]
    return np.maximum(0, 2 * max(n_in, n_out) - np.abs((2 * j + 1) * n_out - (2 * i + 1) * n_in))


def convert_images(images: np.ndarray, side: int | None) -> np.ndarray:
    """uint8 images (N, H, W[, C]) -> uint8 (N, side, side[, C]): the antialiased bilinear
    resize of :func:`resize_weights`, rounded to the nearest 8-bit level (ties to even);
    ``side`` None keeps the size. The one conversion of the bundled copy and of every IDX
    directory.

    It is computed in exact integer arithmetic: the resized level of output pixel (i, j) is
    N_ij / D_ij with N_ij = sum_kl a_ik a_jl P_kl and D_ij = (sum_k a_ik)(sum_l a_jl), and
    the rounding is decided on the integer remainder. So the bytes are the same on every
    machine and under every compiler flag (a float32 resize rounds a few pixels in a
    million to the other level depending on the CPU's vector instructions)."""
    images = np.asarray(images)
    if side is None or images.shape[1:3] == (side, side):
        return images.astype(np.uint8)
    channels = images.shape[3:]
    flat = np.moveaxis(images, 3, 1).reshape(-1, *images.shape[1:3]) if channels else images
    rows, cols = (resize_weights(n, side).astype(np.int64) for n in flat.shape[1:3])
    denominator = rows.sum(axis=1)[:, None] * cols.sum(axis=1)[None, :]
    out = []
    for start in range(0, flat.shape[0], 10_000):  # bounded memory for 60 000 images
        chunk = flat[start : start + 10_000].astype(np.int64)
        numerator = rows @ chunk @ cols.T  # integer matmul: exact
        quotient, remainder = np.divmod(numerator, denominator)
        twice = 2 * remainder
        up = (twice > denominator) | ((twice == denominator) & (quotient % 2 == 1))
        out.append(np.clip(quotient + up, 0, 255).astype(np.uint8))
    resized = np.concatenate(out)
    if channels:
        resized = np.moveaxis(resized.reshape(images.shape[0], *channels, side, side), 1, 3)
    return resized


def _image_dataset(name, x_train, y_train, x_test, y_test) -> Dataset:
    """uint8 images (already subsampled and converted) -> float32 in [0, 1], flattened
    row-major, with their (H, W, C) shape; 10 classes at least (the MNIST family)."""
    shape = x_train.shape[1:]
    image_shape = (int(shape[0]), int(shape[1]), int(shape[2]) if len(shape) == 3 else 1)
    classes = max(10, int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1)
    return _finish(
        name,
        x_train.astype(np.float32) / 255.0,
        y_train,
        x_test.astype(np.float32) / 255.0,
        y_test,
        classes,
        None,
        None,
        0,
        image_shape=image_shape,
    )


def _image_subsets(arrays, train_size, test_size, seed):
    x_train, y_train = _subsample(
        arrays["x_train"],
        arrays["y_train"],
        train_size,
        IMAGE_TRAIN,
        "train_size",
        seed,
        _STREAM_TRAIN,
    )
    x_test, y_test = _subsample(
        arrays["x_test"], arrays["y_test"], test_size, None, "test_size", seed, _STREAM_TEST
    )
    return x_train, y_train, x_test, y_test


def _idx_directory(directory, name, train_size, test_size, seed, side) -> Dataset:
    """IDX images of a directory: the fixed subset first (converting 2560 images instead of
    60 000 gives the same pixels), then :func:`convert_images`."""
    if side is not None:
        side = check_int("image_side", side, 1, 1024)
    arrays = {key: read_idx(path) for key, path in _idx_paths(directory, name).items()}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim not in (3, 4) or y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise DatasetFormatError(
                f"{directory}: {split} images {x.shape} and labels {y.shape} do not match"
            )
    x_train, y_train, x_test, y_test = _image_subsets(arrays, train_size, test_size, seed)
    return _image_dataset(
        name, convert_images(x_train, side), y_train, convert_images(x_test, side), y_test
    )


def bundled_fashion_mnist_path() -> Path:
    """Where the bundled 10x10 FashionMNIST lies inside the installed package."""
    return Path(str(resources.files("springblock.validation.nets") / BUNDLED_FILE))


def _bundled_fashion_mnist(train_size, test_size, seed) -> Dataset:
    with np.load(bundled_fashion_mnist_path()) as archive:
        arrays = {key: archive[key] for key in IDX_FILES}
    return _image_dataset("fashion-mnist", *_image_subsets(arrays, train_size, test_size, seed))


# --------------------------------------------------------------------------- .npz


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """The four arrays of a user's .npz, checked (DatasetFormatError names the problem)."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DatasetFormatError(f"{path}: larger than {MAX_FILE_BYTES / 2**30:.0f} GiB")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise DatasetFormatError(f"{path}: cannot read as .npz ({err})") from None
    keys = ("x_train", "y_train", "x_test", "y_test")
    with archive:
        absent = [key for key in keys if key not in archive.files]
        if absent:
            raise DatasetFormatError(
                f"{path}: missing key(s) {', '.join(absent)}; "
                f"found {', '.join(archive.files) or 'none'}"
            )
        try:
            arrays = {key: archive[key] for key in keys}
        except (OSError, ValueError, EOFError) as err:
            raise DatasetFormatError(f"{path}: cannot read its arrays ({err})") from None
    for key in ("x_train", "x_test"):
        x = arrays[key]
        if x.ndim not in (2, 3, 4) or x.shape[0] == 0 or 0 in x.shape[1:]:
            raise DatasetFormatError(
                f"{path}: {key} must be a non-empty array (samples, features) or "
                f"(samples, H, W[, C]), got shape {x.shape}"
            )
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise DatasetFormatError(f"{path}: {key} must be real numbers, got {x.dtype}")
        if not np.all(np.isfinite(x)):
            raise DatasetFormatError(f"{path}: {key} contains NaN or infinite values")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DatasetFormatError(
            f"{path}: x_train samples have shape {arrays['x_train'].shape[1:]} "
            f"but x_test samples {arrays['x_test'].shape[1:]}"
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
    return arrays


def _npz_train_count(path: Path) -> int:
    if not path.is_file():
        raise ParameterError("dataset", str(path), f"an existing .npz file ({ALLOWED})")
    try:
        return int(_npz_arrays(path)["x_train"].shape[0])
    except DatasetFormatError as err:
        raise ParameterError("dataset", str(path), f"a valid .npz data set ({err})") from None


def _npz(path: str, train_size, test_size, seed) -> Dataset:
    """A user's .npz: x_train (N, ...) and x_test (M, ...) real, y_train (N,) and y_test
    (M,) integer labels >= 0; num_classes = 1 + the largest label of either split; every
    sample by default. Images (N, H, W[, C]) keep their shape for the CNN."""
    if not Path(path).is_file():
        raise ParameterError("dataset", path, f"an existing .npz file ({ALLOWED})")
    arrays = _npz_arrays(Path(path))
    shape = arrays["x_train"].shape[1:]
    image_shape = None
    if len(shape) >= 2:
        image_shape = (int(shape[0]), int(shape[1]), int(shape[2]) if len(shape) == 3 else 1)
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
        image_shape=image_shape,
    )
