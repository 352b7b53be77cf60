"""The autoencoder study: KAN, CNN and MLP autoencoders, bottleneck sweeps, latent quality.

One run (an :class:`AutoencoderRun`, made by :func:`ae_config` and trained by
:func:`kanmix.runner.record`) trains one autoencoder on the official training split (or a
stratified subset of it) and measures, on the official test split (or, for a run on a
training subset, a stratified test subset of the same fraction, see :mod:`kanmix.splits`):

* **reconstruction error**: ``test_mse`` is the mean squared error in the models' own input
  space ``[-1, 1]`` (:func:`kanmix.data.to_float`), i.e. the training loss; ``test_mse_01`` is
  the same error on the ``[0, 1]`` pixel scale (``test_mse / 4``), and ``psnr`` is
  ``10 log10(1 / test_mse_01)`` dB, the PSNR of the whole test set on the ``[0, 1]`` scale
  (from the pooled MSE, not a mean of per-image PSNRs; outputs are not clipped).
* **latent quality**, by k-nearest-neighbour classification (scikit-learn, ``k=3`` default):

  - ``knn_accuracy`` (ours): KNN *fit on the training-set latents* and *scored on the
    test-set latents*. Train and test images are disjoint, so this estimates how well the
    latent space separates classes for unseen images.
  - ``knn_authors`` (the KAN-autoencoder authors' protocol, reproduced for comparison): KNN
    fit and scored on the *same* test set, and, for the KAN autoencoder, on the
    *reconstructions* rather than the latents (``knn_authors_features`` says which). Every
    test point is its own nearest neighbour, so with ``k=3`` one of the three votes is
    always right (with ``k=1`` the score is 1.0 for any features): the number is biased
    upward against an honest score of the same features, and measures the fit of the
    test set to itself rather than generalisation. It also compares different feature
    spaces across models (784- or 3072-dimensional reconstructions against small latents).
    Shown side by side with ``knn_accuracy`` it makes the difference visible.
* parameter count, training seconds and images/s, and the per-epoch curve (train loss and
  test loss).

The training recipe defaults to the paper's: 10 epochs of AdamW, lr 1e-3, weight decay 1e-4,
MSE, at a constant learning rate (no warm-up, no schedule, no gradient clipping); the batch
size is not stated in the paper, 128 is used. Every run is a results-store record
(``kind="ae"``), so a sweep interrupted halfway resumes at the first missing run;
``keep_weights=True`` also stores the trained model beside its record and
:func:`kanmix.runner.load_trained` gives it back, so figures need not train it again.
:func:`sweep` runs a grid of models x datasets x bottlenecks and returns a tidy DataFrame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.neighbors import KNeighborsClassifier
from tqdm import tqdm

from kanmix import checks, data, models, results, runner
from kanmix.runtime import progress_enabled
from kanmix.splits import Split, load_split
from kanmix.train import TrainConfig, encode, predict

#: Short study names -> registry names of :func:`kanmix.models.build_model`.
AE_MODELS = {"kan": "kan_ae", "cnn": "cnn_ae", "mlp": "mlp_ae"}
DATASETS = ("mnist", "fashion_mnist", "cifar10", "svhn")
#: The paper's recipe, as :class:`kanmix.train.TrainConfig` options.
PAPER_RECIPE = {"epochs": 10, "batch_size": 128, "lr": 1e-3, "weight_decay": 1e-4,
                "warmup": 0.0, "min_lr_ratio": 1.0, "grad_clip": None, "augment": None}
#: Rows of the tidy sweep table (in this order); curves are in :func:`curves`.
COLUMNS = ["model", "dataset", "bottleneck", "params", "test_mse", "test_mse_01", "psnr", "knn_k",
           "knn_accuracy", "knn_authors", "knn_authors_features", "train_seconds", "images_per_second",
           "epochs", "subset", "seed", "hash"]


def model_name(model: str) -> str:
    """``"kan"`` or ``"kan_ae"`` -> ``"kan_ae"``; an unknown name is an error listing the choices."""
    name = AE_MODELS.get(model, model)
    if name not in AE_MODELS.values():
        raise ValueError(f"unknown autoencoder {model!r}; choose from {', '.join(AE_MODELS)} "
                         f"(or {', '.join(AE_MODELS.values())})")
    return name


@dataclass(frozen=True, kw_only=True)
class AutoencoderRun(runner.Run):
    """An autoencoder (``model``: a short name of :data:`AE_MODELS` or its registry name) with a
    ``bottleneck``-wide latent, trained on ``split`` and scored on its test images with ``knn_k``
    neighbours. ``split`` has no fold: the study scores on the official test split."""

    KIND = "ae"
    TASK = "reconstruct"
    CURVE_ON = "test"
    TRAIN_DEFAULTS = PAPER_RECIPE

    bottleneck: int
    knn_k: int = 3

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "model", model_name(self.model))
        if isinstance(self.bottleneck, np.integer):  # from a numpy range; the model checks its value
            object.__setattr__(self, "bottleneck", int(self.bottleneck))
        checks.integer("knn_k", self.knn_k)
        if self.split.fold is not None:
            raise ValueError("an autoencoder run scores on the test split; its split takes no fold")

    def build_model(self) -> torch.nn.Module:
        return models.build_model(self.model, in_shape=self.split.in_shape, bottleneck=self.bottleneck,
                                  **self.model_kwargs)

    def score(self, model: torch.nn.Module, data_: tuple, fitted: dict) -> dict:
        """Test MSE and PSNR, both KNN accuracies, size and speed, and the per-epoch curve."""
        (x_train, y_train), _, (x_test, y_test) = data_
        run = {"device": self.train.device, "precision": self.train.precision}
        recon = predict(model, x_test, batch_size=512, **run)
        mse = torch.nn.functional.mse_loss(recon, data.to_float(x_test)).item()
        knn = latent_quality(model, x_train, y_train, x_test, y_test, k=self.knn_k, test_reconstructions=recon,
                             authors_features="reconstruction" if self.model == "kan_ae" else "latent", **run)
        return {
            "examples": examples(x_test, recon),
            "metrics": {
                "test_mse": mse, "test_mse_01": mse / 4, "psnr": psnr(mse / 4),
                **knn, "params": models.count_parameters(model),
                "train_seconds": fitted["train_seconds"], "images_per_second": fitted["images_per_second"],
                "n_train": int(x_train.shape[0]), "n_test": int(x_test.shape[0]),
            },
            "curve": [{"epoch": r["epoch"], "train_mse": r["train_loss"], "test_mse": r["val_loss"]}
                      for r in fitted["history"]],
            "train_device": fitted["device"],
        }


def ae_config(model: str, dataset: str, bottleneck: int, *, epochs: int = PAPER_RECIPE["epochs"],
              seed: int = 0, subset: int | None = None, subset_seed: int = 0, test_subset: int | str | None = None,
              knn_k: int = 3, size: int | None = None, model_kwargs: dict | None = None,
              **train_options) -> AutoencoderRun:
    """The config of one autoencoder run, validated; nothing is trained.

    ``subset`` / ``subset_seed`` / ``test_subset`` / ``size`` are the data split's
    (:class:`kanmix.splits.Split`). ``train_options`` override :data:`PAPER_RECIPE` (any
    :class:`kanmix.train.TrainConfig` field, runtime options such as ``device`` included).
    Unless its record exists, the model is built once here so a bad ``bottleneck`` or width
    fails now, with the model's own message, rather than hours into a sweep.
    """
    cfg = AutoencoderRun(
        split=Split(dataset=dataset, size=size, subset=subset, subset_seed=subset_seed, test_subset=test_subset),
        model=model, bottleneck=bottleneck, model_kwargs=dict(model_kwargs or {}), knn_k=knn_k,
        train=TrainConfig.from_dict({**PAPER_RECIPE, "epochs": epochs, **train_options, "seed": seed}))
    if not runner.stored(cfg):  # a stored record proves the architecture was built
        runner.check_model(cfg)
    return cfg


#: Reconstructions of this many test images, evenly spaced over the test split, are kept in every
#: record: the chapter's figure shows them without keeping weights, which for the wide KAN
#: autoencoders would be far over the 20 MB a record may carry.
N_EXAMPLES = 8


def example_indices(n_test: int) -> list[int]:
    """The test images whose reconstructions a record keeps: :data:`N_EXAMPLES` evenly spaced indices."""
    return torch.linspace(0, n_test - 1, min(N_EXAMPLES, n_test)).round().long().tolist()


def examples(test_images: torch.Tensor, reconstructions: torch.Tensor) -> dict:
    """``{"index": [i, ...], "reconstruction_u8": [[...], ...]}``: the example images' reconstructions
    as flattened uint8 pixels (``(x + 1) * 127.5``, clipped), compact enough for a JSON record."""
    index = example_indices(test_images.shape[0])
    u8 = ((reconstructions[index].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return {"index": index, "reconstruction_u8": u8.flatten(1).tolist()}


def cnn_bottleneck(split: Split, requested: int) -> int:
    """The CNN autoencoder's latent size nearest to ``requested`` that its layout allows.

    Its latent is a ``c x h x w`` grid whose ``h x w`` the strides fix (3 x 3 on 28x28 images,
    4 x 4 on 32x32), so it comes in multiples of ``h * w``: the nearest one, at least one.
    """
    grid = math.prod(models.CNNAutoencoder(split.in_shape).latent_shape[1:])
    return max(1, round(requested / grid)) * grid


def psnr(mse_01: float, peak: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB of a mean squared error on a ``[0, peak]`` scale."""
    if mse_01 <= 0:
        return math.inf
    return 10.0 * math.log10(peak**2 / mse_01)


