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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.neighbors import KNeighborsClassifier
from tqdm import tqdm

from kanmix import checks, data, models, results, runner
from kanmix.runtime import progress_enabled
from kanmix.splits import Split, load_split
from kanmix.train import RECONSTRUCT, TrainConfig, encode, predict

#: Short study names -> registry names of :func:`kanmix.models.build_model`.
AE_MODELS = {"kan": "kan_ae", "cnn": "cnn_ae", "mlp": "mlp_ae", "kan1": "kan_single_ae"}
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
    OBJECTIVE = RECONSTRUCT
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
                             authors_features="reconstruction" if self.model in ("kan_ae", "kan_single_ae")
                             else "latent", **run)
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
              knn_k: int = 3, size: int | None = None, model_kwargs: dict | None = None, build: bool = True,
              **train_options) -> AutoencoderRun:
    """The config of one autoencoder run, validated; nothing is trained.

    ``subset`` / ``subset_seed`` / ``test_subset`` / ``size`` are the data split's
    (:class:`kanmix.splits.Split`). ``train_options`` override :data:`PAPER_RECIPE` (any
    :class:`kanmix.train.TrainConfig` field, runtime options such as ``device`` included).
    Unless its record exists (or ``build`` is false), the model is built once here so a bad
    ``bottleneck`` or width fails now, with the model's own message, rather than hours into a sweep.
    """
    cfg = AutoencoderRun(
        split=Split(dataset=dataset, size=size, subset=subset, subset_seed=subset_seed, test_subset=test_subset),
        model=model, bottleneck=bottleneck, model_kwargs=dict(model_kwargs or {}), knn_k=knn_k,
        train=TrainConfig.from_dict({**PAPER_RECIPE, "epochs": epochs, **train_options, "seed": seed}))
    if build and not runner.stored(cfg):  # a stored record proves the architecture was built
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


def baseline_config(split: Split, components: int, *, knn_k: int = 3) -> dict:
    """The results-store config of one :func:`linear_baselines` record (``components=0``: the mean image)."""
    checks.integer("components", components, 0)
    return {"kind": "ae_baseline", **split.to_dict(), "method": "pca" if components else "mean",
            "components": components, "knn_k": knn_k}


def linear_baselines(split: Split, components: Sequence[int], *, knn_k: int = 3, force: bool = False,
                     available_only: bool = False) -> list[dict]:
    """The mean-image predictor and PCA with each number of ``components``: one record each (``kind="ae_baseline"``).

    The floor every autoencoder must beat, and the classical linear autoencoder of the same
    width: PCA (scikit-learn, randomized SVD with a fixed seed) fit on the training images in
    the models' ``[-1, 1]`` scale, scored on the test images by the same MSE and PSNR as the
    autoencoders, and its codes by the same train-to-test KNN. ``components=0`` is the mean image.
    ``available_only`` computes nothing: only the records already stored come back.
    """
    from sklearn.decomposition import PCA

    out = []
    for k in components:
        cfg = baseline_config(split, k, knn_k=knn_k)
        if available_only and not results.record_path(cfg).exists():
            continue

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


# ----------------------------------------------------------------------------- chapter 4's tables

#: The columns of a study's ``runs`` that make runs seeds of one setting: same data, length, latent size and model.
SEED_SETTING = ["dataset", "n_train", "epochs", "bottleneck", "key"]

#: What a reader calls each autoencoder (by its short name, :data:`AE_MODELS`).
LABELS = {"kan": "KAN AE", "mlp": "MLP AE", "cnn": "CNN AE", "kan1": "KAN AE (authors' code)",
          "mlp_matched": "MLP AE (param-matched)"}


def _title(dataset: str) -> str:
    return data.info(dataset).title


def chapter_table(table: pd.DataFrame) -> pd.DataFrame:
    """The study's table (:attr:`kanmix.studies.AutoencoderStudy.table`) as chapter 4 shows it: each model by its
    :data:`LABELS`."""
    return table.assign(model=table.model.map(LABELS))


