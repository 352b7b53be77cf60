"""Training FLOPs of a model, counted analytically from its layers' shapes.

For a compute frontier (accuracy against training compute) every model needs one number that
does not depend on the machine: the floating-point operations of its forward and backward
passes over the images it trained on.

Conventions
-----------
- **1 multiply-add = 2 FLOPs.** A GEMM ``(m, k) @ (k, n)`` costs ``2 m k n``; this is what
  :class:`torch.utils.flop_counter.FlopCounterMode` counts, so the matmul part of every count
  here can be checked against it.
- **Every elementwise operation the code runs costs 1 FLOP per element**: an add, a multiply,
  a comparison, an ``abs``, a ``clamp``, and a transcendental (``exp``, ``erf``, ``tanh``) alike.
  Bias adds, activations, LayerNorms and the KAN layers' basis functions are counted this way
  (:data:`ELEMENTWISE` lists the per-element costs). They are a few percent of a Linear model's
  count, but not negligible for a KAN layer: its features cost ``4 + 2 + 13 (G + k)`` per input
  (SiLU, the closed-form cubic bases) against a GEMM of ``2 (G + k + 1) out``, i.e. 19 % more
  at ``G = 5, k = 3`` and ``out = 32`` (10 % of the ``cpu`` profile's KAN-Mixer, 4 % of the
  paper's). The bases are the point of a KAN, so they are counted, from the code that computes
  them (:func:`basis_flops`).
- **Not counted** (all O(elements) and outside any layer module): residual adds, the mean over
  tokens, dropout masks, transposes and reshapes; per-batch work that does not grow with the
  batch (building a KAN layer's combined weight, knot differences); the loss, the optimiser
  step, data augmentation and grid updates (:mod:`kanmix.grids`).
- **Training = forward + backward = 3 x forward** per example, less one GEMM per layer that
  reads the images. A GEMM's backward is two GEMMs of its size, one for the weight gradient and
  one for the input gradient, but autograd skips the input gradient where the input (the images)
  needs none. That matters: the first layer of a flat MLP or KAN classifier holds most of its
  FLOPs, and there training is 2.1-2.2 x forward, not 3 x; for the mixers (a patch embedding
  first) it is 2.9-3.0 x. Elementwise work is counted twice in backward, the usual convention; a
  KAN layer's fast-path backward rebuilds the features and evaluates the bases with their
  derivatives, about twice the forward's elementwise work, so the convention is close there too.

:func:`layer_flops` runs one dummy example through the model with forward hooks on its leaf
modules, so each layer is counted with the rows it actually sees: a token-mixing layer of a
mixer acts on ``dim`` rows of length ``tokens``, a channel-mixing one on ``tokens`` rows of
length ``dim``. That works for every model of :mod:`kanmix.models` without knowing its layout.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from kanmix.kan import KANLinear

__all__ = ["LayerFlops", "ELEMENTWISE", "basis_flops", "kan_elementwise_flops", "layer_flops", "forward_flops",
           "training_flops", "training_images", "run_training_flops"]

#: FLOPs per element of the elementwise modules (1 per operation, transcendentals included).
ELEMENTWISE: dict[type, int] = {
    nn.ReLU: 1,           # max(x, 0)
    nn.Tanh: 1,           # tanh
    nn.Sigmoid: 3,        # 1 / (1 + exp(-x))
    nn.SiLU: 4,           # x / (1 + exp(-x)): negate, exp, add, divide
    nn.GELU: 5,           # 0.5 x (1 + erf(x / sqrt 2)): scale, erf, add, two multiplies
}
#: LayerNorm per element: mean (1 add), centre (1), square and sum (2), scale by 1/std (1); the
#: affine transform adds 2. The per-row rsqrt is ignored.
LAYERNORM, LAYERNORM_AFFINE = 5, 2
#: Modules that cost nothing (dropout is the identity at evaluation, a mask multiply in training).
FREE = (nn.Dropout, nn.Flatten, nn.Unflatten, nn.Identity)


class LayerFlops(NamedTuple):
    """One call of a leaf module on one example: ``rows`` it maps (0 where not a row map), its
    forward ``matmul`` FLOPs (GEMMs and convolutions, as FlopCounterMode counts them) and
    ``elementwise`` FLOPs (bias, activation, norm, basis), and ``input_grad``: whether training
    computes the gradient of its input (not for a layer that reads the images)."""

    name: str
    kind: str
    rows: int
    matmul: int
    elementwise: int
    input_grad: bool = True

    @property
    def total(self) -> int:
        return self.matmul + self.elementwise

    @property
    def backward(self) -> int:
        """Backward FLOPs: the weight gradient's GEMM, the input gradient's where it is needed,
        and twice the forward's elementwise work (the convention; see the module docstring)."""
        return self.matmul * (2 if self.input_grad else 1) + 2 * self.elementwise


