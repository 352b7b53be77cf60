"""`python -m kanmix cv`: stratified k-fold cross-validation of one or more classifiers.

    python -m kanmix cv --model kan_mixer --dataset fashion_mnist --folds 2 --epochs 1 --subset 2000
    python -m kanmix cv --model kan_mixer mlp_mixer --dataset fashion_mnist --size 32 --folds 5 --repeats 2

A thin layer over :func:`kanmix.cv.run_folds`. Every fold of every model is a results-store
record: rerunning reuses finished folds, an interrupted study resumes at the first missing
one. Prints the per-fold table, the per-model summary (mean +- std, 95% CI) and, for several
models, the paired comparisons of their validation accuracies (Wilcoxon, Nadeau-Bengio, Holm).
"""

from __future__ import annotations

import argparse
import sys

from kanmix.cli.train import (_augment, _fraction, _non_negative_float, _non_negative_int, _Parser,
                              _positive_float, _positive_int, _widths, config_from_args)
from kanmix.data import DATASETS
from kanmix.models import CLASSIFIERS


def _folds(text: str) -> int:
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m kanmix cv", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, nargs="+", choices=list(CLASSIFIERS), metavar="MODEL",
                   help=f"classifier(s) to cross-validate on the same folds: {', '.join(CLASSIFIERS)}")
    p.add_argument("--dataset", required=True, choices=list(DATASETS),
                   help="dataset (fetched with `kanmix data fetch`)")
    p.add_argument("--folds", type=_folds, default=5, help="K of stratified K-fold (>= 2)")
    p.add_argument("--repeats", type=_positive_int, default=1, help="repeated K-fold: independent reshuffles")
    p.add_argument("--fold-seed", type=_non_negative_int, default=0, help="seed of the fold assignment")
    p.add_argument("--size", type=_positive_int, default=None, help="resize images to SIZE x SIZE (the paper used 32)")
    p.add_argument("--subset", type=_positive_int, default=None,
                   help="cross-validate on a stratified subset of N images")
    p.add_argument("--test-subset", default=None,
                   help="test images to score: an integer, or 'all' (default: same fraction as --subset)")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="seed of init, shuffling, augmentation")

    t = p.add_argument_group("training (as `kanmix train`)")
    t.add_argument("--epochs", type=_positive_int, default=10)
    t.add_argument("--batch-size", type=_positive_int, default=128)
    t.add_argument("--lr", type=_positive_float, default=1e-3)
    t.add_argument("--weight-decay", type=_non_negative_float, default=0.01)
    t.add_argument("--warmup", type=_non_negative_float, default=1.0, help="warm-up epochs before the cosine decay")
    t.add_argument("--label-smoothing", type=_fraction, default=0.0)
    t.add_argument("--augment", type=_augment, default=None, metavar="{none,paper,hflip=P,rotate=DEG,crop=PAD}",
                   help="data augmentation ('paper' = horizontal flip + 10 degree rotation)")

    m = p.add_argument_group("model (shared by all --model; defaults: the paper configuration)")
    m.add_argument("--patch", type=_positive_int, help="mixers: patch side; must divide the image side")
    m.add_argument("--dim", type=_positive_int, help="mixers: token width")
    m.add_argument("--depth", type=_positive_int, help="mixers: number of mixer blocks")
    m.add_argument("--token-hidden", type=_positive_int, help="mixers: hidden width of token mixing")
    m.add_argument("--channel-hidden", type=_positive_int, help="mixers: hidden width of channel mixing")
    m.add_argument("--dropout", type=_fraction, help="mixers and mlp: dropout rate in [0, 1)")
    m.add_argument("--hidden", type=_widths, help="mlp and kan: hidden widths, e.g. 256 or 256,128")
    m.add_argument("--grid-size", type=_positive_int, help="KAN models: spline grid intervals")
    m.add_argument("--spline-order", type=_positive_int, help="KAN models: spline order (3 = cubic)")

    r = p.add_argument_group("running")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: on in an interactive terminal, off under CI)")
    r.add_argument("--force", action="store_true", help="retrain folds even if their records exist")
    return p


