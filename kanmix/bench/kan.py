"""`python -m kanmix.bench kan`: forward+backward time of one KAN layer, side by side.

For each shape ``(rows, in -> out)`` it times, in one run and interleaved round by round (so
load from other processes hits every contender alike), the median of
``y = layer(x); y.sum().backward()`` with gradients for the input and every parameter:

- ``kanmix``: :class:`kanmix.kan.KANLinear`;
- ``reference``: the same layer computed by its ``plain_forward``, the efficient-KAN formula
  (:class:`kanmix.kan.PlainKANLinear`);
- ``limit``: the dense limit, a precomputed feature matrix ``(rows, in * (G + k + 1))`` times a
  weight, forward and backward with gradients for both: three GEMMs and nothing else;
- ``linear``: ``nn.Linear(in, out)``;
- ``flashkan`` / ``inkan``: the PyPI B-spline KAN layers, when installed (``pip install .[bench]``).

``--dtype bfloat16`` times mixed-precision training as a user runs it: float32 parameters and
input, the forward under ``torch.autocast(dtype=torch.bfloat16)`` (backward outside it), for
every contender but the limit, whose three GEMMs run on bf16 tensors: the bf16 dense limit.
``--dtype both`` times the float32 and bf16 contenders interleaved in one run and also prints
kanmix's bf16 speed-up over float32 at each shape.

``ref/limit`` is the most any implementation that does the dense GEMMs can gain over the
reference: kanmix's ``ref/kanmix`` can only exceed it by beating three GEMMs.

Peak memory is the largest growth of allocated memory during one step above what was
allocated when it began (inputs and parameters excluded; activations, gradients and scratch
included), per row: on CUDA from ``torch.cuda.max_memory_allocated``, on CPU from the torch
profiler's memory timeline (allocations through PyTorch's allocator, not the BLAS library's
private scratch); ``-`` where it cannot be measured.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from kanmix.kan import KANLinear, PlainKANLinear
from kanmix.io import atomic_write_json

SHAPES = [(8192, 256, 512), (32768, 64, 128), (4096, 784, 256)]  # channel-mix, token-mix, autoencoder
GRID_SIZE, SPLINE_ORDER = 5, 3
NAMES = ["kanmix", "reference", "limit", "linear", "flashkan", "inkan"]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


class DenseLimit(nn.Module):
    """Precomputed features times a weight: the GEMM work of a KAN layer, with no basis work.

    In ``dtype`` throughout: for bf16 the three GEMMs run on bf16 tensors, with no casts.
    """

    def __init__(self, rows: int, in_features: int, out_features: int, device: torch.device,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        width = in_features * (GRID_SIZE + SPLINE_ORDER + 1)
        self.features = nn.Parameter(torch.rand(rows, width, device=device).to(dtype))
        self.weight = nn.Parameter((torch.randn(out_features, width, device=device) / width**0.5).to(dtype))

    def forward(self, _x: torch.Tensor) -> torch.Tensor:
        return self.features @ self.weight.t()


class Autocast(nn.Module):
    """``module`` with its forward under ``torch.autocast(dtype)``, as a mixed-precision training step runs it."""

    def __init__(self, module: nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.module, self.dtype = module, dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=self.dtype):
            return self.module(x)


def _peer(name: str, in_features: int, out_features: int) -> nn.Module | None:
    try:
        module = __import__(name)
    except ImportError:
        return None
    return module.KANLayer(in_features, out_features, grid_size=GRID_SIZE, spline_order=SPLINE_ORDER)


def contenders(rows: int, in_features: int, out_features: int, device: torch.device,
               dtype: str = "float32") -> dict[str, nn.Module]:
    """The installed contenders for ``dtype`` (``float32`` or ``bfloat16``; see the module docstring)."""
    kan = dict(grid_size=GRID_SIZE, spline_order=SPLINE_ORDER)
    layers = {
        "kanmix": KANLinear(in_features, out_features, **kan),
        "reference": PlainKANLinear(in_features, out_features, **kan),
        "linear": nn.Linear(in_features, out_features),
        "flashkan": _peer("flashkan", in_features, out_features),
        "inkan": _peer("inkan", in_features, out_features),
    }
    if dtype != "float32":
        layers = {name: Autocast(layer, DTYPES[dtype]) for name, layer in layers.items() if layer is not None}
    layers["limit"] = DenseLimit(rows, in_features, out_features, device, DTYPES[dtype])
    return {name: layers[name].to(device) for name in NAMES if layers.get(name) is not None}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _step(layer: nn.Module, x: torch.Tensor) -> None:
    layer.zero_grad(set_to_none=True)
    x.grad = None
    layer(x).sum().backward()


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence file descriptor 2 for a block: the torch profiler logs two native lines per
    measurement, which would otherwise fill the terminal (and a chapter that measures)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _cpu_peak_bytes(fn: Callable[[], None]) -> int | None:
    """Peak of PyTorch's CPU allocations during ``fn`` above their level at its start.

    Read from the profiler's memory timeline (every allocation and free, compiled kernels'
    buffers included). It uses a private torch API, so any failure gives None ("n/a").
    """
    try:
        from torch.profiler import ProfilerActivity, profile
        from torch.profiler._memory_profiler import MemoryProfileTimeline

        with _quiet_native_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True,
                                             record_shapes=True, with_stack=True) as prof:
            fn()
        _, sizes = MemoryProfileTimeline(prof._memory_profile())._coalesce_timeline(torch.device("cpu"))
        totals = [sum(s) for s in sizes]
        return int(max(totals) - totals[0])
    except Exception:  # noqa: BLE001 - private API: degrade to "n/a" rather than fail the benchmark
        return None


def peak_bytes(layer: nn.Module, x: torch.Tensor) -> int | None:
    """Peak memory of one fwd+bwd step above the memory held before it."""
    layer.zero_grad(set_to_none=True)
    x.grad = None
    gc.collect()
    if x.device.type == "cuda":
        torch.cuda.synchronize(x.device)
        torch.cuda.reset_peak_memory_stats(x.device)
        base = torch.cuda.memory_allocated(x.device)
        _step(layer, x)
        torch.cuda.synchronize(x.device)
        return torch.cuda.max_memory_allocated(x.device) - base
    return _cpu_peak_bytes(lambda: _step(layer, x))


def bench_shape(
    rows: int, n_in: int, n_out: int, device: torch.device, repeats: int, warmup: int, warmup_s: float = 0.0,
    dtype: str = "float32",
) -> dict:
    """One shape's record in ``dtype``: median ms per contender, ``peak_bytes``, ``shape`` and ``dtype``."""
    return bench_dtypes(rows, n_in, n_out, device, repeats, warmup, warmup_s, [dtype])[0]


