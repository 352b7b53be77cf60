"""The book's results sentences follow the numbers: reversed inputs give reversed words."""

from __future__ import annotations

import types

import pytest

from kanmix import report, stats

PAPER = {"KAN-Mixer": 0.9030, "MLP": 0.8920, "MLP-Mixer": 0.8770, "KAN": 0.8920}


def test_ranking_sentence_follows_the_scores_both_ways():
    s = report.ranking_sentence({"A": 0.9, "B": 0.8, "C": 0.85})
    assert s == "By mean validation accuracy: A (0.9000) > C (0.8500) > B (0.8000)."
    assert report.ranking_sentence({"A": 0.8, "B": 0.9}).startswith("By mean validation accuracy: B")
    assert report.ranking_sentence({"A": 2.0, "B": 1.0}, what="MSE", higher_is_better=False) == \
        "By MSE: B (1.000) < A (2.000)."


def test_compare_to_paper_names_gaps_and_reversals():
    same = {"KAN-Mixer": 0.91, "MLP": 0.90, "MLP-Mixer": 0.88, "KAN": 0.895}
    text = report.compare_to_paper(same, PAPER)
    assert "KAN-Mixer 0.9100 against 0.9030 (+0.00700, above the paper's)" in text
    # The paper ties MLP and KAN: ours breaking the tie is no reversal, and the tie is named.
    assert "The ranking agrees with the paper's (KAN-Mixer > MLP > KAN > MLP-Mixer)" in text
    assert "The paper reports MLP and KAN as tied." in text
    agree = report.compare_to_paper({"KAN-Mixer": 0.91, "MLP-Mixer": 0.88}, PAPER)
    assert "The ranking agrees with the paper's (KAN-Mixer > MLP-Mixer)" in agree
    reversed_ = report.compare_to_paper({"KAN-Mixer": 0.87, "MLP-Mixer": 0.89}, PAPER)
    assert "The ranking differs" in reversed_ and "KAN-Mixer and MLP-Mixer is reversed" in reversed_
    assert "below the paper's" in reversed_ and "above the paper's" in reversed_
    noisy = report.compare_to_paper({"KAN-Mixer": 0.902}, PAPER, noise={"KAN-Mixer": 0.003})
    assert "(-0.00100, within one fold standard deviation of the paper's)" in noisy.replace("−", "-")
    far = report.compare_to_paper({"KAN-Mixer": 0.890}, PAPER, noise={"KAN-Mixer": 0.003})
    assert "below the paper's" in far and "within" not in far
    assert report.compare_to_paper({"X": 1.0}, PAPER) == "None of the models reported in the paper was run here."


def test_paired_sentence_never_calls_a_non_significant_difference_better():
    a = [0.90, 0.91, 0.905, 0.90, 0.912]
    b = [0.89, 0.90, 0.899, 0.891, 0.90]
    sig = stats.paired_comparison(a, b, test_train_ratio=0.0)  # consistent gap, naive ratio: significant
    text = report.paired_sentence(sig, "A", "B")
    assert "A has the higher accuracy, significantly at 0.05" in text and "floor" in text
    assert "the Wilcoxon test could not have reached 0.05" in text  # 5 pairs: the Wilcoxon floor 0.0625 is above 0.05
    flipped = report.paired_sentence(stats.paired_comparison(b, a, test_train_ratio=0.0), "B", "A")
    assert "A has the higher accuracy" in flipped and "B −" in flipped
    noisy = stats.paired_comparison([0.90, 0.88, 0.91, 0.87, 0.90], [0.89, 0.90, 0.89, 0.89, 0.885], folds=5)
    text = report.paired_sentence(noisy, "A", "B")
    assert "cannot tell A and B apart" in text and "higher" not in text


def test_listing_and_signed_numbers():
    assert report.listing(["a", "b", "c"]) == "a, b and c" and report.listing([]) == "none"
    assert report.signed(-0.0042) == "−0.00420" and report.signed(0.01, 2) == "+0.010"


def test_span_gives_one_number_when_the_values_agree():
    assert report.span([1.031, 1.46]) == "1.03–1.46"
    assert report.span([9.0, 9.0004]) == "9.00"


def test_recompute_time_sums_each_record_once():
    recs = [{"hash": "a", "provenance": {"wall_time_s": 3600.0}}, {"hash": "b", "provenance": {"wall_time_s": 1800.0}},
            {"hash": "a", "provenance": {"wall_time_s": 3600.0}}]
    assert report.recompute_time(recs) == "2 runs, 1.5 h of run time in all"
    assert report.recompute_time(recs, workers=2).endswith("about 0.75 h of wall time with 2 runs at a time")


