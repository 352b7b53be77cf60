"""The models of the two studies: KAN-/MLP-Mixers and flat baselines, and three autoencoders.

Every model takes float images ``(B, C, H, W)`` in ``[-1, 1]`` (``kanmix.data.to_float``).
Classifiers return logits ``(B, num_classes)``; autoencoders return a reconstruction of
the input's shape and expose ``encode(x) -> (B, bottleneck)`` and ``decode(z) -> (B, C, H, W)``.

Build them by name with :func:`build_model`; every width, grid size and spline order is an
argument, and bad ones fail at construction with a message naming the argument.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from kanmix import checks
from kanmix.kan import KAN, KANLinear

# KANLinear keyword arguments a model forwards to its KAN layers.
KAN_KWARGS = ("grid_size", "spline_order", "scale_noise", "scale_base", "scale_spline", "grid_eps", "grid_range")


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _widths(name: str, values) -> list[int]:
    if isinstance(values, int):
        values = [values]
    return [checks.integer(f"{name}[{i}]", v) for i, v in enumerate(values)]


def _check_kan_kwargs(kan_kwargs: dict) -> dict:
    if "grid_size" in kan_kwargs:
        checks.integer("grid_size", kan_kwargs["grid_size"])
    if "spline_order" in kan_kwargs:
        checks.integer("spline_order", kan_kwargs["spline_order"])
    return kan_kwargs


def _in_shape(in_shape) -> tuple[int, int, int]:
    if len(in_shape) != 3:
        raise ValueError(f"in_shape={tuple(in_shape)} must be (channels, height, width)")
    return tuple(checks.integer(f"in_shape[{i}]", int(v)) for i, v in enumerate(in_shape))


# ============================================================================== mixers


class KANMlp(nn.Sequential):
    """``(..., n) -> (..., hidden) -> (..., n)``: two KAN layers, no activation between them, because
    every KAN edge already is one. ``layer(in, out, **kan_kwargs)`` builds each (default :class:`KANLinear`)."""

    def __init__(self, n: int, hidden: int, *, layer: Callable[..., nn.Module] = KANLinear, **kan_kwargs):
        super().__init__(layer(n, hidden, **kan_kwargs), layer(hidden, n, **kan_kwargs))


class Mlp(nn.Sequential):
    """``(..., n) -> (..., hidden) -> (..., n)``: Linear, GELU, Linear (the MLP-Mixer's)."""

    def __init__(self, n: int, hidden: int):
        super().__init__(nn.Linear(n, hidden), nn.GELU(), nn.Linear(hidden, n))


class MixerBlock(nn.Module):
    """``x + TokenMix(LN(x)^T)^T``, then ``x + ChannelMix(LN(x))``; ``(B, T, D) -> (B, T, D)``.

    ``mlp_layer(n, hidden)`` builds both mixing networks: :class:`Mlp` or :class:`KANMlp`.
    """

    def __init__(self, tokens: int, dim: int, token_hidden: int, channel_hidden: int, *,
                 mlp_layer: Callable[[int, int], nn.Module], dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_mix = mlp_layer(tokens, token_hidden)
        self.norm2 = nn.LayerNorm(dim)
        self.channel_mix = mlp_layer(dim, channel_hidden)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.token_mix(self.norm1(x).transpose(1, 2)).transpose(1, 2))
        return x + self.drop(self.channel_mix(self.norm2(x)))


class Mixer(nn.Module):
    """An MLP-Mixer whose mixing networks are ``mlp_layer``: the KAN-Mixer with :class:`KANMlp`
    (:func:`kan_mixer`), the MLP-Mixer with :class:`Mlp` (:func:`mlp_mixer`).

    ``(B, C, H, W) -> (B, num_classes)``: a strided-conv patch embedding gives
    ``T = (H / patch) * (W / patch)`` tokens of width ``dim``; ``depth`` :class:`MixerBlock`;
    LayerNorm; mean over tokens; linear head.

    Paper configuration (KAN-Mixers, :data:`CONFIGS`): image 32, ``patch=4`` (64 tokens),
    ``dim=256``, ``depth=8``. The hidden widths are our choice (we could not confirm the paper's
    values from its text): ``token_hidden=128`` (= dim / 2, the MLP-Mixer ratio D_S / C) and
    ``channel_hidden=256`` (= dim, i.e. an expansion of 1 instead of MLP-Mixer's 4, because a
    KAN edge already holds ``grid_size + spline_order + 1`` coefficients; this keeps the
    KAN-Mixer at 11.8 M parameters and trainable on a CPU). The MLP-Mixer of the same widths
    differs only in the mixing functions.
    """

    def __init__(self, in_shape=(3, 32, 32), num_classes: int = 10, *, mlp_layer: Callable[[int, int], nn.Module],
                 patch: int = 4, dim: int = 256, depth: int = 8, token_hidden: int = 128, channel_hidden: int = 256,
                 dropout: float = 0.1):
        super().__init__()
        c, h, w = _in_shape(in_shape)
        patch = checks.integer("patch", patch)
        if h % patch or w % patch:
            divisors = [d for d in range(1, min(h, w) + 1) if h % d == 0 and w % d == 0]
            raise ValueError(f"patch={patch} does not divide the {h}x{w} image; choose one of {divisors}")
        for name, value in (("dim", dim), ("depth", depth), ("token_hidden", token_hidden),
                            ("channel_hidden", channel_hidden), ("num_classes", num_classes)):
            checks.integer(name, value)
        checks.fraction("dropout", dropout)
        self.patch, self.tokens = patch, (h // patch) * (w // patch)
        self.embed = nn.Conv2d(c, dim, kernel_size=patch, stride=patch)
        self.blocks = nn.Sequential(*(
            MixerBlock(self.tokens, dim, token_hidden, channel_hidden, mlp_layer=mlp_layer, dropout=dropout)
            for _ in range(depth)))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2)  # (B, D, H/p, W/p) -> (B, T, D)
        x = self.norm(self.blocks(x))
        return self.head(x.mean(dim=1))


def kan_mixer(in_shape=(3, 32, 32), num_classes: int = 10, *, layer: Callable[..., nn.Module] = KANLinear,
              **kwargs) -> Mixer:
    """The KAN-Mixer: a :class:`Mixer` of :class:`KANMlp`. ``kwargs`` are the Mixer's and the KAN layers'
    (:data:`KAN_KWARGS`); ``layer`` lets the benchmark swap in the reference layer."""
    kan_kwargs = _check_kan_kwargs({k: kwargs.pop(k) for k in KAN_KWARGS if k in kwargs})
    return Mixer(in_shape, num_classes, mlp_layer=functools.partial(KANMlp, layer=layer, **kan_kwargs), **kwargs)


def mlp_mixer(in_shape=(3, 32, 32), num_classes: int = 10, **kwargs) -> Mixer:
    """The MLP-Mixer: a :class:`Mixer` of :class:`Mlp`."""
    return Mixer(in_shape, num_classes, mlp_layer=Mlp, **kwargs)


# ============================================================================== flat baselines


class MLPClassifier(nn.Module):
    """Flattened pixels -> ``[Linear -> ReLU -> Dropout] * len(hidden)`` -> Linear. ``(B, C, H, W) -> (B, classes)``."""

    def __init__(self, in_shape=(1, 28, 28), num_classes: int = 10, *, hidden: Sequence[int] = (256,),
                 dropout: float = 0.0):
        super().__init__()
        widths = [math.prod(_in_shape(in_shape)), *_widths("hidden", hidden), checks.integer("num_classes", num_classes)]
        checks.fraction("dropout", dropout)
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths[:-2], widths[1:-1]):
            layers += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
        layers.append(nn.Linear(widths[-2], widths[-1]))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class KANClassifier(nn.Module):
    """Flattened pixels -> ``KAN([C*H*W, *hidden, classes])``. ``(B, C, H, W) -> (B, classes)``."""

    def __init__(self, in_shape=(1, 28, 28), num_classes: int = 10, *, hidden: Sequence[int] = (64,), **kan_kwargs):
        super().__init__()
        widths = [math.prod(_in_shape(in_shape)), *_widths("hidden", hidden), checks.integer("num_classes", num_classes)]
        self.kan = KAN(widths, **_check_kan_kwargs(kan_kwargs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.kan(x.flatten(1))


# ============================================================================== autoencoders


class _FlatAutoencoder(nn.Module):
    """Shared shape of the flat autoencoders; subclasses supply ``outer(in, out)``, and :meth:`sides` the layers
    (by default ``outer -> ReLU -> Linear`` down to the bottleneck and the mirror image; ``hidden=None``: none)."""

    def __init__(self, in_shape, hidden: int | None, bottleneck: int):
        super().__init__()
        self.in_shape = _in_shape(in_shape)
        self.n_in = math.prod(self.in_shape)
        self.hidden = None if hidden is None else checks.integer("hidden", hidden)
        self.bottleneck = checks.integer("bottleneck", bottleneck)
        self.encoder, self.decoder = self.sides()

    def sides(self) -> tuple[nn.Module, nn.Module]:
        """``(encoder, decoder)``, built in this order (the order their weights are drawn in)."""
        h, b = self.hidden, self.bottleneck
        encoder = nn.Sequential(self.outer(self.n_in, h), nn.ReLU(), nn.Linear(h, b))
        return encoder, nn.Sequential(nn.Linear(b, h), nn.ReLU(), self.outer(h, self.n_in))

    def outer(self, n_in: int, n_out: int) -> nn.Module:
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, bottleneck)``."""
        return self.encoder(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, bottleneck) -> (B, C, H, W)``."""
        return self.decoder(z).view(-1, *self.in_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class KANAutoencoder(_FlatAutoencoder):
    """The paper's KAN autoencoder on flattened pixels.

    encoder: ``KAN(in -> hidden) -> ReLU -> Linear(hidden -> bottleneck)``;
    decoder: ``Linear(bottleneck -> hidden) -> ReLU -> KAN(hidden -> in)``.

    This follows the paper's description. The authors' published code skips the ReLU and the
    Dense (Linear) layers, i.e. encodes with a single KAN layer straight to the bottleneck:
    that is :class:`KANAutoencoderSingle` (``kan_single_ae``). The output is unbounded (no Tanh): the
    decoder's KAN layer is itself a learned nonlinearity and the target lies in ``[-1, 1]``.
    """

    def __init__(self, in_shape=(1, 28, 28), *, hidden: int = 128, bottleneck: int = 16, **kan_kwargs):
        self._kan_kwargs = _check_kan_kwargs(kan_kwargs)
        super().__init__(in_shape, hidden, bottleneck)

    def outer(self, n_in: int, n_out: int) -> nn.Module:
        return KANLinear(n_in, n_out, **self._kan_kwargs)


class KANAutoencoderSingle(KANAutoencoder):
    """The KAN autoencoder as the authors' published code has it: one KAN layer per side.

    encoder: ``KAN(in -> bottleneck)``; decoder: ``KAN(bottleneck -> in)``; no ReLU, no dense
    layer, no hidden width. ``in * bottleneck * (G + k + 2)`` parameters per side.
    """

    def __init__(self, in_shape=(1, 28, 28), *, bottleneck: int = 16, **kan_kwargs):
        self._kan_kwargs = _check_kan_kwargs(kan_kwargs)
        _FlatAutoencoder.__init__(self, in_shape, None, bottleneck)

    def sides(self) -> tuple[nn.Module, nn.Module]:
        encoder = nn.Sequential(self.outer(self.n_in, self.bottleneck))
        return encoder, nn.Sequential(self.outer(self.bottleneck, self.n_in))


class MLPAutoencoder(_FlatAutoencoder):
    """The KAN autoencoder with its two KAN layers replaced by Linear layers, ReLUs kept.

    ``Linear(in -> hidden) -> ReLU -> Linear(hidden -> bottleneck)`` and the mirror image:
    the control that says whether the KAN layers earn their extra parameters and time.
    """

    def __init__(self, in_shape=(1, 28, 28), *, hidden: int = 128, bottleneck: int = 16):
        super().__init__(in_shape, hidden, bottleneck)

    def outer(self, n_in: int, n_out: int) -> nn.Module:
        return nn.Linear(n_in, n_out)


class CNNAutoencoder(nn.Module):
    """The authors' convolutional autoencoder.

    Encoder: 3x3 convolutions with padding 1 and the given strides, ReLU after each;
    decoder: the mirror image with 3x3 ConvTranspose layers that multiply the size by their
    stride (Keras ``padding="same"``), ReLU between and Tanh at the end, then a centre crop to
    the input size. Defaults follow the input size:

    - 32x32 (CIFAR-10): channels 3 -> 32 -> 8 -> 4, strides 2/2/2, latent 4 x 4 x 4 = 64;
    - 28x28 (MNIST): channels 1 -> 8 -> 4 -> 2, strides 2/2/3, latent 2 x 3 x 3 = 18; the
      decoder gives 3 -> 9 -> 18 -> 36 pixels, cropped to 28.

    ``bottleneck`` (optional) sets the latent size by changing the last encoder channel count,
    so it must be a multiple of the latent's spatial size (16 for 32x32, 9 for 28x28).
    """

    def __init__(self, in_shape=(3, 32, 32), *, channels: Sequence[int] | None = None,
                 strides: Sequence[int] | None = None, bottleneck: int | None = None):
        super().__init__()
        c, h, w = self.in_shape = _in_shape(in_shape)
        if channels is None:
            channels = (8, 4, 2) if h == 28 else (32, 8, 4)
        if strides is None:
            strides = (2, 2, 3) if h == 28 else (2, 2, 2)
        channels, strides = _widths("channels", channels), _widths("strides", strides)
        if len(channels) != len(strides):
            raise ValueError(f"channels={channels} and strides={strides} must have the same length")
        lh, lw = h, w
        for s in strides:  # conv with k=3, p=1: out = floor((n - 1) / s) + 1
            lh, lw = (lh - 1) // s + 1, (lw - 1) // s + 1
        self.latent_shape = (channels[-1], lh, lw)
        if bottleneck is not None:
            checks.integer("bottleneck", bottleneck)
            if bottleneck % (lh * lw):
                raise ValueError(f"bottleneck={bottleneck} must be a multiple of the {lh}x{lw} latent grid "
                                 f"({lh * lw}) for the CNN autoencoder, e.g. {lh * lw * max(1, bottleneck // (lh * lw))}")
            channels[-1] = bottleneck // (lh * lw)
            self.latent_shape = (channels[-1], lh, lw)
        self.bottleneck = math.prod(self.latent_shape)

        enc: list[nn.Module] = []
        for a, b, s in zip([c, *channels[:-1]], channels, strides):
            enc += [nn.Conv2d(a, b, 3, stride=s, padding=1), nn.ReLU()]
        dec: list[nn.Module] = []
        outs = [*channels[-2::-1], c]
        for i, (a, b, s) in enumerate(zip(channels[::-1], outs, strides[::-1])):
            # k=3, p=1, output_padding=s-1 gives out = n * s exactly.
            dec += [nn.ConvTranspose2d(a, b, 3, stride=s, padding=1, output_padding=s - 1),
                    nn.Tanh() if i == len(channels) - 1 else nn.ReLU()]
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, bottleneck)``."""
        return self.encoder(x).flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(B, bottleneck) -> (B, C, H, W)``, centre-cropped to the input size."""
        y = self.decoder(z.view(-1, *self.latent_shape))
        _, h, w = self.in_shape
        top, left = (y.shape[-2] - h) // 2, (y.shape[-1] - w) // 2
        return y[..., top:top + h, left:left + w]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


# ============================================================================== registry

CLASSIFIERS = {
    "kan_mixer": kan_mixer,
    "mlp_mixer": mlp_mixer,
    "mlp": MLPClassifier,
    "kan": KANClassifier,
}
AUTOENCODERS = {
    "kan_ae": KANAutoencoder,
    "kan_single_ae": KANAutoencoderSingle,
    "cnn_ae": CNNAutoencoder,
    "mlp_ae": MLPAutoencoder,
}
MODELS = {**CLASSIFIERS, **AUTOENCODERS}

#: Named configurations: a registry name and its arguments. The paper's mixer is the KAN-Mixers
#: paper's choice (patch 4, width 256, 8 blocks; the hidden widths are ours, see :class:`Mixer`);
#: the cpu sizes are the book's ``cpu`` profile's (chapter 3). ``tests/test_models.py`` checks that
#: the profiles use exactly these.
CONFIGS: dict[str, tuple[str, dict]] = {
    "kan_mixer_paper": ("kan_mixer", {"patch": 4, "dim": 256, "depth": 8, "token_hidden": 128, "channel_hidden": 256,
                                      "dropout": 0.0}),
    "mlp_mixer_paper": ("mlp_mixer", {"patch": 4, "dim": 256, "depth": 8, "token_hidden": 128, "channel_hidden": 256,
                                      "dropout": 0.0}),
    "kan_mixer_cpu": ("kan_mixer", {"patch": 4, "dim": 64, "depth": 2, "token_hidden": 32, "channel_hidden": 64,
                                    "dropout": 0.0}),
    "mlp_mixer_cpu": ("mlp_mixer", {"patch": 4, "dim": 64, "depth": 2, "token_hidden": 32, "channel_hidden": 64,
                                    "dropout": 0.0}),
}


def config(name: str) -> tuple[str, dict]:
    """A named configuration of :data:`CONFIGS`: ``(registry name, a copy of its arguments)``."""
    try:
        model, kwargs = CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown configuration {name!r}; choose from {', '.join(CONFIGS)}") from None
    return model, dict(kwargs)


def model_arguments(name: str) -> list[str]:
    """The keyword arguments ``build_model(name, ...)`` accepts besides ``in_shape``/``num_classes``."""
    builder = _lookup(name)
    params = inspect.signature(builder).parameters
    names = [p for p in params if p not in ("self", "in_shape", "num_classes", "kwargs", "kan_kwargs")]
    if builder in (kan_mixer, mlp_mixer):  # the Mixer's own arguments, less the part its builder supplies
        names += [p for p in inspect.signature(Mixer).parameters if p not in ("in_shape", "num_classes", "mlp_layer")]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()) and builder is not mlp_mixer:
        names += list(KAN_KWARGS)
    return list(dict.fromkeys(names))


