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
# the work on each edge, what happens when the activations reaching a layer leave the spline
# grid and the grid is moved to them, what the sparsity regulariser measures, and what all
# this costs in time against other KAN implementations and the dense layer.

# %% tags=["parameters"]
profile = "smoke"  # injected by `python -m kanmix.book run --profile P`
dataset = "fashion_mnist"
subset: int | None = 600  # training images, a stratified subsample of the official split
epochs = 1
hidden = [16]  # hidden widths of the KAN classifier: 784, hidden, 10
grid_size = 5
spline_order = 3
n_edges = 6  # edges drawn in the decomposition figure
seed = 0
# Layer speed: shapes (rows, in, out) timed here, or the JSON of `python -m kanmix.bench kan --json PATH`
# (e.g. measured on a GPU) to show instead of measuring.
bench_shapes = [[512, 64, 128]]
bench_repeats = 3
bench_json: str | None = None

# %%
import contextlib
import json
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from kanmix import book, data, report, results, runner, runtime
from kanmix.experiment import ClassificationRun
from kanmix.bench import kan as bench_kan

report.setup()  # widget warning off, inline figures, the book's figure style

# %% [markdown]
# ## A trained KAN to look at
#
# The model is the plain KAN baseline of the KAN-Mixers paper: flattened pixels into a stack of
# `KANLinear` layers. `runner.run` trains it once and stores the record and
# the weights in the results store, so re-executing this chapter reloads them instead of
# training again.

# %%
cfg = ClassificationRun.from_dict({"dataset": dataset, "model": "kan", "subset": subset, "seed": seed,
       "model_kwargs": {"hidden": hidden, "grid_size": grid_size, "spline_order": spline_order},
       "train": {"epochs": epochs}})
record = runner.run(cfg, keep_weights=True)
model = runner.load_trained(cfg)
images, labels = data.load(dataset, "test")
x = data.to_float(images[:2000]).flatten(1)
with torch.no_grad():
    hidden_acts = model.kan.layers[0](x)  # what the second layer sees
print(f"test accuracy {record['metrics']['test']['accuracy']:.4f} after {epochs} epoch(s) on {record['n_train']} "
      f"images; {record['parameters']:,} parameters; trained in {record['train_seconds']:.1f} s")

# %% [markdown]
# ## Base plus spline
#
# Every edge computes $\phi(x) = w^{\text{base}}\,\mathrm{SiLU}(x) + s \sum_j c_j B_j(x)$. The base
# term is a scaled SiLU and is the only part that is non-zero outside the knots; the spline
# adds a bounded, local correction inside them. `KANLinear.edge_functions` samples the two terms
# separately. The figure shows the edges of the second layer that carry the most signal on real
# inputs (by `edge_importance`, the mean $|\phi(x)|$ over the activations that reach them).

# %%
layer = model.kan.layers[1]
importance = layer.edge_importance(hidden_acts)  # (out, in)
top = torch.topk(importance.flatten(), n_edges).indices
lo, hi = float(hidden_acts.min()), float(hidden_acts.max())
edges = layer.edge_functions(n=300, x_range=(min(lo, -1.5), max(hi, 1.5)))
fig, axes = plt.subplots(1, n_edges, figsize=(2.4 * n_edges, 2.4), sharex=True)
for ax, flat in zip(np.atleast_1d(axes), top.tolist()):
    o, i = divmod(flat, layer.in_features)
    xs = edges.x[i]
    ax.plot(xs, edges.base[o, i], color="tab:blue", lw=1, label="base (SiLU)")
    ax.plot(xs, edges.spline[o, i], color="tab:orange", lw=1, label="spline")
    ax.plot(xs, edges.total[o, i], color="k", lw=1.6, label="edge φ")
    ax.axvspan(*layer.grid_range, color="0.93", zorder=0)
    ax.set_title(f"in {i} → class {o}", fontsize=9)
