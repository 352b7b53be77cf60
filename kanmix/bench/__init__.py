"""Speed benchmarks: `python -m kanmix.bench {kan,mixer} [ARGS...]`.

Each benchmark is a module ``kanmix.bench.<name>`` with ``main(argv) -> int``, imported only
when asked for, so one benchmark's heavy imports never slow down another.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "kan": "KANLinear fwd+bwd vs the reference, the dense-GEMM limit, nn.Linear and PyPI peers",
    "mixer": "KAN-Mixer / MLP-Mixer training throughput",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print("usage: python -m kanmix.bench BENCHMARK [ARGS...]\n\nbenchmarks:")
        for name, help_ in BENCHMARKS.items():
            print(f"  {name:<6}  {help_}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in BENCHMARKS:
        print(f"kanmix.bench: unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(f"kanmix.bench.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"kanmix.bench.{name}":
            raise
        print(f"kanmix.bench: benchmark {name!r} is not available in this checkout (no kanmix/bench/{name}.py)", file=sys.stderr)
        return 2
    return int(module.main(rest) or 0)