def test_count_says_one_fold_and_many_folds():
    assert report.count(1, "fold") == "1 fold"
    assert report.count(3, "seed") == "3 seeds"
    assert report.count(10000, "image") == "10,000 images"


def test_distinct_keeps_each_record_once_in_first_seen_order():
    a, b = {"hash": "a", "n": 1}, {"hash": "b"}
    loose = {"n": 2}  # no hash: kept as it is, never merged with another hashless record
    assert report.distinct([a, b, {"hash": "a", "n": 3}, loose, {"n": 2}]) == [a, b, loose, {"n": 2}]


def test_an_agreeing_order_is_claimed_only_where_its_pairs_are_separated():
    ours = {"KAN-Mixer": 0.91, "MLP": 0.90, "MLP-Mixer": 0.88}
    all_apart = {frozenset(p) for p in (("KAN-Mixer", "MLP"), ("MLP", "MLP-Mixer"), ("KAN-Mixer", "MLP-Mixer"))}
    assert "agrees with the paper's (KAN-Mixer > MLP > MLP-Mixer), each neighbouring pair separated" in \
        report.compare_to_paper(ours, PAPER, separated=all_apart)
    tied = report.compare_to_paper(ours, PAPER, separated={frozenset(("MLP", "MLP-Mixer"))})
    assert "agrees" not in tied and "as in the paper; KAN-Mixer and MLP are tied within noise" in tied
    # A reversal within noise is not a reversal; one beyond noise is named.
    flipped = {"KAN-Mixer": 0.87, "MLP-Mixer": 0.89}
    within = report.compare_to_paper(flipped, PAPER, separated=set())
    assert "the reversed KAN-Mixer and MLP-Mixer are within noise" in within and "tied within noise" in within
    beyond = report.compare_to_paper(flipped, PAPER, separated={frozenset(("KAN-Mixer", "MLP-Mixer"))})
    assert "KAN-Mixer and MLP-Mixer is reversed beyond noise" in beyond


def test_repeated_folds_get_no_wilcoxon():
    a, b = [0.90, 0.91, 0.905, 0.90, 0.912, 0.9], [0.89, 0.90, 0.899, 0.891, 0.90, 0.89]
    res = stats.paired_comparison(a, b, folds=5)
    assert "Wilcoxon" in report.paired_sentence(res, "A", "B")
    assert "Wilcoxon" not in report.paired_sentence(res, "A", "B", wilcoxon=False)


def _folds(scores: dict, params: dict, seconds: dict):
    import pandas as pd

    return pd.DataFrame([{"model": m, "repeat": 0, "fold": f, "val_accuracy": v, "params": params[m],
                          "train_seconds": seconds[m]} for m, vs in scores.items() for f, v in enumerate(vs)])


def test_against_sentence_names_wins_losses_and_ties_and_flips_with_the_evidence():
    from kanmix import studies

    kan = [0.90, 0.905, 0.91, 0.90, 0.907]
    scores = {"KAN-Mixer": kan, "Cheap": [v + 0.03 + 0.001 * i for i, v in enumerate(kan)],
              "Weak": [v - 0.05 - 0.001 * i for i, v in enumerate(kan)], "Same": [v + (-1) ** i * 0.004 for i, v in enumerate(kan)]}
    params = {"KAN-Mixer": 1000, "Cheap": 100, "Weak": 2000, "Same": 1000}
    seconds = {"KAN-Mixer": 10.0, "Cheap": 5.0, "Weak": 10.0, "Same": 10.0}
    rows = studies.kan_mixer_against(_folds(scores, params, seconds), folds=5)
    assert set(rows.model) == {"Cheap", "Weak", "Same"} and (rows.pairs == 6).all()
    text = report.against_sentence(rows, title="Set")
    assert "Holm-adjusted over the 6 pairs" in text
    assert "ahead of the Weak" in text and "behind the Cheap" in text and "not separable from the Same" in text
    assert "0.10× the KAN-Mixer's parameters and 0.50× its training time" in text
    # Reversed: the weak model becomes the strong one.
    swapped = {**scores, "Cheap": scores["Weak"], "Weak": scores["Cheap"]}
    text = report.against_sentence(studies.kan_mixer_against(_folds(swapped, params, seconds), folds=5), title="Set")
    assert "ahead of the Cheap" in text and "behind the Weak" in text
    # Null: every model the same as the KAN-Mixer.
    null = {m: kan for m in scores}
    text = report.against_sentence(studies.kan_mixer_against(_folds(null, params, seconds), folds=5), title="Set")
    assert "ahead" not in text and "behind" not in text and "not separable from" in text


