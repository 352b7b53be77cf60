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
# ```{glue:md} ch4_finding
# :format: myst
# ```
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
# components as the bottleneck, the classical linear autoencoder. A sweep alone confounds
# three things: the KAN autoencoder is several times the size of the MLP one of the same shape,
# the CNN's latent is not the size asked for, and one seed trained for ten epochs gives no noise
# band. So the chapter adds controls: every model also at the latent sizes the CNN actually has,
# an MLP autoencoder matched to the KAN one in parameters, three seeds at the paper's widths and
# at one narrow width, a longer arm, and the authors' own code variant. SVHN is on no package
# registry this project can reach; to include it, put `train_32x32.mat` and `test_32x32.mat` in
# a directory, set `KANMIX_SVHN_DIR` to it and add `svhn` to `datasets`.

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
# The controls (each off when false or empty): the KAN and MLP autoencoders (and PCA) also at every latent size the CNN has;
equal_latents = True
seeds = [0, 1]  # the seeds of the seed widths and the paper's widths (include `seed`; [] for one seed everywhere)
seed_widths = {"mnist": 9, "fashion_mnist": 9, "cifar10": 16, "svhn": 16}  # a narrow size every model has (CNN grid)
paper_widths = {"mnist": 16, "fashion_mnist": 16, "cifar10": 32, "svhn": 32}  # the paper's bottleneck: 150 / 500
paper_hidden = {}  # hidden width at the paper's width where not `hidden` (at least that width)
paper_width_subset = {}  # training images at the paper's width where not `subset`
converged_epochs: int | None = 2  # the paper-width models trained this long too (None: not at all)
matched_mlp = True  # an MLP AE within 10% of the KAN AE's parameters, at the seed and paper widths
authors_variant = True  # the authors' code (one KAN layer per side) at the paper's widths
available_only = False  # True: read the records that exist, train nothing (a campaign under way)
workers = 1  # runs trained at a time, in worker processes that share the CPU threads

# %%
from IPython.display import Markdown, display

from kanmix import report

report.setup()  # first: it silences the tqdm warning the imports below would print

from kanmix import ae, page, studies  # noqa: E402

# %% [markdown]
# ## The sweep
#
# `kanmix.studies.autoencoders` trains every (dataset, model, bottleneck) once — or reads it
# back from the results store — and computes the two baselines. Every record also keeps the
# reconstructions of eight test images, so the figures below need no stored weights.
#
# Two choices are ours. The paper does not state the **hidden width** between the pixels and
# the bottleneck; we set it per dataset (the `hidden` parameter), and where it is narrower than
# a bottleneck, that latent can carry at most `hidden` dimensions (the sentence under the
# protocol says where). And the **CNN**'s latent is a $c \times h \times w$ grid whose
# $h \times w$ its strides fix, so it gets the nearest size its layout allows; the tables show
# the size each model actually had.

# %% tags=["show-input"]
study = studies.autoencoders_from_chapter(globals())  # every run of the chapter, from the parameters above

# %% tags=["remove-input", "remove-output"]
comparisons = ae.matched_comparisons(study.runs, study.all_baselines)  # every comparison at equal latent size
report.glue_ae_placed(study, comparisons, studies.ae_deviations_from_chapter(globals()), profile, epochs=epochs,
                      paper_widths=paper_widths)  # the finding, the folded tables and the reconstructions

# %% tags=["remove-input"]
report.show_ae_sweep(study, datasets, profile, hidden=hidden, bottlenecks=bottlenecks, workers=workers)

# %% [markdown]
# ## The floors: the mean image and PCA
#
# An autoencoder that cannot beat predicting the mean training image for every input has
# learned nothing; PCA with $k$ components is the best *linear* autoencoder with a
# $k$-dimensional code. The PCA codes are scored by the same train-to-test KNN
# ({numref}`fig-ae-sweep`).

# %% tags=["remove-input"]
display(Markdown(report.beats_mean_text(study.runs)))

# %% tags=["remove-input", "remove-output"]
report.glue_ae_figures(study, datasets, profile)

# %% [markdown]
# ```{glue:figure} ae_sweep
# :name: "fig-ae-sweep"
#
# {glue:md}`ae_sweep_caption`
# ```
#
# ````{dropdown} The baselines in numbers
# ```{glue} ch4_baselines
# ```
# ````
#
# ## What the models cost
#
# ```{glue:figure} ae_cost
# :name: "fig-ae-cost"
#
# {glue:md}`ae_cost_caption`
# ```
#
# ````{dropdown} What this chapter does differently from the paper, and why
# ```{glue} ch4_deviations
# ```
# ````
#
# ## Like for like: equal latent sizes, matched parameters, seeds
#
# Each comparison below pairs two models with **the same latent size, trained on the same images
# for the same number of epochs**, seed by seed; PCA of that size on the same images stands in
# for the classical answer. The **parameter-matched MLP autoencoder** has the same layout as the
# MLP one, with the hidden width at which its parameter count comes closest to the KAN
# autoencoder's (within 10%). Where several seeds were trained, a difference counts as a
# difference only when the 95% interval of the paired differences leaves out zero; where one
# seed was trained, the table says so.

# %% tags=["remove-input"]
report.show_ae_comparisons(comparisons, datasets, study.records, profile)

# %% [markdown]
# ## At the paper's widths
#
# At the paper's own bottlenecks (150 on MNIST, 500 on CIFAR-10) every model trains with three
# seeds, the same-shape and the parameter-matched MLP autoencoders beside the KAN one, the CNN
# at its nearest latent size, and **the authors' code**: their published autoencoder has a
# single KAN layer per side, straight from the pixels to the bottleneck and back, with no ReLU
# and no dense layer. On CIFAR-10 the hidden layer here is at least as wide as the bottleneck;
# a KAN layer from 3,072 inputs to 512 outputs costs four times one to 128, so where the profile
# says so this arm trains on a stratified subset of the training images and is scored on the
# full test split (the caption says how many). Each model also trains for longer in the
# converged arm, one seed, with the same constant learning rate.

# %% tags=["remove-input"]
report.show_ae_paper_widths(study, profile)

# %% [markdown]
# ## Two ways to score a latent space
#
# `KNN accuracy (train → test)` fits a 3-nearest-neighbour classifier on the *training*
# images' codes and scores it on the *test* images' codes: how well the codes separate
# classes for images the model has not seen. The paper's protocol fits and scores on the
# *same* test set, so every test point is its own nearest neighbour and one of its three
# votes is always right. For the KAN autoencoder the authors' code also scores the
# *reconstructions* (784 or 3,072 numbers per image) rather than the codes, so for that row
# the two columns do not even measure the same space; the column `authors' features`
# says which space each row's authors' number uses.

# %% tags=["remove-input"]
report.show_ae_knn(study, profile)

# %% [markdown]
# ````{dropdown} Reconstructions: eight test images and each model's output
# ```{glue:figure} recon
# :name: "fig-recon"
#
# {glue:md}`recon_caption`
# ```
# ````
#
# ## Has training converged?

# %% tags=["remove-input"]
report.show_ae_convergence(study, epochs=epochs)

# %% [markdown]
# ## What the numbers say
#
# Computed from the comparisons at equal latent sizes above, and nothing else.

# %% tags=["remove-input"]
display(Markdown(report.ae_summary(comparisons, epochs=epochs, paper_widths=paper_widths, missing=study.missing)))

# %% [markdown]
# ## Provenance
#
# Every record behind this page's tables and figures, by kind: where and from which commit it was made,
# and how long it took. Each caption above names its profile, device and number of records.

# %% tags=["remove-input"]
display(page.provenance_table(profile))
