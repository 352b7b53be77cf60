"""kanmix.report's sentences on what trained KANs learn (chapter 5): conclusions that follow the numbers of
:class:`kanmix.interpret.Evidence`, reverse when they reverse, and claim nothing within noise."""

from __future__ import annotations

import pandas as pd

from kanmix import interpret, report


def _evidence(trained_higher: bool = True, noisy: bool = False, pruning_ok: bool = True) -> interpret.Evidence:
    """Synthetic evidence: trained clearly above (or below) init on every measure, or within noise."""
    hi, lo = [0.30, 0.31, 0.29], [0.10, 0.11, 0.09]
    if noisy:
        hi, lo = [0.30, 0.10, 0.20], [0.21, 0.11, 0.29]
    up, down = (hi, lo) if trained_higher else (lo, hi)
    full = [0.90, 0.91, 0.905]
    tuned = full if pruning_ok else [0.60, 0.61, 0.62]
    pruning = pd.DataFrame([{"seed": s, "keep": k, "accuracy_unpruned": full[s], "accuracy_pruned": 0.5,
                             "accuracy_finetuned": tuned[s] if k < 1 else full[s], "n_eval": 10_000}
                            for s in range(3) for k in (1.0, 0.25)])
    symbolic = pd.DataFrame({"best": ["silu", "x^2", "x^2", "sin"], "r2": [0.999, 0.995, 0.999, 0.5],
                             "r2_x": [0.9, 0.2, 0.9, 0.1], "r2_silu": [0.999, 0.3, 0.998, 0.2]})
    return interpret.Evidence(
        spline_share={"trained": up, "init": down}, deviation={"trained": up, "init": down},
        silu_like={"trained": down, "init": up}, monotone={"trained": up, "init": down},
        concentration={"trained": up, "init": down},
        locality={"trained": down, "init": up, "mlp": up}, stability={"trained": up, "init": down},
        symbolic={"trained": symbolic, "init": symbolic.assign(r2=0.5)}, pruning=pruning, steps=20)


def test_interpretability_conclusion_follows_the_measures():
    text = report.conclude_interpretability(_evidence())
    assert "amounts to this:" in text
    assert "training moves the splines beyond their initial share" in text
    assert "higher after training than at initialisation" in text and "more local than at initialisation" in text
    assert "read from 25% of its edges" in text
    assert "training makes more edges monotone" in text
    # 3 edges fit a form, 2 of them also an MLP edge's shape (an x^2 that is also a SiLU counts): 1 is KAN-only.
    assert "1 of the 4 top trained edges has a closed form (R² ≥ 0.99) that an MLP edge" in text
    assert "In all, 3 fit a library form (at initialisation: 0 of 4)" in text
    assert "forms named: x² (2), silu (1); 2 of them are fitted as well by an MLP edge's shape" in text
    assert "Linear(SiLU(x))" in text and "dense layer" not in text


def test_interpretability_conclusion_reverses_with_reversed_measures():
    text = report.conclude_interpretability(_evidence(trained_higher=False, pruning_ok=False))
    assert "lower after training than at initialisation" in text and "less local than at initialisation" in text
    assert "training moves the splines" not in text and "read from" not in text
    assert "amounts to this:** training makes fewer edges monotone (10% against 30%)." in text  # the one left
    assert "after fine-tuning lower" in text


def test_pruning_a_model_at_chance_shows_nothing():
    ev = _evidence()
    ev.chance = 0.9  # the synthetic models' accuracy is about chance here
    text = report.conclude_interpretability(ev)
    assert "no better than chance" in text and "read from" not in text
    ev.chance = 0.1
    assert "read from 25% of its edges" in report.conclude_interpretability(ev)


def test_one_seed_claims_no_difference_and_says_why():
    one = {"trained": [0.3], "init": [0.1]}
    ev = interpret.Evidence(spline_share=one, deviation=one, silu_like=one, monotone=one, concentration=one,
                            locality={}, stability={})
    text = report.conclude_interpretability(ev, "the KAN autoencoder")
    assert text.startswith("**With one seed there is no noise estimate for the KAN autoencoder")
    assert "no difference is claimed" in text and "higher" not in text and "Token maps" not in text
    assert report.findings(ev) == []


