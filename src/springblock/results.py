"""One results store for every command: digests, atomic writes, JSON, labelled arrays.

A *results directory* is what ``--out DIR`` names. It holds

- ``results.nc``: the labelled arrays of the result, an :class:`xarray.Dataset` with named
  dimensions and coordinates (``alpha``, the knob under its own name, ``seed``, ``layer``,
  ``mu_right``, ``noise``, ...) and attributes recording the kind of result, its spec, the
  package versions that computed it and the hash of the data it was computed from;
- ``results.json``: the same result as JSON (what ``--json`` prints);
- figures (PNG, PDF);
- ``store/<kind>/<digest>/``: the resumable pieces of long computations (one file per net,
  one per row of a grid) with a ``provenance.json``.

:func:`open_results` opens the dataset of any results directory.

**Content addressing.** :func:`digest` hashes the parameters together with the package
version and a hash of the data's content (:func:`fingerprint`), so a store is reused only
for the same parameters, the same springblock version and the same data; a user ``.npz``
edited in place gets a new digest. :meth:`Store.open` says why a computation starts afresh
when an older store of the same kind exists (data, version or parameters changed).

**Atomic writes.** Every file is written to a temporary name in the same directory (unique
per process, so concurrent workers never share one) and moved into place with
:func:`os.replace`; a reader sees the old file or the new one, never a partial one, and a
killed process leaves at most a stray temporary file.

**NetCDF backend.** ``scipy`` (NetCDF3, 64-bit offset format): scipy is already a
dependency, so writing results needs no HDF5 or netCDF C library, and every netCDF reader
opens the files. Our arrays are small (a full paper panel is well under 1 MB), so NetCDF4's
compression and groups are not needed. NetCDF3 has no 64-bit integers, booleans or nested
attributes: integers are stored as int32, booleans as int8 (xarray restores them), and
dict-valued attributes as JSON strings, listed in the attribute ``json_attrs`` and decoded
by :func:`open_results`.

**Nothing silently missing.** Strict JSON has no NaN: :func:`to_jsonable` turns a
non-finite float into ``null`` and :func:`write_json` records the path of every such value
under ``"non_finite"``, so a null is never unexplained; results that can be undefined (a
correlation over one cell) say why in a field of their own. A float variable of a dataset
may hold NaN only if it carries an attribute ``nan_meaning`` saying what NaN stands for;
:func:`write_dataset` refuses one without it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import os
import platform
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

DATASET_FILE = "results.nc"
JSON_FILE = "results.json"
PROVENANCE_FILE = "provenance.json"


# --------------------------------------------------------------------------- versions


def versions() -> dict[str, str]:
    """Versions of springblock, Python, the platform and the numerical libraries."""
    from importlib import metadata

    from springblock import __version__

    found = {
        "springblock": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    for name in ("jax", "jaxlib", "diffrax", "equinox", "optax", "numpy", "scipy", "sympy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


# --------------------------------------------------------------------------- JSON


def to_jsonable(value: Any, *, non_finite: list[str] | None = None, path: str = "$") -> Any:
    """``value`` as plain JSON types: dataclasses and NamedTuples become dicts, tuples and
    arrays lists, numpy scalars Python numbers, paths strings. A non-finite float becomes
    None and, when ``non_finite`` is given, its path (``$.summary.rho``) is appended."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    elif isinstance(value, tuple) and hasattr(value, "_asdict"):
        value = value._asdict()
    if isinstance(value, Mapping):
        return {
            str(k): to_jsonable(v, non_finite=non_finite, path=f"{path}.{k}")
            for k, v in value.items()
        }
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return [
            to_jsonable(v, non_finite=non_finite, path=f"{path}[{i}]") for i, v in enumerate(value)
        ]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if non_finite is not None:
            non_finite.append(path)
        return None
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{path}: {type(value).__name__} is not JSON serialisable")


def dumps(value: Any, *, indent: int | None = None) -> str:
    """Strict JSON of ``value``; any non-finite float is null and listed in ``non_finite``
    (a top-level key added to dict payloads)."""
    missing: list[str] = []
    data = to_jsonable(value, non_finite=missing)
    if missing and isinstance(data, dict):
        data["non_finite"] = {
            p: "not a finite number when computed (NaN or infinite)" for p in missing
        }
    return json.dumps(data, indent=indent, allow_nan=False)


