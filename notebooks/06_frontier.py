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
# # Does the verdict change with scale?
#
# ```{glue:md} ch6_finding
# :format: myst
# ```
#
# {doc}`03_kan_mixers` compares the KAN-Mixer with MLP-Mixers at one size, about 2% of the
# paper's parameters, trained for the paper's 10 epochs. One size cannot say whether a larger
# budget would favour the KAN-Mixer. This chapter measures a *compute frontier* instead: each
# family along a scaling path that grows width and depth together toward the paper's
# configuration (patch 4, width 256, 8 blocks), each size trained for two lengths, with each
# point's accuracy plotted against the compute it cost. A family's frontier is the best accuracy
# it reached for at most a given compute; comparing two frontiers compares the families at equal
# cost, the question the paper's own claim of efficiency raises.

# %% tags=["parameters"]
profile = "smoke"  # injected by `python -m kanmix.book run --profile P`
# Each family: its mixer (kan_mixer or mlp_mixer), its (width, depth) sizes along the path, and its
# hidden widths as multiples of the width (token mixing: token_ratio, channel mixing: channel_ratio).
families = {
    "KAN-Mixer": {"model": "kan_mixer", "sizes": [[8, 1], [16, 1]], "channel_ratio": 1},
    "MLP-Mixer": {"model": "mlp_mixer", "sizes": [[16, 1], [32, 1]], "channel_ratio": 4},
    "MLP-Mixer (1×)": {"model": "mlp_mixer", "sizes": [[16, 1]], "channel_ratio": 1, "lr_from": "MLP-Mixer"},
}
datasets = ["fashion_mnist", "cifar10"]  # every size on the first; the sizes below on the others
other_datasets_sizes = {"KAN-Mixer": [[16, 1]], "MLP-Mixer": [[16, 1]]}
epochs = [1, 2]  # training lengths: each is its own run with its own schedule
# One size per family tries each lr; the best (fold-0 validation accuracy) is that family's lr.
lr_sweep = {"lrs": [0.002, 0.004], "epochs": 1, "sizes": {"KAN-Mixer": [16, 1], "MLP-Mixer": [32, 1]}}
frontier_seeds = [1]  # further seeds of the cheapest points on each family's frontier (first dataset) ...
seeded_points = 2  # ... this many of them per family
folds = 5  # the points are fold 0 of this partition (chapter 3's folds)
fold_runs = 1
patch = 8
subset: int | None = 300
batch_size = 128
weight_decay = 0.01
precision = "auto"
augment = {"hflip": 0.5, "rotate": 10.0}
paper_epochs = 10
timing_steps = 2  # batches per timed run of the side-by-side timing of every size (the seconds axis)
available_only = False  # True: read the records that exist, train nothing (a campaign under way)
seed = 0
workers = 1

# %%
from IPython.display import Markdown, display

from kanmix import report

report.setup()  # first: it silences the tqdm warning the imports below would print

from kanmix import page, studies  # noqa: E402

# %% tags=["show-input"]
study = studies.frontier_from_chapter(globals())  # every run of the chapter, from the parameters above

# %%
reading = studies.frontier_reading(study, families, datasets, paper_epochs=paper_epochs)  # the frontiers compared
page.findings(report.frontier_findings(reading.by_flops, reading.by_time, missing=study.missing), key="ch6_finding",
              show=False)  # pasted under the title

# %% [markdown]
# ## The answer
#
# Read the figure below from left to right as a growing budget. A family's line steps up only
# where one of its models beat every cheaper model of the same family, so the higher line at a
# given budget is the family to choose for that budget. The sentences compare the two lines at
# every budget where either has a point, and call a gap real only when it is larger than the
# noise band: how far two runs of one configuration that differ only in their seed land apart,
# 95% of the time.

# %% tags=["remove-input"]
display(Markdown(report.frontier_answer(study, reading.by_flops, reading.titles)))

# %% tags=["remove-input", "remove-output"]
report.glue_frontier(study, reading, profile)

