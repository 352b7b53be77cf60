"""A chapter's values checked before it runs: :func:`check_chapter` builds every run a chapter
would make from its resolved parameters, and trains nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path


from kanmix import checks, results
from kanmix.errors import KanmixError
from kanmix.splits import Split
from kanmix.train import TrainConfig
from kanmix.studies._autoencoders import _ae_args, autoencoders_plan
from kanmix.studies._common import (
    ParameterError, RunChecks, _distinct, _is_int, _positive_ints, about, one_line, one_thread)
from kanmix.studies._frontier import _frontier_args, frontier_plan
from kanmix.studies._mixers import mixers_plan_from_chapter
from kanmix.studies._parity import _other_chapter, ae_parity_runs, layer_run, parity_plan

# ----------------------------------------------------------------------------- a chapter's values, before it runs
# ``python -m kanmix.book run`` checks every parameter's name and type against the chapter's
# parameters cell, then calls check_chapter with the resolved values: each chapter builds the
# configs of all the runs it would make (the same functions it calls itself) and checks what the
# values must satisfy beyond their type, so that a chapter either runs or stops in one line
# before anything trains. A chapter without an entry here would be checked for types only; the
# book's tests require one for every chapter.


def _check_kan(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 1 trains nothing; its lists must not be empty, and every width, grid size and degree >= 1."""
    _positive_ints("grid_sizes", params["grid_sizes"])
    _positive_ints("orders", params["orders"])
    widths = params["widths"]
    if not isinstance(widths, list) or not widths or not all(
            isinstance(w, (list, tuple)) and len(w) == 2 and all(_is_int(v) and v >= 1 for v in w) for w in widths):
        raise ParameterError(f"widths={widths!r} must be a non-empty list of [in, out] pairs of integers >= 1")
    checks.integer("batch", params["batch"])


