"""Chapter 4's study: the bottleneck sweep of KAN, MLP and CNN autoencoders beside the
mean-image and PCA baselines (:func:`autoencoders`), and its controls: equal latent sizes, an
MLP autoencoder matched in parameters, seeds, a converged arm and the authors' code variant."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd

from kanmix import ae, checks, results, runner
from kanmix.splits import Split
from kanmix.train import TrainConfig
from kanmix.studies._common import (
    ParameterError, RunChecks, _chapter_values, _distinct, _is_int, _positive_ints, about)


@dataclass
class AutoencoderStudy:
    """What :func:`autoencoders` returns.

    - ``table``: one row per run of the sweep (:data:`kanmix.ae.COLUMNS`, plus ``requested``, the
      bottleneck asked for, and ``beats_mean``, whether its test MSE is below the mean-image
      predictor's): the same-shape models at the first seed and the paper's length;
    - ``curves``: per-epoch train and test MSE of the sweep's runs;
    - ``baselines``: the mean image and PCA on the sweep's training images, at every requested
      width (and, with the controls, at every latent size a model has);
    - ``records``: every record behind them;
    - ``runs``: every run, the controls' too, with ``hidden``, ``variant``, ``key`` (the model and
      its variant, :data:`kanmix.ae.LABELS`), ``arms`` (the parts of the plan that want it, joined
      by commas: sweep, seeds, paper, converged), ``n_train`` and ``plateau_epoch``
      (:func:`kanmix.ae.plateau_epoch`);
    - ``all_baselines``: the baselines on every training set the runs use, with ``n_train``;
    - ``plan``: every :class:`PlannedRun`; ``missing`` / ``missing_baselines``: planned runs and
      baselines not in the store (only with ``available_only``, which trains nothing).
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    baselines: pd.DataFrame
    records: list[dict]
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)
    all_baselines: pd.DataFrame = field(default_factory=pd.DataFrame)
    plan: list = field(default_factory=list)
    missing: int = 0
    missing_baselines: int = 0

    def records_of(self, frame: pd.DataFrame) -> list[dict]:
        """The records behind the rows of ``frame`` (by their ``hash``), in the study's order."""
        hashes = set(frame["hash"])
        return [r for r in self.records if r.get("hash") in hashes]

    def paper_configs(self) -> list[tuple[str, runner.Run]]:
        """``(key, config)`` of the paper-width arm's first run of each model and dataset (its first seed, the
        paper's length), in plan order: what :func:`kanmix.ae.paper_width_costs` prices."""
        first = {}
        for p in self.plan:
            if "paper" in p.arms:
                first.setdefault((p.cfg.split.dataset, p.key), p.cfg)
        return [(key, cfg) for (_, key), cfg in first.items()]


class PlannedRun(NamedTuple):
    """One autoencoder run of the study: the width asked for, its config, whether its weights are kept, its
    ``variant`` (``""``, or ``"matched"``: the MLP autoencoder matched in parameters to the KAN one) and the
    ``arms`` of the plan that want it."""

    requested: int
    cfg: runner.Run
    keep: bool
    variant: str = ""
    arms: tuple[str, ...] = ("sweep",)

    @property
    def key(self) -> str:
        """The model's short name (:data:`kanmix.ae.AE_MODELS`), ``_<variant>`` appended."""
        short = {v: k for k, v in ae.AE_MODELS.items()}[self.cfg.model]
        return f"{short}_{self.variant}" if self.variant else short


def _most(split: Split) -> int:
    """The most PCA components ``split`` allows: its training images and its pixels."""
    return min(split.subset or split.info.train_size, split.info.train_size, math.prod(split.in_shape))


def _per_dataset(name: str, value, datasets: Sequence[str], *, none: bool = False) -> dict:
    """A ``{dataset: integer >= 1}`` parameter (``None`` values too with ``none``), for the datasets run."""
    value = {} if value is None else value
    if not isinstance(value, Mapping) or not all((none and v is None) or (_is_int(v) and v >= 1)
                                                 for v in value.values()):
        raise ParameterError(f"{name}={value!r} must map a dataset to an integer >= 1" + (" or None" if none else ""))
    return {d: value[d] for d in datasets if d in value}