# %% [markdown]
# ```{glue:figure} frontier
# :name: "fig-frontier"
#
# {glue:md}`frontier_caption`
# ```
#
# ## The protocol
#
# Every point is one model trained on fold 0 of chapter 3's 5-fold partition and scored on the
# held-out fold, with chapter 3's training recipe (AdamW, a 5% warm-up then a cosine decay to
# zero over the run's own length, flips and rotations). Each training length is a separate run
# with its own schedule, not a checkpoint of a longer run. Compute is counted two ways: training
# FLOPs, from the layer shapes (`kanmix.flops`: one multiply-add is two FLOPs, backward about
# twice forward, the KAN layers' basis functions included), and training seconds on this
# machine, in the conditions the records' provenance names.
#
# The MLP-Mixer family is the standard form of {ref}`Tolstikhin et al. <ref-mixer>`: token-mixing
# hidden width half the channel width, channel-mixing hidden width four times it. The variant
# with channel expansion 1 (chapter 3's MLP-Mixer) is drawn at a few sizes. The KAN-Mixer keeps
# the paper's ratios (token mixing half, channel mixing 1×).

# %% tags=["remove-input"]
display(Markdown(report.frontier_devices_text(study)))  # which device trained what

# %% tags=["remove-input"]
display(page.table(studies.frontier_sizes(study), "The scaling paths: each size's parameters and training FLOPs per "
                   "image", [], profile, names=report.FRONTIER_NAMES))

# %% [markdown]
# ### What this design cannot tell
#
# - Every point is one fold, so a point's own noise is the spread between seeds, measured only at
#   the points trained with several seeds and pooled over them; chapter 3's five folds measure the
#   fold-to-fold noise of one size.
# - The largest sizes stay well below the paper's configuration. Where a sentence speaks of the
#   paper's budget it reads a fitted line beyond the measured range, and says so.
# - Seconds are this machine's CPU seconds. A GPU changes the relative cost of the KAN layers'
#   basis functions, so the seconds panel does not transfer to other hardware; the FLOPs panel does.

# %% [markdown]
# ## One learning rate per family
#
# A single learning rate for every size is an assumption; the sweep tests it at one size per
# family before the campaign, and the family's best is used for all its points.

# %% tags=["remove-input"]
report.show_lr_sweep(study, lr_sweep, profile)

# %% [markdown]
# ## Every point
#
# The table lists every configuration with what it cost and what it scored, seeds averaged. The
# validation accuracy is the fold-0 score the frontier is drawn from; the test accuracy, on the
# official test split, is shown beside it and is not used to pick anything.

# %% tags=["remove-input"]
report.show_frontier_points(study, profile, workers=workers)

# %% [markdown]
# ## What longer training buys
#
# Chapter 3's models train for the paper's 10 epochs under a schedule that decays to zero, and
# its curves cannot say whether they would gain from more. Here every size on the scaling path
# is also trained for a longer run with its own schedule, so the gain from training longer is
# measured at each size, for each family, against the same noise band as the frontiers.

# %% tags=["remove-input"]
report.show_longer_training(study, reading, profile)

# %% [markdown]
# ## What the numbers say
#
# Whether the gap grows or shrinks with compute, where the fitted frontiers would cross, and what
# they imply at the paper's budget; then the same comparison by training time on this machine,
# where the KAN-Mixer's basis functions cost more than their FLOPs suggest.
#
# Each frontier is summarised by a straight line, accuracy against the logarithm of compute,
# fitted through its frontier points. The slope difference says whether the gap between the
# families widens or narrows as budgets grow, with an interval from the lines' standard errors.
# Accuracy cannot grow without limit, so a straight line describes the measured range only:
# a crossing or a gap read off the lines beyond that range is an extrapolation, and the
# sentences label it as one. With two frontier points a line has no error estimate, and then no
# trend is claimed at all.

# %% tags=["remove-input"]
display(Markdown(report.frontier_summary(reading.by_flops, reading.by_time, reading.titles)))

# %% [markdown]
# ## Provenance
#
# Every record behind this page's tables and figures, by kind: where and from which commit it was made,
# and how long it took. Each caption above names its profile, device and number of records.

# %% tags=["remove-input"]
display(page.provenance_table(profile))
