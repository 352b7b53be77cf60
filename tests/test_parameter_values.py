"""Parameter values, not only names and types: every chapter runs, or refuses in one line before anything trains.

``python -m kanmix.book run`` checks each chapter's resolved parameters with the chapter's own
check (:func:`kanmix.studies.check_chapter`), which builds the config of every run the chapter
would make and checks their data splits and models. These tests go through that path with the
real chapters and tiny (smoke) settings; nothing here trains.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kanmix import book, results, studies
from kanmix.splits import Fold, Split, load_split

UPDATE_ARM = "[-1, 1], update_grid after epoch 1"  # chapter 3's third grid handling


def _refusal(profile: str, chapter: str, extra: list[tuple[str, str]]) -> str:
    """The one-line error of the book's checks for these overrides (names, types, then values)."""
    with pytest.raises(book.BookError) as err:
        book.check_values(book.plan(profile, [chapter], extra))
    message = str(err.value)
    assert "\n" not in message, message
    return message


def _nothing_written(store: Path) -> None:
    written = [p for p in store.rglob("*") if p.is_file()] if store.exists() else []
    assert written == [], f"the refused run wrote {written}"


def test_a_too_small_efficiency_size_is_refused_in_one_line_before_anything_trains(store, monkeypatch, capsys):
    import papermill

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started for parameters that no run can take")

    monkeypatch.setattr(papermill, "execute_notebook", no_kernel)
    start = time.perf_counter()
    code = book.main(["run", "--profile", "cpu", "--only", "03", "-p", "efficiency_sizes", "[5]"])
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert err.startswith("kanmix.book: error: 03_kan_mixers: efficiency_sizes=[5]:") and "subset=5" in err, err
    assert seconds < 60, seconds  # the configs are built, no model of the profile's runs
    _nothing_written(store)


def test_an_efficiency_size_too_small_for_the_folds_is_refused_before_anything_trains(store):
    # 20 images are 2 per class: a size Split accepts, but no 5-fold stratified split can make.
    message = _refusal("cpu", "03", [("efficiency_sizes", "[1250, 20]")])
    assert message.startswith("03_kan_mixers: efficiency_sizes (size 20):") and "fewer than folds=5" in message
    _nothing_written(store)


def test_one_epoch_leaves_the_grid_update_out_of_the_ablation_and_changes_nothing_else(store):
    # `--profile paper --only 03 -p epochs 1`: the update after epoch 1 needs a second epoch to train
    # on the moved grid, so that arm is left out (the chapter prints why); every other run trains 1 epoch.
    # (No parameter matching here: it builds the paper's KAN-Mixer, which the slow test below does.)
    # (The paper profile's headline pair is the parameter-matched MLP-Mixer: none without matching.)
    [(ch, given)] = book.plan("paper", ["03"], [("epochs", "1"), ("param_matched", "false"),
                                                ("headline_against", "None")])
    plan = studies.mixers_plan_from_chapter(book.resolved(ch, given), check=False)
    assert list(plan.left_out) == [UPDATE_ARM] and "after epoch 1" in plan.left_out[UPDATE_ARM]
    assert [label for label, _ in plan.ablation] == ["[-1, 1] (efficient-KAN)", "[-3, 3]"]
    for runs in [plan.ablation, *plan.main.values(), *plan.headline.values()]:
        assert {(cfg.train.epochs, cfg.train.grid_updates) for _, cfg in runs} == {(1, ())}
    # With two epochs the arm is back, updating after the first.
    [(ch, given)] = book.plan("paper", ["03"], [("epochs", "2"), ("param_matched", "false"),
                                                ("headline_against", "None")])
    plan = studies.mixers_plan_from_chapter(book.resolved(ch, given), check=False)
    assert plan.left_out == {} and dict(plan.ablation)[UPDATE_ARM].train.grid_updates == (1,)
    _nothing_written(store)


@pytest.mark.slow  # builds the paper's mixers (11.8M parameters), a few seconds to a minute on 2 cores
def test_the_paper_profile_with_one_epoch_passes_the_whole_check(store):
    book.check_values(book.plan("paper", ["03"], [("epochs", "1")]))
    _nothing_written(store)


