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
# A finding names a winner only where that chapter's own test separates the two (a Holm-adjusted
# p-value, a seeds' noise band or a slope's interval), and holds at most two numbers: the chapters give
# the rest, with the runs behind every number.

# %% tags=["parameters"]
profile = "smoke"  # injected by `python -m kanmix.book run --profile P`
read_only = False  # True: every number must come from a stored record (the cpu and paper profiles)

# %% tags=["remove-cell"]
from IPython.display import Markdown, display

from kanmix import book, page, report

report.setup()
params = book.chapter_parameters(profile, ["02", "03", "04", "05", "06"])

# %% tags=["remove-cell"]
chapters = report.ChapterStudies.read(params, read_only=read_only)  # every chapter's study, read as it reads it

# %% tags=["remove-input"]
page.findings(chapters.headline(), key=book.FINDINGS_KEY)  # the intro opens with the same findings

# %% [markdown]
# Everything on this page comes from the same functions the chapters call, on their parameters for this
# profile (`kanmix.book.chapter_parameters`); under the `cpu` and `paper` profiles the page only reads
# (`read_only`): a record the chapters did not make is an error here, never a reason to train.
#
# ## What the findings rest on
#
# - **One scale.** Chapter 3's mixers have a few percent of the parameters of the KAN-Mixers paper's
#   configuration; chapter 6 follows both families along a scaling path toward it, but not all the way, and
#   says where a sentence reads a fitted line beyond the sizes it trained.
# - **One recipe.** Chapter 3 trains every model with one learning rate, untuned per model; chapter 6 picks
#   one rate per family by a sweep at one size, and chapter 4 keeps the autoencoder paper's own recipe.
# - **CPU time.** The training times compared are CPU seconds in the conditions each record's provenance names: they rank
#   models trained alike, not machines; FLOPs, the other cost the chapters count, transfer to other hardware.
# - **Campaigns under way.** Where a chapter's planned runs are not all in the results store yet, its
#   sentences say so and rest on the runs that are; a verdict can still change as the rest arrive.
#
# ## The findings in detail
#
# One paragraph per chapter, in the chapter's own words: the same sentence functions on the same records,
# with every number the opening block leaves out (intervals, p-values, costs, and the paper's numbers beside
# ours).

# %% tags=["remove-input"]
display(Markdown(chapters.in_detail()))

# %% tags=["remove-input", "remove-output"]
report.glue_findings_frontier(chapters, profile)

# %% [markdown]
# ## The compute frontier at a glance
#
# Chapter 6's figure, read from left to right as a growing budget: a family's line steps up only where one
# of its models beat every cheaper model of the same family, so the higher line at a given budget is the
# family to choose for it. The stars are the paper's reported accuracies at the training FLOPs of its own
# configuration, far to the right of what this book trained.
#
# ```{glue:figure} findings_frontier
# :name: "fig-findings-frontier"
#
# {glue:md}`findings_frontier_caption`
# ```
#
# ## The table
#
# Chapter 3's cross-validation, every model on every dataset, beside the KAN-Mixers paper's 5-fold means:
# what each model cost (parameters, training time per fold on this machine) and what it scored. The paper's
# column is empty where the paper reports no number: the two matched MLP-Mixers are this book's, made for a
# fair comparison (one with the KAN-Mixer's parameters, one trained for as long).

# %% tags=["remove-input"]
report.show_findings_table(chapters, profile)

# %% [markdown]
# ## Provenance
#
# Every record behind this page's tables and figures, by kind: where and from which commit it was made,
# and how long it took. Each caption above names its profile, device and number of records.

# %% tags=["remove-input"]
display(page.provenance_table(profile))
