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
# # The KAN layer up close
#
# Chapter 1 wrote a KAN edge as a SiLU term plus a spline. This chapter trains a small KAN
# classifier on real Fashion-MNIST images and opens one of its layers: how the two terms share
# the work on each edge, where the activations reaching a layer fall relative to its spline
# grid and what moving the grid to them does, what the sparsity regulariser measures, what
# the layer costs against other KAN implementations and the dense layer, and whether
# training in bfloat16 (bf16) changes the results of chapter 3.

# %% tags=["parameters"]
profile = "smoke"  # injected by `python -m kanmix.book run --profile P`
dataset = "fashion_mnist"
subset: int | None = 600  # training images, a stratified subsample of the official split
epochs = 1
hidden = [16]  # hidden widths of the KAN classifier: 784, hidden, 10
grid_size = 5
spline_order = 3
precision = "auto"  # fp32, bf16 (autocast) or auto
n_edges = 6  # edges drawn in the decomposition figure
n_probe = 2000  # test images whose activations the layer analysis reads
seed = 0
# Layer speed: shapes (rows, in, out) timed here in each dtype, or the JSON of
# `python -m kanmix.bench kan --json PATH` (e.g. measured on a GPU) to show instead of measuring.
bench_shapes = [[512, 64, 128]]
bench_repeats = 3
bench_dtypes = ["float32", "bfloat16"]
bench_json: str | None = None
# Precision parity: chapter 3's KAN-Mixer and MLP-Mixer trained on the same folds in each precision.
parity_models = {
    "KAN-Mixer": {"model": "kan_mixer", "model_kwargs": {"patch": 8, "dim": 16, "depth": 1, "token_hidden": 8,
                                                         "channel_hidden": 16, "dropout": 0.0}},
    "MLP-Mixer": {"model": "mlp_mixer", "model_kwargs": {"patch": 8, "dim": 16, "depth": 1, "token_hidden": 8,
                                                         "channel_hidden": 16, "dropout": 0.0}},
}
parity_folds = 2
parity_margin = 0.01  # the bf16 - float32 accuracy difference that would matter (an equivalence margin)
parity_subset: int | None = 200
parity_train = {"epochs": 1, "batch_size": 128, "lr": 2e-3, "weight_decay": 0.01,
                "augment": {"hflip": 0.5, "rotate": 10.0}}
workers = 1  # runs trained at a time, in worker processes that share the CPU threads

# %%
import copy
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from kanmix import data, grids, interpret, page, report, runner, runtime, stats, studies
from kanmix.bench import kan as bench_kan

report.setup()
NAMES = {"train_seconds": "training time per fold", "val_accuracy": "val accuracy", "std": "sd over folds"}
UNITS = {"train_seconds": "s"}

# %% [markdown]
# ## A trained KAN to look at
#
# The model is the plain KAN baseline of the KAN-Mixers paper: flattened pixels into a stack of
# `KANLinear` layers. `runner.record` trains it once and keeps the record and the weights in the
# results store, so re-executing this chapter reloads them instead of training again. An
# untrained twin (same architecture and seed, no training) is the control for every measure.

# %%
cfg = studies.layer_run(dict(dataset=dataset, subset=subset, seed=seed, hidden=hidden, grid_size=grid_size,
                             spline_order=spline_order, epochs=epochs, precision=precision))
record = runner.record(cfg, keep_weights=True)
model, untrained = runner.load_trained(cfg), runner.build(cfg).eval()
images, _ = data.load(dataset, "test")
probe = data.to_float(images[:n_probe])
acts = grids.layer_inputs(model, probe)  # what each layer sees on real test images
layer, second = model.kan.layers[1], "kan.layers.1"
display(Markdown(
    f"The classifier ({record['parameters']:,} parameters, widths {[784, *hidden, 10]}) reached a test accuracy of "
    f"{report.fmt(record['metrics']['test']['accuracy'])} after {report.count(epochs, 'epoch')} on {record['n_train']:,} images, "
    f"in {report.fmt(record['train_seconds'], 3)} s of training ({record['config']['train']['precision']})."))

