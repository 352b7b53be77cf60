"""The compute frontier's analysis and sentences, on synthetic points whose answer is known by construction."""

import math
import re

import pandas as pd
import pytest

from kanmix import frontier, report


def make_points(lines: dict, flops: dict, *, seeds: dict | None = None, dataset="fashion_mnist") -> pd.DataFrame:
    """Points on exact lines ``acc = a + b log10(x)``: ``lines[family] = (a, b)``, ``flops[family]`` the x's;
    ``seeds[(family, x)] = [offsets]`` adds seeds with those offsets around the line."""
    rows = []
    for fam, xs in flops.items():
        a, b = lines[fam]
        for i, x in enumerate(xs):
            for s, off in enumerate((seeds or {}).get((fam, x), [0.0])):
                rows.append({"dataset": dataset, "family": fam, "dim": 32 * (i + 1), "depth": i + 1, "epochs": 10,
                             "seed": s, "flops": float(x), "train_seconds": x / 1e11,
                             "val_accuracy": a + b * math.log10(x) + off})
    return pd.DataFrame(rows)


XS = [1e12, 1e13, 1e14, 1e15]


def test_the_envelope_drops_points_that_a_cheaper_one_beats():
    pts = make_points({"A": (0.5, 0.02)}, {"A": XS})
    pts.loc[2, "val_accuracy"] = 0.1  # the third point is worse than the second
    env = frontier.envelope(pts)
    assert list(env.flops) == [1e12, 1e13, 1e15]
    assert frontier.best_within(env, 5e14) == pytest.approx(0.5 + 0.02 * 13)
    assert math.isnan(frontier.best_within(env, 1e11))


def test_seed_sd_pools_repeated_configurations_only():
    pts = make_points({"A": (0.5, 0.0)}, {"A": XS}, seeds={("A", 1e12): [-0.01, 0.01], ("A", 1e14): [0.0, 0.02]})
    sd, df = frontier.seed_sd(pts)
    assert df == 2 and sd == pytest.approx(math.sqrt((2 * 0.01**2 + 2 * 0.01**2) / 2))
    assert frontier.seed_sd(make_points({"A": (0.5, 0.0)}, {"A": XS})) == (None, 0)


def test_compare_finds_the_gap_trend_crossing_and_target():
    # A = 0.60 + 0.03 L, B = 0.70 + 0.02 L: B ahead below L = 10, A ahead above; slope +0.01 per decade.
    pts = make_points({"A": (0.60, 0.03), "B": (0.70, 0.02)}, {"A": XS, "B": [3e11, 3e12, 3e13, 3e14]},
                      seeds={("A", 1e13): [-0.001, 0.001], ("B", 3e13): [-0.001, 0.001]})
    cmp = frontier.compare(pts, "A", "B", "fashion_mnist", target=1e16)
    assert cmp.lo == 1e12 and cmp.hi == 3e14
    assert cmp.slope == pytest.approx(0.01) and cmp.slope_ci[0] == pytest.approx(0.01, abs=1e-6)
    assert cmp.crossing == pytest.approx(1e10)
    assert cmp.at_target == pytest.approx(0.06)
    assert cmp.band == pytest.approx(1.96 * math.sqrt(2e-6) * math.sqrt(2), rel=1e-6)
    # at 1e12 A has 0.96 against B's best below it (3e11: 0.80..) -> A ahead everywhere in range
    assert (cmp.gaps.gap > cmp.band).all()
    assert set(cmp.ahead()["A"].x) == set(cmp.gaps.x) and cmp.ahead()["B"].empty


def test_sentences_follow_the_evidence_and_flip_with_it():
    pts = make_points({"A": (0.60, 0.03), "B": (0.70, 0.02)}, {"A": XS, "B": XS},
                      seeds={("A", 1e13): [-0.001, 0.001]})
    ab = frontier.compare(pts, "A", "B", "fashion_mnist", target=1e16)
    ba = frontier.compare(pts, "B", "A", "fashion_mnist", target=1e16)
    gap_ab, gap_ba = report.frontier_gap_sentence(ab), report.frontier_gap_sentence(ba)
    assert "the A is ahead at 4 of 4" in gap_ab and "the B is ahead at none" in gap_ab
    assert "the A is ahead at 4 of 4" in gap_ba and "the B is ahead at none" in gap_ba
    assert "from 1.00 TFLOP to 1.00 PFLOP" in gap_ab
    trend_ab, trend_ba = report.frontier_trend_sentence(ab), report.frontier_trend_sentence(ba)
    assert re.search(r"\+1\.0+ points per tenfold", trend_ab) and "moves toward the A" in trend_ab
    assert re.search(r"−1\.0+ points per tenfold", trend_ba) and "moves toward the A" in trend_ba
    cross = report.frontier_crossing_sentence(ab)
    assert "would cross at about 10.0 GFLOP, below the smallest budget compared" in cross
    assert "Extrapolated to the paper's budget (10.0 PFLOP)" in cross and "+6.0 points" in cross