def _flat(x: torch.Tensor) -> np.ndarray:
    return x.reshape(x.shape[0], -1).float().numpy()


def knn_accuracy(train_features, train_labels, test_features, test_labels, *, k: int = 3) -> float:
    """Accuracy of a ``k``-NN classifier fit on ``train_*`` and scored on ``test_*``.

    ``(N_train, D), (N_train,), (N_test, D), (N_test,) -> float``. Pass the same arrays twice
    to get the authors' fit-and-score-on-one-set variant.
    """
    clf = KNeighborsClassifier(n_neighbors=k)
    clf.fit(_flat(torch.as_tensor(train_features)), np.asarray(train_labels))
    return float(clf.score(_flat(torch.as_tensor(test_features)), np.asarray(test_labels)))


def latent_quality(model: torch.nn.Module, train_images: torch.Tensor, train_labels: torch.Tensor,
                   test_images: torch.Tensor, test_labels: torch.Tensor, *, k: int = 3,
                   authors_features: str = "latent", batch_size: int = 512, device=None, precision: str = "fp32",
                   test_reconstructions: torch.Tensor | None = None) -> dict:
    """Both KNN numbers of a trained autoencoder (see the module docstring).

    ``knn_accuracy``: fit on the latents of ``train_images``, scored on those of ``test_images``.
    ``knn_authors``: fit and scored on the test set's ``authors_features``
    (``"latent"`` or ``"reconstruction"``; pass ``test_reconstructions`` to skip a forward pass).
    """
    if authors_features not in ("latent", "reconstruction"):
        raise ValueError(f"authors_features={authors_features!r}; choose from latent, reconstruction")
    run = {"batch_size": batch_size, "device": device, "precision": precision}
    z_train = encode(model, train_images, **run)
    z_test = encode(model, test_images, **run)
    if authors_features == "latent":
        feats = z_test
    else:
        feats = test_reconstructions if test_reconstructions is not None else predict(model, test_images, **run)
    return {
        "knn_accuracy": knn_accuracy(z_train, train_labels, z_test, test_labels, k=k),
        "knn_authors": knn_accuracy(feats, test_labels, feats, test_labels, k=k),
        "knn_authors_features": authors_features,
    }