# --------------------------------------------------------------------------- digests


def fingerprint(*arrays: np.ndarray) -> str:
    """SHA-256 (hex, 16 digits) of the arrays' dtypes, shapes and bytes: a hash of content."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def file_fingerprint(path: str | os.PathLike) -> str:
    """SHA-256 (hex, 16 digits) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def digest(kind: str, params: Any, data: str | None = None) -> str:
    """Content address of a computation: SHA-256 (hex, 16 digits) of its kind, its
    parameters (as canonical JSON), the springblock version and the data's fingerprint."""
    from springblock import __version__

    blob = {"kind": kind, "params": to_jsonable(params), "springblock": __version__, "data": data}
    text = json.dumps(blob, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- atomic writes


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def write_json(path: str | os.PathLike, value: Any) -> Path:
    """Strict JSON (:func:`dumps`), written atomically."""
    return write_text(path, dumps(value, indent=1))


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]  # mypy matches **arrays to allow_pickle

    return atomic_write(path, write)


#: Resolution of the PNG copy of every figure.
FIGURE_DPI = 150


def write_figure(fig, directory: str | os.PathLike, name: str) -> list[str]:
    """``name``.png and ``name``.pdf in ``directory``, each written atomically and cropped
    to the figure's tight bounding box; the figure is closed. Returns the paths.

    The box is computed once, at the PNG's resolution, and serves both formats: with
    ``bbox_inches="tight"`` matplotlib lays the figure out again for every format before
    drawing it (a quarter of the figure's saving time; the PNG is bitwise the same, the
    PDF's page differs from its own tight box by a fraction of a point)."""
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    fig.set_dpi(FIGURE_DPI)
    box = fig.get_tightbbox().padded(mpl.rcParams["savefig.pad_inches"])
    paths = []
    for ext in ("png", "pdf"):

        def write(tmp: Path, ext: str = ext) -> None:
            fig.savefig(tmp, format=ext, dpi=FIGURE_DPI, bbox_inches=box)

        paths.append(str(atomic_write(Path(directory) / f"{name}.{ext}", write)))
    plt.close(fig)
    return paths


# --------------------------------------------------------------------------- datasets


def write_dataset(path: str | os.PathLike, dataset: xr.Dataset) -> Path:
    """Write ``dataset`` as NetCDF (module docstring: backend, encodings), atomically.

    Raises ValueError for a float variable holding NaN without a ``nan_meaning`` attribute.
    """
    ds = dataset.copy()
    for name, var in ds.variables.items():
        if np.issubdtype(var.dtype, np.floating) and "nan_meaning" not in var.attrs:
            if np.isnan(var.values).any():
                raise ValueError(
                    f"variable {name!r} holds NaN but has no 'nan_meaning' attribute saying why"
                )
    encoded = []
    for key, value in list(ds.attrs.items()):
        if isinstance(value, Mapping | list | tuple) and not _flat_numbers(value):
            ds.attrs[key] = dumps(value)
            encoded.append(key)
        elif isinstance(value, bool):
            ds.attrs[key] = int(value)
        elif value is None:
            ds.attrs[key] = "null"
    if encoded:
        ds.attrs["json_attrs"] = " ".join(encoded)
    for name in list(ds.variables):
        if ds[name].dtype == np.int64:
            ds[name] = ds[name].astype(np.int32)

    def write(tmp: Path) -> None:
        ds.to_netcdf(tmp, engine="scipy", format="NETCDF3_64BIT")

    return atomic_write(path, write)


