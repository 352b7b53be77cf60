# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # KAN autoencoders
#
# {ref}`Moradi et al. <ref-kan-ae>` built autoencoders whose outer layers are KANs: the encoder
# is a KAN layer, a ReLU and a dense layer down to the bottleneck, the decoder the mirror
# image. They compared them with convolutional autoencoders on MNIST, SVHN and CIFAR-10,
# trained for 10 epochs with AdamW (learning rate $10^{-3}$, weight decay $10^{-4}$) on the
# mean squared error, with bottlenecks of 150 (MNIST) and 500 (CIFAR-10, SVHN), and judged
# the latent codes by a k-nearest-neighbour classifier.
#
# This chapter sweeps the bottleneck width over two orders of magnitude for three
# autoencoders trained with that recipe — the KAN autoencoder, the same network with its KAN
# layers replaced by dense ones (the MLP autoencoder) and the authors' convolutional one — and
# puts two floors under them: predicting the mean training image, and PCA with as many
# components as the bottleneck, the classical linear autoencoder. SVHN is on no package
# registry this project can reach; to include it, put `train_32x32.mat` and `test_32x32.mat`
# in a directory, set `KANMIX_SVHN_DIR` to it and add `svhn` to `datasets`.

# %% tags=["parameters"]
profile = "smoke"  # injected by `python -m kanmix.book run --profile P`
datasets = ["mnist"]
models = ["kan", "mlp", "cnn"]
# Bottleneck widths asked for; the CNN gets the nearest latent its layout allows.
bottlenecks = {"mnist": [4, 16], "fashion_mnist": [4, 16], "cifar10": [8, 32], "svhn": [8, 32]}
# Hidden width of the KAN and MLP autoencoders, per dataset.
hidden = {"mnist": 32, "fashion_mnist": 32, "cifar10": 32, "svhn": 32}
epochs = 1  # the paper trained for 10
precision = "auto"  # fp32, bf16 (autocast) or auto
subset: int | None = 500  # training images per dataset, stratified; None for the whole split
test_subset: int | str | None = 500  # test images scored; None for the proportional default, "all" for 10 000
keep_weights = {"mnist": {"kan": 16}}  # dataset -> model -> bottleneck: the runs whose weights chapter 5 loads
require_beat_mean = False  # a model no better than the mean image stops the chapter (on in the cpu profile)
seed = 0
workers = 1  # runs trained at a time, in worker processes that share the CPU threads

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from kanmix import data, page, report, splits, studies

report.setup()
NAMES = {"model": "model", "requested": "bottleneck asked", "bottleneck": "latent size", "params": "parameters",
         "test_mse": "test MSE", "psnr": "PSNR", "knn_accuracy": "KNN accuracy (train → test)",
         "knn_authors": "KNN accuracy (authors' protocol)", "knn_authors_features": "authors' KNN features",
         "train_seconds": "training time", "knn_per_minute": "KNN accuracy per training minute",
         "components": "components", "method": "baseline", "gap": "authors − ours"}
UNITS = {"psnr": "dB", "train_seconds": "s", "test_mse": "[-1, 1] scale"}
LABELS = {"kan": "KAN AE", "mlp": "MLP AE", "cnn": "CNN AE"}

# %% [markdown]
# ## The sweep
#
# `kanmix.studies.autoencoders` trains every (dataset, model, bottleneck) once — or reads it
# back from the results store — and computes the two baselines. Every record also keeps the
# reconstructions of eight test images, so the figures below need no stored weights.
#
# Two choices are ours. The paper does not state the **hidden width** between the pixels and
# the bottleneck; we set it per dataset (the `hidden` parameter). Where it is at least the widest
# bottleneck swept, the bottleneck is always the narrowest layer; where it is narrower, the
# wider latents are fed by fewer hidden units than they have, so they can carry at most `hidden`
# dimensions (the sentence under the table says where that happens). A KAN layer of 3,072
# inputs costs ten dense layers of that size, which is what keeps the hidden layer narrow on the
# 32×32 colour images. And the **CNN**'s latent is a $c \times h \times w$ grid whose
# $h \times w$ its strides fix, so it gets the nearest size its layout allows; the tables show
# the size each model actually had.

