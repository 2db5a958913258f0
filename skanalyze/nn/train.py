"""The training harness: does accuracy follow width at an equal parameter budget? (the paper's Section 4.2)

For a budget P and a list of designs, each design gets the widest buildable network under P
(skanalyze.network.widest) in the paper's layout scaled to 28x28 inputs; the prediction is
that wider networks (a larger information field) reach higher accuracy. Each (design, seed)
run trains with SGD + Nesterov momentum and a cosine or step schedule, evaluates test
accuracy, and is written atomically as one JSON file in the output folder, so a rerun with
the same arguments skips finished runs, Ctrl-C leaves every file consistent, and runs can be
spread over processes (one per GPU) sharing the folder. A NaN loss stops that run with a
clear message and is recorded as failed, never as an accuracy.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import rich.console
import rich.progress
import torch
from torch import nn as tnn

from ..analyses.network import Layout, network, widest
from ..analyses.ranking import seeds_for_power
from ..analyses.results import experiment_summary
from ..core import symbols as S
from ..core.catalog import resolve
from ..core.errors import SkanalyzeError
from ..core.outputs import write_text
from . import data as datasets
from .modules import dense_lines
from .networks import build_network

SMALL_LAYOUT = Layout(
    input_size=28, in_channels=1, stem_stride=1, maxpool=False, blocks=(1, 1, 1), classes=10
)
SCHEDULES = ("cosine", "step")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "bf16", "fp32")  # auto: bf16 autocast on CUDA, fp32 on CPU


@dataclass(frozen=True)
class Config:
    """Everything that defines an experiment (and, with a design and a seed, one run)."""

    designs: tuple[str, ...]
    budget: int
    epochs: int = 10
    seeds: int = 3
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    augment: bool = True
    normalize: bool = True
    limit_train: int | None = None
    limit_test: int | None = None
    data: str | None = None
    device: str = "auto"
    blocks: tuple[int, ...] = (1, 1, 1)
    bn: bool = False  # the budget counts BN parameters (BN is always built), as --bn in every command
    out: str = "runs"
    shard: tuple[int, int] = (1, 1)  # (i, n): train only the runs whose index is i mod n (1-based)
    threads: int | None = None  # torch threads of this process (None: torch's default)
    precision: str = "auto"  # auto | bf16 | fp32 (bf16: autocast on CUDA)

    def __post_init__(self):
        if not self.designs:
            raise SkanalyzeError("train needs at least one design: --designs dw-pw,pw-dw-pw")
        for name, value in (
            ("--epochs", self.epochs),
            ("--seeds", self.seeds),
            ("--batch-size", self.batch_size),
            ("--budget", self.budget),
        ):
            if not isinstance(value, int) or value <= 0:
                raise SkanalyzeError(f"{name} (={value}) must be a positive integer")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise SkanalyzeError(f"--lr (={self.lr}) must be a positive number")
        if self.schedule not in SCHEDULES:
            raise SkanalyzeError(f"--schedule {self.schedule!r} is unknown; valid: {', '.join(SCHEDULES)}")
        if self.device not in DEVICES:
            raise SkanalyzeError(f"--device {self.device!r} is unknown; valid: {', '.join(DEVICES)}")
        i, n = self.shard
        if not (isinstance(i, int) and isinstance(n, int) and 1 <= i <= n):
            raise SkanalyzeError(f"--shard {i}/{n} must be I/N with 1 <= I <= N, e.g. 1/4")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads <= 0):
            raise SkanalyzeError(f"--threads (={self.threads}) must be a positive integer")
        if self.precision not in PRECISIONS:
            raise SkanalyzeError(f"--precision {self.precision!r} is unknown; valid: {', '.join(PRECISIONS)}")
        if self.precision == "bf16" and self.device == "cpu":
            raise SkanalyzeError("--precision bf16 is CUDA's autocast; on --device cpu training is fp32")

    def layout(self) -> Layout:
        """The 28x28 layout: 3x3 stem at stride 1, no max pool, stages at 28, 14, 7 pixels, 10 classes."""
        return replace(SMALL_LAYOUT, blocks=tuple(self.blocks), bn=self.bn)

    def run_key(self, design: str, seed: int, context: dict | None = None) -> dict:
        """What defines one run (its results file name hashes this): the design, the seed, every training
        setting, and the context (``run_context``: the data's identity, the device and precision, torch)."""
        keys = (
            "budget",
            "epochs",
            "batch_size",
            "lr",
            "momentum",
            "weight_decay",
            "schedule",
            "augment",
            "normalize",
            "limit_train",
            "limit_test",
            "blocks",
        )
        # runs made before --bn existed counted BN in the budget and have no "bn" key: a budget that counts
        # BN keeps their key (so they resume), one that does not says so
        bn = {} if self.bn else {"bn": False}
        return {
            "design": design,
            "seed": seed,
            **{k: getattr(self, k) for k in keys},
            **bn,
            **(context or {}),
        }


def bf16(config: Config, device: torch.device) -> bool:
    """Whether this run trains under bfloat16 autocast: --precision bf16, or auto on the accelerated path."""
    if config.precision == "bf16" and device.type != "cuda" and not accelerated(device):
        raise SkanalyzeError("--precision bf16 is CUDA's autocast; on the CPU training is fp32")
    return config.precision == "bf16" or (config.precision == "auto" and accelerated(device))


def run_context(ds: datasets.Dataset, device: torch.device, config: Config | None = None) -> dict:
    """What besides the settings changes a result: the data (a hash of the images and labels), the device
    type and precision, the torch version."""
    half = bf16(config, device) if config is not None else device.type == "cuda"
    return {
        "data": ds.identity(),
        "device": device.type,
        "precision": "bf16 autocast" if half else "fp32",
        "torch": torch.__version__,
    }


def default_out(config: Config) -> str:
    """The default results folder of an experiment: runs/<budget>-<epochs>ep-<hash of the settings that change a
    result, and the designs> (seeds, shards and threads excluded: more seeds extend the same experiment)."""
    key = {k: v for k, v in config.run_key("", 0).items() if k not in ("design", "seed")}
    key.update(
        designs=list(config.designs), data=config.data, device=config.device, precision=config.precision
    )
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return str(Path("runs") / f"{config.budget}-{config.epochs}ep-{digest}")


def run_path(config: Config, design: str, seed: int, context: dict | None = None) -> Path:
    """The results file of one run: <out>/<design>-s<seed>-<hash>.json."""
    key = json.dumps(config.run_key(design, seed, context), sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    slug = "".join(ch if ch.isalnum() else "_" for ch in design).strip("_")
    return Path(config.out) / f"{slug}-s{seed}-{digest}.json"


def write_atomic(path: Path, obj) -> None:
    """Write JSON atomically (core.outputs: a temporary file beside it, renamed into place, the usual mode)."""
    write_text(path, json.dumps(obj, indent=2, default=str), "result file")


def claim(path: Path) -> bool:
    """Claim a run for this process with an atomic lock file beside its result (False: another process has
    it, or it is done). The lock is removed when the result is written or the run fails."""
    if path.exists():
        return False
    try:
        fd = os.open(path.with_name(path.name + ".lock"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, f"{os.getpid()}\n".encode())
    os.close(fd)
    return True


def release(path: Path) -> None:
    """Remove a run's lock file."""
    path.with_name(path.name + ".lock").unlink(missing_ok=True)


def pick_device(name: str, log=None) -> torch.device:
    """auto: CUDA when available, else CPU (with a warning through ``log`` when a GPU is there but this torch
    has no CUDA)."""
    if name == "cuda" and not torch.cuda.is_available():
        raise SkanalyzeError(
            "--device cuda: no CUDA device is available"
            + (f" ({gpu_without_cuda()})" if gpu_without_cuda() else "")
            + "; use --device auto or cpu"
        )
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
        if name == "cpu" and log is not None and gpu_without_cuda():
            log(f"warning: {gpu_without_cuda()}; training on the CPU")
    return torch.device(name)


def gpu_without_cuda() -> str | None:
    """A sentence when this machine has an NVIDIA GPU that this torch cannot use (a CPU-only build), else None."""
    if torch.cuda.is_available():
        return None
    present = Path("/dev/nvidia0").exists() or Path("/proc/driver/nvidia/gpus").is_dir()
    present = present or shutil.which("nvidia-smi") is not None
    if not present:
        return None
    build = (
        "a CPU-only build"
        if torch.version.cuda is None
        else f"built for CUDA {torch.version.cuda}, but sees no GPU"
    )
    return f"an NVIDIA GPU is present but torch {torch.__version__} is {build}: install a CUDA build of torch to use it"


def accelerated(device: torch.device) -> bool:
    """Whether to train with bfloat16 autocast and channels_last (on CUDA; tests switch it on for CPU)."""
    return device.type == "cuda"


@dataclass(frozen=True)
class Plan:
    """One design's network under the budget: its width, groups and exact parameter count."""

    design: str
    notation: str
    width: int
    groups: dict
    params: int


def plan(config: Config) -> list[Plan]:
    """The widest buildable network of every design under the budget, in the 28x28 layout."""
    out = []
    for name in config.designs:
        design = resolve(name)
        found = widest(design, config.layout(), config.budget)
        out.append(
            Plan(
                name,
                design.notation,
                found.width,
                {str(k): int(v) for k, v in found.groups.items()},
                found.params,
            )
        )
    return out


def build_model(p: Plan, config: Config) -> tnn.Module:
    """The network of a plan as a torch module (classifier included)."""
    design = resolve(p.design)
    groups = {S.symbol(k): v for k, v in p.groups.items()}
    # Learned line orientations train as their equivalent dense kernel: the same function and gradients.
    return dense_lines(build_network(network(design, config.layout()), p.width, groups))


# -- one run -------------------------------------------------------------------------------------------
class RunFailed(Exception):
    """A run stopped on purpose (a NaN loss)."""


class Progress:
    """A rich progress bar of the images trained, with throughput and ETA, on stderr; off when stderr is not a
    terminal (unless forced), so batch logs stay clean."""

    def __init__(self, total_images: int, enabled: bool | None = None):
        self.total, self.done = total_images, 0
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.bar = None
        if self.enabled:
            console = rich.console.Console(stderr=True, force_terminal=True if enabled else None)
            self.bar = rich.progress.Progress(
                rich.progress.TextColumn("{task.description:<42}"),
                rich.progress.BarColumn(),
                rich.progress.TaskProgressColumn(),
                rich.progress.TextColumn("{task.fields[rate]:>7} img/s"),
                rich.progress.TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self.task = self.bar.add_task("training", total=total_images, rate="")
            self.bar.start()
            self.start = time.perf_counter()

    def update(self, images: int, label: str) -> None:
        """Count images done and redraw the bar (rich limits the refresh rate)."""
        self.done += images
        if self.bar is not None:
            rate = self.done / max(time.perf_counter() - self.start, 1e-9)
            self.bar.update(self.task, advance=images, description=label[:42], rate=f"{rate:.0f}")

    def close(self) -> None:
        """Stop the bar (its last state stays on the terminal); closing twice is harmless."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _tensors(ds: datasets.Dataset, device: torch.device, normalize: bool):
    mean, std = (
        (float(ds.train_images.mean()) / 255, float(ds.train_images.std()) / 255) if normalize else (0.0, 1.0)
    )

    def prep(images):
        x = torch.from_numpy(np.array(images, dtype=np.float32)).div_(255).sub_(mean).div_(std).unsqueeze(1)
        return x

    x_tr, y_tr = prep(ds.train_images), torch.from_numpy(ds.train_labels.copy())
    x_te, y_te = prep(ds.test_images), torch.from_numpy(ds.test_labels.copy())
    if device.type == "cuda":  # the whole dataset fits on the GPU: no host-device copies per batch
        x_tr, y_tr, x_te, y_te = (
            t.to(device, non_blocking=True) for t in (x_tr.pin_memory(), y_tr, x_te, y_te)
        )
    return x_tr, y_tr, x_te, y_te


def _augment(x: torch.Tensor, gen: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip, vectorised over the batch."""
    b, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=gen, device=gen.device).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=gen, device=gen.device).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, :]
    out = padded[torch.arange(b, device=x.device)[:, None, None], 0, rows, cols].unsqueeze(1)
    flip = (torch.rand(b, generator=gen, device=gen.device) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


def _lr_at(config: Config, epoch_progress: float) -> float:
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * epoch_progress / config.epochs))
    return config.lr * (0.1 ** sum(epoch_progress >= f * config.epochs for f in (0.5, 0.75)))