# %% [markdown]
# ## Base plus spline
#
# Every edge computes $\phi(x) = w^{\text{base}}\,\mathrm{SiLU}(x) + s \sum_j c_j B_j(x)$. The base
# term is a scaled SiLU and is the only part that is non-zero outside the knots; the spline adds
# a bounded, local correction inside them. How much of an edge is spline is measured by its
# *spline share* $S / (S + B)$, with $S$ and $B$ the mean $|\text{spline}|$ and
# $|\text{base}|$ over the inputs that edge actually sees (`kanmix.interpret.spline_share`):
# 0 for a pure scaled SiLU, 1 for a pure spline.

# %%
edges = {state: interpret.edge_table(m, probe) for state, m in (("trained", model), ("untrained", untrained))}
share = pd.DataFrame({state: t.groupby("layer", sort=False)["spline_share"].median() for state, t in edges.items()})
share.index = ["layer 1 (pixels → hidden)", "layer 2 (hidden → classes)"]
display(page.table(share, "Median spline share S / (S + B) of the edges of each layer over real test inputs, trained "
                   "and at initialisation", [record], profile, precision=3))
weighted = {state: float(np.average(t["spline_share"].fillna(0), weights=t["importance"]))
            for state, t in edges.items()}
display(Markdown(
    f"In the trained model the median edge is {report.fmt(100 * share.loc[share.index[1], 'trained'], 2)}% spline in the "
    f"second layer ({report.fmt(100 * share.loc[share.index[1], 'untrained'], 2)}% at initialisation) and "
    f"{report.fmt(100 * share.loc[share.index[0], 'trained'], 2)}% in the first; weighted by edge importance, the "
    f"spline carries {report.fmt(100 * weighted['trained'], 2)}% of the edges' magnitude "
    f"({report.fmt(100 * weighted['untrained'], 2)}% untrained, a factor of "
    f"{report.fmt(weighted['trained'] / weighted['untrained'], 3)})."))

# %% tags=["hide-input", "remove-output"]
importance = layer.edge_importance(acts[second])  # (out, in)
top = torch.topk(importance.flatten(), n_edges).indices
lo, hi = float(acts[second].min()), float(acts[second].max())
ef = layer.edge_functions(n=300, x_range=(min(lo, -1.5), max(hi, 1.5)))
fig, axes = plt.subplots(1, n_edges, figsize=(2.4 * n_edges, 2.4), sharex=True)
for ax, flat in zip(np.atleast_1d(axes), top.tolist()):
    o, i = divmod(flat, layer.in_features)
    ax.plot(ef.x[i], ef.base[o, i], color="tab:blue", lw=1, label="base (SiLU)")
    ax.plot(ef.x[i], ef.spline[o, i], color="tab:orange", lw=1, label="spline")
    ax.plot(ef.x[i], ef.total[o, i], color="k", lw=1.6, label="edge φ")
    ax.axvspan(*layer.grid_range, color="0.93", zorder=0)
    ax.set_title(f"in {i} → class {o}", fontsize=9)
np.atleast_1d(axes)[0].legend(fontsize=7, frameon=False)
fig.tight_layout()
page.figure("edges", fig, f"The {n_edges} most important edges of the second KAN layer, split into their SiLU base "
            "and spline terms; shaded: the spline grid range", [record], profile)

# %% [markdown]
# ```{glue:figure} edges
# :name: "fig-edges"
#
# {glue:md}`edges_caption`
# ```
#
# ## Moving the grid to the data
#
# The spline lives on a fixed grid, $[-1, 1]$ by default. Pixels scaled to $[-1, 1]$ fit it, but
# the activations a *hidden* layer produces need not, and even inside the grid they can crowd
# into a few knot intervals, leaving the coefficients on the others idle. `update_grid(x)`
# moves the knots to the quantiles of the activations it is given (mixed with a uniform grid
# by `grid_eps`) and refits the spline coefficients by least squares, so that the layer
# computes the same function on those activations, now with its knots where the data is.

# %%
after = copy.deepcopy(layer)
after.update_grid(acts[second])
with torch.no_grad():
    y_before, y_after = layer(acts[second]), after(acts[second])
