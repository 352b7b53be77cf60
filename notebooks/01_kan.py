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
# # Kolmogorov–Arnold networks
#
# This chapter sets up the vocabulary for the rest of the book. It states the theorem KANs are
# named after, builds the B-spline basis that every KAN edge is made of, and puts a KAN layer
# next to the dense layer it replaces — in equations, in parameters and in floating-point
# operations. Nothing here is trained; every number is computed from `kanmix.kan`, the layer
# the later chapters train.

# %% tags=["parameters"]
profile = "smoke"  # injected by `python -m kanmix.book run --profile P`
grid_sizes = [3, 5, 10]  # G: knot intervals inside the grid range
orders = [1, 2, 3]  # k: spline degree, 3 is cubic (efficient-KAN and KANLinear call it spline_order)
widths = [[64, 64], [256, 256], [784, 256]]  # in and out features of the layers we cost
batch = 256  # rows in the forward pass whose FLOPs are counted

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import Markdown, display

from kanmix import page, report
from kanmix.bspline import bspline_bases
from kanmix.kan import KANLinear

torch.manual_seed(0)
report.setup()  # widget warning off, inline figures, the book's figure style

# %% [markdown]
# ## The theorem
#
# In 1957 Arnold, building on Kolmogorov's reduction of the previous year, showed that every
# continuous function of three variables is a superposition of continuous functions of two,
# which settled Hilbert's thirteenth problem for continuous functions. Kolmogorov then went all
# the way: every continuous function of $n$ variables on the unit cube can be written with
# functions of *one* variable and addition alone,
#
# $$
# f(x_1, \dots, x_n) \;=\; \sum_{q=0}^{2n} \Phi_q\!\left( \sum_{p=1}^{n} \phi_{q,p}(x_p) \right).
# $$
#
# The inner functions $\phi_{q,p}$ and the outer functions $\Phi_q$ are continuous and
# univariate; the only genuinely multivariate operation is the sum. Read as a network, this is
# two layers: $n$ inputs feed $2n+1$ hidden nodes through $n(2n+1)$ edges, each edge applying its
# own function, and each node adding what arrives.
#
# The theorem is an existence result and an unfriendly one. The inner functions can be chosen
# continuous and monotone, hence differentiable almost everywhere, but not smooth: in general
# they cannot be continuously differentiable, and the outer functions inherit whatever
# roughness $f$ needs. Functions that rough cannot be learned from samples, which is why the
# theorem was long considered useless for learning. {ref}`Liu et al. (2024) <ref-kan>` sidestepped this by dropping the exact
# two-layer shape. A *Kolmogorov–Arnold network* stacks any number of layers of any width, and
# parameterises each edge function as a smooth spline that gradient descent can fit. What is
# kept from the theorem is the layout: learnable univariate functions on the edges, plain sums
# on the nodes.

# %% [markdown]
# ## B-splines and the Cox–de Boor recursion
#
# A spline of degree $k$ is a piecewise polynomial of degree $k$ whose pieces join smoothly at
# the *knots* $t_0 \le t_1 \le \dots$. (This book counts by degree, as efficient-KAN's
# `spline_order` does: $k = 3$ is cubic. De Boor's *A Practical Guide to Splines* counts by
# *order*, the degree plus one.) Every such spline is a weighted sum of B-spline basis
# functions, defined by the Cox–de Boor recursion: degree zero is the indicator of a knot
# interval, and each degree blends two neighbours of the degree below,
#
# $$
# B_{j,0}(x) = \mathbb{1}[t_j \le x < t_{j+1}], \qquad
# B_{j,p}(x) = \frac{x - t_j}{t_{j+p} - t_j}\, B_{j,p-1}(x)
#            + \frac{t_{j+p+1} - x}{t_{j+p+1} - t_{j+1}}\, B_{j+1,p-1}(x).
# $$
#
# Each $B_{j,k}$ is non-negative, supported on the $k+1$ intervals $[t_j, t_{j+k+1})$, and
# $k-1$ times continuously differentiable. A KAN layer with grid size $G$ on a range $[a, b]$
# uses $G$ equal intervals inside the range plus $k$ extra knots on each side, which gives
# $G + k$ basis functions that sum to one everywhere inside $[a, b]$ (a *partition of unity*).
# The figure evaluates `kanmix.bspline.bspline_bases` — the function the layer itself calls — on
# the knots of a freshly built `KANLinear`.

