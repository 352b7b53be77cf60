"""The book's opening findings (kanmix.report._headline): one plain sentence per chapter, with at most two numbers
and a pointer to its chapter, that names a winner only where the chapter's own test does and flips when the
evidence flips. Every input is synthetic and shaped like the real one."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from kanmix import ae, frontier, interpret, report, studies

TITLES = ("Fashion-MNIST", "CIFAR-10", "MNIST")


def checked(sentence: str | None, chapter: int) -> str:
    """``sentence``, after the rules every finding keeps: one sentence ending "(chapter N).", at most two numbers
    (dataset names and the pointer aside), true minus signs, no powers of ten, no code names."""
    assert sentence is not None
    assert sentence.endswith(f" (chapter {chapter}).") and sentence[0].isupper()
    body = sentence[: -len(f" (chapter {chapter}).")]
    assert "." not in re.sub(r"\d\.\d", "", body), "one sentence"
    for title in TITLES:
        body = body.replace(title, "")
    assert len(re.findall(r"\d[\d,.]*", body)) <= 2, sentence
    assert not re.search(r"(?<![\w.-])-(?=\.?\d)", sentence), "a hyphen-minus before a digit"
    assert not re.search(r"\de[-+]?\d", sentence) and "e-0" not in sentence
    assert not any(code in sentence for code in ("time-matched", "param-matched", "_", "(1×)", "pca", " kan "))
    return sentence


# ----------------------------------------------------------------------------- chapter 3: the headline pair

TIME = "MLP-Mixer (time-matched)"
KAN = [0.90, 0.905, 0.91, 0.90, 0.907]


def _against(shift: dict) -> dict:
    """:func:`kanmix.studies.kan_mixer_against` rows per dataset: the time-matched MLP-Mixer ``shift`` above the
    KAN-Mixer fold by fold (a number: clearly; ``None``: alternating noise around it), and an MLP well below."""
    out = {}
    for dataset, s in shift.items():
        other = [v + (s + 0.001 * i if s is not None else (-1) ** i * 0.004) for i, v in enumerate(KAN)]
        scores = {"KAN-Mixer": KAN, TIME: other, "MLP": [v - 0.05 for v in KAN]}
        folds = pd.DataFrame([{"model": m, "repeat": 0, "fold": f, "val_accuracy": v, "params": 1000,
                               "train_seconds": 10.0} for m, vs in scores.items() for f, v in enumerate(vs)])
        out[dataset] = studies.kan_mixer_against(folds, folds=5)
    return out


PAIR = ("KAN-Mixer", TIME)


def test_the_mixers_finding_names_the_winner_on_every_dataset_and_flips_with_the_evidence():
    clear = checked(report.mixers_finding(_against({"fashion_mnist": 0.005, "cifar10": 0.042}), PAIR), 3)
    assert clear == ("An MLP-Mixer trained for as long is more accurate than the KAN-Mixer on both datasets, by 0.7 "
                     "points on Fashion-MNIST and 4.4 on CIFAR-10 (chapter 3).")
    flipped = checked(report.mixers_finding(_against({"fashion_mnist": -0.005, "cifar10": -0.042}), PAIR), 3)
    assert flipped.startswith("The KAN-Mixer is more accurate than an MLP-Mixer trained for as long on both datasets")
    split = checked(report.mixers_finding(_against({"fashion_mnist": 0.005, "cifar10": -0.042}), PAIR), 3)
    assert split == ("The KAN-Mixer is more accurate than an MLP-Mixer trained for as long on CIFAR-10, by 4 points, "
                     "but less accurate on Fashion-MNIST, by 0.7 points (chapter 3).")


def test_the_mixers_finding_names_no_winner_within_noise():
    null = checked(report.mixers_finding(_against({"fashion_mnist": None, "cifar10": None}), PAIR), 3)
    assert null == ("The KAN-Mixer is as accurate as an MLP-Mixer trained for as long, within noise, on both "
                    "Fashion-MNIST and CIFAR-10 (chapter 3).")
    half = checked(report.mixers_finding(_against({"fashion_mnist": None, "cifar10": 0.042}), PAIR), 3)
    assert half == ("An MLP-Mixer trained for as long is more accurate than the KAN-Mixer on CIFAR-10, by 4.4 points, "
                    "and as accurate, within noise, on Fashion-MNIST (chapter 3).")


def test_three_winning_datasets_are_named_without_their_margins():
    text = checked(report.mixers_finding(_against({"fashion_mnist": 0.005, "cifar10": 0.042, "mnist": 0.02}), PAIR), 3)
    assert "on Fashion-MNIST, CIFAR-10 and MNIST (chapter 3)." in text and "points" not in text


def test_the_mixers_finding_is_missing_without_its_pair():
    against = _against({"fashion_mnist": 0.005})
    assert report.mixers_finding(against, None) is None and report.mixers_finding({}, PAIR) is None
    assert report.mixers_finding(against, ("KAN-Mixer", "MLP-Mixer (param-matched)")) is None


def _field(spec: dict) -> dict:
    """:func:`kanmix.studies.kan_mixer_against` rows per dataset with the headline MLP-Mixer tied and a few other
    models ``spec[dataset][model]`` above (> 0) or below (< 0) the KAN-Mixer fold by fold (0: noise around it)."""
    out = {}
    for dataset, others in spec.items():
        scores = {"KAN-Mixer": KAN, TIME: [v + (-1) ** i * 0.004 for i, v in enumerate(KAN)]}
        for model, shift in others.items():
            scores[model] = [v + (shift + 0.001 * i if shift else (-1) ** i * 0.004) for i, v in enumerate(KAN)]
        folds = pd.DataFrame([{"model": m, "repeat": 0, "fold": f, "val_accuracy": v, "params": 1000,
                               "train_seconds": 10.0} for m, vs in scores.items() for f, v in enumerate(vs)])
        out[dataset] = studies.kan_mixer_against(folds, folds=5)
    return out


def test_the_field_finding_names_whom_the_kan_mixer_beats_and_who_beats_it():
    beaten = {"MLP": -0.05, "KAN": -0.05}
    text = checked(report.mixers_field_finding(_field({"fashion_mnist": beaten, "cifar10": beaten}), PAIR), 3)
    assert text == "Of the other models, the KAN-Mixer is more accurate than a KAN and an MLP on both datasets (chapter 3)."
    split = _field({"fashion_mnist": beaten, "cifar10": {"MLP": -0.05, "KAN": 0, "MLP-Mixer (param-matched)": 0.03}})
    text = checked(report.mixers_field_finding(split, PAIR), 3)
    assert text == ("Of the other models, the KAN-Mixer is more accurate than a KAN and an MLP on Fashion-MNIST and "
                    "than an MLP on CIFAR-10; an MLP-Mixer with as many parameters is more accurate than it on "
                    "CIFAR-10 (chapter 3).")
    flipped = checked(report.mixers_field_finding(_field({"cifar10": {"MLP": 0.05}}), PAIR), 3)
    assert flipped == "An MLP is more accurate than the KAN-Mixer on CIFAR-10 (chapter 3)."


def test_the_field_finding_leaves_out_the_headline_pair_and_says_nothing_within_noise():
    tied = _field({"fashion_mnist": {"MLP": 0}, "cifar10": {"KAN": 0}})
    assert report.mixers_field_finding(tied, PAIR) is None and report.mixers_field_finding({}, PAIR) is None
    against = _against({"fashion_mnist": 0.005})  # the headline MLP-Mixer clearly ahead, the MLP clearly behind
    assert "trained for as long" not in report.mixers_field_finding(against, PAIR)


def test_a_chapter_states_its_own_findings_without_pointing_at_itself():
    found = [report.mixers_finding(_against({"fashion_mnist": 0.005}), PAIR), None,
             "At equal training compute, nothing (chapter 6)."]
    assert report.chapter_findings(3, *found) == [
        "An MLP-Mixer trained for as long is more accurate than the KAN-Mixer on Fashion-MNIST, by 0.7 points.",
        "At equal training compute, nothing (chapter 6)."]
    assert report.chapter_findings(4, None, None) == [
        "No finding yet: the runs this chapter compares are not in the results store."]


# ----------------------------------------------------------------------------- chapter 6: the frontiers

XS = [1e12, 3e12, 1e13, 3e13]


def _frontier(dataset: str, kan: tuple, mlp: tuple, *, noise: float | None = 0.001, xs=XS, mlp_xs=None):
    """:func:`kanmix.frontier.compare` of the KAN-Mixer and MLP-Mixer families on lines ``acc = a + b log10(x)``
    (bent a little, so the slopes have an interval), the cheapest point of each with two seeds ``±noise`` apart
    (``None``: one seed everywhere)."""
    rows = []
    for family, (a, b), points in (("KAN-Mixer", kan, xs), ("MLP-Mixer", mlp, mlp_xs or xs)):
        for i, x in enumerate(points):
            offsets = [-noise, noise] if noise is not None and i == 0 else [0.0]
            for seed, off in enumerate(offsets):
                rows.append({"dataset": dataset, "family": family, "dim": 32 * (i + 1), "depth": i + 1, "epochs": 10,
                             "seed": seed, "flops": x, "train_seconds": x / 1e11,
                             "val_accuracy": a + b * math.log10(x) + off + (0.0005 if i == 1 else 0.0)})
    return frontier.compare(pd.DataFrame(rows), "KAN-Mixer", "MLP-Mixer", dataset)


def test_the_scale_finding_says_who_leads_at_equal_compute_and_where_the_gap_goes():
    behind = {"fashion_mnist": _frontier("fashion_mnist", (0.5, 0.021), (0.6, 0.02)),
              "cifar10": _frontier("cifar10", (0.3, 0.021), (0.4, 0.02))}
    assert checked(report.scale_finding(behind), 6) == (
        "At equal training compute, across a 30-fold range, an MLP-Mixer is more accurate than the KAN-Mixer on both "
        "Fashion-MNIST and CIFAR-10; as compute grows, the gap neither closes nor widens measurably (chapter 6).")
    ahead = {"fashion_mnist": _frontier("fashion_mnist", (0.5, 0.03), (0.6, 0.02)),
             "cifar10": _frontier("cifar10", (0.3, 0.03), (0.4, 0.02))}
    text = checked(report.scale_finding(ahead, missing=3), 6)
    assert text.startswith("So far, at equal training compute, across a 30-fold range, the KAN-Mixer is more "
                           "accurate than an MLP-Mixer on both")
    assert text.endswith("; as compute grows, the gap widens (chapter 6).")


def test_the_scale_finding_names_no_winner_within_noise_or_without_seeds():
    tied = {"fashion_mnist": _frontier("fashion_mnist", (0.7, 0.021), (0.6, 0.02)),
            "cifar10": _frontier("cifar10", (0.3, 0.021), (0.3, 0.02), noise=0.01)}
    text = checked(report.scale_finding(tied), 6)
    assert ("the KAN-Mixer is more accurate than an MLP-Mixer on Fashion-MNIST, and as accurate, within noise, on "
            "CIFAR-10;") in text
    single = {"fashion_mnist": _frontier("fashion_mnist", (0.5, 0.021), (0.6, 0.02), noise=None)}
    text = checked(report.scale_finding(single), 6)
    assert ("with one seed per size (no noise band to judge it against), an MLP-Mixer's frontier is higher at every "
            "level compared on Fashion-MNIST") in text
    assert "more accurate" not in text
    flipped = {"fashion_mnist": _frontier("fashion_mnist", (0.6, 0.02), (0.5, 0.021), noise=None)}
    assert "the KAN-Mixer's frontier is higher at every level" in checked(report.scale_finding(flipped), 6)
    crossing = {"fashion_mnist": _frontier("fashion_mnist", (0.475, 0.03), (0.6, 0.02), noise=None)}  # gap changes sign
    assert crossing["fashion_mnist"].gaps.gap.min() < 0 < crossing["fashion_mnist"].gaps.gap.max()
    text = checked(report.scale_finding(crossing), 6)
    assert "no gap between the KAN-Mixer and an MLP-Mixer is judged against noise on Fashion-MNIST" in text


def test_the_scale_finding_is_missing_until_the_frontiers_overlap():
    apart = {"fashion_mnist": _frontier("fashion_mnist", (0.5, 0.021), (0.6, 0.02), mlp_xs=[1e15, 3e15])}
    assert report.scale_finding(apart) is None and report.scale_finding({}) is None
    text = checked(report.scale_finding({**apart, "cifar10": _frontier("cifar10", (0.3, 0.021), (0.4, 0.02))}), 6)
    assert text.endswith("; on Fashion-MNIST the frontiers do not overlap yet (chapter 6).")


def test_the_scale_finding_names_its_axis_when_it_compares_training_time():
    behind = {"fashion_mnist": _frontier("fashion_mnist", (0.5, 0.021), (0.6, 0.02))}
    text = checked(report.scale_finding(behind, what="training time on this machine", grows="the budget"), 6)
    assert text.startswith("At equal training time on this machine, across a 30-fold range, an MLP-Mixer is more "
                           "accurate than the KAN-Mixer on Fashion-MNIST; as the budget grows, the gap")


# ----------------------------------------------------------------------------- chapter 4: the autoencoders

WIDTHS = {"mnist": 150, "cifar10": 500}
SEEDS3 = {0: 0.10, 1: 0.11, 2: 0.12}


def _ae(spec: dict, *, arms: str = "sweep,paper") -> pd.DataFrame:
    """:func:`kanmix.ae.matched_comparisons` of the KAN autoencoder (test MSE by seed) against PCA (one test MSE)
    at the paper's width of each dataset: ``spec[dataset] = (kan, pca)``."""
    runs, pca = [], []
    for dataset, (kan, mse) in spec.items():
        runs += [{"dataset": dataset, "n_train": 60000, "epochs": 10, "bottleneck": WIDTHS[dataset], "key": "kan",
                  "seed": s, "test_mse": m, "knn_accuracy": 1 - m, "arms": arms} for s, m in kan.items()]
        pca.append({"dataset": dataset, "n_train": 60000, "method": "pca", "components": WIDTHS[dataset],
                    "test_mse": mse, "knn_accuracy": 1 - mse})
    return ae.matched_comparisons(pd.DataFrame(runs), pd.DataFrame(pca))


