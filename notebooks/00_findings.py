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
# # Findings at a glance
#
# What the book found, in a few sentences and one table. Everything on this page is computed
# from the same results-store records the chapters show, through the same functions: the
# page resolves each chapter's parameters for its profile (`kanmix.book.chapter_parameters`) and asks the
# chapter's study for them. Under the `cpu` and `paper` profiles it only reads (`read_only`):
# a record the chapters did not make is an error here, never a reason to train.

# %% tags=["parameters"]
profile = "smoke"  # injected by `python -m kanmix.book run --profile P`
read_only = False  # True: every number must come from a stored record (the cpu and paper profiles)

# %%
import pandas as pd
from IPython.display import Markdown, display

from kanmix import book, cv, data, frontier, interpret, page, report, results, runner, runtime, stats, studies, viz
from kanmix.bench import kan as bench_kan

report.setup()
params = book.chapter_parameters(profile, ["02", "03", "04", "05", "06"])
PAPER = studies.PAPER_ACCURACY  # the KAN-Mixers paper's mean accuracies, per dataset

# %%
with results.read_only(read_only):
    scale = studies.frontier_from_chapter(params["06"])
    mixers = studies.mixers_from_chapter(params["03"])
    autoencoders = studies.autoencoders_from_chapter(params["04"])
    p2 = params["02"]
    bench = [] if p2["bench_json"] else [bench_kan.stored(p2["bench_shapes"], p2["bench_repeats"], p2["bench_dtypes"],
                                                          runtime.default_device())]
    p5 = params["05"]
    runs = interpret.chapter_runs(p5)
    # Only the KAN-Mixers: this page reads their weights; the MLP-Mixers are chapter 5's control.
    runner.record_many(runs.kan, workers=p5["workers"], keep_weights=True)
    pruning = pd.DataFrame([{"seed": r["seed"], "keep": r["config"]["keep"], "edges kept": r["edges_kept"],
                             **{k: r[k] for k in ("accuracy_unpruned", "accuracy_pruned", "accuracy_finetuned", "n_eval")}}
                            for c in runs.kan for r in interpret.prune_runs(
                                c, [1.0, *p5["keep_fractions"]], n_importance=p5["n_importance"], n_eval=p5["n_eval"],
                                steps=p5["finetune_steps"], finetune={"lr": p5["finetune_lr"],
                                                                      "batch_size": p5["train"].get("batch_size", 128)})])

# %% [markdown]
# ## The findings

# %% tags=["hide-input"]
points = []
# 0. the compute frontier (chapter 6): the families at equal compute, on every dataset it ran
p6 = params["06"]
kan_family, mlp_family = list(p6["families"])[:2]
marks = studies.paper_frontier_marks(p6["datasets"], paper_epochs=p6["paper_epochs"])
scale_cmp = {d: frontier.compare(scale.points, kan_family, mlp_family, d, target=marks.get(d, [(None, None, None)])[0][1])
             for d in p6["datasets"]}
under_way = (f"; a campaign under way, {report.count(scale.missing, 'planned run')} not yet in the results store"
             if scale.missing else "")
points.append(f"**At equal compute** (chapter 6{under_way}). " + " ".join(
    f"{data.info(d).title}: " + report.frontier_gap_sentence(c) + " " + report.frontier_trend_sentence(c)
    for d, c in scale_cmp.items()))
# 1. KAN-Mixer vs every baseline of chapter 3, on every dataset, and vs the paper
p3 = params["03"]
parts = []
for dataset in p3["datasets"]:
    part = mixers.folds[mixers.folds.dataset == dataset]
    s_ = cv.overview(part)
    title = data.info(dataset).title
    parts.append(report.against_sentence(studies.kan_mixer_against(part, folds=p3["folds"]), title=title) + " "
                 + report.compare_to_paper(s_["val_accuracy"].to_dict(), PAPER.get(dataset, {}),
                                           what="mean held-out accuracy", noise=s_["std"].to_dict(),
                                           separated=studies.separated_pairs(part, folds=p3["folds"])))
text = "**KAN-Mixers** (chapter 3). " + " ".join(parts)
if mixers.headline_pair is not None:
    text += f" The headline pair over all {p3['headline_repeats']} repeats of the split: " + report.paired_sentence(
        studies.headline_comparison(mixers, p3["folds"]), *mixers.headline_pair, wilcoxon=False)