def test_sentences_on_null_and_thin_evidence():
    # Equal lines: no leader beyond noise, no trend, parallel frontiers.
    pts = make_points({"A": (0.7, 0.01), "B": (0.7, 0.01)}, {"A": XS, "B": XS},
                      seeds={("A", 1e13): [-0.002, 0.002], ("B", 1e13): [0.001, -0.001]})
    cmp = frontier.compare(pts, "A", "B", "fashion_mnist")
    assert "4 of 4 are within the noise band" in report.frontier_gap_sentence(cmp)
    assert "the A is ahead at none" in report.frontier_gap_sentence(cmp)
    # Noisy equal lines: the slope's interval includes zero.
    noisy = make_points({"A": (0.7, 0.01), "B": (0.7, 0.01)}, {"A": XS, "B": XS})
    noisy.loc[noisy.family == "A", "val_accuracy"] += [0.0, 0.004, -0.004, 0.004]
    cmp = frontier.compare(noisy, "A", "B", "fashion_mnist")
    assert "no widening or narrowing can be claimed" in report.frontier_trend_sentence(cmp)
    assert "not judged against noise" in report.frontier_gap_sentence(cmp)
    # Two points per family: a slope, but no interval and no claim.
    two = make_points({"A": (0.6, 0.03), "B": (0.7, 0.02)}, {"A": XS[:2], "B": XS[:2]})
    cmp = frontier.compare(two, "A", "B", "fashion_mnist", target=1e16)
    assert "no error estimate, so no trend is claimed" in report.frontier_trend_sentence(cmp)
    assert "they are not extrapolated to the paper's budget" in report.frontier_crossing_sentence(cmp)
    # Frontiers that do not overlap in compute.
    apart = make_points({"A": (0.6, 0.03), "B": (0.7, 0.02)}, {"A": XS[:2], "B": XS[2:]})
    cmp = frontier.compare(apart, "A", "B", "fashion_mnist")
    assert "cover no common range" in report.frontier_gap_sentence(cmp)


def test_family_specs_are_checked():
    fam = frontier.Family.from_dict("KAN-Mixer", {"model": "kan_mixer", "sizes": [[64, 2]], "channel_ratio": 1})
    assert fam.model_kwargs(64, 2, 4) == {"patch": 4, "dim": 64, "depth": 2, "token_hidden": 32,
                                          "channel_hidden": 64, "dropout": 0.0}
    with pytest.raises(ValueError, match="sizes"):
        frontier.Family.from_dict("x", {"model": "kan_mixer", "sizes": [[64]]})
    with pytest.raises(ValueError, match="model"):
        frontier.Family.from_dict("x", {"model": "resnet", "sizes": [[64, 2]]})
    with pytest.raises(ValueError, match="unknown key"):
        frontier.Family.from_dict("x", {"model": "kan_mixer", "sizes": [[64, 2]], "width": 3})


def test_flop_text_reads_like_prose():
    assert report.flop_text(2.72e15) == "2.72 PFLOP"
    assert report.flop_text(4.57e13) == "45.7 TFLOP"
    assert report.points(-0.0123) == "−1.2 points"


def test_timed_seconds_are_images_over_the_measured_rate():
    from kanmix import studies

    pts = pd.DataFrame([{"family": "A", "size": "32×1", "dataset": "d", "n_train": 1000, "epochs": 10},
                        {"family": "B", "size": "32×1", "dataset": "d", "n_train": 1000, "epochs": 20}])
    secs = studies.timed_seconds(pts, {"images_per_second": {"A 32×1 d": 500.0}})
    assert secs.iloc[0] == 20.0 and math.isnan(secs.iloc[1])
    assert studies.timed_seconds(pts, None).isna().all()


def test_frontiers_all_but_parallel_do_not_cross():
    # Slopes 1e-4 apart with lines 0.1 apart would cross at 10^1000 FLOPs, beyond any float: no crossing.
    pts = make_points({"A": (0.60, 0.02), "B": (0.70, 0.0201)}, {"A": XS, "B": XS},
                      seeds={("A", 1e13): [-0.001, 0.001]})
    cmp = frontier.compare(pts, "A", "B", "fashion_mnist")
    assert cmp.slope == pytest.approx(-1e-4) and cmp.crossing is None