def row(record: dict) -> dict:
    """One tidy row (the :data:`COLUMNS`) of an ``ae`` record."""
    cfg, m = record["config"], record["metrics"]
    short = {v: k for k, v in AE_MODELS.items()}[cfg["model"]]
    return {"model": short, "dataset": cfg["dataset"], "bottleneck": cfg["bottleneck"], "params": m["params"],
            "test_mse": m["test_mse"], "test_mse_01": m["test_mse_01"], "psnr": m["psnr"], "knn_k": cfg["knn_k"],
            "knn_accuracy": m["knn_accuracy"], "knn_authors": m["knn_authors"],
            "knn_authors_features": m["knn_authors_features"], "train_seconds": m["train_seconds"],
            "images_per_second": m["images_per_second"], "epochs": cfg["train"]["epochs"],
            "subset": cfg["subset"], "seed": cfg["seed"], "hash": record["hash"]}


def curves(records: Iterable[dict]) -> pd.DataFrame:
    """Per-epoch curves of ``ae`` records in long form: model, dataset, bottleneck, epoch, train/test MSE."""
    rows = []
    for rec in records:
        base = row(rec)
        for point in rec["curve"]:
            rows.append({k: base[k] for k in ("model", "dataset", "bottleneck", "seed")} | point)
    return pd.DataFrame(rows)


