"""What trained KAN layers compute, measured on the inputs they actually see, against controls.

Every measure reads a model together with real inputs (training images), so it can be taken for
a trained model and for the same architecture at initialisation, its control. One module a job,
each importing only those above it:

- :mod:`~kanmix.interpret.edges`: the images edges are measured on (:func:`probe_images`),
  sampling each edge over its real inputs (:func:`sample_edges`) and the per-edge measures
  (:func:`spline_share`, :func:`silu_deviation`, :func:`shape_stats`, :func:`edge_importances`),
  one row per edge in :func:`edge_table`, summed up by :func:`summarize`;
- :mod:`~kanmix.interpret.symbolic`: which closed form of :data:`LIBRARY` an edge is close to
  (:func:`symbolic_fits`, :func:`symbolic_top`);
- :mod:`~kanmix.interpret.maps`: which patch positions a token-mixing network reads
  (:func:`token_maps`), how local that is (:func:`locality`), whether seeds agree
  (:func:`rank_agreement`);
- :mod:`~kanmix.interpret.pruning`: mask the least important edges, fine-tune, score
  (:func:`prune_runs`, one results-store record per run), against random pruning and an
  MLP-Mixer pruned by magnitude to the same parameter counts;
- :mod:`~kanmix.interpret.evidence`: the numbers the conclusions read (:class:`Evidence`) and
  comparisons that claim a difference only beyond noise (:func:`compare`).

The sentences written from the evidence are in :mod:`kanmix.report` (:func:`kanmix.report.findings`,
:func:`kanmix.report.conclude_interpretability`, ...), and chapter 5's runs are
:func:`kanmix.studies.splines`. Import from ``kanmix.interpret``: every public name is here.
"""

from kanmix.interpret.edges import (  # noqa: F401
    COVERAGE, POINTS, PROBE_SEED, SILU_LIKE, TOL, EdgeSample, data_range, edge_importances, edge_table, importance,
    probe_images, sample_edges, shape_stats, silu_deviation, spline_share, summarize, top_share)
from kanmix.interpret.symbolic import GOOD_FIT, LIBRARY, TIE, library, symbolic_fits, symbolic_top  # noqa: F401
from kanmix.interpret.maps import locality, rank_agreement, token_maps  # noqa: F401
from kanmix.interpret.pruning import (  # noqa: F401
    MAGNITUDE, PRUNE_KIND, RANDOM, RANKINGS, finetune_config, keep_for_parameters, keep_masks, kept_parameters, mask_edges,
    prunable_layers, prune_runs, trained_and_data)
from kanmix.interpret.evidence import (  # noqa: F401
    Comparison, Evidence, Linearized, SymbolicCounts, compare, evidence, linearized_effects, per_state, seed_agreement,
    symbolic_counts)

__all__ = [
    "COVERAGE", "POINTS", "PROBE_SEED", "SILU_LIKE", "TOL", "EdgeSample", "data_range", "sample_edges", "probe_images",
    "spline_share", "silu_deviation", "shape_stats", "edge_table", "edge_importances", "importance", "top_share",
    "summarize",
    "GOOD_FIT", "LIBRARY", "TIE", "library", "symbolic_fits", "symbolic_top",
    "token_maps", "locality", "rank_agreement",
    "PRUNE_KIND", "RANKINGS", "RANDOM", "MAGNITUDE", "prunable_layers", "keep_masks", "mask_edges", "kept_parameters",
    "keep_for_parameters", "finetune_config", "trained_and_data", "prune_runs",
    "Comparison", "compare", "Evidence", "evidence", "per_state", "seed_agreement", "SymbolicCounts",
    "symbolic_counts", "Linearized", "linearized_effects",
]