def bench_dtypes(rows: int, n_in: int, n_out: int, device: torch.device, repeats: int, warmup: int,
                 warmup_s: float, dtypes: list[str]) -> list[dict]:
    """One record per dtype, every contender of every dtype timed in one interleaved round-robin."""
    layers = {}
    for dtype in dtypes:
        torch.manual_seed(0)
        layers.update({(dtype, name): layer for name, layer in contenders(rows, n_in, n_out, device, dtype).items()})
    torch.manual_seed(0)
    x = (torch.rand(rows, n_in, device=device) * 2 - 1).requires_grad_()
    for layer in layers.values():
        # First calls compile (kanmix, flashkan, inkan); the next few are still slow while the
        # allocator and caches settle, so cheap contenders keep warming for a little while.
        start, steps = time.perf_counter(), 0
        while steps < warmup or (time.perf_counter() - start < warmup_s and steps < 20):
            _step(layer, x)
            steps += 1
    times: dict[tuple[str, str], list[float]] = {key: [] for key in layers}
    for _ in range(repeats):
        for key, layer in layers.items():  # round-robin: slow drifts in machine load hit all alike
            _sync(device)
            start = time.perf_counter()
            _step(layer, x)
            _sync(device)
            times[key].append((time.perf_counter() - start) * 1e3)
    records = []
    for dtype in dtypes:
        record = {"dtype": dtype, "shape": [rows, n_in, n_out]}
        record.update({n: statistics.median(times[dtype, n]) if (dtype, n) in times else None for n in NAMES})
        record["peak_bytes"] = {n: peak_bytes(layers[dtype, n], x) for n in NAMES if (dtype, n) in layers}
        records.append(record)
    return records


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _shape(record: dict) -> str:
    rows, n_in, n_out = record["shape"]
    return f"{rows}, {n_in}->{n_out}"