def _model_spec(args: argparse.Namespace, model: str, parser: argparse.ArgumentParser) -> dict:
    # kanmix train's checks (patch divides the image, flags that apply to the model, subset
    # sizes) run per model; a model flag that fits only some of the models is an error.
    ns = argparse.Namespace(**vars(args))
    ns.model, ns.fold, ns.repeat = model, 0, 0
    cfg = config_from_args(ns, parser)
    return {"model": model, "model_kwargs": cfg["model_kwargs"], "base": cfg}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(set(args.model)) != len(args.model):
        parser.error(f"argument --model: lists a model twice: {' '.join(args.model)}")
    specs = {m: _model_spec(args, m, parser) for m in args.model}
    base = specs[args.model[0]]["base"]
    common = {"train": base["train"], "size": base["size"], "subset": base["subset"],
              "test_subset": base["test_subset"], "seed": base["seed"]}

    import pandas as pd

    from kanmix import cv, data, results, stats

    models = {m: {"model": m, "model_kwargs": s["model_kwargs"]} for m, s in specs.items()}
    try:
        runs = cv.plan(models, args.dataset, folds=args.folds, repeats=args.repeats, fold_seed=args.fold_seed,
                       force=args.force, **common)
        if args.device == "cuda":
            from kanmix.train import resolve_device
            resolve_device("cuda")
    except ValueError as err:
        parser.error(str(err))
    if args.dataset != "svhn" and not data.is_fetched(args.dataset):
        print(f"kanmix cv: error: dataset {args.dataset!r} is not fetched; run `python -m kanmix data fetch "
              f"{args.dataset}` first", file=sys.stderr)
        return 1

    existed = {results.config_hash(c) for _, c in runs if results.record_path(c).exists() and not args.force}
    print(f"{len(runs)} fold runs ({len(existed)} already in {results.results_dir()}); "
          f"{args.folds}-fold x {args.repeats} on {args.dataset}", file=sys.stderr)

    def on_record(label: str, rec: dict) -> None:
        f = rec["config"]["fold"]
        how = "reused" if rec["hash"] in existed else f"trained in {rec['train_seconds']:.1f} s"
        print(f"  {label} repeat {f['repeat']} fold {f['fold']}: val acc {rec['metrics']['val']['accuracy']:.4f}  "
              f"test acc {rec['metrics']['test']['accuracy']:.4f}  ({how})", file=sys.stderr, flush=True)

    device = None if args.device == "auto" else args.device
    try:
        labelled = cv.run_plan(runs, force=args.force, progress=args.progress, device=device, on_record=on_record)
    except KeyboardInterrupt:
        print("\ninterrupted; rerun the same command to resume at the first missing fold", file=sys.stderr)
        return 130

    df = cv.table(labelled)
    df["reused"] = df["hash"].isin(existed)
    cols = ["model", "repeat", "fold", "val_accuracy", "val_f1", "test_accuracy", "test_f1", "train_seconds",
            "images_per_second", "params", "n_train", "n_val", "n_test", "reused", "hash"]
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.4f}".format):
        print("per-fold results")
        print(df[cols].to_string(index=False))
        summ = cv.summary(df, metrics=("val_accuracy", "val_f1", "test_accuracy", "test_f1", "train_seconds"))
        summ["mean +- std"] = [f"{a:.4f} +- {b:.4f}" for a, b in zip(summ["mean"], summ["std"])]
        summ["95% CI"] = [f"[{a:.4f}, {b:.4f}]" for a, b in zip(summ.ci_low, summ.ci_high)]
        print("\nper-model summary (95% CI: Nadeau-Bengio corrected for accuracy/F1)")
        print(summ[["model", "metric", "n", "mean +- std", "95% CI"]].to_string(index=False))
        if len(specs) > 1:
            pairs = stats.all_pairs(df, metric="val_accuracy", folds=args.folds)
            print("\npaired comparisons of val accuracy (a - b)")
            print(pairs[["a", "b", "n", "mean_diff", "ci_low", "ci_high", "p_nb", "p_nb_holm", "p_wilcoxon",
                         "p_wilcoxon_holm", "p_floor", "d_z"]].to_string(index=False))
    print(f"\nrecords: {results.results_dir() / cv.experiment.KIND}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