def _lookup(name: str):
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}") from None


def build_model(name: str, *, in_shape=(3, 32, 32), num_classes: int = 10, **kwargs) -> nn.Module:
    """Build a model by name: ``kan_mixer``, ``mlp_mixer``, ``mlp``, ``kan`` or ``kan_ae``, ``kan_single_ae``,
    ``cnn_ae``, ``mlp_ae``.

    Classifiers map ``(B, C, H, W) -> (B, num_classes)``; autoencoders ignore ``num_classes``.
    Unknown keyword arguments raise an error that lists the allowed ones.
    """
    builder = _lookup(name)
    allowed = model_arguments(name)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown} for model {name!r}; allowed: {', '.join(allowed)}")
    if name in AUTOENCODERS:
        return builder(in_shape, **kwargs)
    return builder(in_shape, num_classes, **kwargs)


def parameter_count(name: str, *, in_shape, num_classes: int = 10, **kwargs) -> int:
    """``count_parameters(build_model(name, ...))`` without drawing a weight: the model is built on the meta
    device, its KAN layers left uninitialised, so a model of tens of millions of parameters costs nothing."""
    saved = KANLinear.reset_parameters
    KANLinear.reset_parameters = lambda self: None  # its spline fit cannot run on the meta device
    try:
        with torch.device("meta"):
            return count_parameters(build_model(name, in_shape=in_shape, num_classes=num_classes, **kwargs))
    finally:
        KANLinear.reset_parameters = saved


