"""`python -m kanmix bench {kan,mixer} ...`: the same benchmarks as `python -m kanmix.bench`."""

from __future__ import annotations


def main(argv: list[str]) -> int:
    from kanmix.bench import main as bench_main

    return bench_main(argv)
