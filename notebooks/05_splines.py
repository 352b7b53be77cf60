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
# Both papers name interpretability as a reason to prefer KANs, and neither shows what a trained
# vision KAN has learned. Every edge of a KAN layer is a function one can plot, so the promise is
# concrete: after training, the plots should show something an MLP does not have. This chapter
# tests that promise with measurements instead of pictures alone, and compares each one with a
# control that has no learning in it: **the same architecture at initialisation**. A property
# that the untrained network already has is not something training taught it.
#
# The questions, in the order the chapter answers them:
#
# 1. **Are the splines used?** Each edge is $\phi(x) = w_b\,\mathrm{SiLU}(x) + \mathrm{spline}(x)$.
#    If after training the spline term is as small, relative to the SiLU term, as it was at
#    initialisation, the plots show scaled SiLU curves and nothing was learned in the splines.
# 2. **How far is each edge from an MLP edge?** If every edge of a layer is
#    $a + b\,\mathrm{SiLU}(x)$, the constants add up to a bias and the layer computes
#    $\mathrm{Linear}(\mathrm{SiLU}(x))$: an MLP layer with a SiLU activation (not a "dense
#    layer": the nonlinearity is still there). The fraction of an edge's variance that the best
#    such fit leaves unexplained measures how much the edge does beyond that.
# 3. **What shapes are they?** Monotone or not, how many turns, how curved, and which simple
#    closed form (if any) each important edge is close to, as pykan's `suggest_symbolic` does.
# 4. **Where in the image does a token read from?** The token-mixing layer's inputs are patch
#    positions, so its importances map back onto the image. The MLP-Mixer's weights, mapped the
#    same way, are the control, and three seeds say whether the maps are a property of the data
#    or of one run.
# 5. **How many edges matter?** Prune the least important edges, fine-tune briefly, and see what
#    accuracy survives on test images that played no part in choosing the edges.
#
# Everything is measured on the inputs each edge actually receives (computed with
# `kanmix.grids.layer_inputs` on training images), not on an arbitrary interval, and the
# measures are functions of `kanmix.interpret`, tested on layers whose answers are known.

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
n_panels = 16  # edges drawn per layer, most important first
n_top = 4  # edges per layer in the symbolic-fit table: this many most important, this many least SiLU-like
workers = 1  # runs trained at a time, in worker processes that share the CPU threads

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from kanmix import data, grids, interpret, page, report, studies, viz

report.setup()  # widget warning off, inline figures, the book's figure style
NAMES = {"test_accuracy": "test accuracy", "train_seconds": "training time", "n_train": "training images",
         "test_mse": "test MSE", "psnr": "PSNR", "images_per_second": "throughput", "spline_share": "spline share",
         "deviation": "deviation from a + b·SiLU", "silu_like": "fraction SiLU-like", "monotone": "fraction monotone",
         "concentration": "top 10% share of importance", "why": "chosen as", "best": "best form",
         "r2": "R² (best form)", "r2_x": "R² (x)", "r2_silu": "R² (a + b·SiLU)", "out": "output", "in": "input",
         "init": "untrained (init)", "accuracy_unpruned": "unpruned", "accuracy_pruned": "pruned",
         "accuracy_finetuned": "pruned + fine-tuned"}
UNITS = {"train_seconds": "s", "psnr": "dB", "images_per_second": "images/s"}

# %% [markdown]
# ## The models
#
# The KAN-Mixer has chapter 3's configuration and trains on the training split, all of it
# unless the profile names a subset ({ref}`the table of classifiers <tab-ch5-models>` gives
# the count), with no fold held out: this chapter selects nothing on validation data. It is
# trained once per seed, and so is the MLP-Mixer of the same widths. The KAN
# autoencoder is chapter 4's (on MNIST unless the profile says otherwise). Every run is a
# results-store record with its weights kept beside it, so a rerun loads the models instead of
# training them. The untrained controls are the same configurations built from the same seeds,
# before any training step.

# %% tags=["show-input"]
study = studies.splines_from_chapter(globals())  # every run and measure of the chapter, from the parameters above

# %%
kan_records, mlp_records, ae_record = study.kan_records, study.mlp_records, study.ae_record

# %% [markdown]
# (tab-ch5-models)=

