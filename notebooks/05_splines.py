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
# # Looking inside: what trained KANs learn
#
# ```{glue:md} ch5_finding
# :format: myst
# ```
#
# Both papers name interpretability as a reason to prefer KANs, and neither shows what a trained
# vision KAN has learned. Every KAN edge is a function one can plot, so after training the plots
# should show something an MLP does not have. This chapter measures that, each measure set
# against a control with no learning in it: **the same architecture at initialisation**. In
# order, it asks whether the splines are used, how far each edge is from an MLP edge
# ($a + b\,\mathrm{SiLU}(x)$, which makes a layer $\mathrm{Linear}(\mathrm{SiLU}(x))$), what shapes
# the edges take, where in the image a token reads from (against an MLP-Mixer, over three seeds),
# and how many edges matter when the rest are pruned. Everything is measured on the inputs each edge actually receives (`kanmix.grids.layer_inputs`
# on training images), with the functions of `kanmix.interpret`, tested on layers whose answers
# are known.

# %% tags=["parameters"]
profile = "smoke"  # injected by `python -m kanmix.book run --profile P`
dataset = "fashion_mnist"
subset: int | None = 500  # training images of the mixers, stratified; None: the full training split
mixer_kwargs = {"patch": 8, "dim": 32, "depth": 1, "token_hidden": 16, "channel_hidden": 32}  # the KAN-Mixer
mlp_kwargs = {"patch": 8, "dim": 32, "depth": 1, "token_hidden": 16, "channel_hidden": 32}  # the MLP-Mixer, same widths
train = {"epochs": 1, "batch_size": 64}  # kanmix.train.TrainConfig options of both mixers (chapter 3's)
seeds = [0, 1, 2]  # seeds of both mixers; the first seed's models are the ones drawn
ae_dataset = "mnist"
ae_subset: int | None = 300  # training images of the autoencoder; None: the full training split
ae_bottleneck = 16
ae_hidden = 16
ae_train = {"epochs": 1, "batch_size": 64}  # TrainConfig options over kanmix.ae's paper recipe
n_importance = 128  # training images on which importance and every edge measure are computed
n_eval = 500  # test images scored before and after pruning
keep_fractions = [0.25]  # fractions of each KAN layer's edges kept when pruning
finetune_steps = 3  # fine-tuning steps after pruning
finetune_lr = 3e-4
linearize_arms = ["token mixing", "channel mixing", "all"]  # KAN layers whose edges become a + b·SiLU(x) (kanmix.linearize.ARMS)
pruning_controls = True  # random pruning, and a parameter-matched MLP-Mixer pruned by magnitude, beside importance pruning
available_only = False  # True: train and compute no control or linearizing run, read those stored (a campaign under way)
n_panels = 4  # edges drawn per layer and state (one row of panels), most important first
n_top = 4  # edges per layer in the symbolic-fit table: this many most important, this many least SiLU-like
workers = 1  # runs trained at a time, in worker processes that share the CPU threads

# %%
from IPython.display import Markdown, display

from kanmix import page, report, studies

report.setup()  # widget warning off, inline figures, the book's figure style

# %% [markdown]
# ## The models
#
# The KAN-Mixer has chapter 3's configuration and trains once per seed on the training split,
# with no fold held out (this chapter selects nothing on validation data), as does the
# MLP-Mixer of the same widths; the KAN autoencoder is chapter 4's. Every run is a results-store
# record with its weights kept. The untrained controls are the same configurations built from
# the same seeds, before any training step.

# %% tags=["show-input"]
study = studies.splines_from_chapter(globals())  # every run and measure of the chapter, from the parameters above

# %%
page.findings(report.splines_findings(study.evidence), key="ch5_finding", show=False)  # pasted under the title

# %% [markdown]
# (tab-ch5-models)=

# %%
report.show_splines_models(study, profile)

