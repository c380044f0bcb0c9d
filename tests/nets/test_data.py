"""validation.data: the built-in data sets, the FashionMNIST IDX reader and resize, .npz
files and the error messages. FashionMNIST tests that need the Debian package skip
cleanly without it; the reader itself is tested on IDX files written here."""

import gzip
import random
import struct

import numpy as np
import pytest

from springblock.params import ParameterError
from springblock.validation.nets import data

FASHION_INSTALLED = all(
    data._find_idx(data.fashion_mnist_dir(), stem) is not None
    for stem in data.FASHION_FILES.values()
)
needs_fashion = pytest.mark.skipif(
    not FASHION_INSTALLED,
    reason="dataset-fashion-mnist not installed (apt-get install dataset-fashion-mnist)",
)


def check_dataset(ds, train, test, features, classes):
    assert ds.x_train.shape == (train, features) and ds.x_train.dtype == np.float32
    assert ds.x_test.shape == (test, features) and ds.x_test.dtype == np.float32
    assert ds.y_train.shape == (train,) and ds.y_train.dtype == np.int32
    assert ds.y_test.shape == (test,) and ds.y_test.dtype == np.int32
    assert ds.num_classes == classes
    assert set(np.unique(ds.y_train)) <= set(range(classes))
    assert np.all(np.isfinite(ds.x_train)) and np.all(np.isfinite(ds.x_test))
    info = ds.describe()
    assert (info["train_size"], info["test_size"], info["features"], info["classes"]) == (
        train,
        test,
        features,
        classes,
    )
    assert sum(info["train_class_counts"]) == train


@pytest.fixture(scope="module")
def mnist1d_seed3():
    """Generated once for the module (about 1 s); records the caller's global random
    state before and after to check that generation leaves it alone (mnist1d seeds the
    legacy global generators, hence the legacy calls here)."""
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    expected = (np.random.random(), random.random())  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    ds = data.load_dataset("mnist1d", seed=3)
    return ds, expected, (np.random.random(), random.random())  # noqa: NPY002


def test_mnist1d_is_the_package_generator(mnist1d_seed3):
    """Same arrays as calling mnist1d's generator directly with default args and seed 3;
    the caller's global random state is left alone."""
    from mnist1d.data import get_dataset_args, make_dataset

    ds, expected_state, state = mnist1d_seed3
    assert state == expected_state
    check_dataset(ds, 4000, 1000, 40, 10)
    args = get_dataset_args()
    args.seed = 3
    direct = make_dataset(args)
    np.testing.assert_array_equal(ds.x_train, direct["x"].astype(np.float32))
    np.testing.assert_array_equal(ds.y_train, direct["y"])
    np.testing.assert_array_equal(ds.x_test, direct["x_test"].astype(np.float32))
    np.testing.assert_array_equal(ds.y_test, direct["y_test"])


def test_mnist1d_subsample_is_seeded_subset(mnist1d_seed3):
    small = data.load_dataset("mnist1d", seed=3, train_size=256, test_size=100)
    check_dataset(small, 256, 100, 40, 10)
    # every kept row is a row of the full set, with its label, and no row twice
    ds = mnist1d_seed3[0]
    full = {row.tobytes(): label for row, label in zip(ds.x_train, ds.y_train, strict=True)}
    assert all(
        full[row.tobytes()] == label
        for row, label in zip(small.x_train, small.y_train, strict=True)
    )
    assert len({row.tobytes() for row in small.x_train}) == 256


def test_digits_split_partitions_sklearn_digits():
    from sklearn.datasets import load_digits

    ds = data.load_dataset("digits", seed=1)
    check_dataset(ds, 1347, 450, 64, 10)  # 1797 samples, ceil(25 %) = 450 for testing
    assert ds.x_train.min() >= 0 and ds.x_train.max() <= 1
    ref = load_digits()
    ours = np.concatenate([ds.x_train, ds.x_test]) * 16
    keys = np.concatenate([ds.y_train, ds.y_test])[:, None]
    # same multiset of (pixels, label) rows; pixels k/16 exact in float32
    a = np.concatenate([ours, keys], axis=1)
    b = np.concatenate([ref.data, ref.target[:, None]], axis=1)
    np.testing.assert_array_equal(a[np.lexsort(a.T)], b[np.lexsort(b.T)])
    again = data.load_dataset("digits", seed=1)
    other = data.load_dataset("digits", seed=2)
    np.testing.assert_array_equal(again.x_test, ds.x_test)
    assert not np.array_equal(other.x_test, ds.x_test)