# %% tags=["hide-input"]
epochs = report.count(kan_records[0]["config"]["train"]["epochs"], "epoch")
display(page.table(studies.models_table(study), f"The classifiers interpreted in this chapter "
                   f"({data.info(dataset).title}, {epochs}); accuracy is the fraction of the test split classified "
                   "correctly", study.mixer_records, profile, names=NAMES, units=UNITS))
display(page.table(studies.autoencoder_table(study), f"The KAN autoencoder ({data.info(ae_dataset).title})",
                   [ae_record], profile, names=NAMES, units=UNITS))

# %% [markdown]
# ## Every edge, measured on its own inputs
#
# An edge $o \leftarrow i$ only ever sees the values of input $i$. `interpret.sample_edges`
# samples each edge over the central 99% of those values and weights each sample point by the
# share of real inputs near it; every measure below is an average over the data in that sense.
# `interpret.edge_table` gives one row per edge of every KAN layer with:
#
# - **importance**, the mean $|\phi(x)|$ over the real inputs (pykan's pruning score);
# - **spline share** $S / (S + B)$, with $S$ and $B$ the mean $|\mathrm{spline}|$ and
#   $|w_b\,\mathrm{SiLU}|$ over the inputs: 0 is a pure SiLU edge, 1 a pure spline;
# - **deviation**, $1 - R^2$ of the best $a + b\,\mathrm{SiLU}(x)$ fit: 0 is an MLP edge;
# - **extrema**, turns of the curve larger than 5% of its range (smaller wiggles are spline
#   ripple), **monotone** when there is none, and **curvature**, the mean $|\phi''|$ with both
#   axes rescaled to $[0, 1]$ (0 for a line, 8 for a parabola centred in its range).
#
# SiLU itself is not monotone: it has a minimum at $x \approx -1.28$, so a pure SiLU edge whose
# inputs reach well below that counts one extremum. The untrained control has the same SiLU,
# which is why the comparison with it, not the raw count, carries the information. Inputs that
# are constant over the data, such as MNIST's always-black border pixels, give constant edges;
# their shape measures are undefined and left out.

# %% tags=["hide-input"]
edges = study.edges  # one row per edge of every model, trained and at initialisation
display(page.table(studies.layer_summary(study), "Per layer, trained against untrained (init): median spline "
                   f"share and deviation from a + b·SiLU, fraction of edges SiLU-like (deviation < {interpret.SILU_LIKE}) and "
                   "monotone, median extrema and curvature, and the share of the layer's importance held by its top "
                   f"10% of edges; mixer values pool the seeds {seeds}", [*kan_records, ae_record], profile,
                   precision=3, names={**NAMES, "spline_share": "spline share (median)",
                                       "deviation": "deviation (median)", "extrema": "extrema (median)",
                                       "curvature": "curvature (median)"}))

# %% [markdown]
# The distributions behind the medians, per layer ({numref}`fig-ch5-distributions`): the
# untrained control is dashed. Where the two curves lie on top of each other, training left that
# property of the edges where the initialisation put it.

# %% tags=["hide-input", "remove-output"]
LOG_FLOOR = 1e-6  # log axes: values at or below this are drawn at it


def ecdf(ax, values, **style):
    v = np.sort(np.clip(values[np.isfinite(values)], LOG_FLOOR, None))
    ax.step(v, np.arange(1, len(v) + 1) / max(len(v), 1), where="post", **style)


layer_keys = list(dict.fromkeys(zip(edges.model, edges.layer)))
fig, axes = plt.subplots(2, len(layer_keys), figsize=(2.6 * len(layer_keys), 5), squeeze=False)
for col, (model, layer) in enumerate(layer_keys):
    part = edges[(edges.model == model) & (edges.layer == layer)]
    for row, column in enumerate(("spline_share", "deviation")):
        ax = axes[row, col]
        for state, style in (("trained", {"color": "tab:purple"}), ("init", {"color": "0.4", "ls": "--"})):
            ecdf(ax, part[part.state == state][column].to_numpy(), label=state, **style)
        ax.set_xscale("log")
        ax.set_xlabel(column.replace("_", " "), fontsize=8)
        ax.tick_params(labelsize=7)
        if row == 0:
            ax.set_title(f"{model}\n{layer}", fontsize=7)