def basis_flops(grid_size: int, spline_order: int, uniform: bool) -> int:
    """FLOPs to evaluate the ``G + k`` B-spline bases of one input element, as :mod:`kanmix.kan` does.

    ``uniform`` cubic grids (every KAN layer at init, and for all training without grid
    updates) take the closed form :func:`kanmix.bspline.cubic_uniform`: ``u = (x - t0) / h`` (2),
    then per basis ``d = u - c``, ``|d|``, ``a = (2 - s)_+``, ``b = (1 - s)_+`` (6) and
    ``(a a a - 4 b b b) / 6`` (7): ``2 + 13 (G + k)``.

    Otherwise the Cox-de Boor recursion :func:`kanmix.bspline.cox_de_boor` on ``K - 1 = G + 2k``
    knot intervals: order 0 is two comparisons and an ``and`` per interval, ``3 (G + 2k)``;
    each level ``p = 1..k`` has ``G + 2k - p`` bases of ``x - t``, ``/``, ``t - x``, ``/``, two
    products and a sum (7; the knot differences do not depend on ``x`` and are left out):
    ``3 (G + 2k) + 7 sum_p (G + 2k - p)``, i.e. O(k (G + k)). For ``G = 5, k = 3``: 106 closed
    form, 222 Cox-de Boor.
    """
    g, k = grid_size, spline_order
    if uniform and k == 3:
        return 2 + 13 * (g + k)
    intervals = g + 2 * k
    return 3 * intervals + 7 * sum(intervals - p for p in range(1, k + 1))


def kan_elementwise_flops(layer: KANLinear) -> int:
    """Elementwise FLOPs per input element of ``layer``'s features ``[silu(x), B_0(x), ...]``."""
    uniform = layer.grid_for(torch.float32).uniform  # which basis code the layer runs now
    return ELEMENTWISE[nn.SiLU] + basis_flops(layer.grid_size, layer.spline_order, uniform)