np.atleast_1d(axes)[0].legend(fontsize=7, frameon=False)
fig.tight_layout()
plt.show()
display(book.caption(f"Figure 2.1 — the {n_edges} most important edges of the second KAN layer, split into "
                     "their SiLU base and spline terms; shaded: the spline grid range", [record], profile))

# %% [markdown]
# ## Moving the grid to the data
#
# The spline lives on a fixed grid, $[-1, 1]$ by default. Pixels scaled to $[-1, 1]$ fit it, but
# the activations a *hidden* layer produces need not. Whatever falls outside the grid sees only
# the SiLU term: the spline's capacity is spent where no data is. `update_grid(x)` moves the
# knots to the quantiles of the activations it is given (mixed with a uniform grid by
# `grid_eps`) and refits the spline coefficients by least squares, so the layer computes the
# same function on those activations as before — only now with its knots where the data is.

# %%
import copy

before = layer
after = copy.deepcopy(layer)
after.update_grid(hidden_acts)
with torch.no_grad():
    y_before, y_after = before(hidden_acts), after(hidden_acts)
k = layer.spline_order


def inside(lay) -> float:
    """Fraction of the activations that fall inside each input's grid range."""
    return float(((hidden_acts >= lay.grid[:, k]) & (hidden_acts <= lay.grid[:, -k - 1])).float().mean())


def occupied(lay) -> float:
    """Fraction of the knot intervals inside the grid range that hold at least 1% of an input's activations."""
    knots = lay.grid[:, k:-k]  # (in, G + 1)
    counts = ((hidden_acts.t().unsqueeze(-1) >= knots[:, None, :-1]) & (hidden_acts.t().unsqueeze(-1) < knots[:, None, 1:]))
    return float((counts.float().mean(1) >= 0.01).float().mean())


change = (y_after - y_before).abs().max() / y_before.abs().max()
summary = pd.DataFrame({
    "activations inside the grid": [inside(before), inside(after)],
    "knot intervals in use": [occupied(before), occupied(after)],
    "grid range of input 0": [f"[{before.grid[0, k]:.2f}, {before.grid[0, -k - 1]:.2f}]",
                              f"[{after.grid[0, k]:.2f}, {after.grid[0, -k - 1]:.2f}]"],
}, index=["before update_grid", "after update_grid"])
display(book.table(summary, "Table 2.1 — where the second layer's knots sit relative to its real inputs",
                   [record], profile, precision=3))
print(f"Before the update {inside(before):.1%} of the activations were inside the grid and "
      f"{occupied(before):.0%} of the knot intervals held at least 1% of an input's activations; after it, "
      f"{inside(after):.1%} and {occupied(after):.0%}. The layer's output on these activations moved by at most "
      f"{float(change):.2%} of its largest value (the least-squares refit error).")

# %%
busiest = int(hidden_acts.std(0).argmax())
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3))
ax0.hist(hidden_acts[:, busiest].numpy(), bins=60, color="0.6")
for t in before.grid[busiest]:
    ax0.axvline(float(t), color="tab:blue", lw=0.8, alpha=0.7)
for t in after.grid[busiest]:
    ax0.axvline(float(t), color="tab:red", lw=0.8, ls="--")
ax0.set_title(f"input {busiest}: activations, knots before (blue) and after (red)", fontsize=9)
o = int(importance[:, busiest].argmax())
e_before = before.edge_functions(n=300, x_range=(lo, hi))
e_after = after.edge_functions(n=300, x_range=(lo, hi))
ax1.plot(e_before.x[busiest], e_before.total[o, busiest], color="tab:blue", lw=2, label="before")
ax1.plot(e_after.x[busiest], e_after.total[o, busiest], color="tab:red", lw=1, ls="--", label="after")
ax1.set_title(f"edge in {busiest} → class {o} over the activations' range", fontsize=9)
ax1.legend(frameon=False, fontsize=8)
fig.tight_layout()
plt.show()
display(book.caption("Figure 2.2 — grid update on real hidden activations: the knots move to the data and "
                     "the edge function is preserved where the data is", [record], profile))

