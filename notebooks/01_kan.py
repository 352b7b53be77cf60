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
# ```{glue:md} ch1_finding
# :format: myst
# ```
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
from IPython.display import Markdown, display

from kanmix import flops, page, report, viz

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

# %% tags=["remove-input", "remove-output"]
fig, unity_error = viz.plot_bases(grid_sizes, orders)  # unity_error: over every G and k above, drawn or not
page.figure("bases", fig, "B-spline basis functions evaluated by kanmix.bspline.bspline_bases on the knots of a "
            "fresh KANLinear, each panel titled by its grid size G and degree k: top, the degrees at the middle grid "
            "size; bottom, the grid sizes at the highest degree. Ticks on the axis: the knots; shaded: the grid range "
            "[−1, 1]; dashed: the sum of the bases", [], profile)

# %% [markdown]
# ```{glue:figure} bases
# :name: "fig-bases"
#
# {glue:md}`bases_caption`
# ```

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
# B_0(x), \dots, B_{G+k-1}(x)]$ of every input turns the whole layer into one matrix product,
#
# $$
# (\text{rows},\ \text{in}\,(G+k+1)) \times (\text{in}\,(G+k+1),\ \text{out}),
# $$
#
# which is how `kanmix.kan.KANLinear` computes it. So a KAN layer costs roughly what a dense layer
# that is $G+k+1$ times wider on its input side costs, plus the cheap elementwise work of
# evaluating the bases.
#
# The table counts both, for a few layer shapes. Parameters are read off the modules; the
# matrix-multiply FLOPs of a forward pass over `batch` rows are measured with PyTorch's
# `FlopCounterMode` and checked against the formula $2 \cdot \text{rows} \cdot \text{in} \cdot
# \text{out} \cdot (G+k+1)$.

# %% tags=["remove-input"]
costs = flops.layer_costs(widths, grid_sizes, batch=batch)  # counted by torch's FlopCounterMode, checked
page.findings(report.kan_findings(costs, unity_error), key="ch1_finding", show=False)  # pasted under the title
display(page.table(costs, f"Parameters and matmul FLOPs (forward, {batch} rows) of a KANLinear and an nn.Linear "
                   "of the same shape", [], profile, precision=3))

# %% [markdown]
# ## What the numbers say

# %% tags=["remove-input"]
display(Markdown(report.layer_cost_points(costs)))

# %% [markdown]
# ## Provenance
#
# Every record behind this page's tables and figures, by kind: where and from which commit it was made,
# and how long it took. Each caption above names its profile, device and number of records.

# %% tags=["remove-input"]
display(page.provenance_table(profile))