def autoencoders_plan(*, datasets: Sequence[str], models: Sequence[str], bottlenecks: Mapping[str, Sequence[int]],
                      hidden: Mapping[str, int], train: dict, seed: int = 0, subset: int | None = None,
                      test_subset: int | str | None = None, keep_weights: Sequence[tuple[str, str, int]] = (),
                      equal_latents: bool = False, seeds: Sequence[int] = (), seed_widths: Mapping | None = None,
                      paper_widths: Mapping | None = None, paper_hidden: Mapping | None = None,
                      paper_width_subset: Mapping | None = None, converged_epochs: int | None = None,
                      matched_mlp: bool = False, authors_variant: bool = False, force: bool = False,
                      check: bool = True) -> list[PlannedRun]:
    """Every autoencoder run of :func:`autoencoders` (same arguments) as :class:`PlannedRun`, each config once
    (in the order first planned), and, with ``check``, what the runs not stored need (:class:`RunChecks`: their
    splits, their models built once per architecture, and the size of the weights kept); nothing trains.
    Without ``check`` nothing is built (a campaign read while under way).

    The linear baselines need at most as many PCA components as there are training images and
    pixels; a bottleneck beyond that fails here too. See :func:`autoencoders` for the controls.
    """
    datasets, models = list(datasets), list(models)
    if not datasets:
        raise ParameterError("datasets=[]: name at least one dataset")
    _distinct("datasets", datasets)
    if not models:
        raise ParameterError("models=[]: name at least one autoencoder")
    _distinct("models", models)
    for model in models:
        with about("models"):
            ae.model_name(model)
    with about("epochs/precision (the training options)"):
        epochs = TrainConfig.from_dict({**ae.PAPER_RECIPE, **train}).epochs
    splits = {}
    for dataset in datasets:
        splits[dataset] = Split(dataset=dataset, subset=subset, test_subset=test_subset)
        if not isinstance(bottlenecks, Mapping) or dataset not in bottlenecks:
            raise ParameterError(f"bottlenecks has no widths for {dataset!r}")
        widths = _positive_ints(f"bottlenecks[{dataset!r}]", bottlenecks[dataset])
        _distinct(f"bottlenecks[{dataset!r}]", widths)
        most = _most(splits[dataset])
        if max(widths) > most:
            raise ParameterError(f"bottlenecks[{dataset!r}]={widths}: the PCA baseline of {max(widths)} components "
                                 f"needs as many training images and pixels, and there are at most {most}")
        if any(ae.model_name(m) != "cnn_ae" for m in models) and not (isinstance(hidden, Mapping) and dataset in hidden):
            raise ParameterError(f"hidden has no width for {dataset!r}")
    # The controls, each checked before any run is planned.
    for name, flag in (("equal_latents", equal_latents), ("matched_mlp", matched_mlp),
                       ("authors_variant", authors_variant)):
        if not isinstance(flag, bool):
            raise ParameterError(f"{name}={flag!r} must be true or false")
    seed_list = _positive_ints("seeds", list(seeds) if isinstance(seeds, (list, tuple)) else seeds, minimum=0,
                               empty=True)
    _distinct("seeds", seed_list)
    if seed_list and seed not in seed_list:
        raise ParameterError(f"seeds={seed_list!r} must include seed={seed!r}, the seed of every other run")
    seed_list = seed_list or [seed]
    seed_w = _per_dataset("seed_widths", seed_widths, datasets)
    paper_w = _per_dataset("paper_widths", paper_widths, datasets)
    paper_h = _per_dataset("paper_hidden", paper_hidden, datasets)
    paper_n = _per_dataset("paper_width_subset", paper_width_subset, datasets, none=True)
    if converged_epochs is not None and (not _is_int(converged_epochs) or converged_epochs <= epochs):
        raise ParameterError(f"converged_epochs={converged_epochs!r} must be an integer above epochs={epochs}, "
                             "or None")
    kan_in = any(ae.model_name(m) == "kan_ae" for m in models)
    if matched_mlp and not kan_in:
        raise ParameterError("matched_mlp=True matches the MLP autoencoder to the KAN autoencoder, which models lacks")
    cnn_in = any(ae.model_name(m) == "cnn_ae" for m in models)
    flat_in = any(ae.model_name(m) != "cnn_ae" for m in models) or matched_mlp
    for dataset, width in seed_w.items():
        if width > _most(splits[dataset]):
            raise ParameterError(f"seed_widths[{dataset!r}]={width}: more PCA components than the training images "
                                 f"and pixels allow ({_most(splits[dataset])})")
        if cnn_in and ae.cnn_bottleneck(splits[dataset], width) != width:
            raise ParameterError(f"seed_widths[{dataset!r}]={width} is no latent size of the CNN autoencoder (it "
                                 f"would get {ae.cnn_bottleneck(splits[dataset], width)}): name a size every model "
                                 f"has, such as {ae.cnn_bottleneck(splits[dataset], width)}")
    paper_splits = {}
    for dataset, width in paper_w.items():
        with about(f"paper_width_subset[{dataset!r}]"):
            paper_splits[dataset] = Split(dataset=dataset, subset=paper_n.get(dataset, subset), test_subset=test_subset)
        if width > _most(paper_splits[dataset]):
            raise ParameterError(f"paper_widths[{dataset!r}]={width}: more PCA components than the training images "
                                 f"and pixels allow ({_most(paper_splits[dataset])})")
        inner = paper_h.get(dataset, hidden.get(dataset) if isinstance(hidden, Mapping) else None)
        if flat_in and inner is not None and inner < width:
            raise ParameterError(f"paper_hidden[{dataset!r}]: the hidden layer at the paper's width would be {inner}, "
                                 f"narrower than its bottleneck {width}; set paper_hidden[{dataset!r}] >= {width}")

    planned: dict[str, PlannedRun] = {}
    whats: dict[str, str] = {}  # config hash -> the parameters its model comes from

    def add(requested: int, model: str, dataset: str, width: int, *, arm: str, inner: int | None = None,
            run_subset: int | None = subset, run_seed: int = seed, run_epochs: int | None = None, variant: str = "",
            keep: bool = False) -> None:
        flat = ae.model_name(model) not in ("cnn_ae", "kan_single_ae")
        what = f"the {model}{' (matched)' if variant else ''} autoencoder on {dataset} at bottleneck {width}" + (
            f" (hidden[{dataset!r}]={inner!r})" if flat else "")
        with about(what):
            kwargs = {"hidden": inner} if flat else {}
            if variant == "matched":
                kwargs = {"hidden": ae.matched_mlp_hidden(Split(dataset=dataset), inner, width)}
            options = train if run_epochs is None else {**train, "epochs": run_epochs}
            cfg = ae.ae_config(model, dataset, width, seed=run_seed, subset=run_subset, test_subset=test_subset,
                               model_kwargs=kwargs, build=False, **options)
        key = results.config_hash(cfg.to_dict())
        whats.setdefault(key, what)
        if key in planned:
            old = planned[key]
            planned[key] = old._replace(keep=old.keep or keep, arms=tuple(dict.fromkeys([*old.arms, arm])))
        else:
            planned[key] = PlannedRun(requested, cfg, keep, variant, (arm,))

    def width_of(model: str, split: Split, requested: int) -> int:
        return ae.cnn_bottleneck(split, requested) if ae.model_name(model) == "cnn_ae" else requested

    # The sweep: every model at every width asked for (the CNN at its nearest size, once per size).
    for dataset in datasets:
        for model in models:
            done = set()
            for requested in bottlenecks[dataset]:
                width = width_of(model, splits[dataset], requested)
                if width not in done:
                    done.add(width)
                    add(requested, model, dataset, width, arm="sweep", inner=(hidden or {}).get(dataset),
                        keep=(model, dataset, requested) in keep_weights)
    # Equal latent sizes: the flat autoencoders also at every size the CNN has.
    if equal_latents and cnn_in:
        for dataset in datasets:
            cnn_sizes = sorted({ae.cnn_bottleneck(splits[dataset], r) for r in bottlenecks[dataset]})
            for model in models:
                if ae.model_name(model) != "cnn_ae":
                    for width in cnn_sizes:
                        add(width, model, dataset, width, arm="sweep", inner=hidden[dataset])
    # Seeds at one narrow width every model has; the paper's widths; their converged arm.
    extra = [("mlp", "matched")] * matched_mlp
    for dataset, width in seed_w.items():
        for s in seed_list:
            for model, variant in [(m, "") for m in models] + extra:
                add(width, model, dataset, width, arm="seeds", inner=(hidden or {}).get(dataset), run_seed=s,
                    variant=variant)
    for dataset, width in paper_w.items():
        split = paper_splits[dataset]
        inner = paper_h.get(dataset, (hidden or {}).get(dataset))
        arm_models = [(m, "") for m in models] + extra + [("kan1", "")] * authors_variant
        runs = [(s, None, "paper") for s in seed_list] + [(seed, converged_epochs, "converged")] * bool(converged_epochs)
        for s, n_epochs, arm in runs:
            for model, variant in arm_models:
                add(width, model, dataset, width_of(model, split, width), arm=arm, inner=inner, run_subset=split.subset,
                    run_seed=s, run_epochs=n_epochs, variant=variant)
    if check:  # every split and every architecture not stored yet, each once
        run_checks = RunChecks(force=force)
        for key, p in planned.items():
            run_checks.add([p.cfg], model=whats[key], keep_weights=p.keep)
        run_checks.verify()
    return list(planned.values())


