import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from kanmix import stats

A = np.array([0.912, 0.905, 0.921, 0.899, 0.915, 0.908, 0.917])
B = np.array([0.901, 0.907, 0.910, 0.893, 0.902, 0.904, 0.911])


def test_wilcoxon_and_naive_t_match_scipy():
    res = stats.paired_comparison(A, B, test_train_ratio=0.0)
    assert res.p_wilcoxon == pytest.approx(st.wilcoxon(A, B, method="exact").pvalue)
    # With no overlap correction the statistic is the ordinary paired t-test.
    ref = st.ttest_rel(A, B)
    assert res.t == pytest.approx(ref.statistic)
    assert res.p_nb == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert (res.ci_low, res.ci_high) == pytest.approx((ci.low, ci.high))


def test_nadeau_bengio_correction_by_hand():
    d = A - B
    k = 5
    n = len(d)
    se = np.sqrt((1 / n + 1 / (k - 1)) * d.var(ddof=1))
    res = stats.paired_comparison(A, B, folds=k)
    assert res.test_train_ratio == pytest.approx(0.25)
    assert res.t == pytest.approx(d.mean() / se)
    assert res.p_nb == pytest.approx(2 * st.t.sf(abs(d.mean() / se), n - 1))
    half = st.t.ppf(0.975, n - 1) * se
    assert (res.ci_low, res.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert res.d_z == pytest.approx(d.mean() / d.std(ddof=1))
    # The correction only ever widens: larger p than the naive paired t-test.
    assert res.p_nb > st.ttest_rel(A, B).pvalue


@pytest.mark.parametrize("n", [4, 5, 6, 8])
def test_wilcoxon_floor_is_the_smallest_achievable_p(n):
    magnitudes = np.arange(1, n + 1) / 100.0
    ps = []
    for signs in itertools.product([-1, 1], repeat=n):
        d = magnitudes * np.array(signs)
        ps.append(stats.paired_comparison(d, np.zeros(n), folds=5).p_wilcoxon)
    assert min(ps) == pytest.approx(stats.wilcoxon_floor(n))
    assert min(ps) == pytest.approx(2 / 2**n)


def test_five_folds_can_never_reach_005_but_repeated_cv_can():
    # Model a beats b on every fold by a wide margin: still p = 0.0625 with 5 folds.
    b = np.array([0.80, 0.81, 0.79, 0.82, 0.80])
    res5 = stats.paired_comparison(b + np.array([0.05, 0.06, 0.07, 0.08, 0.09]), b, folds=5)
    assert res5.p_wilcoxon == pytest.approx(0.0625)
    assert res5.p_floor == pytest.approx(0.0625) and res5.p_wilcoxon >= 0.05
    # 5x2 repeated CV: 10 pairs, the same consistent win is now significant.
    b10 = np.tile(b, 2)
    res10 = stats.paired_comparison(b10 + np.linspace(0.05, 0.09, 10), b10, folds=2)
    assert res10.p_wilcoxon == pytest.approx(2 / 2**10)
    assert res10.p_wilcoxon < 0.05


def test_zero_differences_are_dropped_and_reported():
    a = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    b = a - np.array([0.0, 0.01, 0.02, 0.03, 0.04])
    res = stats.paired_comparison(a, b, folds=5)
    assert res.wilcoxon_n == 4
    assert res.p_floor == pytest.approx(0.125)
    same = stats.paired_comparison(a, a, folds=5)
    assert (same.p_wilcoxon, same.p_nb, same.t, same.mean_diff) == (1.0, 1.0, 0.0, 0.0)


def test_holm_known_values():
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    # sorted: 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> running max -> back to input order
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.holm([0.5, 0.9]), [1.0, 1.0])
    out = stats.holm([np.nan, 0.01, 0.02])
    assert np.isnan(out[0]) and out[1:] == pytest.approx([0.02, 0.02])


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="equal length"):
        stats.paired_comparison([1, 2, 3], [1, 2], folds=5)
    with pytest.raises(ValueError, match="exactly one"):
        stats.paired_comparison([1, 2, 3], [1, 2, 4])
    with pytest.raises(ValueError, match="folds must be >= 2"):
        stats.paired_comparison([1, 2, 3], [1, 2, 4], folds=1)


