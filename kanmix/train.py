"""One training loop for every model and device.

``fit(model, images_u8, labels, cfg)`` trains a classifier (cross-entropy, optional label
smoothing) or, with ``objective=RECONSTRUCT``, an autoencoder (MSE against its own input).

Device: CUDA when available, else CPU. On CUDA the uint8 dataset is moved to the GPU once
(60 000 28x28 images are 47 MB), batches are sliced, scaled and augmented there. There are no
DataLoader workers: at these sizes the whole input pipeline is a few tensor ops.

Precision (``cfg.precision``, see :mod:`kanmix.runtime`): ``bf16`` runs the forward pass and
the loss under bf16 autocast, on CPU and CUDA alike; the loss itself is computed from float32
logits, and the weights and AdamW state stay float32. ``fp32`` uses no autocast. ``auto`` is
resolved when the config is made, so a run's config always names the precision it used.

Reproducibility: ``cfg.seed`` fixes the shuffling and the augmentation (each epoch draws from
generators seeded by ``(seed, epoch)``) and dropout (the global torch RNG, seeded once at the
start and saved in checkpoints). Model init is fixed by seeding before building the model
(:func:`kanmix.runtime.seed_everything`). Same seed, device, precision and config => the same
numbers.

Checkpoints: with ``checkpoint_dir`` the :class:`TrainingState` (model, optimiser, scheduler,
RNGs, position in the epoch, history) is written atomically to ``checkpoint_dir/last.pt`` at
the end of every epoch and every ``cfg.checkpoint_every_s`` seconds inside an epoch; ``fit``
resumes from it, and the resumed run ends with exactly the numbers of an uninterrupted one.
Loading uses ``torch.load(weights_only=True)``: nothing is unpickled.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from kanmix import checks
from kanmix.checks import option
from kanmix.augment import Augment
from kanmix.data import to_float
from kanmix.errors import KanmixError
from kanmix.folds import derived_seed
from kanmix.checkpoint import CHECKPOINT, TrainingState, fresh_running, readable_checkpoint, save_checkpoint
from kanmix.runtime import PRECISIONS, autocast, progress_enabled, resolve_device, resolve_precision



@dataclass(frozen=True)
class Objective:
    """What training minimises and what it counts, for a model's output ``out`` on inputs ``x``.

    ``loss(out, x, y, smoothing)`` is a float32 scalar; ``correct(out, y)`` (objectives with labels
    only) counts the right answers of a batch. The loop and :func:`evaluate` switch on nothing else.
    """
    name: str
    loss: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None, float], torch.Tensor]
    correct: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    @property
    def labelled(self) -> bool:
        return self.correct is not None


#: Cross-entropy on logits ``(B, classes)`` against labels ``(B,)``, with optional label smoothing.
CLASSIFY = Objective(
    "classify",
    loss=lambda out, x, y, smoothing: F.cross_entropy(out.float(), y, label_smoothing=smoothing),
    correct=lambda out, y: (out.argmax(1) == y).sum())
#: Mean squared error between a reconstruction and its own (augmented) input, both ``(B, C, H, W)``.
RECONSTRUCT = Objective("reconstruct", loss=lambda out, x, y, smoothing: F.mse_loss(out.float(), x.float()))


class TrainingDiverged(KanmixError, FloatingPointError):
    """The loss became NaN or infinite; the message names the epoch and step."""


def _epochs(text: str) -> tuple[int, ...]:
    """``grid_updates`` from the command line: ``"1,3"`` -> ``(1, 3)``; ``""`` or ``"none"`` -> ``()``."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"grid_updates={text!r} must be comma-separated epoch numbers like 1,3") from None


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run's numbers, plus how it runs (``device``, ``progress``,
    ``checkpoint_every_s``: not part of a record's config).

    ``warmup`` is the fraction of all training steps spent warming up: the learning rate rises
    linearly to ``lr`` over those steps, then follows a cosine down to ``lr * min_lr_ratio`` at
    the last step (a fraction, not epochs, so a 1-epoch run still gets its cosine).
    ``augment`` is ``None``, ``True`` (the paper's flip + rotation) or a dict for
    :class:`kanmix.augment.Augment`, e.g. ``{"hflip": 0.5, "rotate": 10, "crop": 4}``.
    ``precision="auto"`` is resolved on construction, for ``device``, to ``"fp32"`` or ``"bf16"``.
    The field metadata is what the command-line flags are built from (:mod:`kanmix.cli._args`).
    """

    epochs: int = option(10, "passes over the training images")
    batch_size: int = option(128, "images per step")
    lr: float = option(1e-3, "peak AdamW learning rate")
    weight_decay: float = option(0.01, "AdamW weight decay of the weight matrices")
    warmup: float = option(0.05, "fraction of the training steps spent warming up before the cosine decay")
    min_lr_ratio: float = option(0.0, "learning rate at the last step, as a fraction of lr")
    label_smoothing: float = option(0.0, "label smoothing of the cross-entropy")
    grad_clip: float | None = option(1.0, "clip the gradient norm to this (None: no clipping)")
    augment: bool | dict | None = option(
        None, "data augmentation ('paper' = horizontal flip + 10 degree rotation)",
        parse=Augment.parse, metavar="{none,paper,hflip=P,rotate=DEG,crop=PAD}")
    precision: str = option("auto", "fp32; bf16 autocast; or auto: bf16 on CUDA and on CPUs with fast bf16 "
                             "matmul, else fp32", choices=PRECISIONS)
    grid_updates: tuple[int, ...] = option((), "move the KAN layers' grids to their inputs after these epochs "
                                           "(1-based; kanmix.grids.update_grids)", parse=_epochs, metavar="E,E,...")
    seed: int = option(0, "seed of init, shuffling, augmentation and dropout")
    device: str | None = option(None, "cpu, cuda, or None/auto: CUDA if available, else CPU")
    progress: bool | None = option(None, "a progress bar (None: on an interactive terminal, off under CI)")
    checkpoint_every_s: float | None = option(60.0, "also checkpoint inside an epoch this often (None: never)",
                                               metavar="SECONDS")

    def __post_init__(self):
        checks.integer("epochs", self.epochs)
        checks.integer("batch_size", self.batch_size)
        for name in ("lr", "weight_decay", "warmup", "min_lr_ratio", "label_smoothing", "grad_clip",
                     "checkpoint_every_s"):
            checks.finite(name, getattr(self, name))
        if not self.lr > 0:
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
        if self.checkpoint_every_s is not None and not self.checkpoint_every_s >= 0:
            raise ValueError(f"checkpoint_every_s={self.checkpoint_every_s!r} must be >= 0 seconds or None")
        checks.integer("seed", self.seed, 0)
        # A tuple (hashable, frozen); JSON gives lists back, so normalise here, once.
        object.__setattr__(self, "grid_updates", tuple(self.grid_updates))
        for e in self.grid_updates:
            if isinstance(e, bool) or not isinstance(e, int) or not 1 <= e < self.epochs:
                raise ValueError(f"grid_updates={list(self.grid_updates)} must list epochs in 1..{self.epochs - 1} "
                                 "(after the last epoch an update would change nothing that is trained)")
        resolve_device(self.device)  # "cuda" without a GPU fails now, not when training starts
        # Frozen, so the one normalisation (auto -> what it means here) goes through object.__setattr__.
        object.__setattr__(self, "precision", resolve_precision(self.precision, self.device))

    @classmethod
    def from_dict(cls, d: dict | None) -> TrainConfig:
        d = dict(d or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown training option(s) {unknown}; allowed: {', '.join(sorted(names))}")
        return cls(**d)

    @classmethod
    def coerce(cls, cfg: TrainConfig | dict | None) -> TrainConfig:
        """``cfg`` itself, or the config of a dict of options (``None``: all defaults)."""
        return cfg if isinstance(cfg, TrainConfig) else cls.from_dict(cfg)

    def to_dict(self) -> dict:
        """The options as plain JSON types (``grid_updates`` a list), as a record stores them."""
        return {**asdict(self), "grid_updates": list(self.grid_updates)}

    def result_options(self) -> dict:
        """The options that change results (not ``device``, ``progress`` or checkpoint cadence)."""
        d = self.to_dict()
        for k in RUNTIME_OPTIONS:
            d.pop(k)
        return d


#: TrainConfig fields that say how a run executes, not what it computes.
RUNTIME_OPTIONS = ("device", "progress", "checkpoint_every_s")


def lr_lambda(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Linear warm-up from 0 to 1 over ``warmup_steps``, then cosine to ``min_ratio`` at ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def configure_optimizers(model: nn.Module, cfg: TrainConfig, total_steps: int):
    """AdamW and its learning-rate schedule (warm-up, then cosine) over ``total_steps`` steps.

    Weight matrices (and conv kernels, spline coefficients) are decayed; norm gains and biases
    (1-D) are not, as usual for Mixers and Transformers.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr)
    warmup_steps = round(cfg.warmup * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_lambda(s, warmup_steps, total_steps, cfg.min_lr_ratio))
    return optimizer, scheduler


