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

from kanmix import data, grids, interpret, page, report, studies, viz

report.setup()  # widget warning off, inline figures, the book's figure style
NAMES = {"test_accuracy": "test accuracy", "train_seconds": "training time", "n_train": "training images",
         "test_mse": "test MSE", "psnr": "PSNR", "images_per_second": "throughput", "spline_share": "spline share",
         "silu_like": "SiLU-like", "monotone": "monotone", "concentration": "top 10% share", "why": "chosen as",
         "best": "best form", "r2": "R² best", "r2_x": "R² line", "r2_silu": "R² SiLU"}
UNITS = {"train_seconds": "s", "psnr": "dB", "images_per_second": "images/s"}

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
kan_records, mlp_records, ae_record = study.kan_records, study.mlp_records, study.ae_record
page.findings(report.splines_findings(study.evidence), key="ch5_finding", show=False)  # pasted under the title
labels = studies.layer_labels(study)  # (model, layer) -> its short name in the tables and figures

# %% [markdown]
# (tab-ch5-models)=

# %%
epochs = report.count(kan_records[0]["config"]["train"]["epochs"], "epoch")
display(page.table(studies.cost_table(study), f"The classifiers interpreted in this chapter, means over each mixer's "
                   f"seeds ({data.info(dataset).title}, {kan_records[0]['n_train']:,} training images, {epochs}): test "
                   "accuracy as the fraction of the test split classified correctly, throughput in training images "
                   "per second", study.mixer_records, profile, names=NAMES, units=UNITS))
display(page.table(studies.autoencoder_table(study), f"The KAN autoencoder ({data.info(ae_dataset).title})",
                   [ae_record], profile, names=NAMES, units=UNITS))

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
edges = study.edges  # one row per edge of every model, trained and at initialisation
display(page.table(studies.layer_summary(study), "Per layer, trained against untrained (init): the median edge's "
                   f"spline share, the edges SiLU-like (deviation below {interpret.SILU_LIKE}) and monotone, and the "
                   "share of the layer's importance its top 10% of edges hold (10% if spread evenly); mixer values "
                   f"pool the seeds {report.listing(seeds)}. Block b, token (channel) j: the j-th KAN layer of block "
                   "b's token (channel) mixing", [*kan_records, ae_record], profile, precision=2, names=NAMES,
                   percent=["silu_like", "monotone", "concentration"]))

# %% [markdown]
# The spread behind the medians, per layer ({numref}`fig-ch5-distributions`): where the trained
# and untrained bars overlap, training left that property of the edges where the initialisation
# put it.

# %% tags=["remove-output"]
fig = viz.plot_edge_measures(edges, ["spline_share", "deviation"], labels=labels,
                             xlabels={"spline_share": "spline share (log)", "deviation": "deviation (log)"},
                             states={"trained": "tab:purple", "init": "0.55"})
page.figure("ch5_distributions", fig, "The spread of each layer's edges: spline share (left) and deviation from "
            "a + b·SiLU (right), trained (purple) against the same models at initialisation (grey); dot: the "
            "median edge, bar: the middle half of the edges (25th to 75th percentile); mixer values pool the seeds",
            [*kan_records, ae_record], profile)

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

# %%
token_layer = next(name for name in grids.kan_layers(study.trained[0]) if "token_mix" in name)
channel_layer = next(name for name in grids.kan_layers(study.trained[0]) if "channel_mix" in name)
ae_layer = next(iter(grids.kan_layers(study.ae_trained)))

# %% tags=["remove-output"]
# One figure per layer, trained above untrained, glued as ch5_edges_<part> and placed below in this order.
mixer, ae = (study.trained[0], study.untrained[0], study.probe, [kan_records[0]]), \
    (study.ae_trained, study.ae_untrained, study.ae_probe, [ae_record])
for part, what, name, (trained, untrained, images, records) in (
        ("token", "the KAN-Mixer's first token-mixing layer", token_layer, mixer),
        ("channel", "the KAN-Mixer's first channel-mixing layer", channel_layer, mixer),
        ("ae", "the KAN autoencoder's pixel-side encoder layer", ae_layer, ae)):
    rows = []
    for model, state, colour in ((trained, "trained", "tab:purple"), (untrained, "untrained", "0.35")):
        x = grids.layer_inputs(model, images)[name]
        rows.append((state, grids.kan_layers(model)[name], x, interpret.data_range(x), colour))
    how = ("each over the central 99% of its real inputs (x) against its output φ (y), every panel on its own scale: "
           "total (solid, fainter when less important), SiLU term (blue, dashed) and spline (orange, dashed). Panel "
           "titles: input → output unit, then the edge's importance |φ|, its mean absolute output over its inputs"
           if part == "token" else "drawn as the token-mixing layer's above")
    page.figure(f"ch5_edges_{part}", viz.plot_edge_rows(rows, top_k=n_panels),
                f"The {n_panels} most important edges of {what} ({name}, first seed) after training (top) and at "
                f"initialisation (bottom), {how}", records, profile)

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
display(page.table(studies.symbolic_forms(study).T, f"Best forms of the top edges with R² ≥ {interpret.GOOD_FIT} "
                   "(\"no fit\" below it), trained against untrained (init): number of edges",
                   [kan_records[0], ae_record], profile, names=NAMES))
