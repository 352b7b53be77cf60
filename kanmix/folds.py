"""Deterministic stratified splits: k-fold (optionally repeated) and stratified subsets.

Everything is a pure function of ``(labels, seed, ...)``, so a fold can be recomputed on
any machine from the few integers stored in a results record.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split


def _labels_array(labels) -> np.ndarray:
    y = np.asarray(labels.cpu() if hasattr(labels, "cpu") else labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {tuple(y.shape)}")
    return y


def derived_seed(*parts: int) -> int:
    """An independent 32-bit seed for each tuple ``(seed, stream, ...)``.

    One user seed fans out into unrelated streams (fold shuffles, batch order, augmentation,
    samplers) without any stream having to be drawn through to reach the next.
    """
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0])


def kfold_indices(labels, *, folds: int, fold: int, repeat: int = 0, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, val_idx)`` of fold ``fold`` of a stratified ``folds``-fold split.

    ``repeat`` selects an independent reshuffle (repeated k-fold): ``repeat=r`` with the
    same ``seed`` always gives the same partition. Index arrays are sorted int64.
    """
    y = _labels_array(labels)
    if not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds={folds!r} must be an integer >= 2")
    if not 0 <= fold < folds:
        raise ValueError(f"fold={fold!r} must be in 0..{folds - 1} for folds={folds}")
    if repeat < 0:
        raise ValueError(f"repeat={repeat!r} must be >= 0")
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < folds:
        rare = classes[counts.argmin()]
        raise ValueError(f"class {rare} has only {counts.min()} examples, fewer than folds={folds}; "
                         "use fewer folds or a larger subset")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=derived_seed(seed, repeat))
    train_idx, val_idx = list(splitter.split(np.zeros(len(y)), y))[fold]
    return np.sort(train_idx).astype(np.int64), np.sort(val_idx).astype(np.int64)


def stratified_subset(labels, n: int, *, seed: int = 0) -> np.ndarray:
    """Sorted indices of a stratified random subset of ``n`` examples (all of them if ``n >= N``)."""
    y = _labels_array(labels)
    if n <= 0:
        raise ValueError(f"subset size n={n!r} must be positive")
    if n >= len(y):
        return np.arange(len(y), dtype=np.int64)
    n_classes = len(np.unique(y))
    if n < n_classes:
        raise ValueError(f"subset size n={n} is smaller than the {n_classes} classes; use n >= {n_classes}")
    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=int(seed))
    return np.sort(idx).astype(np.int64)