def test_equivalence_is_claimed_only_inside_the_margin():
    close = stats.paired_comparison([0.900, 0.902, 0.899, 0.901, 0.900], [0.901, 0.901, 0.900, 0.900, 0.901],
                                    folds=5, confidence=0.90)
    assert "equivalent at that margin" in report.equivalence_sentence(close, margin=0.01)
    # The same numbers against a margin narrower than their interval: no claim either way.
    text = report.equivalence_sentence(close, margin=0.0005)
    assert "equivalence cannot be claimed" in text and "equivalent at" not in text
    far = stats.paired_comparison([0.90, 0.93, 0.88, 0.92, 0.89], [0.90, 0.90, 0.90, 0.90, 0.90], folds=5,
                                  confidence=0.90)
    assert "equivalence cannot be claimed" in report.equivalence_sentence(far, margin=0.01)


def test_one_fold_gaps_are_judged_against_the_images_noise():
    assert stats.binomial_band(0.9, 10_000) == pytest.approx(1.96 * (2 * 0.09 / 10_000) ** 0.5, rel=1e-3)
    text = report.one_fold_sentence({"A": 0.900, "B": 0.901, "C": 0.95}, "A", 10_000)
    assert "B (+0.00100) against A is within that" in text and "C (+0.0500) against A is beyond it" in text
    flipped = report.one_fold_sentence({"A": 0.95, "B": 0.951, "C": 0.900}, "A", 10_000)
    assert "C (−0.0500) against A is beyond it" in flipped
    small = report.one_fold_sentence({"A": 0.900, "C": 0.95}, "A", 100)
    assert "within that" in small and "beyond" not in small


# ----------------------------------------------------------------------------- numbers in prose, as a reader reads them


def _comparison(xs, gaps, band=None):
    """A :class:`kanmix.frontier.Comparison` of families A and B at the compute levels ``xs`` with gaps ``gaps``."""
    import pandas as pd

    from kanmix.frontier import Comparison

    frame = pd.DataFrame({"x": xs, "a": 0.9, "b": [0.9 - g for g in gaps], "gap": gaps})
    return Comparison(dataset="d", a="A", b="B", x="flops", y="val_accuracy", lo=min(xs), hi=max(xs), gaps=frame,
                      band=band, seed_df=4, trend_a=None, trend_b=None)


def test_negative_numbers_carry_a_true_minus_sign():
    assert report.fmt(-1.16) == "−1.160" and report.signed(-1.16, 3) == "−1.16"
    assert report.points(-0.0116) == "−1.2 points" and report.span([-1.5, -1.2]) == "from −1.50 to −1.20"
    assert "-" not in report.fmt(-12345.6) + report.plain(-3e-4) + report.flop_text(2.5e3)


def test_tiny_values_in_prose_have_no_exponent():
    assert report.fmt(2.4e-7, 2) == "0.00000024" and report.signed(-3.33e-05) == "−0.0000333"
    assert report.p_value(2.4e-7) == "p < 0.0001" and report.p_value(0.0123) == "p = 0.012"
    res = types.SimpleNamespace(mean_diff=-3.33e-05, ci_low=-4.1e-05, ci_high=-2.5e-05, n=5, p_nb=2.4e-07,
                                p_wilcoxon=1.2e-06, wilcoxon_n=20, p_floor=1.9e-06)
    text = report.paired_sentence(res, "A", "B")
    assert "e-" not in text and "p < 0.0001" in text and "A − B = −0.0033 points of accuracy (95% interval −0.0041 to −0.0025)" in text
    assert "B has the higher accuracy" in text


def test_thousands_separators_in_prose():
    assert report.fmt(12345) == "12,345" and report.fmt(1234.5678) == "1,235" and report.plain(20000) == "20,000"
    recs = [{"hash": str(i), "provenance": {"wall_time_s": 3600.0}} for i in range(1200)]
    assert report.recompute_time(recs).startswith("1,200 runs, 1,200 h of run time")