def test_gmm_statistics():
    """The authors' mixture: class means ~ N(0, 1) and per-feature stds ~ |N(0, 1)|, so
    pooled over K x D = 1000 (class, feature) pairs the estimated means have mean 0 and
    variance 1 + E[s^2]/n_k ~ 1 (std of those estimates ~0.05) and the estimated stds
    average E|Z| = sqrt(2/pi) = 0.80; tolerances are ~4 sampling standard deviations."""
    ds = data.load_dataset("gmm", seed=5, train_size=20_000, test_size=1000)
    check_dataset(ds, 20_000, 1000, 100, 10)
    counts = np.bincount(ds.y_train, minlength=10)
    assert counts.max() - counts.min() <= 1  # balanced
    means = np.stack([ds.x_train[ds.y_train == k].mean(0) for k in range(10)])
    stds = np.stack([ds.x_train[ds.y_train == k].std(0) for k in range(10)])
    assert abs(means.mean()) < 0.15 and abs(means.var() - 1.0) < 0.25
    assert abs(stds.mean() - np.sqrt(2 / np.pi)) < 0.1
    # the test set comes from the same mixture: class means agree within sampling error
    # (100 test samples per class: std of a mean <= max s / 10 ~ 0.4)
    test_means = np.stack([ds.x_test[ds.y_test == k].mean(0) for k in range(10)])
    assert np.median(np.abs(test_means - means)) < 0.15
    # the mixture and the test set do not depend on the training-set size
    small = data.load_dataset("gmm", seed=5, train_size=100, test_size=1000)
    np.testing.assert_array_equal(small.x_test, ds.x_test)
    assert not np.array_equal(
        data.load_dataset("gmm", seed=6, train_size=100).x_train, small.x_train
    )


def test_gmm_defaults():
    check_dataset(data.load_dataset("gmm"), 2560, 10_000, 100, 10)


def test_bad_names_and_sizes_raise_parameter_error(tmp_path):
    with pytest.raises(ParameterError) as err:
        data.load_dataset("cifar100")
    assert err.value.name == "dataset" and "mnist1d" in str(err.value)
    for bad in ("", "mnsit1d", "x.csv", None, 3):
        with pytest.raises(ParameterError) as err:
            data.check_source(bad)
        assert err.value.name == "dataset"
    with pytest.raises(ParameterError) as err:
        data.load_dataset(str(tmp_path / "missing.npz"))
    assert err.value.name == "dataset"
    for size in (0, 1348, -5, 2.5, "ten", True):
        with pytest.raises(ParameterError) as err:
            data.load_dataset("digits", train_size=size)
        assert err.value.name == "train_size"
    with pytest.raises(ParameterError) as err:
        data.load_dataset("digits", test_size=451)
    assert err.value.name == "test_size" and "[1, 450]" in str(err.value)
    with pytest.raises(ParameterError) as err:
        data.load_dataset("gmm", seed=-1)
    assert err.value.name == "seed"


def save_npz(path, **arrays):
    rng = np.random.default_rng(0)
    base = {
        "x_train": rng.normal(size=(50, 7)),
        "y_train": rng.integers(0, 4, 50),
        "x_test": rng.normal(size=(20, 7)),
        "y_test": rng.integers(0, 5, 20),
    }
    base.update(arrays)
    np.savez(path, **{k: v for k, v in base.items() if v is not None})
    return base