def baseline_plan(plan: Sequence[PlannedRun], bottlenecks: Mapping[str, Sequence[int]], *, subset: int | None,
                  test_subset: int | str | None, equal_latents: bool = False) -> dict[Split, list[int]]:
    """The linear baselines of a plan: ``{split: [components, ...]}``, the mean image (0) and PCA at every width
    asked for on each dataset's split, then at every other latent size a run of the controls has on its own
    training images (with ``equal_latents``, the sweep's CNN sizes too)."""
    out: dict[Split, list[int]] = {}
    for dataset in dict.fromkeys(p.cfg.split.dataset for p in plan):
        out[Split(dataset=dataset, subset=subset, test_subset=test_subset)] = [0, *bottlenecks[dataset]]
    for p in plan:
        comps = out.setdefault(p.cfg.split, [0])
        if p.cfg.bottleneck not in comps and (equal_latents or set(p.arms) - {"sweep"}):
            comps.append(p.cfg.bottleneck)
    return out


_RUN_COLUMNS = [*ae.COLUMNS, "requested", "beats_mean", "hidden", "variant", "key", "arms", "n_train", "plateau_epoch"]
_BASE_COLUMNS = ["dataset", "n_train", "method", "components", "test_mse", "psnr", "knn_accuracy", "hash"]