change = float((y_after - y_before).abs().max() / y_before.abs().max())
k = layer.spline_order
occupancy = pd.DataFrame({
    "inputs inside the grid": [1 - grids.outside_grid(m, acts[second]) for m in (layer, after)],
    "knot intervals holding ≥ 1% of their input": [grids.knot_occupancy(m, acts[second]) for m in (layer, after)],
    "grid range of input 0": [f"[{m.grid[0, k]:.2f}, {m.grid[0, -k - 1]:.2f}]" for m in (layer, after)],
}, index=["before update_grid", "after update_grid"])
display(page.table(occupancy, "Where the second layer's knots sit relative to its real inputs", [record], profile,
                   precision=3))
display(Markdown(
    f"Before the update {report.fmt(100 * occupancy.iloc[0, 0], 3)}% of the second layer's inputs were inside its grid "
    f"and {report.fmt(100 * occupancy.iloc[0, 1], 3)}% of its knot intervals were in use; after it, "
    f"{report.fmt(100 * occupancy.iloc[1, 0], 3)}% and {report.fmt(100 * occupancy.iloc[1, 1], 3)}%. The layer's output "
    f"on these inputs moved by at most {report.fmt(100 * change, 2)}% of its largest value (the refit's error)."))

# %% tags=["hide-input", "remove-output"]
busiest = int(acts[second].std(0).argmax())
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3))
ax0.hist(acts[second][:, busiest].numpy(), bins=60, color="0.6")
for t in layer.grid[busiest]:
    ax0.axvline(float(t), color="tab:blue", lw=0.8, alpha=0.7)
for t in after.grid[busiest]:
    ax0.axvline(float(t), color="tab:red", lw=0.8, ls="--")
ax0.set_title(f"input {busiest}: activations, knots before (blue) and after (red)", fontsize=9)
o = int(importance[:, busiest].argmax())
e_before, e_after = (m.edge_functions(n=300, x_range=(lo, hi)) for m in (layer, after))
ax1.plot(e_before.x[busiest], e_before.total[o, busiest], color="tab:blue", lw=2, label="before")
ax1.plot(e_after.x[busiest], e_after.total[o, busiest], color="tab:red", lw=1, ls="--", label="after")
ax1.set_title(f"edge in {busiest} → class {o} over the activations' range", fontsize=9)
ax1.legend(frameon=False, fontsize=8)
fig.tight_layout()
page.figure("grid_update", fig, "A grid update on real hidden activations: the knots move to the data and the edge "
            "function is kept where the data is", [record], profile)

# %% [markdown]
# ```{glue:figure} grid_update
# :name: "fig-grid-update"
#
# {glue:md}`grid_update_caption`
# ```
#
# Neither paper mentions updating grids; both train on the fixed $[-1, 1]$ grid. Chapter 3
# measures how much of a KAN-Mixer's inputs fall outside it during training and compares
# handlings.
#
# ## The regulariser
#
# The KAN paper sparsifies networks with an L1 penalty on the size of each edge plus an
# entropy term that rewards concentrating that size on few edges. efficient-KAN, and
# `KANLinear`, measure an edge's size by its mean absolute spline coefficient
# $|c_{oi}| = \mathrm{mean}_j |c_{oij}|$:
#
# $$ \mathcal{R} = \lambda_1 \sum_{o,i} |c_{oi}| \;-\; \lambda_H \sum_{o,i} p_{oi} \log p_{oi},
#    \qquad p_{oi} = \frac{|c_{oi}|}{\sum_{o',i'} |c_{o'i'}|}. $$
#
# That size ignores the spline scaler $s$ and the base weight, so it is not what an edge
# contributes. Neither paper trains with the penalty, and neither do the models of this book;
# the table gives its two terms for the trained layers and the untrained twin, and, as a
# measure of how concentrated the edges really are, the share of the total edge importance
# (mean $|\phi|$ over real inputs, base and scaler included) held by the top 10% of edges.

