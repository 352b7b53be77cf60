"""Training throughput of the paper-configuration KAN-Mixer, the MLP-Mixer and a reference-layer KAN-Mixer.

    python -m kanmix.bench mixer [--device cpu|cuda] [--precision fp32|bf16|auto|both] [--batch-size B] [--steps N]

All three are :class:`kanmix.models.Mixer` in the paper configuration (32x32x3 images,
patch 4, dim 256, depth 8, token/channel hidden 128/256); they differ only in the mixing
layers: kanmix's :class:`~kanmix.kan.KANLinear`, GELU MLPs, or
:class:`~kanmix.kan.PlainKANLinear` (the plain efficient-KAN computation).
Each is timed through :func:`kanmix.train.fit` itself (AdamW, cross-entropy, at the chosen
precision: ``auto`` is bf16 autocast on CUDA and on CPUs with fast bf16 matmul, ``both`` times
fp32 and bf16 side by side), so the numbers are those of the real training loop on random
uint8 images: an untimed
warm-up (which also triggers any compilation), then ``repeats`` timed runs of ``steps``
batches per model, taken in turns; the best run counts.

The CPU default batch is 64: the book trains at 128, but there the reference-layer model needs
more than the 24 GiB of the project's CPU machines (it was killed for memory), while at 64 it
peaks near 15 GiB. Its materialised bases make it memory-bound as the batch grows, so the ratio
depends on the batch: pass ``--batch-size 16`` to see the small-batch end, where it is smallest.
"""

from __future__ import annotations

import sys
import time

import torch

from kanmix.cli._args import Parser
from kanmix.kan import PlainKANLinear
from kanmix.models import build_model, count_parameters
from kanmix.runtime import PRECISIONS, resolve_device, resolve_precision, seed_everything
from kanmix.train import TrainConfig, fit

IN_SHAPE = (3, 32, 32)
#: Mixer widths to time: the paper's configuration (kanmix.models.Mixer's defaults) and the book's
#: cpu profile (book/params/cpu.yaml, chapter 3).
WIDTHS = {"paper": {}, "cpu": {"patch": 4, "dim": 64, "depth": 2, "token_hidden": 32, "channel_hidden": 64}}
CONTENDERS = {
    "KAN-Mixer (kanmix KANLinear)": dict(name="kan_mixer"),
    "MLP-Mixer": dict(name="mlp_mixer"),
    "KAN-Mixer (reference layer)": dict(name="kan_mixer", layer=PlainKANLinear),
}


def build(spec: dict) -> tuple[torch.nn.Module, float]:
    """The contender's model (seeded init) and the seconds its construction took."""
    seed_everything(0)
    t0 = time.perf_counter()
    model = build_model(spec["name"], in_shape=IN_SHAPE, num_classes=10,
                        **{k: v for k, v in spec.items() if k != "name"})
    return model, time.perf_counter() - t0


def measure(models: dict[str, torch.nn.Module], device: torch.device, batch_size: int, steps: int,
            warmup: int, repeats: int, precision: str = "fp32", *, in_shapes: dict[str, tuple] | None = None,
            augment=None) -> dict[str, dict]:
    """Training images/s of each model: the best of ``repeats`` timed runs of ``steps`` batches.

    The contenders take turns (round-robin) so that a slow spell of a shared machine does not
    land on one of them only; the best run is the one least disturbed by other work. Each model
    reads random uint8 images of its ``in_shapes`` entry (default :data:`IN_SHAPE`), augmented
    as ``augment`` (a :class:`kanmix.train.TrainConfig` ``augment``) like a real run.
    """
    gen = torch.Generator().manual_seed(0)
    n = batch_size * max(steps, warmup)
    shapes = {name: tuple((in_shapes or {}).get(name, IN_SHAPE)) for name in models}
    images = {shape: torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=gen)
              for shape in set(shapes.values())}
    labels = torch.randint(0, 10, (n,), generator=gen)
    cfg = dict(epochs=1, batch_size=batch_size, warmup=0.0, device=str(device), progress=False,
               checkpoint_every_s=None, precision=precision, augment=augment)
    for name, model in models.items():
        if warmup:  # first calls allocate, compile and fill caches
            fit(model, images[shapes[name]][:batch_size * warmup], labels[:batch_size * warmup], cfg)
    runs: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            out = fit(model, images[shapes[name]][:batch_size * steps], labels[:batch_size * steps], cfg)
            runs[name].append(out["images_per_second"])
    return {name: {"images_per_second": max(r), "runs": r, "parameters": count_parameters(models[name])}
            for name, r in runs.items()}