def sweep(models_: Sequence[str], datasets: Sequence[str], bottlenecks: Sequence[int], *, force: bool = False,
          progress: bool | None = None, device=None, on_record=None, keep_weights: bool = False,
          **config) -> pd.DataFrame:
    """Every (model, dataset, bottleneck) run, as a tidy DataFrame of :data:`COLUMNS`.

    ``config`` goes to :func:`ae_config` (epochs, seed, subset, knn_k, size, model_kwargs,
    training options). All configs are validated before the first run trains. Finished runs
    are read from the results store; ``on_record(record)`` is called after each run.
    ``keep_weights`` is passed to :func:`kanmix.runner.record` (then
    :func:`kanmix.runner.load_trained` gives each model).
    """
    options = runner.runtime_options(config, progress=progress, device=device)
    cfgs = [ae_config(m, d, b, **options) for d in datasets for m in models_ for b in bottlenecks]
    records = []
    for cfg in tqdm(cfgs, desc="ae sweep", unit="run", disable=not progress_enabled(progress) or len(cfgs) < 2):
        rec = runner.record(cfg, force=force, keep_weights=keep_weights)
        records.append(rec)
        if on_record is not None:
            on_record(rec)
    return pd.DataFrame([row(r) for r in records], columns=COLUMNS)


def linear_baselines(split: Split, components: Sequence[int], *, knn_k: int = 3, force: bool = False) -> list[dict]:
    """The mean-image predictor and PCA with each number of ``components``: one record each (``kind="ae_baseline"``).

    The floor every autoencoder must beat, and the classical linear autoencoder of the same
    width: PCA (scikit-learn, randomized SVD with a fixed seed) fit on the training images in
    the models' ``[-1, 1]`` scale, scored on the test images by the same MSE and PSNR as the
    autoencoders, and its codes by the same train-to-test KNN. ``components=0`` is the mean image.
    """
    from sklearn.decomposition import PCA

    out = []
    for k in components:
        checks.integer("components", k, 0)
        cfg = {"kind": "ae_baseline", **split.to_dict(), "method": "pca" if k else "mean", "components": k,
               "knn_k": knn_k}

        def compute(k=k) -> dict:
            (x_train, y_train), _, (x_test, y_test) = load_split(split)
            train_flat, test_flat = _flat(data.to_float(x_train)), _flat(data.to_float(x_test))
            if k == 0:
                recon = np.broadcast_to(train_flat.mean(0), test_flat.shape)
                knn = None
            else:
                pca = PCA(n_components=k, svd_solver="randomized", random_state=0).fit(train_flat)
                codes_test = pca.transform(test_flat)
                recon = pca.inverse_transform(codes_test)
                knn = knn_accuracy(pca.transform(train_flat), y_train, codes_test, y_test, k=knn_k)
            mse = float(np.mean((recon - test_flat) ** 2))
            return {"metrics": {"test_mse": mse, "test_mse_01": mse / 4, "psnr": psnr(mse / 4), "knn_accuracy": knn,
                                "n_train": int(x_train.shape[0]), "n_test": int(x_test.shape[0])}}

        out.append(results.cached_run(cfg, compute, force=force))
    return out
