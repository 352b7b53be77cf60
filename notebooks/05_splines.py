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
# # Looking inside: spline activations
#
# Both papers argue that KANs are interpretable because every edge function can be plotted, and
# neither plots one for a trained vision model. This chapter does: it trains a KAN-Mixer and a
# KAN autoencoder, draws their learned edge functions pykan-style (one small panel per edge,
# faded by importance), maps which edges matter, measures how far each learned function is from
# a straight line or a scaled SiLU, and asks how many edges a threshold could prune and what
# that costs in accuracy.

# %% tags=["parameters"]
profile = "smoke"  # injected by `python -m kanmix.book run --profile P`
dataset = "fashion_mnist"
subset: int | None = 600  # training images, stratified; None for the whole split
epochs = 1
mixer_kwargs = {"patch": 8, "dim": 32, "depth": 1, "token_hidden": 16, "channel_hidden": 32}
ae_dataset = "mnist"
ae_bottleneck = 16
ae_hidden = 32
n_probe = 256  # test images whose activations define importance and the fitted ranges
n_panels = 24  # edges drawn per layer, most important first
thresholds = [0.01, 0.03, 0.1, 0.3]  # pruning thresholds, relative to the layer's largest importance
n_eval: int | None = 1000  # test images scored before and after pruning; None for the whole split
seed = 0

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import display

from kanmix import ae, book, data, metrics, report, runner, train, viz
from kanmix.experiment import ClassificationRun
from kanmix.kan import KANLinear

report.setup()  # widget warning off, inline figures, the book's figure style

# %% [markdown]
# ## Two trained models
#
# Both are results-store runs with their weights kept beside the record, so a rerun of this
# chapter loads them instead of training again: the KAN-Mixer through
# `runner.run(keep_weights=True)`, the KAN autoencoder (KAN layers on the
# pixel side of encoder and decoder, the KAN-autoencoder paper's recipe) through
# the same `runner.run(keep_weights=True)`.

# %%
cfg = ClassificationRun.from_dict({"dataset": dataset, "size": 32, "model": "kan_mixer", "model_kwargs": mixer_kwargs,
                                   "subset": subset, "seed": seed, "train": {"epochs": epochs}})
record = runner.run(cfg, keep_weights=True)
mixer = runner.load_trained(cfg)
test_x, test_y = data.load(dataset, "test", size=32)
probe_x = test_x[:n_probe]

ae_cfg = ae.ae_config("kan", ae_dataset, ae_bottleneck, epochs=epochs, seed=seed, subset=subset,
                      model_kwargs={"hidden": ae_hidden})
ae_record = runner.run(ae_cfg, keep_weights=True)
autoencoder = runner.load_trained(ae_cfg)
print(f"KAN-Mixer test accuracy {record['metrics']['test']['accuracy']:.4f} ({record['parameters']:,} parameters); "
      f"KAN AE test MSE {ae_record['metrics']['test_mse']:.4f} ({ae_record['metrics']['params']:,} parameters)")