def test_a_difference_within_noise_is_not_called_a_difference():
    ev = _evidence(noisy=True, pruning_ok=False)
    text = report.conclude_interpretability(ev)
    assert "amounts to nothing the untrained network does not already show" in text
    assert "no pruned model kept its accuracy" in text
    assert "no different after training from initialisation" in text
    assert "higher after training" not in text and "lower after training" not in text
    assert report.findings(ev) == []


def _records(accs, params, seconds, n_test=10_000):
    return [{"metrics": {"test": {"accuracy": a}}, "parameters": params, "train_seconds": seconds, "n_test": n_test}
            for a in accs]


def test_cost_conclusion_follows_accuracy_and_cost():
    kan, mlp = _records([0.90, 0.91, 0.905], 3_000_000, 300), _records([0.85], 1_000_000, 60)
    better = report.conclude_cost(kan, mlp)
    assert "higher than the MLP-Mixer's" in better and "buys accuracy" in better and "3× the parameters" in better
    assert "same-width" in better and "not matched in cost" in better and "03_kan_mixers" in better
    worse = report.conclude_cost(_records([0.80, 0.81, 0.805], 3_000_000, 300), _records([0.85], 1_000_000, 60))
    assert "lower than the MLP-Mixer's" in worse and "not justified by accuracy" in worse and "not matched in cost" in worse
    same = report.conclude_cost(_records([0.85, 0.851, 0.849], 3_000_000, 300), _records([0.85], 1_000_000, 60),
                                   _evidence(noisy=True, pruning_ok=False))
    assert "no different from the MLP-Mixer's" in same and "not justified" in same
    assert "Nor do the interpretability measures find anything" in same
    bought = report.conclude_cost(_records([0.85, 0.851, 0.849], 3_000_000, 300), _records([0.85], 1_000_000, 60),
                                     _evidence())
    assert "What it buys instead: training moves the splines" in bought
    cheap = report.conclude_cost(_records([0.85], 500, 10), _records([0.85], 1_000, 20))
    assert "no extra cost to justify" in cheap


def test_cost_verdict_is_made_against_the_parameter_matched_mlp_mixer_when_there_is_one():
    kan, narrow = _records([0.90, 0.91, 0.905], 3_000_000, 300), _records([0.85, 0.851, 0.849], 300_000, 80)
    # The same-width gap is real, but an MLP-Mixer as large closes it: the verdict follows the matched one.
    tie = report.conclude_cost(kan, narrow, _evidence(noisy=True, pruning_ok=False),
                               matched=_records([0.905, 0.904, 0.906], 3_000_000, 250))
    assert "higher than the MLP-Mixer's" in tie and "with the KAN-Mixer's parameters (3 seeds" in tie
    assert "not more accurate beyond noise" in tie and "matches what it gains over the same-width one" in tie
    assert "buys accuracy" not in tie and "that MLP-Mixer's training time" not in tie
    assert "Nor do the interpretability measures" in tie and "trained for as long, is in {doc}`03_kan_mixers`" in tie
    # Reversed: the matched MLP-Mixer ahead.
    behind = report.conclude_cost(kan, narrow, matched=_records([0.95, 0.951, 0.949], 3_000_000, 250))
    assert "its test accuracy is lower (" in behind
    assert "At equal parameters the MLP-Mixer is the more accurate" in behind
    # And the KAN-Mixer ahead of both: only then does the cost buy accuracy.
    ahead = report.conclude_cost(kan, narrow, matched=_records([0.86, 0.861, 0.859], 3_000_000, 250))
    assert "At equal parameters the KAN-Mixer is the more accurate: its extra cost buys accuracy" in ahead
    # No matched records: the same-width verdict, marked as not cost-matched (the test above).
    assert report.conclude_cost(kan, narrow, matched=[]) == report.conclude_cost(kan, narrow)



def test_null_results_are_the_complement_of_the_findings():
    assert report.null_results(_evidence()) == []
    null = report.null_results(_evidence(noisy=True, pruning_ok=False))
    assert "the splines' share of the edges" in null and "how local the token maps are" in null
    assert any(n.startswith("pruning: no kept fraction down to 25%") for n in null)
    assert not set(null) & set(report.findings(_evidence(noisy=True, pruning_ok=False)))