def table(records: list[dict]) -> str:
    head = (
        f"{'rows, in->out':>18} {'dtype':>8} | " + " ".join(f"{n:>9}" for n in NAMES)
        + " | kanmix/limit  ref/kanmix  ref/limit  flash/kanmix  inkan/kanmix | KiB/row kanmix  ref  flash  inkan"
    )
    lines = [head, "-" * len(head)]
    for r in records:
        ratio = lambda a, b: None if r[a] is None or r[b] is None else r[a] / r[b]  # noqa: E731
        kib = lambda n: None if r["peak_bytes"].get(n) is None else r["peak_bytes"][n] / r["shape"][0] / 1024  # noqa: E731
        lines.append(
            f"{_shape(r):>18} {r['dtype']:>8} | " + " ".join(f"{_fmt(r[n], '9.1f'):>9}" for n in NAMES)
            + f" | {_fmt(ratio('kanmix', 'limit'), '12.2f')} {_fmt(ratio('reference', 'kanmix'), '11.1f')}"
            + f" {_fmt(ratio('reference', 'limit'), '10.1f')}"
            + f" {_fmt(ratio('flashkan', 'kanmix'), '13.2f')} {_fmt(ratio('inkan', 'kanmix'), '13.2f')}"
            + f" | {_fmt(kib('kanmix'), '14.1f')} {_fmt(kib('reference'), '4.0f')} {_fmt(kib('flashkan'), '6.1f')} {_fmt(kib('inkan'), '6.1f')}"
        )
    return "\n".join(lines)


