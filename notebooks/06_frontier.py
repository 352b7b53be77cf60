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
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from kanmix import data, frontier, page, report, studies, viz

report.setup()
study = studies.frontier_from_chapter(dict(
    families=families, datasets=datasets, other_datasets_sizes=other_datasets_sizes, epochs=epochs,
    lr_sweep=lr_sweep, frontier_seeds=frontier_seeds, seeded_points=seeded_points, folds=folds, fold_runs=fold_runs, patch=patch, subset=subset,
    batch_size=batch_size, weight_decay=weight_decay, precision=precision, augment=augment,
    timing_steps=timing_steps, available_only=available_only, seed=seed, workers=workers))
TITLES = {d: data.info(d).title for d in datasets}
COLOURS = viz.family_colours(families)
PAPER = studies.paper_frontier_marks(datasets, paper_epochs=paper_epochs)
KAN, MLP = list(families)[:2]
points = study.points
# The seconds axis: one side-by-side timing of every size on one machine when it exists; else the
# runs' own training seconds, which may come from several machines and sessions.
SECONDS = "timed_seconds" if study.timing is not None else "train_seconds"

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
comparisons = {d: frontier.compare(points, KAN, MLP, d, target=PAPER.get(d, [(None, None, None)])[0][1])
               for d in datasets}
by_time = {d: frontier.compare(points, KAN, MLP, d, x=SECONDS) for d in datasets}
lines = [f"**{TITLES[d]}.** " + report.frontier_gap_sentence(comparisons[d]) for d in datasets]
if study.missing:
    lines.insert(0, f"*This page shows a campaign under way: {report.count(study.missing, 'planned run')} of the "
                    "grid are not in the results store yet, so the frontiers below are incomplete.*")
display(Markdown("\n\n".join(lines)))

# %% tags=["remove-input", "remove-output"]
fig = viz.plot_frontier(points, datasets=datasets, titles=TITLES, families=COLOURS, paper=PAPER, seconds=SECONDS)
seconds_source = ("seconds from one side-by-side timing of every size, one thread, on "
                  f"{study.timing['provenance']['device']}" if study.timing is not None else
                  "seconds as each run recorded them (machines may differ between runs)")
page.figure("frontier", fig, f"Validation accuracy (fold 0) against training compute: FLOPs (left) and {seconds_source} "
            "(right). Large markers are seed means (circle: shorter training, square: longer), faint dots "
            "single seeds, lines each family's frontier; stars mark the paper's reported accuracies at the training "
            "FLOPs of its configuration", study.records, profile)

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

# %%
sizes = studies.frontier_sizes(study)
display(page.table(sizes, "The scaling paths: each size's parameters and training FLOPs per image",
                   [], profile, names={"params": "parameters", "flops_per_image": "training FLOPs per image"}))

# %% [markdown]
# ## One learning rate per family
#
# A single learning rate for every size is an assumption; the sweep tests it at one size per
# family before the campaign, and the family's best is used for all its points.

# %%
sweep = study.sweep.pivot_table(index=["family", "size"], columns="lr", values="val_accuracy")
display(page.table(sweep, "Learning-rate sweep: fold-0 validation accuracy per peak learning rate",
                   study.sweep_records, profile))
tried = sorted(lr_sweep["lrs"])
edge = [f for f in lr_sweep["sizes"] if f in study.lrs and study.lrs[f] in (tried[0], tried[-1])]
display(Markdown("Chosen: " + "; ".join(f"{f}: {lr:g}" for f, lr in study.lrs.items()) + "." + (
    f" For {report.listing(edge)} the best value is at the edge of the range tried, so a value beyond it might do "
    "better still: the sweep tests the single learning rate only within its range." if edge else "")))

# %% [markdown]
# ## Every point

# %%
table = points.groupby(["dataset", "family", "size", "epochs"], sort=False).agg(
    params=("params", "first"), flops=("flops", "first"), seconds=(SECONDS, "mean"),
    val_accuracy=("val_accuracy", "mean"), test_accuracy=("test_accuracy", "mean"), seeds=("seed", "count"))
display(page.table(table, f"Every point of the frontier: means over seeds (training time: {seconds_source})",
                   study.records, profile,
                   names={"params": "parameters", "flops": "training FLOPs", "seconds": "training time",
                          "val_accuracy": "val accuracy", "test_accuracy": "test accuracy"},
                   units={"seconds": "s"}))
display(Markdown(f"Recomputing this chapter from an empty results store: "
                 f"{report.recompute_time(study.records, workers=workers)}."))

# %% [markdown]
# ## What the numbers say
#
# Whether the gap grows or shrinks with compute, where the fitted frontiers would cross, and what
# they imply at the paper's budget; then the same comparison by training time on this machine,
# where the KAN-Mixer's basis functions cost more than their FLOPs suggest.

# %% tags=["remove-input"]
display(Markdown("\n\n".join(
    f"**{TITLES[d]}.** " + report.frontier_trend_sentence(comparisons[d]) + " "
    + report.frontier_crossing_sentence(comparisons[d]) + " By training time: "
    + report.frontier_gap_sentence(by_time[d], what="training seconds") for d in datasets)))
