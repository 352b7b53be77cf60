"""The spline functional test: exact where the edges are a + b SiLU(x), the least-squares fit where not."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kanmix import linearize
from kanmix.kan import KANLinear
from kanmix.models import build_model


def test_a_layer_whose_splines_are_zero_is_reproduced_exactly():
    torch.manual_seed(0)
    layer = KANLinear(6, 4)
    with torch.no_grad():
        layer.spline_weight.zero_()
    x = torch.randn(500, 6)
    a, b, r2 = linearize.silu_fits(layer, x, block=128)
    torch.testing.assert_close(b, layer.base_weight.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a, torch.zeros_like(a), atol=1e-5, rtol=0)
    assert (r2 > 0.9999).all()
    lin = linearize.SiLULinear(b, a.sum(1))
    torch.testing.assert_close(lin(x), layer.plain_forward(x), atol=1e-5, rtol=1e-5)


def test_each_edge_gets_its_least_squares_fit():
    torch.manual_seed(1)
    layer = KANLinear(3, 2)
    with torch.no_grad():
        layer.spline_weight.normal_(0, 0.5)
    x = torch.randn(300, 3) * 1.5
    a, b, r2 = linearize.silu_fits(layer, x, block=64)
    # The oracle: numpy lstsq per edge on the edge function built from the layer's own parts.
    bases = layer.bases(x).double().numpy()  # (n, in, C)
    w = layer.scaled_spline_weight.detach().double().numpy()
    for o in range(2):
        for i in range(3):
            phi = layer.base_weight[o, i].item() * F.silu(x[:, i].double()).numpy() + bases[:, i] @ w[o, i]
            design = np.stack([np.ones(len(x)), F.silu(x[:, i].double()).numpy()], 1)
            (ai, bi), *_ = np.linalg.lstsq(design, phi, rcond=None)
            assert a[o, i].item() == pytest.approx(ai, abs=1e-5) and b[o, i].item() == pytest.approx(bi, abs=1e-5)
            resid = phi - design @ np.array([ai, bi])
            assert r2[o, i].item() == pytest.approx(1 - resid @ resid / ((phi - phi.mean()) ** 2).sum(), abs=1e-5)
    assert (r2 < 0.999).any()  # real splines are not all SiLU-shaped


def test_linearized_replaces_only_the_chosen_layers():
    torch.manual_seed(2)
    model = build_model("kan_mixer", in_shape=(1, 32, 32), num_classes=10, patch=8, dim=8, depth=1, token_hidden=4,
                        channel_hidden=8, dropout=0.0)
    x = torch.randn(16, 1, 32, 32)
    lin, r2s = linearize.linearized(model, x, linearize.ARMS["token mixing"])
    assert set(r2s) == {"blocks.0.token_mix.0", "blocks.0.token_mix.1"}
    assert isinstance(lin.get_submodule("blocks.0.token_mix.0"), linearize.SiLULinear)
    assert isinstance(lin.get_submodule("blocks.0.channel_mix.0"), KANLinear)
    assert isinstance(model.get_submodule("blocks.0.token_mix.0"), KANLinear)  # the original is untouched
    assert lin(x).shape == (16, 10)
    with pytest.raises(ValueError, match="unknown"):
        linearize.linearize_runs(None, ["everything"], n_fit=1, n_eval=1, steps=1)