def _count(name: str, module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> LayerFlops:
    """The FLOPs of ``module`` mapping ``x`` to ``y`` (one example's shapes, batch of 1)."""
    kind = type(module).__name__
    if isinstance(module, KANLinear):
        # The fast path's single GEMM of the (G + k + 1) * in features [silu, bases] against the
        # combined weight: the base branch's 2 in out plus the spline branch's 2 in (G + k) out per row.
        rows = x.numel() // module.in_features
        n_feat = module.grid_size + module.spline_order + 1
        return LayerFlops(name, kind, rows, 2 * rows * n_feat * module.in_features * module.out_features,
                          x.numel() * kan_elementwise_flops(module))
    if isinstance(module, nn.Linear):
        rows = x.numel() // module.in_features
        bias = y.numel() if module.bias is not None else 0
        return LayerFlops(name, kind, rows, 2 * rows * module.in_features * module.out_features, bias)
    if isinstance(module, nn.ConvTranspose2d):
        # Every input pixel scatters a (C_out / groups, kh, kw) kernel: 2 MACs per pair.
        c_in, c_out_g, kh, kw = module.weight.shape
        bias = y.numel() if module.bias is not None else 0
        return LayerFlops(name, kind, 0, 2 * x.numel() * c_out_g * kh * kw, bias)
    if isinstance(module, nn.Conv2d):
        # Every output pixel is a dot product over a (C_in / groups, kh, kw) window.
        _, c_in_g, kh, kw = module.weight.shape
        bias = y.numel() if module.bias is not None else 0
        return LayerFlops(name, kind, 0, 2 * y.numel() * c_in_g * kh * kw, bias)
    if isinstance(module, nn.LayerNorm):
        per = LAYERNORM + (LAYERNORM_AFFINE if module.elementwise_affine else 0)
        return LayerFlops(name, kind, 0, 0, per * x.numel())
    if type(module) in ELEMENTWISE:
        return LayerFlops(name, kind, 0, 0, ELEMENTWISE[type(module)] * x.numel())
    if isinstance(module, FREE):
        return LayerFlops(name, kind, 0, 0, 0)
    raise TypeError(f"kanmix.flops cannot count a {kind} ({name!r}); add it to kanmix.flops._count")


def layer_flops(model: nn.Module, in_shape) -> list[LayerFlops]:
    """Per-call FLOPs of every leaf module of ``model`` on one example ``(C, H, W)``, in call order.

    Runs one zero image through ``model`` (in eval mode, restored afterwards) with
    forward hooks recording each leaf's input and output shapes. KAN layers run their
    ``plain_forward`` for this pass, which has the same shapes and needs no ``torch.compile``.
    A leaf module of a type it does not know raises ``TypeError`` rather than count as zero.
    """
    names = {m: n for n, m in model.named_modules()}
    leaves = [m for m in model.modules() if not list(m.children())]
    calls: list[LayerFlops] = []

    def hook(module, args, out):
        # Autograd skips the input gradient of a layer whose input does not require one.
        calls.append(_count(names[module], module, args[0], out)._replace(input_grad=args[0].requires_grad))

    param = next(model.parameters(), None)
    device = param.device if param is not None else None
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    handles = [m.register_forward_hook(hook) for m in leaves]
    kans = [m for m in leaves if isinstance(m, KANLinear)]
    for m in kans:
        m.forward = m.plain_forward  # an instance attribute, deleted below: the class is untouched
    was_training = model.training
    try:
        model.eval()
        # Grad mode on (even inside no_grad or inference_mode), so every layer but those reading x
        # sees an input that requires a gradient, as in training.
        with torch.inference_mode(False), torch.enable_grad():
            model(torch.zeros(1, *in_shape, device=device, dtype=dtype))
    finally:
        model.train(was_training)
        for m in kans:
            del m.forward
        for h in handles:
            h.remove()
    return calls


def forward_flops(model: nn.Module, in_shape, *, matmul_only: bool = False) -> int:
    """Forward FLOPs of ``model`` per example of shape ``in_shape = (C, H, W)``.

    ``matmul_only`` counts only GEMMs and convolutions (what FlopCounterMode counts).
    """
    return sum(c.matmul if matmul_only else c.total for c in layer_flops(model, in_shape))


def training_flops(model: nn.Module, in_shape, examples: int, *, matmul_only: bool = False) -> int:
    """Training FLOPs over ``examples`` images seen (images x epochs): forward + backward per image.

    Backward is twice the forward (:attr:`LayerFlops.backward`), less the input gradient of the
    layers that read the images, which autograd does not compute: ``3 x forward`` less one GEMM
    of each such layer. ``matmul_only`` counts only GEMMs and convolutions.
    """
    if examples < 0:
        raise ValueError(f"examples={examples!r} must be >= 0")
    calls = layer_flops(model, in_shape)
    if matmul_only:
        calls = [c._replace(elementwise=0) for c in calls]
    return sum(c.total + c.backward for c in calls) * int(examples)


def training_images(split) -> int:
    """The number of training images of a :class:`kanmix.splits.Split`, without loading them.

    The subset (all images if it is at least the training split), less the held-out fold.
    :func:`kanmix.folds.kfold_indices` uses scikit-learn's StratifiedKFold, which gives fold
    ``f`` of ``F`` exactly ``len(range(f, n, F))`` images whatever the labels.
    """
    n = split.info.train_size if split.subset is None else min(split.subset, split.info.train_size)
    if split.fold is not None:
        n -= len(range(split.fold.fold, n, split.fold.folds))
    return n


def run_training_flops(cfg, n_train: int | None = None) -> int:
    """Training FLOPs of a run config (:class:`kanmix.runner.Run`: classification or autoencoder).

    ``n_train`` training images (default :func:`training_images` of ``cfg.split``; a record's
    ``n_train`` gives the same) x ``cfg.train.epochs``: every epoch sees every image once.
    """
    n = training_images(cfg.split) if n_train is None else n_train
    return training_flops(cfg.build_model(), cfg.split.in_shape, n * cfg.train.epochs)



def layer_costs(widths, grid_sizes, *, batch: int, spline_order: int = 3):
    """Parameters and matmul FLOPs of one forward pass over ``batch`` rows, a ``KANLinear`` beside an ``nn.Linear``
    of the same ``(in, out)`` shape, for each of ``widths`` and ``grid_sizes`` (chapter 1's table).

    The FLOPs are counted by :class:`torch.utils.flop_counter.FlopCounterMode`, and each KAN row is checked
    against the formulas it illustrates: ``2 * batch * in * out * (G + k + 1)`` matmul FLOPs and
    ``in * out * (G + k + 2)`` parameters. Returns a DataFrame indexed by (``in x out``, ``G``, ``k``).
    """
    import pandas as pd
    from torch.utils.flop_counter import FlopCounterMode

    def count(module: nn.Module, n_in: int) -> tuple[int, int]:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(torch.randn(batch, n_in))
        return sum(p.numel() for p in module.parameters()), counter.get_total_flops()

    rows, k = [], spline_order
    for n_in, n_out in widths:
        dense_params, dense_flops = count(nn.Linear(n_in, n_out), n_in)
        for g in grid_sizes:
            kan_params, kan_flops = count(KANLinear(n_in, n_out, grid_size=g, spline_order=k), n_in)
            if kan_flops != 2 * batch * n_in * n_out * (g + k + 1) or kan_params != n_in * n_out * (g + k + 2):
                raise AssertionError(f"KANLinear({n_in}, {n_out}, G={g}, k={k}) disagrees with the cost formulas")
            rows.append({"in x out": f"{n_in} x {n_out}", "G": g, "k": k, "dense params": dense_params,
                         "KAN params": kan_params, "params ratio": kan_params / dense_params,
                         "dense MFLOPs": dense_flops / 1e6, "KAN MFLOPs": kan_flops / 1e6,
                         "FLOPs ratio": kan_flops / dense_flops})
    return pd.DataFrame(rows).set_index(["in x out", "G", "k"])