def autoencoders(*, datasets: Sequence[str], models: Sequence[str], bottlenecks: Mapping[str, Sequence[int]],
                 hidden: Mapping[str, int], train: dict, seed: int = 0, subset: int | None = None,
                 test_subset: int | str | None = None, keep_weights: Sequence[tuple[str, str, int]] = (),
                 equal_latents: bool = False, seeds: Sequence[int] = (), seed_widths: Mapping | None = None,
                 paper_widths: Mapping | None = None, paper_hidden: Mapping | None = None,
                 paper_width_subset: Mapping | None = None, converged_epochs: int | None = None,
                 matched_mlp: bool = False, authors_variant: bool = False, available_only: bool = False,
                 require_beat_mean: bool = False, force: bool = False, workers: int = 1,
                 executor=None) -> AutoencoderStudy:
    """Chapter 4's runs: every (dataset, model, bottleneck), the linear baselines, in one call.

    ``bottlenecks[dataset]`` are the widths asked for; the CNN autoencoder gets the nearest its
    layout allows (:func:`kanmix.ae.cnn_bottleneck`), once per distinct width. ``hidden[dataset]``
    is the KAN and MLP autoencoders' hidden width. ``train`` overrides the paper's recipe
    (:data:`kanmix.ae.PAPER_RECIPE`). ``keep_weights`` names the ``(model, dataset, requested
    bottleneck)`` runs whose weights are kept beside their records. With ``require_beat_mean``
    a model none of whose seeds beats the mean-image predictor in a setting is an error, not a row:
    such a model is broken, and its numbers must not be shown as a result (a single collapsed seed
    is kept, with ``beats_mean`` False, and reported). Every run is built and
    checked before the first baseline is computed (:func:`autoencoders_plan`).

    The controls, each off by default (then the plan is the sweep alone, its configs unchanged):

    - ``equal_latents``: the KAN and MLP autoencoders also at every latent size the CNN has, so
      every comparison can pair equal sizes; PCA at every latent size any run has.
    - ``seeds`` (including ``seed``) at ``seed_widths[dataset]``, a width every model has: every
      model there once per seed, so the comparisons there carry a noise band.
    - ``paper_widths[dataset]``: the paper's bottleneck, every model (the CNN at its nearest size)
      once per seed, with hidden width ``paper_hidden.get(dataset, hidden[dataset])`` (at least the
      bottleneck) on ``paper_width_subset.get(dataset, subset)`` training images; with
      ``converged_epochs`` the same models once more (seed ``seed``) for that many epochs.
    - ``matched_mlp``: the MLP autoencoder whose parameter count is within 10% of the KAN
      autoencoder's (:func:`kanmix.ae.matched_mlp_hidden`) beside the same-shape one, at the seed
      and paper widths; ``authors_variant``: the authors' code (``kan1``, one KAN layer per side)
      at the paper widths.

    ``available_only`` trains and computes nothing: the study reads the records that exist (a
    campaign under way) and counts the planned runs and baselines that are missing.
    """
    checks.integer("workers", workers)
    if not isinstance(available_only, bool):
        raise ParameterError(f"available_only={available_only!r} must be true or false")
    planned = autoencoders_plan(datasets=datasets, models=models, bottlenecks=bottlenecks, hidden=hidden, train=train,
                                seed=seed, subset=subset, test_subset=test_subset, keep_weights=keep_weights,
                                equal_latents=equal_latents, seeds=seeds, seed_widths=seed_widths,
                                paper_widths=paper_widths, paper_hidden=paper_hidden,
                                paper_width_subset=paper_width_subset, converged_epochs=converged_epochs,
                                matched_mlp=matched_mlp, authors_variant=authors_variant, force=force,
                                check=not available_only)
    base_rows, on_sweep, records, mean_mse, missing_baselines = [], [], [], {}, 0
    for split, components in baseline_plan(planned, bottlenecks, subset=subset, test_subset=test_subset,
                                           equal_latents=equal_latents).items():
        baselines = ae.linear_baselines(split, components, available_only=available_only)
        missing_baselines += len(components) - len(baselines)
        records += baselines
        for r in baselines:
            if r["config"]["components"] == 0:
                mean_mse[split] = r["metrics"]["test_mse"]
        base_rows += [{"dataset": split.dataset, "n_train": r["metrics"]["n_train"], "method": r["config"]["method"],
                       "components": r["config"]["components"],
                       **{k: r["metrics"][k] for k in ("test_mse", "psnr", "knn_accuracy")}, "hash": r["hash"]}
                      for r in baselines]
        on_sweep += [split == Split(dataset=split.dataset, subset=subset, test_subset=test_subset)] * len(baselines)
    todo = [p for p in planned if not available_only or runner.stored(p.cfg)]
    ae_records = runner.record_many([p.cfg for p in todo], workers=workers, force=force,
                                    keep_weights=[p.keep for p in todo], executor=executor)
    rows = []
    for p, rec in zip(todo, ae_records):
        mean = mean_mse.get(p.cfg.split)
        row = {**ae.row(rec), "requested": p.requested,
               "beats_mean": None if mean is None else rec["metrics"]["test_mse"] < mean,
               "hidden": p.cfg.model_kwargs.get("hidden"), "variant": p.variant, "key": p.key, "arms": ",".join(p.arms),
               "n_train": rec["metrics"]["n_train"], "plateau_epoch": ae.plateau_epoch(rec["curve"])}
        rows.append(row)
    records += ae_records
    runs = pd.DataFrame(rows, columns=_RUN_COLUMNS)
    if require_beat_mean:
        _stop_on_untrained(runs)
    sweep = runs.arms.str.split(",").map(lambda arms: "sweep" in arms).astype(bool)
    table = runs[sweep][[*ae.COLUMNS, "requested", "beats_mean"]].reset_index(drop=True)
    all_baselines = pd.DataFrame(base_rows, columns=_BASE_COLUMNS)
    baselines = all_baselines[on_sweep] if len(all_baselines) else all_baselines
    sweep_records = [r for p, r in zip(todo, ae_records) if "sweep" in p.arms]
    return AutoencoderStudy(table=table, curves=ae.curves(sweep_records), baselines=baselines.reset_index(drop=True),
                            records=records, runs=runs, all_baselines=all_baselines, plan=planned,
                            missing=len(planned) - len(todo), missing_baselines=missing_baselines)


