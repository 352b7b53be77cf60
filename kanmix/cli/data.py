"""`python -m kanmix data fetch [NAMES...]` and `python -m kanmix data list`."""

from __future__ import annotations

import argparse
import sys

from kanmix import data, fetch as fetching


def _state(name: str, root) -> str:
    """``ok``, ``-`` (not fetched) or what is wrong with the fetched files."""
    try:
        data.verify(name, root)
        return "ok"
    except data.NotFetched:
        return "-"
    except data.DataError as err:
        return f"damaged: {err}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m kanmix data", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    fetch = sub.add_parser("fetch", help="download, verify and convert datasets (default: all fetchable)")
    fetch.add_argument("names", nargs="*", metavar="NAME", help=f"datasets to fetch: {', '.join(fetching.FETCHABLE)}")
    fetch.add_argument("--force", action="store_true", help="re-fetch even if present and intact")
    fetch.add_argument("--root", help="data directory (default: $KANMIX_DATA or ./data)")
    lst = sub.add_parser("list", help="show which datasets are present")
    lst.add_argument("--root", help="data directory (default: $KANMIX_DATA or ./data)")
    args = parser.parse_args(argv)
    unknown = [n for n in getattr(args, "names", []) if n not in fetching.FETCHABLE]
    if unknown:
        parser.error(f"argument NAME: invalid dataset {unknown[0]!r} (choose from {', '.join(fetching.FETCHABLE)})")

    if args.action == "list":
        for name, meta in data.DATASETS.items():
            state = "user-supplied (KANMIX_SVHN_DIR)" if name == "svhn" else _state(name, args.root)
            print(f"{name:<14} {meta.train_size:>6} / {meta.test_size:<6} {state}")
        return 0
    try:
        fetched = fetching.fetch(args.names or None, root=args.root, force=args.force)
    except data.DataError as err:
        print(f"kanmix data: {err}", file=sys.stderr)
        return 1
    names = args.names or list(fetching.FETCHABLE)
    skipped = [n for n in names if n not in fetched]
    where = data.data_dir(args.root)
    if fetched:
        print(f"fetched and verified {', '.join(fetched)} into {where}")
    if skipped:
        print(f"already present and intact in {where}: {', '.join(skipped)}")
    return 0
