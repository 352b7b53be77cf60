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

from kanmix.ae import AE_MODELS, PAPER_RECIPE, model_name
from kanmix.cli._args import (add_running_args, add_split_args, add_training_args, config_errors, datasets_fetched,
                              integer, new_parser, split_options, stored_hashes, training_config)
from kanmix.data import DATASETS
from kanmix.models import model_arguments


def build_parser() -> argparse.ArgumentParser:
    p = new_parser("ae", __doc__)
    p.add_argument("--model", required=True, nargs="+", choices=list(AE_MODELS), metavar="MODEL",
                   help=f"autoencoder(s): {', '.join(AE_MODELS)}")
    p.add_argument("--dataset", required=True, nargs="+", choices=list(DATASETS), metavar="DATASET",
                   help=f"dataset(s): {', '.join(DATASETS)} (svhn needs KANMIX_SVHN_DIR)")
    p.add_argument("--bottleneck", required=True, nargs="+", type=integer, metavar="N",
                   help="latent sizes to sweep (the CNN needs multiples of its latent grid: 9 on 28x28, 16 on 32x32)")
    add_split_args(p)
    p.add_argument("--knn-k", type=integer, default=3, help="neighbours of the KNN classifier")
    add_training_args(p, title="training (defaults: the paper's recipe)",
                      names=("epochs", "batch_size", "lr", "weight_decay", "precision"), defaults=PAPER_RECIPE)

    # Not add_model_args: an autoencoder's --hidden is one width, and it has no mixer flags.
    m = p.add_argument_group("model (defaults: kanmix.models)")
    m.add_argument("--hidden", type=integer, help="kan and mlp: hidden width between pixels and bottleneck")
    m.add_argument("--grid-size", type=integer, help="kan: spline grid intervals")
    m.add_argument("--spline-order", type=integer, help="kan: spline order (3 = cubic)")

    add_running_args(p, force_help="retrain even if records exist")
    return p


def _model_kwargs(args: argparse.Namespace, model: str, parser: argparse.ArgumentParser) -> dict:
    kwargs = {}
    for flag in ("hidden", "grid_size", "spline_order"):
        value = getattr(args, flag)
        if value is None:
            continue
        users = [m for m in AE_MODELS if flag in model_arguments(model_name(m))]
        if model in users:
            kwargs[flag] = value
        elif not any(m in users for m in args.model):
            parser.error(f"argument --{flag.replace('_', '-')}: does not apply to --model {' '.join(args.model)}; "
                         f"it is for {', '.join(users)}")
    return kwargs


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = {"seed": args.seed, "knn_k": args.knn_k, **split_options(args), **training_config(args)}

    import pandas as pd

    from kanmix import ae, results, runner

    cfgs = []
    for d in args.dataset:
        for m in args.model:
            for b in args.bottleneck:
                with config_errors(parser):
                    try:
                        cfgs.append(ae.ae_config(m, d, b, model_kwargs=_model_kwargs(args, m, parser), **options))
                    except ValueError as err:  # say which run of the sweep it is
                        raise ValueError(f"{err} (--model {m}, --dataset {d}, --bottleneck {b})") from None
    if not datasets_fetched("ae", args.dataset):
        return 1

    existed = stored_hashes(cfgs, args.force)
    print(f"{len(cfgs)} autoencoder runs ({len(existed)} already in {results.results_dir()})", file=sys.stderr)
    records = []
    try:
        for cfg in cfgs:
            rec = runner.record(cfg, force=args.force)
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