# %% [markdown]
# ## The regulariser
#
# The KAN paper sparsifies networks with an L1 penalty on the size of each edge plus an entropy
# term that rewards concentrating that size on few edges. efficient-KAN, and `KANLinear`,
# measure an edge's size by the mean absolute spline coefficient $|c_{oi}| =
# \mathrm{mean}_j |c_{oij}|$:
#
# $$ \mathcal{R} = \lambda_1 \sum_{o,i} |c_{oi}| \;-\; \lambda_H \sum_{o,i} p_{oi} \log p_{oi},
#    \qquad p_{oi} = \frac{|c_{oi}|}{\sum_{o',i'} |c_{o'i'}|}. $$
#
# The entropy is at most $\log(\#\text{edges})$ (all edges equal) and zero when a single edge
# holds everything. Neither paper trains with it — the models in chapters 3 and 4 do not either —
# but it is the knob that makes pruning (chapter 5) work well, so here are its two terms for the
# trained layers next to a freshly initialised copy.

# %%
rows = []
for name, lay in [("layer 1 (pixels → hidden)", model.kan.layers[0]), ("layer 2 (hidden → classes)", layer)]:
    for state, module in [("trained", lay), ("at init", type(lay)(lay.in_features, lay.out_features,
                                                                 grid_size=lay.grid_size, spline_order=lay.spline_order))]:
        with torch.no_grad():
            l1 = float(module.regularization_loss(l1=1.0, entropy=0.0))
            ent = float(module.regularization_loss(l1=0.0, entropy=1.0))
        rows.append({"layer": name, "state": state, "L1 term": l1, "entropy": ent,
                     "max entropy": float(np.log(lay.in_features * lay.out_features))})
display(book.table(pd.DataFrame(rows).set_index(["layer", "state"]),
                   "Table 2.2 — the two terms of the KAN sparsity regulariser", [record], profile))

# %% [markdown]
# ## What it costs: the layer against its peers and the dense limit
#
# `python -m kanmix.bench kan` times one forward and backward pass (gradients for the input and
# every parameter) of `KANLinear` against the plain efficient-KAN formulation (`reference`), the
# PyPI KAN layers `flashkan` and `inkan`, `nn.Linear`, and the **dense limit**: the feature
# matrix a KAN layer multiplies, $(\text{rows}, \text{in}\cdot(G+k+1))$, precomputed, times a
# weight — three GEMMs and no basis work, the floor for any layer that computes a KAN this
# way. The contenders run interleaved, round by round, and the table gives medians. Under the smoke
# profile the shapes are small and measured here; `bench_json` shows a stored run instead.