# %% tags=["hide-input", "remove-output"]
def layer_bases(grid_size: int, order: int, n: int = 600):
    """Basis functions of a fresh 1-input KANLinear: x (n,), bases (n, G + k), knots."""
    layer = KANLinear(1, 1, grid_size=grid_size, spline_order=order)
    knots = layer.grid  # (1, G + 2k + 1)
    x = torch.linspace(float(knots[0, 0]), float(knots[0, -1]) - 1e-6, n)
    return x, bspline_bases(x.unsqueeze(1), knots, order)[:, 0, :], knots[0]


fig, axes = plt.subplots(len(orders), len(grid_sizes), figsize=(3.3 * len(grid_sizes), 2.3 * len(orders)),
                         sharex=True, sharey=True, squeeze=False)
unity_error = {}
for r, k in enumerate(orders):
    for c, g in enumerate(grid_sizes):
        x, bases, knots = layer_bases(g, k)
        ax = axes[r, c]
        ax.axvspan(-1, 1, color="0.94", zorder=0)
        ax.plot(x, bases, lw=1.2)
        ax.plot(x, bases.sum(1), color="k", lw=0.8, ls="--")
        ax.plot(knots, torch.zeros_like(knots), "|", color="k", ms=6)
        ax.set_title(f"G = {g}, k = {k}: {bases.shape[1]} bases", fontsize=9)
        inside = (x >= -1) & (x < 1)
        unity_error[(g, k)] = float((bases[inside].sum(1) - 1).abs().max())
for ax in axes[-1]:
    ax.set_xlabel("x")
fig.tight_layout()
page.figure("bases", fig, "B-spline basis functions for several grid sizes G (columns) and degrees k (rows), "
            "evaluated by kanmix.bspline.bspline_bases on the knots of a fresh KANLinear; shaded: the grid range "
            "[-1, 1]; dashed: their sum", [], profile)

# %% [markdown]
# ```{glue:figure} bases
# :name: "fig-bases"
#
# {glue:md}`bases_caption`
# ```

# %%
display(Markdown(f"Inside $[-1, 1]$ the bases of every panel of {{numref}}`fig-bases` sum to one up to "
                 f"{max(unity_error.values()):.1e}."))

# %% [markdown]
# The dashed line is the sum of the bases: exactly one across the shaded grid range and falling
# off outside it, where fewer bases overlap. Raising $k$ widens and smooths each bump (degree 1
# gives hat functions, degree 3 the familiar cubic bell); raising $G$ narrows them, so a spline
# on a finer grid can bend more often. An edge function is a weighted sum of these curves, and
# its weights are what a KAN learns. Outside the extended knot vector every basis is zero, which
# is why the layer adds a SiLU *base* term that keeps a non-zero slope there (next chapter).

