"""Data loaders: the shipped files, and the IDX / CIFAR-10 readers on files written here.

Nothing is downloaded: the official formats are generated in ``tmp_path``.
"""
import gzip
import hashlib
import io
import tarfile

import numpy as np
import pytest

from optbench.errors import ConfigError
from problems import datasets
from problems.datasets import DatasetError


def write_mnist_like(folder, n_train=6, n_test=4, compress=True, seed=0):
    """Tiny MNIST-format files (train gzip-compressed, test as given) with random content."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        suffix = ".gz" if (compress or prefix == "train") else ""
        datasets.write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        datasets.write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        arrays[prefix] = (images, labels)
    return arrays


def cifar_records(labels, images):
    """CIFAR-10 binary records: a label byte, then the R, G and B planes (row-major)."""
    return b"".join(bytes([int(y)]) + x.astype(np.uint8).tobytes() for y, x in zip(labels, images))


def test_shipped_digits_are_the_uci_test_set():
    images, labels = datasets.load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 16
    counts = np.bincount(labels, minlength=10)
    assert counts.sum() == 1797 and counts.min() == 174 and counts.max() == 183
    # the first record of the UCI file (a zero), as in scikit-learn's copy
    assert labels[0] == 0 and images[0, 0].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    assert not images.flags.writeable  # the cached arrays cannot be corrupted by a caller


def test_shipped_text():
    text = datasets.load_text("constitution")
    assert text.startswith("The Constitution of the United States\n\nWe the People")
    assert 20_000 < len(text) < 60_000 and text.isascii()
    assert "Amendment X." in text
    with pytest.raises(ConfigError, match="shipped texts: constitution"):
        datasets.load_text("hamlet")


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    a = (np.arange(2 * 3 * 5).reshape(2, 3, 5) - 7).astype(dtype)
    datasets.write_idx(tmp_path / name, a)
    raw = (tmp_path / name).read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")
    b = datasets.read_idx(tmp_path / name)
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b)


def test_idx_header_is_big_endian(tmp_path):
    datasets.write_idx(tmp_path / "x", np.array([1, 256], dtype=np.int32))
    assert (tmp_path / "x").read_bytes() == bytes([0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 0])


def test_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x00\x01\x08\x01\x00\x00\x00\x02ab")
    with pytest.raises(DatasetError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(gzip.compress(b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x03abc"))
    with pytest.raises(DatasetError, match=r"shape \(2, 3\) \(6 bytes\), file holds 3"):
        datasets.read_idx(tmp_path / "short")
    with pytest.raises(ValueError, match="IDX cannot store dtype"):
        datasets.write_idx(tmp_path / "c", np.zeros(2, dtype=np.complex64))


@pytest.mark.parametrize("compress", [True, False])
def test_load_idx_dataset(tmp_path, compress):
    arrays = write_mnist_like(tmp_path / "fashion-mnist", compress=compress)
    data = datasets.load_idx_dataset("fashion-mnist", tmp_path)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = data[split]
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        assert np.array_equal(images, arrays[prefix][0]) and np.array_equal(labels, arrays[prefix][1])
    # rewritten files are read again (the cache is keyed by modification time and size)
    arrays = write_mnist_like(tmp_path / "fashion-mnist", n_train=3, compress=compress, seed=1)
    assert np.array_equal(datasets.load_idx_dataset("fashion-mnist", tmp_path)["train"][0], arrays["train"][0])


def test_missing_idx_files_are_named_with_the_way_to_get_them(tmp_path):
    (tmp_path / "mnist").mkdir()
    datasets.write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte.gz", np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DatasetError) as info:
        datasets.load_idx_dataset("mnist", tmp_path)
    msg = str(info.value)
    assert "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]" in msg
    assert "train-images" not in msg.split("not found")[0].split(":")[-1]
    assert "problems.datasets.download('mnist'" in msg and "download=True" in msg
    assert isinstance(info.value, ConfigError)


def test_mismatched_images_and_labels(tmp_path):
    write_mnist_like(tmp_path / "mnist")
    datasets.write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(DatasetError, match=r"test: images \(4, 28, 28\) and labels \(3,\) do not match"):
        datasets.load_idx_dataset("mnist", tmp_path)


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("OPTBENCH_DATA", str(tmp_path / "env"))
    assert datasets.default_data_dir() == tmp_path / "env"
    assert datasets.default_data_dir(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("OPTBENCH_DATA")
    assert datasets.default_data_dir().parts[-2:] == (".cache", "optbench")


def write_cifar(folder, per_batch=2, n_test=3, seed=0):
    rng = np.random.default_rng(seed)
    folder = folder / datasets.CIFAR10_DIR
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in datasets.CIFAR10_FILES:
        n = n_test if name == "test_batch.bin" else per_batch
        images = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n)
        (folder / name).write_bytes(cifar_records(labels, images))
        out[name] = (images, labels)
    return out


def test_cifar_binary_records(tmp_path):
    image = np.stack([np.full((32, 32), c, np.uint8) for c in (10, 20, 30)])  # R, G, B planes
    image[0, 0, 1] = 99  # red, row 0, column 1: the second byte of the red plane
    path = tmp_path / "b.bin"
    path.write_bytes(cifar_records([7], [image]))
    raw = path.read_bytes()
    assert len(raw) == 3073 and raw[0] == 7 and raw[2] == 99 and raw[1 + 1024] == 20 and raw[1 + 2048] == 30
    images, labels = datasets.read_cifar_batch(path)
    assert images.shape == (1, 3, 32, 32) and labels.tolist() == [7]
    assert np.array_equal(images[0], image)
    path.write_bytes(raw[:-1])
    with pytest.raises(DatasetError, match="not a whole number of 3073-byte"):
        datasets.read_cifar_batch(path)


def test_load_cifar10(tmp_path):
    written = write_cifar(tmp_path)
    data = datasets.load_cifar10(tmp_path)
    train_images, train_labels = data["train"]
    assert train_images.shape == (10, 3, 32, 32) and train_labels.dtype == np.int64
    expected = np.concatenate([written[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    assert np.array_equal(train_images, expected)
    assert np.array_equal(data["test"][1], written["test_batch.bin"][1])
    (tmp_path / datasets.CIFAR10_DIR / "data_batch_3.bin").unlink()
    with pytest.raises(DatasetError, match=r"'cifar10' is missing .*data_batch_3\.bin not found"):
        datasets.load_cifar10(tmp_path)


def test_checksums(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"optbench" * 1000)
    assert datasets.md5sum(path) == hashlib.md5(b"optbench" * 1000).hexdigest()
    datasets.verify(path, hashlib.md5(b"optbench" * 1000).hexdigest())
    with pytest.raises(DatasetError, match="does not match the published 0123"):
        datasets.verify(path, "0123")


def test_extract_cifar10_reads_only_the_batch_files(tmp_path):
    source = write_cifar(tmp_path / "src")
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / datasets.CIFAR10_DIR, arcname=datasets.CIFAR10_DIR)
        evil = tarfile.TarInfo("../evil.bin")
        evil.size = 3
        tar.addfile(evil, io.BytesIO(b"bad"))
    folder = datasets.extract_cifar10(archive, tmp_path / "data")
    assert sorted(p.name for p in folder.iterdir()) == sorted(datasets.CIFAR10_FILES)
    assert not (tmp_path / "evil.bin").exists()
    assert np.array_equal(datasets.load_cifar10(tmp_path / "data")["test"][0], source["test_batch.bin"][0])

    incomplete = tmp_path / "incomplete.tar.gz"
    with tarfile.open(incomplete, "w:gz") as tar:
        tar.add(tmp_path / "src" / datasets.CIFAR10_DIR / "test_batch.bin", arcname=f"{datasets.CIFAR10_DIR}/test_batch.bin")
    with pytest.raises(DatasetError, match="has no member cifar-10-batches-bin/data_batch_1.bin"):
        datasets.extract_cifar10(incomplete, tmp_path / "other")


def test_published_checksums_are_well_formed():
    sums = [*datasets.IDX_FILES["mnist"].values(), *datasets.IDX_FILES["fashion-mnist"].values(), datasets.CIFAR10_MD5]
    assert len(set(sums)) == 9 and all(len(s) == 32 and int(s, 16) >= 0 for s in sums)
    assert set(datasets.MIRRORS) == set(datasets.IDX_FILES)