# %%
study = studies.autoencoders_from_chapter(dict(
    datasets=datasets, models=models, bottlenecks=bottlenecks, hidden=hidden, epochs=epochs, precision=precision,
    seed=seed, subset=subset, test_subset=test_subset, keep_weights=keep_weights,
    require_beat_mean=require_beat_mean, workers=workers))
table = study.table.assign(model=study.table.model.map(LABELS))
table["knn_per_minute"] = table["knn_accuracy"] / (table["train_seconds"] / 60)
records = [r for r in study.records if r["kind"] == "ae"]
baseline_records = [r for r in study.records if r["kind"] == "ae_baseline"]
recipe = records[0]["config"]["train"]
display(Markdown(
    f"Every autoencoder trained for {recipe['epochs']} epochs with AdamW (learning rate {recipe['lr']:g}, weight "
    f"decay {recipe['weight_decay']:g}, batch {recipe['batch_size']}, constant learning rate, {recipe['precision']}) "
    f"on the mean squared error, on {records[0]['metrics']['n_train']:,} training images, and was scored on "
    f"{records[0]['metrics']['n_test']:,} test images. Hidden width of the KAN and MLP autoencoders: "
    + report.listing(f"{hidden[d]} on {data.info(d).title}" for d in datasets) + ". "
    + " ".join(f"On {data.info(d).title} the bottlenecks wider than the hidden layer ("
               + report.listing(str(b) for b in bottlenecks[d] if b > hidden[d]) + f") can carry at most {hidden[d]} "
               "dimensions." for d in datasets if max(bottlenecks[d]) > hidden[d])
    + f" Recomputing this chapter from an empty results store: {report.recompute_time(study.records, workers=workers)}."))

for dataset in datasets:
    part = table[table.dataset == dataset].set_index(["model", "requested"])[
        ["bottleneck", "params", "test_mse", "psnr", "knn_accuracy", "train_seconds", "knn_per_minute"]]
    display(page.table(part, f"{data.info(dataset).title}: the autoencoders by bottleneck. MSE in the models' [-1, 1] "
                       "input space; PSNR on the [0, 1] pixel scale; KNN (k = 3) fit on the training images' codes "
                       "and scored on the test images' codes",
                       [r for r in records if r["config"]["dataset"] == dataset], profile, names=NAMES, units=UNITS))

# %% [markdown]
# ## The floors: the mean image and PCA
#
# An autoencoder that cannot beat predicting the mean training image for every input has
# learned nothing; PCA with $k$ components is the best *linear* autoencoder with a
# $k$-dimensional code. The PCA codes are scored by the same train-to-test KNN.

# %%
base = study.baselines.assign(dataset=study.baselines.dataset.map(lambda d: data.info(d).title))
display(page.table(base.set_index(["dataset", "method", "components"])[["test_mse", "psnr", "knn_accuracy"]],
                   "The mean-image predictor (0 components) and PCA at every bottleneck width of the sweep",
                   baseline_records, profile, names=NAMES, units=UNITS))
beats = table["beats_mean"]
display(Markdown(
    f"{int(beats.sum())} of the {len(table)} trained autoencoders have a lower test MSE than the mean-image "
    "predictor" + (" — all of them." if beats.all() else
                   ": the ones that do not are " + report.listing(
                       f"the {r.model} on {data.info(r.dataset).title} at {r.bottleneck}" for r in table[~beats].itertuples())
                   + ". They are shown, but a model that loses to the mean image has not trained; the `cpu` profile "
                     "stops on one.")))

