"""Data sets for the neural training problems.

Two kinds:

* **shipped** with the package (``problems/data/``, see its README for sources and licenses):
  :func:`load_digits` -- the UCI optical-recognition digits (1797 8x8 images, CC BY 4.0) --
  and :func:`load_text` -- the US Constitution and Bill of Rights (public domain). They work
  offline, out of the box;
* **local** copies of the official files of MNIST, Fashion-MNIST (IDX format, ``.gz`` or
  not) and CIFAR-10 (its *binary* version, so no pickle is ever read), in a data directory:
  ``data_dir`` if given, else ``$OPTBENCH_DATA``, else ``~/.cache/optbench``::

      <data_dir>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
      <data_dir>/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
      <data_dir>/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin

  Nothing is downloaded unless asked: :func:`download` (or ``python -m problems.datasets
  NAME``) fetches the official files and checks their published MD5 sums. A missing data
  set raises :class:`DatasetError`, which names the missing files and how to get them.

Images are returned as ``uint8`` arrays (``(n, 28, 28)`` or ``(n, 3, 32, 32)``) and labels
as ``int64``; the problems scale them inside the model, so the data stay small on the device.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from optbench.errors import ConfigError

PACKAGE_DATA = Path(__file__).resolve().parent / "data"

#: The official files and their published MD5 sums (the ones torchvision checks too).
IDX_FILES = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
MIRRORS = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
CIFAR10_DIR = "cifar-10-batches-bin"
CIFAR10_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",)
CIFAR10_RECORD = 1 + 3 * 32 * 32  # one label byte, then the red, green and blue 32x32 planes
DATASETS = ("mnist", "fashion-mnist", "cifar10")


class DatasetError(ConfigError):
    """A data set that is missing, incomplete or corrupt (says which files and how to get them)."""


def default_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else ``$OPTBENCH_DATA``, else ``~/.cache/optbench``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("OPTBENCH_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "optbench"


# ---------------------------------------------------------------------------------------
# Shipped data
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI optical-recognition digits: images ``(1797, 8, 8)`` uint8 in ``0..16``, labels int64.

    The 1797-image test set of Alpaydin & Kaynak's data (the copy scikit-learn bundles as
    ``load_digits``), shipped as ``problems/data/digits.npz``. Read-only arrays, cached.
    """
    with np.load(PACKAGE_DATA / "digits.npz", allow_pickle=False) as f:
        images, labels = f["images"], f["labels"].astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


TEXTS = {"constitution": "constitution.txt"}


@functools.lru_cache(maxsize=4)
def load_text(name: str = "constitution") -> str:
    """A shipped public-domain text (ASCII) for the character-level language models."""
    if name not in TEXTS:
        raise ConfigError(f"unknown text {name!r}; shipped texts: {', '.join(TEXTS)}")
    return (PACKAGE_DATA / TEXTS[name]).read_text(encoding="ascii")


