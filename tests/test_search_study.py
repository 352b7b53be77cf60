"""Chapter 3's random search (:func:`kanmix.studies.search_study`): a tiny real search, its export, its reading
without training, its importances and the patch-4 sentence."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import optuna
import pytest

from kanmix import book, report, runner, search, studies
from kanmix.studies._search import _trials_frame

# A KAN-Mixer small enough to train in a blink on 200 MNIST images: 4 or 16 tokens of width 4 or 8, one block.
TINY = {"dataset": "mnist", "trials": 3, "epochs": 1, "folds": 2, "final_epochs": 2, "size": None, "subset": 200,
        "space": {"patch": [7, 14], "dim": [4, 8], "depth": [1], "lr": (1e-3, 1e-2), "weight_decay": (1e-5, 1e-3)},
        "train": {"batch_size": 20, "precision": "fp32"},
        "model_kwargs": {"patch": 7, "dim": 8, "depth": 1, "token_hidden": 4, "channel_hidden": 8}}

pytestmark = pytest.mark.usefixtures("store")


def _boom(*args, **kwargs):
    raise AssertionError("trained while reading a study")


def _synthetic(n: int = 12, *, name: str = "synthetic") -> optuna.Study:
    """An in-memory study whose score follows lr and patch (no training): scored, pruned and failed trials."""
    dists = {"patch": optuna.distributions.CategoricalDistribution([2, 4, 8]),
             "dim": optuna.distributions.CategoricalDistribution([16, 32]),
             "lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    study = optuna.create_study(study_name=name, direction="maximize")
    for i in range(n):
        params = {"patch": [2, 4, 8][i % 3], "dim": [16, 32][i % 2], "lr": 1e-4 * 1.4 ** i}
        value = 0.5 + 10 * params["lr"] + 0.001 * (params["patch"] == 4)
        state, attrs = optuna.trial.TrialState.COMPLETE, {"records": [f"{i:016x}"], "flops": 1000 * params["patch"]}
        if i == n - 1:
            state, value, attrs = optuna.trial.TrialState.PRUNED, None, {"flops": 9e9, "over_budget": 9e9}
        elif i == n - 2:
            state, value = optuna.trial.TrialState.FAIL, None
        study.add_trial(optuna.trial.create_trial(state=state, value=value, params=params, distributions=dists,
                                                  user_attrs=attrs))
    return study


def test_a_tiny_search_trains_its_trials_on_one_fold_then_the_best_on_every_fold(store, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'study.sqlite3'}"
    found = studies.search_study(**TINY, storage=url)
    plan = found.plan
    assert found.source == "search" and found.missing == 0
    assert len(found.scored) == 3 and list(found.trials.trial) == [0, 1, 2]
    # The plan's draws are the search's trials: trial n draws from the seed and n alone.
    planned = [d for d in plan.draws() if not d["over_budget"]]
    for (_, row), draw in zip(found.scored.iterrows(), planned):
        assert {k: row[k] for k in plan.space} == pytest.approx({k: draw[k] for k in plan.space})
    # Every trial is one record: fold 0 of the 2-fold partition, the search's one epoch.
    assert len(found.records) == 3
    for rec, (_, row) in zip(found.records, found.scored.iterrows()):
        cfg = rec["config"]
        assert rec["hash"] in row.records_hashes and cfg["fold"]["fold"] == 0 and cfg["fold"]["folds"] == 2
        assert cfg["train"]["epochs"] == 1 and cfg["train"]["lr"] == pytest.approx(row.lr)
        assert row.val_accuracy == pytest.approx(rec["metrics"]["val"]["accuracy"])
    best = found.best
    assert best.val_accuracy == found.scored.val_accuracy.max()
    # The best configuration on both folds at the search's schedule (its noise) and at the chapter's.
    assert list(found.noise.fold) == [0, 1] and set(found.noise.epochs) == {1}
    assert found.noise_sd == pytest.approx(found.noise.val_accuracy.std())
    assert list(found.final.fold) == [0, 1] and set(found.final.epochs) == {2}
    final_cfg = found.final_records[-1]["config"]
    assert final_cfg["model_kwargs"]["patch"] == best.patch and final_cfg["model_kwargs"]["dim"] == best.dim
    assert final_cfg["model_kwargs"]["token_hidden"] == best.dim // 2  # the widths follow the drawn dim
    assert final_cfg["train"]["lr"] == pytest.approx(best.lr)
    assert found.by_patch.scored.sum() == 3 and found.by_patch.skipped.sum() == 0
    assert set(found.importances.index) <= set(plan.space)
    assert found.importances.empty or found.importances.sum() == pytest.approx(1.0)
    export = search.export_path(plan.name)
    assert export == store / "search" / plan.name / "trials.json" and export.exists()

    # Read again without the database: the export and the records, nothing trained, everything equal.
    monkeypatch.setattr(runner, "fit", _boom)
    (tmp_path / "study.sqlite3").unlink()
    again = studies.search_study(**TINY, storage=url, available_only=True)
    assert again.source == "export" and again.missing == 0
    # A finished search's protocol counts its skipped draws as final, with no campaign note.
    budgeted = dataclasses.replace(again, plan=dataclasses.replace(again.plan, max_cost=2.0))
    text = report.search_protocol_text(budgeted, title="MNIST")
    assert "(0 draws)." in text and "so far" not in text and "under way" not in text
    assert again.trials.drop(columns="records_hashes").equals(found.trials.drop(columns="records_hashes"))
    assert again.importances.equals(found.importances) and again.final.equals(found.final)
    assert again.noise_sd == found.noise_sd and again.best.trial == best.trial
    # A record the export cites, gone: counted missing, not trained.
    (store / "classification" / f"{found.final.hash.iloc[-1]}.json").unlink()
    partial = studies.search_study(**TINY, available_only=True)
    assert partial.missing == 1
    text = report.search_protocol_text(dataclasses.replace(partial, plan=budgeted.plan), title="MNIST")
    assert "(0 draws so far)." in text and "under way" in text


def test_a_budget_skips_the_costly_draws_untrained(store, tmp_path, monkeypatch):
    # Only the budget is checked: the folds are stubbed, so nothing trains.
    monkeypatch.setattr(runner, "fit", _boom)
    monkeypatch.setattr(search.cv, "run_folds", lambda models, dataset, **kw: [("trial", {
        "hash": "x", "parameters": 1, "train_seconds": 0.0,
        "metrics": {"val": {"accuracy": kw["train"]["lr"]}, "test": {"accuracy": 0.0}}})])
    monkeypatch.setattr(search.runner, "record_many", lambda *a, **kw: [])
    plan = studies.search_plan(**{k: v for k, v in TINY.items() if k != "trials"}, trials=4, max_cost=0.2,
                               check=False)
    draws = plan.draws()
    skipped = [d for d in draws if d["over_budget"]]
    assert skipped and all(d["flops"] > plan.max_flops for d in skipped) and len(draws) - len(skipped) == 4
    for parallel in (1, 2):  # one at a time, and in batches: the same trials
        study = search.search("mnist", trials=50, total_trials=4, storage=f"sqlite:///{tmp_path / f'{parallel}.db'}",
                              name="s", parallel=parallel, **plan.search_args())
        trials = study.get_trials()
        assert [t.state.name == "PRUNED" for t in trials] == [d["over_budget"] for d in draws]
        assert [t.params["lr"] for t in trials] == pytest.approx([d["lr"] for d in draws])
        assert all(t.user_attrs["over_budget"] > plan.max_flops for t in trials if t.state.name == "PRUNED")
        # A complete study draws nothing more when it is run again.
        again = search.search("mnist", trials=50, total_trials=4, storage=f"sqlite:///{tmp_path / f'{parallel}.db'}",
                              name="s", parallel=parallel, **plan.search_args())
        assert len(again.get_trials()) == len(trials)


def test_an_interrupted_batch_is_queued_again_with_its_parameters(store, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "fit", _boom)
    monkeypatch.setattr(search.runner, "record_many", lambda *a, **kw: [])
    calls = []

    def score(models, dataset, **kw):
        calls.append(kw["train"]["lr"])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return [("trial", {"hash": "x", "parameters": 1, "train_seconds": 0.0,
                           "metrics": {"val": {"accuracy": kw["train"]["lr"]}, "test": {"accuracy": 0.0}}})]

    monkeypatch.setattr(search.cv, "run_folds", score)
    args = {k: TINY[k] for k in ("space", "folds", "subset", "train")} | {"size": None, "first_folds": 1}
    url = f"sqlite:///{tmp_path / 'b.db'}"
    with pytest.raises(KeyboardInterrupt):
        search.search("mnist", trials=6, storage=url, name="b", parallel=2, **args)
    study = search.optuna.load_study(study_name="b", storage=search.open_storage(url))
    failed = [t for t in study.trials if t.state.name == "FAIL"]
    waiting = [t for t in study.trials if t.state.name == "WAITING"]
    assert len(failed) == 2 and [t.params["lr"] for t in failed] == [w.system_attrs["fixed_params"]["lr"]
                                                                      for w in waiting]
    done = search.search("mnist", trials=2, storage=url, name="b", parallel=2, **args)
    retried = [t for t in done.trials if t.user_attrs.get("retry_of") is not None and t.state.name == "COMPLETE"]
    assert sorted(t.params["lr"] for t in retried) == sorted(t.params["lr"] for t in failed)
    # The chapter's table calls the stopped trials what they are, not diverged, and leaves them out.
    table = _trials_frame(SimpleNamespace(space=args["space"], reference_flops=1.0), done)
    assert list(table.note[table.trial.isin([t.number for t in failed])]) == ["stopped, run again"] * 2


def test_an_export_reads_back_equal(tmp_path):
    study = _synthetic()
    path = search.export_study(study, tmp_path / "s.json")
    back = search.load_export(path, name="synthetic")
    assert back.study_name == "synthetic" and back.direction == study.direction
    for a, b in zip(study.trials, back.trials, strict=True):
        assert (a.number, a.state, a.value, a.params, a.distributions, a.user_attrs) == (
            b.number, b.state, b.value, b.params, b.distributions, b.user_attrs)
    assert search.trials_table(back).equals(search.trials_table(study))
    # Written again from what was read, the export is the same file.
    assert search.export_study(back, tmp_path / "t.json").read_text() == path.read_text()


def test_a_damaged_or_edited_export_is_refused_in_one_line(tmp_path):
    path = search.export_study(_synthetic(), tmp_path / "s.json")
    good = json.loads(path.read_text())
    edited = json.loads(path.read_text())
    edited["trials"][0]["value"] = 0.99  # a better score, typed in
    path.write_text(json.dumps(edited))
    with pytest.raises(search.ExportError, match="checksum does not match") as err:
        search.load_export(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    path.write_text(json.dumps(good)[:200])  # cut short
    with pytest.raises(search.ExportError, match="not a readable study export") as err:
        search.load_export(path)
    assert "\n" not in str(err.value)
    path.write_text(json.dumps(good))
    with pytest.raises(search.ExportError, match="holds study 'synthetic', not 'other'"):
        search.load_export(path, name="other")
    assert len(search.load_export(path, name="synthetic").trials) == 12


def test_importances_are_seeded_and_the_same_from_the_export(tmp_path):
    study = _synthetic()
    first = studies.search_importances(study, seed=0)
    assert list(first.index) == list(first.sort_values(ascending=False).index) and first.sum() == pytest.approx(1.0)
    assert first.equals(studies.search_importances(study, seed=0))
    back = search.load_export(search.export_study(study, tmp_path / "s.json"))
    assert studies.search_importances(back, seed=0).equals(first)
    assert first.idxmax() == "lr"  # the score follows lr
    assert studies.search_importances(_synthetic(2), seed=0).empty  # one scored trial: nothing to explain


def test_reading_an_empty_store_trains_nothing_and_counts_every_run(no_training):
    found = studies.search_study(**TINY, available_only=True)
    assert found.source is None and found.trials.empty and found.best is None
    assert found.missing == found.plan.planned_runs() == 3 + 1 + 2
    assert report.search_campaign_text(found).startswith("*This section shows a campaign under way")
    assert "not been trained" in report.search_final_text(found, None)
    assert report.patch_text(studies.patch_outcome(found, 7)).startswith("No trial with patch 7 was scored")


def test_the_patch_sentence_follows_the_evidence():
    counts = {2: 3, 4: 5, 8: 4}
    wins = studies.PatchOutcome(4, {2: 0.60, 4: 0.70, 8: 0.65}, counts, noise=0.005)
    assert wins.verdict == "wins" and wins.rival == 8 and wins.margin == pytest.approx(0.05)
    text = report.patch_text(wins)
    assert text.startswith("Patch 4 wins at this scale") and "patch 8 (0.6500)" in text
    beaten = studies.PatchOutcome(4, {2: 0.60, 4: 0.65, 8: 0.70}, counts, noise=0.005)  # the evidence reversed
    assert beaten.verdict == "beaten"
    text = report.patch_text(beaten)
    assert text.startswith("Patch 4 does not win at this scale: patch 8's best trial (0.7000)") and "wins" not in text
    assert studies.PatchOutcome(4, {4: 0.70, 8: 0.69}, counts, noise=0.02).verdict == "ahead"
    assert "does not separate" in report.patch_text(studies.PatchOutcome(4, {4: 0.70, 8: 0.69}, counts, noise=0.02))
    assert studies.PatchOutcome(4, {4: 0.69, 8: 0.70}, counts, noise=0.02).verdict == "behind"
    assert studies.PatchOutcome(4, {4: 0.69, 8: 0.70}, counts, noise=None).verdict == "open"
    assert studies.PatchOutcome(4, {4: 0.69}, counts, noise=0.01).verdict == "alone"
    assert studies.PatchOutcome(4, {8: 0.69}, counts, noise=0.01).verdict == "untried"


def test_the_chapter_refuses_a_bad_search_value_before_anything_trains(no_training):
    for name, value, said in (("search_trials", "0", "search_trials=0 must be a positive integer"),
                              ("search_space", "{'patch': [5], 'dim': [16], 'depth': [1]}", "no patch size divides"),
                              ("search_ranges", "{'lr': [0.01]}", "search_ranges={'lr': [0.01]} must map"),
                              ("search_max_cost", "-1.0", "search_max_cost=-1.0 must be a positive number")):
        with pytest.raises(book.BookError) as err:
            book.check_values(book.plan("smoke", ["03"], [(name, value)]))
        assert str(err.value).startswith("03_kan_mixers: ") and said in str(err.value), str(err.value)
        assert "\n" not in str(err.value)


def test_the_importance_figure_and_sentence_follow_the_importances():
    from kanmix import viz

    imp = studies.search_importances(_synthetic(), seed=0)
    fig = viz.plot_importances(imp, names=report.SEARCH_NAMES)
    bars = fig.axes[0].patches
    assert len(bars) == len(imp) and max(b.get_width() for b in bars) == pytest.approx(imp.max())
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == report.SEARCH_NAMES.get(imp.index[0],
                                                                                              imp.index[0])
    text = report.search_importance_text(SimpleNamespace(importances=imp, scored=[1] * 10))
    assert text.startswith(f"By Optuna's fANOVA over 10 scored trials, {imp.index[0]} accounts for the largest share")
    empty = viz.plot_importances(studies.search_importances(_synthetic(2), seed=0))
    assert not empty.axes[0].patches and "No importance" in report.search_importance_text(
        SimpleNamespace(importances=studies.search_importances(_synthetic(2), seed=0), scored=[]))