def test_the_autoencoders_finding_follows_the_matched_intervals_and_flips():
    clear = checked(report.autoencoders_finding(_ae({"mnist": (SEEDS3, 0.05), "cifar10": (SEEDS3, 0.08)}), epochs=10,
                                                paper_widths=WIDTHS), 4)
    assert clear == ("At the paper's latent sizes, PCA of the same size reconstructs the test images better than the "
                     "KAN autoencoder on both datasets, with 55% less error on MNIST and 27% less on CIFAR-10 "
                     "(chapter 4).")
    flipped = checked(report.autoencoders_finding(_ae({"mnist": (SEEDS3, 0.5), "cifar10": (SEEDS3, 0.08)}), epochs=10,
                                                  paper_widths=WIDTHS), 4)
    assert flipped == ("At the paper's latent sizes, the KAN autoencoder reconstructs the test images better than PCA "
                       "of the same size on MNIST, with 78% less error, but worse on CIFAR-10, with 38% more error "
                       "(chapter 4).")


def test_the_autoencoders_finding_names_no_winner_within_noise_or_on_one_seed():
    text = checked(report.autoencoders_finding(_ae({"mnist": (SEEDS3, 0.105), "cifar10": ({0: 0.1}, 0.08)}),
                                               epochs=10, paper_widths=WIDTHS), 4)
    assert text == ("At the paper's latent sizes, the KAN autoencoder reconstructs the test images as well as PCA of "
                    "the same size, within noise, on MNIST, and a single seed cannot tell PCA and the KAN autoencoder "
                    "apart on CIFAR-10 (chapter 4).")
    one = checked(report.autoencoders_finding(_ae({"mnist": (SEEDS3, 0.105)}), epochs=10, paper_widths=WIDTHS), 4)
    assert one.startswith("At the paper's latent size, ") and "better" not in one


