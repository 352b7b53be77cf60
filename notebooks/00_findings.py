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
# What the book found, computed from the records the chapters show; each finding links to its chapter.

# %% tags=["parameters"]
profile = "smoke"  # injected by `python -m kanmix.book run --profile P`
read_only = False  # True: every number must come from a stored record (the cpu and paper profiles)

# %% tags=["remove-cell"]
import pandas as pd
from IPython.display import Markdown, display

from kanmix import ae, book, cv, data, frontier, page, report, results, runtime, studies, viz
from kanmix.bench import kan as bench_kan

report.setup()
params = book.chapter_parameters(profile, ["02", "03", "04", "05", "06"])
PAPER = studies.PAPER_ACCURACY  # the KAN-Mixers paper's mean accuracies, per dataset

# %% tags=["remove-cell"]
with results.read_only(read_only):
    scale = studies.frontier_from_chapter(params["06"])
    mixers = studies.mixers_from_chapter(params["03"])
    autoencoders = studies.autoencoders_from_chapter(params["04"])
    p2 = params["02"]
    bench = [] if p2["bench_json"] else [bench_kan.stored(p2["bench_shapes"], p2["bench_repeats"], p2["bench_dtypes"],
                                                          runtime.default_device())]
    splines = studies.splines_from_chapter(params["05"])

# %% tags=["remove-input"]
p3, p4, p6 = params["03"], params["04"], params["06"]
against = {d: studies.kan_mixer_against(mixers.folds[mixers.folds.dataset == d], folds=p3["folds"])
           for d in p3["datasets"]}
kan_family, mlp_family = list(p6["families"])[:2]
marks = studies.paper_frontier_marks(p6["datasets"], paper_epochs=p6["paper_epochs"])
scale_cmp = {d: frontier.compare(scale.points, kan_family, mlp_family, d, target=marks.get(d, [(None, None, None)])[0][1])
             for d in p6["datasets"]}
ae_comparisons = ae.matched_comparisons(autoencoders.runs, autoencoders.all_baselines)
headline = report.headline_findings(against=against, pair=mixers.headline_pair, frontier=scale_cmp,
                                    missing=scale.missing, comparisons=ae_comparisons, epochs=p4["epochs"],
                                    paper_widths=p4["paper_widths"], evidence=splines.evidence)
page.findings(headline, key=book.FINDINGS_KEY)  # the intro opens with the same findings

# %% [markdown]
# Everything on this page comes from the same functions the chapters call, on their parameters for this
# profile (`kanmix.book.chapter_parameters`); under the `cpu` and `paper` profiles the page only reads
# (`read_only`): a record the chapters did not make is an error here, never a reason to train.
#
# ## The findings in detail

# %% tags=["remove-input"]
points = []
# 0. the compute frontier (chapter 6): the families at equal compute, on every dataset it ran
under_way = (f"; a campaign under way, {report.count(scale.missing, 'planned run')} not yet in the results store"
             if scale.missing else "")
points.append(f"**At equal compute** (chapter 6{under_way}). " + " ".join(
    f"{data.info(d).title}: " + report.frontier_gap_sentence(c) + " " + report.frontier_trend_sentence(c)
    for d, c in scale_cmp.items()))
# 1. KAN-Mixer vs every baseline of chapter 3, on every dataset, and vs the paper
parts = []
for dataset in p3["datasets"]:
    part = mixers.folds[mixers.folds.dataset == dataset]
    s_ = cv.overview(part)
    title = data.info(dataset).title
    parts.append(report.against_sentence(against[dataset], title=title) + " "
                 + report.compare_to_paper(s_["val_accuracy"].to_dict(), PAPER.get(dataset, {}),
                                           what="mean held-out accuracy", noise=s_["std"].to_dict(),
                                           separated=studies.separated_pairs(part, folds=p3["folds"])))
text = "**KAN-Mixers** (chapter 3). " + " ".join(parts)
if mixers.headline_pair is not None:
    text += f" The headline pair over all {p3['headline_repeats']} repeats of the split: " + report.paired_sentence(
        studies.headline_comparison(mixers, p3["folds"]), *mixers.headline_pair, wilcoxon=False)
points.append(text)
# 2. autoencoders: the matched comparisons of chapter 4 (equal latent sizes, matched parameters, seeds)
points.append("**KAN autoencoders** (chapter 4).\n\n" + report.ae_summary(
    ae_comparisons, epochs=p4["epochs"],
    paper_widths=p4["paper_widths"], missing=autoencoders.missing))
# 3. the spline analysis: every measure of chapter 5's KAN-Mixers, what the MLP-Mixer shares reported as shared
ev = splines.evidence
found, null = report.findings(ev), report.null_results(ev)
seeds = report.count(len(splines.plan.kan), "seed")
points.append(f"**Inside the KAN-Mixer** (chapter 5, {seeds}, each measure set against "
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

# %% [markdown]
# ## Provenance
#
# Every record behind this page's tables and figures, by kind: where and from which commit it was made,
# and how long it took. Each caption above names its profile, device and number of records.

# %% tags=["remove-input"]
display(page.provenance_table(profile))
