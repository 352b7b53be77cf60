"""`python -m kanmix COMMAND ...`: a thin dispatcher.

Each command lives in its own module ``kanmix.cli.<command>`` exposing
``main(argv: list[str]) -> int``; importing lazily keeps ``--help`` fast and
lets a command run without the heavy imports of the others. The package's own errors
(:class:`kanmix.errors.KanmixError`: missing data, a diverged run, a damaged record) end a
command with one line and exit status 1; any other exception keeps its traceback.
"""

from __future__ import annotations

import importlib
import sys

from kanmix.errors import KanmixError

COMMANDS = {
    "data": "fetch and inspect the offline datasets",
    "train": "train one model on one dataset (one results-store record)",
    "cv": "k-fold cross-validation of classifiers",
    "ae": "autoencoder bottleneck sweep with KNN on latents",
    "search": "Optuna random search over KAN-Mixer hyper-parameters",
    "bench": "speed benchmarks (kan layer, mixer throughput)",
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m kanmix COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, help_ in COMMANDS.items()]
    lines += ["", "Run `python -m kanmix COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"kanmix: unknown command {command!r}; choose from {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"kanmix.cli.{command}")
    try:
        return int(module.main(rest) or 0)
    except KanmixError as err:  # a known failure (data, divergence, a damaged record): its message is the fix
        print(f"kanmix {command}: error: {err}", file=sys.stderr)
        return 1