# %%
@contextlib.contextmanager
def quiet_native_stderr():
    """Silence file descriptor 2 for a block: the torch profiler behind the benchmark's CPU memory
    numbers logs two native lines per measurement, which would otherwise fill the chapter."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


if bench_json:
    if not Path(bench_json).is_file():
        raise FileNotFoundError(f"bench_json={bench_json!r} is not a file; write one with "
                                "`python -m kanmix.bench kan --json PATH`, or leave bench_json unset to measure here")
    bench = json.loads(Path(bench_json).read_text())
    bench_records = []
    # The benchmark's JSON records shapes and timings, not the machine: the caption names the file.
    bench_note = "medians per shape"
    bench_origin = f"measured by `python -m kanmix.bench kan`, read from {Path(bench_json).name}"
else:
    device = runtime.default_device()

    def measure() -> dict:
        with quiet_native_stderr():
            return {"shapes": [bench_kan.bench_shape(r, i, o, device, repeats=bench_repeats, warmup=1)
                               for r, i, o in bench_shapes]}

    # A results-store record like every other number in the book: a rebuild shows the stored
    # measurement (its caption names the record); delete the record to measure again.
    bench_cfg = {"kind": "bench_kan", "shapes": bench_shapes, "repeats": bench_repeats, "device": device.type}
    bench_records = [results.cached_run(bench_cfg, measure)]
    bench = bench_records[0]["shapes"]
    bench_note = f"medians of {bench_repeats} steps"
    bench_origin = None
contenders = [n for n in bench_kan.NAMES if any(r.get(n) is not None for r in bench)]
speed = pd.DataFrame([{"rows, in → out": f"{r['shape'][0]}, {r['shape'][1]} → {r['shape'][2]}",
                       **{f"{n} ms": r.get(n) for n in contenders}} for r in bench]).set_index("rows, in → out")
speed["kanmix / limit"] = speed["kanmix ms"] / speed["limit ms"]
speed["reference / kanmix"] = speed["reference ms"] / speed["kanmix ms"]
speed["reference / limit"] = speed["reference ms"] / speed["limit ms"]
speed["kanmix KiB / row"] = [(r.get("peak_bytes") or {}).get("kanmix") for r in bench]
speed["kanmix KiB / row"] = speed["kanmix KiB / row"] / [r["shape"][0] * 1024 for r in bench]
display(book.table(speed, f"Table 2.3 — forward + backward time of one layer (grid {bench_kan.GRID_SIZE}, "
                   f"order {bench_kan.SPLINE_ORDER}); {bench_note}", bench_records, profile, precision=2,
                   source=bench_origin))

# %%
fig, ax = plt.subplots(figsize=(7, 0.9 + 0.9 * len(speed)))
others = [n for n in contenders if n != "limit"]
height = 0.8 / len(others)
for j, name in enumerate(others):
    ax.barh(np.arange(len(speed)) + j * height, speed[f"{name} ms"], height, label=name)
for k, limit in enumerate(speed["limit ms"]):
    ax.vlines(limit, k - height / 2, k + 0.8 - height / 2, colors="k", linestyles="--",
              label="dense limit" if k == 0 else None)
ax.set_yticks(np.arange(len(speed)) + 0.4 - height / 2, speed.index)
ax.invert_yaxis()
ax.set_xscale("log")
ax.set_xlabel("forward + backward, ms (log scale)")
ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
fig.tight_layout()
plt.show()
display(book.caption("Figure 2.3 — layer time against the peers; the dashed line is the dense limit, "
                     f"the three-GEMM floor; {bench_note}", bench_records, profile,
                     source=bench_origin))

# %% [markdown]
# ## What the numbers say
#
# - **Base and spline.** On the most important edges the spline term is not a small
#   correction: it bends the SiLU into functions with their own shape, which is the whole point
#   of a KAN. Where activations leave the grid only the SiLU is left, which is why the grid
#   update matters.
# - **Grid update.** Table 2.1 and the sentence under it give the numbers for this run: how
#   much of the second layer's real input fell inside its grid, and how many knot intervals
#   the data actually used. Hidden activations can stay inside $[-1, 1]$ and still crowd into a
#   part of it, leaving knot intervals — and the coefficients that live on them — idle. After
#   the update the knots follow the data, and the layer's output on those activations changed
#   only by the least-squares refit error. Neither paper mentions updating grids; both train
#   on the fixed $[-1, 1]$ grid.
# - **Regulariser.** Training without the penalty — as both papers did — leaves the entropy
#   close to its maximum (Table 2.2): the mass is spread over nearly all edges rather than
#   concentrated, so pruning by threshold (chapter 5) has to cut into edges that carry some
#   signal.
# - **Speed.** Table 2.3 and Figure 2.3 put `KANLinear` between the dense limit and the plain
#   efficient-KAN formulation; `kanmix / limit` is how far from that floor the layer is, and
#   `nn.Linear` shows what the same width costs without any spline. (A ratio slightly under 1
#   is possible: the limit streams its precomputed feature matrix and that matrix's gradient
#   through main memory, while `KANLinear` builds each block of features in cache.)
#   `reference / limit` bounds what any layer that does these three GEMMs can gain over the
#   plain formulation: the bases cost the reference most, relative to its GEMMs, on narrow
#   layers (64 → 128) and least on wide ones (256 → 512). Small smoke shapes are dominated by
#   per-call overhead; the `cpu` and `paper` profiles time the benchmark's real shapes.
