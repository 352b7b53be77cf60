"""kanmix.flops: hand counts, FlopCounterMode agreement, the basis count against the code, scaling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from kanmix import flops
from kanmix.experiment import ClassificationRun
from kanmix.folds import kfold_indices
from kanmix.bspline import cox_de_boor, cubic_uniform
from kanmix.kan import KANLinear
from kanmix.models import build_model
from kanmix.splits import Fold, Split
from kanmix.train import TrainConfig

# Per-element costs the hand counts below use, as the module documents them.
SILU, GELU, RELU, LN = 4, 5, 1, 5 + 2
CUBIC_G5 = 2 + 13 * 8  # closed-form cubic bases, G + k = 8 of them
TINY_MIXER = dict(patch=4, dim=6, depth=1, token_hidden=5, channel_hidden=7)


def counted(model: nn.Module, x: torch.Tensor, backward: bool = False) -> int:
    """FlopCounterMode's count of ``model(x)`` (and its backward).

    FlopCounterMode (torch 2.13) has no formula for the in-place ``addmm_`` with which the KAN
    fast path accumulates its weight gradient, and would leave that GEMM out; it is mapped here.
    """
    addmm_ = {torch.ops.aten.addmm_: lambda c, a, b, **kw: 2 * a[0] * a[1] * b[1]}
    with FlopCounterMode(display=False, custom_mapping=addmm_) as mode:
        out = model(x)
        if backward:
            out.sum().backward()
    return mode.get_total_flops()


# ----------------------------------------------------------------------------- hand counts


def test_basis_flops_by_hand():
    # Closed form: 2 + 13 (G + k). Cox-de Boor on G + 2k intervals: 3 per interval, 7 per basis per level.
    assert flops.basis_flops(5, 3, uniform=True) == 2 + 13 * 8 == 106
    assert flops.basis_flops(5, 3, uniform=False) == 3 * 11 + 7 * (10 + 9 + 8) == 222
    assert flops.basis_flops(5, 2, uniform=True) == 3 * 9 + 7 * (8 + 7) == 132  # only cubic has a closed form


class _ElementwiseOps(TorchDispatchMode):
    """Sums the output elements of every arithmetic or comparison op that runs."""

    OPS = {"ge", "lt", "bitwise_and", "logical_and", "sub", "rsub", "add", "mul", "div", "abs", "clamp",
           "clamp_min"}

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.overloadpacket.__name__ in self.OPS:
            self.flops += out.numel()
        return out


@pytest.mark.parametrize("grid_size, order, uniform", [(5, 3, True), (5, 3, False), (4, 2, False), (3, 1, False)])
def test_basis_flops_match_the_code(grid_size, order, uniform):
    """The documented per-element count is what kanmix.kan's basis code runs, op for op."""
    n_in = 7
    layer = KANLinear(n_in, 2, grid_size=grid_size, spline_order=order)
    grid = layer.grid_for(torch.float32)

    def per_row(rows: int) -> int:
        x = torch.rand(rows, n_in) * 2 - 1
        with _ElementwiseOps() as ops:
            cubic_uniform(x, grid) if uniform else cox_de_boor(x, grid.knots, order)
        return ops.flops

    # Knot-only work (knot differences, the basis centres) has no row axis and cancels here.
    assert (per_row(3) - per_row(1)) // 2 == n_in * flops.basis_flops(grid_size, order, uniform)


def test_mlp_classifier_by_hand():
    model = build_model("mlp", in_shape=(1, 4, 4), num_classes=3, hidden=[5])  # 16 -> 5 -> 3
    matmul = 2 * 16 * 5 + 2 * 5 * 3
    elementwise = 5 + 5 * RELU + 3  # bias, ReLU, bias
    assert flops.forward_flops(model, (1, 4, 4), matmul_only=True) == matmul == 190
    assert flops.forward_flops(model, (1, 4, 4)) == matmul + elementwise == 203
    # Backward: two GEMMs per layer but the first (on the images) needs no input gradient.
    backward = (2 * 16 * 5) + 2 * (2 * 5 * 3) + 2 * elementwise
    assert flops.training_flops(model, (1, 4, 4), 10) == 10 * (matmul + elementwise + backward)


def test_kan_classifier_by_hand():
    model = build_model("kan", in_shape=(1, 2, 2), num_classes=3, hidden=[2], grid_size=5, spline_order=3)
    # KAN(4 -> 2), KAN(2 -> 3), one row each: GEMM over G + k + 1 = 9 features per input; SiLU + bases per input.
    matmul = 2 * 9 * 4 * 2 + 2 * 9 * 2 * 3
    assert flops.forward_flops(model, (1, 2, 2)) == matmul + (4 + 2) * (SILU + CUBIC_G5) == 252 + 660
    # Once its knots are no longer uniform, a layer runs (and is counted as) Cox-de Boor.
    model.kan.layers[0].update_grid(torch.randn(64, 4))
    assert flops.forward_flops(model, (1, 2, 2)) == matmul + 4 * (SILU + 222) + 2 * (SILU + CUBIC_G5)