def test_the_grid_update_arm_is_refused_when_it_is_the_chosen_handling_and_cannot_train(store):
    message = _refusal("smoke", "03", [("epochs", "1"), ("grid_handling", UPDATE_ARM)])
    assert f"grid_handling={UPDATE_ARM!r} cannot be trained: it moves the grid after epoch 1" in message


def test_runnable_grid_variants_follow_the_epochs():
    variants = {"plain": {}, "after 1": {"train": {"grid_updates": [1]}}, "after 3": {"train": {"grid_updates": [3]}}}
    kept, left_out = studies.runnable_grid_variants(variants, {"epochs": 3})
    assert list(kept) == ["plain", "after 1"] and list(left_out) == ["after 3"]
    kept, left_out = studies.runnable_grid_variants(variants, {"epochs": 1})
    assert list(kept) == ["plain"] and list(left_out) == ["after 1", "after 3"]
    assert "1 epoch," in left_out["after 1"]
    with pytest.raises(studies.ParameterError, match=r"grid_variants\['x'\]: overrides may set model_kwargs"):
        studies.runnable_grid_variants({"x": {"epochs": 3}}, {"epochs": 3})


@pytest.mark.parametrize("chapter, extra, words", [
    # chapter 3
    ("03", [("efficiency_sizes", "[10]")], ["efficiency_sizes (size 10):", "fewer than folds=2"]),
    ("03", [("efficiency_folds", "3")], ["efficiency_folds=3 must be at most folds=2"]),
    ("03", [("folds", "40")], ["fewer than folds=40"]),
    ("03", [("subset", "5")], ["subset=5"]),
    ("03", [("headline_repeats", "0")], ["headline_repeats=0"]),
    ("03", [("time_matched_epochs", "0")], ["time_matched_epochs=0"]),
    ("03", [("workers", "0")], ["workers=0"]),
    ("03", [("lr", "-1")], ["lr=-1.0"]),
    ("03", [("datasets", "[]")], ["datasets=[]"]),
    ("03", [("datasets", "['mnist', 'mnist']")], ["datasets", "'mnist' twice"]),
    ("03", [("models", "['kan_mixer', 'resnet']")], ["models: unknown classifier 'resnet'"]),
    ("03", [("model_kwargs", "{'kan_mixer': {'patch': 8}}")], ["model_kwargs has no dict of arguments for"]),
    ("03", [("models", "['kan_mixer']"), ("param_matched", "false"), ("time_matched_epochs", "None")],
     ["models=['kan_mixer']", "needs two or more"]),
    ("03", [("grid_variants", "{'[-1, 1] (efficient-KAN)': {}, 'odd': {'model_kwargs': {'grid_range': [1, -1]}}}")],
     ["grid_variants['odd']:", "grid_range"]),
    # chapter 2
    ("02", [("hidden", "[16, 16]")], ["hidden=[16, 16] must hold one width"]),
    ("02", [("n_edges", "1000")], ["n_edges=1000 must be in 1..160"]),
    ("02", [("n_probe", "1")], ["n_probe=1"]),
    ("02", [("grid_size", "0")], ["grid_size", "(the KAN)"]),
    ("02", [("bench_dtypes", "['float16']")], ["bench_dtypes"]),
    ("02", [("bench_shapes", "[[512, 64]]")], ["bench_shapes"]),
    ("02", [("bench_json", "no/such/bench.json")], ["bench_json='no/such/bench.json' is not a file"]),
    ("02", [("parity_folds", "1")], ["parity_folds=1"]),
    ("02", [("parity_models", "{}")], ["parity_models"]),
    ("02", [("parity_train", "{'epochs': 0}")], ["parity_train: epochs=0"]),
    # chapter 4
    ("04", [("models", "['kan_ae']")], ["models: 'kan_ae'"]),
    ("04", [("bottlenecks", "{'mnist': [4, 600]}")], ["bottlenecks['mnist']=[4, 600]", "at most 500"]),
    ("04", [("bottlenecks", "{'mnist': [4, 4]}")], ["bottlenecks['mnist']", "twice"]),
    ("04", [("keep_weights", "{'mnist': 16}")], ["keep_weights={'mnist': 16} must map a dataset"]),
    ("04", [("hidden", "{'cifar10': 32}")], ["hidden has no width for 'mnist'"]),
    ("04", [("test_subset", "most")], ["test_subset='most'"]),
    # chapter 5
    ("05", [("seeds", "[0]")], ["seeds=[0] must hold at least 2 seeds"]),
    ("05", [("seeds", "[1, 1]")], ["seeds", "twice"]),
    ("05", [("keep_fractions", "[0.5, 1.5]")], ["keep_fractions", "1.5"]),
    ("05", [("finetune_steps", "0")], ["finetune_steps=0"]),
    ("05", [("n_importance", "0")], ["n_importance=0"]),
    ("05", [("n_top", "0")], ["n_top=0"]),
    ("05", [("finetune_lr", "0")], ["finetune_lr: lr=0.0"]),
    ("05", [("ae_bottleneck", "0")], ["(the autoencoder)"]),
    # chapter 1
    ("01", [("orders", "[0, 1]")], ["orders=[0, 1]"]),
    ("01", [("widths", "[[64]]")], ["widths=[[64]]"]),
    ("01", [("grid_sizes", "[]")], ["grid_sizes=[]"]),
])
def test_a_value_no_run_can_take_is_refused_in_one_line_naming_it(store, chapter, extra, words):
    message = _refusal("smoke", chapter, extra)
    stem = book.select(book.chapters(), [chapter])[0].stem
    assert message.startswith(f"{stem}: "), message
    for word in words:
        assert word in message, message
    _nothing_written(store)