def test_the_autoencoders_finding_is_missing_before_the_paper_width_runs():
    sweep_only = _ae({"mnist": (SEEDS3, 0.05)}, arms="sweep")
    assert report.autoencoders_finding(sweep_only, epochs=10, paper_widths=WIDTHS) is None
    paper = _ae({"mnist": (SEEDS3, 0.05)})
    assert report.autoencoders_finding(paper, epochs=30, paper_widths=WIDTHS) is None
    assert report.autoencoders_finding(paper.iloc[:0], epochs=10, paper_widths=WIDTHS) is None
    assert report.autoencoders_finding(None, epochs=10, paper_widths=WIDTHS) is None


def _like(spec: dict, *, b: str = "mlp") -> pd.DataFrame:
    """:func:`kanmix.ae.matched_comparisons` of the KAN autoencoder against ``b`` at several latent sizes:
    ``spec[dataset] = [(latent, kan test MSE by seed, b's), ...]``."""
    runs = []
    for dataset, sizes in spec.items():
        for latent, kan, other in sizes:
            for key, by_seed in (("kan", kan), (b, other)):
                runs += [{"dataset": dataset, "n_train": 60000, "epochs": 10, "bottleneck": latent, "key": key,
                          "seed": s, "test_mse": m, "knn_accuracy": 1 - m, "arms": "sweep"} for s, m in by_seed.items()]
    return ae.matched_comparisons(pd.DataFrame(runs), pd.DataFrame(columns=["dataset", "n_train", "method",
                                                                            "components", "test_mse", "knn_accuracy"]))