def test_npz_round_trip(tmp_path):
    path = tmp_path / "mine.npz"
    arrays = save_npz(path, x_train=np.arange(350, dtype=np.int64).reshape(50, 7))
    ds = data.load_dataset(str(path))
    check_dataset(ds, 50, 20, 7, 5)  # 5 = 1 + largest label over both splits
    np.testing.assert_array_equal(ds.x_train, arrays["x_train"].astype(np.float32))
    np.testing.assert_array_equal(ds.y_test, arrays["y_test"])
    sub = data.load_dataset(path, train_size=10, seed=2)  # a PathLike works too
    check_dataset(sub, 10, 20, 7, 5)
    assert data.check_source(str(path)) == 50  # every sample of a user file by default


@pytest.mark.parametrize(
    "bad, key",
    [
        ({"y_test": None}, "y_test"),
        ({"x_train": np.ones(50)}, "x_train"),
        ({"x_test": np.ones((20, 6))}, "x_test"),
        ({"y_train": np.zeros(49, dtype=int)}, "y_train"),
        ({"y_train": np.zeros(50)}, "y_train"),  # float labels
        ({"y_test": -np.ones(20, dtype=int)}, "y_test"),
        ({"x_test": np.full((20, 7), np.nan)}, "x_test"),
        ({"x_train": np.array([["a"] * 7] * 50)}, "x_train"),
    ],
)
def test_npz_errors_name_the_key(tmp_path, bad, key):
    path = tmp_path / "bad.npz"
    save_npz(path, **bad)
    with pytest.raises(data.DatasetFormatError, match=key):
        data.load_dataset(str(path))


# ----------------------------------------------------------------------- FashionMNIST