# %% tags=["hide-input", "remove-output"]
fig, axes = plt.subplots(2, len(datasets), figsize=(5.2 * len(datasets), 6), squeeze=False, sharex="col")
for c, dataset in enumerate(datasets):
    part = table[table.dataset == dataset]
    pca = study.baselines[(study.baselines.dataset == dataset) & (study.baselines.components > 0)]
    mean_psnr = study.baselines[(study.baselines.dataset == dataset) & (study.baselines.components == 0)].psnr.iloc[0]
    for label, rows in part.groupby("model", sort=False):
        rows = rows.sort_values("bottleneck")
        axes[0, c].plot(rows.bottleneck, rows.psnr, marker="o", label=label)
        axes[1, c].plot(rows.bottleneck, rows.knn_accuracy, marker="o", label=label)
    axes[0, c].plot(pca.components, pca.psnr, ls="--", color="0.4", marker="x", label="PCA")
    axes[0, c].axhline(mean_psnr, ls=":", color="0.5", label="mean image")
    axes[1, c].plot(pca.components, pca.knn_accuracy, ls="--", color="0.4", marker="x", label="PCA")
    axes[0, c].set_title(data.info(dataset).title, fontsize=10)
    axes[0, c].set_ylabel("test PSNR (dB)")
    axes[1, c].set_ylabel("KNN accuracy on codes")
    axes[1, c].set_xlabel("latent size (log)")
    axes[1, c].set_xscale("log")
axes[0, 0].legend(frameon=False, fontsize=7)
fig.tight_layout()
page.figure("ae_sweep", fig, "Reconstruction quality and latent-space KNN accuracy against the latent size, with "
            "PCA at the same size and the mean-image predictor", study.records, profile)

# %% [markdown]
# ```{glue:figure} ae_sweep
# :name: "fig-ae-sweep"
#
# {glue:md}`ae_sweep_caption`
# ```
#
# ## What the models cost

# %% tags=["hide-input", "remove-output"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for label, rows in table.groupby("model", sort=False):
    axes[0].scatter(rows.train_seconds, rows.psnr, label=label, s=18)
    axes[1].scatter(rows.params, rows.psnr, label=label, s=18)
for ax, xlabel in zip(axes, ("training time per run (s, log)", "parameters (log)")):
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test PSNR (dB)")
axes[0].legend(frameon=False, fontsize=8)
fig.tight_layout()
page.figure("ae_cost", fig, "Test PSNR against training time and parameter count, every run of every dataset",
            records, profile)

# %% [markdown]
# ```{glue:figure} ae_cost
# :name: "fig-ae-cost"
#
# {glue:md}`ae_cost_caption`
# ```

# %% [markdown]
# ## Two ways to score a latent space
#
# `KNN accuracy (train → test)` fits a 3-nearest-neighbour classifier on the *training*
# images' codes and scores it on the *test* images' codes: how well the codes separate
# classes for images the model has not seen. The paper's protocol fits and scores on the
# *same* test set, so every test point is its own nearest neighbour and one of its three
# votes is always right. For the KAN autoencoder the authors' code also scores the
# *reconstructions* (784 or 3,072 numbers per image) rather than the codes, so for that row
# the two columns do not even measure the same space; the column `authors' KNN features`
# says which space each row's authors' number uses.

# %%
titled = table.assign(dataset=table.dataset.map(lambda d: data.info(d).title))
knn = titled.set_index(["dataset", "model", "bottleneck"])[["knn_accuracy", "knn_authors", "knn_authors_features"]]
knn.insert(2, "gap", knn["knn_authors"] - knn["knn_accuracy"])
display(page.table(knn, "Latent-space KNN accuracy (k = 3): ours against the authors' protocol", records, profile,
                   names=NAMES))
by_space = knn.groupby("knn_authors_features")["gap"].agg(["mean", "min", "max", "count"])
display(Markdown("The authors' protocol against ours, by the space the authors' number is computed in: " + "; ".join(
    f"on {space} ({int(r['count'])} runs) it reads {report.signed(r['mean'])} on average (from {report.signed(r['min'])} "
    f"to {report.signed(r['max'])})" for space, r in by_space.iterrows()) + "."))

# %% [markdown]
# ## Reconstructions
#
# The eight test images every record keeps, and each model's reconstruction of them, at each
# dataset's widest bottleneck.

# %% tags=["hide-input", "remove-output"]
rows, shown = [], []
for dataset in datasets:
    part = [r for r in records if r["config"]["dataset"] == dataset]
    _, _, (x_test, _) = splits.load_split(splits.Split(dataset=dataset, subset=subset, test_subset=test_subset))
    index = part[0]["examples"]["index"]
    rows.append((f"{data.info(dataset).title}\noriginal", x_test[index].numpy()))
    for m in models:
        rec = max((r for r in part if r["config"]["model"] == f"{m}_ae"), key=lambda r: r["config"]["bottleneck"])
        pixels = np.array(rec["examples"]["reconstruction_u8"], dtype=np.uint8).reshape(len(index), *x_test.shape[1:])
        rows.append((f"{LABELS[m]} ({rec['config']['bottleneck']})", pixels))
        shown.append(rec)
