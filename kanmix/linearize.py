"""A functional test of the splines: replace every KAN edge by the best ``a + b·SiLU(x)`` and measure what is lost.

A KAN edge is ``phi(x) = w_b SiLU(x) + spline(x)``. An MLP edge after a SiLU is ``b SiLU(x)``
plus a bias. If training had left the splines doing nothing an MLP edge could not, every edge
would be fitted well by ``a + b SiLU(x)``, and the network with its edges so replaced would
score as well as the trained one. How much accuracy the replacement loses, with no fine-tuning
and with the brief fine-tuning the pruning arms get, measures the work the splines do; per
layer type it says where that work is.

For one KAN layer the replacement is exact linear algebra: ``sum_i (a_oi + b_oi SiLU(x_i)) =
SiLU(x) @ b.T + sum_i a_oi``, a dense layer on ``SiLU(x)`` (:class:`SiLULinear`). Each edge's
``(a, b)`` is the least-squares fit of ``phi_oi`` over the inputs the layer actually sees on
training images (:func:`silu_fits`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from kanmix import results, runner
from kanmix.grids import kan_layers, layer_inputs
from kanmix.kan import KANLinear


class SiLULinear(nn.Module):
    """``(..., in) -> (..., out)``: ``SiLU(x) @ weight.T + bias``, the KAN layer with every edge ``a + b SiLU(x)``."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())  # (out, in): the b of each edge
        self.bias = nn.Parameter(bias.detach().clone())  # (out,): the sum over inputs of each edge's a

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(F.silu(x), self.weight, self.bias)


@torch.no_grad()
def silu_fits(layer: KANLinear, x: torch.Tensor, *, block: int = 4096) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each edge's least-squares ``a + b SiLU(x)`` over the layer's inputs ``x (rows, in)``.

    Returns ``a``, ``b`` and the fit's ``r2``, each ``(out, in)``. The sums the 2x2 normal
    equations of the design ``[1, SiLU(x_i)]`` need are accumulated in float64 over row blocks,
    so memory does not grow with ``rows * in * out``.
    """
    x = x.detach().reshape(-1, layer.in_features)
    n = x.shape[0]
    if n < 2:
        raise ValueError("silu_fits needs at least 2 rows of inputs")
    n_in, n_out = layer.in_features, layer.out_features
    f64 = dict(dtype=torch.float64)
    s1, s2 = torch.zeros(n_in, **f64), torch.zeros(n_in, **f64)
    p1, sp, p2 = (torch.zeros(n_in, n_out, **f64) for _ in range(3))
    base = layer.base_weight.detach().double().T  # (in, out)
    spline_w = layer.scaled_spline_weight.detach().double()  # (out, in, C)
    for start in range(0, n, block):
        xb = x[start:start + block]
        s = F.silu(xb.double())  # (rows, in)
        phi = base * s.unsqueeze(-1) + torch.einsum("nic,oic->nio", layer.bases(xb).double(), spline_w)
        s1 += s.sum(0)
        s2 += (s * s).sum(0)
        p1 += phi.sum(0)
        sp += (s.unsqueeze(-1) * phi).sum(0)
        p2 += (phi * phi).sum(0)
    s_mean, p_mean = (s1 / n).unsqueeze(-1), p1 / n
    s_var = (s2 / n).unsqueeze(-1) - s_mean ** 2
    cov = sp / n - s_mean * p_mean
    # An input that never varies carries no slope: its edges are their means, constants.
    b = torch.where(s_var > 1e-12, cov / s_var.clamp_min(1e-12), torch.zeros_like(cov))
    a = p_mean - b * s_mean
    sse = p2 - 2 * a * p1 - 2 * b * sp + n * a * a + 2 * a * b * s1.unsqueeze(-1) + b * b * s2.unsqueeze(-1)
    sst = p2 - n * p_mean ** 2
    r2 = torch.where(sst > 1e-12 * n, 1 - sse / sst.clamp_min(1e-300), torch.ones_like(sst))
    return a.T.float(), b.T.float(), r2.T.float()


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)


def linearized(model: nn.Module, x: torch.Tensor, which: Callable[[str], bool]) -> tuple[nn.Module, dict]:
    """A copy of ``model`` whose KAN layers named by ``which`` are :class:`SiLULinear` fits on ``x (N, C, H, W)``.

    The inputs of every layer are collected on the original model (so a replaced layer does not
    move the inputs later fits see), then each chosen layer is fitted and swapped. Returns the
    copy and ``{layer name: median R² of its edges}``.
    """
    inputs = layer_inputs(model, x)
    out = copy.deepcopy(model)
    r2s = {}
    for name, layer in kan_layers(model).items():
        if not which(name):
            continue
        a, b, r2 = silu_fits(layer, inputs[name])
        _replace(out, name, SiLULinear(b, a.sum(1)).to(layer.base_weight.device))
        r2s[name] = float(r2.median())
    return out, r2s


#: Which layers each arm replaces, by name (the mixers' token- and channel-mixing KAN layers).
ARMS: dict[str, Callable[[str], bool]] = {
    "token mixing": lambda name: "token_mix" in name,
    "channel mixing": lambda name: "channel_mix" in name,
    "all": lambda name: True,
}
LINEARIZE_KIND = "linearize"


def linearize_runs(base: runner.Run, arms: Sequence[str], *, n_fit: int, n_eval: int, steps: int,
                   finetune: Mapping | None = None, available_only: bool = False, force: bool = False) -> list[dict]:
    """For each arm of :data:`ARMS`, ``base``'s trained model with those KAN layers linearized: one record each.

    Fits use :func:`kanmix.interpret.probe_images` (``n_fit`` training images, the draw importance
    uses); accuracy is measured on ``n_eval`` test images, as in :func:`kanmix.interpret.prune_runs`,
    whose fine-tuning (``steps`` steps, same options) the linearized model gets too. The record
    holds the trained model's accuracy, the linearized one's before and after fine-tuning, and
    the median R² of each replaced layer's edge fits. ``available_only`` computes nothing and
    returns the records the store holds.
    """
    from kanmix.interpret.edges import PROBE_SEED, _probe, _sample_indices
    from kanmix.interpret.pruning import _accuracy, finetune_config, trained_and_data
    from kanmix.train import fit

    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise ValueError(f"arms={list(arms)!r}: unknown {unknown}; choose from {', '.join(ARMS)}")
    train_cfg = finetune_config(base, finetune)
    base_hash = results.run_hash(base.to_dict())

    def compute(arm: str) -> dict:
        model, (train_x, train_y), test = trained_and_data(base, n_eval, "linearize_runs")
        before = _accuracy(model, *test, base.train.precision)
        lin, r2s = linearized(model, _probe(train_x, n_fit, PROBE_SEED), ARMS[arm])
        after = _accuracy(lin, *test, base.train.precision)
        tune = _sample_indices(train_x.shape[0], steps * train_cfg.batch_size, base.seed + 1)
        fit(lin, train_x[tune], train_y[tune], train_cfg)
        return {"accuracy_trained": before, "accuracy_linearized": after,
                "accuracy_finetuned": _accuracy(lin, *test, base.train.precision), "median_r2": r2s,
                "n_eval": int(test[0].shape[0]), "seed": base.seed}

    cfgs = [{"kind": LINEARIZE_KIND, "base": base_hash, "arm": arm, "n_fit": n_fit, "n_eval": n_eval, "steps": steps,
             "train": train_cfg.result_options()} for arm in arms]
    if available_only:
        return [r for c in cfgs if (r := results.load_record(c)) is not None]
    return [results.cached_run(c, lambda c=c: compute(c["arm"]), force=force) for c in cfgs]
