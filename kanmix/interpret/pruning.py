"""Pruning that means something: mask the least important edges of a trained mixer, fine-tune, score.

:func:`prune_runs` ranks the edges of every prunable layer (:func:`prunable_layers`: a KAN-Mixer's
KAN layers, an MLP-Mixer's mixing ``nn.Linear`` layers) by one of :data:`RANKINGS`, keeps a fraction
of each layer (:func:`keep_masks`), removes the rest so that they stay exactly zero under training
(:func:`mask_edges`), fine-tunes briefly (:func:`finetune_config`) and scores on test images; each
run is a results-store record naming its base run. The rankings are the claim and its controls:

- ``"importance"``: mean ``|phi|`` on training images
  (:func:`kanmix.interpret.edges.edge_importances` on :func:`kanmix.interpret.edges.probe_images`' draw);
- ``"random"``: a seeded random order, the same kept fractions: what importance adds over chance;
- ``"magnitude"``: ``|w|``, the usual pruning of an MLP, for the MLP-Mixer matched in parameters,
  pruned to the KAN-Mixer's kept parameter counts (:func:`kept_parameters`, :func:`keep_for_parameters`).

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
from kanmix.kan import KANLinear

__all__ = ["PRUNE_KIND", "RANKINGS", "RANDOM", "MAGNITUDE", "prunable_layers", "keep_masks", "mask_edges", "kept_parameters",
           "keep_for_parameters", "finetune_config", "trained_and_data", "prune_runs"]

#: How :func:`prune_runs` ranks edges: the claim (``"importance"``) and its controls.
RANKINGS = ("importance", "random", "magnitude")
#: The controls' names where studies and sentences set them beside the claim: the KAN-Mixer's edges
#: in a random order, and the parameter-matched MLP-Mixer pruned by weight magnitude.
RANDOM, MAGNITUDE = "KAN-Mixer, random order", "MLP-Mixer (param-matched), by magnitude"


def prunable_layers(model: nn.Module) -> dict[str, KANLinear | nn.Linear]:
    """The layers whose edges pruning removes, by module name: every KAN layer, or, in a mixer without
    any (the MLP-Mixer), the ``nn.Linear`` layers of its token- and channel-mixing MLPs."""
    layers = kan_layers(model)
    return layers or {name: m for name, m in model.named_modules()
                      if isinstance(m, nn.Linear) and ("token_mix" in name or "channel_mix" in name)}


def _per_edge(layer: KANLinear | nn.Linear) -> int:
    """How many parameters one edge ``o <- i`` holds: 1 for a Linear weight, ``2 + grid + order`` for a KAN
    edge (its base weight, spline scaler and spline coefficients); biases belong to no edge."""
    return sum(p.numel() for p in layer.parameters() if p.dim() >= 2) // (layer.out_features * layer.in_features)


def keep_masks(importances: Mapping[str, torch.Tensor], keep: float) -> dict[str, torch.Tensor]:
    """``{layer: (out, in) bool}``: the ``keep`` fraction of each layer's most important edges (at least one)."""
    if not 0 < keep <= 1:
        raise ValueError(f"keep={keep!r} must be a fraction in (0, 1]")
    masks = {}
    for name, imp in importances.items():
        flat = imp.flatten()
        mask = torch.zeros(flat.numel(), dtype=torch.bool)
        mask[flat.topk(_kept(flat.numel(), keep)).indices] = True
        masks[name] = mask.view(imp.shape)
    return masks


def _kept(edges: int, keep: float) -> int:
    """The edges :func:`keep_masks` keeps of a layer of ``edges``."""
    return max(1, round(keep * edges))


def kept_parameters(model: nn.Module, keep: float) -> int:
    """``model``'s parameters once :func:`keep_masks` keeps the ``keep`` fraction of every prunable layer's edges."""
    removed = sum((layer.out_features * layer.in_features - _kept(layer.out_features * layer.in_features, keep))
                  * _per_edge(layer) for layer in prunable_layers(model).values())
    return sum(p.numel() for p in model.parameters()) - removed


def keep_for_parameters(model: nn.Module, target: int) -> float:
    """The kept fraction at which ``model`` has about ``target`` parameters (:func:`kept_parameters`).

    Raises ``ValueError`` when the target lies outside what pruning can reach: above the whole model,
    or below what it keeps with one edge per prunable layer.
    """
    layers = prunable_layers(model).values()
    prunable = sum(layer.out_features * layer.in_features * _per_edge(layer) for layer in layers)
    fixed = sum(p.numel() for p in model.parameters()) - prunable
    if not fixed + sum(_per_edge(layer) for layer in layers) <= target <= fixed + prunable:
        raise ValueError(f"a target of {target:,} parameters is out of reach by pruning: the model has {fixed:,} "
                         f"outside its prunable layers and {prunable:,} in them")
    return (target - fixed) / prunable


