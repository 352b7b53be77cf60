"""One training loop for every model and device.

``fit(model, images_u8, labels, cfg)`` trains a classifier (cross-entropy, optional label
smoothing) or, with ``task="reconstruct"``, an autoencoder (MSE against its own input).

Device: CUDA when available, else CPU. On CUDA the uint8 dataset is moved to the GPU once
(60 000 28x28 images are 47 MB), batches are sliced, scaled and augmented there, and the
forward pass runs under bf16 autocast. There are no DataLoader workers: at these sizes the
whole input pipeline is a few tensor ops.

Reproducibility: ``cfg.seed`` fixes the shuffling and the augmentation (each epoch draws from
generators seeded by ``(seed, epoch)``) and dropout (the global torch RNG, seeded once at the
start and saved in checkpoints). Model init is fixed by seeding before building the model
(:func:`seed_everything`). Same seed, same device, same config => the same numbers.

Checkpoints: with ``checkpoint_dir`` the full state (model, optimiser, scheduler, RNG, position
in the epoch, history) is written atomically to ``checkpoint_dir/last.pt`` at the end of every
epoch and every ``cfg.checkpoint_every_s`` seconds inside an epoch; ``fit`` resumes from it, and
the resumed run ends with exactly the numbers of an uninterrupted one. Loading uses
``torch.load(weights_only=True)``: nothing is unpickled.
"""

from __future__ import annotations

import io
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from kanmix import checks
from kanmix.augment import Augment
from kanmix.data import to_float
from kanmix.errors import KanmixError
from kanmix.folds import derived_seed
from kanmix.results import RecordError, atomic_write_bytes

CHECKPOINT = "last.pt"
TASKS = ("classify", "reconstruct")


class TrainingDiverged(KanmixError, FloatingPointError):
    """The loss became NaN or infinite; the message names the epoch and step."""


@dataclass
class TrainConfig:
    """Everything that decides a training run's numbers (plus ``device``/``progress``, which do not).

    ``warmup`` is the fraction of all training steps spent warming up: the learning rate rises
    linearly to ``lr`` over those steps, then follows a cosine down to ``lr * min_lr_ratio`` at
    the last step (a fraction, not epochs, so a 1-epoch run still gets its cosine).
    ``augment`` is ``None``, ``True`` (the paper's flip + rotation) or a dict for
    :class:`kanmix.augment.Augment`, e.g. ``{"hflip": 0.5, "rotate": 10, "crop": 4}``.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.05
    min_lr_ratio: float = 0.0
    label_smoothing: float = 0.0
    grad_clip: float | None = 1.0
    augment: bool | dict | None = None
    seed: int = 0
    device: str | None = None  # None: CUDA if available, else CPU
    progress: bool | None = None  # None: a bar on an interactive terminal, quiet under CI
    checkpoint_every_s: float = 60.0

    def __post_init__(self):
        checks.integer("epochs", self.epochs)
        checks.integer("batch_size", self.batch_size)
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr={self.lr!r} must be a positive number")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay={self.weight_decay!r} must be >= 0")
        if not 0 <= self.warmup <= 1:
            raise ValueError(f"warmup={self.warmup!r} is a fraction of the training steps and must be in [0, 1]")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio={self.min_lr_ratio!r} must be in [0, 1]")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing={self.label_smoothing!r} must be in [0, 1)")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"grad_clip={self.grad_clip!r} must be positive or None")
        Augment.from_spec(self.augment)  # validates

    @classmethod
    def from_dict(cls, d: dict | None) -> TrainConfig:
        d = dict(d or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown training option(s) {unknown}; allowed: {', '.join(sorted(names))}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)

    def numbers_only(self) -> dict:
        """The options that change results (not ``device``, ``progress`` or checkpoint cadence)."""
        d = self.to_dict()
        for k in ("device", "progress", "checkpoint_every_s"):
            d.pop(k)
        return d


def default_device() -> torch.device:
    """CUDA if available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or device == "auto":
        return default_device()
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but no CUDA GPU is available; use device='cpu'")
    return device


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) and numpy; call before building a model to fix its init."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def progress_enabled(progress: bool | None) -> bool:
    """An explicit choice wins; otherwise a bar only on an interactive terminal outside CI."""
    if progress is not None:
        return bool(progress)
    return not os.environ.get("CI") and sys.stderr.isatty()


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def lr_lambda(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Linear warm-up from 0 to 1 over ``warmup_steps``, then cosine to ``min_ratio`` at ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


# --------------------------------------------------------------------------- checkpoints


def _rng_state(device: torch.device) -> dict:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def save_checkpoint(path: Path, state: dict) -> None:
    """``torch.save`` to memory, then an atomic write: a kill never leaves a torn file."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True`` (tensors and plain containers only)."""
    return torch.load(Path(path), map_location=device, weights_only=True)


def _readable_checkpoint(path: Path | None) -> dict | None:
    """The checkpoint at ``path`` (on the CPU: RNG states must stay there), or ``None`` to start afresh.

    A checkpoint that cannot be read (truncated by a full disk, say) is not worth failing a
    run for: it says so in one line, moves the file aside and the run starts from scratch.
    """
    if path is None or not path.exists():
        return None
    try:
        state = load_checkpoint(path)
        if not isinstance(state, dict) or "model" not in state:
            raise ValueError("not a kanmix training checkpoint")
        return state
    except Exception as err:  # noqa: BLE001 - torch.load raises many types for a damaged file
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        print(f"kanmix: the checkpoint {path} cannot be read ({type(err).__name__}: {str(err)[:120]}); "
              f"moved it to {aside.name} and training starts from scratch", file=sys.stderr, flush=True)
        return None


# --------------------------------------------------------------------------- the loop


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None, task: str, smoothing: float):
    out = model(x)
    if task == "classify":
        loss = F.cross_entropy(out.float(), y, label_smoothing=smoothing)
        correct = (out.argmax(1) == y).sum()
    else:
        loss = F.mse_loss(out.float(), x.float())
        correct = None
    return loss, correct


