"""Where a training step of the essay's CNN goes: the book's step against its variants, side by side.

Prints figures (it is not a timed test). The issue asks for the essay's CNN at <= 0.40x the
Keras time per epoch; ``bench.keras_ratio`` measures the ratio, this bench the levers. One
process builds every variant on the same random batch of 64 (the essay's batch size), warms
each up, then times them in alternating rounds (the median of the rounds is printed, with
every round, so a neighbour's noise shows), relative to the book's own step:

* ``book``: the chapter's recipe (``seed_recipe``): channels-last, the precision the device
  layer chose (bf16 autocast where it measures faster, else float32), fused Adam;
* the other memory format and the other precision, one at a time and together;
* ``fp32 + oneDNN bf16 fpmath``: float32 tensors, oneDNN allowed to compute convolutions and
  matrix products in bf16 (``torch.backends.mkldnn.*.fp32_precision = "bf16"``), no casts;
* with ``--compile``: the book's step with the model under ``torch.compile`` (inductor,
  needs a C compiler; its compile time is printed apart).

``--profile`` adds the book step's top operators by self CPU time (``torch.profiler``).

    python -m bench.seed_step [--steps 150] [--rounds 3] [--compile] [--profile] [--tiny]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import torch
import torch.nn.functional as F

from bench._machine import vector_flags
from bmlib.core.device import cpu_name, select_device
from bmlib.train.config import make_optimizer
from bmlib.train.images import TrainConfig, prepare_batch
from bmlib.train.recipes import seed_recipe

BATCH = 64  # the essay's model.fit batch size in the book's recipe


@dataclass(frozen=True)
class Variant:
    """One way to run the step."""

    name: str
    channels_last: bool
    autocast: torch.dtype | None
    fpmath_bf16: bool = False
    compiled: bool = False


@contextmanager
def fpmath(bf16: bool) -> Iterator[None]:
    """oneDNN's implicit float32 math mode for convolutions and matmuls, restored after."""
    backends = (torch.backends.mkldnn.conv, torch.backends.mkldnn.matmul)
    before = [b.fp32_precision for b in backends]
    try:
        for b in backends:
            b.fp32_precision = "bf16" if bf16 else "ieee"
        yield
    finally:
        for b, value in zip(backends, before):
            b.fp32_precision = value


def make_step(variant: Variant, images: torch.Tensor, labels: torch.Tensor,
              seed: int) -> Callable[[], None]:
    """One optimiser step of the essay's CNN as ``variant`` runs it (same loss and update as
    :func:`bmlib.train.loop.fit`), on a fixed batch."""
    recipe = seed_recipe(seed)
    config: TrainConfig = replace(recipe.train_config, channels_last=variant.channels_last)
    torch.manual_seed(seed)
    model = recipe.build_model()
    if variant.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config.optim())
    forward = torch.compile(model) if variant.compiled else model
    dtype = variant.autocast

    def step() -> None:
        x = prepare_batch(images, config)
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            out = forward(x)
        loss = F.cross_entropy(out.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return step


def variants(book_dtype: torch.dtype | None, compiled: bool) -> list[Variant]:
    """The book's step first, then one change at a time."""
    other = None if book_dtype is not None else torch.bfloat16
    name = {None: "fp32", torch.bfloat16: "bf16"}
    rows = [Variant(f"book: channels-last, {name[book_dtype]}", True, book_dtype),
            Variant(f"channels-last, {name[other]}", True, other),
            Variant(f"NCHW, {name[book_dtype]}", False, book_dtype),
            Variant(f"NCHW, {name[other]}", False, other),
            Variant("channels-last, fp32 + oneDNN bf16 fpmath", True, None, fpmath_bf16=True)]
    if compiled:
        rows.append(Variant("book + torch.compile", True, book_dtype, compiled=True))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=150, help="steps per variant per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--warmup", type=int, default=30, help="untimed steps per variant")
    parser.add_argument("--compile", action="store_true", help="add a torch.compile variant")
    parser.add_argument("--profile", action="store_true", help="top operators of the book step")
    parser.add_argument("--tiny", action="store_true", help="a few steps (tests)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.tiny:
        args.steps, args.rounds, args.warmup = 3, 1, 1
    if min(args.steps, args.rounds) < 1 or args.warmup < 0:
        raise SystemExit("--steps and --rounds must be >= 1, --warmup >= 0")
    choice = select_device("cpu", precision="auto")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; flags {vector_flags()}")
    print(f"device layer: {choice.precision} ({choice.precision_reason})")
    generator = torch.Generator().manual_seed(args.seed)
    images = torch.randint(0, 256, (BATCH, 3, 32, 32), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (BATCH,), generator=generator)
    rows = variants(choice.autocast_dtype, args.compile)
    steps = {}
    for variant in rows:
        steps[variant.name] = make_step(variant, images, labels, args.seed)
        with fpmath(variant.fpmath_bf16):
            started = time.perf_counter()
            steps[variant.name]()
            first = time.perf_counter() - started
            for _ in range(args.warmup):
                steps[variant.name]()
        if variant.compiled:
            print(f"{variant.name}: first step (compilation) {first:.1f} s")
    times: dict[str, list[float]] = {v.name: [] for v in rows}
    for _ in range(args.rounds):
        for variant in rows:
            with fpmath(variant.fpmath_bf16):
                started = time.perf_counter()
                for _ in range(args.steps):
                    steps[variant.name]()
                times[variant.name].append((time.perf_counter() - started) / args.steps)
    book = statistics.median(times[rows[0].name])
    print(f"\nms per step of {BATCH} images, median of {args.rounds} alternating rounds of "
          f"{args.steps} steps (every round in brackets); ratio to the book's step")
    for variant in rows:
        median = statistics.median(times[variant.name])
        each = ", ".join(f"{t * 1e3:.2f}" for t in times[variant.name])
        print(f"  {variant.name:42s} {median * 1e3:7.2f} ms  {median / book:5.2f}x  [{each}]")
    if args.profile:
        from torch.profiler import profile
        step = steps[rows[0].name]
        with profile() as prof:
            for _ in range(args.steps):
                step()
        print(f"\nthe book step's operators, {args.steps} steps:")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


if __name__ == "__main__":
    main()
