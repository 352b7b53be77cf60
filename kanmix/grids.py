"""Where the inputs of a model's KAN layers fall relative to their spline grids, and moving the grids to them.

A :class:`kanmix.kan.KANLinear` spline lives on a fixed grid, ``[-1, 1]`` by default; whatever
falls outside it sees only the SiLU base. Inside a mixer the KAN layers read LayerNorm outputs,
roughly standard normal, so about a third of them land outside ``[-1, 1]``. These functions
measure that on real inputs (:func:`layer_inputs`, :func:`outside_grid`) and move the grids
to the data (:func:`update_grids`, which :func:`kanmix.train.fit` calls at the epochs a
config's ``grid_updates`` names).
"""

from __future__ import annotations

import torch
from torch import nn

from kanmix.kan import KANLinear

__all__ = ["kan_layers", "layer_inputs", "outside_grid", "outside_grid_fractions", "update_grids"]


def kan_layers(model: nn.Module) -> dict[str, KANLinear]:
    """Every :class:`KANLinear` inside ``model`` by its module name, in order of definition."""
    return {name: m for name, m in model.named_modules() if isinstance(m, KANLinear)}


@torch.no_grad()
def layer_inputs(model: nn.Module, x: torch.Tensor, *, batch_size: int = 256) -> dict[str, torch.Tensor]:
    """The inputs reaching every KAN layer of ``model`` on float inputs ``x (N, ...)`` (the model's own scale).

    Returns ``{layer name: (rows, in) float32 on the CPU}``; a mixer's token-mixing layer sees
    one row per (image, channel), its channel-mixing layer one row per (image, token). The model
    runs in eval mode, in float32, batch by batch (forward pre-hooks record the inputs), and is
    returned to its previous mode.
    """
    layers = kan_layers(model)
    seen: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    hooks = [layer.register_forward_pre_hook(
        lambda mod, args, name=name: seen[name].append(args[0].detach().reshape(-1, mod.in_features).float().cpu()))
        for name, layer in layers.items()]
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    try:
        for start in range(0, x.shape[0], batch_size):
            model(x[start:start + batch_size].to(device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return {name: torch.cat(parts) if parts else torch.empty(0, layers[name].in_features)
            for name, parts in seen.items()}


def outside_grid(layer: KANLinear, x: torch.Tensor) -> float:
    """Fraction of the entries of ``x (rows, in)`` outside each input's grid range ``[t_k, t_{G+k}]``.

    There only the SiLU base acts fully: the spline is partly supported on the ``k`` extra knots
    at each end and zero beyond them, so inputs out there barely use the spline's capacity.
    """
    k = layer.spline_order
    lo, hi = layer.grid[:, k].to(x), layer.grid[:, -k - 1].to(x)
    return float(((x < lo) | (x > hi)).float().mean())


def outside_grid_fractions(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """:func:`outside_grid` of every KAN layer of ``model`` on float inputs ``x``; ``{}`` without KAN layers."""
    layers = kan_layers(model)
    if not layers:
        return {}
    return {name: outside_grid(layers[name], inputs) for name, inputs in layer_inputs(model, x).items()}


@torch.no_grad()
def update_grids(model: nn.Module, x: torch.Tensor) -> None:
    """Move every KAN layer's knots to the inputs it sees on ``x`` (:meth:`KANLinear.update_grid`).

    The inputs are collected once, then each layer is updated on its own. The refit keeps each
    layer's function on those inputs up to the least-squares error, so the inputs of later
    layers move by no more than that.
    """
    layers, device = kan_layers(model), next(model.parameters()).device
    for name, inputs in layer_inputs(model, x).items():
        layers[name].update_grid(inputs.to(device))


def knot_occupancy(layer: KANLinear, x: torch.Tensor, *, min_share: float = 0.01) -> float:
    """Fraction of the knot intervals inside the grid range that hold at least ``min_share`` of their input's values.

    ``x (rows, in)``. Each input has ``G`` intervals between its inner knots; an interval few
    inputs fall into has coefficients that barely train. Inputs can stay inside the grid and
    still crowd into a part of it, which :func:`outside_grid` does not see.
    """
    k = layer.spline_order
    knots = layer.grid[:, k:-k].to(x)  # (in, G + 1)
    xt = x.t().unsqueeze(-1)  # (in, rows, 1)
    inside = (xt >= knots[:, None, :-1]) & (xt < knots[:, None, 1:])  # (in, rows, G)
    return float((inside.float().mean(1) >= min_share).float().mean())