def test_mixers_by_hand():
    """A 1x8x8 image, patch 4: T = 4 tokens of width D = 6; token mixing 4 -> 5 -> 4 on D rows,
    channel mixing 6 -> 7 -> 6 on T rows, head 6 -> 3 on the token mean."""
    t, d, shape = 4, 6, (1, 8, 8)
    embed = 2 * t * d * (1 * 4 * 4) + t * d  # a 16-pixel window per output, then the bias
    norms = 2 * LN * t * d + LN * t * d  # the block's two and the final one
    head = 2 * d * 3 + 3
    mlp_mix = (2 * d * 4 * 5 + d * 5 + GELU * d * 5 + 2 * d * 5 * 4 + d * 4  # token mixing on D rows
               + 2 * t * 6 * 7 + t * 7 + GELU * t * 7 + 2 * t * 7 * 6 + t * 6)  # channel mixing on T rows
    mlp = build_model("mlp_mixer", in_shape=shape, num_classes=3, **TINY_MIXER)
    assert flops.forward_flops(mlp, shape) == embed + norms + mlp_mix + head == 2883
    kan_mix = (2 * d * 9 * 4 * 5 + d * 4 * (SILU + CUBIC_G5) + 2 * d * 9 * 5 * 4 + d * 5 * (SILU + CUBIC_G5)
               + 2 * t * 9 * 6 * 7 + t * 6 * (SILU + CUBIC_G5) + 2 * t * 9 * 7 * 6 + t * 7 * (SILU + CUBIC_G5))
    kan = build_model("kan_mixer", in_shape=shape, num_classes=3, **TINY_MIXER)
    assert flops.forward_flops(kan, shape) == embed + norms + kan_mix + head
    rows = {c.name: c.rows for c in flops.layer_flops(kan, shape) if c.rows}
    assert rows == {"blocks.0.token_mix.0": d, "blocks.0.token_mix.1": d, "blocks.0.channel_mix.0": t,
                    "blocks.0.channel_mix.1": t, "head": 1}


# ----------------------------------------------------------------------------- FlopCounterMode


