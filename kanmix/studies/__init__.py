"""The book's studies, one call each: a chapter's parameters in, every run done (or read back), tidy tables out.

Each function plans all the runs of a chapter from the chapter's own parameters, runs the
missing ones through :func:`kanmix.runner.record` (so every number is a results-store record,
and a rerun trains nothing), and returns plain DataFrames the chapter shows. The chapters
stay thin and the plans are tested here, on tiny settings.

- :func:`mixers` (chapter 3): k-fold CV of the KAN-Mixer against the MLP-Mixer (as in the paper,
  parameter-matched and time-matched), MLP and KAN; repeated CV of the headline pair; data
  efficiency; the grid-range ablation.
- :func:`precision_parity` (chapter 2): the same CV in float32 and bf16.
- :func:`autoencoders` (chapter 4): the bottleneck sweep of KAN, MLP and CNN autoencoders with
  the mean-image and PCA baselines.

Every study builds all of its run configs first (:func:`mixers_plan`, :func:`parity_plan`,
:func:`autoencoders_plan`) and checks what the runs that are not stored yet need: their data
splits, on the labels alone (:func:`check_split`), and their models, built once per
architecture. So a value that no run can take fails at once, in one line that names the
parameter, and never after hours of training. :func:`check_chapter` does the same from a
chapter's resolved parameters without training anything: ``python -m kanmix.book run`` calls
it for every chapter before any kernel starts.

One module a job: ``_common`` (labels, parameter errors, :class:`RunChecks`), one module per
chapter's study (``_parity``, ``_mixers``, ``_autoencoders``, ``_splines``, ``_frontier``) and
``_chapters`` (:func:`check_chapter`). Import from ``kanmix.studies``, not from them.
"""

from kanmix.studies._common import (  # noqa: F401
    MIXER_LABELS, PARAM_MATCHED, TIME_MATCHED, PAPER_ACCURACY, ParameterError, one_line, about, one_thread,
    check_split, RunChecks, with_overrides)
from kanmix.studies._parity import (  # noqa: F401
    kan_layer_labels, spline_share_table, weighted_spline_share, regulariser_table, parity_table,
    parity_plan, precision_parity, parity_from_chapter, layer_run, ae_parity_runs, ae_precision_parity,
    ae_parity_from_chapter, kan_mixer_gaps, gaps_from_chapter)
from kanmix.studies._mixers import (  # noqa: F401
    summaries, shown_overview, overview_beside_paper, records_of, ablation_table, pairs_table, efficiency_table,
    wilcoxon_floors, HeadlineTest, headline_tests, paper_parameters, deviations,
    MixerStudy, kan_mixer_against, kan_mixer_against_each, output_layer_outside, headline_comparison, separated_pairs,
    mixer_specs, efficiency_epochs, runnable_grid_variants, MixerPlan, mixers_plan, mixers, mixers_from_chapter,
    mixers_plan_from_chapter)
from kanmix.studies._autoencoders import (  # noqa: F401
    AutoencoderStudy, autoencoders_plan, autoencoders, autoencoders_from_chapter, autoencoders_plan_from_chapter,
    PAPER_AE, ae_deviations, ae_deviations_from_chapter)
from kanmix.studies._frontier import (  # noqa: F401
    seconds_column, frontier_comparisons, sweep_table, points_table, longer_training_table,
    FrontierStudy, frontier, FrontierPlan, frontier_plan, frontier_timing, timed_seconds, frontier_sizes,
    paper_frontier_marks, frontier_from_chapter)
from kanmix.studies._frontier import (  # noqa: F401
    FrontierReading, frontier_reading)
from kanmix.studies._chapters import (  # noqa: F401
    CHAPTER_CHECKS, check_chapter)
from kanmix.studies._search import (  # noqa: F401
    SEARCHED, SearchPlan, search_plan, SearchStudy, search_study, search_importances, search_patch_table, PatchOutcome,
    patch_outcome, search_trials_table, search_best_table, search_final_table, search_final_records,
    searched_against_chapter,
    search_from_chapter, search_plan_from_chapter)
from kanmix.studies._splines import (  # noqa: F401
    KAN_AE, KAN_MIXER, MAGNITUDE, RANDOM, SplinesPlan, SplinesStudy, splines_plan, splines, splines_plan_from_chapter,
    splines_from_chapter, autoencoder_table, layer_labels, layer_summary, symbolic_table, symbolic_forms,
    locality_table, pixel_maps, seed_agreement_table, pruning_means, cost_table, pruning_controls_of)
from kanmix.studies._splines import (  # noqa: F401
    drawn_layers, EDGE_COLOURS, edge_rows)