# %%
rows = []
for name, lay_t, lay_u in (("layer 1 (pixels → hidden)", model.kan.layers[0], untrained.kan.layers[0]),
                           ("layer 2 (hidden → classes)", layer, untrained.kan.layers[1])):
    key = "kan.layers.0" if lay_t is model.kan.layers[0] else second
    for state, lay, table_ in (("trained", lay_t, edges["trained"]), ("untrained", lay_u, edges["untrained"])):
        with torch.no_grad():
            rows.append({"layer": name, "state": state,
                         "L1 term": float(lay.regularization_loss(l1=1.0, entropy=0.0)),
                         "normalised entropy": float(lay.regularization_loss(l1=0.0, entropy=1.0))
                         / float(np.log(lay.in_features * lay.out_features)),
                         "importance held by the top 10% of edges": interpret.top_share(
                             table_[table_.layer == key]["importance"].to_numpy(), 0.1)})
reg = pd.DataFrame(rows).set_index(["layer", "state"])
display(page.table(reg, "The two terms of the KAN sparsity regulariser, and the concentration of edge importance",
                   [record], profile, precision=3))
top_t = reg.xs("trained", level="state")["importance held by the top 10% of edges"]
top_u = reg.xs("untrained", level="state")["importance held by the top 10% of edges"]
display(Markdown(
    "The top 10% of edges hold " + report.listing(
        f"{report.fmt(100 * top_t[n], 3)}% of the importance in {n} ({report.fmt(100 * top_u[n], 3)}% untrained)"
        for n in top_t.index) + " (10% would be an even spread)."))

# %% [markdown]
# ## What it costs: the layer against its peers and the dense limit
#
# `python -m kanmix.bench kan` times one forward and backward pass (gradients for the input and
# every parameter) of `KANLinear` against the plain efficient-KAN formulation (`reference`,
# `KANLinear.plain_forward`: the bases materialised, two `F.linear` calls), the PyPI KAN layers
# `flashkan` and `inkan` when installed, `nn.Linear`, and the **dense limit**: the feature matrix
# a KAN layer multiplies, $(\text{rows}, \text{in}\cdot(G+k+1))$, precomputed, times a weight —
# three GEMMs and no basis work, the floor for any layer that computes a KAN this way. In
# bfloat16 every contender but the limit runs under autocast, as a user would run it, and the
# limit multiplies bf16 tensors. All contenders and both dtypes run interleaved, round by
# round, and the table gives medians.

# %%
if bench_json:
    if not Path(bench_json).is_file():
        raise FileNotFoundError(f"bench_json={bench_json!r} is not a file; write one with "
                                "`python -m kanmix.bench kan --json PATH`, or leave bench_json unset to measure here")
    bench, bench_records = json.loads(Path(bench_json).read_text()), []
    bench_origin = f"measured by `python -m kanmix.bench kan`, read from {Path(bench_json).name}"
else:
    bench_records = [bench_kan.stored(bench_shapes, bench_repeats, bench_dtypes, runtime.default_device())]
    bench, bench_origin = bench_records[0]["shapes"], None
contenders = [n for n in bench_kan.NAMES if any(r.get(n) is not None for r in bench)]
speed = pd.DataFrame([{"rows, in → out": f"{r['shape'][0]}, {r['shape'][1]} → {r['shape'][2]}",
                       "dtype": r.get("dtype", "float32"), **{f"{n} ms": r.get(n) for n in contenders}}
                      for r in bench]).set_index(["rows, in → out", "dtype"])
speed["kanmix / limit"] = speed["kanmix ms"] / speed["limit ms"]
speed["reference / kanmix"] = speed["reference ms"] / speed["kanmix ms"]
speed["reference / limit"] = speed["reference ms"] / speed["limit ms"]
speed["kanmix KiB / row"] = [(r.get("peak_bytes") or {}).get("kanmix") for r in bench]
speed["kanmix KiB / row"] = speed["kanmix KiB / row"] / [r["shape"][0] * 1024 for r in bench]
display(page.table(speed, f"Forward + backward time of one layer (grid {bench_kan.GRID_SIZE}, order "
                   f"{bench_kan.SPLINE_ORDER}), medians of {bench_repeats} steps", bench_records, profile, precision=3,
                   source=bench_origin))

