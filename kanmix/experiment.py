"""One classification experiment = one config dict = one record in the results store.

A config is plain JSON::

    {
      "dataset": "fashion_mnist",       # kanmix.data name
      "size": 32,                       # optional resize (the paper ran Fashion-MNIST at 32x32)
      "model": "kan_mixer",             # kanmix.models name
      "model_kwargs": {"depth": 8},     # build_model keyword arguments
      "train": {"epochs": 10, "lr": 1e-3, ...},   # kanmix.train.TrainConfig (no seed: see below)
      "subset": 2000,                   # optional: a stratified subsample of the training split
      "test_subset": null,              # optional: test images to evaluate (see below)
      "seed": 0,                        # model init, shuffling, augmentation, dropout
      "fold": {"folds": 5, "fold": 0, "repeat": 0, "seed": 0}   # optional k-fold split
    }

Choices worth knowing:

- ``subset`` is drawn (stratified, with a fixed seed ``subset_seed``, default 0) *before*
  folding, so every model and seed of a study sees the same images.
- With a ``fold`` the model trains on the other folds of the (subsampled) training split and
  is scored on the held-out fold (``metrics.val``, also evaluated after every epoch so the
  record holds a validation curve). Folds use their own seed, independent of the run seed.
- The official test split is always scored (``metrics.test``). To keep CPU runs cheap, a run
  on a ``subset`` scores a stratified test subsample of the same fraction (2000 of 60 000
  training images -> 334 of 10 000 test images, rounded up); set ``test_subset`` to an integer to choose
  the size, or to ``"all"`` for the full split.
- ``train.device`` and ``train.progress`` are not part of the hashed config: a record made on
  a GPU is reused on a CPU and vice versa (its provenance says where it ran).

An interrupted run resumes from its training checkpoint (``results_dir()/.checkpoints/<hash>``),
which is deleted once the record is written.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch

from kanmix import data as kdata
from kanmix import results
from kanmix.folds import kfold_indices, stratified_subset
from kanmix.metrics import classification_metrics
from kanmix.models import CLASSIFIERS, build_model, count_parameters
from kanmix.results import cached_run, check_weights_fit, load_weights, save_weights
from kanmix.train import TrainConfig, fit, predict, seed_everything

KIND = "classification"
#: The keys of a config that choose its images (see :func:`normalize_split`).
SPLIT_KEYS = ("dataset", "size", "subset", "subset_seed", "test_subset", "fold")
_KEYS = {"kind", "dataset", "size", "model", "model_kwargs", "train", "subset", "subset_seed", "test_subset",
         "seed", "fold"}


def normalize_split(split: dict) -> dict:
    """Validate a data-split config and fill its defaults; no model involved.

    ``split`` holds only :data:`SPLIT_KEYS` (``dataset`` required; ``size``, ``subset``,
    ``subset_seed``, ``test_subset``, ``fold`` optional, see the module docstring). Any study
    that trains on a split (classifiers here, autoencoders in :mod:`kanmix.ae`) takes its
    images from :func:`load_split` of it. Raises ``ValueError`` naming the bad key.
    """
    if not isinstance(split, dict):
        raise TypeError(f"split must be a dict, got {type(split).__name__}")
    unknown = sorted(set(split) - set(SPLIT_KEYS))
    if unknown:
        raise ValueError(f"unknown split key(s) {unknown}; allowed: {', '.join(SPLIT_KEYS)}")
    if "dataset" not in split:
        raise ValueError("a split needs 'dataset'")
    out = copy.deepcopy(split)
    info = kdata.info(out["dataset"])  # raises for an unknown dataset
    out.setdefault("size", None)
    if out["size"] is not None and (not isinstance(out["size"], int) or out["size"] < 4):
        raise ValueError(f"size={out['size']!r} must be an integer image side >= 4, or null for {info.size}")
    out.setdefault("subset", None)
    out.setdefault("subset_seed", 0)
    if out["subset"] is not None and (not isinstance(out["subset"], int) or out["subset"] < info.num_classes):
        raise ValueError(f"subset={out['subset']!r} must be an integer >= {info.num_classes} (one per class), or null")
    out.setdefault("test_subset", None)
    ts = out["test_subset"]
    if ts is not None and ts != "all" and (not isinstance(ts, int) or ts < info.num_classes):
        raise ValueError(f"test_subset={ts!r} must be null (proportional), 'all' or an integer >= {info.num_classes}")
    fold = out.setdefault("fold", None)
    if fold is not None:
        allowed = {"folds", "fold", "repeat", "seed"}
        if not isinstance(fold, dict) or not {"folds", "fold"} <= set(fold) or set(fold) - allowed:
            raise ValueError(f"fold={fold!r} must be a dict with keys folds, fold and optional repeat, seed")
        fold.setdefault("repeat", 0)
        fold.setdefault("seed", 0)
        if not isinstance(fold["folds"], int) or fold["folds"] < 2:
            raise ValueError(f"fold.folds={fold['folds']!r} must be an integer >= 2")
        if not isinstance(fold["fold"], int) or not 0 <= fold["fold"] < fold["folds"]:
            raise ValueError(f"fold.fold={fold['fold']!r} must be in 0..{fold['folds'] - 1}")
    return out


def split_of(cfg: dict) -> dict:
    """The data-split part of any config: its :data:`SPLIT_KEYS` that are present."""
    return {k: cfg[k] for k in SPLIT_KEYS if k in cfg}


def normalize_config(cfg: dict) -> dict:
    """Validate ``cfg`` and fill defaults, so equal experiments hash equally.

    Raises ``ValueError`` naming the bad key and its allowed values. Runtime-only training
    options (device, progress, checkpoint cadence) are dropped from the result.
    """
    if not isinstance(cfg, dict):
        raise TypeError(f"config must be a dict, got {type(cfg).__name__}")
    unknown = sorted(set(cfg) - _KEYS)
    if unknown:
        raise ValueError(f"unknown config key(s) {unknown}; allowed: {', '.join(sorted(_KEYS))}")
    out = copy.deepcopy(cfg)
    if out.setdefault("kind", KIND) != KIND:
        raise ValueError(f"kind={out['kind']!r}; classification_run needs kind={KIND!r}")
    if "dataset" not in out or "model" not in out:
        raise ValueError("config needs 'dataset' and 'model'")
    out.update(normalize_split(split_of(out)))
    if out["model"] not in CLASSIFIERS:
        raise ValueError(f"unknown classifier {out['model']!r}; choose from {', '.join(CLASSIFIERS)}")
    out.setdefault("model_kwargs", {})
    if not isinstance(out["model_kwargs"], dict):
        raise ValueError(f"model_kwargs must be a dict, got {out['model_kwargs']!r}")
    train = dict(out.get("train") or {})
    if "seed" in train:
        raise ValueError("put the seed at the top level of the config ('seed'), not in 'train'")
    # Validates and fills defaults; runtime-only options (device, progress, ...) are dropped.
    out["train"] = TrainConfig.from_dict(train).numbers_only()
    del out["train"]["seed"]
    out.setdefault("seed", 0)
    return out


def in_shape(cfg: dict) -> tuple[int, int, int]:
    info = kdata.info(cfg["dataset"])
    side = cfg.get("size") or info.size
    return (info.channels, side, side)


def build_from_config(cfg: dict) -> torch.nn.Module:
    """The untrained model of ``cfg``, initialised from its seed."""
    cfg = normalize_config(cfg)
    seed_everything(cfg["seed"])
    info = kdata.info(cfg["dataset"])
    return build_model(cfg["model"], in_shape=in_shape(cfg), num_classes=info.num_classes, **cfg["model_kwargs"])


def load_trained(cfg: dict) -> torch.nn.Module | None:
    """The trained model of ``cfg`` from the weights stored beside its record, or ``None``."""
    cfg = normalize_config(cfg)
    state = load_weights(cfg)
    if state is None:
        return None
    model = build_from_config(cfg)
    model.load_state_dict(state)
    return model.eval()


def checkpoint_dir(cfg: dict) -> Path:
    """Where the training checkpoint of ``cfg`` lives while it runs (not committed)."""
    return results.checkpoint_dir(normalize_config(cfg))


def load_split(split: dict):
    """``(train, val, test)`` as ``(images_u8, labels)`` pairs of a data-split config (see :func:`normalize_split`).

    ``val`` is ``None`` without a ``fold``. The one place that subsamples and folds the splits,
    so every study that shares a split config sees the same images.
    """
    split = normalize_split(split)
    info = kdata.info(split["dataset"])
    images, labels = kdata.load(split["dataset"], "train", size=split["size"])
    if split["subset"] is not None:
        keep = torch.from_numpy(stratified_subset(labels, split["subset"], seed=split["subset_seed"]))
        images, labels = images[keep], labels[keep]
    val = None
    if split["fold"] is not None:
        f = split["fold"]
        tr, va = kfold_indices(labels, folds=f["folds"], fold=f["fold"], repeat=f["repeat"], seed=f["seed"])
        tr, va = torch.from_numpy(tr), torch.from_numpy(va)
        val = (images[va], labels[va])
        images, labels = images[tr], labels[tr]
    test_images, test_labels = kdata.load(split["dataset"], "test", size=split["size"])
    ts = split["test_subset"]
    if ts is None and split["subset"] is not None:
        ts = max(info.num_classes, math.ceil(split["subset"] * info.test_size / info.train_size))
    if isinstance(ts, int):
        keep = torch.from_numpy(stratified_subset(test_labels, ts, seed=split["subset_seed"]))
        test_images, test_labels = test_images[keep], test_labels[keep]
    return (images, labels), val, (test_images, test_labels)


def split_data(cfg: dict):
    """``(train, val, test)`` as ``(images_u8, labels)`` pairs for the classification config ``cfg``."""
    return load_split(split_of(normalize_config(cfg)))


def classification_run(cfg: dict, *, force: bool = False, progress: bool | None = None, device: str | None = None,
                       keep_weights: bool = False, on_epoch=None, checkpoint_every_s: float = 60.0) -> dict:
    """Train and score the classifier of ``cfg``, or return its stored record.

    The record (see :mod:`kanmix.results`) holds ``metrics.val`` (``None`` without a fold) and
    ``metrics.test`` (accuracy, macro precision/recall/F1, confusion matrix), the per-epoch
    ``history``, ``train_seconds``, ``images_per_second``, ``parameters``, the sizes of the
    three sets, ``fold`` and ``seed``. ``progress``, ``device``, ``checkpoint_every_s`` and
    ``on_epoch(row)`` only affect how it runs (see :func:`kanmix.train.fit`). ``keep_weights``
    stores the trained weights beside the record (safetensors, at most 20 MB, checked before
    training) and retrains if an existing record lacks them.
    """
    cfg = normalize_config(cfg)

    def run() -> dict:
        info = kdata.info(cfg["dataset"])
        model = build_from_config(cfg)  # first, so bad model arguments fail before data loads
        if keep_weights:
            check_weights_fit(model)
        train, val, test = split_data(cfg)
        tcfg = TrainConfig(**cfg["train"], seed=cfg["seed"], device=device, progress=progress,
                           checkpoint_every_s=checkpoint_every_s)
        ckpt = checkpoint_dir(cfg)
        out = fit(model, *train, tcfg, checkpoint_dir=ckpt, val=val, on_epoch=on_epoch)
        batch = max(256, tcfg.batch_size)
        metrics = {"val": None, "test": None}
        for name, split in (("val", val), ("test", test)):
            if split is not None:
                pred = predict(model, split[0], batch_size=batch, device=tcfg.device).argmax(1)
                metrics[name] = classification_metrics(split[1], pred, info.num_classes)
        if keep_weights:
            save_weights(cfg, model.state_dict())
        record = {
            "metrics": metrics,
            "history": out["history"],
            "train_seconds": out["train_seconds"],
            "images_per_second": out["images_per_second"],
            "parameters": count_parameters(model),
            "n_train": int(train[0].shape[0]),
            "n_val": int(val[0].shape[0]) if val is not None else 0,
            "n_test": int(test[0].shape[0]),
            "fold": cfg["fold"],
            "seed": cfg["seed"],
            "train_device": out["device"],
            "resumed_from_epoch": out["resumed_from_epoch"],
        }
        return record

    return cached_run(cfg, run, force=force, needs_weights=keep_weights)
