"""Chapter 5's study: what trained KANs learn, each measure set against the same network at initialisation
(:func:`splines`).

One call trains (or reads back) the chapter's models, the KAN-Mixer and the MLP-Mixer of the same
widths once per seed and chapter 4's KAN autoencoder, all with their weights kept, and measures
them with :mod:`kanmix.interpret`: every edge of the trained models and of their untrained twins,
symbolic fits of the top edges, the token maps, pruning and linearizing runs, and the
:class:`kanmix.interpret.Evidence` the chapter's conclusions and the findings page read. Both
read this one result, so they cannot disagree. The chapter's tables are functions of it
(:func:`cost_table`, :func:`layer_summary`, ...), so the chapter holds prose, plots and one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from kanmix import data, grids, interpret, runner
from kanmix.studies._common import ParameterError, _chapter_values

#: The names of the chapter's two model families in :attr:`SplinesStudy.edges` (its ``model`` column).
KAN_MIXER, KAN_AE = "KAN-Mixer", "KAN AE"
#: The pruning controls in :attr:`SplinesStudy.controls` (its ``control`` column).
RANDOM, MAGNITUDE = interpret.RANDOM, interpret.MAGNITUDE


class SplinesPlan(NamedTuple):
    """The runs chapter 5 interprets: the KAN-Mixer and the MLP-Mixer per seed, the KAN autoencoder, and
    (pruning's control) the MLP-Mixer matched to the KAN-Mixer's parameters per seed, or none."""

    kan: list[runner.Run]
    mlp: list[runner.Run]
    ae: runner.Run
    matched: list[runner.Run] = []


def splines_plan(*, dataset: str, subset: int | None, mixer_kwargs: Mapping, mlp_kwargs: Mapping, train: Mapping,
                 seeds: Sequence[int], ae_dataset: str, ae_subset: int | None, ae_bottleneck: int, ae_hidden: int,
                 ae_train: Mapping, pruning_controls: bool = False) -> SplinesPlan:
    """The configs of chapter 5's models; nothing trains.

    The mixers train on ``dataset`` at 32x32 (``subset`` of it, no fold: the chapter selects
    nothing on validation data), the KAN-Mixer and the MLP-Mixer of the same widths once per seed
    (so that their accuracies compare with a noise band on both sides); the autoencoder is
    chapter 4's KAN autoencoder of ``ae_dataset`` (``ae_train`` over its paper recipe), with the
    first seed. ``pruning_controls`` adds, per seed, the MLP-Mixer whose hidden widths hold the
    KAN-Mixer's parameter count (:func:`kanmix.models.param_matched`, as in chapter 3), whose
    pruning by magnitude is the control of the KAN-Mixer's.
    """
    from kanmix import ae
    from kanmix.experiment import ClassificationRun
    from kanmix.models import param_matched, parameter_count

    def mixer(model: str, kwargs: Mapping, seed: int) -> ClassificationRun:
        return ClassificationRun.from_dict({"dataset": dataset, "size": 32, "subset": subset, "model": model,
                                            "model_kwargs": dict(kwargs), "seed": seed, "train": dict(train)})

    seeds = list(seeds)
    kan = [mixer("kan_mixer", mixer_kwargs, s) for s in seeds]
    matched = []
    if pruning_controls:
        shape = {"in_shape": kan[0].split.in_shape, "num_classes": data.info(dataset).num_classes}
        kwargs = param_matched("mlp_mixer", dict(mlp_kwargs), parameter_count("kan_mixer", **shape, **mixer_kwargs),
                               **shape)
        matched = [mixer("mlp_mixer", kwargs, s) for s in seeds]
    return SplinesPlan(
        kan=kan, mlp=[mixer("mlp_mixer", mlp_kwargs, s) for s in seeds],
        ae=ae.ae_config("kan", ae_dataset, ae_bottleneck, seed=seeds[0], subset=ae_subset,
                        model_kwargs={"hidden": ae_hidden}, **ae_train), matched=matched)


@dataclass
class SplinesStudy:
    """What :func:`splines` returns.

    - ``plan``: the configs (:class:`SplinesPlan`); ``kan_records``, ``mlp_records`` (one per seed)
      and ``ae_record``: their records;
    - ``trained``, ``untrained``: the KAN-Mixers per seed, trained and at initialisation (the same
      config built from the same seed, before any training step); ``mlps``: the MLP-Mixers;
      ``ae_trained``, ``ae_untrained``: the autoencoder;
    - ``probe``, ``ae_probe``: the training images every measure is taken on
      (:func:`kanmix.interpret.probe_images`, one draw for every seed);
    - ``edges``: :func:`kanmix.interpret.edge_table` rows of every model, with ``model``
      (:data:`KAN_MIXER`, :data:`KAN_AE`), ``state`` (``"trained"``, ``"init"``) and ``seed``;
    - ``symbolic``: state -> :func:`kanmix.interpret.symbolic_top` rows of the first seed's models,
      with ``model``;
    - ``maps``: ``"trained"``, ``"init"``, ``"mlp"`` -> :func:`kanmix.interpret.token_maps` per seed;
    - ``pruning_records``: :func:`kanmix.interpret.prune_runs`' records (per seed, all edges kept
      then each kept fraction); ``pruning``: one row of them each, with the parameters kept;
    - ``matched_records``: the parameter-matched MLP-Mixers' records (pruning's control, may be empty);
      ``control_records``: the controls' prune runs (random order; the matched MLP-Mixer by magnitude
      to the KAN-Mixer's kept parameter counts); ``controls``: one row of them each, named by the
      KAN-Mixer's kept fraction it is set against (:data:`RANDOM`, :data:`MAGNITUDE`);
    - ``linear_records``: :func:`kanmix.linearize.linearize_runs`' records (per seed and arm);
    - ``evidence``: the KAN-Mixers' :class:`kanmix.interpret.Evidence` (every measure, with a noise
      band over the seeds); ``ae_evidence``: the autoencoder's (one seed, so no band).
    """

    plan: SplinesPlan
    kan_records: list[dict]
    mlp_records: list[dict]
    ae_record: dict
    trained: list[nn.Module]
    untrained: list[nn.Module]
    mlps: list[nn.Module]
    ae_trained: nn.Module
    ae_untrained: nn.Module
    probe: torch.Tensor
    ae_probe: torch.Tensor
    edges: pd.DataFrame
    symbolic: dict[str, pd.DataFrame]
    maps: dict[str, list[torch.Tensor]]
    pruning_records: list[dict]
    pruning: pd.DataFrame
    matched_records: list[dict]
    control_records: list[dict]
    controls: pd.DataFrame
    linear_records: list[dict]
    evidence: interpret.Evidence
    ae_evidence: interpret.Evidence

    @property
    def seeds(self) -> list[int]:
        """The mixers' seeds, in the plan's order (the first seed's models are the ones drawn)."""
        return [c.seed for c in self.plan.kan]

    @property
    def mixer_records(self) -> list[dict]:
        """The KAN-Mixers' records, then the MLP-Mixers'."""
        return [*self.kan_records, *self.mlp_records]

    @property
    def records(self) -> list[dict]:
        """Every record behind the study: the models', then the pruning, control and linearizing runs'."""
        return [*self.mixer_records, self.ae_record, *self.matched_records, *self.pruning_records,
                *self.control_records, *self.linear_records]


def splines(*, dataset: str, subset: int | None, mixer_kwargs: Mapping, mlp_kwargs: Mapping, train: Mapping,
            seeds: Sequence[int], ae_dataset: str, ae_subset: int | None, ae_bottleneck: int, ae_hidden: int,
            ae_train: Mapping, n_importance: int, n_eval: int, keep_fractions: Sequence[float], finetune_steps: int,
            finetune_lr: float, linearize_arms: Sequence[str] = (), n_top: int, pruning_controls: bool = False,
            available_only: bool = False, workers: int = 1, force: bool = False, executor=None) -> SplinesStudy:
    """Chapter 5's runs and measures in one call (:func:`splines_plan`'s models, arguments alike).

    Every model is a results-store record with its weights kept, so a rerun loads the models
    instead of training them. Every measure is taken on ``n_importance`` training images;
    ``n_top`` edges per layer get symbolic fits (that many most important, that many least
    SiLU-like). Each KAN-Mixer is pruned to each of ``keep_fractions`` (and, as the control, to
    all its edges) and its layers of each of ``linearize_arms`` (:data:`kanmix.linearize.ARMS`)
    are made ``a + b·SiLU(x)``; both are fine-tuned for ``finetune_steps`` steps at
    ``finetune_lr`` (the mixers' batch size) and scored on ``n_eval`` test images.
    ``pruning_controls`` adds the controls of pruning (:func:`pruning_controls_of`). ``available_only``
    trains and computes no pruning, control or linearizing run: the study reads those the store holds
    (a campaign under way); the models themselves must be there.
    """
    from kanmix.linearize import linearize_runs

    for name, value in (("available_only", available_only), ("pruning_controls", pruning_controls)):
        if not isinstance(value, bool):
            raise ParameterError(f"{name}={value!r} must be true or false")
    plan = splines_plan(dataset=dataset, subset=subset, mixer_kwargs=mixer_kwargs, mlp_kwargs=mlp_kwargs, train=train,
                        seeds=seeds, ae_dataset=ae_dataset, ae_subset=ae_subset, ae_bottleneck=ae_bottleneck,
                        ae_hidden=ae_hidden, ae_train=ae_train, pruning_controls=pruning_controls)
    seeds = list(seeds)
    mixer_records = runner.record_many([*plan.kan, *plan.mlp], workers=workers, keep_weights=True, force=force,
                                       executor=executor)
    kan_records, mlp_records = mixer_records[:len(plan.kan)], mixer_records[len(plan.kan):]
    trained = [runner.load_trained(c) for c in plan.kan]
    untrained = [runner.build(c).eval() for c in plan.kan]
    mlps = [runner.load_trained(c) for c in plan.mlp]
    (ae_record,) = runner.record_many([plan.ae], keep_weights=True, force=force, executor=executor)
    ae_trained, ae_untrained = runner.load_trained(plan.ae), runner.build(plan.ae).eval()

    probe = interpret.probe_images(plan.kan[0].split, n_importance)
    ae_probe = interpret.probe_images(plan.ae.split, n_importance)
    states = {"trained": (trained, ae_trained), "init": (untrained, ae_untrained)}
    edges = pd.concat(
        [interpret.edge_table(m, probe).assign(model=KAN_MIXER, state=state, seed=s)
         for state, (family, _) in states.items() for s, m in zip(seeds, family)]
        + [interpret.edge_table(m, ae_probe).assign(model=KAN_AE, state=state, seed=seeds[0])
           for state, (_, m) in states.items()], ignore_index=True)
    symbolic = {
        state: pd.concat([interpret.symbolic_top(m, images, edges[(edges.model == label) & (edges.state == state)
                                                                    & (edges.seed == seeds[0])], n_top)
                          .assign(model=label)
                          for label, m, images in ((KAN_MIXER, family[0], probe), (KAN_AE, ae_model, ae_probe))],
                         ignore_index=True)
        for state, (family, ae_model) in states.items()}
    maps = {"trained": [interpret.token_maps(m, probe) for m in trained],
            "init": [interpret.token_maps(m, probe) for m in untrained],
            "mlp": [interpret.token_maps(m, probe) for m in mlps]}

    finetune = {"lr": finetune_lr, "batch_size": train.get("batch_size", 128)}
    derived = {"n_eval": n_eval, "steps": finetune_steps, "finetune": finetune, "force": force}
    pruning_records = [rec for c in plan.kan for rec in interpret.prune_runs(
        c, [1.0, *keep_fractions], n_importance=n_importance, available_only=available_only, **derived)]
    kept = {keep: interpret.kept_parameters(trained[0], keep) for keep in [1.0, *keep_fractions]}
    pruning = pd.DataFrame([{"seed": r["seed"], "keep": r["config"]["keep"], "edges kept": r["edges_kept"],
                             "parameters kept": kept[r["config"]["keep"]],
                             **{k: r[k] for k in ("accuracy_unpruned", "accuracy_pruned", "accuracy_finetuned",
                                                  "n_eval", "masked_nonzero")}} for r in pruning_records])
    matched_records, control_records, controls = [], [], pd.DataFrame()
    if plan.matched:
        matched_records, control_records, controls = pruning_controls_of(
            plan, keep_fractions, kept, n_importance=n_importance, available_only=available_only, workers=workers,
            executor=executor, **derived)
    every = pd.concat([pruning, controls], ignore_index=True)
    if not every.empty and (every.masked_nonzero != 0).any():
        raise RuntimeError("a removed edge came back during fine-tuning: "
                           f"{every[every.masked_nonzero != 0].to_dict('records')}")
    linear_records = [rec for c in plan.kan for rec in linearize_runs(
        c, linearize_arms, n_fit=n_importance, available_only=available_only, **derived)]

    def of(label: str) -> dict:
        return {"edges": edges[edges.model == label],
                "symbolic": {state: df[df.model == label] for state, df in symbolic.items()}}

    evidence = interpret.evidence(**of(KAN_MIXER), maps=maps, pruning=pruning, controls=controls,
                                  steps=finetune_steps, chance=1 / data.info(dataset).num_classes,
                                  linearized=linear_records)
    return SplinesStudy(plan=plan, kan_records=kan_records, mlp_records=mlp_records, ae_record=ae_record,
                        trained=trained, untrained=untrained, mlps=mlps, ae_trained=ae_trained,
                        ae_untrained=ae_untrained, probe=probe, ae_probe=ae_probe, edges=edges, symbolic=symbolic,
                        maps=maps, pruning_records=pruning_records, pruning=pruning, matched_records=matched_records,
                        control_records=control_records, controls=controls, linear_records=linear_records,
                        evidence=evidence, ae_evidence=interpret.evidence(**of(KAN_AE)))


def pruning_controls_of(plan: SplinesPlan, keep_fractions: Sequence[float], kept: Mapping[float, int], *,
                        n_importance: int, n_eval: int, steps: int, finetune: Mapping, available_only: bool,
                        workers: int, executor, force: bool) -> tuple[list[dict], list[dict], pd.DataFrame]:
    """The controls of the KAN-Mixers' pruning: ``(matched MLP-Mixers' records, control records, controls)``.

    - The same kept fractions of each KAN-Mixer's edges, in a random order (``ranking="random"``):
      what ranking by importance adds over chance.
    - The parameter-matched MLP-Mixer of each seed (trained here, weights kept), pruned by weight
      magnitude to the parameters each KAN-Mixer keeps (``kept``: kept fraction -> parameters; all
      its weights for the fraction 1, fine-tuning alone), fine-tuned the same way: what the same
      parameter budget buys an MLP-Mixer pruned the usual way.

    ``controls`` has one row per record: ``control`` (:data:`RANDOM`, :data:`MAGNITUDE`), ``seed``,
    ``keep`` (the KAN-Mixer's kept fraction it is set against), ``parameters kept``, the accuracies
    unpruned, pruned and fine-tuned, ``n_eval`` and ``masked_nonzero``. ``available_only`` trains and
    computes nothing: it reads what the store holds.
    """
    derived = {"n_importance": n_importance, "n_eval": n_eval, "steps": steps, "finetune": finetune,
               "available_only": available_only, "force": force}
    todo = [c for c in plan.matched if not available_only or runner.stored(c)]
    matched_records = runner.record_many(todo, workers=workers, keep_weights=True, force=force, executor=executor)
    rows, records = [], []
    for c in plan.kan:
        recs = interpret.prune_runs(c, list(keep_fractions), ranking="random", **derived)
        records += recs
        rows += [{"control": RANDOM, "keep": r["config"]["keep"], "parameters kept": kept[r["config"]["keep"]], **_row(r)}
                 for r in recs]
    for c in todo:
        model = runner.load_trained(c)
        # Every KAN-Mixer's kept count, as a kept fraction of this MLP-Mixer's mixing weights (all for 1).
        fractions = {(1.0 if keep == 1 else interpret.keep_for_parameters(model, kept[keep])): keep for keep in kept}
        recs = interpret.prune_runs(c, list(fractions), ranking="magnitude", **derived)
        records += recs
        rows += [{"control": MAGNITUDE, "keep": fractions[r["config"]["keep"]],
                  "parameters kept": interpret.kept_parameters(model, r["config"]["keep"]), **_row(r)} for r in recs]
    return matched_records, records, pd.DataFrame(rows)


def _row(record: dict) -> dict:
    """A prune run's per-seed columns."""
    return {"seed": record["seed"], **{k: record[k] for k in ("accuracy_unpruned", "accuracy_pruned",
                                                               "accuracy_finetuned", "n_eval", "masked_nonzero")}}


# ----------------------------------------------------------------------------- from the chapter's parameters

_PLAN = ("dataset", "subset", "mixer_kwargs", "mlp_kwargs", "train", "seeds", "ae_dataset", "ae_subset",
         "ae_bottleneck", "ae_hidden", "ae_train", "pruning_controls")


def splines_plan_from_chapter(params: Mapping) -> SplinesPlan:
    """:func:`splines_plan` of chapter 5's parameters (as :func:`kanmix.book.plan` resolves them)."""
    return splines_plan(**_chapter_values(params, _PLAN))


def splines_from_chapter(params: Mapping, *, force: bool = False) -> SplinesStudy:
    """:func:`splines` of chapter 5's parameters; the presentation-only ones (``profile``, ``n_panels``) are ignored."""
    return splines(**_chapter_values(params, (*_PLAN, "n_importance", "n_eval", "keep_fractions", "finetune_steps",
                                              "finetune_lr", "linearize_arms", "n_top", "available_only",
                                              "workers")), force=force)


# ----------------------------------------------------------------------------- the chapter's tables


def _mixers(study: SplinesStudy) -> tuple[tuple[str, list[dict]], ...]:
    return (KAN_MIXER, study.kan_records), ("MLP-Mixer", study.mlp_records)


def autoencoder_table(study: SplinesStudy) -> pd.DataFrame:
    """The autoencoder's test MSE, PSNR, parameters and training seconds, in one row named by its bottleneck."""
    m = study.ae_record["metrics"]
    return pd.DataFrame([{"test_mse": m["test_mse"], "psnr": m["psnr"], "parameters": m["params"],
                          "train_seconds": m["train_seconds"]}],
                        index=pd.Index([f"KAN AE, bottleneck {study.plan.ae.bottleneck}"], name="model"))


def layer_labels(study: SplinesStudy) -> dict[tuple[str, str], str]:
    """Every KAN layer of :attr:`SplinesStudy.edges`, ``(model, layer)`` in their order, to its short name on the
    page: ``"block 0, token 1"`` for the first KAN layer of the KAN-Mixer's first token-mixing network (``"channel"``
    for channel mixing), ``"AE encoder.0"`` for an autoencoder layer."""
    out, seen = {}, {}
    for model, layer in dict.fromkeys(zip(study.edges.model, study.edges.layer)):
        parts = layer.split(".")
        if model == KAN_MIXER and len(parts) == 4 and parts[0] == "blocks":  # blocks.<b>.<token|channel>_mix.<i>
            mixer = (parts[1], parts[2])
            seen[mixer] = seen.get(mixer, 0) + 1
            out[(model, layer)] = f"block {parts[1]}, {parts[2].removesuffix('_mix')} {seen[mixer]}"
        else:
            out[(model, layer)] = f"{'AE' if model == KAN_AE else model} {layer}"
    return out


#: The per-layer measures :func:`layer_summary` shows, of :func:`kanmix.interpret.summarize`'s.
SUMMARY_MEASURES = ("spline_share", "silu_like", "monotone", "concentration")


def layer_summary(study: SplinesStudy) -> pd.DataFrame:
    """Per KAN layer (rows, named by :func:`layer_labels`): :data:`SUMMARY_MEASURES` of
    :func:`kanmix.interpret.summarize` of its edges (the mixers' seeds pooled), trained and at initialisation side
    by side (columns: measure, then state)."""
    summary = study.edges.groupby(["model", "layer", "state"], sort=False).apply(interpret.summarize,
                                                                                 include_groups=False)
    wide = summary[list(SUMMARY_MEASURES)].unstack("state")
    wide = wide.reindex(columns=pd.MultiIndex.from_product([SUMMARY_MEASURES, ["trained", "init"]]))
    labels = layer_labels(study)
    wide = wide.loc[list(labels)]
    wide.index = pd.Index(list(labels.values()), name="layer")
    return wide


def symbolic_table(study: SplinesStudy) -> pd.DataFrame:
    """The trained top edges' symbolic fits, per layer (named by :func:`layer_labels`) and edge (``"in → out"``):
    why chosen, importance, best form and its R², and the R² of a line and of ``a + b·SiLU(x)``."""
    df = study.symbolic["trained"]
    labels = layer_labels(study)
    index = pd.MultiIndex.from_arrays([[labels.get((m, layer), layer) for m, layer in zip(df.model, df.layer)],
                                       [f"{i} → {o}" for i, o in zip(df["in"], df["out"])]], names=["layer", "edge"])
    return df[["why", "importance", "best", "r2", "r2_x", "r2_silu"]].set_axis(index)


def symbolic_forms(study: SplinesStudy) -> pd.DataFrame:
    """Per best form (``"no fit"`` below :data:`kanmix.interpret.GOOD_FIT`): how many top edges it names, trained
    and init."""
    forms = pd.DataFrame({state: df.best.where(df.r2 >= interpret.GOOD_FIT, "no fit").value_counts()
                          for state, df in study.symbolic.items()}).fillna(0).astype(int)
    forms.index.name = "best form"
    return forms


def locality_table(study: SplinesStudy) -> pd.DataFrame:
    """Per model and seed, over the output tokens of its token maps: the mean :func:`kanmix.interpret.locality`
    and the mean share of a map held by its top 10% of input tokens."""
    return pd.DataFrame(
        [{"model": label, "seed": s, "locality": float(interpret.locality(m).mean()),
          "top 10% of inputs": float(np.mean([interpret.top_share(row) for row in m.flatten(1)]))}
         for label, key in (("KAN-Mixer, trained", "trained"), ("KAN-Mixer, init", "init"),
                            ("MLP-Mixer, trained", "mlp"))
         for s, m in zip(study.seeds, study.maps[key])]).set_index(["model", "seed"])


def pixel_maps(study: SplinesStudy, layer: str) -> dict[str, torch.Tensor]:
    """State -> the autoencoder's per-pixel importance in its input layer ``layer``: each pixel's edges summed,
    laid out as the image (channels averaged)."""
    shape = study.plan.ae.split.in_shape
    first = study.edges[(study.edges.model == KAN_AE) & (study.edges.layer == layer)]
    return {state: torch.from_numpy(part.groupby("in").importance.sum().sort_index().to_numpy().copy())
            .view(shape).mean(0)
            for state, part in first.groupby("state", sort=False)}


def seed_agreement_table(study: SplinesStudy) -> pd.DataFrame:
    """Per state (the KAN-Mixer trained and at initialisation, the trained MLP-Mixer) and pair of seeds:
    :func:`kanmix.interpret.rank_agreement` of the full token maps and of their means over output tokens."""
    seeds, maps = study.seeds, study.maps
    pairs = [(a, b) for i, a in enumerate(seeds) for b in seeds[i + 1:]]
    return pd.DataFrame(
        [{"pair": f"{a} vs {b}", "state": state, "full token map": rho_map, "mean over outputs": rho_mean}
         for state in ("trained", "init", "mlp")
         for (a, b), rho_map, rho_mean in zip(pairs, interpret.rank_agreement(maps[state]),
                                              interpret.rank_agreement([m.mean(0) for m in maps[state]]))]
    ).set_index(["state", "pair"])


def pruning_means(study: SplinesStudy) -> pd.DataFrame:
    """Per kept fraction (``"0.25"``, ...): the edges and parameters kept and the accuracies unpruned, pruned and
    fine-tuned, means over the seeds; then, where the controls ran, the fine-tuned accuracy of each control
    (:data:`RANDOM`, :data:`MAGNITUDE`) at that fraction (the MLP-Mixer's at the same parameter count)."""
    means = study.pruning.groupby("keep", sort=False)[
        ["edges kept", "parameters kept", "accuracy_unpruned", "accuracy_pruned", "accuracy_finetuned"]].mean()
    if not study.controls.empty:
        tuned = study.controls.pivot_table(index="keep", columns="control", values="accuracy_finetuned", sort=False)
        means = means.join(tuned.rename(columns=lambda c: f"{c}, fine-tuned"))
    means.index = pd.Index([f"{k:g}" for k in means.index], name="fraction kept")
    return means


def cost_table(study: SplinesStudy) -> pd.DataFrame:
    """Per mixer, means over its seeds: test accuracy, parameters, training seconds and images per second."""
    return pd.DataFrame([
        {"model": label, "seeds": len(recs),
         "test_accuracy": np.mean([r["metrics"]["test"]["accuracy"] for r in recs]),
         "parameters": int(np.mean([r["parameters"] for r in recs])),
         "train_seconds": np.mean([r["train_seconds"] for r in recs]),
         "images_per_second": np.mean([r["images_per_second"] for r in recs])}
        for label, recs in _mixers(study)]).set_index("model")


# ----------------------------------------------------------------------------- the chapter's figures, from the study


def drawn_layers(study: SplinesStudy) -> dict[str, str]:
    """The KAN layers chapter 5 draws edge by edge, part -> module name: ``"token"`` and ``"channel"``, the first
    token-mixing and channel-mixing KAN layer of the first seed's KAN-Mixer, and ``"ae"``, the autoencoder's first
    KAN layer (its pixel-side encoder layer, whose inputs are pixels)."""
    mixer = list(grids.kan_layers(study.trained[0]))
    return {"token": next(name for name in mixer if "token_mix" in name),
            "channel": next(name for name in mixer if "channel_mix" in name),
            "ae": next(iter(grids.kan_layers(study.ae_trained)))}


#: The colour of each state's edges in :func:`edge_rows`: trained as in every chapter-5 figure, untrained dark grey.
EDGE_COLOURS = {"trained": "tab:purple", "untrained": "0.35"}


def edge_rows(study: SplinesStudy, part: str) -> list[tuple]:
    """The rows :func:`kanmix.viz.plot_edge_rows` draws for the layer ``part`` of :func:`drawn_layers`, the trained
    model's above its untrained twin's: ``[(state, layer (KANLinear), x (rows, in), x_range, colour), ...]``, with
    ``x`` what reaches the layer on the probe images (:func:`kanmix.grids.layer_inputs`) and ``x_range`` their
    central range (:func:`kanmix.interpret.data_range`), so each edge is drawn over the inputs it really sees."""
    name = drawn_layers(study)[part]
    if part == "ae":
        models, images = (study.ae_trained, study.ae_untrained), study.ae_probe
    else:  # the first seed's KAN-Mixer, as everything chapter 5 draws
        models, images = (study.trained[0], study.untrained[0]), study.probe
    rows = []
    for model, (state, colour) in zip(models, EDGE_COLOURS.items()):
        x = grids.layer_inputs(model, images)[name]
        rows.append((state, grids.kan_layers(model)[name], x, interpret.data_range(x), colour))
    return rows
