"""Chapters 1 and 2's sentences: a KAN layer's cost beside a dense layer's, and what one trained KAN
classifier's edges, grid, regulariser, speed and precision parity show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kanmix.report._format import (bullets, count, equivalence_sentence, fmt, listing, points, recompute_time, signed,
                                   span)


# ----------------------------------------------------------------------------- chapter 1's sentences


def _book_grid(costs):
    """The rows of chapter 1's cost table (:func:`kanmix.flops.layer_costs`) at efficient-KAN's G = 5, k = 3, the
    grid this book trains with (the largest degree and the first grid size when the table lacks them), and that
    ``(G, k)``."""
    k = 3 if 3 in costs.index.get_level_values("k") else max(costs.index.get_level_values("k"))
    at = costs.xs(k, level="k")
    g = 5 if 5 in at.index.get_level_values("G") else at.index.get_level_values("G")[0]
    return at.xs(g, level="G"), g, k


def kan_findings(costs, unity_error: float, *, tolerance: float = 1e-5) -> list[str]:
    """Chapter 1's finding, two sentences computed on its page: what a KAN layer costs against a dense layer of
    the same shape at the book's grid (chapter 1's cost table, :func:`kanmix.flops.layer_costs`), its measured
    FLOP ratio set against the formula G + k + 1, and whether the B-spline bases sum to one across the grid range
    (``unity_error``, :func:`kanmix.viz.plot_bases`' largest deviation) to within ``tolerance``."""
    at, g, k = _book_grid(costs)
    params, flops = float(at["params ratio"].median()), float(at["FLOPs ratio"].median())
    formula = g + k + 1
    exact = bool((abs(at["FLOPs ratio"] - formula) <= 1e-6 * formula).all())
    work = (f"does {fmt(flops, 2)}× its matrix-multiply work, as $G + k + 1$ predicts" if exact else
            f"does {fmt(flops, 3)}× its matrix-multiply work, not the $G + k + 1$ of the formula")
    cost = (f"At efficient-KAN's default grid, the one this book trains with, a KAN layer holds about "
            f"{fmt(params, 2)}× the parameters of a dense layer of the same shape and {work}: a KAN and an MLP of "
            "the same widths are not the same size.")
    unity = (f"The B-spline bases every edge is built from sum to one across the grid range, off by at most "
             f"{fmt(unity_error, 2)}: a partition of unity, so equal spline coefficients make a flat edge there."
             if unity_error <= tolerance else
             f"The B-spline bases do not sum to one across the grid range: they are off by up to "
             f"{fmt(unity_error, 2)}, so the layer's bases are not a partition of unity there.")
    return [cost, unity]


def layer_cost_points(costs) -> str:
    """What chapter 1's cost table (:func:`kanmix.flops.layer_costs`) says, at efficient-KAN's G = 5, k = 3 where
    the table has them: the parameter and FLOP ratios against a dense layer, and why sizes must be matched."""
    at, _, _ = _book_grid(costs)
    lines = [
        "A KAN edge holds $G + k + 2$ parameters. At efficient-KAN's defaults $G = 5$, $k = 3$ (used throughout this "
        "book; the autoencoder paper does not state its values) a KAN layer has "
        f"{span(at['params ratio'])} times the parameters of a "
        "dense layer of the same shape in the table (not quite $G + k + 2$ because the dense layer also has a bias).",
        f"Its matrix-multiply work is $G + k + 1$ times a dense layer's at the same shape: the measured ratio is "
        f"{span(at['FLOPs ratio'])} here, as the formula says. "
        "The B-spline evaluation adds elementwise work that grows with $G$ and $k$ per input but not with the output "
        "width, so for wide layers the GEMM dominates.",
        "A \"KAN\" and an \"MLP\" of the same layer widths are therefore not the same size: a fair comparison matches "
        "parameters or training time, or reports both. Chapters 3 and 4 put parameters, training time and accuracy "
        "per training minute next to every accuracy, and chapter 3 adds an MLP-Mixer matched to the KAN-Mixer in "
        "parameters and one matched in training time.",
    ]
    return "\n".join(f"- {line}" for line in lines)


# ----------------------------------------------------------------------------- chapter 2's sentences
# Chapter 2 opens one trained KAN classifier (the tables of kanmix.page, kanmix.grids.grid_update_effect),
# times the layer (kanmix.bench.kan.speed_table) and trains chapter 3's mixers in float32 and bf16
# (kanmix.studies.precision_parity); these say what its tables show.


#: What chapter 2 calls each contender of the layer benchmark (:data:`kanmix.bench.kan.NAMES`), in its table's headers
#: and its figure's legend.
CONTENDERS = {"kanmix": "KANLinear", "reference": "plain", "limit": "dense limit", "linear": "nn.Linear",
              "flashkan": "flashkan", "inkan": "inkan"}
#: Headers and units of :func:`kanmix.bench.kan.speed_table`'s columns for the page (``page.table``'s ``names`` and
#: ``units``): short enough for the column, the ratios named by what they divide.
SPEED_NAMES = {**{f"{k} ms": v for k, v in CONTENDERS.items()}, "limit ms": "limit",
               "kanmix / limit": "KANLinear / limit", "reference / kanmix": "plain / KANLinear",
               "reference / limit": "plain / limit", "kanmix KiB / row": "memory"}
SPEED_UNITS = {**{f"{k} ms": "ms" for k in CONTENDERS}, "kanmix KiB / row": "KiB/row"}


def layer_findings(weighted: Mapping[str, float], speed, parity, table, *, margin: float,
                   kan: str = "KAN-Mixer") -> list[str]:
    """Chapter 2's finding, three sentences of at most two numbers: where training moves the weight of the edges
    (``weighted``: :func:`kanmix.studies.weighted_spline_share`, state -> the spline's importance-weighted share),
    what ``KANLinear`` costs against the dense limit and the plain formulation at its worst
    (:func:`kanmix.bench.kan.speed_table`), and whether training in bf16 is equivalent to float32 within ``margin``
    for each model of ``parity`` (:func:`kanmix.studies.precision_parity`'s rows, ``table`` their
    :func:`kanmix.studies.parity_table`), as :func:`parity_verdicts` judges it, with how much faster ``kan`` trains."""
    t, u = weighted["trained"], weighted["untrained"]
    pct = lambda v: f"{fmt(100 * v, 2)}%"  # noqa: E731
    if pct(t) == pct(u):
        shares = (f"Training leaves the KAN classifier's edges as they were: weighted by importance, the spline "
                  f"carries {pct(t)} of their magnitude, as at initialisation.")
    else:
        toward = "toward their splines" if t > u else "away from their splines, toward the SiLU base"
        shares = (f"Training moves the weight of the KAN classifier's edges {toward}: weighted by importance, the "
                  f"spline carries {pct(t)} of their magnitude, against {pct(u)} at initialisation.")
    worst, gain = float(speed["kanmix / limit"].max()), float(speed["reference / kanmix"].min())
    against = (f"and is at least {fmt(gain, 2)}× as fast as the plain efficient-KAN formulation" if gain >= 1 else
               f"but is slower than the plain efficient-KAN formulation at some shapes (down to {fmt(gain, 2)}×)")
    cost = (f"Forward and backward, `KANLinear` takes at most {fmt(worst, 2)}× the time of the dense limit, the "
            f"three-GEMM floor of any layer computed this way, {against}.")
    inside = {label: -margin < r.ci_low and r.ci_high < margin for label, r in _parity_intervals(parity).items()}
    same = listing(f"the {m}" for m, ok in inside.items() if ok)
    unsure = listing(f"the {m}" for m, ok in inside.items() if not ok)
    band = f"{fmt(100 * margin, 2)} points of accuracy"
    if all(inside.values()):
        bf16 = f"Training in bf16 is equivalent to float32 within {band} for {same}"
    elif any(inside.values()):
        bf16 = f"Training in bf16 is equivalent to float32 within {band} for {same}, but not shown to be for {unsure}"
    else:
        bf16 = f"Training in bf16 is not shown to be equivalent to float32 within {band} for {unsure}"
    seconds = table["train_seconds"]
    if (kan, "fp32") in seconds.index and (kan, "bf16") in seconds.index:
        bf16 += f", and bf16 trains the {kan} {fmt(seconds[(kan, 'fp32')] / seconds[(kan, 'bf16')], 2)}× as fast"
    return [shares, cost, bf16 + "."]


def layer_model_text(record: dict) -> str:
    """Chapter 2's KAN classifier (a ``classification`` record of a ``kan`` model): size, widths, test accuracy,
    training length, images and seconds."""
    from kanmix.data import info

    cfg = record["config"]
    d = info(cfg["dataset"])
    widths = [d.channels * (cfg.get("size") or d.size) ** 2, *cfg["model_kwargs"]["hidden"], d.num_classes]
    shape = " → ".join(fmt(w) for w in widths)  # not a Python list: "[3,072, 64, 10]" would misread its commas
    return (f"The classifier ({record['parameters']:,} parameters, widths {shape}) reached a test accuracy of "
            f"{fmt(record['metrics']['test']['accuracy'])} after {count(cfg['train']['epochs'], 'epoch')} on "
            f"{record['n_train']:,} images, in {fmt(record['train_seconds'], 3)} s of training "
            f"({cfg['train']['precision']}).")


def spline_share_text(share, weighted: Mapping[str, float]) -> str:
    """The median spline share of the second and first layers' edges, trained and untrained, and the
    importance-weighted share (:func:`kanmix.studies.spline_share_table`, :func:`kanmix.studies.weighted_spline_share`)."""
    first, second = share.index[0], share.index[1]
    return (f"In the trained model the median edge is {fmt(100 * share.loc[second, 'trained'], 2)}% spline in the "
            f"second layer ({fmt(100 * share.loc[second, 'untrained'], 2)}% at initialisation) and "
            f"{fmt(100 * share.loc[first, 'trained'], 2)}% in the first; weighted by edge importance, the "
            f"spline carries {fmt(100 * weighted['trained'], 2)}% of the edges' magnitude "
            f"({fmt(100 * weighted['untrained'], 2)}% untrained, a factor of "
            f"{fmt(weighted['trained'] / weighted['untrained'], 3)}).")


def grid_update_text(occupancy, change: float) -> str:
    """The second layer's inputs inside its grid and its knot intervals in use, before and after a grid update, and
    what the update changed in its output (:func:`kanmix.grids.grid_update_effect`)."""
    return (f"Before the update {fmt(100 * occupancy.iloc[0, 0], 3)}% of the second layer's inputs were inside its "
            f"grid and {fmt(100 * occupancy.iloc[0, 1], 3)}% of its knot intervals were in use; after it, "
            f"{fmt(100 * occupancy.iloc[1, 0], 3)}% and {fmt(100 * occupancy.iloc[1, 1], 3)}%. The layer's output "
            f"on these inputs moved by at most {fmt(100 * change, 2)}% of its largest value (the refit's error).")


def top_edges_text(reg) -> str:
    """The share of the importance the top 10% of edges hold in each layer, trained and untrained
    (:func:`kanmix.studies.regulariser_table`)."""
    column = "importance held by the top 10% of edges"
    top_t, top_u = (reg.xs(state, level="state")[column] for state in ("trained", "untrained"))
    return "The top 10% of edges hold " + listing(
        f"{fmt(100 * top_t[n], 3)}% of the importance in {n} ({fmt(100 * top_u[n], 3)}% untrained)"
        for n in top_t.index) + " (10% would be an even spread)."


def layer_speed_lines(speed, records) -> list[str]:
    """What the layer benchmark (:func:`kanmix.bench.kan.speed_table`) shows, one line per finding.

    Per dtype: ``KANLinear`` against the dense limit and the plain formulation, and where (with
    several shapes) the plain formulation suffers most and least relative to its GEMMs; against
    each installed peer, at how many shapes it is faster. With both dtypes, bf16's speed-up of
    ``KANLinear``, on the device of the first of ``records`` (the benchmark's store records; none
    when it was read from a file, whose caption names its origin).
    """
    lines = []
    for dtype, part in speed.groupby(level="dtype", sort=False):
        part = part.droplevel("dtype")
        line = (f"In {dtype}, `KANLinear` runs at {span(part['kanmix / limit'])}× the dense limit and "
                f"{span(part['reference / kanmix'])}× faster than the plain formulation")
        if len(part) > 1:
            worst, best = part["reference / limit"].idxmax(), part["reference / limit"].idxmin()
            line += (f"; the plain formulation suffers most, relative to its GEMMs, at ({worst}) "
                     f"({fmt(part.loc[worst, 'reference / limit'], 3)}× the limit) and least at ({best}) "
                     f"({fmt(part.loc[best, 'reference / limit'], 3)}×)")
        lines.append(line + ".")
        for p in (p for p in ("flashkan", "inkan") if f"{p} ms" in part and part[f"{p} ms"].notna().all()):
            faster = int((part["kanmix ms"] < part[f"{p} ms"]).sum())
            lines.append(f"In {dtype}, `KANLinear` is faster than `{p}` at {faster} of {len(part)} shapes.")
    if {"float32", "bfloat16"} <= set(speed.index.get_level_values("dtype")):
        gain = speed.xs("float32", level="dtype")["kanmix ms"] / speed.xs("bfloat16", level="dtype")["kanmix ms"]
        device = records[0]["provenance"]["device"] if records else "see the caption"
        lines.append("bf16 makes `KANLinear` " + listing(f"{fmt(g, 3)}× faster at ({s})" for s, g in gain.items())
                     + f" than float32 on this machine ({device}).")
    return lines


def _parity_intervals(parity) -> dict:
    """Per model of :func:`kanmix.studies.precision_parity`'s rows: bf16 against float32 over the paired folds
    (:func:`kanmix.stats.paired_comparison`, Nadeau-Bengio corrected, the 90% interval of two one-sided tests)."""
    from kanmix.stats import paired_comparison

    out = {}
    for label in parity.model.unique():
        part = parity[parity.model == label]
        wide = part.pivot(index="fold", columns="precision", values="val_accuracy")
        out[label] = paired_comparison(wide["bf16"], wide["fp32"], folds=int(part.folds.iloc[0]), confidence=0.90)
    return out


def parity_verdicts(parity, table, *, margin: float) -> list[str]:
    """Per model, bf16 against float32 as an equivalence test within ``margin`` (:func:`equivalence_sentence`) and how
    much faster bf16 trained.

    ``parity`` is :func:`kanmix.studies.precision_parity`'s rows (one per model, precision and
    fold), ``table`` :func:`kanmix.studies.parity_table` of them. The folds are paired; the
    Nadeau-Bengio correction uses their number.
    """
    verdicts = []
    for label, res in _parity_intervals(parity).items():
        fp32, bf16 = table.loc[(label, "fp32")], table.loc[(label, "bf16")]
        verdicts.append(f"{label}: " + equivalence_sentence(res, margin=margin)
                        + f" bf16 trained {fmt(fp32['train_seconds'] / bf16['train_seconds'], 3)}× as fast")
    return verdicts


def parity_against_gaps(parity, gaps: Mapping[str, float] | None, *, kan: str = "KAN-Mixer") -> str:
    """Whether the bf16 intervals (:func:`parity_verdicts`') are narrow enough to rule out a bf16 effect as large as
    chapter 3's gaps between ``kan`` and each other model (``gaps``: :func:`kanmix.studies.kan_mixer_gaps`, other
    model -> ``kan`` minus it; ``None`` while chapter 3's runs are missing).

    Every model of chapter 3 trains in bf16; a gap smaller than what bf16 may shift one model by could
    read differently in float32, so the sentence names each such gap.
    """
    if not gaps:
        return "Chapter 3's runs are not all in the results store, so its gaps cannot be set beside these intervals yet."
    reach = max(max(abs(r.ci_low), abs(r.ci_high)) for r in _parity_intervals(parity).values())
    within = {m: g for m, g in gaps.items() if abs(g) <= reach}
    lead = (f"The widest of these intervals reaches {fmt(100 * reach, 2)} points from zero. Chapter 3's gaps between the "
            f"{kan} and the other models")
    if not within:
        smallest = min(gaps.values(), key=abs)
        return (f"{lead} are all wider (the smallest {fmt(100 * abs(smallest), 2)} points), so none of them could be a "
                "bf16 effect of that size.")
    def named(part: Mapping[str, float]) -> str:
        return listing([f"the {m} ({points(g)})" for m, g in sorted(part.items(), key=lambda kv: abs(kv[1]))])

    wider = {m: g for m, g in gaps.items() if m not in within}
    settled = (f"only the wider {'one' if len(wider) == 1 else 'ones'}, {named(wider)}, "
               f"{'is' if len(wider) == 1 else 'are'}" if wider else "none of them is")
    return (f"{lead} include gaps no wider than that: {named(within)}. A bf16 effect of that size is not ruled out, "
            f"so whether {'this gap holds' if len(within) == 1 else 'these gaps hold'} in float32 is not settled "
            f"here; {settled}.")


def ae_parity_sentence(rows, *, margin: float, what: str = "test MSE") -> str:
    """bf16 against float32 for an autoencoder's seeds as an equivalence test of the relative ``what``
    (:func:`kanmix.studies.ae_precision_parity`'s rows): the mean of ``bf16 / float32 - 1`` over the seeds with
    its 90% paired t interval (two one-sided tests at 0.05), inside ``±margin`` (relative) or not.

    Seeds train on the same images and are scored on the same test split, so no resampling
    correction applies; fewer than two seeds in both precisions give no interval, and the sentence says so.
    """
    from kanmix.stats import paired_comparison

    wide = rows.pivot(index="seed", columns="precision", values="test_mse").reindex(columns=["fp32", "bf16"]).dropna()
    if len(wide) < 2:
        return (f"The autoencoder's parity needs at least two seeds in both precisions; the results store holds "
                f"{count(len(wide), 'seed')} so far, so there is no interval yet.")
    ratio = wide["bf16"] / wide["fp32"]
    res = paired_comparison(ratio - 1, [0.0] * len(ratio), test_train_ratio=0.0, confidence=0.90)
    pct = lambda v: f"{signed(100 * v, 2)}%"  # noqa: E731
    interval = (f"bf16 against float32, the {what} changes by {pct(res.mean_diff)} on average, 90% interval "
                f"{pct(res.ci_low)} to {pct(res.ci_high)} over {count(len(ratio), 'seed')}")
    band = f"±{fmt(100 * margin, 2)}%"
    if -margin < res.ci_low and res.ci_high < margin:
        return f"{interval}: inside the {band} equivalence margin, so the two are equivalent at that margin."
    return f"{interval}: it reaches past the {band} equivalence margin, so equivalence cannot be claimed."


def parity_text(verdicts) -> str:
    """:func:`parity_verdicts` as one paragraph, with what the test is."""
    return ("Mean held-out accuracy, bf16 against float32, as an equivalence test (two one-sided tests at 0.05: the "
            "corrected 90% interval must lie inside the margin): " + "; ".join(verdicts) + ".")


def bf16_time_text(table, *, kan: str = "KAN-Mixer", mlp: str = "MLP-Mixer") -> str:
    """How much bf16 speeds each mixer, and which precision's time match favours the KAN-Mixer
    (:func:`kanmix.studies.parity_table`); ``""`` unless both mixers ran."""
    models = set(table.index.get_level_values("model"))
    if not {kan, mlp} <= models:
        return ""
    seconds = table["train_seconds"]
    speedup = {m: seconds[(m, "fp32")] / seconds[(m, "bf16")] for m in (kan, mlp)}
    ratio = {p: seconds[(kan, p)] / seconds[(mlp, p)] for p in ("bf16", "fp32")}
    return (f"bf16 speeds the {kan} {fmt(speedup[kan], 2)}× and the {mlp} {fmt(speedup[mlp], 2)}×, so the {kan} takes "
            f"{fmt(ratio['bf16'], 2)}× the {mlp}'s training time in bf16 and {fmt(ratio['fp32'], 2)}× in float32. "
            "Chapter 3 matches training time in bf16 on this CPU: " + (
                f"a match made in float32 would give the {mlp} more epochs, so the bf16 match is the more generous to "
                f"the {kan}." if ratio["fp32"] > ratio["bf16"] else
                f"a match made in float32 would give the {mlp} fewer epochs, so the bf16 match is the less generous to "
                f"the {kan}."))


def layer_points(weighted: Mapping[str, float], occupancy, change: float, speed_lines, verdicts, records, *,
                 workers: int = 1) -> str:
    """Chapter 2's conclusions as bullets: the spline's weighted share, the grid before and after an update, the
    benchmark's lines, the bf16 verdicts and what recomputing the chapter's ``records`` costs."""
    return bullets([
        f"**Base and spline.** Weighted by importance, the spline carries {fmt(100 * weighted['trained'], 2)}% of the "
        f"trained edges' magnitude against {fmt(100 * weighted['untrained'], 2)}% at initialisation "
        f"({fmt(weighted['trained'] / weighted['untrained'], 3)}×); the rest is the SiLU base.",
        f"**Grid.** {fmt(100 * occupancy.iloc[0, 0], 3)}% of the second layer's inputs sat inside its grid and "
        f"{fmt(100 * occupancy.iloc[0, 1], 3)}% of its knot intervals were in use; a grid update raised these to "
        f"{fmt(100 * occupancy.iloc[1, 0], 3)}% and {fmt(100 * occupancy.iloc[1, 1], 3)}% at the cost of a "
        f"{fmt(100 * change, 2)}% change of the output.",
        *speed_lines,
        "**bf16.** " + "; ".join(verdicts) + ".",
        f"Recomputing this chapter from an empty results store: {recompute_time(records, workers=workers)}.",
    ])




# ----------------------------------------------------------------------------- chapter 2's sections
# One call per section of chapter 2: each shows its table and sentences (``show_*``, in a cell whose output the page
# keeps) or glues its figure for the Markdown to place (``glue_*``, in a ``remove-output`` cell: page.figure also
# shows a figure where it is made), and returns what the chapter's findings and conclusions read. The captions are
# written here; the numbers come from kanmix.grids, kanmix.interpret, kanmix.studies and kanmix.bench.kan.


@dataclass
class OpenedClassifier:
    """Chapter 2's KAN classifier opened at its second layer (:func:`open_classifier`).

    - ``record``: its ``classification`` record; ``models``: ``{"trained": ..., "untrained": ...}``, the trained
      model and its untrained twin (same architecture and seed), both in eval mode;
    - ``probe``: ``(n_probe, C, H, W)`` float test images in ``[-1, 1]``, what every measure reads;
    - ``layer``: the trained model's second ``KANLinear``; ``inputs``: ``(n_probe, layer.in_features)``, what reaches
      it on ``probe``;
    - ``edges``: state -> :func:`kanmix.interpret.edge_table` of that model on ``probe`` (one row per edge).
    """

    record: dict
    models: dict
    probe: object
    layer: object
    inputs: object
    edges: dict = field(default_factory=dict)


def open_classifier(cfg, record: dict, *, n_probe: int) -> OpenedClassifier:
    """:class:`OpenedClassifier` of chapter 2's run ``cfg`` (:func:`kanmix.studies.layer_run`, its ``record``
    stored with its weights), read on the first ``n_probe`` images of its dataset's test split."""
    from kanmix import data, grids, interpret, runner

    models = {"trained": runner.load_trained(cfg), "untrained": runner.build(cfg).eval()}
    probe = data.to_float(data.load(cfg.split.dataset, "test")[0][:n_probe])
    layer = models["trained"].kan.layers[1]
    inputs = grids.layer_inputs(models["trained"], probe)["kan.layers.1"]
    edges = {state: interpret.edge_table(m, probe) for state, m in models.items()}
    return OpenedClassifier(record, models, probe, layer, inputs, edges)


def show_spline_share(classifier: OpenedClassifier, profile: str) -> dict[str, float]:
    """Show the median spline share per layer, trained and untrained (:func:`kanmix.studies.spline_share_table`),
    and what it says (:func:`spline_share_text`); returns :func:`kanmix.studies.weighted_spline_share`
    (state -> the spline's importance-weighted share), what the findings read."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.studies import spline_share_table, weighted_spline_share

    share, weighted = spline_share_table(classifier.edges), weighted_spline_share(classifier.edges)
    display(page.table(share, "Median spline share S / (S + B) of the edges of each layer over real test inputs, "
                       "trained and at initialisation", [classifier.record], profile, precision=3))
    display(Markdown(spline_share_text(share, weighted)))
    return weighted


def glue_edge_terms(classifier: OpenedClassifier, profile: str, *, n_edges: int) -> None:
    """Glue ``edges``: the ``n_edges`` most important edges of the second layer split into their SiLU base and
    spline terms (:func:`kanmix.viz.plot_edge_terms`)."""
    from kanmix import page, viz

    page.figure("edges", viz.plot_edge_terms(classifier.layer, classifier.inputs, n_edges), f"The {n_edges} most "
                "important edges of the second KAN layer (panel: input unit → class), split into their SiLU base and "
                "spline terms over the range of their inputs; shaded: the spline grid range", [classifier.record],
                profile)


def show_grid_update(classifier: OpenedClassifier, profile: str) -> tuple:
    """Show where the second layer's knots sit relative to its inputs before and after a grid update, and what the
    update changed (:func:`grid_update_text`); returns :func:`kanmix.grids.grid_update_effect`'s
    ``(after, occupancy, change)``: the updated copy of the layer, the table and the output's relative change."""
    from IPython.display import Markdown, display

    from kanmix import grids, page

    after, occupancy, change = grids.grid_update_effect(classifier.layer, classifier.inputs)
    display(page.table(occupancy, "Where the second layer's knots sit relative to its real inputs", [classifier.record],
                       profile, precision=3))
    display(Markdown(grid_update_text(occupancy, change)))
    return after, occupancy, change


def glue_grid_update(classifier: OpenedClassifier, after, profile: str) -> None:
    """Glue ``grid_update``: the second layer's busiest input and its most important edge before and after the grid
    update that gave ``after`` (:func:`kanmix.viz.plot_grid_update`)."""
    from kanmix import page, viz

    page.figure("grid_update", viz.plot_grid_update(classifier.layer, after, classifier.inputs), "A grid update on "
                "real hidden activations, shown on the hidden unit whose activations vary most. Left: how many test "
                "images give each activation, with the knots before (blue) and after (red, dashed) the update; right: "
                "that unit's most important edge before and after: the knots move to the data and the edge function "
                "is kept where the data is", [classifier.record], profile)


def show_regulariser(classifier: OpenedClassifier, profile: str) -> None:
    """Show the two terms of the KAN sparsity regulariser and the top 10% of edges' share of the importance, per layer,
    trained and untrained (:func:`kanmix.studies.regulariser_table`), and what it says (:func:`top_edges_text`)."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.studies import regulariser_table

    reg = regulariser_table(classifier.models, classifier.edges)
    display(page.table(reg, "The two terms of the KAN sparsity regulariser, and the concentration of edge importance",
                       [classifier.record], profile, precision=3))
    display(Markdown(top_edges_text(reg)))


@dataclass
class LayerSpeed:
    """The layer benchmark as chapter 2 shows it (:func:`show_layer_speed`): ``table``
    (:func:`kanmix.bench.kan.speed_table`, one row per (shape, dtype)), the store ``records`` behind it (none when
    read from a file), the ``source`` naming that file for the captions (``None`` otherwise) and the ``lines`` that
    say what it shows (:func:`layer_speed_lines`)."""

    table: object
    records: list
    source: str | None
    lines: list


def show_layer_speed(profile: str, *, bench_json: str | None, shapes, repeats: int, dtypes) -> LayerSpeed:
    """Time the layer against its peers (or read ``bench_json``: :func:`kanmix.bench.kan.chapter_results`), show the
    table and what it says; returns the :class:`LayerSpeed`."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.bench import kan as bench_kan

    table, records, source = bench_kan.chapter_results(bench_json, shapes, repeats, dtypes)
    display(page.table(table.drop(columns="reference / limit"), f"Forward + backward time of one layer (grid "
                       f"{bench_kan.GRID_SIZE}, order {bench_kan.SPLINE_ORDER}), medians of {repeats} steps, per "
                       "shape (rows, in → out) and dtype: KANLinear, the plain formulation, the dense limit and "
                       "nn.Linear; then KANLinear's time over the limit's, the plain formulation's over KANLinear's, "
                       "and KANLinear's peak memory per input row", records, profile, precision=3, source=source,
                       names=SPEED_NAMES, units=SPEED_UNITS))
    speed = LayerSpeed(table, records, source, layer_speed_lines(table, records))
    display(Markdown(bullets(speed.lines)))
    return speed


def glue_layer_speed(speed: LayerSpeed, profile: str) -> None:
    """Glue ``speed``: the layer's time against its peers in each dtype, the dense limit dashed
    (:func:`kanmix.viz.plot_layer_speed`)."""
    from kanmix import page, viz

    page.figure("speed", viz.plot_layer_speed(speed.table, labels=CONTENDERS), "Layer time against the peers in each "
                "dtype, one group of bars per shape (rows, in → out); the dashed line is the dense limit, the "
                "three-GEMM floor", speed.records, profile, source=speed.source)


def show_parity(parity, records, profile: str, *, margin: float, gaps: Mapping[str, float] | None) -> tuple:
    """Show the precision parity: the models' CV in float32 and bf16 (:func:`kanmix.studies.parity_table` of
    :func:`kanmix.studies.precision_parity`'s rows ``parity``, trained on one dataset's folds), the equivalence
    verdicts within ``margin`` (:func:`parity_text`), what bf16 does to the time match (:func:`bf16_time_text`)
    and the intervals beside chapter 3's ``gaps`` (:func:`parity_against_gaps`). Returns ``(table, verdicts)``,
    what the findings and conclusions read."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.data import info
    from kanmix.report._mixers import CV_NAMES, CV_UNITS
    from kanmix.studies import parity_table

    table = parity_table(parity)
    display(page.table(table, f"{info(parity.dataset.iloc[0]).title}: {int(parity.folds.iloc[0])}-fold CV of the "
                       "same models, seeds and folds in float32 and bf16", records, profile, names=CV_NAMES,
                       units=CV_UNITS))
    verdicts = parity_verdicts(parity, table, margin=margin)
    display(Markdown(parity_text(verdicts)), Markdown(bf16_time_text(table)),
            Markdown(parity_against_gaps(parity, gaps)))
    return table, verdicts