class _Mask(nn.Module):
    """A parametrization ``w -> w * mask``: masked entries are exactly zero whatever ``w`` becomes."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.mask.to(w.dtype)


#: The tensors that, all zero, remove an edge: ``phi = base_weight * SiLU + spline_scaler * spline`` for a
#: KAN edge (its spline coefficients then do nothing), ``w * x`` for a linear one.
_EDGE_FACTORS = {KANLinear: ("base_weight", "spline_scaler"), nn.Linear: ("weight",)}


def _factors(layer: nn.Module) -> tuple[str, ...]:
    return _EDGE_FACTORS[KANLinear if isinstance(layer, KANLinear) else nn.Linear]


def mask_edges(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """Remove the edges where ``masks[layer]`` is False, in place, and keep them removed under training.

    The factors of a removed edge (a KAN edge's ``base_weight`` and ``spline_scaler``, a Linear's
    ``weight``) are multiplied by zero through ``torch.nn.utils.parametrize``, so the edge function
    is exactly zero and gets no gradient; the optimiser may move the stored values, never the edge.
    ``masks`` name layers of :func:`prunable_layers`. Returns ``model``.
    """
    layers = prunable_layers(model)
    for name, keep in masks.items():
        layer = layers[name]
        for param in _factors(layer):
            target = getattr(layer, param)
            parametrize.register_parametrization(layer, param, _Mask(keep.to(target.device, torch.float32)))
    return model


def _live(layer: nn.Module) -> torch.Tensor:
    """``(out, in)`` bool: the edges whose function is not exactly zero (some factor nonzero)."""
    return torch.stack([getattr(layer, p) != 0 for p in _factors(layer)]).any(0)


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


def _scores(model: nn.Module, ranking: str, train_x: torch.Tensor, n_importance: int, seed: int) -> dict:
    """``{layer: (out, in)}``: what ``ranking`` (:data:`RANKINGS`) ranks each prunable layer's edges by."""
    if ranking == "importance":
        return edge_importances(model, _probe(train_x, n_importance, PROBE_SEED))
    layers = prunable_layers(model)
    if ranking == "magnitude":
        return {name: layer.weight.detach().abs().cpu() for name, layer in layers.items()}
    generator = torch.Generator().manual_seed(seed)
    return {name: torch.rand(layer.out_features, layer.in_features, generator=generator)
            for name, layer in layers.items()}


def prune_runs(base: runner.Run, keeps: Sequence[float], *, n_importance: int, n_eval: int, steps: int,
               finetune: Mapping | None = None, ranking: str = "importance", available_only: bool = False,
               force: bool = False) -> list[dict]:
    """Prune ``base``'s trained mixer to each ``keep`` fraction of every prunable layer's edges, fine-tune, score.

    One results-store record per kept fraction (``kind="prune_finetune"``), whose config names
    the base run's hash. ``ranking`` (:data:`RANKINGS`) orders each layer's edges: ``"importance"``,
    :meth:`KANLinear.edge_importance` on ``n_importance`` training images of the base's split
    (:func:`kanmix.interpret.edges.probe_images`' default draw, the same for every seed);
    ``"random"``, a random order drawn from the base's seed; ``"magnitude"``, ``|w|`` of an
    MLP-Mixer's mixing layers. The masked model (:func:`mask_edges`) is fine-tuned for ``steps``
    steps (one pass of :func:`kanmix.train.fit` over ``steps * batch_size`` training images, the
    base's precision, no augmentation; ``finetune`` overrides the other
    :class:`kanmix.train.TrainConfig` options, by default lr 3e-4, no warm-up, cosine to 0);
    accuracy is measured on ``n_eval`` test images (disjoint from every training image) before
    pruning, after pruning and after fine-tuning. ``keep=1`` is the control: fine-tuning alone.
    Each record also counts the parameters kept (:func:`kept_parameters`) and the removed edges
    that are not exactly zero after fine-tuning (``masked_nonzero``, 0 by construction). The
    scores and the unpruned accuracy are computed once, and only if some record is missing.
    ``available_only`` computes nothing and returns the records the store holds.
    """
    from kanmix.train import fit

    if ranking not in RANKINGS:
        raise ValueError(f"ranking={ranking!r}: choose from {', '.join(RANKINGS)}")
    train_cfg = finetune_config(base, finetune)
    base_hash = results.run_hash(base.to_dict())
    shared: dict = {}

    def prepared() -> dict:
        """The base's training and test images, edge scores and unpruned accuracy (computed on first use)."""
        if not shared:
            model, train, test = trained_and_data(base, n_eval, "prune_runs")
            shared.update(train=train, test=test, scores=_scores(model, ranking, train[0], n_importance, base.seed))
            shared["before"] = _accuracy(model, *shared["test"], base.train.precision)
        return shared

    def compute(keep: float) -> dict:
        p = prepared()
        model = runner.load_trained(base)
        masks = keep_masks(p["scores"], keep)
        kept = kept_parameters(model, keep)
        mask_edges(model, masks)
        pruned = _accuracy(model, *p["test"], base.train.precision)
        train_x, train_y = p["train"]
        tune = _sample_indices(train_x.shape[0], steps * train_cfg.batch_size, base.seed + 1)
        fitted = fit(model, train_x[tune], train_y[tune], train_cfg)
        tuned = _accuracy(model, *p["test"], base.train.precision)
        layers = prunable_layers(model)
        nonzero = 0
        for name, m in masks.items():
            live = _live(layers[name])
            nonzero += int(live[~m.to(live.device)].sum())
        return {"accuracy_unpruned": p["before"], "accuracy_pruned": pruned, "accuracy_finetuned": tuned,
                "edges": sum(int(m.numel()) for m in masks.values()),
                "edges_kept": sum(int(m.sum()) for m in masks.values()), "parameters_kept": kept,
                "masked_nonzero": nonzero, "finetune_seconds": fitted["train_seconds"],
                "n_eval": int(p["test"][0].shape[0]), "seed": base.seed}

    # The claim's records predate the controls: their configs carry no ranking, so their hashes stand.
    named = {} if ranking == "importance" else {"ranking": ranking}
    cfgs = [{"kind": PRUNE_KIND, "base": base_hash, "keep": float(keep), **named, "n_importance": n_importance,
             "n_eval": n_eval, "steps": steps, "train": train_cfg.result_options()} for keep in keeps]
    if available_only:
        return [r for c in cfgs if (r := results.load_record(c)) is not None]
    return [results.cached_run(c, lambda c=c: compute(c["keep"]), force=force) for c in cfgs]