def table(by_precision: dict[str, dict[str, dict]], reference: str) -> str:
    """Images/s of each model at each precision (``{precision: measure(...)}``), and each one's
    speed relative to ``reference``; with fp32 and bf16 both measured, also bf16 over fp32."""
    first = next(iter(by_precision.values()))
    width = max(map(len, first))
    head = [f"{'model':<{width}}", f"{'params':>11}"]
    for p in by_precision:
        head += [f"{p + ' img/s':>11}", f"{'vs reference':>12}"]
    both = {"fp32", "bf16"} <= set(by_precision)
    if both:
        head.append(f"{'bf16/fp32':>9}")
    lines = ["  ".join(head), "  ".join("-" * len(h) for h in head)]
    for name, r in first.items():
        cells = [f"{name:<{width}}", f"{r['parameters']:>11,}"]
        for rows in by_precision.values():
            ips = rows[name]["images_per_second"]
            cells += [f"{ips:>11.1f}", f"{ips / rows[reference]['images_per_second']:>11.2f}x"]
        if both:
            speedup = by_precision["bf16"][name]["images_per_second"] / by_precision["fp32"][name]["images_per_second"]
            cells.append(f"{speedup:>8.2f}x")
        lines.append("  ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = Parser(prog="python -m kanmix.bench mixer", description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                   help="default: CUDA if available, else CPU")
    p.add_argument("--batch-size", type=int, default=None, help="default: 64 on CPU, 256 on CUDA")
    p.add_argument("--steps", type=int, default=None, help="training steps per timed run (default: 1 on CPU, 20 on CUDA)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per model, best kept (default: 3)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 1 on CPU, 5 on CUDA)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--widths", choices=list(WIDTHS), default="paper",
                   help="the mixers' widths: the paper's (patch 4, dim 256, 8 blocks) or the book's cpu profile "
                        "(patch 4, dim 64, 2 blocks)")
    p.add_argument("--precision", choices=[*PRECISIONS, "both"], default=TrainConfig.precision,
                   help="training precision (auto: bf16 on CUDA and on CPUs with fast bf16 matmul, else fp32); "
                        "both: fp32 and bf16 side by side")
    args = p.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        p.error(str(err))
    precisions = ["fp32", "bf16"] if args.precision == "both" else [resolve_precision(args.precision, device)]
    cuda = device.type == "cuda"
    batch = args.batch_size or (256 if cuda else 64)
    steps = args.steps or (20 if cuda else 1)
    repeats = args.repeats
    warmup = args.warmup if args.warmup is not None else (5 if cuda else 1)
    for name, value in (("--batch-size", batch), ("--steps", steps), ("--repeats", repeats)):
        if value < 1:
            p.error(f"argument {name}: must be a positive integer, got {value}")
    if args.threads:
        torch.set_num_threads(args.threads)
    where = torch.cuda.get_device_name(device) if cuda else f"CPU, {torch.get_num_threads()} threads"
    print(f"training throughput, {args.widths}-width mixers: batch {batch}, best of {repeats} runs of {steps} "
          f"step(s) after {warmup} warm-up step(s), {where}, precision {' and '.join(precisions)}", file=sys.stderr)
    models = {}
    for name, spec in CONTENDERS.items():
        models[name], seconds = build({**spec, **WIDTHS[args.widths]})
        print(f"  built {name} in {seconds:.1f} s", file=sys.stderr, flush=True)
    by_precision = {}
    for precision in precisions:
        by_precision[precision] = measure(models, device, batch, steps, warmup, repeats, precision)
        for name, r in by_precision[precision].items():
            print(f"  {name} ({precision}): runs {', '.join(f'{v:.1f}' for v in r['runs'])} images/s", file=sys.stderr)
    print(f"training images/s, {args.widths}-width mixers, batch {batch}, {where}")
    print(table(by_precision, reference="KAN-Mixer (reference layer)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
