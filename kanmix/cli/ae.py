"""`python -m kanmix ae`: autoencoder bottleneck sweep, with KNN accuracy on the latents.

    python -m kanmix ae --model kan --dataset mnist --bottleneck 16 32 --epochs 1 --subset 2000
    python -m kanmix ae --model kan cnn mlp --dataset mnist cifar10 --bottleneck 18 36 72

A thin layer over :func:`kanmix.ae.sweep`: every (model, dataset, bottleneck) is one
results-store record, so a rerun reuses finished runs. The table shows test MSE (on the
models' [-1, 1] input scale), PSNR (dB, [0, 1] pixel scale), KNN accuracy fit on training
latents and scored on test latents, and the authors' KNN variant (fit and scored on the test
set; on reconstructions for the KAN autoencoder) side by side.
"""

from __future__ import annotations

import argparse
import sys

from kanmix.ae import AE_MODELS, PAPER_RECIPE
from kanmix.cli.train import _non_negative_float, _non_negative_int, _Parser, _positive_float, _positive_int
from kanmix.data import DATASETS


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m kanmix ae", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, nargs="+", choices=list(AE_MODELS), metavar="MODEL",
                   help=f"autoencoder(s): {', '.join(AE_MODELS)}")
    p.add_argument("--dataset", required=True, nargs="+", choices=list(DATASETS), metavar="DATASET",
                   help=f"dataset(s): {', '.join(DATASETS)} (svhn needs KANMIX_SVHN_DIR)")
    p.add_argument("--bottleneck", required=True, nargs="+", type=_positive_int, metavar="N",
                   help="latent sizes to sweep (the CNN needs multiples of its latent grid: 9 on 28x28, 16 on 32x32)")
    p.add_argument("--size", type=_positive_int, default=None, help="resize images to SIZE x SIZE")
    p.add_argument("--subset", type=_positive_int, default=None, help="train on a stratified subset of N images")
    p.add_argument("--test-subset", default=None,
                   help="test images to score: an integer, or 'all' (default: same fraction as --subset)")
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.add_argument("--knn-k", type=_positive_int, default=3, help="neighbours of the KNN classifier")

    t = p.add_argument_group("training (defaults: the paper's recipe)")
    t.add_argument("--epochs", type=_positive_int, default=PAPER_RECIPE["epochs"])
    t.add_argument("--batch-size", type=_positive_int, default=PAPER_RECIPE["batch_size"])
    t.add_argument("--lr", type=_positive_float, default=PAPER_RECIPE["lr"])
    t.add_argument("--weight-decay", type=_non_negative_float, default=PAPER_RECIPE["weight_decay"])

    m = p.add_argument_group("model (defaults: kanmix.models)")
    m.add_argument("--hidden", type=_positive_int, help="kan and mlp: hidden width between pixels and bottleneck")
    m.add_argument("--grid-size", type=_positive_int, help="kan: spline grid intervals")
    m.add_argument("--spline-order", type=_positive_int, help="kan: spline order (3 = cubic)")

    r = p.add_argument_group("running")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: on in an interactive terminal, off under CI)")
    r.add_argument("--force", action="store_true", help="retrain even if records exist")
    return p


def _model_kwargs(args: argparse.Namespace, model: str, parser: argparse.ArgumentParser) -> dict:
    kwargs = {}
    for flag, users in (("hidden", ("kan", "mlp")), ("grid_size", ("kan",)), ("spline_order", ("kan",))):
        value = getattr(args, flag)
        if value is None:
            continue
        if model in users:
            kwargs[flag] = value
        elif not any(m in users for m in args.model):
            parser.error(f"argument --{flag.replace('_', '-')}: does not apply to --model {' '.join(args.model)}; "
                         f"it is for {', '.join(users)}")
    return kwargs


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    test_subset = args.test_subset
    if test_subset is not None and test_subset != "all":
        if not test_subset.isdigit() or int(test_subset) < 10:
            parser.error(f"argument --test-subset: must be 'all' or an integer >= 10, got {test_subset!r}")
        test_subset = int(test_subset)
    common = {"epochs": args.epochs, "seed": args.seed, "subset": args.subset, "test_subset": test_subset,
              "knn_k": args.knn_k, "size": args.size, "batch_size": args.batch_size, "lr": args.lr,
              "weight_decay": args.weight_decay}

    import pandas as pd

    from kanmix import ae, data, results

    runs = [(m, d, b) for d in args.dataset for m in args.model for b in args.bottleneck]
    cfgs = []
    try:
        for m, d, b in runs:
            try:
                cfgs.append(ae.ae_config(m, d, b, model_kwargs=_model_kwargs(args, m, parser), **common))
            except ValueError as err:
                if str(err).startswith("bottleneck="):
                    raise ValueError(f"argument --bottleneck: {err} (--model {m}, --dataset {d})") from err
                raise
        if args.device == "cuda":
            from kanmix.train import resolve_device
            resolve_device("cuda")
    except ValueError as err:
        parser.error(str(err))
    for d in args.dataset:
        if d == "svhn":
            continue
        if not data.is_fetched(d):
            print(f"kanmix ae: error: dataset {d!r} is not fetched; run `python -m kanmix data fetch {d}` first",
                  file=sys.stderr)
            return 1

    existed = {results.config_hash(c) for c in cfgs if results.record_path(c).exists() and not args.force}
    print(f"{len(cfgs)} autoencoder runs ({len(existed)} already in {results.results_dir()})", file=sys.stderr)
    device = None if args.device == "auto" else args.device
    records = []
    try:
        for cfg in cfgs:
            rec = ae.ae_run(cfg, force=args.force, progress=args.progress, device=device)
            records.append(rec)
            r = ae.row(rec)
            how = "reused" if rec["hash"] in existed else f"trained in {r['train_seconds']:.1f} s"
            print(f"  {r['model']} {r['dataset']} bottleneck {r['bottleneck']}: test MSE {r['test_mse']:.4f}  "
                  f"PSNR {r['psnr']:.2f} dB  KNN {r['knn_accuracy']:.4f}  ({how})", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted; rerun the same command to resume at the first missing run", file=sys.stderr)
        return 130

    df = pd.DataFrame([ae.row(r) for r in records], columns=ae.COLUMNS)
    df["reused"] = df["hash"].isin(existed)
    cols = ["model", "dataset", "bottleneck", "params", "test_mse", "psnr", "knn_accuracy", "knn_authors",
            "knn_authors_features", "train_seconds", "images_per_second", "reused", "hash"]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"\ntest_mse: [-1, 1] scale; psnr: dB on the [0, 1] scale; knn_accuracy: k={args.knn_k}, fit on train "
          "latents, scored on test latents;\nknn_authors: the authors' protocol, fit and scored on the test set "
          "itself (each point votes for itself)")
    print(f"records: {results.results_dir() / 'ae'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