def test_the_like_for_like_finding_counts_the_sizes_won_and_the_single_seeds():
    better = [(9, SEEDS3, {0: 0.2, 1: 0.21, 2: 0.22}), (32, {0: 0.1}, {0: 0.2})]
    text = checked(report.like_for_like_finding(_like({"mnist": better, "cifar10": better}), epochs=10), 4)
    assert text == ("At equal latent sizes, the KAN autoencoder has a lower test error than an MLP autoencoder of the "
                    "same shape at every latent size on MNIST and CIFAR-10; 2 of these 4 sizes rest on a single seed "
                    "(chapter 4).")
    mixed = [(9, SEEDS3, {0: 0.10, 1: 0.12, 2: 0.11}), (32, {0: 0.3}, {0: 0.2})]  # within noise, then worse
    text = checked(report.like_for_like_finding(_like({"mnist": mixed}), epochs=10), 4)
    assert "at no latent size on MNIST" in text and "1 of these 2 sizes" in text
    matched = checked(report.like_for_like_finding(pd.concat([_like({"mnist": better}), _like(
        {"mnist": [(9, {0: 0.1}, {0: 0.2})]}, b="mlp_matched")]), epochs=10), 4)
    assert ("than an MLP autoencoder of the same shape at every latent size on MNIST, and than an MLP autoencoder "
            "with as many parameters at the one latent size compared on MNIST") in matched