def _linear_records(arm, trained, linearized, tuned):
    return [{"config": {"arm": arm}, "n_eval": 10_000, "accuracy_trained": t, "accuracy_linearized": li,
             "accuracy_finetuned": f, "median_r2": {"l": 0.95}} for t, li, f in zip(trained, linearized, tuned)]


def test_linearized_conclusion_claims_a_loss_only_beyond_noise():
    lost = report.conclude_linearized(_linear_records("all", [0.89, 0.888, 0.89], [0.55, 0.56, 0.59],
                                                         [0.86, 0.862, 0.861]), 200)
    assert "**All layers**" in lost and "lower than trained" in lost and "after 200 fine-tuning steps lower" in lost
    kept = report.conclude_linearized(_linear_records("channel mixing", [0.89, 0.888, 0.89], [0.889, 0.888, 0.891],
                                                         [0.89, 0.889, 0.89]), 200)
    assert "no different from trained" in kept and "lower" not in kept
    assert report.conclude_linearized([], 200) == "No linearized model was scored."


def test_linearizing_enters_the_findings_or_the_null_results_never_both():
    lost = _evidence()
    lost.linearized = _linear_records("all", [0.89, 0.888, 0.89], [0.55, 0.56, 0.59], [0.83, 0.835, 0.838])
    held = [h for h in report.findings(lost) if "a + b·SiLU(x)" in h]
    assert held == ["the splines do work their best-fitting MLP edge does not: replacing every edge of the trained "
                    "KAN-Mixer by its a + b·SiLU(x) fit lowers test accuracy (0.889 to 0.567), and fine-tuning does "
                    "not win it back (0.834)"]
    assert not any("a + b·SiLU(x)" in n for n in report.null_results(lost))
    assert "the splines do work" in report.conclude_interpretability(lost)
    won = _evidence()  # the loss is won back by fine-tuning: a finding, and a null result after fine-tuning
    won.linearized = _linear_records("all", [0.89, 0.888, 0.89], [0.55, 0.56, 0.59], [0.889, 0.888, 0.89])
    assert any("though fine-tuning wins it back, within noise" in h for h in report.findings(won))
    assert "test accuracy with every edge of the KAN-Mixer replaced by its best-fitting MLP edge, once fine-tuned" \
        in report.null_results(won)
    null = _evidence()  # no loss at all: only a null result
    null.linearized = _linear_records("all", [0.89, 0.888, 0.89], [0.889, 0.888, 0.891], [0.89, 0.889, 0.89])
    assert not any("a + b·SiLU(x)" in h for h in report.findings(null))
    assert "test accuracy with every edge of the KAN-Mixer replaced by its best-fitting MLP edge, a + b·SiLU(x)" \
        in report.null_results(null)
    assert report.replacement(_evidence()) is None  # nothing linearized: neither


def test_a_token_map_property_the_mlp_mixer_shares_is_reported_as_shared():
    own = _evidence()  # the MLP-Mixer's maps recur less and are less local than the KAN-Mixer's
    own.stability["mlp"] = [0.10, 0.11, 0.09]
    held = report.findings(own)
    assert any("recur across seeds" in h for h in held) and any("more local than at" in h for h in held)
    assert report.shared_with_mlp(own) == {}
    shared = _evidence()  # the same measure on the MLP-Mixer: as local, recurring as much
    shared.stability["mlp"] = list(shared.stability["trained"])
    shared.locality["mlp"] = list(shared.locality["trained"])
    assert set(report.shared_with_mlp(shared)) == {"locality", "stability"}
    held = report.findings(shared)
    assert not any("recur across seeds" in h or "more local" in h for h in held)
    null = report.null_results(shared)
    assert sum(n.endswith("shared with the MLP-Mixer") for n in null) == 2
    text = report.conclude_interpretability(shared)
    assert "or what the MLP-Mixer shows too" in text and "as alike across seeds" in text
    assert "or what the MLP-Mixer shows too" not in report.conclude_interpretability(own)