# %%
def layer_inputs(model: torch.nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """The real inputs reaching every KANLinear of `model` on `images`: name -> (rows, in)."""
    seen, hooks = {}, []
    for name, module in model.named_modules():
        if isinstance(module, KANLinear):
            hooks.append(module.register_forward_pre_hook(
                lambda mod, args, name=name: seen.__setitem__(name, args[0].detach().reshape(-1, mod.in_features))))
    try:
        train.predict(model, images, batch_size=len(images), device="cpu")
    finally:
        for h in hooks:
            h.remove()
    return seen


mixer_inputs = layer_inputs(mixer, probe_x)
ae_inputs = layer_inputs(autoencoder, data.load(ae_dataset, "test")[0][:n_probe])
kan_layers = {**{f"mixer.{n}": m for n, m in mixer.named_modules() if isinstance(m, KANLinear)},
              **{f"ae.{n}": m for n, m in autoencoder.named_modules() if isinstance(m, KANLinear)}}
inputs = {**{f"mixer.{n}": x for n, x in mixer_inputs.items()}, **{f"ae.{n}": x for n, x in ae_inputs.items()}}
importance = {n: kan_layers[n].edge_importance(inputs[n]) for n in kan_layers}
print("KAN layers:", ", ".join(f"{n} ({kan_layers[n].in_features}→{kan_layers[n].out_features})" for n in kan_layers))


# %% [markdown]
# ## The learned edge functions
#
# Each panel is one edge $\phi_{oi}$, drawn over the range its real inputs cover (1st to 99th
# percentile). Panels are sorted by importance — the mean $|\phi_{oi}(x_i)|$ over real inputs —
# and faded in proportion to it, as pykan draws networks.

# %%
def data_range(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each input's 1st to 99th percentile over real activations ``x (rows, in)``."""
    return torch.quantile(x, 0.01, dim=0), torch.quantile(x, 0.99, dim=0) + 1e-6


def plot_edges(name: str):
    layer, x = kan_layers[name], inputs[name]
    fig = viz.plot_edges(layer, x, top_k=n_panels, cols=8, n=120, x_range=data_range(x), color="tab:purple")
    edges = layer.in_features * layer.out_features
    fig.suptitle(f"{name}: the {min(n_panels, edges)} most important of {edges} edges", fontsize=9)
    return fig


# %% tags=["spline-figure"]
token_layer = next(n for n in kan_layers if n.startswith("mixer.") and "token" in n)
channel_layer = next(n for n in kan_layers if n.startswith("mixer.") and "channel" in n)
for name in (token_layer, channel_layer):
    display(plot_edges(name))
display(book.caption("Figure 5.1 — learned edge functions of the KAN-Mixer's first token-mixing and "
                     "channel-mixing KAN layers, sorted and faded by importance", [record], profile))

# %% tags=["spline-figure"]
ae_layer = next(n for n in kan_layers if n.startswith("ae."))
display(plot_edges(ae_layer))
display(book.caption(f"Figure 5.2 — learned edge functions of the KAN autoencoder's first KAN layer "
                     f"({ae_dataset}, bottleneck {ae_bottleneck})", [ae_record], profile))

# %% [markdown]
# ## Which edges matter

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for ax, name in zip(axes, (token_layer, channel_layer, ae_layer)):
    imp = importance[name].numpy()
    im = ax.imshow(imp, aspect="auto", cmap="magma", interpolation="nearest")
    ax.set_title(name, fontsize=8)
    ax.set_xlabel("input")
    ax.set_ylabel("output")
    fig.colorbar(im, ax=ax, fraction=0.04)
fig.tight_layout()
plt.show()
display(book.caption("Figure 5.3 — edge importance (mean |φ| over real inputs) of three KAN layers",
                     [record, ae_record], profile))

# %% [markdown]
# ## How far from linear, how far from SiLU
#
# If a learned edge function were a straight line, the KAN would be a linear layer there; if it
# were a scaled SiLU, it would be an MLP neuron. For each edge we sample $\phi_{oi}$ over its
# real input range and take the $R^2$ of the best fit $a + b\,x$ and of the best fit
# $a + b\,\mathrm{SiLU}(x)$. An $R^2$ near one means the spline adds nothing a dense layer could
# not do.

# %%
def fit_r2(name: str) -> pd.DataFrame:
    """R² of the best a + b·x and a + b·SiLU(x) fit of every edge of one layer."""
    edges = kan_layers[name].edge_functions(n=100, x_range=data_range(inputs[name]))
    xs, phi = edges.x.double(), edges.total.double()  # (in, n), (out, in, n)
    ss_tot = ((phi - phi.mean(-1, keepdim=True)) ** 2).sum(-1).clamp_min(1e-18)
    rows = []
    for label, feat in (("affine", xs), ("SiLU", torch.nn.functional.silu(xs))):
        design = torch.stack([torch.ones_like(feat), feat], -1)  # (in, n, 2)
        coef = torch.linalg.lstsq(design.unsqueeze(0).expand(phi.shape[0], -1, -1, -1), phi.unsqueeze(-1)).solution
        ss_res = ((design @ coef - phi.unsqueeze(-1)) ** 2).sum((-1, -2))
        rows.append(pd.DataFrame({"layer": name, "fit": label, "r2": (1 - ss_res / ss_tot).flatten().numpy()}))
    return pd.concat(rows)


r2 = pd.concat([fit_r2(n) for n in (token_layer, channel_layer, ae_layer)])
summary = r2.groupby(["layer", "fit"])["r2"].describe(percentiles=[0.1, 0.5])[["count", "10%", "50%", "mean"]]
summary["share with R² > 0.99"] = r2.assign(hi=r2.r2 > 0.99).groupby(["layer", "fit"])["hi"].mean()
display(book.table(summary, "Table 5.1 — R² of the best affine and best a + b·SiLU fit of every edge function "
                   "over its real input range", [record, ae_record], profile, precision=3))

# %% [markdown]
# ## Pruning by importance
#
# An edge whose importance is a small fraction of its layer's largest can be removed by zeroing
# its base weight and spline scale. The table gives, for each threshold, the fraction of the
# KAN-Mixer's edges (over all its KAN layers) that fall below it and the test accuracy of the
# pruned model on the same test images as the unpruned one.

# %%
mixer_imp = {n: importance[f"mixer.{n}"] for n, m in mixer.named_modules() if isinstance(m, KANLinear)}
n_classes = data.info(dataset).num_classes
eval_x, eval_y = test_x[:n_eval], test_y[:n_eval]


def accuracy(model) -> float:
    pred = train.predict(model, eval_x, batch_size=500, device="cpu").argmax(1)
    return metrics.classification_metrics(eval_y, pred, n_classes)["accuracy"]


rows = [{"threshold": 0.0, "edges pruned": 0.0, "test accuracy": accuracy(mixer)}]
for t in thresholds:
    pruned = runner.load_trained(cfg)
    removed = total = 0
    with torch.no_grad():
        for n, m in pruned.named_modules():
            if isinstance(m, KANLinear):
                mask = mixer_imp[n] < t * mixer_imp[n].max()
                m.base_weight[mask] = 0
                m.spline_scaler[mask] = 0
                removed += int(mask.sum())
                total += mask.numel()
    rows.append({"threshold": t, "edges pruned": removed / total, "test accuracy": accuracy(pruned)})
pruning = pd.DataFrame(rows).set_index("threshold")
display(book.table(pruning, f"Table 5.2 — KAN-Mixer edges pruned by a relative-importance threshold and "
                   f"test accuracy after pruning ({len(eval_x)} test images)", [record], profile, precision=4))

# %% [markdown]
# ## What the numbers say
#
# - **Shapes.** The plotted edges are smooth, mostly monotone curves over the range the data
#   actually covers; Table 5.1 says how many are, to within $R^2 > 0.99$, just a line or a scaled
#   SiLU. The larger that share, the less a KAN layer is doing that a dense layer could not.
# - **Importance is concentrated.** The heatmaps show a few inputs and outputs carrying most of
#   the signal, and Table 5.2 shows how many edges a threshold removes before accuracy drops.
# - **Against the papers.** Both papers cite interpretability as a reason to prefer KANs and give
#   no plots of learned functions for their vision models. These figures are that evidence, with
#   the caveat both papers' setups share: with hundreds of edges per layer, a per-edge picture is
#   readable only after sorting and pruning, not by looking at the raw network.