# ---------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST)
# ---------------------------------------------------------------------------------------
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (LeCun et al.'s MNIST format), gzip-compressed or not.

    Header: two zero bytes, a type code (``0x08`` unsigned byte, ``0x09`` signed byte,
    ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the number of
    dimensions, then each dimension as a big-endian uint32; then the data, big-endian,
    row-major. Compression is recognised by the gzip magic bytes, not by the file name.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DatasetError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise DatasetError(f"{path}: header says shape {shape} ({expected} bytes), file holds {len(raw) - offset}")
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in ``.gz``).

    The inverse of :func:`read_idx`, e.g. to save a subset of MNIST in the official format.
    """
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in _IDX_TYPES.items()}
    array = np.asarray(array)
    code = codes.get(array.dtype.newbyteorder("=").str)
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of {sorted(set(codes))}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    raw = header + array.astype(_IDX_TYPES[code]).tobytes()
    Path(path).write_bytes(gzip.compress(raw) if str(path).endswith(".gz") else raw)


def _find(folder: Path, name: str) -> Path | None:
    """``name`` (``*.gz``) or its decompressed twin in ``folder``."""
    for candidate in (folder / name, folder / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _missing_error(name: str, folder: Path, missing: list[str]) -> DatasetError:
    return DatasetError(
        f"data set {name!r} is missing from {folder}: {', '.join(missing)} not found. Get the "
        f"official files with problems.datasets.download({name!r}, {str(folder.parent)!r}) "
        f"(or `python -m problems.datasets {name} --data-dir {folder.parent}`), pass "
        "download=True to the problem, or copy them there yourself; set OPTBENCH_DATA or the "
        "problem's data_dir to use another folder")


def require(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The files of data set ``name`` (one of :data:`DATASETS`) in the data directory;
    :class:`DatasetError` naming the missing ones and how to get them. Reads nothing."""
    if name == "cifar10":
        folder = default_data_dir(data_dir) / CIFAR10_DIR
        missing = [f for f in CIFAR10_FILES if not (folder / f).is_file()]
        if missing:
            raise _missing_error("cifar10", folder, missing)
        return [folder / f for f in CIFAR10_FILES]
    if name not in IDX_FILES:
        raise ConfigError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    folder = default_data_dir(data_dir) / name
    paths = {f: _find(folder, f) for f in IDX_FILES[name]}
    missing = [f"{f.removesuffix('.gz')}[.gz]" for f, p in paths.items() if p is None]
    if missing:
        raise _missing_error(name, folder, missing)
    return list(paths.values())


def load_idx_dataset(name: str, data_dir: str | os.PathLike | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images, labels), "test": (images, labels)}`` of MNIST or Fashion-MNIST.

    Images ``(n, 28, 28)`` uint8, labels int64; read from ``<data_dir>/<name>/``.
    Cached per folder and file modification times.
    """
    if name not in IDX_FILES:
        raise ConfigError(f"unknown IDX data set {name!r}; known: {', '.join(IDX_FILES)}")
    paths = dict(zip(IDX_FILES[name], require(name, data_dir)))
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths.values())
    return _load_idx_cached(name, stamp)


@functools.lru_cache(maxsize=2)
def _load_idx_cached(name: str, stamp: tuple) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    files = dict(zip(IDX_FILES[name], (Path(s[0]) for s in stamp)))
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(files[f"{prefix}-images-idx3-ubyte.gz"])
        labels = read_idx(files[f"{prefix}-labels-idx1-ubyte.gz"]).astype(np.int64)
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise DatasetError(f"{name} {split}: images {images.shape} and labels {labels.shape} do not match")
        out[split] = (images, labels)
    return out


# ---------------------------------------------------------------------------------------
# CIFAR-10 (binary version)
# ---------------------------------------------------------------------------------------
def read_cifar_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 binary batch: images ``(n, 3, 32, 32)`` uint8 and labels int64.

    Each record is 3073 bytes: the label (0-9), then 1024 red, 1024 green and 1024 blue
    values of the 32x32 image in row-major order (Krizhevsky 2009, "binary version").
    """
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % CIFAR10_RECORD:
        raise DatasetError(f"{path}: {raw.size} bytes is not a whole number of {CIFAR10_RECORD}-byte CIFAR-10 records")
    records = raw.reshape(-1, CIFAR10_RECORD)
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), records[:, 0].astype(np.int64)


def load_cifar10(data_dir: str | os.PathLike | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": ..., "test": ...}`` from ``<data_dir>/cifar-10-batches-bin/`` (cached)."""
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in require("cifar10", data_dir))
    return _load_cifar_cached(stamp)


@functools.lru_cache(maxsize=1)
def _load_cifar_cached(stamp: tuple) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    batches = [read_cifar_batch(s[0]) for s in stamp]
    train = batches[:-1]
    return {"train": (np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train])),
            "test": batches[-1]}


