import numpy as np
import pytest

from kanmix.data import load
from kanmix.folds import kfold_indices, stratified_subset


@pytest.fixture(scope="module")
def labels():
    return load("fashion_mnist", "test")[1][:500]


def test_folds_partition_and_stratify(labels):
    y = labels.numpy()
    vals = []
    for fold in range(5):
        tr, va = kfold_indices(labels, folds=5, fold=fold, seed=3)
        assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(y)
        assert np.all(np.diff(tr) > 0) and tr.dtype == np.int64
        # every class is split about 1:4
        for c in range(10):
            n_c = (y == c).sum()
            assert abs((y[va] == c).sum() - n_c / 5) <= 1
        vals.append(va)
    assert np.array_equal(np.sort(np.concatenate(vals)), np.arange(len(y)))


def test_folds_are_deterministic_and_repeats_differ(labels):
    a = kfold_indices(labels, folds=5, fold=2, seed=0)
    b = kfold_indices(labels, folds=5, fold=2, seed=0)
    assert all(np.array_equal(x, z) for x, z in zip(a, b))
    r1 = kfold_indices(labels, folds=5, fold=2, repeat=1, seed=0)
    assert not np.array_equal(a[1], r1[1])
    s1 = kfold_indices(labels, folds=5, fold=2, seed=1)
    assert not np.array_equal(a[1], s1[1])


def test_fold_errors(labels):
    with pytest.raises(ValueError, match="folds"):
        kfold_indices(labels, folds=1, fold=0)
    with pytest.raises(ValueError, match="0..4"):
        kfold_indices(labels, folds=5, fold=5)
    with pytest.raises(ValueError, match="fewer than folds"):
        kfold_indices(np.array([0, 0, 0, 1, 1, 1, 2]), folds=3, fold=0)


def test_stratified_subset(labels):
    y = labels.numpy()
    idx = stratified_subset(labels, 100, seed=0)
    assert len(idx) == 100 and len(np.unique(idx)) == 100
    counts = np.bincount(y[idx], minlength=10)
    expected = np.bincount(y, minlength=10) * 100 / len(y)
    assert np.all(np.abs(counts - expected) <= 1)
    assert np.array_equal(idx, stratified_subset(labels, 100, seed=0))
    assert not np.array_equal(idx, stratified_subset(labels, 100, seed=1))
    assert np.array_equal(stratified_subset(labels, 10_000), np.arange(len(y)))
    with pytest.raises(ValueError, match="classes"):
        stratified_subset(labels, 5)
