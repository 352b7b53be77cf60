"""The classification study: one classifier trained on one data split is one results-store record.

A :class:`ClassificationRun` is the typed config; as a plain dict (:meth:`~kanmix.runner.Run.to_dict`,
what the store hashes and keeps) it reads::

    {
      "kind": "classification",
      "dataset": "fashion_mnist", "size": 32,       # the data split (kanmix.splits.Split):
      "subset": 2000, "subset_seed": 0,             #   dataset, resize, stratified subsample,
      "test_subset": null,                          #   test images to score,
      "fold": {"folds": 5, "fold": 0, "repeat": 0, "seed": 0},   # optional k-fold fold
      "model": "kan_mixer",                         # kanmix.models name
      "model_kwargs": {"depth": 8},                 # build_model keyword arguments
      "train": {"epochs": 10, "lr": 1e-3, "precision": "bf16", ...},  # kanmix.train.TrainConfig
      "seed": 0                                     # model init, shuffling, augmentation, dropout
    }

With a ``fold`` the model trains on the other folds of the (subsampled) training split and is
scored on the held-out fold (``metrics.val``, also evaluated after every epoch so the record
holds a validation curve). The official test split is always scored (``metrics.test``); see
:mod:`kanmix.splits` for the subsets. :func:`kanmix.runner.record` trains it (or reads it back).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from kanmix.data import to_float
from kanmix.flops import run_training_flops
from kanmix.grids import GRID_PROBE, outside_grid_fractions
from kanmix.metrics import classification_metrics
from kanmix.models import CLASSIFIERS, build_model, count_parameters
from kanmix.runner import Run
from kanmix.train import CLASSIFY, predict

KIND = "classification"


@dataclass(frozen=True, kw_only=True)
class ClassificationRun(Run):
    """A classifier (``model`` in :data:`kanmix.models.CLASSIFIERS`) trained on ``split``."""

    KIND = KIND
    OBJECTIVE = CLASSIFY
    CURVE_ON = "val"

    def __post_init__(self):
        super().__post_init__()
        if self.model not in CLASSIFIERS:
            raise ValueError(f"unknown classifier {self.model!r}; choose from {', '.join(CLASSIFIERS)}")

    def build_model(self) -> nn.Module:
        return build_model(self.model, in_shape=self.split.in_shape, num_classes=self.split.info.num_classes,
                           **self.model_kwargs)

    def epoch_metrics(self, data: tuple):
        """After every epoch, the fraction of each KAN layer's inputs outside its grid (``outside_grid``).

        Measured on the first :data:`kanmix.grids.GRID_PROBE` training images, unaugmented; models
        without KAN layers add nothing to their history.
        """
        probe = to_float(data[0][0][:GRID_PROBE])

        def measure(model: nn.Module) -> dict:
            fractions = outside_grid_fractions(model, probe)
            return {"outside_grid": fractions} if fractions else {}

        return measure

    def score(self, model: nn.Module, data: tuple, fitted: dict) -> dict:
        """Accuracy, macro precision/recall/F1 and confusion matrix on the held-out fold and the test split.

        The record holds ``metrics.val`` (``None`` without a fold) and ``metrics.test``, the
        per-epoch ``history``, ``train_seconds``, ``images_per_second``, ``parameters``, ``training_flops``, the
        sizes of the three sets, ``fold`` and ``seed``.
        """
        train, val, test = data
        metrics = {"val": None, "test": None}
        for name, part in (("val", val), ("test", test)):
            if part is not None:
                pred = predict(model, part[0], batch_size=max(256, self.train.batch_size), device=self.train.device,
                               precision=self.train.precision).argmax(1)
                metrics[name] = classification_metrics(part[1], pred, self.split.info.num_classes)
        return {
            "metrics": metrics,
            "history": fitted["history"],
            "train_seconds": fitted["train_seconds"],
            "images_per_second": fitted["images_per_second"],
            "parameters": count_parameters(model),
            # Machine-independent compute, from the layer shapes (kanmix.flops): what a frontier plots.
            "training_flops": run_training_flops(self, int(train[0].shape[0])),
            "n_train": int(train[0].shape[0]),
            "n_val": int(val[0].shape[0]) if val is not None else 0,
            "n_test": int(test[0].shape[0]),
            "fold": self.split.to_dict()["fold"],
            "seed": self.seed,
            "train_device": fitted["device"],
            "resumed_from_epoch": fitted["resumed_from_epoch"],
        }