def train_one(p: Plan, seed: int, config: Config, tensors, device: torch.device, progress: Progress) -> dict:
    """Train one network with one seed; returns its result (raises RunFailed on a NaN loss)."""
    torch.manual_seed(seed)
    # on CUDA the data order and the augmentation are drawn on the GPU (no host copies per step); the CPU
    # stream is the one every CPU result was trained with
    gen = torch.Generator(device=device if device.type == "cuda" else "cpu").manual_seed(seed)
    model = build_model(p, config).to(device)
    fast = accelerated(device)
    half = bf16(config, device)
    if fast:
        model = model.to(memory_format=torch.channels_last)
    x_tr, y_tr, x_te, y_te = tensors
    opt = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=True,
        weight_decay=config.weight_decay,
    )
    n = len(x_tr)
    steps = math.ceil(n / config.batch_size)
    start = time.perf_counter()
    seen = 0
    check_every = 50 if device.type == "cuda" else 1
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(n, generator=gen, device=gen.device)
        epoch_loss = torch.zeros((), device=device)
        for step in range(steps):
            for group in opt.param_groups:
                group["lr"] = _lr_at(config, epoch + step / steps)
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            xb, yb = x_tr[idx.to(x_tr.device)], y_tr[idx.to(y_tr.device)]
            if config.augment:
                xb = _augment(xb, gen)
            if fast:
                xb = xb.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
                yb = yb.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=half):
                loss = tnn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            epoch_loss += loss.detach().float() * len(idx)
            seen += len(idx)
            # Reading a CUDA value waits for the GPU: check every `check_every` steps there, every step on CPU.
            if (step + 1) % check_every == 0 or step + 1 == steps:
                if not torch.isfinite(epoch_loss):
                    raise RunFailed(
                        f"loss became {float(loss.detach())} by epoch {epoch + 1}, step {step + 1} (lr {config.lr}); "
                        "try a smaller --lr"
                    )
            progress.update(len(idx), f"{p.notation} seed {seed} epoch {epoch + 1}/{config.epochs}")
    train_seconds = time.perf_counter() - start
    accuracy, test_loss = evaluate(model, x_te, y_te, device, half)
    return {
        "train_loss": float(epoch_loss) / n,
        "test_loss": test_loss,
        "accuracy": accuracy,
        "images_per_sec": seen / max(train_seconds, 1e-9),
        "train_seconds": train_seconds,
    }