# %% [markdown]
# ## A KAN layer next to a dense layer
#
# A dense layer with a fixed activation $\sigma$ computes, for output $o$,
#
# $$ y_o = \sigma\Big(\textstyle\sum_i w_{oi}\, x_i + b_o\Big), $$
#
# one number $w_{oi}$ per edge and one shared non-linearity per node. A KAN layer, in the form
# both papers use ({ref}`efficient-KAN <ref-efficient-kan>`), gives each edge its own function
# and applies no activation after the sum:
#
# $$
# y_o = \sum_i \phi_{oi}(x_i), \qquad
# \phi_{oi}(x) = w^{\text{base}}_{oi}\, \mathrm{SiLU}(x)
#              + s_{oi} \sum_{j=0}^{G+k-1} c_{oij}\, B_j(x).
# $$
#
# Per edge that is one base weight, one spline scale and $G+k$ spline coefficients: $G+k+2$
# parameters where the dense layer has one. Stacking the $G+k+1$ "features" $[\mathrm{SiLU}(x),
# B_0(x), \dots, B_{G+k-1}(x)]$ of every input turns the whole layer into one matrix product of
# shape $(\text{rows}, \text{in}\cdot(G+k+1)) \times (\text{in}\cdot(G+k+1), \text{out})$ — this
# is how `kanmix.kan.KANLinear` computes it. So a KAN layer costs roughly what a dense layer
# that is $G+k+1$ times wider on its input side costs, plus the cheap elementwise work of
# evaluating the bases.
#
# The table counts both, for a few layer shapes. Parameters are read off the modules; the
# matrix-multiply FLOPs of a forward pass over `batch` rows are measured with PyTorch's
# `FlopCounterMode` and checked against the formula $2 \cdot \text{rows} \cdot \text{in} \cdot
# \text{out} \cdot (G+k+1)$.

# %%
from torch.utils.flop_counter import FlopCounterMode


def count(module: torch.nn.Module, n_in: int) -> tuple[int, int]:
    """(parameters, matmul FLOPs of one forward pass over `batch` rows)."""
    x = torch.randn(batch, n_in)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return sum(p.numel() for p in module.parameters()), counter.get_total_flops()


rows = []
for n_in, n_out in widths:
    dense_params, dense_flops = count(torch.nn.Linear(n_in, n_out), n_in)
    for g in grid_sizes:
        k = 3
        kan_params, kan_flops = count(KANLinear(n_in, n_out, grid_size=g, spline_order=k), n_in)
        assert kan_flops == 2 * batch * n_in * n_out * (g + k + 1), "FLOP formula disagrees with the counter"
        assert kan_params == n_in * n_out * (g + k + 2)
        rows.append({"in x out": f"{n_in} x {n_out}", "G": g, "k": k,
                     "dense params": dense_params, "KAN params": kan_params,
                     "params ratio": kan_params / dense_params,
                     "dense MFLOPs": dense_flops / 1e6, "KAN MFLOPs": kan_flops / 1e6,
                     "FLOPs ratio": kan_flops / dense_flops})
costs = pd.DataFrame(rows).set_index(["in x out", "G", "k"])
display(page.table(costs, f"Parameters and matmul FLOPs (forward, {batch} rows) of a KANLinear and an nn.Linear "
                   "of the same shape", [], profile, precision=3))

# %% [markdown]
# ## What the numbers say

# %%
at = costs.xs(3, level="k")
at = at.xs(5, level="G") if 5 in at.index.get_level_values("G") else at
lines = [
    f"A KAN edge holds $G + k + 2$ parameters. At efficient-KAN's defaults $G = 5$, $k = 3$ (used throughout this "
    "book; the autoencoder paper does not state its values) a KAN layer has "
    f"{report.span(at['params ratio'])} times the parameters of a "
    "dense layer of the same shape in the table (not quite $G + k + 2$ because the dense layer also has a bias).",
    f"Its matrix-multiply work is $G + k + 1$ times a dense layer's at the same shape: the measured ratio is "
    f"{report.span(at['FLOPs ratio'])} here, as the formula says. "
    "The B-spline evaluation adds elementwise work that grows with $G$ and $k$ per input but not with the output "
    "width, so for wide layers the GEMM dominates.",
    "A \"KAN\" and an \"MLP\" of the same layer widths are therefore not the same size: a fair comparison matches "
    "parameters or training time, or reports both. Chapters 3 and 4 put parameters, training time and accuracy per "
    "training minute next to every accuracy, and chapter 3 adds an MLP-Mixer matched to the KAN-Mixer in parameters "
    "and one matched in training time.",
]
display(Markdown("\n".join(f"- {line}" for line in lines)))