def test_the_like_for_like_finding_is_missing_without_its_comparisons():
    assert report.like_for_like_finding(None, epochs=10) is None
    assert report.like_for_like_finding(_like({"mnist": [(9, {0: 0.1}, {0: 0.2})]}), epochs=30) is None


# ----------------------------------------------------------------------------- chapter 5: inside the KAN-Mixer


def _evidence(trained_higher: bool = True, noisy: bool = False, mlp_recurs: bool = True) -> interpret.Evidence:
    """Evidence on three seeds: trained clearly above (or below) init on every measure, or within noise; the
    MLP-Mixer's token maps recurring across seeds as much as the KAN-Mixer's (or clearly less)."""
    hi, lo = [0.30, 0.31, 0.29], [0.10, 0.11, 0.09]
    if noisy:
        hi, lo = [0.30, 0.10, 0.20], [0.21, 0.11, 0.29]
    up, down = (hi, lo) if trained_higher else (lo, hi)
    return interpret.Evidence(
        spline_share={"trained": up, "init": down}, deviation={"trained": up, "init": down},
        silu_like={"trained": down, "init": up}, monotone={"trained": up, "init": down},
        concentration={"trained": up, "init": down}, locality={"trained": down, "init": up, "mlp": up},
        stability={"trained": up, "init": down, "mlp": up if mlp_recurs else down})


def test_the_inside_finding_sets_what_training_does_against_the_mlp_mixer():
    assert checked(report.inside_finding(_evidence()), 5) == (
        "Training bends the KAN-Mixer's edges away from the SiLU shape (10% of them SiLU-like, against 30% at "
        "initialisation), yet the token maps they form recur across seeds no more than an MLP-Mixer's do (chapter 5).")
    own = checked(report.inside_finding(_evidence(mlp_recurs=False)), 5)
    assert own.endswith(", and the token maps they form recur across seeds more than an MLP-Mixer's do (chapter 5).")


def test_the_inside_finding_flips_and_claims_nothing_within_noise():
    flipped = checked(report.inside_finding(_evidence(trained_higher=False)), 5)
    assert flipped.startswith("Training brings the KAN-Mixer's edges closer to the SiLU shape of an MLP (30% of them")
    assert "recur across seeds less than untrained ones do" in flipped
    null = checked(report.inside_finding(_evidence(noisy=True)), 5)
    assert null.startswith("Training leaves the KAN-Mixer's edges as close to the SiLU shape as at initialisation, "
                           "within noise")
    assert "no more than untrained ones do" in null and "bends" not in null


def test_the_inside_finding_is_missing_without_evidence_and_says_one_seed_decides_nothing():
    assert report.inside_finding(None) is None
    one = {"trained": [0.3], "init": [0.1]}
    ev = interpret.Evidence(spline_share=one, deviation=one, silu_like=one, monotone=one, concentration=one,
                            locality={}, stability={})
    assert checked(report.inside_finding(ev), 5) == (
        "With one seed, the KAN-Mixer's edges are not judged against their initial SiLU shape (chapter 5).")