@torch.no_grad()
def evaluate(
    model: tnn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device, half: bool | None = None
) -> tuple[float, float]:
    """Test accuracy and loss (under bf16 autocast when ``half``; default: on the accelerated path)."""
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(x), 1000):
        xb, yb = x[i : i + 1000].to(device), y[i : i + 1000].to(device)
        fast = accelerated(device)
        if fast:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast if half is None else half):
            logits = model(xb).float()
        loss += float(tnn.functional.cross_entropy(logits, yb, reduction="sum"))
        correct += int((logits.argmax(1) == yb).sum())
    return correct / len(x), loss / len(x)


# -- the experiment ------------------------------------------------------------------------------------
def run(config: Config, *, progress: bool | None = None, log=print) -> dict:
    """Plan, train every unfinished (design, seed) run, and summarise all of them."""
    device = pick_device(config.device, log)
    ds = datasets.load(config.data, limit_train=config.limit_train, limit_test=config.limit_test)
    classes = config.layout().classes
    if ds.classes > classes:
        raise SkanalyzeError(
            f"the data has labels 0..{ds.classes - 1}; the 28x28 layout classifies {classes} classes (labels 0..{classes - 1})"
        )
    context = run_context(ds, device, config)
    plans = plan(config)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    # one fixed order for every shard, seed-major: a partial run leaves whole seeds (every design)
    every = [(p, seed) for seed in range(config.seeds) for p in plans]
    i, n = config.shard
    todo = [
        (p, seed)
        for k, (p, seed) in enumerate(every)
        if k % n == i - 1 and not run_path(config, p.design, seed, context).exists()
    ]
    for p in plans:
        for seed in range(config.seeds):
            path = run_path(config, p.design, seed, context)
            if path.exists() and json.loads(path.read_text()).get("status") == "failed":
                log(
                    f"run {p.notation} seed {seed} failed before and is not retried: the same seed fails the same "
                    f"way (training is deterministic); delete {path} to retry it, or change --lr"
                )
    if todo:
        if device.type == "cpu":
            torch.use_deterministic_algorithms(True, warn_only=True)
        tensors = _tensors(ds, device, config.normalize)
        bar = Progress(len(todo) * config.epochs * len(ds.train_images), progress)
        try:
            for p, seed in todo:
                path = run_path(config, p.design, seed, context)
                if not claim(path):
                    log(
                        f"run {p.notation} seed {seed} is claimed by another process ({path.name}.lock); skipped"
                    )
                    continue
                record = {
                    "run": config.run_key(p.design, seed, context),
                    "design": p.design,
                    "notation": p.notation,
                    "width": p.width,
                    "groups": p.groups,
                    "params": p.params,
                    "device": str(device),
                    # not in the key (that would orphan every earlier result), but recorded: CPU results are
                    # bit-identical at the same thread count and differ in the last digits across counts
                    "threads": torch.get_num_threads() if device.type == "cpu" else None,
                    "data": ds.source,
                    "train_images": len(ds.train_images),
                    "test_images": len(ds.test_images),
                }
                try:
                    record.update(train_one(p, seed, config, tensors, device, bar), status="ok")
                except RunFailed as err:
                    record.update(status="failed", error=str(err))
                    log(f"run {p.notation} seed {seed} failed: {err}")
                except BaseException:
                    release(path)
                    raise
                write_atomic(path, record)
                release(path)
                if not bar.enabled:  # under a batch scheduler: a line per finished run, not an empty log
                    acc = record.get("accuracy")
                    done = f"accuracy {100 * acc:.2f}%" if isinstance(acc, float) else record["status"]
                    log(
                        f"finished {p.notation} seed {seed} ({todo.index((p, seed)) + 1}/{len(todo)}): {done}"
                    )
        except KeyboardInterrupt:
            bar.close()
            finished = sum(1 for q, sd in todo if run_path(config, q.design, sd, context).exists())
            log(
                f"interrupted: {finished} of {len(todo)} runs finished and saved in {config.out}; "
                "the same command resumes from them"
            )
            raise
        finally:
            bar.close()
    return summarise(config, plans, context)