def _stop_on_untrained(runs: pd.DataFrame) -> None:
    """Raise when every seed of one model in one setting loses to the mean-image predictor.

    A bug in a model or its training fails every seed; one seed that collapses (a small CNN whose ReLUs all die
    at initialisation, say) while its other seeds train is an outcome of training, kept and reported (its
    ``beats_mean`` is False), not hidden and not a reason to stop.
    """
    seeds = runs.groupby(ae.SEED_SETTING, sort=False).size()
    failed = runs[runs.beats_mean.eq(False)].groupby(ae.SEED_SETTING, sort=False)
    for (dataset, n_train, epochs, bottleneck, key), part in failed:
        if len(part) == seeds[(dataset, n_train, epochs, bottleneck, key)]:
            raise ValueError(f"the {part.model.iloc[0]} autoencoder on {dataset} at bottleneck {bottleneck} "
                             f"({epochs} epochs, {n_train} training images) is no better than predicting the mean "
                             f"image in every one of its {len(part)} seed(s) (test MSE at best "
                             f"{part.test_mse.min():.4f}): a broken model, not a result (records {', '.join(part.hash)})")


#: The KAN autoencoder paper's setting (arXiv 2410.02077): its datasets and the bottleneck it reports per dataset.
PAPER_AE = {"datasets": ("mnist", "svhn", "cifar10"), "widths": {"mnist": 150, "svhn": 500, "cifar10": 500}}


