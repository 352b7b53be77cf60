import pytest
import torch
import torch.nn.functional as F

from kanmix.data import to_float
from kanmix.kan import KANLinear
from kanmix.models import MODELS, build_model, count_parameters, model_arguments

SMALL = {  # small widths so every model builds and runs in well under a second
    "kan_mixer": dict(patch=8, dim=8, depth=2, token_hidden=4, channel_hidden=8, grid_size=3),
    "mlp_mixer": dict(patch=8, dim=8, depth=2, token_hidden=4, channel_hidden=8),
    "mlp": dict(hidden=[16]),
    "kan": dict(hidden=[4], grid_size=3),
    "kan_ae": dict(hidden=8, bottleneck=4, grid_size=3),
    "kan_single_ae": dict(bottleneck=4, grid_size=3),
    "cnn_ae": dict(),
    "mlp_ae": dict(hidden=8, bottleneck=4),
}


@pytest.fixture(scope="module")
def batch():
    """64 noise images (32x32, colour) in the models' input scale and arbitrary labels: a few Adam
    steps must make headway memorising them, whatever the architecture."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8, generator=g)
    return to_float(images), torch.arange(64) % 10


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 28, 28)])  # CIFAR-10 and (Fashion-)MNIST shapes
def test_output_shapes(name, shape):
    kwargs = dict(SMALL[name])
    if "mixer" in name and shape[1] == 28:
        kwargs["patch"] = 7
    model = build_model(name, in_shape=shape, num_classes=7, **kwargs)
    x = torch.rand(5, *shape) * 2 - 1
    out = model(x)
    assert count_parameters(model) > 0
    if name.endswith("_ae"):
        z = model.encode(x)
        assert out.shape == x.shape and z.shape == (5, model.bottleneck)
        assert model.decode(z).shape == x.shape
    else:
        assert out.shape == (5, 7)


def test_mixer_switch_changes_only_the_mixers():
    kan = build_model("kan_mixer", **SMALL["kan_mixer"])
    mlp = build_model("mlp_mixer", **SMALL["mlp_mixer"])
    assert isinstance(kan.blocks[0].token_mix[0], KANLinear) and isinstance(mlp.blocks[0].token_mix[1], torch.nn.GELU)
    strip = lambda m: {k: v.shape for k, v in m.state_dict().items() if "_mix" not in k}  # noqa: E731
    assert strip(kan) == strip(mlp)


def test_parameter_counts():
    # Paper configuration: image 32, patch 4 (T = 64 tokens), dim D = 256, depth 8; our widths 128 / 256.
    T, D, h, c, depth = 64, 256, 128, 256, 8
    per_block = 2 * 2 * D + (T * h + h + h * T + T) + (D * c + c + c * D + D)  # 2 LayerNorms + 2 MLPs
    expected = (3 * 16 * D + D) + depth * per_block + 2 * D + (D * 10 + 10)  # patch conv, blocks, LN, head
    assert count_parameters(build_model("mlp_mixer")) == expected
    # A KAN edge holds base weight + spline scaler + (grid_size + spline_order) coefficients, no biases.
    D, h, c, G, k = 16, 8, 16, 4, 2
    kw = dict(depth=1, dim=D, token_hidden=h, channel_hidden=c)
    kan = count_parameters(build_model("kan_mixer", grid_size=G, spline_order=k, **kw))
    mlp = count_parameters(build_model("mlp_mixer", **kw))
    assert kan - mlp == (2 * T * h + 2 * D * c) * (G + k + 2) - (2 * T * h + h + T + 2 * D * c + c + D)


def test_cnn_autoencoder_shapes_follow_the_authors():
    cifar = build_model("cnn_ae", in_shape=(3, 32, 32))
    assert cifar.latent_shape == (4, 4, 4) and [m.out_channels for m in cifar.encoder if hasattr(m, "out_channels")] == [32, 8, 4]
    mnist = build_model("cnn_ae", in_shape=(1, 28, 28))
    assert mnist.latent_shape == (2, 3, 3) and [m.stride[0] for m in mnist.encoder if hasattr(m, "stride")] == [2, 2, 3]
    assert mnist.decoder(torch.zeros(1, 2, 3, 3)).shape[-1] == 36  # cropped to 28 in decode
    assert isinstance(mnist.decoder[-1], torch.nn.Tanh)
    assert build_model("cnn_ae", in_shape=(3, 32, 32), bottleneck=128).latent_shape == (8, 4, 4)


def test_kan_autoencoder_follows_the_paper():
    ae = build_model("kan_ae", in_shape=(1, 28, 28), hidden=8, bottleneck=4, grid_size=3)
    kinds = [type(m).__name__ for m in ae.encoder] + [type(m).__name__ for m in ae.decoder]
    assert kinds == ["KANLinear", "ReLU", "Linear", "Linear", "ReLU", "KANLinear"]
    mlp = build_model("mlp_ae", in_shape=(1, 28, 28), hidden=8, bottleneck=4)
    assert [type(m).__name__ for m in mlp.encoder] == ["Linear", "ReLU", "Linear"]


@pytest.mark.parametrize("bad, match", [
    (dict(name="kan_mixer", patch=5), r"patch=5 does not divide the 32x32 image; choose one of \[1, 2, 4, 8, 16, 32\]"),
    (dict(name="mlp_mixer", dim=0), "dim=0 must be a positive integer"),
    (dict(name="mlp", hidden=[16, -1]), r"hidden\[1\]=-1"),
    (dict(name="kan", grid_size=0), "grid_size=0"),
    (dict(name="resnet"), "unknown model 'resnet'; choose from kan_mixer"),
    (dict(name="kan_ae", widht=3), "unknown argument.*allowed: hidden, bottleneck"),
    (dict(name="cnn_ae", bottleneck=20), "multiple of the 4x4 latent grid"),
])
def test_bad_arguments_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        build_model(bad.pop("name"), **bad)
    assert "grid_size" in model_arguments("kan_mixer") and "grid_size" not in model_arguments("mlp_mixer")


def _adam_steps(model, loss_fn, steps):
    """Take ``steps`` Adam steps on ``loss_fn()``; return the losses seen."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", ["kan_mixer", "mlp_mixer", "mlp", "kan"])