# --------------------------------------------------------------------------- the loop


def non_finite(model: nn.Module) -> list[str]:
    """Names of ``model``'s parameters and buffers that hold a NaN or an infinity."""
    named = [*model.named_parameters(), *model.named_buffers()]
    return [name for name, t in named if t.is_floating_point() and not bool(torch.isfinite(t).all())]




def optimizer_step(loss: torch.Tensor, model: nn.Module, optimizer: torch.optim.Optimizer,
                   scheduler: torch.optim.lr_scheduler.LRScheduler, grad_clip: float | None) -> None:
    """One update: gradients of ``loss``, clipped to norm ``grad_clip`` (None: not clipped), an AdamW step,
    then the learning rate of the next step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip is not None:
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    scheduler.step()


def train_epoch(state: TrainingState, images: torch.Tensor, targets: torch.Tensor | None, cfg: TrainConfig, *,
                objective: Objective, device: torch.device, save: Callable[[], None]) -> dict:
    """Train the epoch ``state.epoch`` from its step ``state.step`` on; returns the epoch's row.

    ``images (N, C, H, W)`` uint8 and ``targets (N,)`` (``None`` when reconstructing) are on
    ``device``. ``save()`` writes a checkpoint of ``state``; it is called every
    ``cfg.checkpoint_every_s`` seconds inside the epoch (the caller saves at its end).
    """
    model, optimizer, scheduler = state.model, state.optimizer, state.scheduler
    n, epoch = images.shape[0], state.epoch
    steps = math.ceil(n / cfg.batch_size)
    augment = Augment.from_spec(cfg.augment)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(derived_seed(cfg.seed, 2, epoch)))
    order = order.to(device, non_blocking=True)
    aug_gen = torch.Generator(device=device).manual_seed(derived_seed(cfg.seed, 3, epoch))
    if state.aug_rng is not None:  # resuming mid-epoch
        aug_gen.set_state(state.aug_rng.cpu())
    if state.step == 0:
        state.running = fresh_running()
    running = state.running
    model.train()
    last_save = time.monotonic()
    with tqdm(total=steps, initial=state.step, disable=not progress_enabled(cfg.progress), leave=False,
              dynamic_ncols=True, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step", file=sys.stderr) as bar:
        for step in range(state.step, steps):
            t0 = time.perf_counter()
            idx = order[step * cfg.batch_size:(step + 1) * cfg.batch_size]
            x = to_float(images[idx])
            if augment is not None:
                x = augment(x, aug_gen)
            y = targets[idx] if targets is not None else None
            with autocast(device, cfg.precision):
                out = model(x)
                loss = objective.loss(out, x, y, cfg.label_smoothing)
                correct = objective.correct(out, y) if objective.labelled else None
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"loss became {loss.item()} at epoch {epoch + 1}, step {step + 1} (of {steps})")
            optimizer_step(loss, model, optimizer, scheduler, cfg.grad_clip)
            b = idx.shape[0]
            # .item() synchronises, which also makes the step time honest on CUDA.
            running["loss"] += loss.item() * b
            running["correct"] += int(correct.item()) if correct is not None else 0
            running["seen"] += b
            dt = time.perf_counter() - t0
            state.train_seconds += dt
            state.images_seen += b
            state.step = step + 1
            postfix = {"loss": f"{running['loss'] / running['seen']:.4f}", "img/s": f"{b / dt:.0f}"}
            if objective.labelled:
                postfix["acc"] = f"{running['correct'] / running['seen']:.3f}"
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
            if cfg.checkpoint_every_s is not None and time.monotonic() - last_save > cfg.checkpoint_every_s \
                    and state.step < steps:
                state.aug_rng = aug_gen.get_state()
                save()
                last_save = time.monotonic()
    row = {"epoch": epoch + 1, "lr": scheduler.get_last_lr()[0], "train_loss": running["loss"] / running["seen"]}
    if objective.labelled:
        row["train_accuracy"] = running["correct"] / running["seen"]
    return row


def _diverged_advice(cfg: TrainConfig, ckpt_path: Path | None) -> str:
    kept = f"the last good checkpoint is kept at {ckpt_path}" if ckpt_path and ckpt_path.exists() \
        else "no checkpoint was written"
    clip = f"gradients are already clipped to norm {cfg.grad_clip}" if cfg.grad_clip is not None \
        else "or clip the gradients (TrainConfig.grad_clip)"
    return f"{kept}. Lower lr ({clip}); --force starts over"


def _check_inputs(images_u8: torch.Tensor, labels: torch.Tensor | None, objective: Objective) -> None:
    if not isinstance(objective, Objective):
        raise TypeError(f"objective={objective!r} must be a kanmix.train.Objective, e.g. CLASSIFY or RECONSTRUCT")
    if images_u8.dtype != torch.uint8 or images_u8.ndim != 4:
        raise ValueError(f"images must be uint8 (N, C, H, W), got {images_u8.dtype} {tuple(images_u8.shape)}")
    n = images_u8.shape[0]
    if objective.labelled and (labels is None or labels.shape != (n,)):
        raise ValueError(f"classification needs labels of shape ({n},), got "
                         f"{None if labels is None else tuple(labels.shape)}")


def fit(model: nn.Module, images_u8: torch.Tensor, labels: torch.Tensor | None, cfg: TrainConfig | dict | None = None,
        *, checkpoint_dir: str | os.PathLike | None = None, objective: Objective = CLASSIFY,
        val: tuple[torch.Tensor, torch.Tensor] | None = None,
        on_epoch: Callable[[dict], None] | None = None,
        epoch_metrics: Callable[[nn.Module], dict] | None = None,
        after_epoch: Callable[[nn.Module, int], None] | None = None) -> dict:
    """Train ``model`` in place on ``images_u8 (N, C, H, W)`` uint8 and ``labels (N,)`` int64.

    ``objective`` says what is minimised: :data:`CLASSIFY`, cross-entropy on logits, or
    :data:`RECONSTRUCT`, MSE between the model's output and its (augmented) input, where
    ``labels`` may be ``None``. ``val`` (images,
    labels) is evaluated after every epoch (loss, and accuracy when classifying), at the
    training precision. ``epoch_metrics(model)`` adds its dict to each epoch's row (it must not
    train: it runs between epochs). ``after_epoch(model, epoch)`` may change the model after each
    epoch (1-based), before it is checkpointed: the study's hook, e.g. the KAN grid updates of
    ``cfg.grid_updates`` (:func:`kanmix.grids.grid_update_hook`); the loop itself knows nothing
    of KANs, so a config that names grid updates without a hook is refused.
    ``on_epoch(row)`` is called with each epoch's row of the history.

    Returns ``{"history": [per-epoch dicts], "train_seconds", "images_per_second",
    "steps", "device", "resumed_from_epoch"}``. ``train_seconds`` counts the time in the
    training steps (not evaluation or checkpointing), across restarts.
    """
    cfg = TrainConfig.coerce(cfg)
    _check_inputs(images_u8, labels, objective)
    if cfg.grid_updates and after_epoch is None:
        raise ValueError(f"grid_updates={list(cfg.grid_updates)} needs an after_epoch hook that applies them "
                         "(kanmix.grids.grid_update_hook)")
    device = resolve_device(cfg.device)
    model.to(device)
    images = images_u8.to(device, non_blocking=True)
    targets = labels.to(device, non_blocking=True) if objective.labelled else None
    steps_per_epoch = math.ceil(images.shape[0] / cfg.batch_size)
    optimizer, scheduler = configure_optimizers(model, cfg, steps_per_epoch * cfg.epochs)
    state = TrainingState(model, optimizer, scheduler, layout={
        "n": images.shape[0], "steps_per_epoch": steps_per_epoch, "precision": cfg.precision})

    ckpt_path = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir is not None else None
    torch.manual_seed(derived_seed(cfg.seed, 1))  # the dropout stream (a checkpoint restores its state)
    # Model, AdamW's two moments and small change: anything far larger is not this run's state.
    state_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    checkpoint = readable_checkpoint(ckpt_path, max_bytes=4 * state_bytes + (64 << 20))
    if checkpoint is not None:
        state.restore(checkpoint, device, ckpt_path)
        print(f"kanmix: resuming from {ckpt_path} (epoch {state.epoch + 1}, step {state.step + 1})",
              file=sys.stderr, flush=True)
    resumed_from = state.epoch + state.step / steps_per_epoch if checkpoint is not None else None
    unsaved = []  # the first failed checkpoint write, said once; training goes on without checkpoints

    def save() -> None:
        # The update after the last finite loss can still make weights non-finite: a state with
        # them is never kept as good, so a rerun never resumes into a diverged model.
        bad = non_finite(model)
        if bad:
            when = f"the end of epoch {state.epoch}" if state.step == 0 else \
                f"epoch {state.epoch + 1}, step {state.step}"
            raise TrainingDiverged(f"the weights became non-finite ({', '.join(bad[:3])}) by {when}")
        if ckpt_path is None or unsaved:
            return
        try:
            save_checkpoint(ckpt_path, state.to_checkpoint(device))
        except OSError as err:
            unsaved.append(err)
            print(f"kanmix: cannot write the checkpoint {ckpt_path} ({err.strerror or err}); training goes on, "
                  "but an interrupted run will restart from its last checkpoint", file=sys.stderr, flush=True)

    while state.epoch < cfg.epochs:
        try:
            row = train_epoch(state, images, targets, cfg, objective=objective, device=device, save=save)
        except TrainingDiverged as err:
            raise TrainingDiverged(f"{err}; {_diverged_advice(cfg, ckpt_path)}") from None
        if val is not None:
            row.update(evaluate(model, *val, objective=objective, batch_size=max(256, cfg.batch_size), device=device,
                                precision=cfg.precision, prefix="val_"))
        if epoch_metrics is not None:
            row.update(epoch_metrics(model))
        if after_epoch is not None:
            after_epoch(model, state.epoch + 1)
        state.history.append(row)
        state.epoch, state.step, state.aug_rng = state.epoch + 1, 0, None
        try:
            save()
        except TrainingDiverged as err:
            raise TrainingDiverged(f"{err}; {_diverged_advice(cfg, ckpt_path)}") from None
        if on_epoch is not None:
            on_epoch(row)
    return {
        "history": state.history,
        "train_seconds": state.train_seconds,
        "images_per_second": state.images_seen / state.train_seconds if state.train_seconds > 0 else None,
        "steps": steps_per_epoch * cfg.epochs,
        "device": str(device),
        "resumed_from_epoch": resumed_from,
    }


# --------------------------------------------------------------------------- inference


@torch.no_grad()
def _batched(fn: Callable[[torch.Tensor], torch.Tensor], model: nn.Module, images_u8: torch.Tensor, batch_size: int,
             device, precision: str) -> torch.Tensor:
    device = resolve_device(device) if device is not None else next(model.parameters()).device
    precision = resolve_precision(precision, device)
    model.to(device).eval()
    outs = []
    for start in range(0, images_u8.shape[0], batch_size):
        x = to_float(images_u8[start:start + batch_size].to(device, non_blocking=True))
        with autocast(device, precision):
            outs.append(fn(x).float().cpu())
    return torch.cat(outs)


def predict(model: nn.Module, images_u8: torch.Tensor, *, batch_size: int = 512, device=None,
            precision: str = "fp32") -> torch.Tensor:
    """Model outputs for uint8 images, on the CPU: logits ``(N, classes)`` or reconstructions.

    Runs in eval mode on ``device`` (default: where the model is) at ``precision`` (a run's
    numbers are scored at its training precision).
    """
    return _batched(model, model, images_u8, batch_size, device, precision)


def encode(model: nn.Module, images_u8: torch.Tensor, *, batch_size: int = 512, device=None,
           precision: str = "fp32") -> torch.Tensor:
    """Autoencoder latents ``(N, bottleneck)`` for uint8 images, on the CPU (see :func:`predict`)."""
    return _batched(model.encode, model, images_u8, batch_size, device, precision)


def evaluate(model: nn.Module, images_u8: torch.Tensor, labels: torch.Tensor | None, *,
             objective: Objective = CLASSIFY, batch_size: int = 512, device=None, precision: str = "fp32",
             prefix: str = "") -> dict:
    """Mean loss (and accuracy when the objective has labels) of ``model`` on a set, in eval mode."""
    was_training = model.training
    out = predict(model, images_u8, batch_size=batch_size, device=device, precision=precision)
    model.train(was_training)
    labels = labels.cpu() if objective.labelled else None
    scores = {f"{prefix}loss": objective.loss(out, to_float(images_u8.cpu()), labels, 0.0).item()}
    if objective.labelled:
        # float32, as torch's mean of the hits: the records' accuracies were computed this way
        scores[f"{prefix}accuracy"] = (objective.correct(out, labels).float() / out.shape[0]).item()
    return scores