# ---------------------------------------------------------------------------------------
# Download (only when asked)
# ---------------------------------------------------------------------------------------
def md5sum(path: str | os.PathLike) -> str:
    """The MD5 hex digest of a file (the checksum the data sets' authors publish)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: str | os.PathLike, md5: str) -> None:
    """Raise :class:`DatasetError` unless the file's MD5 is ``md5``."""
    got = md5sum(path)
    if got != md5:
        raise DatasetError(f"{path}: MD5 {got} does not match the published {md5} (corrupt or different file)")


def _fetch(urls: tuple[str, ...], target: Path, md5: str) -> None:
    """Download the first URL that works to ``target`` (atomically) and check its MD5."""
    errors = []
    for url in urls:
        tmp = None
        try:
            with urllib.request.urlopen(url, timeout=60) as response, tempfile.NamedTemporaryFile(
                    dir=target.parent, delete=False, suffix=".part") as out:
                tmp = Path(out.name)
                shutil.copyfileobj(response, out, 1 << 20)
            verify(tmp, md5)
            os.replace(tmp, target)
            return
        except (OSError, DatasetError) as exc:
            errors.append(f"{url}: {exc}")
        finally:
            if tmp is not None and tmp.exists():
                tmp.unlink()
    raise DatasetError(f"could not download {target.name}:\n  " + "\n  ".join(errors))


def extract_cifar10(archive: str | os.PathLike, data_dir: str | os.PathLike) -> Path:
    """Copy the six batch files out of ``cifar-10-binary.tar.gz`` into ``<data_dir>/cifar-10-batches-bin``.

    Only regular files named ``cifar-10-batches-bin/<batch>.bin`` are read, by name; no other
    member (and no path from the archive) is ever written.
    """
    folder = Path(data_dir) / CIFAR10_DIR
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        for name in CIFAR10_FILES:
            try:
                member = tar.getmember(f"{CIFAR10_DIR}/{name}")
            except KeyError:
                raise DatasetError(f"{archive} has no member {CIFAR10_DIR}/{name}") from None
            if not member.isfile():
                raise DatasetError(f"{archive}: {member.name} is not a regular file")
            with tar.extractfile(member) as src, open(folder / name, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    return folder


def download(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Download the official files of ``name`` (``mnist``, ``fashion-mnist`` or ``cifar10``).

    Files already present with the right checksum (for CIFAR-10: the six extracted batches,
    complete) are kept. Each download is checked
    against the MD5 its authors publish and moved into place only if it matches. Returns
    the data set's folder. This is the only function here that touches the network.
    """
    root = default_data_dir(data_dir)
    if name in IDX_FILES:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for fname, md5 in IDX_FILES[name].items():
            target = folder / fname
            if target.is_file() and md5sum(target) == md5:
                continue
            _fetch(tuple(m + fname for m in MIRRORS[name]), target, md5)
        return folder
    if name == "cifar10":
        folder = root / CIFAR10_DIR
        if all((folder / f).is_file() and (folder / f).stat().st_size == 10_000 * CIFAR10_RECORD for f in CIFAR10_FILES):
            return folder  # extracted before (the archive is not kept; each batch holds 10,000 records)
        root.mkdir(parents=True, exist_ok=True)
        archive = root / "cifar-10-binary.tar.gz"
        if not (archive.is_file() and md5sum(archive) == CIFAR10_MD5):
            _fetch((CIFAR10_URL,), archive, CIFAR10_MD5)
        folder = extract_cifar10(archive, root)
        archive.unlink()
        return folder
    raise ConfigError(f"unknown data set {name!r}; downloadable: {', '.join(DATASETS)}")


def main(argv: list[str] | None = None) -> None:
    """``python -m problems.datasets NAME [--data-dir DIR]``: download a data set."""
    parser = argparse.ArgumentParser(prog="python -m problems.datasets", description=download.__doc__.splitlines()[0])
    parser.add_argument("name", choices=DATASETS)
    parser.add_argument("--data-dir", default=None, help="default: $OPTBENCH_DATA or ~/.cache/optbench")
    args = parser.parse_args(argv)
    print(download(args.name, args.data_dir))


if __name__ == "__main__":
    main()
