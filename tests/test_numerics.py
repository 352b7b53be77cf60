"""The numerics fingerprint: a stored record is only as current as the code that made it.

Every record's key includes :data:`kanmix.results.NUMERICS`. This test trains each model family
for a few steps on a small fixed synthetic batch (CPU, float32, fixed seeds, the real training
loop with augmentation, schedule and clipping), then fingerprints the result: the final training
loss, the trained model's outputs on a fixed probe batch (sum and sum of squares) and three fixed
random projections of all its weights. The values are compared with those stored below for the
current numerics version. A change that moves any of them (the layer, a model, the training
loop, augmentation, data preparation) fails here until ``NUMERICS`` is bumped and the
fingerprints are updated in the same commit; a pure refactor passes unchanged.

The values are compared with a relative tolerance rather than hashed to the bit: float32 sums
come out in a different order on another CPU (MKL picks its kernels per machine) and differ in
the last bits, while a change of the numerics moves them by far more. The last test checks that
the tolerance is tight enough: scaling any one model's output by 1.001 must fail the comparison.

To print new fingerprints after a deliberate change: ``KANMIX_COMPILE=0 python tests/test_numerics.py``.
"""

from __future__ import annotations

import pytest
import torch

from kanmix import ae, data, results
from kanmix.models import build_model
from kanmix.runtime import seed_everything
from kanmix.train import CLASSIFY, RECONSTRUCT, fit, predict

#: name -> (registry model, model kwargs, in_shape, task)
FAMILIES = {
    "kan_mixer": ("kan_mixer", {"patch": 8, "dim": 16, "depth": 1, "token_hidden": 8, "channel_hidden": 16}),
    "mlp_mixer": ("mlp_mixer", {"patch": 8, "dim": 16, "depth": 1, "token_hidden": 8, "channel_hidden": 16}),
    "mlp": ("mlp", {"hidden": [32]}),
    "kan": ("kan", {"hidden": [8]}),
    "kan_ae": ("kan_ae", {"hidden": 16, "bottleneck": 8}),
    "mlp_ae": ("mlp_ae", {"hidden": 16, "bottleneck": 8}),
    "cnn_ae": ("cnn_ae", {"bottleneck": 32}),
}
CLASSIFIER_TRAINING = {"epochs": 2, "batch_size": 16, "lr": 1e-2, "label_smoothing": 0.1, "augment": True}
RTOL = 2e-4

#: NUMERICS version -> family -> [loss, probe sum, probe sum of squares, 3 weight projections]
FINGERPRINTS = {
    '1': {
        'kan_mixer': [2.33064818, -6.97886141, 3.07575026, -12.8651809, -13.0370133, 6.66981826],
        'mlp_mixer': [2.35935378, 20.9273406, 11.6590783, -10.3322165, 9.50371125, -16.5995564],
        'mlp': [2.46739205, 33.6671418, 36.239531, -0.286938082, -1.05763787, -5.29490224],
        'kan': [2.3066086, 3.15141521, 2.2761327, 2.16015559, 4.1041117, -3.55078008],
        'kan_ae': [0.411318908, -85.540407, 7.36410721, -30.6613093, 9.92472881, -2.29883433],
        'mlp_ae': [0.441516439, -36.979218, 159.388423, -4.08541871, 6.86070925, 0.612563043],
        'cnn_ae': [0.42486461, 150.147562, 257.693993, 6.08561611, -0.28263822, -5.43278904],
    },
}


def _synthetic(channels: int, side: int, n: int, seed: int) -> torch.Tensor:
    """A fixed batch of uint8 images: smooth blobs plus noise, made at 28x28 and resized like the datasets."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 28), torch.linspace(-1, 1, 28), indexing="ij")
    centres = torch.rand(n, channels, 2, generator=g) * 1.2 - 0.6
    blobs = torch.exp(-((xx - centres[..., :1, None]) ** 2 + (yy - centres[..., 1:, None]) ** 2) * 6)
    noise = torch.rand(n, channels, 28, 28, generator=g) * 0.3
    images = ((blobs + noise).clamp(0, 1) * 255).round().to(torch.uint8)
    return data.resize(images, side) if side != 28 else images


def fingerprint(family: str, perturb: float = 1.0) -> list[float]:
    """Train ``family`` a few steps and return its fingerprint; ``perturb`` scales the model's output."""
    name, kwargs = FAMILIES[family]
    autoencoder = name.endswith("_ae")
    in_shape = (3, 32, 32) if name == "cnn_ae" else (1, 28, 28) if autoencoder else (1, 32, 32)
    images = _synthetic(in_shape[0], in_shape[1], 48, seed=1)
    probe = _synthetic(in_shape[0], in_shape[1], 8, seed=2)
    labels = torch.arange(48) % 10
    seed_everything(0)
    model = build_model(name, in_shape=in_shape, num_classes=10, **kwargs)
    if perturb != 1.0:
        forward = model.forward
        model.forward = lambda x: forward(x) * perturb
    train = {**ae.PAPER_RECIPE, "epochs": 2, "batch_size": 16} if autoencoder else CLASSIFIER_TRAINING
    out = fit(model, images, None if autoencoder else labels, {**train, "seed": 0, "device": "cpu",
                                                                "precision": "fp32", "progress": False},
              objective=RECONSTRUCT if autoencoder else CLASSIFY)
    outputs = predict(model, probe, batch_size=8, device="cpu").double()
    weights = torch.cat([p.detach().double().flatten() for p in model.parameters()])
    directions = torch.randn(3, weights.numel(), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    return [out["history"][-1]["train_loss"], float(outputs.sum()), float((outputs ** 2).sum()),
            *(directions @ weights).tolist()]


def mismatch(got: list[float], want: list[float]) -> str | None:
    """Why ``got`` is not ``want`` within :data:`RTOL`, or ``None``.

    Each value is compared relative to its own size, with a floor at the largest value of its
    kind, so a projection that happens to lie near zero is not held to an impossible precision.
    """
    scale = max(abs(v) for v in want[3:])
    for i, (g, w) in enumerate(zip(got, want)):
        floor = scale if i >= 3 else 0.0
        if abs(g - w) > RTOL * max(abs(w), floor, 1e-12):
            return f"value {i}: got {g!r}, stored {w!r}"
    return None


@pytest.mark.parametrize("family", FAMILIES)
def test_fingerprint_matches_the_current_numerics_version(family):
    stored = FINGERPRINTS.get(results.NUMERICS)
    assert stored is not None, (f"no fingerprints stored for NUMERICS={results.NUMERICS!r}; add them "
                                "(KANMIX_COMPILE=0 python tests/test_numerics.py prints them)")
    why = mismatch(fingerprint(family), stored[family])
    assert why is None, (f"{family}: the numbers moved ({why}). If that is intended, bump "
                         "kanmix.results.NUMERICS and store the new fingerprints in this file, in the same commit.")


@pytest.mark.parametrize("family", FAMILIES)
def test_a_forward_changed_by_a_tenth_of_a_percent_fails(family):
    stored = FINGERPRINTS[results.NUMERICS][family]
    assert mismatch(fingerprint(family, perturb=1.001), stored) is not None


if __name__ == "__main__":
    print(f"    {results.NUMERICS!r}: {{")
    for fam in FAMILIES:
        print(f"        {fam!r}: {[float(f'{v:.9g}') for v in fingerprint(fam)]},")
    print("    },")