# %% [markdown]
# ## Every edge, measured on its own inputs
#
# An edge $o \leftarrow i$ only ever sees the values of input $i$. `interpret.sample_edges`
# samples each edge over the central 99% of those values, weighting each point by the share of
# real inputs near it. `interpret.edge_table` gives one row per edge of every KAN layer with:
#
# - **importance**, the mean $|\phi(x)|$ over the real inputs (pykan's pruning score);
# - **spline share** $S / (S + B)$, with $S$ and $B$ the mean $|\mathrm{spline}|$ and
#   $|w_b\,\mathrm{SiLU}|$ over the inputs: 0 is a pure SiLU edge, 1 a pure spline;
# - **deviation**, $1 - R^2$ of the best $a + b\,\mathrm{SiLU}(x)$ fit: 0 is an MLP edge, and an
#   edge below the threshold in the caption counts as **SiLU-like**;
# - **monotone**: no turn of the curve larger than 5% of its range (smaller wiggles are spline
#   ripple).
#
# SiLU itself has a minimum at $x \approx -1.28$, so a pure SiLU edge whose inputs reach well below
# it is not monotone; the untrained control has the same SiLU, which is why the comparison with it
# carries the information. Constant inputs (MNIST's black border pixels) give constant edges,
# whose shape measures are left out.

# %%
report.show_edge_summary(study, profile)

# %% [markdown]
# The spread behind the medians, per layer ({numref}`fig-ch5-distributions`): where the trained
# and untrained bars overlap, training left that property of the edges where the initialisation
# put it.

# %% tags=["remove-output"]
report.glue_edge_distributions(study, profile)

# %% [markdown]
# ```{glue:figure} ch5_distributions
# :name: "fig-ch5-distributions"
#
# {glue:md}`ch5_distributions_caption`
# ```

# %% [markdown]
# ## The edges themselves
#
# The panels show the most important edges of the first seed's first token-mixing layer
# ({numref}`fig-ch5-edges-token`; its channel-mixing layer's are folded below it) and of the
# autoencoder's pixel-side encoder layer ({numref}`fig-ch5-edges-ae`), each above its
# untrained twin, over the range its real inputs cover and faded by importance as pykan draws
# networks.

# %% tags=["remove-output"]
report.glue_edge_figures(study, profile, n_panels=n_panels)  # glued as ch5_edges_<part>, placed below

# %% [markdown]
# ```{glue:figure} ch5_edges_token
# :name: "fig-ch5-edges-token"
#
# {glue:md}`ch5_edges_token_caption`
# ```

# %% [markdown]
# ````{dropdown} The same for the KAN-Mixer's first channel-mixing layer
# ```{glue:figure} ch5_edges_channel
# :name: "fig-ch5-channel-edges"
#
# {glue:md}`ch5_edges_channel_caption`
# ```
# ````

# %% [markdown]
# ```{glue:figure} ch5_edges_ae
# :name: "fig-ch5-edges-ae"
#
# {glue:md}`ch5_edges_ae_caption`
# ```

# %% [markdown]
# ## Symbolic fits
#
# For each layer of the first seed, the most important edges and (among the more important half)
# those least like $a + b\,\mathrm{SiLU}(x)$ are fitted by least squares to $a + b f(c u + d)$,
# as pykan's `suggest_symbolic` does: $u$ is the input rescaled to $[-1, 1]$, $f$ one of $x, x^2,
# x^3, |x|, \sin, \tanh, \exp, \mathrm{SiLU}$ and a Gaussian (`interpret.library`), and the best
# form the simplest within 0.001 of the best $R^2$. Over a short range a SiLU is close to a
# parabola or a line, so the $R^2$ of a line and of $a + b\,\mathrm{SiLU}(x)$ beside it say
# whether the named form is anything an MLP edge does not already have.

# %%
report.show_symbolic_fits(study, profile)

# %% [markdown]
# ## Where a token reads from
#
# In the first mixer block, the token-mixing network maps the $T$ patch positions to $T$ patch
# positions through a hidden layer. `interpret.token_maps` composes the two layers' importances
# into one map per output token (pykan's path importance), normalised to sum to one, and lays it
# out on the patch grid. Both families get the same measure: an edge's importance is its mean
# absolute output on the probe images, $\overline{|\phi(x)|}$ for a KAN edge and
# $\overline{|w\,x|}$ for an MLP-Mixer's linear one. `interpret.locality` summarises a map as the
# mean distance it reads from, relative to a uniform map: below 1, a token reads near its own
# patch.

# %% tags=["remove-output"]
report.glue_token_maps(study, profile)

# %% [markdown]
# ```{glue:figure} ch5_token_maps
# :name: "fig-ch5-token-maps"
#
# {glue:md}`ch5_token_maps_caption`
# ```
#
# Built from the same seed, the MLP-Mixer's first token-mixing Linear layer starts with exactly
# the weights of the KAN-Mixer's SiLU terms (the same Kaiming-uniform draw), so a resemblance
# between the two can be inherited from initialisation; the middle column shows that start.