def test_every_chapter_has_a_value_check():
    missing = [ch.stem for ch in book.chapters() if ch.stem not in studies.CHAPTER_CHECKS]
    assert not missing, f"chapters without a value check in kanmix.studies.CHAPTER_CHECKS: {missing}"


def test_the_smoke_profile_passes_every_check_on_an_empty_store(store):
    book.check_values(book.plan("smoke"))  # every run unstored: splits and models checked
    _nothing_written(store)


def test_the_cpu_profile_passes_its_checks_and_plans_only_committed_runs(monkeypatch):
    # The committed store holds every cpu-profile run, so the checks skip them; read-only, nothing is written.
    monkeypatch.setenv("KANMIX_RESULTS", str(book.ROOT / "results"))
    monkeypatch.setenv(results.READ_ONLY, "1")
    book.check_values(book.plan("cpu", ["00"]))  # the findings page checks chapters 2-5 under its profile
    params = book.chapter_parameters("cpu", ["03"])["03"]
    plan = studies.mixers_plan_from_chapter(params, check=False)
    # A data-efficiency campaign under way (efficiency_available_only) is read, not trained: only then may its runs lack.
    efficiency = [] if params["efficiency_available_only"] else list(plan.efficiency.values())
    missing = [results.run_hash(c.to_dict()) for runs in [plan.ablation, *plan.main.values(), *efficiency]
               for _, c in runs if not results.record_path(c.to_dict()).exists()]
    assert not missing, f"the cpu profile's chapter 3 would train runs the store lacks: {missing[:5]}"
    assert any(all(results.record_path(c.to_dict()).exists() for _, c in runs) for runs in plan.headline.values())


def test_check_split_raises_what_load_split_would():
    split = Split(dataset="fashion_mnist", subset=20, fold=Fold(folds=5, fold=0))
    with pytest.raises(ValueError) as checked:
        studies.check_split(split)
    with pytest.raises(ValueError) as loaded:
        load_split(split)
    assert str(checked.value) == str(loaded.value) and "fewer than folds=5" in str(checked.value)
    studies.check_split(Split(dataset="fashion_mnist", subset=300, fold=Fold(folds=2, fold=1)))  # fits


def test_a_relative_bench_json_is_looked_for_where_the_chapter_runs(store, tmp_path):
    (tmp_path / "bench.json").write_text("[]")
    [(ch, given)] = book.plan("smoke", ["02"], [("bench_json", "bench.json")])
    values = book.resolved(ch, given)
    with pytest.raises(studies.ParameterError, match="bench_json='bench.json' is not a file"):
        studies.check_chapter(ch.stem, values, root=tmp_path / "elsewhere")
    assert studies.check_chapter(ch.stem, values, root=tmp_path)  # the book runs chapters in its root