axes[0, 0].set_ylabel("fraction of edges ≤ x", fontsize=8)
axes[1, 0].set_ylabel("fraction of edges ≤ x", fontsize=8)
axes[0, 0].legend(frameon=False, fontsize=7)
fig.tight_layout()
page.figure("ch5_distributions", fig, "Distribution over each layer's edges of the spline share (top) and of the "
            "deviation from a + b·SiLU (bottom), trained (solid) against the same models at initialisation (dashed)",
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
# ({numref}`fig-ch5-edges-token-trained`) and channel-mixing layer
# ({numref}`fig-ch5-edges-channel-trained`) and of the autoencoder's pixel-side encoder layer
# ({numref}`fig-ch5-edges-ae-trained`), each over the range its real inputs cover, faded by
# importance as pykan draws networks. The dashed curves are the two parts of each edge: the
# SiLU term (blue) and the spline (orange). After each trained layer comes its untrained twin,
# drawn the same way ({numref}`fig-ch5-edges-token-init`, {numref}`fig-ch5-edges-channel-init`
# and {numref}`fig-ch5-edges-ae-init`).

# %%
mixer_layers = list(grids.kan_layers(study.trained[0]))
token_layer = next(n for n in mixer_layers if "token_mix" in n)
channel_layer = next(n for n in mixer_layers if "channel_mix" in n)
ae_layer = next(iter(grids.kan_layers(study.ae_trained)))

# %% tags=["hide-input", "remove-output"]
def draw_layer(model, images, name: str, title: str, color: str):
    """The most important edges of one KAN layer of ``model``, over its inputs on ``images``."""
    x = grids.layer_inputs(model, images)[name]
    layer = grids.kan_layers(model)[name]
    fig = viz.plot_edges(layer, x, top_k=n_panels, cols=8, n=120, x_range=interpret.data_range(x), parts=True,
                         color=color)
    fig.suptitle(f"{title}: {name}, the {min(n_panels, layer.in_features * layer.out_features)} most important of "
                 f"{layer.in_features * layer.out_features} edges", fontsize=9)
    return fig


# One figure per layer and state, glued as ch5_edges_<part>_<state> and placed below in this order.
for part, (name, models, images, records) in (
        ("token", (token_layer, (study.trained[0], study.untrained[0]), study.probe, [kan_records[0]])),
        ("channel", (channel_layer, (study.trained[0], study.untrained[0]), study.probe, [kan_records[0]])),
        ("ae", (ae_layer, (study.ae_trained, study.ae_untrained), study.ae_probe, [ae_record]))):
    for model, state, title, color, when in zip(
            models, ("trained", "init"), ("trained", "untrained (init)"), ("tab:purple", "0.35"),
            ("after training", "at initialisation, before any training step")):
        page.figure(f"ch5_edges_{part}_{state}", draw_layer(model, images, name, title, color),
                    f"The most important edges of {name} {when}: total (solid), SiLU term (blue, dashed) and "
                    "spline (orange, dashed)", records, profile)

# %% [markdown]
# ```{glue:figure} ch5_edges_token_trained
# :name: "fig-ch5-edges-token-trained"
#
# {glue:md}`ch5_edges_token_trained_caption`
# ```

# %% [markdown]
# ```{glue:figure} ch5_edges_token_init
# :name: "fig-ch5-edges-token-init"
#
# {glue:md}`ch5_edges_token_init_caption`
# ```

# %% [markdown]
# ```{glue:figure} ch5_edges_channel_trained
# :name: "fig-ch5-edges-channel-trained"
#
# {glue:md}`ch5_edges_channel_trained_caption`
# ```

# %% [markdown]
# ```{glue:figure} ch5_edges_channel_init
# :name: "fig-ch5-edges-channel-init"
#
# {glue:md}`ch5_edges_channel_init_caption`
# ```

# %% [markdown]
# ```{glue:figure} ch5_edges_ae_trained
# :name: "fig-ch5-edges-ae-trained"
#
# {glue:md}`ch5_edges_ae_trained_caption`
# ```

# %% [markdown]
# ```{glue:figure} ch5_edges_ae_init
# :name: "fig-ch5-edges-ae-init"
#
# {glue:md}`ch5_edges_ae_init_caption`
# ```

# %% [markdown]
# ## Symbolic fits
#
# For each layer of the first seed we take the most important edges and, among the more
# important half, the edges least like $a + b\,\mathrm{SiLU}(x)$, and fit each against a small
# library by least squares, as pykan's `suggest_symbolic` does: $a + b f(c u + d)$ with $u$ the
# edge's input rescaled to $[-1, 1]$, $f$ one of $x, x^2, x^3, |x|, \sin, \tanh, \exp,
# \mathrm{SiLU}$ and a Gaussian, the outer $a, b$ fitted exactly and the inner $c, d$ taken from
# a fixed grid (`interpret.library` documents it), plus each $f$ of the raw input. The table
# names the simplest form within 0.001 of the best $R^2$, in the library's order. Over a short
# input range a SiLU is close to a parabola or a line, so an edge that is exactly
# $a + b\,\mathrm{SiLU}(x)$ may be named $x^2$ or $x$ there: the columns with the $R^2$ of a
# straight line and of $a + b\,\mathrm{SiLU}(x)$ say whether the named form is anything an MLP
# edge does not already have. The untrained twin's top edges are fitted the same way.

# %% tags=["hide-input"]
display(page.table(studies.symbolic_table(study), "Symbolic fits of the top edges of the trained models (first "
                   "seed): the best library form and its R², next to the R² of a straight line and of a + b·SiLU(x)",
                   [kan_records[0], ae_record], profile, precision=3, names=NAMES))
display(page.table(studies.symbolic_forms(study), f"Best forms of the top edges with R² ≥ {interpret.GOOD_FIT} "
                   "(\"no fit\" below it), trained against untrained: number of edges", [kan_records[0], ae_record], profile, names=NAMES))

# %% [markdown]
# ## Where a token reads from
#
# In the first mixer block, the token-mixing network maps the $T$ patch positions to $T$
# patch positions through a hidden layer. `interpret.token_maps` composes the two layers'
# importances into one map per output token, $\text{second}\cdot\text{first}$ summed over the
# hidden units (pykan's path importance), normalised to sum to one, and lays it out on the
# patch grid. Both families get the same measure: an edge's importance is its mean absolute
# output on the probe images, $\overline{|\phi(x)|}$ for a KAN edge and $\overline{|w\,x|}$ for an
# MLP-Mixer's linear one. So a property the KAN-Mixer shows that the MLP-Mixer shows too
# belongs to trained mixers, not to KAN edges, and the conclusions say so.
# `interpret.locality` summarises a map as the mean distance it reads from, relative to a
# uniform map: below 1, a token reads near its own patch.

# %%
maps = study.maps  # "trained", "init" (the KAN-Mixer) and "mlp": one map per seed
side = maps["mlp"][0].shape[-1]
shown_tokens = sorted({0, side - 1, (side // 2) * side + side // 2, side * side - 1})

# %% [markdown]
# {numref}`fig-ch5-token-maps` draws the maps of a few output tokens of the first seed, and
# their mean over all output tokens.

# %% tags=["hide-input", "remove-output"]
rows = (("KAN-Mixer, trained", maps["trained"][0]), ("KAN-Mixer, init", maps["init"][0]),
        ("MLP-Mixer, trained", maps["mlp"][0]))
top = max(float(m.max()) for _, m in rows)  # one colour scale for every panel, so a flat map looks flat
fig, axes = plt.subplots(len(rows), len(shown_tokens) + 1, figsize=(1.9 * (len(shown_tokens) + 1) + 0.6,
                                                                    1.9 * len(rows)), squeeze=False)
for r, (label, m) in enumerate(rows):
    panels = [(m[t], f"output token {t}") for t in shown_tokens] + [(m.mean(0), "mean over outputs")]
    for c, (image, title) in enumerate(panels):
        ax = axes[r, c]
        shown_image = ax.imshow(image.numpy(), cmap="magma", vmin=0, vmax=top, interpolation="nearest")
        if c < len(shown_tokens):  # mark the output token's own patch
            ax.plot(shown_tokens[c] % side, shown_tokens[c] // side, "c+", ms=8)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title if r == 0 else "", fontsize=7)
    axes[r, 0].set_ylabel(label, fontsize=7)
fig.colorbar(shown_image, ax=axes, fraction=0.02, label="share of the map")
page.figure("ch5_token_maps", fig, "Token-mixing importance over the patch grid (first block, first seed): for a "
            "few output tokens (their own patch marked +) and averaged over all outputs; trained KAN-Mixer, the "
            f"same at initialisation, and the trained MLP-Mixer, measured the same way. A uniform map is "
            f"1/{side * side} everywhere",
            [kan_records[0], mlp_records[0]], profile)

# %% [markdown]
# ```{glue:figure} ch5_token_maps
# :name: "fig-ch5-token-maps"
#
# {glue:md}`ch5_token_maps_caption`
# ```

# %% [markdown]
# One caveat when reading the MLP-Mixer's row: built from the same seed, its first token-mixing
# Linear layer starts with exactly the weights of the KAN-Mixer's SiLU terms (both are the same
# Kaiming-uniform draw from the same random stream), so a resemblance between the two can be
# inherited from initialisation. The untrained KAN-Mixer's row shows what that start looks like.

# %% tags=["hide-input"]
display(page.table(studies.locality_table(study), "Token maps: locality (mean distance read, relative to a uniform "
                   "map; below 1 is local) and the share of each map held by its top 10% of input tokens "
                   "(uniform: 0.1), averaged over output tokens", study.mixer_records, profile, precision=3,
                   names={"locality": "locality (relative to uniform)",
                          "top 10% of inputs": "share held by the top 10% of inputs"}))

# %% [markdown]
# The autoencoder's first KAN layer reads pixels, so its importances map onto the image too:
# per pixel, the summed importance of its edges, trained and at initialisation
# ({numref}`fig-ch5-pixel-maps`).

# %% tags=["hide-input", "remove-output"]
pixel_maps = studies.pixel_maps(study, ae_layer)
top = max(float(m.max()) for m in pixel_maps.values())
fig, axes = plt.subplots(1, 2, figsize=(6, 2.8))
for ax, (label, m) in zip(axes, pixel_maps.items()):
    shown_image = ax.imshow(m.numpy(), cmap="magma", vmin=0, vmax=top)
    ax.set_title(f"KAN AE, {label}", fontsize=8)
    ax.axis("off")
fig.colorbar(shown_image, ax=axes, fraction=0.03, label="summed importance")
page.figure("ch5_pixel_maps", fig, f"Per-pixel importance of the KAN autoencoder's {ae_layer} (summed over its "
            "outputs), trained and at initialisation", [ae_record], profile)

# %% [markdown]
# ```{glue:figure} ch5_pixel_maps
# :name: "fig-ch5-pixel-maps"
#
# {glue:md}`ch5_pixel_maps_caption`
# ```

# %% [markdown]
# ## The same maps across seeds
#
# A hidden unit of one seed has no counterpart in another (any permutation of the hidden units
# computes the same function), so per-edge importances of hidden layers cannot be compared
# across seeds. Input tokens and output tokens are patch positions, the same in every seed, so
# the token maps can. `interpret.rank_agreement` gives Spearman's rank correlation between
# every pair of seeds, for the trained models and for their untrained twins; the untrained
# pairs show how much agreement the data alone produces. The trained MLP-Mixers' pairs show
# whether recurring maps are a KAN property or one of any trained mixer.

# %% tags=["hide-input"]
display(page.table(studies.seed_agreement_table(study), "Spearman rank correlation of the token maps between "
                   "seeds: the KAN-Mixer trained (trained) and untrained (init), and the trained MLP-Mixer (mlp)",
                   [*kan_records, *mlp_records], profile, precision=3))

# %% [markdown]
# ## Pruning that means something
#
# For each seed and each kept fraction, `interpret.prune_runs` ranks every KAN layer's edges by
# importance on the training images above, keeps that fraction of each layer, and removes the
# rest through a parametrisation that multiplies their SiLU weight and spline scale by zero,
# so they stay exactly zero while the model is fine-tuned for a short, fixed number of steps.
# Accuracy is measured on test images before pruning, right after, and after fine-tuning.
# Keeping every edge and fine-tuning anyway is the control for what fine-tuning alone does.
# Each of these runs is a results-store record naming its base run.
#
# Two controls decide what the pruning shows (`pruning_controls`):
# - **A random order.** The same fractions of the same trained models' edges, chosen at random
#   and fine-tuned the same way. Importance earns its keep only where it beats this.
# - **An MLP-Mixer pruned the usual way.** The MLP-Mixer whose hidden widths hold the
#   KAN-Mixer's parameter count (as in {doc}`03_kan_mixers`), trained on the same images, pruned
#   by weight magnitude in each mixing layer to the parameter count each pruned KAN-Mixer keeps,
#   and fine-tuned the same way. A small KAN-Mixer that a pruned MLP-Mixer of equal size matches
#   buys nothing by being a KAN.

# %% [markdown]
# The pruning table gives the mean over seeds; {numref}`fig-ch5-pruning` draws every seed.

# %% tags=["hide-input"]
pruning, pruning_records = study.pruning, study.pruning_records  # one row per seed and kept fraction
display(page.table(studies.pruning_means(study), f"Pruning by importance: mean over seeds {seeds} of the test "
                   f"accuracy (fraction of {n_eval} test images classified correctly) unpruned, pruned, and pruned "
                   f"then fine-tuned for {finetune_steps} steps; then the controls after the same fine-tuning (the "
                   "MLP-Mixer at the same parameter count)", [*pruning_records, *study.control_records], profile,
                   precision=4, names={"accuracy_unpruned": "unpruned", "accuracy_pruned": "pruned",
                                       "accuracy_finetuned": "pruned + fine-tuned",
                                       f"{studies.RANDOM}, fine-tuned": "random order",
                                       f"{studies.MAGNITUDE}, fine-tuned": "MLP-Mixer by magnitude"}))

# %% tags=["hide-input", "remove-output"]
fig, ax = plt.subplots(figsize=(5, 3.2))
for column, label, style in (("accuracy_pruned", "pruned", "o--"), ("accuracy_finetuned", "pruned + fine-tuned", "o-")):
    for s, part in pruning.groupby("seed"):
        ax.plot(part.keep, part[column], style, color="tab:purple" if "fine" in label else "0.5", alpha=0.7,
                label=label if s == seeds[0] else None)
for control, color in ((studies.RANDOM, "tab:orange"), (studies.MAGNITUDE, "tab:green")):
    part = study.controls[study.controls.control == control] if not study.controls.empty else study.controls
    for s, seed_part in (part.groupby("seed") if not part.empty else ()):
        ax.plot(seed_part.keep, seed_part.accuracy_finetuned, "s:", color=color, alpha=0.7,
                label=f"{control}, fine-tuned" if s == seeds[0] else None)
ax.axhline(pruning.accuracy_unpruned.mean(), color="k", lw=0.8, label="unpruned (mean)")
ax.set_xscale("log")
ax.set_xticks(sorted(pruning.keep.unique()), [f"{k:g}" for k in sorted(pruning.keep.unique())])
ax.minorticks_off()
ax.set_xlabel("fraction of edges kept")
ax.set_ylabel("test accuracy")
ax.legend(frameon=False, fontsize=8)
fig.tight_layout()
page.figure("ch5_pruning", fig, "Test accuracy against the fraction of the KAN-Mixer's edges kept, one line per "
            "seed; the controls after the same fine-tuning, the MLP-Mixer at the parameter count the KAN-Mixer "
            "keeps there", [*pruning_records, *study.control_records], profile)

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
# ## The price
#
# The KAN-Mixer against the MLP-Mixer of the same widths, from the records above: test
# accuracy, parameters and training time.

# %% tags=["hide-input"]
display(page.table(studies.cost_table(study), "Cost: means over each mixer's seeds (test accuracy as a fraction, "
                   "throughput in training images per second)", study.mixer_records, profile, names=NAMES,
                   units=UNITS))

# %% [markdown]
# ## What the numbers say
#
# The two answers below are computed from the measures above by `report.conclude_interpretability`
# and `report.conclude_cost`: every comparison is trained against untrained (or KAN against
# MLP), and a difference is called one only when it exceeds a 95% noise band built from the
# spread over seeds (and, for accuracies, the number of test images).
#
# ### What does the interpretability of these KAN vision models amount to?

# %%
display(Markdown(report.conclude_interpretability(study.evidence, "the KAN-Mixer")))

# %% [markdown]
# The autoencoder was trained with one seed, so its measures come without a noise band:

# %%
display(Markdown(report.conclude_interpretability(study.ae_evidence, "the KAN autoencoder")))

# %% [markdown]
# ### Is the added cost justified, compared with the MLP-Mixer?
#
# Here the comparison is with the MLP-Mixer of the same widths, which is much smaller and faster.

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