def test_a_few_steps_reduce_the_loss(name, batch):
    torch.manual_seed(0)
    x, y = batch
    model = build_model(name, **SMALL[name])
    losses = _adam_steps(model, lambda: F.cross_entropy(model(x), y), steps=8)
    assert losses[-1] < losses[0] * 0.9


@pytest.mark.parametrize("name", ["kan_ae", "cnn_ae", "mlp_ae"])
def test_a_few_steps_reduce_reconstruction_error(name, synthetic):
    torch.manual_seed(0)
    x = to_float(synthetic(64)[0])
    model = build_model(name, in_shape=(1, 28, 28), **SMALL[name])
    losses = _adam_steps(model, lambda: F.mse_loss(model(x), x), steps=20)
    assert losses[-1] < losses[0] * 0.9


def test_param_matched_widens_only_the_named_widths_to_the_target_count():
    from kanmix.models import param_matched

    kw = dict(patch=8, dim=16, depth=2, token_hidden=4, channel_hidden=8)
    target = count_parameters(build_model("kan_mixer", in_shape=(1, 32, 32), **kw))
    matched = param_matched("mlp_mixer", kw, target, in_shape=(1, 32, 32))
    got = count_parameters(build_model("mlp_mixer", in_shape=(1, 32, 32), **matched))
    assert abs(got - target) <= 0.10 * target
    factor = matched["token_hidden"] // kw["token_hidden"]
    assert factor > 1 and matched["channel_hidden"] == factor * kw["channel_hidden"]
    assert {k: matched[k] for k in ("patch", "dim", "depth")} == {"patch": 8, "dim": 16, "depth": 2}
    # No neighbouring factor comes closer.
    for other in (factor - 1, factor + 1):
        near = count_parameters(build_model("mlp_mixer", in_shape=(1, 32, 32), **{
            **kw, "token_hidden": 4 * other, "channel_hidden": 8 * other}))
        assert abs(near - target) >= abs(got - target)
    with pytest.raises(ValueError, match="more than 10% from"):
        param_matched("mlp_mixer", kw, 10, in_shape=(1, 32, 32))
    with pytest.raises(ValueError, match="lack"):
        param_matched("mlp", {"hidden": [8]}, target, in_shape=(1, 32, 32))


def test_the_profiles_use_the_named_configurations():
    """Chapter 3's mixers under the cpu and paper profiles are exactly the registry's named configurations."""
    from kanmix import book
    from kanmix.models import config

    for profile in ("cpu", "paper"):
        kwargs = book.chapter_parameters(profile, ["03"])["03"]["model_kwargs"]
        for model in ("kan_mixer", "mlp_mixer"):
            assert (model, kwargs[model]) == config(f"{model}_{profile}")
    with pytest.raises(ValueError, match="unknown configuration"):
        config("resnet_paper")
