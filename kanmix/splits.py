"""The data split every study trains on: which images, at which size, in which fold.

A :class:`Split` names a dataset and optionally:

- ``size``: a resize (the KAN-Mixers paper ran Fashion-MNIST at 32x32);
- ``subset``: a stratified subsample of the training split, drawn with its own seed
  ``subset_seed`` *before* folding, so every model and seed of a study sees the same images;
- ``test_subset``: how much of the official test split to score. ``None`` scores a stratified
  test subsample of the same fraction as ``subset`` (2000 of 60 000 training images -> 334 of
  10 000 test images, rounded up), or all of it without a subset; ``"all"`` always scores all;
  an integer scores that many;
- ``fold``: a :class:`Fold` of a stratified (repeated) k-fold split of the (subsampled)
  training images. The model trains on the other folds and is scored on the held-out one.
  Folds have their own seed, independent of the run seed.

:func:`load_split` is the one place that subsamples and folds, so every study that shares a
split sees the same images. A split validates itself when built and turns into the plain dict
(:meth:`Split.to_dict`) that results-store configs hold.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch

from kanmix import checks
from kanmix import data as kdata
from kanmix.checks import option
from kanmix.folds import kfold_indices, stratified_subset


@dataclass(frozen=True)
class Fold:
    """Fold ``fold`` of ``folds`` of the stratified k-fold split number ``repeat`` drawn from ``seed``."""

    folds: int
    fold: int
    repeat: int = 0
    seed: int = 0

    def __post_init__(self):
        checks.integer("fold.folds", self.folds, 2)
        if isinstance(self.fold, bool) or not isinstance(self.fold, int) or not 0 <= self.fold < self.folds:
            raise ValueError(f"fold.fold={self.fold!r} must be in 0..{self.folds - 1} for {self.folds} folds")
        checks.integer("fold.repeat", self.repeat, 0)
        checks.integer("fold.seed", self.seed, 0)


def _count_or_all(text: str) -> int | str:
    """``test_subset`` from text: an integer, else the text (``"all"``; the split checks it)."""
    return int(text) if text.isdigit() else text


@dataclass(frozen=True)
class Split:
    """A validated data split (see the module docstring); ``fold`` is a :class:`Fold` or ``None``."""

    dataset: str
    size: int | None = option(None, "resize images to SIZE x SIZE (the KAN-Mixer paper used 32)")
    subset: int | None = option(None, "train on a stratified subset of N images")
    subset_seed: int = option(0, "seed of the subset draws")
    test_subset: int | str | None = option(None, "test images to score: an integer, 'all', or None for the "
                                           "same fraction as the subset", parse=_count_or_all)
    fold: Fold | None = None

    def __post_init__(self):
        info = kdata.info(self.dataset)  # an unknown dataset fails here, naming the choices
        if self.size is not None:
            checks.integer("size", self.size, 4)
        if self.subset is not None:
            checks.integer("subset", self.subset, info.num_classes)  # one image per class at least
            if self.subset > info.train_size:  # else it would train on them all under a config that says more
                raise ValueError(f"subset={self.subset!r} is more than the {info.train_size:,} training images of "
                                 f"{info.title}; use None for all of them")
        checks.integer("subset_seed", self.subset_seed, 0)
        ts = self.test_subset
        if ts is not None and ts != "all" and (isinstance(ts, bool) or not isinstance(ts, int) or ts < info.num_classes):
            raise ValueError(f"test_subset={ts!r} must be 'all', an integer >= {info.num_classes}, "
                             "or None (the same fraction as subset)")
        if isinstance(ts, int) and not isinstance(ts, bool) and ts > info.test_size:
            raise ValueError(f"test_subset={ts!r} is more than the {info.test_size:,} test images of {info.title}; "
                             "use 'all'")
        if self.fold is not None and not isinstance(self.fold, Fold):
            raise TypeError(f"fold must be a kanmix.splits.Fold or None, got {self.fold!r}")

    @classmethod
    def from_dict(cls, d: dict) -> Split:
        """The split of a plain dict with :data:`KEYS` (``dataset`` required; ``fold`` a dict)."""
        if not isinstance(d, dict):
            raise TypeError(f"a split must be a dict, got {type(d).__name__}")
        unknown = sorted(set(d) - set(KEYS))
        if unknown:
            raise ValueError(f"unknown split key(s) {unknown}; allowed: {', '.join(KEYS)}")
        if "dataset" not in d:
            raise ValueError("a split needs 'dataset'")
        fold = d.get("fold")
        if fold is not None:
            allowed = {f.name for f in fields(Fold)}
            if not isinstance(fold, dict) or not {"folds", "fold"} <= set(fold) or set(fold) - allowed:
                raise ValueError(f"fold={fold!r} must be a dict with keys folds, fold and optional repeat, seed")
            fold = Fold(**fold)
        return cls(**{**d, "fold": fold})

    def to_dict(self) -> dict:
        """Every key, defaults included, so equal splits give equal dicts (and config hashes)."""
        return asdict(self)

    @property
    def info(self) -> kdata.DatasetInfo:
        return kdata.info(self.dataset)

    @property
    def in_shape(self) -> tuple[int, int, int]:
        """``(channels, side, side)`` of the images a model of this split sees."""
        side = self.size or self.info.size
        return (self.info.channels, side, side)


#: The keys of a split's dict, in the order of :class:`Split`'s fields.
KEYS = tuple(f.name for f in fields(Split))


def load_split(split: Split):
    """``(train, val, test)`` as ``(images_u8, labels)`` pairs; ``val`` is ``None`` without a fold."""
    info = split.info
    images, labels = kdata.load(split.dataset, "train", size=split.size)
    if split.subset is not None:
        keep = torch.from_numpy(stratified_subset(labels, split.subset, seed=split.subset_seed))
        images, labels = images[keep], labels[keep]
    val = None
    if split.fold is not None:
        f = split.fold
        tr, va = kfold_indices(labels, folds=f.folds, fold=f.fold, repeat=f.repeat, seed=f.seed)
        tr, va = torch.from_numpy(tr), torch.from_numpy(va)
        val = (images[va], labels[va])
        images, labels = images[tr], labels[tr]
    test_images, test_labels = kdata.load(split.dataset, "test", size=split.size)
    ts = split.test_subset
    if ts is None and split.subset is not None:
        ts = max(info.num_classes, math.ceil(split.subset * info.test_size / info.train_size))
    if isinstance(ts, int):
        keep = torch.from_numpy(stratified_subset(test_labels, ts, seed=split.subset_seed))
        test_images, test_labels = test_images[keep], test_labels[keep]
    return (images, labels), val, (test_images, test_labels)