def speedups(records: list[dict]) -> str:
    """kanmix's bf16 speed-up over float32 per shape (float32 ms / bfloat16 ms), from records of both dtypes."""
    by = {(_shape(r), r["dtype"]): r["kanmix"] for r in records}
    shapes = list(dict.fromkeys(_shape(r) for r in records))
    lines = ["kanmix bfloat16 speed-up over float32 (float32 ms / bfloat16 ms):"]
    lines += [f"{s:>18}  {by[s, 'float32'] / by[s, 'bfloat16']:5.2f}x" for s in shapes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanmix.bench kan", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--dtype", choices=[*DTYPES, "both"], default="float32",
                        help="float32, bfloat16 (forward under autocast; the limit on bf16 tensors) or both, "
                             "interleaved in one run (default: float32)")
    parser.add_argument("--json", type=Path, help="also write one record per shape to this JSON file")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per contender and shape (default: 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first, at least (default: 2)")
    parser.add_argument("--warmup-seconds", type=float, default=0.0, help="keep warming each contender at least this long (default: 0)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default: 2, the targets' setting)")
    parser.add_argument("--shapes", help="override shapes, e.g. '8192x256x512,4096x784x256' (rows x in x out)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.warmup < 1:
        parser.error("--repeats and --warmup must be >= 1 (warm-up runs compile the kernels)")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but torch.cuda.is_available() is False; use --device cpu")
    shapes = SHAPES
    if args.shapes:
        try:
            shapes = [tuple(int(v) for v in s.split("x")) for s in args.shapes.split(",")]
            assert all(len(s) == 3 for s in shapes)
        except (ValueError, AssertionError):
            parser.error(f"--shapes must look like 8192x256x512[,ROWSxINxOUT...], got {args.shapes!r}")
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    dtypes = list(DTYPES) if args.dtype == "both" else [args.dtype]
    missing = [n for n in ("flashkan", "inkan") if _peer(n, 1, 1) is None]
    print(f"kanmix.bench kan: device={device} dtype={args.dtype} threads={torch.get_num_threads()} "
          f"torch={torch.__version__} repeats={args.repeats} (median fwd+bwd ms)"
          + (f"; not installed: {', '.join(missing)}" if missing else ""), flush=True)
    records = []
    for rows, n_in, n_out in shapes:
        records += bench_dtypes(rows, n_in, n_out, device, args.repeats, args.warmup, args.warmup_seconds, dtypes)
        print(f"  done {rows}, {n_in}->{n_out}", file=sys.stderr, flush=True)
    print(table(records))
    if len(dtypes) > 1:
        print(speedups(records))
    if args.json:
        atomic_write_json(args.json, records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def stored(shapes, repeats: int, dtypes, device: torch.device | str) -> dict:
    """The results-store record of this benchmark at ``shapes`` in ``dtypes`` on ``device``: measured once.

    A benchmark is a number like every other in the book: the record keeps it with its
    provenance (machine, threads, commit), and a rebuild shows it instead of measuring again;
    delete the record to measure again. ``record["shapes"]`` holds one :func:`bench_dtypes`
    record per shape and dtype.
    """
    from kanmix import results

    device = torch.device(device)
    cfg = {"kind": "bench_kan", "shapes": [list(s) for s in shapes], "repeats": repeats, "dtypes": list(dtypes),
           "device": device.type}
    return results.cached_run(cfg, lambda: {"shapes": [rec for r, i, o in shapes for rec in bench_dtypes(
        r, i, o, device, repeats, warmup=1, warmup_s=0.0, dtypes=list(dtypes))]})


def chapter_results(bench_json: str | None, shapes, repeats: int, dtypes,
                    device: torch.device | str | None = None) -> tuple:
    """What chapter 2 shows: ``(table, store records behind it, source)``, the table :func:`speed_table`'s.

    With ``bench_json`` (the JSON of ``python -m kanmix.bench kan --json PATH``, e.g. measured on
    a GPU) the table of its records, no store record, and a ``source`` naming the file for the
    captions; otherwise :func:`stored`'s benchmark at ``shapes`` in ``dtypes`` on ``device``
    (default: the book's, :func:`kanmix.runtime.default_device`), measured once, and no source.
    """
    import json

    from kanmix.runtime import default_device

    if bench_json:
        if not Path(bench_json).is_file():
            raise FileNotFoundError(f"bench_json={bench_json!r} is not a file; write one with `python -m kanmix.bench "
                                    "kan --json PATH`, or leave bench_json unset to measure here")
        return (speed_table(json.loads(Path(bench_json).read_text())), [],
                f"measured by `python -m kanmix.bench kan`, read from {Path(bench_json).name}")
    record = stored(shapes, repeats, dtypes, default_device() if device is None else device)
    return speed_table(record["shapes"]), [record], None


def speed_table(records: list[dict]):
    """The benchmark's per-shape ``records`` as a DataFrame indexed by (``"rows, in → out"``, dtype).

    One ``"<name> ms"`` column per contender of :data:`NAMES` that any record timed; the ratios
    ``kanmix / limit``, ``reference / kanmix`` and ``reference / limit``; and ``kanmix KiB / row``,
    kanmix's peak memory per input row (missing where it was not measured).
    """
    import pandas as pd

    contenders = [n for n in NAMES if any(r.get(n) is not None for r in records)]
    speed = pd.DataFrame([{"rows, in → out": f"{r['shape'][0]}, {r['shape'][1]} → {r['shape'][2]}",
                           "dtype": r.get("dtype", "float32"), **{f"{n} ms": r.get(n) for n in contenders}}
                          for r in records]).set_index(["rows, in → out", "dtype"])
    speed["kanmix / limit"] = speed["kanmix ms"] / speed["limit ms"]
    speed["reference / kanmix"] = speed["reference ms"] / speed["kanmix ms"]
    speed["reference / limit"] = speed["reference ms"] / speed["limit ms"]
    speed["kanmix KiB / row"] = [(r.get("peak_bytes") or {}).get("kanmix") for r in records]
    speed["kanmix KiB / row"] = speed["kanmix KiB / row"] / [r["shape"][0] * 1024 for r in records]
    return speed