def _controls(random_tuned: float, mlp_tuned: float) -> pd.DataFrame:
    """Pruning controls at the evidence's kept fraction (0.25) and the MLP-Mixer's fine-tuning alone (1)."""
    rows = [{"control": interpret.RANDOM, "seed": s, "keep": 0.25, "accuracy_finetuned": random_tuned + s / 200}
            for s in range(3)]
    rows += [{"control": interpret.MAGNITUDE, "seed": s, "keep": k, "accuracy_finetuned": mlp_tuned + s / 200}
             for s in range(3) for k in (1.0, 0.25)]
    return pd.DataFrame([{**r, "accuracy_unpruned": 0.9, "accuracy_pruned": 0.5, "n_eval": 10_000} for r in rows])


def test_pruning_controls_decide_what_pruning_by_importance_shows():
    beaten = _evidence()  # pruned by importance and fine-tuned: 0.90-0.91
    beaten.controls = _controls(random_tuned=0.70, mlp_tuned=0.80)
    assert any(h.startswith("importance picks the edges worth keeping: at 25% kept") for h in report.findings(beaten))
    assert not any("random order" in n or "MLP-Mixer pruned" in n for n in report.null_results(beaten))
    text = report.conclude_interpretability(beaten)
    assert "Controls, after the same fine-tuning:" in text and "at 25% kept more accurate" in text
    level = _evidence()  # the reverse: random pruning as good, the pruned MLP-Mixer better
    level.controls = _controls(random_tuned=0.90, mlp_tuned=0.95)
    assert not any("importance picks" in h for h in report.findings(level))
    null = report.null_results(level)
    assert "pruning by importance keeps no more accuracy than pruning in a random order" in null
    assert ("at the same parameter count, the MLP-Mixer pruned by magnitude is more accurate than the pruned "
            "KAN-Mixer (at 25% of the KAN-Mixer's edges kept)") in null
    tied = _evidence()  # the pruned MLP-Mixer within noise of the pruned KAN-Mixer (0.90-0.91)
    tied.controls = _controls(random_tuned=0.70, mlp_tuned=0.905)
    assert ("at the same parameter count, the MLP-Mixer pruned by magnitude is as accurate, within noise, as the "
            "pruned KAN-Mixer (at 25% of the KAN-Mixer's edges kept)") in report.null_results(tied)
    assert not any("more accurate than the pruned" in n for n in report.null_results(tied))
    assert "at 25% kept less accurate" in report.conclude_interpretability(level)
    assert ("Negative results (no difference beyond noise, or a control not beaten): " + "; ".join(null) + ".") \
        in report.conclude_interpretability(level)
    assert "Negative results" not in report.conclude_interpretability(beaten)
    tests = report.pruning_controls(level)
    assert set(tests) == {interpret.RANDOM, interpret.MAGNITUDE} and set(tests[interpret.MAGNITUDE]) == {0.25}
    assert report.pruning_controls(_evidence()) == {}  # no controls, no claims about them


def test_numbers_in_the_conclusions_read_as_prose():
    ev = _evidence()
    ev.locality = {"trained": [0.99995, 0.99996, 0.99994], "init": [0.99990, 0.99991, 0.99992]}
    text = report.conclude_interpretability(ev)
    assert "e-0" not in text and "x^2" not in text  # no machine exponents, no raw powers
    assert "(10% against 30%)" in report.conclude_interpretability(_evidence(trained_higher=False))
    assert "−" in text and " -0" not in text  # negative differences carry a true minus sign


def test_the_findings_pages_chapter_5_paragraph_gives_every_positive_and_every_negative_result():
    from kanmix.report._headline import _inside_detail

    ev = _evidence()
    found = _inside_detail(ev, 3)
    assert found.startswith("**Inside the KAN-Mixer** (chapter 5, 3 seeds, ")
    assert "; ".join(report.findings(ev)) + "." in found and "Negative results" not in found
    null_ev = _evidence(noisy=True, pruning_ok=False)
    null = _inside_detail(null_ev, 3)
    assert "no measure separates the trained edges from their untrained twins beyond noise." in null
    assert null.endswith("Negative results (no difference beyond noise, or a control not beaten): "
                         + "; ".join(report.null_results(null_ev)) + ".")