def test_a_range_across_zero_is_written_out_and_a_range_of_one_value_is_one_value():
    assert report.span([-0.0116 * 100, 0.0165 * 100]) == "from −1.16 to +1.65"
    assert report.span([1.031, 1.46]) == "1.03–1.46" and report.span([2.0, 2.0001]) == "2.00"
    assert report.from_to(1.43e13, 1.43e13, report.flop_text) == "at 14.3 TFLOP"
    assert report.from_to(1e12, 2.5e13, report.flop_text) == "from 1.00 TFLOP to 25.0 TFLOP"
    crossing = report.frontier_gap_sentence(_comparison([1e12, 2e12, 4e12], [-0.0116, 0.002, 0.0165]))
    assert "from −1.16 to +1.65 points" in crossing and "−1.16–" not in crossing
    assert crossing.startswith("At equal training FLOPs (from 1.00 TFLOP to 4.00 TFLOP, 3 compute levels)")
    single = report.frontier_gap_sentence(_comparison([1.43e13], [0.01]))
    assert "(at 14.3 TFLOP, 1 compute level)" in single and "from 14.3 TFLOP to 14.3 TFLOP" not in single
    banded = report.frontier_gap_sentence(_comparison([1e12, 2e12, 4e12], [0.02, 0.03, -0.001], band=0.005))
    assert "the A is ahead at 2 of 3 (1.00 TFLOP–2.00 TFLOP), by 2.00–3.00 points" in banded
    assert "the B is ahead at none" in banded


def test_settings_in_prose_are_written_as_given():
    study = types.SimpleNamespace(lrs={"K": 1e-05, "M": 3e-4})
    assert report.sweep_text(study, {"lrs": [1e-5, 3e-4, 1e-3], "sizes": []}) == "Chosen: K: 0.00001; M: 0.0003."


def test_recompute_time_sums_each_device_on_its_own():
    cpu = {"device": "cpu: AMD EPYC"}
    recs = [{"hash": "a", "provenance": {**cpu, "wall_time_s": 3600.0}},
            {"hash": "b", "provenance": {**cpu, "wall_time_s": 3600.0}},
            {"hash": "c", "provenance": {"device": "NVIDIA H200", "wall_time_s": 360.0}}]
    text = report.recompute_time(recs, workers=2)
    assert text.startswith("3 runs, made on 2 devices: 2.0 h on cpu: AMD EPYC (2 runs) and 0.10 h on NVIDIA H200 (1 run)")
    assert "wall time with" not in text  # no one machine's wall time exists for a mix


def _frontier_run(h, device, dataset="fashion_mnist", seed=0, dim=32):
    return {"hash": h, "kind": "classification", "seed": seed, "provenance": {"device": device},
            "config": {"dataset": dataset, "model": "kan_mixer", "model_kwargs": {"dim": dim}, "seed": seed,
                       "train": {"epochs": 10}}}


def test_frontier_devices_text_names_the_minority_device_and_what_it_trained():
    from types import SimpleNamespace

    timing = {"kind": "timing", "provenance": {"device": "cpu: AMD EPYC"}}
    one = SimpleNamespace(records=[_frontier_run("a", "cpu: X"), _frontier_run("b", "cpu: X", dim=64), timing],
                          timing=timing)
    assert report.frontier_devices_text(one) == ""
    runs = [_frontier_run("a", "cpu: X"), _frontier_run("b", "cpu: X", dataset="cifar10"),
            _frontier_run("c", "cpu: X", dim=48), _frontier_run("d", "GPU Y", dim=64),
            _frontier_run("e", "GPU Y", seed=1)]
    text = report.frontier_devices_text(SimpleNamespace(records=runs + [timing], timing=timing))
    assert text.startswith("Of the chapter's 5 runs, 3 trained on cpu: X and 2 on GPU Y "
                           "(1 of the grid on Fashion-MNIST and 1 with a further seed)")
    assert "seed noise band pairs seeds made on different devices" in text  # "e" is "a"'s second seed
    assert text.endswith("one timing of every size on cpu: AMD EPYC.")
    # The same runs with the devices swapped: GPU Y is now the main one; no seed pair crosses devices when
    # the second seed runs where its first did.
    swapped = [{**r, "provenance": {"device": "cpu: X" if r["provenance"]["device"] == "GPU Y" else "GPU Y"}}
               for r in runs[:4]] + [_frontier_run("e", "cpu: X", seed=1), _frontier_run("f", "cpu: X", dim=80)]
    text = report.frontier_devices_text(SimpleNamespace(records=swapped, timing=None))
    assert text.startswith("Of the chapter's 6 runs, 3 trained on GPU Y and 3 on cpu: X")
    assert "seed noise band" in text  # "e" (cpu: X) is the second seed of "a", which is now on GPU Y
    assert text.endswith("not comparable across devices.")
    same = [_frontier_run("a", "cpu: X"), _frontier_run("e", "cpu: X", seed=1), _frontier_run("d", "GPU Y", dim=64)]
    assert "seed noise band" not in report.frontier_devices_text(SimpleNamespace(records=same, timing=None))
