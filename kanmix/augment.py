"""Batched, on-device data augmentation in plain torch.

Each transform takes float images ``(B, C, H, W)`` in the model's ``[-1, 1]`` scale and a
``torch.Generator`` on the images' device, and draws one independent random parameter per
image, so a whole batch is augmented with a handful of kernels instead of a Python loop.
Areas uncovered by a rotation or crop are filled with ``-1`` (a black pixel), matching the
zero fill of the usual PIL/torchvision transforms on uint8 images.

An :class:`Augment` spec is a plain JSON-able dict, so it can live in a results config::

    {"hflip": 0.5, "rotate": 10.0, "crop": 4}

``hflip`` is the flip probability, ``rotate`` the maximum absolute angle in degrees of a
uniformly drawn rotation (torchvision's ``RandomRotation(degrees)``), and ``crop`` the
padding of a random crop back to the original size (``RandomCrop(size, padding=crop)``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F

FILL = -1.0  # a black pixel in the [-1, 1] input scale


def hflip(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Flip each image left-right with probability ``p``. ``(B, C, H, W) -> (B, C, H, W)``."""
    if p <= 0:
        return x
    flip = torch.rand(x.shape[0], device=x.device, generator=generator) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def rotate(x: torch.Tensor, angles_deg: torch.Tensor, *, mode: str = "nearest") -> torch.Tensor:
    """Rotate image ``b`` by ``angles_deg[b]`` degrees counter-clockwise about its centre.

    ``(B, C, H, W), (B,) -> (B, C, H, W)``. Nearest-neighbour sampling, as torchvision's
    default; uncovered corners get :data:`FILL`.
    """
    B, _, H, W = x.shape
    theta = torch.deg2rad(angles_deg.to(device=x.device, dtype=torch.float32))
    cos, sin = torch.cos(theta), torch.sin(theta)
    # affine_grid works in [-1, 1] coordinates per axis; rescale so non-square images rotate rigidly.
    # The grid maps output pixels to input pixels, so this is the inverse (clockwise) rotation
    # in (x right, y down) coordinates, i.e. a counter-clockwise rotation on screen.
    mat = torch.zeros(B, 2, 3, device=x.device, dtype=torch.float32)
    mat[:, 0, 0] = cos
    mat[:, 0, 1] = -sin * H / W
    mat[:, 1, 0] = sin * W / H
    mat[:, 1, 1] = cos
    grid = F.affine_grid(mat, [B, 1, H, W], align_corners=False)
    # A ones channel sampled alongside marks which output pixels came from inside the image.
    ones = torch.ones_like(x[:, :1])
    out = F.grid_sample(torch.cat([x, ones], 1), grid, mode=mode, padding_mode="zeros", align_corners=False)
    return torch.where(out[:, -1:] > 0.5, out[:, :-1], torch.full_like(out[:, :-1], FILL))


def random_rotate(x: torch.Tensor, degrees: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotate each image by an angle drawn uniformly from ``[-degrees, degrees]``."""
    if degrees <= 0:
        return x
    u = torch.rand(x.shape[0], device=x.device, generator=generator)
    return rotate(x, (2 * u - 1) * degrees)


def shift(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, padding: int) -> torch.Tensor:
    """Crop image ``b`` at offset ``(dy[b], dx[b])`` of the image padded by ``padding``.

    ``(B, C, H, W) -> (B, C, H, W)``; offsets lie in ``[0, 2 * padding]``, and
    ``dy = dx = padding`` returns the image unchanged.
    """
    B, C, H, W = x.shape
    padded = F.pad(x, (padding,) * 4, value=FILL)
    rows = dy.to(x.device)[:, None] + torch.arange(H, device=x.device)  # (B, H)
    cols = dx.to(x.device)[:, None] + torch.arange(W, device=x.device)  # (B, W)
    b = torch.arange(B, device=x.device)[:, None, None, None]
    c = torch.arange(C, device=x.device)[None, :, None, None]
    return padded[b, c, rows[:, None, :, None], cols[:, None, None, :]]


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Pad by ``padding`` and crop back to ``(H, W)`` at a uniformly random offset per image."""
    if padding <= 0:
        return x
    offsets = torch.randint(0, 2 * padding + 1, (2, x.shape[0]), device=x.device, generator=generator)
    return shift(x, offsets[0], offsets[1], padding)


@dataclass(frozen=True)
class Augment:
    """A composition: random crop, then horizontal flip, then rotation (all optional)."""

    hflip: float = 0.0
    rotate: float = 0.0
    crop: int = 0

    def __post_init__(self):
        if not 0.0 <= self.hflip <= 1.0:
            raise ValueError(f"augment hflip={self.hflip!r} must be a probability in [0, 1]")
        if not (math.isfinite(self.rotate) and 0.0 <= self.rotate <= 180.0):
            raise ValueError(f"augment rotate={self.rotate!r} must be a maximum angle in [0, 180] degrees")
        if int(self.crop) != self.crop or self.crop < 0:
            raise ValueError(f"augment crop={self.crop!r} must be a non-negative integer padding")

    @classmethod
    def from_spec(cls, spec) -> Augment | None:
        """``None``/``False``/``{}`` -> no augmentation; ``True`` -> :data:`PAPER`; a dict -> its fields."""
        if spec is None or spec is False or spec == {}:
            return None
        if spec is True:
            return PAPER
        if isinstance(spec, Augment):
            return spec
        if not isinstance(spec, dict):
            raise TypeError(f"augment must be None, True or a dict like {asdict(PAPER)}, got {spec!r}")
        unknown = set(spec) - set(KEYS)
        if unknown:
            raise ValueError(f"unknown augment keys {sorted(unknown)}; allowed: {', '.join(KEYS)}")
        return cls(**spec)

    @staticmethod
    def parse(text: str) -> bool | dict | None:
        """A spec from text: ``none`` -> None, ``paper`` -> True, ``hflip=0.5,crop=4`` -> a dict (not validated)."""
        if text == "none":
            return None
        if text == "paper":
            return True
        spec = {}
        for item in text.split(","):
            key, _, value = item.partition("=")
            if key not in KEYS or not value:
                raise ValueError(f"must be none, paper, or key=value pairs of {', '.join(KEYS)} "
                                 f"(e.g. hflip=0.5,crop=4), got {text!r}")
            try:
                spec[key] = int(value) if key == "crop" else float(value)
            except ValueError:
                raise ValueError(f"{key}={value!r} is not a number") from None
        return spec

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = random_crop(x, int(self.crop), generator)
        x = hflip(x, self.hflip, generator)
        return random_rotate(x, self.rotate, generator)


KEYS = tuple(f.name for f in fields(Augment))
#: The KAN-Mixers paper's training transforms: RandomHorizontalFlip() and RandomRotation(10).
PAPER = Augment(hflip=0.5, rotate=10.0, crop=0)