# %%
lines = []
for dtype, part in speed.groupby(level="dtype", sort=False):
    part = part.droplevel("dtype")
    line = (f"In {dtype}, `KANLinear` runs at {report.span(part['kanmix / limit'])}× the dense limit and "
            f"{report.span(part['reference / kanmix'])}× faster than the plain formulation")
    if len(part) > 1:
        worst, best = part["reference / limit"].idxmax(), part["reference / limit"].idxmin()
        line += (f"; the plain formulation suffers most, relative to its GEMMs, at ({worst}) "
                 f"({report.fmt(part.loc[worst, 'reference / limit'], 3)}× the limit) and least at ({best}) "
                 f"({report.fmt(part.loc[best, 'reference / limit'], 3)}×)")
    lines.append(line + ".")
    peers = [p for p in ("flashkan", "inkan") if f"{p} ms" in part and part[f"{p} ms"].notna().all()]
    for p in peers:
        faster = int((part["kanmix ms"] < part[f"{p} ms"]).sum())
        lines.append(f"In {dtype}, `KANLinear` is faster than `{p}` at {faster} of {len(part)} shapes.")
if {"float32", "bfloat16"} <= set(speed.index.get_level_values("dtype")):
    gain = (speed.xs("float32", level="dtype")["kanmix ms"] / speed.xs("bfloat16", level="dtype")["kanmix ms"])
    lines.append("bf16 makes `KANLinear` " + report.listing(f"{report.fmt(g, 3)}× faster at ({s})" for s, g in gain.items())
                 + f" than float32 on this machine ({bench_records[0]['provenance']['device'] if bench_records else 'see the caption'}).")
display(Markdown("\n".join(f"- {line}" for line in lines)))

# %% tags=["hide-input", "remove-output"]
fig, axes = plt.subplots(1, len(speed.index.get_level_values("dtype").unique()), figsize=(12, 1.2 + 0.9 * len(bench_shapes)),
                         squeeze=False, sharey=True)
others = [n for n in contenders if n != "limit"]
height = 0.8 / len(others)
for ax, (dtype, part) in zip(axes[0], speed.groupby(level="dtype", sort=False)):
    part = part.droplevel("dtype")
    for j, name in enumerate(others):
        ax.barh(np.arange(len(part)) + j * height, part[f"{name} ms"], height, label=name)
    for k, limit in enumerate(part["limit ms"]):
        ax.vlines(limit, k - height / 2, k + 0.8 - height / 2, colors="k", linestyles="--",
                  label="dense limit" if k == 0 else None)
    ax.set_yticks(np.arange(len(part)) + 0.4 - height / 2, part.index)
    ax.set_xscale("log")
    ax.set_xlabel("forward + backward, ms (log)")
    ax.set_title(dtype, fontsize=10)
axes[0, 0].invert_yaxis()
axes[0, -1].legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
fig.tight_layout()
page.figure("speed", fig, "Layer time against the peers in each dtype; the dashed line is the dense limit, the "
            "three-GEMM floor", bench_records, profile, source=bench_origin)

# %% [markdown]
# ```{glue:figure} speed
# :name: "fig-speed"
#
# {glue:md}`speed_caption`
# ```
#
# A ratio slightly under 1 against the limit is possible: the limit streams its precomputed
# feature matrix and that matrix's gradient through main memory, while `KANLinear` builds each
# block of features in cache.
#
# ## Training in bfloat16
#
# On CPUs with bf16 units (AMX on recent Xeons, AVX-512 BF16 on AMD Zen 4 and later) a bf16
# matrix product is several times faster than a float32 one. `TrainConfig(precision="bf16")`
# runs the forward pass under bf16 autocast — `KANLinear` builds its bases in float32, writes
# the features in bf16 and multiplies in bf16 with float32 accumulation — while the weights,
# the AdamW state and the loss stay float32. Does that change the results? Chapter 3's
# KAN-Mixer and MLP-Mixer train here on the same folds, with the same seeds, in both precisions
# (the bf16 runs are chapter 3's own). The question is one of equivalence: is any bf16 effect
# smaller than a margin that would matter, here one point of accuracy (`parity_margin`)? The
# margin was written into the chapter after the committed runs existed, so a reader should weigh
# it as a stated threshold, not a preregistered one.