def fit(model: nn.Module, images_u8: torch.Tensor, labels: torch.Tensor | None, cfg: TrainConfig | dict | None = None,
        *, checkpoint_dir: str | os.PathLike | None = None, task: str = "classify",
        val: tuple[torch.Tensor, torch.Tensor] | None = None,
        on_epoch: Callable[[dict], None] | None = None) -> dict:
    """Train ``model`` in place on ``images_u8 (N, C, H, W)`` uint8 and ``labels (N,)`` int64.

    ``task="classify"``: cross-entropy on logits; ``task="reconstruct"``: MSE between the
    model's output and its (augmented) input, ``labels`` may be ``None``. ``val`` (images,
    labels) is evaluated after every epoch (loss, and accuracy when classifying).
    ``on_epoch(row)`` is called with each epoch's row of the history.

    Returns ``{"history": [per-epoch dicts], "train_seconds", "images_per_second",
    "steps", "device", "resumed_from_epoch"}``. ``train_seconds`` counts the time in the
    training steps (not evaluation or checkpointing), across restarts: a resumed run adds its
    own to what the checkpoint carried.
    """
    cfg = TrainConfig.from_dict(cfg) if isinstance(cfg, dict) or cfg is None else cfg
    if task not in TASKS:
        raise ValueError(f"task={task!r}; choose from {', '.join(TASKS)}")
    if images_u8.dtype != torch.uint8 or images_u8.ndim != 4:
        raise ValueError(f"images must be uint8 (N, C, H, W), got {images_u8.dtype} {tuple(images_u8.shape)}")
    n = images_u8.shape[0]
    if task == "classify":
        if labels is None or labels.shape != (n,):
            raise ValueError(f"classification needs labels of shape ({n},), got "
                             f"{None if labels is None else tuple(labels.shape)}")
    device = resolve_device(cfg.device)
    augment = Augment.from_spec(cfg.augment)

    model.to(device)
    images = images_u8.to(device, non_blocking=True)
    targets = labels.to(device, non_blocking=True) if task == "classify" else None
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total_steps = steps_per_epoch * cfg.epochs
    warmup_steps = round(cfg.warmup * total_steps)

    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            # Norm gains and biases (1-D) are not decayed, as usual for Mixers/Transformers.
            (decay if p.ndim >= 2 else no_decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_lambda(s, warmup_steps, total_steps, cfg.min_lr_ratio))

    ckpt_path = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir is not None else None
    history: list[dict] = []
    start_epoch, start_step = 0, 0
    running = {"loss": 0.0, "correct": 0, "seen": 0}
    aug_state = None
    train_seconds, images_seen = 0.0, 0
    torch.manual_seed(derived_seed(cfg.seed, 1))  # dropout stream
    state = _readable_checkpoint(ckpt_path)
    if state is not None:
        if state["steps_per_epoch"] != steps_per_epoch or state["n"] != n:
            raise RecordError(f"checkpoint {ckpt_path} is for {state['n']} images in {state['steps_per_epoch']} "
                             f"steps per epoch, not {n} in {steps_per_epoch}; delete it to start over")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"], device)
        history = list(state["history"])
        start_epoch, start_step = int(state["epoch"]), int(state["step"])
        running = dict(state["running"])
        aug_state = state.get("aug_rng")
        # The time and images before the interruption count too: the record's wall time and
        # images/s describe the whole run, not only the part after the restart.
        train_seconds, images_seen = float(state.get("train_seconds", 0.0)), int(state.get("images_seen", 0))
    resumed_from = start_epoch + start_step / steps_per_epoch if state is not None else None

    def checkpoint(epoch: int, step: int, aug_gen: torch.Generator | None) -> None:
        if ckpt_path is None:
            return
        save_checkpoint(ckpt_path, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "rng": _rng_state(device), "aug_rng": aug_gen.get_state() if aug_gen is not None else None,
            "epoch": epoch, "step": step, "running": running, "history": history,
            "steps_per_epoch": steps_per_epoch, "n": n,
            "train_seconds": train_seconds, "images_seen": images_seen,
        })

    show = progress_enabled(cfg.progress)
    for epoch in range(start_epoch, cfg.epochs):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(derived_seed(cfg.seed, 2, epoch)))
        order = order.to(device, non_blocking=True)
        aug_gen = torch.Generator(device=device).manual_seed(derived_seed(cfg.seed, 3, epoch))
        if epoch == start_epoch and aug_state is not None:
            aug_gen.set_state(aug_state.cpu())
        first = start_step if epoch == start_epoch else 0
        if first == 0:
            running = {"loss": 0.0, "correct": 0, "seen": 0}
        model.train()
        bar = tqdm(total=steps_per_epoch, initial=first, disable=not show, leave=False, dynamic_ncols=True,
                   desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step", file=sys.stderr)
        last_ckpt = time.monotonic()
        for step in range(first, steps_per_epoch):
            t0 = time.perf_counter()
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            x = to_float(images[idx])
            if augment is not None:
                x = augment(x, aug_gen)
            y = targets[idx] if targets is not None else None
            with _autocast(device):
                loss, correct = _loss(model, x, y, task, cfg.label_smoothing)
            if not torch.isfinite(loss):
                bar.close()
                kept = f"the last good checkpoint is kept at {ckpt_path}" if ckpt_path and ckpt_path.exists() \
                    else "no checkpoint was written"
                raise TrainingDiverged(f"loss became {loss.item()} at epoch {epoch + 1}, step {step + 1} "
                                       f"(of {steps_per_epoch}); {kept}. Lower lr or enable grad_clip.")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            b = idx.shape[0]
            # .item() synchronises, which also makes the step time honest on CUDA.
            running["loss"] += loss.item() * b
            running["correct"] += int(correct.item()) if correct is not None else 0
            running["seen"] += b
            dt = time.perf_counter() - t0
            train_seconds += dt
            images_seen += b
            postfix = {"loss": f"{running['loss'] / running['seen']:.4f}", "img/s": f"{b / dt:.0f}"}
            if task == "classify":
                postfix["acc"] = f"{running['correct'] / running['seen']:.3f}"
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
            if cfg.checkpoint_every_s is not None and time.monotonic() - last_ckpt > cfg.checkpoint_every_s \
                    and step + 1 < steps_per_epoch:
                checkpoint(epoch, step + 1, aug_gen)
                last_ckpt = time.monotonic()
        bar.close()
        row = {"epoch": epoch + 1, "lr": scheduler.get_last_lr()[0], "train_loss": running["loss"] / running["seen"]}
        if task == "classify":
            row["train_accuracy"] = running["correct"] / running["seen"]
        if val is not None:
            row.update(evaluate(model, val[0], val[1], task=task, batch_size=max(256, cfg.batch_size),
                                device=device, prefix="val_"))
        history.append(row)
        checkpoint(epoch + 1, 0, None)
        if on_epoch is not None:
            on_epoch(row)
    return {
        "history": history,
        "train_seconds": train_seconds,
        "images_per_second": images_seen / train_seconds if train_seconds > 0 else None,
        "steps": total_steps,
        "device": str(device),
        "resumed_from_epoch": resumed_from,
    }


# --------------------------------------------------------------------------- inference


@torch.no_grad()
def _batched(fn: Callable[[torch.Tensor], torch.Tensor], images_u8: torch.Tensor, batch_size: int,
             device: torch.device) -> torch.Tensor:
    outs = []
    for start in range(0, images_u8.shape[0], batch_size):
        x = to_float(images_u8[start:start + batch_size].to(device, non_blocking=True))
        with _autocast(device):
            outs.append(fn(x).float().cpu())
    return torch.cat(outs)


def _inference(model: nn.Module, device) -> tuple[nn.Module, torch.device]:
    device = resolve_device(device) if device is not None else next(model.parameters()).device
    model.to(device).eval()
    return model, device


def predict(model: nn.Module, images_u8: torch.Tensor, *, batch_size: int = 512, device=None) -> torch.Tensor:
    """Model outputs for uint8 images, on the CPU: logits ``(N, classes)`` or reconstructions."""
    model, device = _inference(model, device)
    return _batched(model, images_u8, batch_size, device)


def encode(model: nn.Module, images_u8: torch.Tensor, *, batch_size: int = 512, device=None) -> torch.Tensor:
    """Autoencoder latents ``(N, bottleneck)`` for uint8 images, on the CPU."""
    model, device = _inference(model, device)
    return _batched(model.encode, images_u8, batch_size, device)


def evaluate(model: nn.Module, images_u8: torch.Tensor, labels: torch.Tensor | None, *, task: str = "classify",
             batch_size: int = 512, device=None, prefix: str = "") -> dict:
    """Mean loss (and accuracy when classifying) of ``model`` on a labelled set, in eval mode."""
    was_training = model.training
    out = predict(model, images_u8, batch_size=batch_size, device=device)
    model.train(was_training)
    if task == "classify":
        labels = labels.cpu()
        return {f"{prefix}loss": F.cross_entropy(out, labels).item(),
                f"{prefix}accuracy": (out.argmax(1) == labels).float().mean().item()}
    target = to_float(images_u8.cpu())
    return {f"{prefix}loss": F.mse_loss(out, target).item()}