def param_matched(name: str, model_kwargs: dict, target: int, *, in_shape, num_classes: int = 10,
                  widths: Sequence[str] = ("token_hidden", "channel_hidden"), tolerance: float = 0.10,
                  most: int = 64) -> dict:
    """``model_kwargs`` with the ``widths`` multiplied by the factor whose model has about ``target`` parameters.

    The factor is the integer ``m`` in ``1..most`` whose :func:`count_parameters` is closest to
    ``target``; the other arguments (depth, token width, patch) stay as they are, so a
    parameter-matched MLP-Mixer differs from the KAN-Mixer it matches only in how much its
    mixing MLPs hold. Raises ``ValueError`` if even the best factor misses ``target`` by more
    than ``tolerance`` (relative).
    """
    missing = [w for w in widths if w not in model_kwargs]
    if missing:
        raise ValueError(f"param_matched scales {list(widths)}, but model_kwargs lack {missing}")

    def params(m: int) -> int:
        scaled = {**model_kwargs, **{w: model_kwargs[w] * m for w in widths}}
        return parameter_count(name, in_shape=in_shape, num_classes=num_classes, **scaled)

    # The count grows linearly in m, so two builds give the best factor; a third checks it.
    base, slope = params(1), params(2) - params(1)
    m = min(max(1, round((target - base) / slope) + 1 if slope > 0 else 1), most)
    best = min((c for c in (m - 1, m, m + 1) if 1 <= c <= most), key=lambda c: abs(params(c) - target))
    got = params(best)
    if abs(got - target) > tolerance * target:
        raise ValueError(f"param_matched: the closest {name} has {got:,} parameters (widths x{best}), "
                         f"more than {tolerance:.0%} from {target:,}")
    return {**model_kwargs, **{w: model_kwargs[w] * best for w in widths}}
