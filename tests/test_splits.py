"""kanmix.splits: a split validates itself once, and the same split loads the same real images."""

import dataclasses

import numpy as np
import pytest
import torch

from kanmix.splits import Fold, Split, load_split

SPLIT = {"dataset": "fashion_mnist", "subset": 200, "fold": {"folds": 4, "fold": 1}}


def test_a_split_fills_its_defaults_and_round_trips():
    split = Split.from_dict(SPLIT)
    assert split.fold == Fold(folds=4, fold=1, repeat=0, seed=0)
    d = split.to_dict()
    assert d == {"dataset": "fashion_mnist", "size": None, "subset": 200, "subset_seed": 0, "test_subset": None,
                 "fold": {"folds": 4, "fold": 1, "repeat": 0, "seed": 0}}
    assert Split.from_dict(d) == split and hash(Split.from_dict(d)) == hash(split)  # usable as a cache key
    assert Split(dataset="cifar10", size=16).in_shape == (3, 16, 16)
    with pytest.raises(dataclasses.FrozenInstanceError):
        split.subset = 3


@pytest.mark.parametrize("bad, match", [
    ({"dataset": "imagenet"}, "unknown dataset 'imagenet'"),
    ({"dataset": "mnist", "model": "mlp"}, r"unknown split key\(s\) \['model'\]"),
    ({"size": 32}, "needs 'dataset'"),
    ({"dataset": "mnist", "size": 3}, "size=3 must be an integer >= 4"),
    ({"dataset": "mnist", "subset": 3}, "subset=3 must be an integer >= 10"),
    ({"dataset": "mnist", "test_subset": "some"}, "test_subset='some' must be 'all', an integer >= 10, or None"),
    ({"dataset": "mnist", "fold": {"folds": 4, "fold": 4}}, r"fold\.fold=4 must be in 0\.\.3"),
    ({"dataset": "mnist", "fold": {"folds": 1, "fold": 0}}, r"fold\.folds=1 must be an integer >= 2"),
    ({"dataset": "mnist", "fold": {"folds": 4}}, "must be a dict with keys folds, fold"),
])
def test_bad_splits_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        Split.from_dict(bad)


def test_splits_are_stratified_subsets_of_the_real_data():
    (xtr, ytr), (xva, yva), (xte, yte) = load_split(Split.from_dict(SPLIT))
    assert (len(ytr), len(yva)) == (150, 50) and len(yte) == 34  # 200 / 60000 of the 10000 test images
    assert np.bincount(ytr.numpy(), minlength=10).min() >= 14
    assert len(load_split(Split.from_dict({**SPLIT, "test_subset": "all"}))[2][0]) == 10_000
    for (x, y), (x2, y2) in zip(load_split(Split.from_dict(SPLIT)), load_split(Split.from_dict(SPLIT))):
        assert torch.equal(x, x2) and torch.equal(y, y2)  # the same split, the same images
    assert load_split(Split.from_dict({**SPLIT, "fold": None}))[1] is None
