"""kanmix.studies.splines: chapter 5's runs and measures in one result, on the smoke profile's values, shrunk."""

from __future__ import annotations

import pytest

from kanmix import book, grids, results, studies


def _smoke(**overrides) -> dict:
    """Chapter 5's parameters under the smoke profile (its own defaults), with ``overrides``."""
    return {**book.chapter_parameters("smoke", ["05"])["05"], **overrides}


@pytest.mark.slow  # five models trained, every edge of ten measured, twice: tens of seconds on a CPU
def test_the_study_measures_every_model_against_its_untrained_twin_and_a_rerun_trains_nothing(store, training_calls):
    # The smoke values with less data: two seeds (the fewest the chapter allows), 100 training images.
    params = _smoke(seeds=[0, 1], subset=100, ae_subset=100, n_importance=32, n_eval=100, linearize_arms=["all"],
                    finetune_steps=2)
    study = studies.splines_from_chapter(params)
    seeds, keeps = params["seeds"], params["keep_fractions"]
    assert [c.seed for c in study.plan.kan] == [c.seed for c in study.plan.mlp] == seeds
    assert [r["hash"] for r in study.kan_records] == [results.run_hash(c.to_dict()) for c in study.plan.kan]
    assert study.ae_record["hash"] == results.run_hash(study.plan.ae.to_dict())
    # Every edge of every model, trained and untrained: the mixers per seed, the autoencoder once.
    counts = study.edges.groupby(["model", "state"]).seed.unique()
    assert {k: sorted(v) for k, v in counts.items()} == {
        (studies.KAN_MIXER, "trained"): seeds, (studies.KAN_MIXER, "init"): seeds,
        (studies.KAN_AE, "trained"): [0], (studies.KAN_AE, "init"): [0]}
    one = study.edges[(study.edges.model == studies.KAN_MIXER) & (study.edges.seed == 0)]
    assert len(one[one.state == "trained"]) == len(one[one.state == "init"])  # twins: the same edges
    assert set(study.symbolic) == {"trained", "init"}
    assert set(study.symbolic["trained"].model) == {studies.KAN_MIXER, studies.KAN_AE}
    assert {k: len(v) for k, v in study.maps.items()} == {"trained": 2, "init": 2, "mlp": 2}
    # Pruning: all edges kept (the control) then each kept fraction, per seed; removed edges stay zero.
    assert sorted(zip(study.pruning.seed, study.pruning.keep)) == sorted((s, k) for s in seeds for k in [1.0, *keeps])
    assert (study.pruning.masked_nonzero == 0).all()
    assert [r["config"]["arm"] for r in study.linear_records] == ["all", "all"]
    # The evidence: per seed for the mixers, with the token maps; one seed, so no band, for the autoencoder.
    assert len(study.evidence.spline_share["trained"]) == 2 and len(study.evidence.stability["trained"]) == 1
    assert set(study.evidence.locality) == {"trained", "init", "mlp"} and study.evidence.steps == 2
    assert study.ae_evidence.locality == {} and len(study.ae_evidence.spline_share["init"]) == 1
    assert study.evidence.pruning is study.pruning and set(study.evidence.stability) == {"trained", "init", "mlp"}
    # The chapter's tables, read off the result.
    assert list(studies.cost_table(study).index) == ["KAN-Mixer", "MLP-Mixer"]
    assert list(studies.cost_table(study).seeds) == [2, 2] and len(studies.locality_table(study)) == 3 * 2
    summary = studies.layer_summary(study)  # a row per KAN layer, each measure trained beside init
    assert list(summary.index) == list(studies.layer_labels(study).values())
    assert list(summary.columns) == [(m, st) for m in ("spline_share", "silu_like", "monotone", "concentration")
                                     for st in ("trained", "init")]
    assert summary.notna().all().all()
    table = studies.symbolic_table(study)
    assert table.index.names == ["layer", "edge"] and len(table) == len(study.symbolic["trained"])
    forms = studies.symbolic_forms(study)
    assert {k: int(v) for k, v in forms.sum().items()} == {k: len(v) for k, v in study.symbolic.items()}
    means = studies.pruning_means(study)
    assert list(means.index) == ["1", "0.25"]
    assert {f"{studies.RANDOM}, fine-tuned", f"{studies.MAGNITUDE}, fine-tuned"} <= set(means.columns)
    assert list(studies.seed_agreement_table(study).index) == [
        ("trained", "0 vs 1"), ("init", "0 vs 1"), ("mlp", "0 vs 1")]
    # Pruning's controls: a random order at each kept fraction, and the parameter-matched MLP-Mixer pruned by
    # magnitude to the KAN-Mixer's kept parameter counts (fine-tuning alone at 1).
    assert [c.seed for c in study.plan.matched] == seeds
    kan_params, matched_params = study.kan_records[0]["parameters"], study.matched_records[0]["parameters"]
    assert abs(matched_params - kan_params) <= 0.10 * kan_params
    controls = study.controls.set_index(["control", "seed", "keep"])
    assert sorted(controls.loc[studies.RANDOM].index) == sorted((s, k) for s in seeds for k in keeps)
    assert sorted(controls.loc[studies.MAGNITUDE].index) == sorted((s, k) for s in seeds for k in [1.0, *keeps])
    kan_kept = study.pruning.set_index(["seed", "keep"])["parameters kept"]
    for (seed, keep), got in controls.loc[studies.MAGNITUDE]["parameters kept"].items():
        want = matched_params if keep == 1 else kan_kept[(seed, keep)]
        assert abs(got - want) <= 0.01 * want, (seed, keep)  # each layer's kept count is rounded
    assert (study.controls.masked_nonzero == 0).all()
    first = next(iter(grids.kan_layers(study.ae_trained)))
    assert {k: tuple(v.shape) for k, v in studies.pixel_maps(study, first).items()} == {"trained": (28, 28),
                                                                                        "init": (28, 28)}
    # Every record once, and a second call reads them all back.
    prunes = 2 * (1 + len(keeps)) + 2 * len(keeps) + 2 * (1 + len(keeps))  # importance, random, magnitude
    assert len(study.records) == len({r["hash"] for r in study.records}) == 2 * 2 + 1 + 2 + prunes + 2
    trained = len(training_calls)
    assert trained == 2 * 2 + 1 + 2  # the mixers, the autoencoder, the matched MLP-Mixers; pruning and
    # linearizing fine-tune outside the runner
    again = studies.splines_from_chapter(params)
    assert len(training_calls) == trained and [r["hash"] for r in again.records] == [r["hash"] for r in study.records]
    assert again.edges.equals(study.edges)
    # A campaign under way: runs not in the store are left out, and nothing trains or is computed.
    stored = {r["hash"] for r in results.iter_records()}
    partial = studies.splines_from_chapter({**params, "keep_fractions": [0.5], "linearize_arms": ["token mixing"],
                                            "available_only": True})
    assert len(training_calls) == trained and {r["hash"] for r in results.iter_records()} == stored
    assert set(partial.controls.keep) == set(partial.pruning.keep) == {1.0} and partial.linear_records == []


def test_the_cpu_plan_is_the_committed_records(monkeypatch):
    """The configs of the cpu profile's chapter 5 resolve to records in the committed results store: the
    plan (config dicts, hashes) is what made them."""
    monkeypatch.setenv("KANMIX_RESULTS", str(book.ROOT / "results"))
    plan = studies.splines_plan_from_chapter(book.chapter_parameters("cpu", ["05"])["05"])
    for cfg in [*plan.kan, *plan.mlp, plan.ae]:
        assert results.record_path(cfg.to_dict()).exists(), cfg
    assert len(plan.kan) == len(plan.mlp) >= 2


def test_the_chapter_parameters_name_every_argument():
    with pytest.raises(KeyError, match="n_top"):
        studies.splines_from_chapter({k: v for k, v in _smoke().items() if k != "n_top"})