n_cols = max(len(imgs) for _, imgs in rows)
fig, axes = plt.subplots(len(rows), n_cols, figsize=(1.15 * n_cols, 1.2 * len(rows)), squeeze=False)
for r, (label, imgs) in enumerate(rows):
    for c in range(n_cols):
        img = np.transpose(imgs[c], (1, 2, 0)).squeeze()
        axes[r, c].imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
        axes[r, c].set_xticks([])
        axes[r, c].set_yticks([])
    axes[r, 0].set_ylabel(label, fontsize=7)
fig.tight_layout()
page.figure("recon", fig, "Test images and their reconstructions by each model at its widest bottleneck (latent "
            "size in brackets)", shown, profile)

# %% [markdown]
# ```{glue:figure} recon
# :name: "fig-recon"
#
# {glue:md}`recon_caption`
# ```

# %% [markdown]
# ## Has training converged?

# %%
curves = study.curves
final = []
for (dataset, model, width), part in curves.groupby(["dataset", "model", "bottleneck"], sort=False):
    mse = part.sort_values("epoch")["test_mse"].tolist()
    if len(mse) > 1:
        final.append((dataset, LABELS[model], width, (mse[-1] - mse[-2]) / mse[-2]))
if final:
    worst = max(final, key=lambda f: f[3])
    still = [f for f in final if f[3] < -0.01]
    display(Markdown(
        f"Over the last epoch the test MSE changed by between {report.signed(100 * min(f[3] for f in final), 2)}% and "
        f"{report.signed(100 * worst[3], 2)}% (relative) across the {len(final)} runs; "
        + (f"{len(still)} were still improving by more than 1%: " + report.listing(
            f"{m} on {data.info(d).title} at {w}" for d, m, w, _ in still) if still else
           "none was still improving by more than 1%") + "."))
else:
    display(Markdown("Each run trained for one epoch only: convergence cannot be judged from its curve."))

# %% [markdown]
# ## What the numbers say

# %%
points = []
pivot = table.pivot_table(index=["dataset", "requested"], columns="model", values="test_mse")
for dataset in datasets:
    part = pivot.loc[dataset]
    title = data.info(dataset).title
    if {"KAN AE", "MLP AE"} <= set(part.columns):
        wins = int((part["KAN AE"] < part["MLP AE"]).sum())
        points.append(f"On {title} the KAN autoencoder reconstructs better than the MLP autoencoder of the same shape "
                      f"at {wins} of {len(part)} bottleneck widths (lower test MSE).")
    pca = study.baselines[(study.baselines.dataset == dataset) & (study.baselines.components > 0)].set_index("components")
    rows = table[table.dataset == dataset]
    beat_pca = {label: sum(row.test_mse < pca.loc[row.requested, "test_mse"] for row in r.itertuples())
                for label, r in rows.groupby("model", sort=False)}
    points.append(f"Against PCA with as many components as the bottleneck asked for, on {title}: " + report.listing(
        f"the {label} beats it at {n} of {len(rows[rows.model == label])} widths" for label, n in beat_pca.items()) + ".")
cost = table.groupby("model", sort=False)[["params", "train_seconds"]].median()
if {"KAN AE", "MLP AE"} <= set(cost.index):
    points.append(f"Cost: the KAN autoencoder has a median of {report.fmt(cost.loc['KAN AE', 'params'] / cost.loc['MLP AE', 'params'], 3)}× "
                  f"the MLP autoencoder's parameters and trains {report.fmt(cost.loc['KAN AE', 'train_seconds'] / cost.loc['MLP AE', 'train_seconds'], 3)}× "
                  "as long per run (medians over the sweep).")
points.append(f"{int(beats.sum())} of {len(table)} trained autoencoders beat the mean-image predictor.")
display(Markdown("\n".join(f"- {p}" for p in points)))