def _check_layer(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 2: its KAN (trained first, weights kept), the benchmark, and the precision-parity runs."""
    from kanmix.bench import kan as bench_kan

    hidden = params["hidden"]
    if not (isinstance(hidden, list) and len(hidden) == 1):
        raise ParameterError(f"hidden={hidden!r} must hold one width: the chapter reads a KAN of two layers "
                             "(pixels -> hidden -> classes)")
    cfg = layer_run(params)
    classes = cfg.split.info.num_classes
    if _is_int(hidden[0]) and not 1 <= params["n_edges"] <= hidden[0] * classes:
        raise ParameterError(f"n_edges={params['n_edges']} must be in 1..{hidden[0] * classes}, the number of edges "
                             f"of the second layer ({hidden[0]} -> {classes})")
    checks.integer("n_probe", params["n_probe"], 2)  # a grid update places its knots on at least 2 inputs
    if params["bench_json"]:
        path = Path(root or ".") / params["bench_json"]
        if not path.is_file():
            raise ParameterError(f"bench_json={params['bench_json']!r} is not a file; write one with "
                                 "`python -m kanmix.bench kan --json PATH`, or leave bench_json unset to measure here")
    else:
        shapes = params["bench_shapes"]
        if not isinstance(shapes, list) or not shapes or not all(
                isinstance(s, (list, tuple)) and len(s) == 3 and all(_is_int(v) and v >= 1 for v in s) for s in shapes):
            raise ParameterError(f"bench_shapes={shapes!r} must be a non-empty list of [rows, in, out] of integers >= 1")
        checks.integer("bench_repeats", params["bench_repeats"])
        dtypes = params["bench_dtypes"]
        if not dtypes or any(d not in bench_kan.DTYPES for d in dtypes):
            raise ParameterError(f"bench_dtypes={dtypes!r} must list some of {', '.join(bench_kan.DTYPES)}")
        _distinct("bench_dtypes", dtypes)
    checks.integer("parity_folds", params["parity_folds"], 2)
    with about("parity_subset"):
        Split(dataset=params["dataset"], size=32, subset=params["parity_subset"])
    with about("parity_train"):
        TrainConfig.from_dict(params["parity_train"])
    checks.integer("workers", params["workers"])
    run_checks = RunChecks()
    run_checks.add([cfg], model="hidden/grid_size/spline_order (the KAN)", keep_weights=True)
    run_checks.verify()
    parity_plan(dataset=params["dataset"], models=params["parity_models"], folds=params["parity_folds"],
                train=params["parity_train"], subset=params["parity_subset"], name="parity_models")
    if not isinstance(params["available_only"], bool):
        raise ParameterError(f"available_only={params['available_only']!r} must be true or false")
    if not (isinstance(params["parity_ae_margin"], (int, float)) and 0 < params["parity_ae_margin"] < 1):
        raise ParameterError(f"parity_ae_margin={params['parity_ae_margin']!r} must be a fraction in (0, 1)")
    spec = params["parity_ae"]
    if not isinstance(spec, Mapping) or set(spec) != {"dataset", "bottleneck"}:
        raise ParameterError(f"parity_ae={spec!r} must be {{'dataset': ..., 'bottleneck': ...}}")
    ae_parity_runs(_other_chapter(params, "04"), **spec)


def _check_mixers(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 3: every run of its study; its paired tests need two models or more in the main CV. Then its random
    search: every ``search_*`` value and, unless ``search_available_only``, every planned trial's split and model."""
    from kanmix.studies._search import search_plan_from_chapter

    if not isinstance(params["efficiency_available_only"], bool):
        raise ParameterError(f"efficiency_available_only={params['efficiency_available_only']!r} must be true or false")
    plan = mixers_plan_from_chapter(params)
    labels = list(plan.specs[params["datasets"][0]])
    if len(labels) < 2:
        raise ParameterError(f"models={params['models']!r}: the chapter compares models fold by fold and needs two "
                             f"or more, counting the MLP-Mixers param_matched and time_matched_epochs add; got {labels}")
    search_plan_from_chapter(params, check=params["search_available_only"] is not True)


def _check_autoencoders(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 4: the sweep's runs and its controls' (every value checked; the models built and checked unless
    ``available_only``, which reads a campaign under way); its tables name the autoencoders by their short names."""
    short = ("kan", "mlp", "cnn")
    odd = [m for m in params["models"] if m not in short]
    if odd:
        raise ParameterError(f"models: {odd[0]!r} is not one of this chapter's autoencoders {', '.join(short)}")
    args = _ae_args(params)
    checks.integer("workers", args.pop("workers"))
    args.pop("require_beat_mean")
    available_only = args.pop("available_only")
    if not isinstance(available_only, bool):
        raise ParameterError(f"available_only={available_only!r} must be true or false")
    autoencoders_plan(**args, check=not available_only)


def _check_splines(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 5: the mixers and the autoencoder it trains (weights kept), then what it measures on them."""
    from kanmix.studies._splines import splines_plan_from_chapter

    seeds = _positive_ints("seeds", params["seeds"], minimum=0)
    _distinct("seeds", seeds)
    if len(seeds) < 2:
        raise ParameterError(f"seeds={seeds!r} must hold at least 2 seeds: the chapter compares the seeds' maps")
    with about("train"):
        TrainConfig.from_dict(params["train"])
    Split(dataset=params["dataset"], size=32, subset=params["subset"])
    for name in ("pruning_controls", "available_only"):
        if not isinstance(params[name], bool):
            raise ParameterError(f"{name}={params[name]!r} must be true or false")
    with about("ae_dataset/ae_subset/ae_bottleneck/ae_hidden/ae_train (the autoencoder)"), one_thread():
        runs = splines_plan_from_chapter(params)
    for name in ("n_importance", "n_eval", "finetune_steps", "n_panels", "n_top", "workers"):
        checks.integer(name, params[name])
    from kanmix.linearize import ARMS

    arms = params["linearize_arms"]
    if not isinstance(arms, (list, tuple)) or any(a not in ARMS for a in arms):
        raise ParameterError(f"linearize_arms={arms!r} must list arms among {list(ARMS)}")
    _distinct("linearize_arms", list(arms))
    for keep in params["keep_fractions"]:
        if not 0 < keep <= 1:
            raise ParameterError(f"keep_fractions={params['keep_fractions']!r}: {keep!r} is not a fraction in (0, 1]")
    with about("finetune_lr"):  # the fine-tuning's options, as kanmix.interpret.prune_runs makes them
        TrainConfig.from_dict({"lr": params["finetune_lr"], "warmup": 0.0,
                               "batch_size": params["train"].get("batch_size", 128), "epochs": 1})
    run_checks = RunChecks()
    run_checks.add(runs.kan, model="mixer_kwargs", keep_weights=True)
    run_checks.add(runs.mlp, model="mlp_kwargs", keep_weights=True)
    run_checks.add([runs.ae], model="ae_bottleneck/ae_hidden", keep_weights=True)
    if runs.matched and not params["available_only"]:
        run_checks.add(runs.matched, model="mlp_kwargs (scaled to the KAN-Mixer's parameters)", keep_weights=True)
    run_checks.verify()


def _check_findings(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """The findings page builds chapters 2-6's studies from their parameters under its profile: their checks."""
    from kanmix import book

    profile = params["profile"]
    read = {"02": "02_layer", "03": "03_kan_mixers", "04": "04_autoencoders", "05": "05_splines",
            "06": "06_frontier"}
    for number, values in book.chapter_parameters(profile, list(read)).items():
        try:
            check_chapter(read[number], values, root=root, checked=checked)
        except (ValueError, TypeError, LookupError, KanmixError) as err:
            raise ParameterError(f"{read[number]}'s parameters under profile {profile!r}, which this page reads: "
                                 f"{one_line(err)}") from None


def _check_frontier(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 6: the plan of its grid and sweep (every value, split and model), nothing trained."""
    args = _frontier_args(params)
    checks.integer("workers", args.pop("workers"))
    seeds = args.pop("frontier_seeds")
    if not isinstance(seeds, (list, tuple)) or not all(_is_int(v) and v >= 0 for v in seeds) \
            or args["seed"] in seeds:
        raise ParameterError(f"frontier_seeds={seeds!r} must be a list of seeds >= 0 other than seed={args['seed']!r}")
    _distinct("frontier_seeds", list(seeds))
    checks.integer("seeded_points", args.pop("seeded_points"), 0)
    checks.integer("timing_steps", args.pop("timing_steps"))
    args.pop("available_only")
    plan = frontier_plan(**args)
    if not params["available_only"]:
        checks_ = RunChecks()
        plan.queue(checks_)
        checks_.verify()


#: chapter stem -> its check of the resolved parameters (see :func:`check_chapter`).
CHAPTER_CHECKS: dict[str, Callable[[Mapping, Path | None, set | None], None]] = {
    "00_findings": _check_findings, "01_kan": _check_kan, "02_layer": _check_layer, "03_kan_mixers": _check_mixers,
    "04_autoencoders": _check_autoencoders, "05_splines": _check_splines, "06_frontier": _check_frontier}


def check_chapter(stem: str, params: Mapping, *, root: Path | None = None, checked: set | None = None) -> bool:
    """Build every run chapter ``stem`` would make from ``params`` (all its parameters, resolved) and check them.

    Nothing trains: configs are built (each validates itself), and for the runs not stored yet
    the data splits and models are checked (:class:`RunChecks`). Raises the first problem as one
    line naming the parameter (a :class:`ParameterError`, or the config's own ``ValueError``);
    ``root`` is where the chapter runs (relative paths). ``checked`` collects the chapters and
    values already checked, so that a page reading other chapters (the findings) does not check
    them twice in one book run. False when the chapter has no check.
    """
    check = CHAPTER_CHECKS.get(stem)
    if check is None:
        return False
    key = (stem, results.canonical_json(dict(params)))
    if checked is not None and key in checked:
        return True
    check(params, root, checked)
    if checked is not None:
        checked.add(key)
    return True