display(page.table(studies.symbolic_table(study), "Symbolic fits of the top edges of the trained models (first "
                   "seed), per layer and edge (input → output unit): why chosen, importance (mean |φ|), the best "
                   "library form and its R², and the R² of a straight line and of a + b·SiLU(x)",
                   [kan_records[0], ae_record], profile, precision=3, names=NAMES))

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

# %%
maps = study.maps  # "trained", "init" (the KAN-Mixer) and "mlp": one map per seed
side = maps["mlp"][0].shape[-1]
token = (side // 2) * side + side // 2  # the centre patch: a token with neighbours on every side

# %% tags=["remove-output"]
fig = viz.plot_token_maps({"KAN-Mixer, trained": maps["trained"][0], "KAN-Mixer, init": maps["init"][0],
                           "MLP-Mixer, trained": maps["mlp"][0]}, token)
page.figure("ch5_token_maps", fig, f"Token-mixing importance over the {side}×{side} patch grid (first block, first "
            f"seed): top, which input patches output token {token} (the centre patch, marked +) reads; bottom, the "
            "mean over all output tokens. Columns: the trained KAN-Mixer, the same at initialisation, and the trained "
            f"MLP-Mixer, measured the same way. A uniform map is 1/{side * side} everywhere",
            [kan_records[0], mlp_records[0]], profile)

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
locality = studies.locality_table(study).unstack("seed", sort=False)  # one row per model, the seeds across
display(page.table(locality, "Token maps, per seed: locality (mean distance "
                   "read, relative to a uniform map; below 1 is local) and the share of each map held by its top 10% "
                   "of input tokens (uniform: 0.1), averaged over output tokens", study.mixer_records, profile,
                   precision=3, names={"locality": "locality", "top 10% of inputs": "top 10% share"}))

# %% tags=["remove-output"]
fig = viz.plot_pixel_maps({f"KAN AE, {state}": m for state, m in studies.pixel_maps(study, ae_layer).items()},
                          label="summed importance")
page.figure("ch5_pixel_maps", fig, f"Per-pixel importance of the KAN autoencoder's {ae_layer}: each pixel's edges' "
            "importance summed over the layer's outputs, trained and at initialisation", [ae_record], profile)

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
agreement = studies.seed_agreement_table(study).unstack("pair", sort=False)  # one row per state, the pairs across
display(page.table(agreement, "Spearman rank correlation of the token "
                   "maps between each pair of seeds, of the full maps and of their means over output tokens: the "
                   "KAN-Mixer trained (trained) and untrained (init), and the trained MLP-Mixer (mlp)",
                   [*kan_records, *mlp_records], profile, precision=3))

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
display(page.table(studies.pruning_means(study), f"Pruning by importance: mean over seeds {report.listing(seeds)} "
                   f"of the test accuracy ({n_eval:,} test images) unpruned, pruned, and pruned then fine-tuned for "
                   f"{finetune_steps} steps; then the controls after the same fine-tuning (the MLP-Mixer at the same "
                   "parameter count)", [*study.pruning_records, *study.control_records], profile, precision=4,
                   names={"accuracy_unpruned": "unpruned", "accuracy_pruned": "pruned",
                          "accuracy_finetuned": "pruned + fine-tuned", f"{studies.RANDOM}, fine-tuned": "random order",
                          f"{studies.MAGNITUDE}, fine-tuned": "MLP-Mixer by magnitude"}))

# %% tags=["remove-output"]
fig = viz.plot_pruning(study.pruning, study.controls, colours={studies.RANDOM: "tab:orange",
                                                               studies.MAGNITUDE: "tab:green"})
page.figure("ch5_pruning", fig, "Test accuracy against the fraction of the KAN-Mixer's edges kept, one line per "
            "seed; the controls after the same fine-tuning, the MLP-Mixer at the parameter count the KAN-Mixer "
            "keeps there", [*study.pruning_records, *study.control_records], profile)

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
# Here the comparison is with the MLP-Mixer of the same widths, much smaller and faster
# ({ref}`the table of classifiers <tab-ch5-models>`).

# %%
display(Markdown(report.conclude_cost(kan_records, mlp_records, study.evidence)))
display(Markdown("Recomputing this chapter from an empty results store (the chapter-4 autoencoder included): "
                 f"{report.recompute_time(study.records, workers=workers)}."))

# %% [markdown]
# ## Provenance
#
# Every record behind this page's tables and figures, by kind: where and from which commit it was made,
# and how long it took. Each caption above names its profile, device and number of records.

# %% tags=["remove-input"]
display(page.provenance_table(profile))