def test_all_pairs_pairs_by_fold_not_row_order():
    rng = np.random.default_rng(0)
    rows = []
    for model, shift in [("kan_mixer", 0.02), ("mlp_mixer", 0.0), ("mlp", -0.05)]:
        for repeat, fold in itertools.product(range(2), range(3)):
            rows.append({"model": model, "repeat": repeat, "fold": fold,
                         "val_accuracy": 0.8 + 0.01 * fold + shift + 0.003 * rng.standard_normal()})
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # shuffle rows
    table = stats.all_pairs(df, folds=3)
    assert len(table) == 3 and set(zip(table.a, table.b)) == {
        ("kan_mixer", "mlp_mixer"), ("kan_mixer", "mlp"), ("mlp", "mlp_mixer")}
    row = table[(table.a == "kan_mixer") & (table.b == "mlp")].iloc[0]
    srt = df.sort_values(["repeat", "fold"])
    direct = stats.paired_comparison(srt[srt.model == "kan_mixer"].val_accuracy.to_numpy(),
                                     srt[srt.model == "mlp"].val_accuracy.to_numpy(), folds=3)
    assert row.p_nb == pytest.approx(direct.p_nb) and row.p_wilcoxon == pytest.approx(direct.p_wilcoxon)
    np.testing.assert_allclose(table.p_nb_holm, stats.holm(table.p_nb))
    with pytest.raises(ValueError, match="lack scores"):
        stats.all_pairs(df.iloc[1:], folds=3)


def test_mean_ci_matches_scipy_and_widens_with_the_correction():
    mean, sd, lo, hi = stats.mean_ci(A)
    ref = st.t.interval(0.95, len(A) - 1, loc=A.mean(), scale=st.sem(A))
    assert (mean, sd) == pytest.approx((A.mean(), A.std(ddof=1)))
    assert (lo, hi) == pytest.approx(ref)
    _, _, lo_nb, hi_nb = stats.mean_ci(A, test_train_ratio=stats.kfold_test_train_ratio(5))
    scale = np.sqrt((1 / len(A) + 0.25) / (1 / len(A)))
    assert hi_nb - lo_nb == pytest.approx((hi - lo) * scale)
    m1, sd1, lo1, hi1 = stats.mean_ci([0.9])
    assert m1 == 0.9 and np.isnan([sd1, lo1, hi1]).all()


def test_minimum_detectable_difference_has_the_power_it_claims():
    # Simulate the corrected t-test at the returned difference: it must reject in ~80% of draws.
    sd, n, ratio = 0.004, 10, 0.25
    mdd = stats.minimum_detectable_difference(sd, n, test_train_ratio=ratio)
    se = np.sqrt((1 / n + ratio) * sd**2)
    assert 2.0 * se < mdd < 4.0 * se  # roughly (t_crit + t_power) standard errors
    rng = np.random.default_rng(0)
    # Differences whose mean is the MDD and whose corrected statistic has the assumed spread.
    t_stats = rng.standard_normal(20_000) + mdd / se
    t_stats = t_stats / np.sqrt(rng.chisquare(n - 1, 20_000) / (n - 1))
    rejected = np.mean(np.abs(t_stats) > st.t.ppf(0.975, n - 1))
    assert rejected == pytest.approx(0.8, abs=0.01)
    # More folds or less spread detect smaller differences; no spread detects any.
    assert stats.minimum_detectable_difference(sd, 20, test_train_ratio=ratio) < mdd
    assert stats.minimum_detectable_difference(sd / 2, n, test_train_ratio=ratio) == pytest.approx(mdd / 2)
    assert stats.minimum_detectable_difference(0.0, n, test_train_ratio=ratio) == 0.0
    with pytest.raises(ValueError, match="n must be >= 2"):
        stats.minimum_detectable_difference(sd, 1, test_train_ratio=ratio)