# %%
parity, parity_records = studies.parity_from_chapter(dict(
    dataset=dataset, parity_models=parity_models, parity_folds=parity_folds, parity_train=parity_train,
    parity_subset=parity_subset, workers=workers))
by = parity.groupby(["model", "precision"], sort=False)
parity_table = by.agg(val_accuracy=("val_accuracy", "mean"), std=("val_accuracy", "std"),
                      train_seconds=("train_seconds", "mean"))
display(page.table(parity_table, f"{data.info(dataset).title}: {parity_folds}-fold CV of the same models, seeds and "
                   "folds in float32 and bf16", parity_records, profile, names=NAMES, units=UNITS))
verdicts = []
for label in parity_models:
    fp32, bf16 = parity_table.loc[(label, "fp32")], parity_table.loc[(label, "bf16")]
    wide = parity[parity.model == label].pivot(index="fold", columns="precision", values="val_accuracy")
    res = stats.paired_comparison(wide["bf16"], wide["fp32"], folds=parity_folds, confidence=0.90)
    verdicts.append(f"{label}: " + report.equivalence_sentence(res, margin=parity_margin)
                    + f" bf16 trained {report.fmt(fp32['train_seconds'] / bf16['train_seconds'], 3)}× as fast")
display(Markdown("Mean held-out accuracy, bf16 against float32, as an equivalence test (two one-sided tests at "
                 "0.05: the corrected 90% interval must lie inside the margin): " + "; ".join(verdicts) + "."))
speedup = {label: parity_table.loc[(label, "fp32"), "train_seconds"] / parity_table.loc[(label, "bf16"), "train_seconds"]
           for label in parity_models}
if {"KAN-Mixer", "MLP-Mixer"} <= set(parity_models):
    ratio = {p: parity_table.loc[("KAN-Mixer", p), "train_seconds"] / parity_table.loc[("MLP-Mixer", p), "train_seconds"]
             for p in ("bf16", "fp32")}
    display(Markdown(
        f"bf16 speeds the KAN-Mixer {report.fmt(speedup['KAN-Mixer'], 2)}× and the MLP-Mixer "
        f"{report.fmt(speedup['MLP-Mixer'], 2)}×, so the KAN-Mixer takes {report.fmt(ratio['bf16'], 2)}× the MLP-Mixer's "
        f"training time in bf16 and {report.fmt(ratio['fp32'], 2)}× in float32. Chapter 3 matches training time in "
        "bf16 on this CPU: " + ("a match made in float32 would give the MLP-Mixer more epochs, so the bf16 match is the "
                                "more generous to the KAN-Mixer." if ratio["fp32"] > ratio["bf16"] else
                                "a match made in float32 would give the MLP-Mixer fewer epochs, so the bf16 match is "
                                "the less generous to the KAN-Mixer.")))

# %% [markdown]
# ## What the numbers say

# %%
points = [
    f"**Base and spline.** Weighted by importance, the spline carries {report.fmt(100 * weighted['trained'], 2)}% of the "
    f"trained edges' magnitude against {report.fmt(100 * weighted['untrained'], 2)}% at initialisation "
    f"({report.fmt(weighted['trained'] / weighted['untrained'], 3)}×); the rest is the SiLU base.",
    f"**Grid.** {report.fmt(100 * occupancy.iloc[0, 0], 3)}% of the second layer's inputs sat inside its grid and "
    f"{report.fmt(100 * occupancy.iloc[0, 1], 3)}% of its knot intervals were in use; a grid update raised these to "
    f"{report.fmt(100 * occupancy.iloc[1, 0], 3)}% and {report.fmt(100 * occupancy.iloc[1, 1], 3)}% at the cost of a "
    f"{report.fmt(100 * change, 2)}% change of the output.",
    *lines,
    "**bf16.** " + "; ".join(verdicts) + ".",
    f"Recomputing this chapter from an empty results store: "
    f"{report.recompute_time([record, *bench_records, *parity_records], workers=workers)}.",
]
display(Markdown("\n".join(f"- {p}" for p in points)))