def sweep_table(table: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """One dataset's runs of :func:`chapter_table` by (model, bottleneck asked for): the latent size it got,
    parameters, test MSE, PSNR, KNN accuracy and training seconds."""
    return table[table.dataset == dataset].set_index(["model", "requested"])[
        ["bottleneck", "params", "test_mse", "psnr", "knn_accuracy", "train_seconds"]]


def baselines_table(baselines: pd.DataFrame) -> pd.DataFrame:
    """The study's baselines (:attr:`kanmix.studies.AutoencoderStudy.baselines`) by (dataset title, method,
    components): test MSE, PSNR and KNN accuracy."""
    titled = baselines.assign(dataset=baselines.dataset.map(_title))
    return titled.set_index(["dataset", "method", "components"])[["test_mse", "psnr", "knn_accuracy"]]


def knn_table(table: pd.DataFrame) -> pd.DataFrame:
    """Both KNN accuracies of every run of :func:`chapter_table` by (dataset title, model, latent size), with
    ``gap``, the authors' protocol minus ours, and the space the authors' number is computed in."""
    titled = table.assign(dataset=table.dataset.map(_title))
    knn = titled.set_index(["dataset", "model", "bottleneck"])[["knn_accuracy", "knn_authors", "knn_authors_features"]]
    knn.insert(2, "gap", knn["knn_authors"] - knn["knn_accuracy"])
    return knn


def reconstruction_rows(records: Sequence[dict]) -> tuple[list[tuple[str, np.ndarray]], list[dict]]:
    """The example test images the ``ae`` ``records`` keep (:func:`examples`) and each model's reconstructions
    of them at its widest bottleneck: ``([(label, images (n, C, H, W) uint8), ...], records shown)``.

    Per dataset, in the records' order: the originals (labelled ``"<title>\\noriginal"``, read
    from the records' own test split), then one row per model (``"<label> (<latent size>)"``).
    """
    from kanmix.splits import KEYS

    short = {v: k for k, v in AE_MODELS.items()}
    rows, shown = [], []
    for dataset in dict.fromkeys(r["config"]["dataset"] for r in records):
        part = [r for r in records if r["config"]["dataset"] == dataset]
        _, _, (x_test, _) = load_split(Split.from_dict({k: part[0]["config"][k] for k in KEYS}))
        index = part[0]["examples"]["index"]
        rows.append((f"{_title(dataset)}\noriginal", x_test[index].numpy()))
        for model in dict.fromkeys(r["config"]["model"] for r in part):
            rec = max((r for r in part if r["config"]["model"] == model), key=lambda r: r["config"]["bottleneck"])
            pixels = np.array(rec["examples"]["reconstruction_u8"], dtype=np.uint8)
            pixels = pixels.reshape(len(index), *x_test.shape[1:])
            rows.append((f"{LABELS[short[model]]} ({rec['config']['bottleneck']})", pixels))
            shown.append(rec)
    return rows, shown


def last_epoch_changes(curves_: pd.DataFrame) -> list[tuple[str, str, int, float]]:
    """Per run of :func:`curves` with at least two epochs: ``(dataset, model label, bottleneck, change)``, where
    ``change`` is the relative change of the test MSE over the last epoch (negative: still improving)."""
    out = []
    for (dataset, model, width), part in curves_.groupby(["dataset", "model", "bottleneck"], sort=False):
        mse = part.sort_values("epoch")["test_mse"].tolist()
        if len(mse) > 1:
            out.append((dataset, LABELS[model], width, (mse[-1] - mse[-2]) / mse[-2]))
    return out


# ----------------------------------------------------------------------------- chapter 4's controls
# Equal latent sizes, matched parameter counts, seeds and a converged arm (issue 26): the run
# rows are :attr:`kanmix.studies.AutoencoderStudy.runs` (one per run, ``key`` the model and its
# variant, ``n_train`` the training images), the PCA rows its ``all_baselines``.

#: Chapter 4's pairs of models, each compared where both ran at the same latent size, training set and length.
PAIRS = (("kan", "mlp"), ("kan", "mlp_matched"), ("kan", "cnn"), ("kan", "kan1"))
#: The two scores of a code, and whether higher is better.
SCORES = {"test_mse": False, "knn_accuracy": True}
#: A run has converged, by :func:`plateau_epoch`, once an epoch gains less than this (relative test MSE).
PLATEAU = 0.005


def label(key: str) -> str:
    """The reader's name of a model ``key`` (:data:`LABELS`), ``"PCA"`` for ``"pca"``."""
    return "PCA" if key == "pca" else LABELS[key]


def matched_mlp_hidden(split: Split, hidden: int, bottleneck: int) -> int:
    """The hidden width of the MLP autoencoder whose parameter count is nearest the KAN autoencoder's of ``hidden``
    and ``bottleneck`` on ``split`` (:func:`kanmix.models.param_matched`, within 10%); nothing is built."""
    shape = split.in_shape
    target = models.parameter_count("kan_ae", in_shape=shape, hidden=hidden, bottleneck=bottleneck)
    matched = models.param_matched("mlp_ae", {"hidden": 1, "bottleneck": bottleneck}, target, in_shape=shape,
                                   widths=("hidden",), most=max(64, 4 * target // math.prod(shape)))
    return matched["hidden"]


def widened_cnn(split: Split, bottleneck: int, target: int) -> dict:
    """The CNN autoencoder's ``model_kwargs`` with every channel count but the latent's multiplied by the integer
    whose parameter count is nearest ``target`` (the latent keeps ``bottleneck``); nothing is built."""
    with torch.device("meta"):
        base = [m.out_channels for m in models.CNNAutoencoder(split.in_shape).encoder
                if isinstance(m, torch.nn.Conv2d)]

    def kwargs(m: int) -> dict:
        return {"channels": [c * m for c in base[:-1]] + base[-1:]}

    def params(m: int) -> int:
        return models.parameter_count("cnn_ae", in_shape=split.in_shape, bottleneck=bottleneck, **kwargs(m))

    lo, hi = 1, 2
    while params(hi) < target:  # the count grows with m: bracket the target, then bisect
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if params(mid) < target else (lo, mid)
    return kwargs(min((lo, hi), key=lambda m: abs(params(m) - target)))


def plateau_epoch(curve: Sequence[Mapping], threshold: float = PLATEAU) -> int | None:
    """The first epoch whose test MSE is less than ``threshold`` (relative) below the epoch before's, from a
    record's ``curve``; ``None`` if every epoch gained more (or there is only one)."""
    mse = [p["test_mse"] for p in sorted(curve, key=lambda p: p["epoch"])]
    epochs = sorted(p["epoch"] for p in curve)
    for e, before, now in zip(epochs[1:], mse, mse[1:]):
        if (before - now) / before < threshold:
            return e
    return None


def _pca_at(baselines: pd.DataFrame, dataset: str, n_train: int, latent: int) -> pd.Series | None:
    rows = baselines[(baselines.dataset == dataset) & (baselines.n_train == n_train)
                     & (baselines.components == latent) & (baselines.method == "pca")]
    return rows.iloc[0] if len(rows) else None


def matched_comparisons(runs: pd.DataFrame, baselines: pd.DataFrame) -> pd.DataFrame:
    """Every comparison chapter 4 makes, each between equal latent sizes on the same training images and length.

    For every (dataset, training images, epochs, latent size): each pair of :data:`PAIRS` that both ran there,
    and every model against PCA of that size on the same training images, on both :data:`SCORES`. Seeds are
    paired (PCA has none: each seed meets the same PCA). One row per comparison: ``a``, ``b`` (model keys,
    ``"pca"``), ``metric``, ``seeds``, ``a_value``/``b_value`` (means), ``diff`` (mean of a − b), ``sd`` (of the
    paired differences, NaN for one seed), the 95% t-interval ``ci_low``/``ci_high``
    (:func:`kanmix.stats.mean_ci`), ``better`` (the key with the better mean, ``""`` if equal) and
    ``separated`` (the interval excludes 0; ``None`` for one seed: no noise band), and ``paper``: whether ``a``'s
    runs there belong to the paper-width arm (their ``arms`` name ``paper`` or ``converged``).
    """
    from kanmix.stats import mean_ci

    rows = []
    keys = ["dataset", "n_train", "epochs", "bottleneck"]
    for (dataset, n_train, epochs, latent), part in runs.groupby(keys, sort=False):
        by_key = {k: g.set_index("seed") for k, g in part.groupby("key", sort=False)}
        paper = {k: bool(g.arms.str.contains("paper|converged").any()) for k, g in by_key.items()}
        pca = _pca_at(baselines, dataset, n_train, latent)
        pairs = [(a, b) for a, b in PAIRS if a in by_key and b in by_key]
        pairs += [(k, "pca") for k in by_key if pca is not None]
        for a, b in pairs:
            for metric, higher in SCORES.items():
                va = by_key[a][metric].astype(float)
                vb = pd.Series(float(pca[metric]), index=va.index) if b == "pca" else by_key[b][metric].astype(float)
                seeds = va.index.intersection(vb.index)
                if not len(seeds):  # no seed of one met a seed of the other
                    continue
                diff = (va[seeds] - vb[seeds]).to_numpy()
                mean, sd, lo, hi = mean_ci(diff)
                better = "" if mean == 0 else a if (mean > 0) == higher else b
                rows.append({"dataset": dataset, "n_train": n_train, "epochs": epochs, "latent": latent, "a": a,
                             "b": b, "metric": metric, "seeds": len(seeds), "a_value": float(va[seeds].mean()),
                             "b_value": float(vb[seeds].mean()), "diff": mean, "sd": sd, "ci_low": lo, "ci_high": hi,
                             "better": better, "separated": None if len(seeds) < 2 else bool(lo > 0 or hi < 0),
                             "paper": paper[a]})
    columns = ["dataset", "n_train", "epochs", "latent", "a", "b", "metric", "seeds", "a_value", "b_value", "diff",
               "sd", "ci_low", "ci_high", "better", "separated", "paper"]
    return pd.DataFrame(rows, columns=columns)


def verdict(row) -> str:
    """One comparison of :func:`matched_comparisons` in a table cell: the better model and how sure."""
    if not row.better:
        return "equal"
    if row.separated is None:
        return f"{label(row.better)}, 1 seed"
    return f"{label(row.better)}, {'beyond' if row.separated else 'within'} the seeds' noise"


def comparison_table(comparisons: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """One dataset's :func:`matched_comparisons` as chapter 4 shows them: by (training images, epochs, latent size,
    pair), the seeds, and per score the mean difference a − b and the :func:`verdict` (which says whether it is
    beyond the seeds' noise)."""
    part = comparisons[comparisons.dataset == dataset].assign(
        pair=lambda c: [f"{label(a)} − {label(b)}" for a, b in zip(c.a, c.b)],
        verdict=lambda c: [verdict(r) for r in c.itertuples()])
    index = ["n_train", "epochs", "latent", "pair"]
    out = part.groupby(index, sort=False)[["seeds"]].first()
    for metric, name in (("test_mse", "mse"), ("knn_accuracy", "knn")):
        scores = part[part.metric == metric].set_index(index)
        for col, to in (("diff", "diff"), ("verdict", "verdict")):
            out[f"{name}_{to}"] = scores[col].reindex(out.index)
    return out


def paper_width_table(runs: pd.DataFrame, baselines: pd.DataFrame) -> pd.DataFrame:
    """The paper-width runs (``arms`` naming ``paper`` or ``converged``) by (dataset title, training images, model,
    latent size, epochs): hidden width, parameters, seeds, test MSE and KNN accuracy (mean and sd over seeds), the
    :func:`plateau_epoch` of the first seed, mean training seconds, and PCA of that size on the same images."""
    part = runs[runs.arms.str.contains("paper|converged")]
    rows = []
    for (dataset, n_train, key, latent, epochs), g in part.groupby(
            ["dataset", "n_train", "key", "bottleneck", "epochs"], sort=False):
        pca = _pca_at(baselines, dataset, n_train, latent)
        rows.append({"dataset": _title(dataset), "n_train": n_train, "model": label(key), "latent": latent,
                     "epochs": epochs, "hidden": g.hidden.iloc[0], "params": g.params.iloc[0], "seeds": len(g),
                     "test_mse": g.test_mse.mean(), "mse_sd": g.test_mse.std(), "knn_accuracy": g.knn_accuracy.mean(),
                     "knn_sd": g.knn_accuracy.std(),
                     "plateau_epoch": pd.to_numeric(g.sort_values("seed").plateau_epoch).iloc[0],
                     "train_seconds": g.train_seconds.mean(),
                     "pca_mse": math.nan if pca is None else pca.test_mse,
                     "pca_knn": math.nan if pca is None else pca.knn_accuracy})
    table = pd.DataFrame(rows)
    return table.set_index(["dataset", "n_train", "model", "latent", "epochs"]) if len(table) else table


def _mean_sd(mean: float, sd: float, precision: int = 4) -> str:
    """A mean over seeds in one table cell, with its sd where there are several seeds: ``"0.01380 ± 0.00021"``."""
    from kanmix.report import fmt

    return fmt(mean, precision) + ("" if pd.isna(sd) else f" ± {fmt(sd, 2)}")


def paper_width_shown(paper: pd.DataFrame) -> pd.DataFrame:
    """:func:`paper_width_table` as chapter 4 shows it, narrow enough for the book's column: by (dataset title,
    model, latent size, epochs), the test MSE and the KNN accuracy (in percent) each as one cell ``mean ± sd``
    over the seeds (the mean alone for one seed), and PCA of the same size on the same images beside each. The
    training images are the caption's (:func:`training_images_note`); the plateau epoch is the convergence
    section's."""
    if not len(paper):
        return paper
    frame = paper.reset_index()
    shown = pd.DataFrame({
        "dataset": frame.dataset, "model": frame.model, "latent": frame.latent, "epochs": frame.epochs,
        "test_mse": [_mean_sd(m, sd) for m, sd in zip(frame.test_mse, frame.mse_sd)], "pca_mse": frame.pca_mse,
        "knn_accuracy": [_mean_sd(100 * m, 100 * sd) for m, sd in zip(frame.knn_accuracy, frame.knn_sd)],
        "pca_knn": 100 * frame.pca_knn})
    return shown.set_index(["dataset", "model", "latent", "epochs"])


def training_images_note(paper: pd.DataFrame) -> str:
    """How many training images :func:`paper_width_table`'s runs had, for its caption: ``"; training images:
    MNIST 60,000, CIFAR-10 20,000"`` (empty for no run)."""
    if not len(paper):
        return ""
    frame = paper.reset_index()
    pairs = dict.fromkeys(zip(frame.dataset, frame.n_train))
    return "; training images: " + ", ".join(f"{title} {int(n):,}" for title, n in pairs)


def paper_width_costs_shown(costs: pd.DataFrame) -> pd.DataFrame:
    """:func:`paper_width_costs` as chapter 4 shows it: latent size, encoder channels, parameters, training compute
    in TFLOP (``tflops``) and its multiple of the KAN autoencoder's; the images seen are the caption's."""
    return costs.assign(tflops=costs.flops / 1e12)[["latent", "channels", "params", "tflops", "flops_vs_kan"]]


def paper_width_costs(runs: Sequence[tuple[str, AutoencoderRun]]) -> pd.DataFrame:
    """Parameters and training FLOPs (:func:`kanmix.flops.training_flops`: the run's epochs over its training
    images) of each ``(key, config)`` of ``runs`` (one per model and dataset), and of the CNN autoencoder widened
    to the KAN autoencoder's parameter count at the CNN's latent size (:func:`widened_cnn`), which no run trains.
    By (dataset title, model), with the encoder's channels where it is a CNN and each model's FLOPs over the KAN
    autoencoder's of the same dataset."""
    from kanmix.flops import training_flops, training_images

    def cost(dataset: str, key: str, net: torch.nn.Module, cfg: AutoencoderRun) -> dict:
        images = training_images(cfg.split) * cfg.train.epochs
        convs = [m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
        return {"dataset": dataset, "model": key, "latent": cfg.bottleneck, "channels": str(convs) if convs else "",
                "params": models.count_parameters(net), "images": images,
                "flops": float(training_flops(net, cfg.split.in_shape, images))}

    rows = []
    for dataset in dict.fromkeys(cfg.split.dataset for _, cfg in runs):
        mine = {key: cfg for key, cfg in runs if cfg.split.dataset == dataset}
        rows += [cost(dataset, label(key), cfg.build_model(), cfg) for key, cfg in mine.items()]
        if "kan" in mine and "cnn" in mine:
            cnn, target = mine["cnn"], next(r["params"] for r in rows if r["model"] == LABELS["kan"]
                                           and r["dataset"] == dataset)
            wide = models.build_model("cnn_ae", in_shape=cnn.split.in_shape, bottleneck=cnn.bottleneck,
                                      **widened_cnn(cnn.split, cnn.bottleneck, target))
            rows.append(cost(dataset, "CNN AE (widened)", wide, cnn))
    table = pd.DataFrame(rows)
    kan = table[table.model == LABELS["kan"]].set_index("dataset").flops
    table["flops_vs_kan"] = table.flops / table.dataset.map(kan)
    return table.assign(dataset=table.dataset.map(_title)).set_index(["dataset", "model"])