def ae_deviations(*, datasets: Sequence[str], hidden: Mapping[str, int], precision: str, epochs: int,
                  seeds: Sequence[int], paper_widths: Mapping[str, int], paper_hidden: Mapping[str, int],
                  paper_width_subset: Mapping[str, int], converged_epochs: int | None,
                  authors_variant: bool) -> pd.DataFrame:
    """What chapter 4 does differently from the KAN autoencoder paper, and why: one row per setting, from the
    chapter's parameters (so the table follows the profile)."""
    from kanmix.data import info
    from kanmix.report import count, listing, plain

    recipe = ae.PAPER_RECIPE
    title = {d: info(d).title for d in {*datasets, *PAPER_AE["datasets"]}}
    left_out = [title[d] for d in PAPER_AE["datasets"] if d not in datasets]
    subsets = [f"{plain(n)} on {title[d]} (stratified), scored on the full test split"
               for d, n in paper_width_subset.items() if d in datasets]
    rows = [
        ("datasets", listing([title[d] for d in PAPER_AE["datasets"]]), listing([title[d] for d in datasets]),
         f"{listing(left_out)} left out for this machine's budget; the code runs {'them' if len(left_out) > 1 else 'it'}"
         if left_out else "the same"),
        ("training", f"{recipe['epochs']} epochs, AdamW (lr {plain(recipe['lr'])}, weight decay "
         f"{plain(recipe['weight_decay'])}), MSE", f"the same, {count(epochs, 'epoch')}"
         + (f"; the paper-width models also {converged_epochs} epochs" if converged_epochs else ""),
         "the paper's recipe; the longer arm shows what it leaves untrained"),
        ("bottleneck", listing([f"{PAPER_AE['widths'][d]:,} ({title[d]})" for d in PAPER_AE["datasets"]]),
         listing([f"{w:,} ({title[d]})" for d, w in paper_widths.items() if d in datasets])
         + ", a sweep, and every latent size the CNN has",
         "comparisons pair equal latent sizes; the CNN's layout allows only some"),
        ("hidden width", "–", listing([f"{plain(hidden[d])} ({title[d]})" for d in datasets if d in hidden]),
         "chosen for this machine: the sweep's widest bottleneck can exceed it; at the paper's width the hidden layer "
         "is at least as wide" + (f" ({listing([f'{plain(w)} on {title[d]}' for d, w in paper_hidden.items() if d in datasets])})"
                                  if any(d in datasets for d in paper_hidden) else "")),
        ("training images at the paper's width", "the full training split",
         listing(subsets) if subsets else "the full training split",
         "a wide KAN layer on 3,072 inputs costs too much here on the full split"
         if any(d in datasets for d in paper_width_subset) else "the same"),
        ("the authors' code", "one KAN layer per side, no ReLU, no dense layer (their repository)",
         "run as its own row (kan1) at the paper's widths" if authors_variant else "not run",
         "the paper's text and its code differ; both are shown" if authors_variant else "left out by this profile"),
        ("seeds", "–", f"{len(seeds)} at the paper's widths and one narrow width; one elsewhere" if len(seeds) > 1
         else "one", "noise bands where the comparisons matter"),
        ("precision", "–", precision, "speed on this CPU; chapter 2 tests whether bf16 changes this autoencoder's MSE"),
        ("baselines", "CNN autoencoders", "CNN, MLP (same shape and matched in parameters), PCA and the mean image",
         "controls for size, latent width and what a linear map already does"),
    ]
    return pd.DataFrame(rows, columns=["setting", "the paper", "here", "why"]).set_index("setting")