CASES = {
    "mlp": ((1, 8, 8), dict(num_classes=3, hidden=[16, 8])),
    "kan": ((1, 8, 8), dict(num_classes=3, hidden=[5])),
    "mlp_mixer": ((3, 8, 8), dict(num_classes=3, **TINY_MIXER)),
    "kan_mixer": ((3, 8, 8), dict(num_classes=3, **TINY_MIXER)),
    "cnn_ae": ((1, 28, 28), dict(bottleneck=18)),  # Conv2d and ConvTranspose2d
    "kan_ae": ((1, 8, 8), dict(hidden=8, bottleneck=4)),
    "mlp_ae": ((1, 8, 8), dict(hidden=8, bottleneck=4)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matmuls_agree_with_flop_counter(name):
    shape, kwargs = CASES[name]
    model = build_model(name, in_shape=shape, **kwargs)
    batch = 3
    assert counted(model, torch.rand(batch, *shape)) == batch * flops.forward_flops(model, shape, matmul_only=True)
    # Training as autograd runs it (no gradient for the images) ...
    assert counted(model, torch.rand(batch, *shape), backward=True) == \
        flops.training_flops(model, shape, batch, matmul_only=True)
    # ... and the 3 x forward convention, exact for GEMMs when every input needs a gradient.
    x = torch.rand(batch, *shape, requires_grad=True)
    assert counted(model, x, backward=True) == 3 * batch * flops.forward_flops(model, shape, matmul_only=True)


def test_training_is_three_forwards_for_mixers_but_not_flat_models():
    for name in ("mlp_mixer", "kan_mixer"):
        model = build_model(name, in_shape=(1, 32, 32), patch=4, dim=32, depth=2, token_hidden=16, channel_hidden=32)
        assert 2.85 < flops.training_flops(model, (1, 32, 32), 1) / flops.forward_flops(model, (1, 32, 32)) <= 3
    # The first layer of a flat classifier carries most of its GEMMs and gets no input gradient.
    model = build_model("mlp", in_shape=(1, 28, 28), hidden=[256])
    assert flops.training_flops(model, (1, 28, 28), 1) / flops.forward_flops(model, (1, 28, 28)) < 2.1


# ----------------------------------------------------------------------------- scaling


def _blocks(calls) -> int:
    return sum(c.matmul for c in calls if c.name.startswith("blocks."))


def test_scaling_with_widths_depth_and_grid():
    shape = (1, 32, 32)  # T = 64 tokens at patch 4
    base = dict(patch=4, dim=16, depth=2, token_hidden=8, channel_hidden=16)

    def calls(name="kan_mixer", **change):
        return flops.layer_flops(build_model(name, in_shape=shape, **{**base, **change}), shape)

    def total(c, matmul_only=False):
        return sum(x.matmul if matmul_only else x.total for x in c)

    ref = calls()
    # dim x2, hidden widths fixed: token mixing has twice the rows, channel mixing twice the width
    # of its 16-wide in/out side; the embedding and head are linear in dim too: every GEMM x2.
    assert total(calls(dim=32), matmul_only=True) == 2 * total(ref, matmul_only=True)
    # dim and both hidden widths x2: the mixing GEMMs are rows x width x hidden, x4; embedding and head x2.
    wide = calls(dim=32, token_hidden=16, channel_hidden=32)
    assert _blocks(wide) == 4 * _blocks(ref)
    other = total(ref, matmul_only=True) - _blocks(ref)
    assert total(wide, matmul_only=True) == 4 * _blocks(ref) + 2 * other
    assert 2 < total(wide) / total(ref) < 4
    # Depth: every block costs the same, so the count is affine in depth.
    d1, d2, d3 = (total(calls(depth=k)) for k in (1, 2, 3))
    assert d3 - d2 == d2 - d1 > 0 and d2 == total(ref)
    # Grid size 5 -> 10 (order 3): the KAN GEMMs have G + k + 1 = 9 -> 14 features per input.
    assert _blocks(calls(grid_size=10)) * 9 == _blocks(ref) * 14
    # The KAN-Mixer's mixing GEMMs are exactly G + k + 1 = 9 times the MLP-Mixer's at equal widths.
    assert _blocks(ref) == 9 * _blocks(calls("mlp_mixer"))


def test_paper_mixer_blocks_are_64_times_the_cpu_ones(monkeypatch):
    """The profiles' mixers (book/params): dim, token_hidden and channel_hidden x4 (x16 per block) and depth x4."""
    monkeypatch.setattr(KANLinear, "reset_parameters", lambda self: None)  # shapes only: skip the spline fits
    cpu = dict(patch=4, dim=64, depth=2, token_hidden=32, channel_hidden=64, dropout=0.0)
    paper = dict(patch=4, dim=256, depth=8, token_hidden=128, channel_hidden=256, dropout=0.0)
    for name in ("kan_mixer", "mlp_mixer"):
        small, large = (flops.layer_flops(build_model(name, in_shape=(1, 32, 32), **kw), (1, 32, 32))
                        for kw in (cpu, paper))
        assert _blocks(large) == 64 * _blocks(small)
        ratio = sum(c.total for c in large) / sum(c.total for c in small)
        assert 55 < ratio < 64  # embedding, head, norms and the bases grow only linearly in the widths


# ----------------------------------------------------------------------------- runs


@pytest.mark.parametrize("n, folds, fold", [(203, 5, 0), (203, 5, 4), (60, 3, 1), (1000, 7, 6)])
def test_training_images_match_the_folds(n, folds, fold):
    labels = np.random.default_rng(n).integers(0, 10, n)  # unbalanced classes ...
    labels[:10 * folds] = np.arange(10 * folds) % 10  # ... with at least `folds` of each
    train, _ = kfold_indices(labels, folds=folds, fold=fold)
    n_val = len(range(fold, n, folds))
    assert len(train) == n - n_val
    split = Split(dataset="fashion_mnist", subset=n, fold=Fold(folds=folds, fold=fold))
    assert flops.training_images(split) == n - n_val


def test_run_training_flops():
    split = Split(dataset="fashion_mnist", size=32, subset=2000, fold=Fold(folds=5, fold=0))
    cfg = ClassificationRun(split=split, model="mlp_mixer", model_kwargs=dict(TINY_MIXER),
                            train=TrainConfig(epochs=3))
    model = cfg.build_model()
    assert flops.training_images(split) == 1600
    assert flops.training_images(Split(dataset="cifar10")) == 50_000
    assert flops.run_training_flops(cfg) == flops.training_flops(model, (1, 32, 32), 1600 * 3)
    assert flops.run_training_flops(cfg, n_train=10) == flops.training_flops(model, (1, 32, 32), 30)


def test_layer_flops_leaves_the_model_as_it_was():
    model = build_model("kan_mixer", in_shape=(1, 8, 8), num_classes=3, **TINY_MIXER).train()
    expected = flops.training_flops(model, (1, 8, 8), 1)
    assert model.training
    assert all("forward" not in m.__dict__ for m in model.modules())
    # The dummy pass turns grad mode on by itself, so which layers get an input gradient is the same.
    with torch.no_grad():
        assert flops.training_flops(model, (1, 8, 8), 1) == expected
    with torch.inference_mode():
        assert flops.training_flops(model, (1, 8, 8), 1) == expected


def test_unknown_layers_are_refused():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.BatchNorm1d(3))
    with pytest.raises(TypeError, match="BatchNorm1d"):
        flops.forward_flops(model, (1, 2, 2))
