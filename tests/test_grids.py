"""kanmix.grids: where KAN-layer inputs fall relative to the grids, and grid updates during training."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from kanmix import grids
from kanmix.kan import KAN, KANLinear
from kanmix.models import build_model
from kanmix.runtime import seed_everything
from kanmix.train import fit


def test_outside_grid_counts_entries_beyond_the_inner_knots():
    layer = KANLinear(2, 3, grid_size=4, grid_range=(-1, 1))
    x = torch.tensor([[-1.5, 0.0], [0.5, 1.0], [2.0, -1.0], [0.0, 0.9]])  # 2 of 8 entries outside [-1, 1]
    assert grids.outside_grid(layer, x) == pytest.approx(2 / 8)
    wide = KANLinear(2, 3, grid_size=4, grid_range=(-3, 3))
    assert grids.outside_grid(wide, x) == 0.0


def test_layer_inputs_are_what_each_layer_sees():
    seed_everything(0)
    net = KAN([4, 3, 2])
    x = torch.randn(10, 4)
    seen = grids.layer_inputs(net, x, batch_size=3)  # several batches, concatenated in order
    assert list(seen) == ["layers.0", "layers.1"]
    assert torch.equal(seen["layers.0"], x)
    with torch.no_grad():
        assert torch.allclose(seen["layers.1"], net.layers[0](x), atol=1e-6)
    mixer = build_model("kan_mixer", in_shape=(1, 16, 16), patch=4, dim=8, depth=1, token_hidden=4, channel_hidden=8)
    mixer.train()
    seen = grids.layer_inputs(mixer, torch.rand(5, 1, 16, 16) * 2 - 1)
    assert mixer.training  # mode restored
    # Token mixing reads one row per (image, channel): 5 * 8 rows of 16 tokens; channel mixing one per (image, token).
    assert seen["blocks.0.token_mix.0"].shape == (5 * 8, 16) and seen["blocks.0.channel_mix.0"].shape == (5 * 16, 8)


def test_update_grids_moves_every_layer_to_its_inputs_and_keeps_the_function():
    seed_everything(0)
    net = KAN([3, 4, 2])
    x = 2.5 * torch.randn(400, 3)  # mostly outside the default [-1, 1]
    before = grids.outside_grid_fractions(net, x)
    assert before["layers.0"] > 0.5
    with torch.no_grad():
        y0 = net(x)
    grids.update_grids(net, x)
    after = grids.outside_grid_fractions(net, x)
    assert all(after[name] < 0.02 for name in after), after  # the knots now span the data (margin 0.01)
    with torch.no_grad():
        y1 = net(x)
    assert (y1 - y0).abs().max() < 0.1 * y0.abs().max()  # the refit keeps the function on x


class Backwards(nn.Module):
    """Two KAN layers defined in the opposite order of the forward pass."""

    def __init__(self):
        super().__init__()
        self.second = KANLinear(5, 3)
        self.first = KANLinear(4, 5)

    def forward(self, x):
        return self.second(self.first(x))


def update_grids_all_at_once(model, x):
    """update_grids as it was: every layer's inputs collected on the un-updated model, then each layer updated."""
    layers = grids.kan_layers(model)
    for name, inputs in grids.layer_inputs(model, x).items():
        layers[name].update_grid(inputs)


@pytest.mark.parametrize("kind", ["kan_mixer", "backwards"])
def test_update_grids_one_layer_at_a_time_equals_collecting_all_first(kind):
    seed_everything(0)
    if kind == "kan_mixer":
        model = build_model("kan_mixer", in_shape=(1, 32, 32), num_classes=10, patch=8, dim=16, depth=2,
                            token_hidden=8, channel_hidden=16)
        x = torch.rand(300, 1, 32, 32) * 2 - 1  # two batches of layer_inputs
    else:
        model = Backwards()
        x = 2 * torch.randn(300, 4)
    before = copy.deepcopy(model)
    reference = copy.deepcopy(model)
    update_grids_all_at_once(reference, x)
    grids.update_grids(model, x)
    states = zip(model.state_dict().items(), reference.state_dict().values(), before.state_dict().values())
    for (name, a), b, c in states:
        assert torch.equal(a, b), name
        if name.endswith(("grid", "spline_weight")):
            assert not torch.equal(a, c), name  # every layer moved
    # The order matters: one layer at a time, first layer first, later layers see updated ones.
    wrong = copy.deepcopy(before)
    layers = grids.kan_layers(wrong)
    for name in (["first", "second"] if kind == "backwards" else layers):  # the forward order
        layers[name].update_grid(grids.layer_inputs(wrong, x)[name])
    assert not all(torch.equal(a, b) for a, b in zip(wrong.state_dict().values(), reference.state_dict().values()))


def test_fit_records_outside_grid_and_updates_grids_after_the_named_epochs(synthetic):
    images, labels = synthetic(64, (1, 16, 16))
    cfg = {"epochs": 3, "batch_size": 32, "device": "cpu", "progress": False, "precision": "fp32"}
    seed_everything(0)
    model = build_model("kan_mixer", in_shape=(1, 16, 16), patch=4, dim=8, depth=1, token_hidden=4, channel_hidden=8)
    grid0 = model.blocks[0].token_mix[0].grid.clone()
    rows = []
    out = fit(model, images, labels, {**cfg, "grid_updates": (2,)},
              epoch_metrics=lambda m: {"outside": grids.outside_grid_fractions(m, images.float() / 127.5 - 1)},
              on_epoch=lambda row: rows.append(model.blocks[0].token_mix[0].grid.clone()),
              after_epoch=grids.grid_update_hook(images, (2,)))
    assert [sorted(r["outside"]) for r in out["history"]] == [sorted(grids.kan_layers(model))] * 3
    g1, g2, g3 = rows  # the grid after each epoch: moved only after epoch 2
    assert torch.equal(g1, grid0) and not torch.equal(g2, grid0) and torch.equal(g3, g2)
    assert torch.equal(g1, grid0) and not torch.equal(g2, grid0) and torch.equal(g3, g2)
    with pytest.raises(ValueError, match="grid_updates"):
        fit(model, images, labels, {**cfg, "grid_updates": (3,)})  # after the last epoch: pointless
    with pytest.raises(ValueError, match="needs an after_epoch hook"):
        fit(model, images, labels, {**cfg, "grid_updates": (1,)})  # the loop knows no KANs: no silent skip


def test_knot_occupancy_counts_intervals_the_data_uses():
    layer = KANLinear(1, 1, grid_size=4, grid_range=(-1, 1))  # intervals [-1,-.5), [-.5,0), [0,.5), [.5,1)
    crowded = torch.full((100, 1), 0.25)
    assert grids.knot_occupancy(layer, crowded) == 0.25  # one of four intervals holds the data
    spread = torch.linspace(-0.99, 0.99, 400).unsqueeze(1)
    assert grids.knot_occupancy(layer, spread) == 1.0
    assert grids.outside_grid(layer, crowded) == 0.0  # inside the grid, yet crowded