def write_idx(path, array, compress):
    """IDX as LeCun's MNIST page describes it: 0x00 0x00 0x08 ndim, big-endian sizes."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(f"{path}.gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def resize_reference(images, side=10):
    """(N, 28, 28) -> (N, side * side) by the explicit float filter matrix W: W X W^T."""
    w = pil_style_weights(images.shape[-1], side)
    return (w @ images @ w.T).reshape(images.shape[0], side * side)


def pil_style_weights(n_in, n_out):
    """Antialiased bilinear (PIL BILINEAR / torch interpolate antialias=True) as a float
    matrix, downsampling: output pixel i centred at (i + 1/2) s in input coordinates,
    s = n_in / n_out, triangle kernel of half-width s, weights over input pixel centres
    j + 1/2, normalised."""
    s = n_in / n_out
    centres = np.arange(n_in) + 0.5
    w = np.maximum(0.0, 1.0 - np.abs(centres[None, :] - (np.arange(n_out)[:, None] + 0.5) * s) / s)
    return w / w.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("n_in, n_out", [(28, 10), (28, 14), (10, 28), (7, 3), (5, 5)])
def test_integer_resize_weights_are_the_antialiased_triangle(n_in, n_out):
    """The integer weights, normalised, equal jax's antialiased linear resize of unit
    images (an independent implementation; upsampling included, where the kernel is not
    stretched), and the float filter matrix above when downsampling."""
    import jax

    a = data.resize_weights(n_in, n_out)
    assert a.dtype.kind == "i" and (a >= 0).all() and (a.sum(axis=1) > 0).all()
    w = a / a.sum(axis=1, keepdims=True)
    with jax.enable_x64(True):
        unit = jax.numpy.eye(n_in, dtype=jax.numpy.float64)  # column j: unit image at j
        ref = jax.image.resize(unit, (n_out, n_in), "linear", antialias=True)
    np.testing.assert_allclose(w, np.asarray(ref), atol=1e-12)  # float64 roundoff
    if n_out < n_in:
        np.testing.assert_allclose(w, pil_style_weights(n_in, n_out), atol=1e-12)


def test_float_filter_matches_pil_and_constant_images_stay_constant():
    """The explicit float filter (which the integer weights equal, above) is PIL's
    BILINEAR resize; a constant image converts to itself exactly (every row of weights sums
    to its denominator, also at the borders)."""
    constant = np.full((1, 28, 28), 77, np.uint8)
    np.testing.assert_array_equal(data.convert_images(constant, 10), 77)
    rng = np.random.default_rng(0)
    images = rng.random((6, 28, 28)).astype(np.float32)
    got = resize_reference(images.astype(np.float64)).reshape(6, 10, 10)
    pil = pytest.importorskip("PIL.Image")
    for image, small in zip(images, got, strict=True):
        ref = np.asarray(pil.fromarray(image, mode="F").resize((10, 10), pil.BILINEAR))
        np.testing.assert_allclose(small, ref, atol=1e-6)  # PIL computes in float32


def test_conversion_rounds_exactly_and_ties_to_even():
    """2 x 2 -> 1 x 1 averages the four levels: exact halves round to the even level."""
    levels = np.array([[1, 1, 0, 0], [3, 3, 0, 0], [5, 5, 0, 0], [7, 7, 0, 0], [3, 0, 0, 0]])
    got = data.convert_images(levels.reshape(-1, 2, 2).astype(np.uint8), 1).ravel()
    np.testing.assert_array_equal(got, [0, 2, 2, 4, 1])  # 0.5, 1.5, 2.5, 3.5, 0.75
    # random images: the float64 filter's rounding, except where it sits on a half level
    raw = np.random.default_rng(2).integers(0, 256, (50, 28, 28))
    assert_quantised(data.convert_images(raw.astype(np.uint8), 10).reshape(50, 100) / 255.0, raw)


def assert_quantised(got, raw, side=10):
    """``got`` (N, side^2) in [0, 1] equals the explicit float filter's resize of the uint8
    ``raw`` rounded to 8 bits, wherever that resize is not within 1e-9 of a half level (a
    tie float roundoff may put on either side); there within one level."""
    levels = np.asarray(got, np.float64) * 255.0
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)  # float32 / 255
    exact = resize_reference(raw.astype(np.float64), side)
    reference = np.clip(np.round(exact), 0, 255)
    tie = np.abs(exact - np.floor(exact) - 0.5) < 1e-9
    np.testing.assert_array_equal(np.round(levels)[~tie], reference[~tie])
    np.testing.assert_allclose(levels, reference, atol=1 + 1e-4)


def write_idx_directory(directory, raw, compress_every_other=True):
    directory.mkdir(parents=True, exist_ok=True)
    for i, (key, stem) in enumerate(data.IDX_FILES.items()):
        write_idx(directory / stem, raw[key], compress=compress_every_other and i % 2 == 0)


def random_idx(rng, train=30, test=12, side=28):
    return {
        "x_train": rng.integers(0, 256, (train, side, side)),
        "y_train": rng.integers(0, 10, train),
        "x_test": rng.integers(0, 256, (test, side, side)),
        "y_test": rng.integers(0, 10, test),
    }


def test_idx_directory_on_written_files(tmp_path):
    """``idx:DIR`` (MNIST file names, plain and gzip) on files written here: the full test
    set in order, the training subset a permutation of the converted images, pixels equal to
    the explicit filter's (antialiased bilinear, rounded to 8 bits) within one level."""
    raw = random_idx(np.random.default_rng(1))
    write_idx_directory(tmp_path / "mnist", raw)
    name = f"idx:{tmp_path / 'mnist'}"
    assert data.check_source(name, 30) == 30
    ds = data.load_dataset(name, train_size=30, seed=4)
    check_dataset(ds, 30, 12, 100, 10)
    assert ds.image_shape == (10, 10, 1)
    assert_quantised(ds.x_test, raw["x_test"])
    np.testing.assert_array_equal(ds.y_test, raw["y_test"])
    expected = data.convert_images(raw["x_train"].astype(np.uint8), 10).reshape(30, 100) / 255.0
    assert_quantised(expected, raw["x_train"])
    got = ds.x_train[np.lexsort(ds.x_train.T.round(3))]
    np.testing.assert_allclose(got, expected[np.lexsort(expected.T.round(3))], atol=1e-7)
    unresized = data.load_dataset(name, train_size=30, image_side=None)
    assert unresized.image_shape == (28, 28, 1) and unresized.features == 784
    with pytest.raises(ParameterError) as err:  # the default 2560 exceeds the 30 available
        data.check_source(name)
    assert err.value.name == "dataset" and "--train-size" in str(err.value)
    with pytest.raises(ParameterError) as err:
        data.check_source(name, 31)
    assert err.value.name == "train_size"


