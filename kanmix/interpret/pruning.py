"""Pruning that means something: mask the least important edges of a trained KAN-Mixer, fine-tune, score.

:func:`prune_runs` ranks every KAN layer's edges by importance on training images
(:func:`kanmix.interpret.edges.edge_importances` on :func:`kanmix.interpret.edges.probe_images`' draw),
keeps a fraction of each layer (:func:`keep_masks`), removes the rest so that they stay exactly
zero under training (:func:`mask_edges`), fine-tunes briefly (:func:`finetune_config`) and scores
on test images; each run is a results-store record naming its base run.
:func:`trained_and_data` and :func:`finetune_config` are shared with :mod:`kanmix.linearize`,
whose derived models are fine-tuned and scored the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize

from kanmix import data, results, runner
from kanmix.grids import kan_layers
from kanmix.interpret.edges import PROBE_SEED, _probe, _sample_indices, edge_importances

__all__ = ["PRUNE_KIND", "keep_masks", "mask_edges", "finetune_config", "trained_and_data", "prune_runs"]


def keep_masks(importances: Mapping[str, torch.Tensor], keep: float) -> dict[str, torch.Tensor]:
    """``{layer: (out, in) bool}``: the ``keep`` fraction of each layer's most important edges (at least one)."""
    if not 0 < keep <= 1:
        raise ValueError(f"keep={keep!r} must be a fraction in (0, 1]")
    masks = {}
    for name, imp in importances.items():
        flat = imp.flatten()
        mask = torch.zeros(flat.numel(), dtype=torch.bool)
        mask[flat.topk(max(1, round(keep * flat.numel()))).indices] = True
        masks[name] = mask.view(imp.shape)
    return masks