def ae_deviations_from_chapter(params: Mapping) -> pd.DataFrame:
    """:func:`ae_deviations` of chapter 4's parameters."""
    return ae_deviations(**_chapter_values(params, (
        "datasets", "hidden", "precision", "epochs", "seeds", "paper_widths", "paper_hidden", "paper_width_subset",
        "converged_epochs", "authors_variant")))


#: Chapter 4's parameters that :func:`autoencoders` takes as they are.
_AE_PARAMS = ("datasets", "models", "bottlenecks", "hidden", "epochs", "precision", "seed", "subset", "test_subset",
              "keep_weights", "require_beat_mean", "workers", "equal_latents", "seeds", "seed_widths", "paper_widths",
              "paper_hidden", "paper_width_subset", "converged_epochs", "matched_mlp", "authors_variant",
              "available_only")


def _ae_args(params: Mapping) -> dict:
    """:func:`autoencoders`' arguments of chapter 4's parameters (``keep_weights`` as dataset -> model -> bottleneck)."""
    p = _chapter_values(params, _AE_PARAMS)
    named = p.pop("keep_weights")
    if not isinstance(named, Mapping) or not all(isinstance(chosen, Mapping) for chosen in named.values()):
        raise ParameterError(f"keep_weights={named!r} must map a dataset to {{model: bottleneck}}")
    keep = [(m, d, b) for d, chosen in named.items() for m, b in chosen.items()]
    train = {"epochs": p.pop("epochs"), "precision": p.pop("precision")}
    return {**p, "train": train, "keep_weights": keep}


def autoencoders_plan_from_chapter(params: Mapping, *, check: bool = False) -> list[PlannedRun]:
    """:func:`autoencoders_plan` of chapter 4's parameters; nothing is built unless ``check``."""
    args = {k: v for k, v in _ae_args(params).items() if k not in ("require_beat_mean", "workers", "available_only")}
    return autoencoders_plan(**args, check=check)


def autoencoders_from_chapter(params: Mapping, *, force: bool = False) -> AutoencoderStudy:
    """:func:`autoencoders` of chapter 4's parameters (``keep_weights`` as dataset -> model -> bottleneck)."""
    return autoencoders(**_ae_args(params), force=force)
