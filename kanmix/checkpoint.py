"""A training run's checkpoint: the state that changes while it trains, written atomically and read back checked.

:class:`TrainingState` is everything a resumed run needs to end with exactly the numbers of an
uninterrupted one (model, optimiser, scheduler, RNGs, position in the epoch, history).
:func:`save_checkpoint` writes it atomically (a kill never leaves a torn file);
:func:`load_checkpoint` reads it with ``weights_only=True`` (nothing is unpickled) after checking
its sizes; :func:`readable_checkpoint` sets aside one that cannot be used instead of failing the run.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch
from torch import nn

from kanmix.errors import KanmixError
from kanmix.io import atomic_write_bytes

#: The checkpoint's file name inside a run's checkpoint folder.
CHECKPOINT = "last.pt"


class CheckpointError(KanmixError):
    """A checkpoint that cannot be resumed by this run; the message names the file and the fix."""




def fresh_running() -> dict:
    """The running totals of an epoch at its start."""
    return {"loss": 0.0, "correct": 0, "seen": 0}


def _rng_state(device: torch.device) -> dict:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


@dataclass
class TrainingState:
    """Everything that changes while a run trains: what a checkpoint holds, keyed by field name.

    ``model``, ``optimizer`` and ``scheduler`` are saved as their state dicts, every other field
    as it is, plus the global RNG (the dropout stream). ``layout`` describes the run (images,
    steps per epoch, precision): a checkpoint of another layout cannot be resumed.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    layout: dict
    epoch: int = 0  # the epoch in progress (== cfg.epochs when done)
    step: int = 0  # its next step
    running: dict = field(default_factory=fresh_running)  # loss, correct and seen so far this epoch
    aug_rng: torch.Tensor | None = None  # the augmentation generator mid-epoch (None at an epoch's start)
    history: list = field(default_factory=list)  # one row per finished epoch
    # Time and images in training steps across restarts: a resumed run's images/s covers the whole run.
    train_seconds: float = 0.0
    images_seen: int = 0

    MODULES = ("model", "optimizer", "scheduler")

    def to_checkpoint(self, device: torch.device) -> dict:
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state.update({name: state[name].state_dict() for name in self.MODULES})
        return {**state, "rng": _rng_state(device)}

    def restore(self, checkpoint: dict, device: torch.device, where: Path) -> None:
        """Continue from ``checkpoint`` (from :meth:`to_checkpoint` of a run with the same layout)."""
        if checkpoint["layout"] != self.layout:
            raise CheckpointError(f"checkpoint {where} is for {checkpoint['layout']}, not {self.layout}; "
                              "delete it to start over")
        for f in fields(self):
            if f.name in self.MODULES:
                getattr(self, f.name).load_state_dict(checkpoint[f.name])
            else:
                setattr(self, f.name, checkpoint[f.name])
        _set_rng_state(checkpoint["rng"], device)


def save_checkpoint(path: Path, state: dict) -> None:
    """``torch.save`` to memory, then an atomic write: a kill never leaves a torn file."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_checkpoint(path: Path, device: torch.device | str = "cpu", *, max_bytes: int | None = None) -> dict:
    """Load a checkpoint with ``weights_only=True`` (tensors and plain containers only).

    The sizes are checked before anything is read into memory: ``torch.save`` writes a zip of
    uncompressed entries, so a compressed entry (which could inflate far beyond the file) or one
    whose stated size disagrees with the bytes on disk is refused, as is a file over ``max_bytes``.
    """
    import zipfile

    path = Path(path)
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise ValueError(f"{size:,} bytes, more than the {max_bytes:,} this run's training state can take")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for entry in z.infolist():
                if entry.compress_type != zipfile.ZIP_STORED or entry.file_size != entry.compress_size:
                    raise ValueError(f"entry {entry.filename} is compressed ({entry.compress_size:,} bytes that "
                                     f"unpack to {entry.file_size:,}); torch.save never compresses")
    return torch.load(path, map_location=device, weights_only=True)


def readable_checkpoint(path: Path | None, max_bytes: int) -> dict | None:
    """The checkpoint at ``path`` (on the CPU: RNG states must stay there), or ``None`` to start afresh.

    A checkpoint that cannot be read (truncated by a full disk, crafted, too large for this run)
    is not worth failing a run for: it says so in one line, moves the file aside as
    ``last.pt.unreadable`` (kept when the run finishes, for inspection) and the run starts from
    scratch.
    """
    if path is None or not path.exists():
        return None
    try:
        state = load_checkpoint(path, max_bytes=max_bytes)
        if not isinstance(state, dict) or not {f.name for f in fields(TrainingState)} <= set(state):
            raise ValueError("not a kanmix training checkpoint")
        bad = [k for k, t in state["model"].items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
        if bad:
            raise ValueError(f"its weights hold NaN or infinity ({', '.join(bad[:3])})")
        return state
    except Exception as err:  # noqa: BLE001 - torch.load raises many types for a damaged file
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        print(f"kanmix: the checkpoint {path} cannot be used ({type(err).__name__}: {str(err)[:160]}); "
              f"moved it to {aside} and training starts from scratch", file=sys.stderr, flush=True)
        return None