# %%
report.show_token_locality(study, profile)

# %% tags=["remove-output"]
report.glue_pixel_maps(study, profile)

# %% [markdown]
# ````{dropdown} The autoencoder's first KAN layer reads pixels: its importances mapped onto the image
# ```{glue:figure} ch5_pixel_maps
# :name: "fig-ch5-pixel-maps"
#
# {glue:md}`ch5_pixel_maps_caption`
# ```
# ````

# %% [markdown]
# ## The same maps across seeds
#
# A hidden unit of one seed has no counterpart in another, so per-edge importances of hidden
# layers cannot be compared across seeds; input and output tokens are patch positions, the same
# in every seed, so the token maps can. `interpret.rank_agreement` gives Spearman's rank
# correlation between every pair of seeds, for the trained models, their untrained twins (how
# much agreement the data alone produces) and the trained MLP-Mixers (whether recurring maps are
# a KAN property or one of any trained mixer).

# %%
report.show_seed_agreement(study, profile)

# %% [markdown]
# ## Pruning that means something
#
# For each seed and kept fraction, `interpret.prune_runs` keeps that fraction of every KAN
# layer's edges by importance on the training images and zeroes the rest, which stay zero while
# the model is fine-tuned for a few steps; test accuracy is measured before, right after and
# after fine-tuning (keeping every edge is the control for fine-tuning alone). Two more controls
# (`pruning_controls`): the same fractions removed in a **random order**, which importance must
# beat to earn its keep, and the **MLP-Mixer with the KAN-Mixer's parameters** (as in
# {doc}`03_kan_mixers`) pruned by weight magnitude to each pruned KAN-Mixer's parameter count,
# both fine-tuned the same way. The table gives means over seeds; {numref}`fig-ch5-pruning` draws
# every seed.

# %%
report.show_pruning(study, profile, n_eval=n_eval, finetune_steps=finetune_steps)

# %% tags=["remove-output"]
report.glue_pruning(study, profile)

# %% [markdown]
# ```{glue:figure} ch5_pruning
# :name: "fig-ch5-pruning"
#
# {glue:md}`ch5_pruning_caption`
# ```

# %% [markdown]
# ## Do the splines do work an MLP edge cannot?
#
# Every KAN edge is replaced by its least-squares `a + b·SiLU(x)` over the inputs it sees on
# training images (`kanmix.linearize`): exactly what a dense layer after a SiLU can compute. If
# the splines did nothing an MLP edge could not, the replaced network would score as the trained
# one. The replacement is made for the token-mixing layers, the channel-mixing layers, and all
# of them, then scored on the same test images as the pruning arms, before and after the same
# fine-tuning.

# %%
display(Markdown(report.conclude_linearized(study.linear_records, finetune_steps) if linearize_arms else
                 "Not run under this profile yet (`linearize_arms` is empty)."))

# %% [markdown]
# ## What the numbers say
#
# Every comparison below is trained against untrained (or KAN against MLP), and a difference is
# called one only beyond a 95% noise band from the spread over seeds (and, for accuracies, the
# number of test images).
#
# ### What does the interpretability of these KAN vision models amount to?

# %%
display(Markdown(report.conclude_interpretability(study.evidence, "the KAN-Mixer",
                                                  fold="Measure by measure, with the noise bands")))
display(Markdown(report.conclude_interpretability(study.ae_evidence, "the KAN autoencoder",
                                                  fold="The KAN autoencoder, measure by measure")))

# %% [markdown]
# ### Is the added cost justified, compared with the MLP-Mixer?
#
# First against the MLP-Mixer of the same widths, much smaller and faster
# ({ref}`the table of classifiers <tab-ch5-models>`); then, where pruning's control trained it, against
# the MLP-Mixer with the KAN-Mixer's parameters, which decides whether the gap is the splines' or size's.

# %%
display(Markdown(report.conclude_cost(study.kan_records, study.mlp_records, study.evidence,
                                        matched=study.matched_records)))
display(Markdown("Recomputing this chapter from an empty results store (the chapter-4 autoencoder included): "
                 f"{report.recompute_time(study.records, workers=workers)}."))

# %% [markdown]
# ## Provenance
#
# Every record behind this page's tables and figures, by kind: where and from which commit it was made,
# and how long it took. Each caption above names its profile, device and number of records.

# %% tags=["remove-input"]
display(page.provenance_table(profile))
