import pytest
import torch

from kanmix.augment import FILL, PAPER, Augment, hflip, random_crop, random_rotate, rotate, shift
from kanmix.data import to_float


@pytest.fixture(scope="module")
def images(synthetic):
    return to_float(synthetic(64, (3, 32, 32))[0])  # (64, 3, 32, 32) in [-1, 1]


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_flip_twice_is_identity_and_p_controls_rate(images):
    once = hflip(images, 1.0, gen())
    assert torch.equal(once, images.flip(-1))
    assert torch.equal(hflip(once, 1.0, gen()), images)
    assert torch.equal(hflip(images, 0.0, gen()), images)
    half = hflip(images, 0.5, gen())
    flipped = (half != images).flatten(1).any(1)
    assert 0 < flipped.sum() < len(images)  # per-image decisions, not one for the batch


def test_rotation_identities(images):
    n = len(images)
    assert torch.equal(rotate(images, torch.zeros(n)), images)
    assert torch.equal(rotate(images, torch.full((n,), 90.0)), torch.rot90(images, 1, (-2, -1)))  # counter-clockwise
    assert torch.equal(rotate(images, torch.full((n,), 180.0)), images.flip(-1).flip(-2))
    assert torch.equal(random_rotate(images, 0.0, gen()), images)


def test_rotation_fills_corners_and_keeps_range(images):
    out = rotate(images, torch.full((len(images),), 45.0))
    assert torch.all(out[..., 0, 0] == FILL) and torch.all(out[..., -1, -1] == FILL)
    assert out.min() >= -1 and out.max() <= 1
    centre = rotate(images, torch.full((len(images),), 10.0))[..., 14:18, 14:18]
    assert (centre - images[..., 14:18, 14:18]).abs().mean() < 0.5  # a small rotation moves the centre little


def test_crop_identities(images):
    n = len(images)
    assert torch.equal(random_crop(images, 0, gen()), images)
    centred = shift(images, torch.full((n,), 4), torch.full((n,), 4), 4)
    assert torch.equal(centred, images)
    right = shift(images, torch.full((n,), 4), torch.full((n,), 2), 4)  # content moves 2 px right
    assert torch.equal(right[..., 2:], images[..., :-2]) and torch.all(right[..., :2] == FILL)


def test_augment_is_seeded_and_validated(images):
    aug = Augment(hflip=0.5, rotate=15, crop=4)
    a, b = aug(images, gen(1)), aug(images, gen(1))
    assert torch.equal(a, b) and not torch.equal(a, aug(images, gen(2)))
    assert a.shape == images.shape
    assert Augment.from_spec(None) is None and Augment.from_spec(True) == PAPER
    assert Augment.from_spec({"crop": 2}) == Augment(crop=2)
    with pytest.raises(ValueError, match="hflip"):
        Augment(hflip=2)
    with pytest.raises(ValueError, match="unknown augment keys"):
        Augment.from_spec({"flip": 0.5})


def test_specs_parse_from_text():
    assert [Augment.parse(t) for t in ("none", "paper", "hflip=0.5,crop=4")] == [None, True, {"hflip": 0.5, "crop": 4}]
    with pytest.raises(ValueError, match="must be none, paper, or key=value pairs of hflip, rotate, crop"):
        Augment.parse("flip")
    with pytest.raises(ValueError, match="crop='x' is not a number"):
        Augment.parse("crop=x")