def _flat_numbers(value) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) > 0
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def read_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Load a NetCDF file written by :func:`write_dataset` into memory, attributes decoded."""
    import xarray as xr

    ds = xr.load_dataset(path, engine="scipy")
    for key in str(ds.attrs.pop("json_attrs", "")).split():
        ds.attrs[key] = json.loads(ds.attrs[key])
    return ds


def open_results(path: str | os.PathLike) -> xr.Dataset:
    """The labelled arrays of a results directory (or of a ``results.nc`` file itself).

    Works on the output of every command that stores results: a nets sweep (dims
    ``alpha``, the knob, ``seed``, ``layer``), a phase diagram (``mu_right``, ``noise``,
    ...), a ``springblock run`` directory (every stage's arrays in one dataset) and the
    companion theories' commands. Select by coordinate names, e.g.
    ``open_results("panel").sel(alpha=0.0, data_noise=0.4)``.
    """
    path = Path(path)
    target = path if path.is_file() else path / DATASET_FILE
    if not target.is_file():
        raise FileNotFoundError(
            f"{path}: no {DATASET_FILE} here; not a springblock results directory "
            "(run a command with --out DIR first)"
        )
    return read_dataset(target)


def write_results(
    out: str | os.PathLike | None,
    payload: Mapping[str, Any],
    dataset: xr.Dataset | None = None,
) -> None:
    """``out/results.json`` and, when given, ``out/results.nc``; nothing when ``out`` is None."""
    if out is None:
        return
    out = Path(out)
    if dataset is not None:
        write_dataset(out / DATASET_FILE, dataset)
    write_json(out / JSON_FILE, payload)


def provenance_attrs(kind: str, spec: Any, computed_by: Mapping[str, str] | None = None) -> dict:
    """Attributes every results dataset carries: kind, spec, the versions that computed it."""
    return {
        "kind": kind,
        "spec": to_jsonable(spec),
        "computed_by": dict(computed_by or versions()),
        "written": _now(),
    }


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- stores


@dataclasses.dataclass(frozen=True)
class Store:
    """The resumable pieces of one computation, in ``root/<kind>/<digest>/``.

    ``params`` and ``data`` (a :func:`fingerprint`) determine the digest with the package
    version. :meth:`open` creates the folder with its ``provenance.json`` (parameters, data
    hash, versions, time) and tells whether the work is new, resumed, or recomputed because
    an older store of the same kind was made with other data, version or parameters.
    """

    root: Path
    kind: str
    params: Any
    data: str | None = None

    @property
    def digest(self) -> str:
        return digest(self.kind, self.params, self.data)

    @property
    def path(self) -> Path:
        return Path(self.root) / self.kind / self.digest

    def provenance(self) -> dict:
        """The stored provenance (written by :meth:`open`)."""
        return read_json(self.path / PROVENANCE_FILE)

    def open(self, items: Callable[[Path], Iterable[Any]] | None = None) -> str:
        """Create the store if needed; return one line saying what happens and why."""
        from springblock import __version__

        if (self.path / PROVENANCE_FILE).is_file():
            done = sum(1 for _ in items(self.path)) if items else 0
            return f"resuming from the store ({done} pieces finished)" if items else "resuming"
        previous = self._latest_sibling()
        record = {
            "kind": self.kind,
            "digest": self.digest,
            "params": to_jsonable(self.params),
            "data": self.data,
            "springblock": __version__,
            "computed_by": versions(),
            "created": _now(),
        }
        write_json(self.path / PROVENANCE_FILE, record)
        if previous is None:
            return f"computing afresh (new {self.kind} store)"
        return f"recomputing: {explain_change(previous, record)}"

    def _latest_sibling(self) -> dict | None:
        parent = Path(self.root) / self.kind
        found = []
        for candidate in parent.glob(f"*/{PROVENANCE_FILE}"):
            if candidate.parent.name == self.digest:
                continue
            try:
                found.append((candidate.stat().st_mtime, read_json(candidate)))
            except (OSError, ValueError):
                continue
        return max(found, key=lambda item: item[0])[1] if found else None


def explain_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Why two provenance records differ, in words (data, version, parameters)."""
    reasons = []
    if old.get("data") != new.get("data"):
        reasons.append(f"the data content changed (hash {old.get('data')} -> {new.get('data')})")
    if old.get("springblock") != new.get("springblock"):
        reasons.append(
            f"springblock version changed ({old.get('springblock')} -> {new.get('springblock')})"
        )
    changed = _changed_params(old.get("params"), new.get("params"))
    if changed:
        reasons.append("parameters changed: " + ", ".join(changed[:6]))
    return "; ".join(reasons) or "no earlier result for these settings"


def _changed_params(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _changed_params(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    if old != new:
        return [f"{prefix.rstrip('.')} {_short(old)} -> {_short(new)}"]
    return []


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
