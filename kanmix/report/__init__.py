"""What a chapter of the book shares with every other: kernel set-up and tables formatted for reading.

``setup()`` is the first line after a chapter's imports. ``format_table(df, names=, units=)``
turns a DataFrame of results into the strings a reader sees (thousands separators for counts,
a few significant digits for measurements, human column names with units);
:func:`kanmix.page.table` renders it with its caption in a box that scrolls when the table is
wider than the page.

Every sentence of the book that states a result comes from here, computed from the numbers: one module
per chapter (``_layer`` for chapters 1 and 2, ``_mixers``, ``_autoencoders``, ``_splines``, ``_frontier``)
beside ``_format``, what they all share. No notebook decides a claim. Import from ``kanmix.report``.
"""


from kanmix.report._format import (  # noqa: F401
    RC_PARAMS, setup, MINUS, typeset, format_number, plain, column_label, format_table, fmt, signed, P_FLOOR,
    p_value, count, listing, ranking, ranking_sentence, compare_to_paper, paired_sentence, span, from_to, distinct,
    recompute_time, flop_text, points,
    against_sentence, equivalence_sentence, one_fold_sentence, bullets)
from kanmix.report._layer import (  # noqa: F401
    layer_cost_points, layer_model_text, spline_share_text, grid_update_text, top_edges_text, layer_speed_lines,
    parity_verdicts, parity_text, parity_against_gaps, ae_parity_sentence, bf16_time_text, layer_points,
    kan_findings, layer_findings, CONTENDERS, SPEED_NAMES, SPEED_UNITS)
from kanmix.report._layer import (  # noqa: F401
    OpenedClassifier, open_classifier, show_spline_share, glue_edge_terms, show_grid_update, glue_grid_update,
    show_regulariser, LayerSpeed, show_layer_speed, glue_layer_speed, show_parity)
from kanmix.report._mixers import (  # noqa: F401
    interval_cell, grid_ablation_text, cv_text, paper_texts, headline_text, efficiency_text,
    efficiency_campaign_text, mixers_points,
    CV_NAMES, CV_UNITS, CV_PERCENT, protocol_text, SEARCH_NAMES, SEARCH_UNITS, search_campaign_text, search_protocol_text,
    search_importance_text, patch_text, search_final_text)
from kanmix.report._mixers import (  # noqa: F401
    mixers_findings, glue_deviations, glue_grid_ablation, show_cross_validation, glue_cv_figures, glue_pairs,
    show_efficiency, glue_efficiency_figure, glue_search, show_patch_outcome, show_search_final)
from kanmix.report._autoencoders import (  # noqa: F401
    AE_NAMES, AE_UNITS, AE_PERCENT, ae_protocol_text, beats_mean_text, knn_protocol_text, convergence_text,
    ae_campaign_text, ae_summary, ae_converged_text, widened_cnn_text)
from kanmix.report._autoencoders import (  # noqa: F401
    glue_ae_placed, show_ae_sweep, glue_ae_figures, show_ae_comparisons, show_ae_paper_widths, show_ae_knn,
    show_ae_convergence)
from kanmix.report._splines import (  # noqa: F401
    findings, null_results, negative_results, shared_with_mlp, pruning_controls, conclude_interpretability,
    conclude_linearized, conclude_cost, splines_findings, replacement)
from kanmix.report._splines import (  # noqa: F401
    SPLINES_NAMES, SPLINES_UNITS, show_splines_models, show_edge_summary, glue_edge_distributions, glue_edge_figures,
    show_symbolic_fits, glue_token_maps, show_token_locality, glue_pixel_maps, show_seed_agreement, show_pruning,
    glue_pruning)
from kanmix.report._frontier import (  # noqa: F401
    FRONTIER_NAMES, FRONTIER_UNITS, FRONTIER_PERCENT,
    frontier_gap_sentence, frontier_trend_sentence, frontier_crossing_sentence, seconds_source,
    frontier_devices_text, frontier_answer,
    sweep_text, frontier_summary, longer_training_sentence, longer_training_text)
from kanmix.report._frontier import (  # noqa: F401
    frontier_findings, frontier_figure, glue_frontier, show_lr_sweep, show_frontier_points, show_longer_training)
from kanmix.report._headline import (  # noqa: F401
    PLAIN_NAMES, plain_name, mixers_finding, mixers_field_finding, scale_finding, autoencoders_finding,
    like_for_like_finding, inside_finding, linear_finding, headline_findings, on_own_page, chapter_findings,
    findings_in_detail)
from kanmix.report._headline import (  # noqa: F401
    ChapterStudies, glue_findings_frontier, show_findings_table)
