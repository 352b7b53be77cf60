"""Where the inputs of a model's KAN layers fall relative to their spline grids, and moving the grids to them.

A :class:`kanmix.kan.KANLinear` spline lives on a fixed grid, ``[-1, 1]`` by default; whatever
falls outside it sees only the SiLU base. Inside a mixer the KAN layers read LayerNorm outputs,
roughly standard normal, so about a third of them land outside ``[-1, 1]``. These functions
measure that on real inputs (:func:`layer_inputs`, :func:`outside_grid`) and move the grids
to the data (:func:`update_grids`, which :func:`kanmix.train.fit` calls at the epochs a
config's ``grid_updates`` names); :func:`grid_update_effect` measures what one layer's update does.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch
from torch import nn

from kanmix.kan import KANLinear

__all__ = ["GRID_PROBE", "grid_update_effect", "grid_update_hook", "kan_layers", "layer_inputs", "module_inputs",
           "outside_grid", "outside_grid_fractions", "update_grids"]

#: The training images whose KAN-layer inputs place the knots at a grid update (the first ones,
#: unaugmented): enough for stable quantiles, few enough to cost one forward pass of a batch or two.
GRID_PROBE = 1024


def kan_layers(model: nn.Module) -> dict[str, KANLinear]:
    """Every :class:`KANLinear` inside ``model`` by its module name, in order of definition."""
    return {name: m for name, m in model.named_modules() if isinstance(m, KANLinear)}


class _Seen(Exception):
    """Raised by a hook that has what it came for: the rest of that forward pass is skipped."""


@torch.no_grad()
def _run(model: nn.Module, x: torch.Tensor, hooks: dict[nn.Module, Callable], batch_size: int) -> None:
    """Run ``model`` on ``x (N, ...)`` batch by batch with forward pre-``hooks`` on some of its layers.

    In eval mode, under ``no_grad``; the mode is restored and the hooks removed. A hook that
    raises :class:`_Seen` ends its batch's forward pass there.
    """
    handles = [layer.register_forward_pre_hook(hook) for layer, hook in hooks.items()]
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    try:
        for start in range(0, x.shape[0], batch_size):
            try:
                model(x[start:start + batch_size].to(device))
            except _Seen:
                pass
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)


def _rows(layer: KANLinear | nn.Linear, args: tuple) -> torch.Tensor:
    """A forward pre-hook's view of a layer's input: ``(rows, in)`` float32 on the CPU."""
    return args[0].detach().reshape(-1, layer.in_features).float().cpu()


def layer_inputs(model: nn.Module, x: torch.Tensor, *, batch_size: int = 256) -> dict[str, torch.Tensor]:
    """The inputs reaching every KAN layer of ``model`` on float inputs ``x (N, ...)`` (the model's own scale).

    Returns ``{layer name: (rows, in) float32 on the CPU}``; a mixer's token-mixing layer sees
    one row per (image, channel), its channel-mixing layer one row per (image, token). The model
    runs in eval mode, in float32, batch by batch (forward pre-hooks record the inputs), and is
    returned to its previous mode.
    """
    return module_inputs(model, x, kan_layers(model), batch_size=batch_size)


def module_inputs(model: nn.Module, x: torch.Tensor, layers: dict[str, KANLinear | nn.Linear], *,
                  batch_size: int = 256) -> dict[str, torch.Tensor]:
    """:func:`layer_inputs` for any ``layers`` of ``model`` with ``in_features`` (KAN or ``nn.Linear``), by name."""
    seen: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    _run(model, x, {layer: lambda mod, args, name=name: seen[name].append(_rows(mod, args))
                    for name, layer in layers.items()}, batch_size)
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
def update_grids(model: nn.Module, x: torch.Tensor, *, batch_size: int = 256) -> None:
    """Move every KAN layer's knots to the inputs it sees on ``x`` (:meth:`KANLinear.update_grid`).

    Each layer is updated on the inputs it sees before any layer is updated; the refit keeps
    its function on them up to the least-squares error, so the inputs of later layers move by
    no more than that. To hold one layer's inputs at a time rather than all of them (2.7 GB
    for the paper's mixer on 1,024 images), the layers are updated last first, each on inputs
    collected just before by a forward pass that stops at it: the layers before it are not
    updated yet, so these are the inputs the un-updated model gives. The forward order is
    taken from one input; each KAN layer is assumed to run once per forward pass, as in
    every model here.
    """
    layers, device = kan_layers(model), next(model.parameters()).device
    called: list[str] = []  # the order of the forward pass, from one input
    _run(model, x[:1], {layer: lambda mod, args, name=name: called.append(name)
                        for name, layer in layers.items()}, 1)
    order = list(dict.fromkeys(called)) + [name for name in layers if name not in called]
    for name in reversed(order):  # a layer never reached comes first and raises: no inputs
        parts: list[torch.Tensor] = []

        def hook(mod, args):
            parts.append(_rows(mod, args))
            raise _Seen

        _run(model, x, {layers[name]: hook}, batch_size)
        inputs = torch.cat(parts) if parts else torch.empty(0, layers[name].in_features)
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


def grid_update_hook(images_u8: torch.Tensor, epochs) -> Callable[[nn.Module, int], None]:
    """The ``after_epoch`` hook of :func:`kanmix.train.fit` that applies a config's ``grid_updates``.

    After each epoch in ``epochs`` (1-based), every KAN layer's grid moves to the inputs it sees
    on the first :data:`GRID_PROBE` of the training images ``images_u8 (N, C, H, W)`` (uint8,
    unaugmented): :func:`update_grids`.
    """
    from kanmix.data import to_float

    epochs = set(epochs)
    probe = images_u8[:GRID_PROBE]

    def hook(model: nn.Module, epoch: int) -> None:
        if epoch in epochs:
            update_grids(model, to_float(probe.to(next(model.parameters()).device)))

    return hook


def grid_update_effect(layer: KANLinear, x: torch.Tensor) -> tuple[KANLinear, pd.DataFrame, float]:
    """What :meth:`KANLinear.update_grid` on ``x (rows, in)`` does to ``layer``: ``(after, table, change)``.

    ``after`` is an updated copy (``layer`` itself is unchanged). ``table`` has a row before and a
    row after the update: the share of the inputs inside the grid (``1 -`` :func:`outside_grid`),
    the share of knot intervals holding at least 1% of their input (:func:`knot_occupancy`) and
    input 0's grid range as text. ``change`` is the largest change of the layer's output on ``x``
    relative to its largest output: the error of the update's least-squares refit.
    """
    import copy

    from kanmix.report import fmt  # a true minus sign in the table: "[−1.00, 1.00]"

    after = copy.deepcopy(layer)
    after.update_grid(x)
    with torch.no_grad():
        y_before, y_after = layer(x), after(x)
    change = float((y_after - y_before).abs().max() / y_before.abs().max())
    k = layer.spline_order
    table = pd.DataFrame({
        "inputs inside the grid": [1 - outside_grid(m, x) for m in (layer, after)],
        "knot intervals holding ≥ 1% of their input": [knot_occupancy(m, x) for m in (layer, after)],
        "grid range of input 0": [f"[{fmt(float(m.grid[0, k]), 3)}, {fmt(float(m.grid[0, -k - 1]), 3)}]"
                                  for m in (layer, after)],
    }, index=["before update_grid", "after update_grid"])
    return after, table, change