class _Mask(nn.Module):
    """A parametrization ``w -> w * mask``: masked entries are exactly zero whatever ``w`` becomes."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.mask.to(w.dtype)


def mask_edges(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """Remove the edges where ``masks[layer]`` is False, in place, and keep them removed under training.

    Both ``base_weight`` and ``spline_scaler`` of a removed edge are multiplied by zero through
    ``torch.nn.utils.parametrize``, so the edge function is exactly zero and gets no gradient;
    the optimiser may move the stored values, never the edge. Returns ``model``.
    """
    layers = kan_layers(model)
    for name, keep in masks.items():
        layer = layers[name]
        for param in ("base_weight", "spline_scaler"):
            target = getattr(layer, param)
            parametrize.register_parametrization(layer, param, _Mask(keep.to(target.device, torch.float32)))
    return model


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, precision: str) -> float:
    from kanmix.train import predict

    return float((predict(model, images, precision=precision).argmax(1) == labels).double().mean())


def finetune_config(base: runner.Run, finetune: Mapping | None = None):
    """The brief fine-tuning a trained run's derived models get (pruned, linearized): one pass of
    :func:`kanmix.train.fit` at the base's precision and seed, no augmentation, no grid updates;
    ``finetune`` overrides the other options (default lr 3e-4, no warm-up, cosine to 0, batch 128)."""
    from kanmix.train import TrainConfig

    options = {"lr": 3e-4, "warmup": 0.0, "batch_size": 128, **(finetune or {})}
    return TrainConfig.from_dict({**options, "epochs": 1, "precision": base.train.precision,
                                  "augment": None, "grid_updates": (), "seed": base.seed})


def trained_and_data(base: runner.Run, n_eval: int, who: str) -> tuple[nn.Module, tuple, tuple]:
    """``base``'s trained model, its training ``(images, labels)`` and ``n_eval`` test images with labels
    drawn by its seed (disjoint from every training image). ``who`` names the caller in the error
    raised when the base kept no weights."""
    from kanmix.splits import load_split

    model = runner.load_trained(base)
    if model is None:
        raise ValueError(f"{who}: the base run {results.run_hash(base.to_dict())} kept no weights; "
                         "run it with keep_weights=True")
    train, _, _ = load_split(base.split)
    test_x, test_y = data.load(base.split.dataset, "test", size=base.split.size)
    pick = _sample_indices(test_x.shape[0], min(n_eval, test_x.shape[0]), base.seed)
    return model, train, (test_x[pick], test_y[pick])


PRUNE_KIND = "prune_finetune"


def prune_runs(base: runner.Run, keeps: Sequence[float], *, n_importance: int, n_eval: int, steps: int,
               finetune: Mapping | None = None, force: bool = False) -> list[dict]:
    """Prune ``base``'s trained KAN-Mixer to each ``keep`` fraction of every KAN layer's edges, fine-tune, score.

    One results-store record per kept fraction (``kind="prune_finetune"``), whose config names
    the base run's hash. Importance is :meth:`KANLinear.edge_importance` on ``n_importance``
    training images of the base's split (:func:`kanmix.interpret.edges.probe_images`' default draw, the
    same for every seed); the masked model (:func:`mask_edges`) is fine-tuned for ``steps`` steps (one pass of
    :func:`kanmix.train.fit` over ``steps * batch_size`` training images, the base's precision,
    no augmentation; ``finetune`` overrides the other :class:`kanmix.train.TrainConfig`
    options, by default lr 3e-4, no warm-up, cosine to 0); accuracy is measured on ``n_eval``
    test images (disjoint from every training image) before pruning, after pruning and after
    fine-tuning. ``keep=1`` is the control: fine-tuning alone. Each record also counts the
    removed edges that are not exactly zero after fine-tuning (``masked_nonzero``, 0 by
    construction). The importances and the unpruned accuracy are computed once, and only if
    some record is missing.
    """
    from kanmix.train import fit

    train_cfg = finetune_config(base, finetune)
    base_hash = results.run_hash(base.to_dict())
    shared: dict = {}

    def prepared() -> dict:
        """The base's training and test images, importances and unpruned accuracy (computed on first use)."""
        if not shared:
            model, train, test = trained_and_data(base, n_eval, "prune_runs")
            shared.update(train=train, test=test,
                          importance=edge_importances(model, _probe(train[0], n_importance, PROBE_SEED)))
            shared["before"] = _accuracy(model, *shared["test"], base.train.precision)
        return shared

    def compute(keep: float) -> dict:
        p = prepared()
        model = runner.load_trained(base)
        masks = keep_masks(p["importance"], keep)
        mask_edges(model, masks)
        pruned = _accuracy(model, *p["test"], base.train.precision)
        train_x, train_y = p["train"]
        tune = _sample_indices(train_x.shape[0], steps * train_cfg.batch_size, base.seed + 1)
        fitted = fit(model, train_x[tune], train_y[tune], train_cfg)
        tuned = _accuracy(model, *p["test"], base.train.precision)
        # phi = base_weight * SiLU + spline_scaler * spline: a removed edge is zero iff both factors are.
        layers = kan_layers(model)
        nonzero = sum(int(((layers[name].base_weight != 0) | (layers[name].spline_scaler != 0))[~m.to(
            layers[name].base_weight.device)].sum()) for name, m in masks.items())
        return {"accuracy_unpruned": p["before"], "accuracy_pruned": pruned, "accuracy_finetuned": tuned,
                "edges": sum(int(m.numel()) for m in masks.values()),
                "edges_kept": sum(int(m.sum()) for m in masks.values()), "masked_nonzero": nonzero,
                "finetune_seconds": fitted["train_seconds"], "n_eval": int(p["test"][0].shape[0]), "seed": base.seed}

    return [results.cached_run({"kind": PRUNE_KIND, "base": base_hash, "keep": float(keep),
                                "n_importance": n_importance, "n_eval": n_eval, "steps": steps,
                                "train": train_cfg.result_options()}, lambda keep=keep: compute(keep), force=force)
            for keep in keeps]