def run_auto(
    config: Config, effect: float, *, pilot: int = 3, most: int = 50, progress: bool | None = None, log=print
) -> dict:
    """``--seeds auto``: a pilot of ``pilot`` seeds, then as many seeds as the power table asks for to detect a
    slope of ``effect`` points per doubling of width with 80% power at the pilot's residual spread (at most
    ``most``); the pilot's runs are reused (the seed count is not part of a run's key)."""
    if not effect > 0:
        raise SkanalyzeError(f"--effect (={effect}) must be a positive number of points per doubling")
    if config.shard != (1, 1):
        raise SkanalyzeError(
            "--seeds auto needs the whole experiment in one process; with --shard give --seeds N"
        )
    summary = run(replace(config, seeds=pilot), progress=progress, log=log)
    test = summary["test"]
    widths = [r["width"] for r in summary["designs"] if r["accuracy_mean"] is not None]
    if test.get("residual_sd") is None or len(set(widths)) < 2:
        raise SkanalyzeError(
            "--seeds auto: the pilot gave no residual spread (fewer than two widths finished)"
        )
    need = seeds_for_power(np.log2(widths), test["residual_sd"], effect)
    log(
        f"--seeds auto: the pilot's residual spread {test['residual_sd']:.2f} points asks for {need} seeds to "
        f"detect {effect:g} point(s) per doubling with 80% power"
    )
    if need > most:
        raise SkanalyzeError(
            f"--seeds auto: {need} seeds are needed, more than {most}; the pilot's {pilot} seeds are kept in "
            f"{config.out}; give --seeds {need} to run them anyway, or a larger --effect"
        )
    return summary if need <= pilot else run(replace(config, seeds=need), progress=progress, log=log)


def summarise(config: Config, plans: list[Plan], context: dict | None = None) -> dict:
    """Per design: width, params, accuracy over seeds; the predicted vs measured ordering, with its uncertainty."""
    found = []
    for p in plans:
        paths = [run_path(config, p.design, s, context) for s in range(config.seeds)]
        records = [json.loads(path.read_text()) for path in paths if path.exists()]
        found.append((asdict(p), records))
    return {
        **experiment_summary(found, config.budget),
        "budget": config.budget,
        "config": asdict(config),
        "context": context or {},
    }


__all__ = ["Config", "run", "run_auto", "summarise", "plan"]