def test_idx_directory_errors_name_the_dataset(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        data.check_source(f"idx:{tmp_path / 'nowhere'}")
    raw = random_idx(np.random.default_rng(2))
    write_idx_directory(tmp_path / "d", raw)
    (tmp_path / "d" / f"{data.IDX_FILES['y_test']}").write_bytes(b"\x01\x02junk")
    with pytest.raises(ParameterError, match="magic"):
        data.check_source(f"idx:{tmp_path / 'd'}", 10)
    with pytest.raises(ParameterError) as err:
        data.check_source("idx:")
    assert err.value.name == "dataset"


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "junk").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x02ab")
    with pytest.raises(data.DatasetFormatError, match="magic"):
        data.read_idx(tmp_path / "junk")
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
    with pytest.raises(data.DatasetFormatError, match="holds 2 values"):
        data.read_idx(tmp_path / "short")


def test_missing_system_fashion_mnist_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv(data.FASHION_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(data.DatasetUnavailable) as err:
        data.load_dataset("fashion-mnist:system")
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert str(tmp_path / "nowhere") in message and data.FASHION_ENV in message
    with pytest.raises(ParameterError) as perr:
        data.check_source("fashion-mnist:system")
    assert perr.value.name == "dataset"


def test_system_fashion_mnist_through_the_environment(tmp_path, monkeypatch):
    raw = random_idx(np.random.default_rng(3), train=40)
    write_idx_directory(tmp_path, raw)
    monkeypatch.setenv(data.FASHION_ENV, str(tmp_path))
    ds = data.load_dataset("fashion-mnist:system", train_size=40, seed=1)
    check_dataset(ds, 40, 12, 100, 10)


def test_bundled_fashion_mnist():
    """The bundled copy: a fixed 2560-image training subset (the same for every call),
    the full 10 000-image test set, 100 features that are 8-bit levels in [0, 1], about
    256 images per class, and the license beside it."""
    ds = data.load_dataset("fashion-mnist")
    check_dataset(ds, 2560, 10_000, 100, 10)
    assert ds.image_shape == (10, 10, 1)
    levels = ds.x_train * 255
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-4)
    assert ds.x_train.min() >= 0 and ds.x_train.max() <= 1
    counts = np.bincount(ds.y_train, minlength=10)
    assert counts.min() > 180  # 256 expected per class; 5 binomial sds below
    again = data.load_dataset("fashion-mnist", test_size=10)
    np.testing.assert_array_equal(again.x_train, ds.x_train)
    other = data.load_dataset("fashion-mnist", seed=1)
    assert not np.array_equal(other.y_train, ds.y_train)  # another data seed, another subset
    license_text = (data.bundled_fashion_mnist_path().parent / "fashion_mnist_LICENSE").read_text()
    assert "MIT License" in license_text and "Xiao" in license_text
    assert data.check_source("fashion-mnist", 20_000) == 20_000
    with pytest.raises(ParameterError):
        data.check_source("fashion-mnist", 20_001)


@needs_fashion
def test_bundled_copy_equals_a_fresh_conversion_of_the_debian_files():
    """tools/bundle_fashion_mnist.py's conversion of the installed Debian package gives
    exactly the bundled bytes (the conversion is integer arithmetic, so this holds on every
    machine and under every XLA flag); and its test images equal the raw IDX images (parsed
    here with a fixed 16-byte header) resized by the explicit float filter and rounded."""
    import importlib.util
    from pathlib import Path

    tool = Path(__file__).resolve().parents[2] / "tools" / "bundle_fashion_mnist.py"
    spec = importlib.util.spec_from_file_location("bundle_fashion_mnist", tool)
    bundle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bundle)
    fresh = bundle.convert(data.fashion_mnist_dir())
    with np.load(data.bundled_fashion_mnist_path()) as stored:
        for key in data.IDX_FILES:
            np.testing.assert_array_equal(stored[key], fresh[key], err_msg=key)
    stem = data.FASHION_FILES
    with gzip.open(data.fashion_mnist_dir() / f"{stem['x_test']}.gz") as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(10_000, 28, 28)
    assert_quantised(fresh["x_test"].reshape(10_000, 100) / 255.0, raw)
