"""Chapter 5's sentences: what the measures of the learned edge functions say against their controls
(:class:`kanmix.interpret.Evidence`), and what the cost buys; and the chapter's page, one call per table or
figure under its caption."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kanmix.report._format import listing, pct, sig3, times, typeset

if TYPE_CHECKING:
    from kanmix.interpret import Comparison, Evidence, Linearized


# ----------------------------------------------------------------------------- chapter 5's sentences
# Sentences from :class:`kanmix.interpret.Evidence`: every statement compares a trained model with
# the same architecture at initialisation (or the KAN-Mixer with the MLP-Mixer) and calls a
# difference one only beyond the noise band of :func:`kanmix.interpret.compare`.

#: How a summary introduces :func:`null_results` beside :func:`findings`.
NEGATIVE = "Negative results (no difference beyond noise, or a control not beaten)"

#: What each per-state measure is called where it shows nothing (:func:`null_results`).
_MEASURE_NAMES = {"spline_share": "the splines' share of the edges", "silu_like": "the share of SiLU-like edges",
                  "deviation": "the edges' deviation from the SiLU shape", "monotone": "the share of monotone edges",
                  "concentration": "how concentrated importance is", "locality": "how local the token maps are"}


def _versus(c: Comparison, higher: str, lower: str, same: str, show=sig3) -> str:
    """The words for the :class:`kanmix.interpret.Comparison` ``c`` (``higher``/``lower``/``same``, by its
    sign), then the means and the band in brackets, each number written by ``show``."""
    if c.sign is None:
        return (f"{show(c.a)} against {show(c.b)}, with no noise estimate (one value each side), "
                "so no difference is claimed")
    words = {1: higher, -1: lower, 0: same}[c.sign]
    sign = "" if show(abs(c.diff)) == show(0.0) else "+" if c.diff > 0 else "−"
    return f"{words} ({show(c.a)} against {show(c.b)}; difference {sign}{show(abs(c.diff))} ± {show(c.half_width)})"


def _pruned(ev: Evidence) -> tuple[Comparison | None, dict[float, tuple[Comparison, Comparison]]]:
    """Pruning by importance against the unpruned model, paired by seed on the test images: the unpruned model
    against chance (None without a chance level), and per kept fraction, largest first, the accuracy right after
    pruning and after fine-tuning against unpruned. Empty without pruning runs."""
    from kanmix.interpret.evidence import compare

    df = ev.pruning
    if df is None or df.empty:
        return None, {}
    n = int(df.n_eval.min())
    full = df.groupby("seed").accuracy_unpruned.first()
    above = (compare(full.tolist(), [ev.chance] * len(full), n=n, paired=True) if ev.chance is not None else None)
    out = {}
    for keep in sorted(df.keep.unique(), reverse=True):
        rows = df[df.keep == keep].set_index("seed")
        unpruned = full.loc[rows.index].tolist()
        out[float(keep)] = (compare(rows.accuracy_pruned.tolist(), unpruned, n=n, paired=True),
                            compare(rows.accuracy_finetuned.tolist(), unpruned, n=n, paired=True))
    return above, out


def _pruning_lines(ev: Evidence) -> tuple[str | None, float | None]:
    """The pruning sentence (None without runs) and the smallest kept fraction down to which no fine-tuned
    model lost accuracy beyond noise (None if none, or if the unpruned model is no better than chance)."""
    above, by_keep = _pruned(ev)
    if not by_keep:
        return None, None
    lead = (f"Pruned by importance on training images and scored on {int(ev.pruning.n_eval.min())} test images, with "
            f"{ev.steps} fine-tuning steps: ")
    if above is not None and above.sign != 1:
        return (lead + f"the unpruned model is no better than chance (accuracy {sig3(above.a)} against "
                f"{sig3(ev.chance)}), so pruning it shows nothing."), None
    safe, failed, parts = None, False, []
    for keep, (raw, tuned) in by_keep.items():
        if keep < 1:
            parts.append(f"keeping {pct(keep)} of the edges, accuracy is "
                         + _versus(raw, "higher than unpruned", "lower than unpruned", "no different from unpruned")
                         + " right after pruning, and after fine-tuning "
                         + _versus(tuned, "higher", "lower", "no different"))
            failed = failed or tuned.sign is None or tuned.sign < 0
            if not failed:
                safe = keep
        else:
            parts.append("fine-tuning alone (all edges kept) leaves accuracy "
                         + _versus(tuned, "higher", "lower", "no different"))
    return lead + "; ".join(parts) + ".", safe


def pruning_controls(ev: Evidence) -> dict[str, dict[float, Comparison]]:
    """Control -> kept fraction -> the KAN-Mixer pruned by importance and fine-tuned against that control
    (:attr:`kanmix.interpret.Evidence.controls`) at the same fraction (the MLP-Mixer: at the same parameter
    count), on the test images; fractions below 1 only. Random pruning is paired by seed (the same trained
    model); the MLP-Mixer is another model, so it is not. Empty without controls."""
    from kanmix.interpret.evidence import compare
    from kanmix.interpret.pruning import RANDOM

    if ev.pruning is None or ev.controls is None or ev.controls.empty:
        return {}
    claim = ev.pruning.set_index(["keep", "seed"]).accuracy_finetuned
    out: dict[str, dict[float, Comparison]] = {}
    for control, rows in ev.controls.groupby("control", sort=False):
        for keep, part in rows[rows.keep < 1].groupby("keep"):
            ours = claim.loc[keep] if keep in claim.index.get_level_values(0) else None
            if ours is None:
                continue
            paired = control == RANDOM
            theirs = part.set_index("seed").accuracy_finetuned
            if paired:
                common = sorted(set(ours.index) & set(theirs.index))
                if not common:
                    continue
                ours, theirs = ours.loc[common], theirs.loc[common]
            n = int(min(ev.pruning.n_eval.min(), part.n_eval.min()))
            out.setdefault(control, {})[float(keep)] = compare(ours.tolist(), theirs.tolist(), n=n, paired=paired)
    return out


def _controls_sentence(ev: Evidence) -> str | None:
    """Pruning's controls in words (None without them): at each kept fraction, importance pruning against
    random pruning, and the KAN-Mixer against the parameter-matched MLP-Mixer pruned by magnitude."""
    from kanmix.interpret.pruning import RANDOM

    tests = pruning_controls(ev)
    if not tests:
        return None
    parts = []
    for control, by_keep in tests.items():
        what = ("against the same fractions removed in a random order, the importance-pruned KAN-Mixer is"
                if control == RANDOM else "against the MLP-Mixer matched in parameters and pruned by weight magnitude to the "
                "same parameter count, the KAN-Mixer is")
        parts.append(what + " " + "; ".join(
            f"at {pct(keep)} kept " + _versus(c, "more accurate", "less accurate", "as accurate")
            for keep, c in sorted(by_keep.items(), reverse=True)))
    return "Controls, after the same fine-tuning: " + "; ".join(parts) + "."


def replacement(ev: Evidence, name: str = "the trained KAN-Mixer") -> tuple[str, Linearized] | None:
    """The linearizing arm a summary reads, in words (``"every edge of <name>"`` for the arm replacing every KAN
    layer, the widest; else the first arm run), with its :class:`kanmix.interpret.Linearized` effect; ``None``
    when no linearized model was scored or its effect has no noise band to be judged by."""
    from kanmix.interpret.evidence import linearized_effects

    effects = linearized_effects(ev.linearized)
    if not effects:
        return None
    arm = "all" if "all" in effects else next(iter(effects))
    what = f"every edge of {name}" if arm == "all" else f"every edge of {name}'s {arm} layers"
    return None if effects[arm].raw.sign is None else (what, effects[arm])


def findings(ev: Evidence) -> list[str]:
    """What the trained KAN models show beyond their untrained control and beyond noise, as phrases.

    ``ev`` is a :class:`kanmix.interpret.Evidence`. Empty when nothing does. Read by both
    conclusions, so they cannot disagree.
    """
    from kanmix.interpret.evidence import per_state, seed_agreement
    from kanmix.interpret.pruning import RANDOM

    c = per_state(ev)

    def sign(name: str) -> int | None:
        return c[name].sign if name in c else None

    def both(name: str, show=sig3) -> str:
        return f"{show(c[name].a)} against {show(c[name].b)}"

    held = []
    if sign("spline_share") == 1:
        held.append(f"training moves the splines beyond their initial share (median {both('spline_share')})")
    if sign("silu_like") == -1 or sign("deviation") == 1:
        held.append("trained edges depart from the SiLU shape more than at initialisation (SiLU-like edges "
                    f"{both('silu_like', pct)}; median deviation {both('deviation')})")
    replaced = replacement(ev)
    if replaced is not None and replaced[1].raw.sign == -1:
        what, e = replaced
        held.append(f"the splines do work their best-fitting MLP edge does not: replacing {what} by its "
                    f"a + b·SiLU(x) fit lowers test accuracy ({sig3(e.raw.b)} to {sig3(e.raw.a)})"
                    + (f", and fine-tuning does not win it back ({sig3(e.tuned.a)})"
                       if e.tuned.sign == -1 else ", though fine-tuning wins it back, within noise"))
    if sign("monotone") is not None and sign("monotone") != 0:
        held.append(f"training makes {'more' if sign('monotone') == 1 else 'fewer'} edges monotone "
                    f"({both('monotone', pct)})")
    if sign("concentration") == 1:
        held.append(f"importance concentrates on fewer edges than at initialisation (top 10% of edges hold "
                    f"{both('concentration', pct)})")
    shared = shared_with_mlp(ev)
    if sign("locality") == -1 and "locality" not in shared:
        held.append(f"token maps become more local than at initialisation (locality {both('locality')})")
    stab = seed_agreement(ev)
    if stab is not None and stab.sign == 1 and "stability" not in shared:
        held.append(f"the token maps recur across seeds more than untrained ones do (rank correlation "
                    f"{sig3(stab.a)} against {sig3(stab.b)})")
    for keep, c in sorted(pruning_controls(ev).get(RANDOM, {}).items()):
        if c.sign == 1:
            held.append(f"importance picks the edges worth keeping: at {pct(keep)} kept, the importance-pruned "
                        f"model is more accurate than one pruned in a random order ({sig3(c.a)} against {sig3(c.b)})")
            break
    _, safe = _pruning_lines(ev)
    if safe is not None:
        held.append(f"the network can be read from {pct(safe)} of its edges: the rest can be pruned, with "
                    "fine-tuning, at no accuracy cost beyond noise")
    return held


def splines_findings(ev: Evidence, name: str = "the KAN-Mixer") -> list[str]:
    """Chapter 5's finding, for the top of its page: at most three sentences of at most two numbers each, from the
    KAN-Mixer's evidence (a :class:`kanmix.interpret.Evidence`).

    First the findings page's sentence on the KAN-Mixer (:func:`kanmix.report.inside_finding`: how far training
    bends the edges from the SiLU shape, and whether the token maps recur across seeds beyond an MLP-Mixer's),
    without its pointer to this chapter; then its functional test of the splines (:func:`kanmix.report.linear_finding`:
    what replacing the edges by their best-fitting MLP edges costs) or, where no linearized model was scored, how
    many of the symbolically fitted top edges have a closed form an MLP edge's shape would not fit as well; then
    what pruning by importance costs ``name`` after fine-tuning, and whether importance beats a random order.
    Each is left out when its evidence is.
    """
    from kanmix.interpret.evidence import symbolic_counts
    from kanmix.interpret.pruning import RANDOM
    from kanmix.report._headline import inside_finding, linear_finding, on_own_page

    linear = linear_finding(ev)
    out = on_own_page(5, inside_finding(ev), linear)
    if linear is None and ev.symbolic.get("trained") is not None:  # the functional test speaks first
        counts = symbolic_counts(ev.symbolic["trained"])
        k, n = counts.good - counts.mlp, counts.fitted
        which = "none has" if k == 0 else f"{'only ' if 2 * k < n else ''}{k} {'has' if k == 1 else 'have'}"
        out.append(f"Of the {n} top trained edges fitted to a library of closed forms, {which} one that an MLP "
                   "edge's shape would not fit as well.")
    above, by_keep = _pruned(ev)
    cut = [keep for keep in by_keep if keep < 1]
    if cut and (above is None or above.sign == 1):
        _, safe = _pruning_lines(ev)
        first = by_keep[cut[0]][1]  # the fewest edges removed: fine-tuned against unpruned
        if safe is not None:
            text = (f"Pruned by importance and fine-tuned, {name} keeps its test accuracy, within noise, with "
                    f"{pct(safe)} of its edges")
        elif first.sign is None:
            text = (f"Pruned by importance to {pct(cut[0])} of its edges and fine-tuned, {name} changes its test "
                    f"accuracy by {sig3(100 * first.diff)} points, with no noise estimate to judge that by")
        else:
            text = (f"Pruning costs {name} accuracy: with {pct(cut[0])} of its edges kept by importance and "
                    f"fine-tuned, it loses {sig3(-100 * first.diff)} points of test accuracy, beyond noise")
        random = pruning_controls(ev).get(RANDOM)
        if random:
            text += (", and importance keeps better edges than a random order does"
                     if any(c.sign == 1 for c in random.values()) else
                     ", and importance keeps no better edges than a random order does")
        out.append(text + ".")
    return out


def shared_with_mlp(ev: Evidence) -> dict[str, str]:
    """The token-map properties the trained KAN-Mixer shows beyond its initialisation that the trained
    MLP-Mixer, measured the same way, shows as much (not beyond the KAN-Mixer's within noise): measure ->
    phrase. A property both families share belongs to trained mixers, not to KAN edges."""
    from kanmix.interpret.evidence import compare, per_state, seed_agreement

    c, out = per_state(ev), {}
    if "locality" in c and c["locality"].sign == -1 and ev.locality.get("mlp"):
        vs = compare(ev.locality["trained"], ev.locality["mlp"])
        if vs.sign is not None and vs.sign != -1:
            out["locality"] = (f"token maps more local than at initialisation, and the MLP-Mixer's as local or more "
                               f"(locality {sig3(vs.a)} against the MLP-Mixer's {sig3(vs.b)})")
    stab = seed_agreement(ev)
    if stab is not None and stab.sign == 1 and len(ev.stability.get("mlp", ())) > 0:
        vs = compare(ev.stability["trained"], ev.stability["mlp"])
        if vs.sign is not None and vs.sign != 1:
            out["stability"] = (f"token maps that recur across seeds, as the MLP-Mixer's do (rank correlation "
                                f"{sig3(vs.a)} against the MLP-Mixer's {sig3(vs.b)})")
    return out


def null_results(ev: Evidence) -> list[str]:
    """The measures that do *not* separate the trained model from its untrained control beyond noise, and the
    controls it does not beat, as phrases: the negative results a summary names beside :func:`findings`'
    positive ones."""
    from kanmix.interpret.evidence import per_state, seed_agreement
    from kanmix.interpret.pruning import MAGNITUDE, RANDOM

    c = per_state(ev)
    out = [_MEASURE_NAMES[name] for name in _MEASURE_NAMES if name in c and not c[name].sign]
    stab = seed_agreement(ev)
    if stab is not None and stab.sign != 1:
        out.append("how much the token maps recur across seeds")
    out += [f"{phrase}: shared with the MLP-Mixer" for phrase in shared_with_mlp(ev).values()]
    replaced = replacement(ev, "the KAN-Mixer")
    if replaced is not None and replaced[1].raw.sign == 0:
        out.append(f"test accuracy with {replaced[0]} replaced by its best-fitting MLP edge, a + b·SiLU(x)")
    elif replaced is not None and replaced[1].raw.sign == -1 and replaced[1].tuned.sign == 0:
        out.append(f"test accuracy with {replaced[0]} replaced by its best-fitting MLP edge, once fine-tuned")
    if ev.pruning is not None and not ev.pruning.empty and _pruning_lines(ev)[1] is None:
        out.append(f"pruning: no kept fraction down to {pct(ev.pruning.keep.min())} of the edges kept the unpruned "
                   "accuracy after fine-tuning")
    controls = pruning_controls(ev)
    if controls.get(RANDOM) and not any(v.sign == 1 for v in controls[RANDOM].values()):
        out.append("pruning by importance keeps no more accuracy than pruning in a random order")
    # Where the KAN-Mixer pruned by importance does not beat the MLP-Mixer pruned to as many parameters,
    # split by which way the band points: more accurate beyond noise, or as accurate within it.
    magnitude = controls.get(MAGNITUDE, {})
    for sign, words in ((-1, "more accurate than"), (0, "as accurate, within noise, as")):
        at = sorted((keep for keep, v in magnitude.items() if v.sign == sign), reverse=True)
        if at:
            out.append(f"at the same parameter count, the MLP-Mixer pruned by magnitude is {words} the pruned "
                       f"KAN-Mixer (at {listing([pct(k) for k in at])} of the KAN-Mixer's edges kept)")
    return out


def negative_results(ev: Evidence) -> str:
    """:func:`null_results` as one sentence under :data:`NEGATIVE`, for a summary that gives them beside its
    findings; empty when there are none."""
    null = null_results(ev)
    return f"{NEGATIVE}: " + "; ".join(null) + "." if null else ""


def conclude_interpretability(ev: Evidence, name: str = "these KAN vision models", *, fold: str | None = None) -> str:
    """Markdown answering "what does the interpretability of ``name`` amount to, measurably?".

    A summary of :func:`findings`, then one bullet per measure the evidence (a
    :class:`kanmix.interpret.Evidence`) holds; with ``fold``, the bullets are folded under it (a MyST
    dropdown titled ``fold``), for a page that states its finding first. Every statement compares the
    trained models with the same architecture at initialisation (the token maps also with the
    MLP-Mixer's), and calls a difference one only beyond the noise band of
    :func:`kanmix.interpret.compare`; with a single seed there is no band, and the summary says so
    instead of calling the measures equal.
    """
    from kanmix.interpret.edges import SILU_LIKE
    from kanmix.interpret.evidence import compare, per_state, seed_agreement, symbolic_counts
    from kanmix.interpret.symbolic import GOOD_FIT

    c = per_state(ev)
    share = c["spline_share"]
    mostly = "the spline" if share.a > 0.5 else "the SiLU base"
    lines = [
        "- **Do the splines get used?** The median edge's spline share is "
        + _versus(share, "higher after training than at initialisation", "lower after training than at initialisation",
                  "no different after training from initialisation")
        + f"; in the median trained edge, {mostly} carries most of the magnitude.",
        f"- **How far from an MLP?** The share of edges that are `a + b·SiLU(x)` to within {pct(SILU_LIKE)} of their "
        "variance is " + _versus(c["silu_like"], "larger after training than at initialisation",
                                 "smaller after training than at initialisation", "no different from initialisation",
                                 show=pct)
        + "; the median deviation from that shape is "
        + _versus(c["deviation"], "larger than at initialisation", "smaller than at initialisation",
                  "no different from initialisation")
        + ". Where every edge of a layer is `a + b·SiLU(x)`, the layer computes `Linear(SiLU(x))`: an MLP layer.",
        "- **Shapes.** The share of edges monotone over their real inputs is "
        + _versus(c["monotone"], "larger after training than at initialisation",
                  "smaller after training than at initialisation", "no different from initialisation", show=pct) + ".",
        "- **Is importance concentrated?** The top 10% of edges hold "
        + _versus(c["concentration"], "more of the total importance than at initialisation",
                  "less of the total importance than at initialisation", "the same share as at initialisation",
                  show=pct) + " (a uniform spread would give 10%).",
    ]
    if ev.symbolic.get("trained") is not None:
        n_fit, n_good, n_mlp, forms = symbolic_counts(ev.symbolic["trained"])
        init = ""
        if ev.symbolic.get("init") is not None:
            at_init = symbolic_counts(ev.symbolic["init"])
            init = f" (at initialisation: {at_init.good} of {at_init.fitted})"
        verb = "has" if n_good - n_mlp == 1 else "have"
        named = ", ".join(f"{typeset(form)} ({count})" for form, count in forms.items()) or "none"
        lines.append(f"- **Symbolic forms.** {n_good - n_mlp} of the {n_fit} top trained edges {verb} a closed form "
                     f"(R² ≥ {GOOD_FIT}) that an MLP edge, `a + b·SiLU(x)` or a straight line, would not also give. "
                     f"In all, {n_good} fit a library form{init}; forms named: {named}; {n_mlp} of them are fitted as "
                     "well by an MLP edge's shape.")
    if "locality" in c:
        words = [_versus(c["locality"], "less local than at initialisation", "more local than at initialisation",
                         "as local as at initialisation")]
        if ev.locality.get("mlp"):
            words.append(_versus(compare(ev.locality["trained"], ev.locality["mlp"]), "less local than the MLP-Mixer's",
                                 "more local than the MLP-Mixer's", "as local as the MLP-Mixer's"))
        lines.append("- **Token maps.** Mean distance read, relative to a uniform map (below 1: local), with one "
                     "measure for both families (each edge's mean absolute output on the same images): the trained "
                     "maps are " + "; and ".join(words) + ".")
    stab = seed_agreement(ev)
    if stab is not None:
        lines.append("- **Across seeds.** The rank correlation of the token maps between trained seeds is "
                     + _versus(stab, "higher than between untrained ones", "lower than between untrained ones",
                               "no different from that between untrained ones")
                     + ("; set against the MLP-Mixer's maps between its trained seeds, the KAN-Mixer's are "
                        + _versus(compare(ev.stability["trained"], ev.stability["mlp"]),
                                  "more alike across seeds", "less alike across seeds", "as alike across seeds")
                        if len(ev.stability.get("mlp", ())) > 0 else "")
                     + ". Hidden units are not aligned across seeds, so only input-side maps are compared.")
    prune, _ = _pruning_lines(ev)
    if prune is not None:
        controls = _controls_sentence(ev)
        lines.append(f"- **Pruning.** {prune}" + (f" {controls}" if controls else ""))
    held = findings(ev)
    if held:
        summary = " ".join(filter(None, [
            f"**Measurably, the interpretability of {name} amounts to this:** " + "; ".join(held)
            + ". Every other measure below is what the untrained network already shows, or within noise of it"
            + (", or what the MLP-Mixer shows too" if shared_with_mlp(ev) else "") + ".", negative_results(ev)]))
    elif all(v.sign is None for v in c.values()):
        summary = (f"**With one seed there is no noise estimate for {name}:** the measures below are set against "
                   "initialisation, and no difference is claimed either way.")
    else:
        summary = (f"**Measurably, the interpretability of {name} amounts to nothing the untrained network does "
                   "not already show:** no measure below differs from initialisation beyond noise"
                   + (", and no pruned model kept its accuracy." if prune is not None else "."))
    if fold:
        lines = [f"````{{dropdown}} {fold}", *lines, "````"]
    return "\n".join([summary, "", *lines])


def conclude_linearized(records: Sequence[dict], steps: int) -> str:
    """Markdown: what replacing each arm's KAN edges by their best ``a + b SiLU(x)`` costs in test accuracy
    (:func:`kanmix.linearize.linearize_runs`' records, one per seed and arm), with and without fine-tuning.

    A loss is claimed only beyond the noise band of :func:`kanmix.interpret.compare` (paired over
    seeds, with the test images' binomial noise): splines whose replacement costs nothing do no
    work an MLP edge could not.
    """
    from kanmix.interpret.evidence import linearized_effects

    lines = [f"- **{arm[0].upper() + arm[1:]} layers** (median R² of the edge fits {sig3(e.r2)}): accuracy is "
             + _versus(e.raw, "higher than trained", "lower than trained", "no different from trained")
             + f" with no fine-tuning, and after {steps} fine-tuning steps "
             + _versus(e.tuned, "higher", "lower", "no different") + "."
             for arm, e in linearized_effects(records).items()]
    return "\n".join(lines) or "No linearized model was scored."


def conclude_cost(kan: Sequence[dict], mlp: Sequence[dict], ev: Evidence | None = None,
                  matched: Sequence[dict] = ()) -> str:
    """Markdown answering "is the KAN-Mixer's extra cost justified against the MLP-Mixer?" from classification records.

    Compares test accuracy (per-seed records, the band of :func:`kanmix.interpret.compare` on the
    test images), parameters and training seconds with the MLP-Mixer of the same widths (``mlp``).
    Those widths are no cost-matched baseline, so when ``matched`` (records of the MLP-Mixer with the
    KAN-Mixer's parameters, trained alike) is given, the verdict is made against it instead: the
    extra cost buys accuracy only when the KAN-Mixer beats that MLP-Mixer beyond noise. Without it
    the verdict is the same-width one and says that it is not cost-matched. Where accuracy does not
    justify the cost, the answer says what the interpretability measures (a
    :class:`kanmix.interpret.Evidence` ``ev``, through :func:`findings`) found that it buys, if anything.
    """
    import numpy as np

    from kanmix.interpret.evidence import compare

    def against(other: Sequence[dict]):
        accuracy = [[r["metrics"]["test"]["accuracy"] for r in side] for side in (kan, other)]
        return compare(*accuracy, n=min(int(r["n_test"]) for r in [*kan, *other]))

    acc = against(mlp)
    params, seconds = (np.mean([r[k] for r in kan]) / np.mean([r[k] for r in mlp])
                       for k in ("parameters", "train_seconds"))
    cost = f"{times(params)} the parameters and {times(seconds)} the training time"
    head = ("The KAN-Mixer's test accuracy is "
            + _versus(acc, "higher than the MLP-Mixer's", "lower than the MLP-Mixer's",
                      "no different from the MLP-Mixer's")
            + f", at {cost} of the MLP-Mixer of the same widths.")
    if params <= 1 and seconds <= 1:
        return f"{head} **The KAN-Mixer costs no more here, so there is no extra cost to justify.**"
    chapter3 = ("{doc}`03_kan_mixers`, whose cross-validation on every dataset, with every model timed in one "
                "campaign, decides the cost question.")
    elsewhere = f"the MLP-Mixers with the KAN-Mixer's parameters or its training time are in {chapter3}"
    if matched:
        # Same parameters, trained alike: what an MLP-Mixer of the KAN-Mixer's size reaches, so the
        # same-width gap cannot be credited to the splines unless the KAN-Mixer also beats this one.
        # Its training seconds are not compared: pruning's control trains it in its own campaign, not beside
        # the KAN-Mixer, while chapter 3 times every model in one.
        m_acc = against(matched)
        seeds = f"{len(matched)} seed{'s' * (len(matched) != 1)}"
        head += (f" Against the MLP-Mixer with the KAN-Mixer's parameters ({seeds}, trained with the same recipe "
                 "in this chapter), its test accuracy is " + _versus(m_acc, "higher", "lower", "no different") + ".")
        matched_note = f" The other cost-matched baseline, the MLP-Mixer trained for as long, is in {chapter3}"
        if m_acc.sign == 1:
            return (f"{head} **At equal parameters the KAN-Mixer is the more accurate: its extra cost buys "
                    f"accuracy.**{matched_note}")
        if m_acc.sign == -1:
            verdict = ("**At equal parameters the MLP-Mixer is the more accurate, so the extra cost is not justified "
                       "by accuracy.**")
        else:
            verdict = ("**At equal parameters the KAN-Mixer is not more accurate beyond noise, so the extra cost is "
                       "not justified by accuracy**")
            verdict += (": an MLP-Mixer as large matches what it gains over the same-width one." if acc.sign == 1
                        else ".")
    else:
        if acc.sign == 1:
            return (f"{head} **Against this same-width MLP-Mixer the extra cost buys accuracy.** This MLP-Mixer is not "
                    f"matched in cost; {elsewhere}")
        verdict = "**Against this same-width MLP-Mixer the extra cost is not justified by accuracy.**"
        matched_note = f" This MLP-Mixer is not matched in cost; {elsewhere}"
    if ev is not None:
        held = findings(ev)
        verdict += (" Nor do the interpretability measures find anything beyond the untrained network that it buys."
                    if not held else f" What it buys instead: {'; '.join(held)}. Whether that is worth {cost} "
                    "of the same-width MLP-Mixer is a judgement these numbers leave to the reader.")
    return f"{head} {verdict}{matched_note}"




# ----------------------------------------------------------------------------- chapter 5's page
# One function per table or figure of the chapter: ``show_*`` displays a table under its caption where the cell runs
# (kanmix.page.table), ``glue_*`` glues a figure for the chapter's Markdown to place (kanmix.page.figure, in a
# ``remove-output`` cell: it also shows the figure where it is made). Each reads chapter 5's study
# (kanmix.studies.SplinesStudy) and its tables (kanmix.studies.layer_summary, ...); the captions are the page's text.

#: Chapter 5's column names and units (:func:`kanmix.page.table`'s ``names`` and ``units``).
SPLINES_NAMES = {"test_accuracy": "test accuracy", "train_seconds": "training time", "n_train": "training images",
                 "test_mse": "test MSE", "psnr": "PSNR", "images_per_second": "throughput",
                 "spline_share": "spline share", "silu_like": "SiLU-like", "monotone": "monotone",
                 "concentration": "top 10% share", "why": "chosen as", "best": "best form", "r2": "R² best",
                 "r2_x": "R² line", "r2_silu": "R² SiLU"}
SPLINES_UNITS = {"train_seconds": "s", "psnr": "dB", "images_per_second": "images/s"}


def show_splines_models(study, profile: str) -> None:
    """Show the models chapter 5 interprets: the mixers' accuracy and cost, means over their seeds
    (:func:`kanmix.studies.cost_table`), and the KAN autoencoder's (:func:`kanmix.studies.autoencoder_table`)."""
    from IPython.display import display

    from kanmix import page, studies
    from kanmix.data import info
    from kanmix.report._format import count

    first = study.kan_records[0]
    epochs = count(first["config"]["train"]["epochs"], "epoch")
    display(page.table(studies.cost_table(study), "The classifiers interpreted in this chapter, means over each "
                       f"mixer's seeds ({info(study.plan.kan[0].split.dataset).title}, {first['n_train']:,} training "
                       f"images, {epochs}): test accuracy as the fraction of the test split classified correctly, "
                       "throughput in training images per second", study.mixer_records, profile, names=SPLINES_NAMES,
                       units=SPLINES_UNITS))
    display(page.table(studies.autoencoder_table(study), f"The KAN autoencoder "
                       f"({info(study.plan.ae.split.dataset).title})", [study.ae_record], profile, names=SPLINES_NAMES,
                       units=SPLINES_UNITS))


def show_edge_summary(study, profile: str) -> None:
    """Show per KAN layer the medians and shares of its edges' measures, trained beside untrained
    (:func:`kanmix.studies.layer_summary`)."""
    from IPython.display import display

    from kanmix import interpret, page, studies

    display(page.table(studies.layer_summary(study), "Per layer, trained against untrained (init): the median edge's "
                       f"spline share, the edges SiLU-like (deviation below {interpret.SILU_LIKE}) and monotone, and "
                       "the share of the layer's importance its top 10% of edges hold (10% if spread evenly); mixer "
                       f"values pool the seeds {listing(study.seeds)}. Block b, token (channel) j: the j-th KAN layer "
                       "of block b's token (channel) mixing", [*study.kan_records, study.ae_record], profile,
                       precision=2, names=SPLINES_NAMES, percent=["silu_like", "monotone", "concentration"]))


def glue_edge_distributions(study, profile: str) -> None:
    """Glue ``ch5_distributions``: per KAN layer, the spread of its edges' spline share and deviation from
    ``a + b·SiLU``, trained against untrained (:func:`kanmix.viz.plot_edge_measures`)."""
    from kanmix import page, studies, viz

    fig = viz.plot_edge_measures(study.edges, ["spline_share", "deviation"], labels=studies.layer_labels(study),
                                 xlabels={"spline_share": "spline share (log)", "deviation": "deviation (log)"},
                                 states={"trained": "tab:purple", "init": "0.55"})
    page.figure("ch5_distributions", fig, "The spread of each layer's edges: spline share (left) and deviation from "
                "a + b·SiLU (right), trained (purple) against the same models at initialisation (grey); dot: the "
                "median edge, bar: the middle half of the edges (25th to 75th percentile); mixer values pool the seeds",
                [*study.kan_records, study.ae_record], profile)


#: What chapter 5's captions call each layer of :func:`kanmix.studies.drawn_layers`, in the order the page places them.
_DRAWN = {"token": "the KAN-Mixer's first token-mixing layer", "channel": "the KAN-Mixer's first channel-mixing layer",
          "ae": "the KAN autoencoder's pixel-side encoder layer"}


def glue_edge_figures(study, profile: str, *, n_panels: int) -> None:
    """Glue ``ch5_edges_token``, ``ch5_edges_channel`` and ``ch5_edges_ae``: the ``n_panels`` most important edges of
    each layer of :func:`kanmix.studies.drawn_layers`, trained above untrained (:func:`kanmix.studies.edge_rows`,
    :func:`kanmix.viz.plot_edge_rows`); the first caption says how to read the panels, the others point to it."""
    from kanmix import page, studies, viz

    names = studies.drawn_layers(study)
    for part, what in _DRAWN.items():
        records = [study.ae_record] if part == "ae" else [study.kan_records[0]]
        how = ("each over the central 99% of its real inputs (x) against its output φ (y), every panel on its own "
               "scale: total (solid, fainter when less important), SiLU term (blue, dashed) and spline (orange, "
               "dashed). Panel titles: input → output unit, then the edge's importance |φ|, its mean absolute output "
               "over its inputs" if part == "token" else "drawn as the token-mixing layer's above")
        page.figure(f"ch5_edges_{part}", viz.plot_edge_rows(studies.edge_rows(study, part), top_k=n_panels),
                    f"The {n_panels} most important edges of {what} ({names[part]}, first seed) after training (top) "
                    f"and at initialisation (bottom), {how}", records, profile)


def show_symbolic_fits(study, profile: str) -> None:
    """Show how many top edges each closed form fits, trained and untrained (:func:`kanmix.studies.symbolic_forms`),
    then every trained top edge's fits (:func:`kanmix.studies.symbolic_table`)."""
    from IPython.display import display

    from kanmix import interpret, page, studies

    records = [study.kan_records[0], study.ae_record]  # the first seed's models are the ones fitted
    display(page.table(studies.symbolic_forms(study).T, f"Best forms of the top edges with R² ≥ {interpret.GOOD_FIT} "
                       "(\"no fit\" below it), trained against untrained (init): number of edges", records, profile,
                       names=SPLINES_NAMES))
    display(page.table(studies.symbolic_table(study), "Symbolic fits of the top edges of the trained models (first "
                       "seed), per layer and edge (input → output unit): why chosen, importance (mean |φ|), the best "
                       "library form and its R², and the R² of a straight line and of a + b·SiLU(x)", records, profile,
                       precision=3, names=SPLINES_NAMES))


def glue_token_maps(study, profile: str) -> None:
    """Glue ``ch5_token_maps``: the first seed's token maps (:attr:`kanmix.studies.SplinesStudy.maps`) of the
    KAN-Mixer trained and at initialisation and of the trained MLP-Mixer, for the centre patch's token (a token
    with neighbours on every side) and averaged over all tokens (:func:`kanmix.viz.plot_token_maps`)."""
    from kanmix import page, viz

    maps = study.maps
    side = maps["mlp"][0].shape[-1]  # the patch grid is side × side tokens
    token = (side // 2) * side + side // 2
    fig = viz.plot_token_maps({"KAN-Mixer, trained": maps["trained"][0], "KAN-Mixer, init": maps["init"][0],
                               "MLP-Mixer, trained": maps["mlp"][0]}, token)
    page.figure("ch5_token_maps", fig, f"Token-mixing importance over the {side}×{side} patch grid (first block, first "
                f"seed): top, which input patches output token {token} (the centre patch, marked +) reads; bottom, the "
                "mean over all output tokens. Columns: the trained KAN-Mixer, the same at initialisation, and the "
                f"trained MLP-Mixer, measured the same way. A uniform map is 1/{side * side} everywhere",
                [study.kan_records[0], study.mlp_records[0]], profile)


def show_token_locality(study, profile: str) -> None:
    """Show the token maps' locality and concentration per model, one column per seed
    (:func:`kanmix.studies.locality_table`)."""
    from IPython.display import display

    from kanmix import page, studies

    locality = studies.locality_table(study).unstack("seed", sort=False)  # one row per model, the seeds across
    display(page.table(locality, "Token maps, per seed: locality (mean distance read, relative to a uniform map; below "
                       "1 is local) and the share of each map held by its top 10% of input tokens (uniform: 0.1), "
                       "averaged over output tokens", study.mixer_records, profile, precision=3,
                       names={"locality": "locality", "top 10% of inputs": "top 10% share"}))


def glue_pixel_maps(study, profile: str) -> None:
    """Glue ``ch5_pixel_maps``: the autoencoder's per-pixel importance in its first KAN layer, trained and at
    initialisation (:func:`kanmix.studies.pixel_maps`)."""
    from kanmix import page, studies, viz

    layer = studies.drawn_layers(study)["ae"]
    fig = viz.plot_pixel_maps({f"KAN AE, {state}": m for state, m in studies.pixel_maps(study, layer).items()},
                              label="summed importance")
    page.figure("ch5_pixel_maps", fig, f"Per-pixel importance of the KAN autoencoder's {layer}: each pixel's edges' "
                "importance summed over the layer's outputs, trained and at initialisation", [study.ae_record], profile)


def show_seed_agreement(study, profile: str) -> None:
    """Show how well the token maps of each pair of seeds agree, per state, one column per pair
    (:func:`kanmix.studies.seed_agreement_table`)."""
    from IPython.display import display

    from kanmix import page, studies

    agreement = studies.seed_agreement_table(study).unstack("pair", sort=False)  # one row per state, the pairs across
    display(page.table(agreement, "Spearman rank correlation of the token maps between each pair of seeds, of the full "
                       "maps and of their means over output tokens: the KAN-Mixer trained (trained) and untrained "
                       "(init), and the trained MLP-Mixer (mlp)", [*study.kan_records, *study.mlp_records], profile,
                       precision=3))


def show_pruning(study, profile: str, *, n_eval: int, finetune_steps: int) -> None:
    """Show pruning by importance and its controls, means over the seeds (:func:`kanmix.studies.pruning_means`):
    accuracies on ``n_eval`` test images, fine-tuned for ``finetune_steps`` steps."""
    from IPython.display import display

    from kanmix import page, studies

    display(page.table(studies.pruning_means(study), "Pruning by importance: mean over seeds "
                       f"{listing(study.seeds)} of the test accuracy ({n_eval:,} test images) unpruned, pruned, and "
                       f"pruned then fine-tuned for {finetune_steps} steps; then the controls after the same "
                       "fine-tuning (the MLP-Mixer at the same parameter count)", [*study.pruning_records, *study.control_records], profile, precision=4,
                       names={"accuracy_unpruned": "unpruned", "accuracy_pruned": "pruned",
                              "accuracy_finetuned": "pruned + fine-tuned",
                              f"{studies.RANDOM}, fine-tuned": "random order",
                              f"{studies.MAGNITUDE}, fine-tuned": "MLP-Mixer by magnitude"}))


def glue_pruning(study, profile: str) -> None:
    """Glue ``ch5_pruning``: test accuracy against the fraction of edges kept, per seed, with the controls
    (:func:`kanmix.viz.plot_pruning`)."""
    from kanmix import page, studies, viz

    fig = viz.plot_pruning(study.pruning, study.controls, colours={studies.RANDOM: "tab:orange",
                                                                   studies.MAGNITUDE: "tab:green"})
    page.figure("ch5_pruning", fig, "Test accuracy against the fraction of the KAN-Mixer's edges kept, one line per "
                "seed; the controls after the same fine-tuning, the MLP-Mixer at the parameter count the KAN-Mixer "
                "keeps there", [*study.pruning_records, *study.control_records], profile)