def _linear(arm: str, linearized, tuned, trained=(0.89, 0.888, 0.89)) -> list[dict]:
    """Linearizing records of one arm on three seeds, scored on 10,000 test images."""
    return [{"config": {"arm": arm}, "n_eval": 10_000, "accuracy_trained": t, "accuracy_linearized": li,
             "accuracy_finetuned": f, "median_r2": {"l": 0.95}} for t, li, f in zip(trained, linearized, tuned)]


def test_the_linear_finding_says_whether_mlp_edges_can_stand_in_for_the_splines():
    ev = _evidence()
    assert report.linear_finding(ev) is None and report.linear_finding(None) is None  # nothing linearized
    ev.linearized = _linear("token mixing", [0.64, 0.65, 0.63], [0.87, 0.871, 0.869]) + _linear(
        "all", [0.55, 0.56, 0.59], [0.83, 0.835, 0.838])
    assert checked(report.linear_finding(ev), 5) == (
        "Replacing every edge of the trained KAN-Mixer by its best-fitting MLP edge, a + b·SiLU(x), drops its test "
        "accuracy from 0.889 to 0.567, and fine-tuning does not win it back: the splines do work an MLP edge in "
        "their place does not (chapter 5).")
    ev.linearized = _linear("token mixing", [0.64, 0.65, 0.63], [0.889, 0.888, 0.89])  # the only arm; recovered
    won = checked(report.linear_finding(ev), 5)
    assert won.startswith("Replacing every edge of the trained KAN-Mixer's token mixing layers by")
    assert won.endswith("but fine-tuning wins it back, within noise: MLP edges can learn what the splines do "
                        "(chapter 5).")
    ev.linearized = _linear("all", [0.889, 0.888, 0.891], [0.889, 0.888, 0.89])  # null
    assert checked(report.linear_finding(ev), 5).endswith(
        "leaves its test accuracy unchanged, within noise: the splines do nothing an MLP edge could not (chapter 5).")
    ev.linearized = _linear("all", [0.95, 0.951, 0.949], [0.95, 0.95, 0.95])  # reversed
    assert "raises its test accuracy from 0.889 to 0.95" in checked(report.linear_finding(ev), 5)


# ----------------------------------------------------------------------------- the findings together


def test_headline_findings_keep_their_order_and_leave_out_the_missing():
    inputs = {"against": _against({"fashion_mnist": 0.005, "cifar10": 0.042}), "pair": PAIR,
              "frontier": {"fashion_mnist": _frontier("fashion_mnist", (0.5, 0.021), (0.6, 0.02))},
              "comparisons": _ae({"mnist": (SEEDS3, 0.05)}), "epochs": 10, "paper_widths": WIDTHS,
              "evidence": _evidence()}
    found = report.headline_findings(**inputs)
    assert [int(re.search(r"\(chapter (\d)\)\.$", s).group(1)) for s in found] == [3, 6, 4, 5]
    for sentence, chapter in zip(found, (3, 6, 4, 5)):
        checked(sentence, chapter)
    partial = report.headline_findings(**{**inputs, "pair": None, "comparisons": None})
    assert partial == [found[1], found[3]]
    linearized = _evidence()
    linearized.linearized = _linear("all", [0.55, 0.56, 0.59], [0.83, 0.835, 0.838])
    assert report.headline_findings(**{**inputs, "evidence": linearized}) == [*found, report.linear_finding(linearized)]
    assert report.headline_findings() == []


@pytest.mark.parametrize("label", sorted(report.PLAIN_NAMES))
def test_every_label_has_plain_words(label):
    words = report.plain_name(label)
    assert words.startswith(("the ", "an ", "a ", "PCA")) and "(" not in words and "_" not in words


def test_the_shape_clause_quotes_the_measure_that_moved():
    from kanmix import interpret

    same, apart = [0.50, 0.51, 0.49], [0.10, 0.11, 0.09]
    ev = interpret.Evidence(spline_share={"trained": apart, "init": apart}, deviation={"trained": [0.3, 0.31, 0.29],
                            "init": [0.01, 0.011, 0.009]}, silu_like={"trained": same, "init": same},
                            monotone={"trained": same, "init": same}, concentration={"trained": same, "init": same},
                            locality={}, stability={})
    text = report.inside_finding(ev)
    assert "away from the SiLU shape (median deviation from that shape 0.3, against 0.01 at initialisation)" in text
    assert "SiLU-like" not in text