points.append(text)
# 2. autoencoders vs CNN / MLP / PCA
t4 = autoencoders.table
base = autoencoders.baselines
pca = base[base.components > 0].set_index(["dataset", "components"])["test_mse"]
lines = []
for label, model in (("KAN", "kan"), ("MLP", "mlp"), ("CNN", "cnn")):
    rows4 = t4[t4.model == model]
    if len(rows4):
        beat = sum(r.test_mse < pca[(r.dataset, r.requested)] for r in rows4.itertuples())
        lines.append(f"the {label} autoencoder at {beat} of {len(rows4)}")
pairs = t4.pivot_table(index=["dataset", "requested"], columns="model", values="test_mse")
kan_vs = [f"the {other.upper()} autoencoder at {int((pairs['kan'] < pairs[other]).sum())} of {int(pairs[other].notna().sum())}"
          for other in ("mlp", "cnn") if {"kan", other} <= set(pairs.columns)]
points.append("**KAN autoencoders.** " + f"{int(t4.beats_mean.sum())} of {len(t4)} trained autoencoders beat the "
              "mean-image predictor. Against PCA with as many components as the bottleneck asked for, lower test MSE "
              "came from " + report.listing(lines) + " widths; the KAN autoencoder reconstructs better than "
              + report.listing(kan_vs) + " (same dataset and bottleneck asked for).")
# 3. the spline analysis
edges = pd.concat([interpret.edge_table(m, interpret.probe_images(runs.kan[0].split, p5["n_importance"]))
                   .assign(state=state, seed=c.seed)
                   for c in runs.kan for state, m in (("trained", runner.load_trained(c)), ("init", runner.build(c)))])
ev = interpret.evidence(edges, pruning=pruning, steps=p5["finetune_steps"],
                        chance=1 / data.info(p5["dataset"]).num_classes)
found, null = interpret.findings(ev), interpret.null_results(ev)
points.append(f"**Inside the KAN-Mixer** (chapter 5, {report.count(len(runs.kan), 'seed')}, each measure set against "
              "the same network at initialisation and called a difference only beyond the seeds' noise): " + (
    report.listing(found) + "."
    if found else "no measure separates the trained edges from their untrained twins beyond noise.")
              + (" No difference beyond noise in " + "; ".join(null) + "." if null else ""))
# 4. the layer's speed
if bench:
    speed = pd.DataFrame(bench[0]["shapes"])
    speed["kanmix_limit"], speed["ref_kanmix"] = speed.kanmix / speed.limit, speed.reference / speed.kanmix
    parts = [f"in {dtype} {'`KANLinear`' if i == 0 else 'it'} takes {report.span(g.kanmix_limit)}× the time of the "
             f"three-GEMM dense limit and runs {report.span(g.ref_kanmix)}× faster than the plain efficient-KAN formulation"
             for i, (dtype, g) in enumerate(speed.groupby("dtype", sort=False))]
    n_shapes = speed["shape"].map(tuple).nunique()
    points.append(f"**The layer.** Over {report.count(n_shapes, 'benchmark shape')}: " + "; ".join(parts)
                  + f" ({bench[0]['provenance']['device']}).")
display(Markdown("\n\n".join(points)))

# %% tags=["remove-input", "remove-output"]
fig = viz.plot_frontier(scale.points, datasets=p6["datasets"], titles={d: data.info(d).title for d in p6["datasets"]},
                        families=viz.family_colours(p6["families"]),
                        paper=marks)
page.figure("findings_frontier", fig, "Validation accuracy against training compute for each family along its "
            "scaling path (chapter 6): lines are the frontiers, stars the paper's reported accuracies at the FLOPs of "
            "its configuration", scale.records, profile)

# %% [markdown]
# ```{glue:figure} findings_frontier
# :name: "fig-findings-frontier"
#
# {glue:md}`findings_frontier_caption`
# ```
#
# ## The table

# %% tags=["hide-input"]
rows = []
for dataset in params["03"]["datasets"]:
    summary = cv.overview(mixers.folds[mixers.folds.dataset == dataset])
    for model, r in summary.iterrows():
        paper = PAPER.get(dataset, {}).get(model)
        rows.append({"dataset": data.info(dataset).title, "model": model, "parameters": int(r["params"]),
                     "training time per fold": r["train_seconds"], "mean held-out accuracy": r["val_accuracy"],
                     "paper": paper})
table = pd.DataFrame(rows).set_index(["dataset", "model"])
display(page.table(table, f"Chapter 3: {params['03']['folds']}-fold cross-validation, mean over folds, beside the "
                   "KAN-Mixers paper's numbers", mixers.records, profile, units={"training time per fold": "s"}))
