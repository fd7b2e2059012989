"""CIFAR-10 training speed: a plain DataLoader loop against the device-resident fast path.

Prints figures (it is not a timed test). Run from the repository root:

    BMLIB_DATA_MIRRORS=../shared/data python -m bench.cifar10_bench [--batches 150]
        [--accuracy-epochs 0] [--improved-epochs 0] [--tiny]

* throughput of the essay's CNN at batch 64, as training images per second and seconds per
  40,000-image epoch, for (a) a plain ``DataLoader(TensorDataset)`` float32 loop, the way
  most tutorials write it (NCHW, ReLU-then-pool, Adam's per-parameter loop), and (b)
  ``bmlib.train.images.train`` with the data resident as uint8, adding one change per row:
  channels-last, max-pool before ReLU (exactly equal), fused Adam (= the chapter's recipe),
  then bf16 autocast; all measured in the same run on the same number of batches, with the
  ratio to the baseline;
* with ``--accuracy-epochs N``: test accuracy after N epochs of the float32 reference (the
  literal model, NCHW, loop Adam), of the chapter's fast float32 recipe and of its bf16
  variant, all from seed 0 through the same training loop;
* with ``--improved-epochs N``: the improved recipe's test accuracy after each epoch against
  cumulative training time;
* the allocator setting (``bmlib.core.allocator.retain_freed_memory``) measured on its own: the
  chapter's fast path in fresh child processes, alternately with glibc's default allocator
  and with freed memory retained, as seconds per epoch and minor page faults per step (the
  fault count does not depend on the machine's load); the main process sets it before the
  throughput table, so the baseline gets it too and the ratios show only the other changes;
* with ``--eval-batches 1000,250``: seconds and minor page faults of one 10,000-image
  evaluation at each batch size, for both recipes, in fresh processes (``--eval-only``
  runs just this);
* CPU time next to wall time and the load average, because on a shared machine wall time
  measures the neighbours as much as the code; and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from bmlib.core.allocator import minor_page_faults, retain_freed_memory
from bmlib.data.cifar10 import load_cifar10
from bmlib.train.recipes import Recipe, improved_recipe, seed_recipe
from bmlib.models.cnn import SeedCNN, SeedCNNConfig
from bmlib.core.device import select_device
from bmlib.core.progress import progress
from bmlib.book.runcard import peak_rss_mb
from bmlib.data.splits import keras_validation_split
from bmlib.train.images import evaluate, to_device_uint8, train

EPOCH_IMAGES = 40_000  # images in one epoch of the essay's run (validation_split=0.2)


def baseline_images_per_second(images_u8: torch.Tensor, labels: torch.Tensor,
                               batches: int, seed: int) -> tuple[float, float]:
    """(wall, CPU) images/s of a plain float32 DataLoader loop over ``batches`` batches."""
    torch.manual_seed(seed)
    model = SeedCNN(SeedCNNConfig(pool_before_relu=False))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    floats = images_u8.float() / 255.0  # the usual whole-set float copy
    loader = DataLoader(TensorDataset(floats, labels), batch_size=64, shuffle=True)
    wall, cpu = time.perf_counter(), time.process_time()
    seen = 0
    for step, (x, y) in enumerate(loader):
        if step == batches:
            break
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += y.shape[0]
    return seen / (time.perf_counter() - wall), seen / (time.process_time() - cpu)


VARIANTS = {  # row name -> (channels_last, pool_before_relu, fused Adam, bf16 autocast)
    "fast path, float32": (False, False, False, False),
    "  + channels-last": (True, False, False, False),
    "  + max-pool before ReLU": (True, True, False, False),
    "  + fused Adam (the chapter's recipe)": (True, True, True, False),
    "  + bf16 autocast": (True, True, True, True),
}


def variant_recipe(seed: int, epochs: int, channels_last: bool, pool_first: bool,
                   fused: bool, autocast: bool) -> tuple[Recipe, torch.dtype | None]:
    """The essay's recipe with the speed settings chosen one by one, and its precision
    (bf16 autocast forced on for the bf16 row, whatever the hardware would decide)."""
    recipe = seed_recipe(seed, epochs=epochs)
    config = replace(recipe.train_config, channels_last=channels_last, fused_optimizer=fused)
    return (replace(recipe, model_config=SeedCNNConfig(pool_before_relu=pool_first),
                    train_config=config), torch.bfloat16 if autocast else None)


def fast_images_per_second(images_u8: torch.Tensor, labels: torch.Tensor, batches: int,
                           variant: tuple[Recipe, torch.dtype | None]) -> tuple[float, float]:
    """(wall, CPU) images/s of ``bmlib.train.images.train`` for one epoch of ``batches`` batches."""
    recipe, precision = variant
    torch.manual_seed(recipe.train_config.seed)
    config = recipe.train_config
    model = recipe.build_model().to(images_u8.device)
    n = batches * 64
    cpu = time.process_time()
    result = train(model, images_u8[:n], labels[:n], config, precision=precision,
                   show_progress=False)
    return result.history[0].images_per_second, n / (time.process_time() - cpu)


def allocator_probe(retain: bool, batches: int) -> tuple[float, float]:
    """In a fresh process: (s/epoch, minor page faults per step) of the chapter's fast path.

    Random uint8 pixels (the speed of these kernels does not depend on pixel values); one
    warm-up epoch of 20 batches, then ``batches`` measured batches.
    """
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batches * 64, 3, 32, 32), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 10, (batches * 64,), generator=g)
    recipe = seed_recipe(0, epochs=1)
    torch.manual_seed(0)
    model = recipe.build_model()
    train(model, images[:20 * 64], labels[:20 * 64], recipe.train_config, show_progress=False,
          retain_memory=retain)
    faults = minor_page_faults()
    result = train(model, images, labels, recipe.train_config, show_progress=False,
                   retain_memory=retain)
    return (EPOCH_IMAGES / result.history[0].images_per_second,
            (minor_page_faults() - faults) / batches)


def compare_allocators(batches: int, rounds: int) -> None:
    """Print the fast path's speed and page faults with and without retained freed memory."""
    context = multiprocessing.get_context("spawn")  # a fresh allocator in every child
    rows: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    pool = context.Pool(1, maxtasksperchild=1)
    try:
        for _ in progress(range(rounds), desc="allocator rounds"):
            for retain in (False, True):
                rows[retain].append(pool.apply(allocator_probe, (retain, batches)))
    finally:
        pool.close()
        pool.join()
    print(f"\nallocator: the chapter's fast path, {batches} batches per fresh process, median of "
          f"{rounds} alternating rounds:")
    for retain, name in ((False, "glibc default"), (True, "freed memory retained")):
        seconds = statistics.median(r[0] for r in rows[retain])
        faults = statistics.median(r[1] for r in rows[retain])
        print(f"  {name:24s} {seconds:6.1f} s/epoch {faults:8,.0f} page faults/step")
    ratio = statistics.median(d[0] / r[0] for d, r in zip(rows[False], rows[True]))
    print(f"  speed-up (per round, median): {ratio:.2f}x")


def evaluation_probe(recipe_name: str, eval_batch_size: int, images: int) -> tuple[float, float]:
    """In a fresh process, with freed memory retained as after training: (seconds, minor page
    faults) of one ``images``-image evaluation of a fresh model of ``recipe_name``
    (``"seed"``: the essay's CNN; ``"improved"``: the improved recipe, its test-time
    augmentation on) in batches of ``eval_batch_size``, after one warm-up evaluation."""
    retain_freed_memory()
    recipe = seed_recipe(0, 1) if recipe_name == "seed" else improved_recipe(0, 1)
    config = replace(recipe.train_config, eval_batch_size=eval_batch_size)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (images, 3, 32, 32), generator=g, dtype=torch.uint8)
    y = torch.randint(0, 10, (images,), generator=g)
    torch.manual_seed(0)
    model = recipe.build_model()
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    evaluate(model, x[:2 * eval_batch_size], y[:2 * eval_batch_size], config)  # warm-up
    faults, started = minor_page_faults(), time.perf_counter()
    evaluate(model, x, y, config)
    return time.perf_counter() - started, minor_page_faults() - faults


def compare_eval_batches(sizes: list[int], rounds: int, images: int) -> None:
    """Print page faults and seconds of an evaluation at each batch size, fresh processes in
    alternating order (a batch whose activations pass glibc's 32 MiB mmap ceiling gets fresh
    mappings, hence zeroed pages, every time)."""
    context = multiprocessing.get_context("spawn")
    rows: dict[tuple[str, int], list[tuple[float, float]]] = {}
    pool = context.Pool(1, maxtasksperchild=1)
    try:
        for round_ in progress(range(rounds), desc="evaluation rounds"):
            order = sizes if round_ % 2 == 0 else sizes[::-1]
            for name in ("seed", "improved"):
                for size in order:
                    rows.setdefault((name, size), []).append(
                        pool.apply(evaluation_probe, (name, size, images)))
    finally:
        pool.close()
        pool.join()
    print(f"\nevaluation of {images:,} images by batch size, fresh processes, median of "
          f"{rounds} alternating rounds:")
    for name, label in (("seed", "essay's CNN"), ("improved", "improved recipe, 6-view TTA")):
        for size in sizes:
            seconds = statistics.median(r[0] for r in rows[(name, size)])
            faults = statistics.median(r[1] for r in rows[(name, size)])
            print(f"  {label:28s} batch {size:5d}: {seconds:6.2f} s {faults:10,.0f} page faults")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=150, help="batches per throughput run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved repetitions of every throughput variant")
    parser.add_argument("--accuracy-epochs", type=int, default=0,
                        help="epochs for the float32 vs bf16 accuracy comparison (0: skip)")
    parser.add_argument("--improved-epochs", type=int, default=0,
                        help="epochs of the improved recipe for time-to-accuracy (0: skip)")
    parser.add_argument("--improved-width", type=int, default=32)
    parser.add_argument("--allocator-rounds", type=int, default=3,
                        help="alternating fresh-process rounds of the allocator comparison "
                             "(0: skip; CPU only)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--eval-batches", default="",
                        help="comma-separated evaluation batch sizes to compare for page "
                             "faults and time, e.g. 1000,250 (empty: skip)")
    parser.add_argument("--eval-rounds", type=int, default=2)
    parser.add_argument("--eval-only", action="store_true",
                        help="run only the evaluation batch-size comparison")
    parser.add_argument("--tiny", action="store_true", help="smoke run: few batches, no data")
    args = parser.parse_args()
    if args.eval_batches:
        try:
            sizes = [int(part) for part in args.eval_batches.split(",")]
        except ValueError:
            parser.error(f"--eval-batches {args.eval_batches!r}: give sizes like 1000,250")
        if min(sizes) < 1:
            parser.error(f"--eval-batches {args.eval_batches!r}: sizes must be >= 1")
        compare_eval_batches(sizes, args.eval_rounds, 500 if args.tiny else 10_000)
    if args.eval_only:
        return

    choice = select_device(args.device)
    device = choice.device
    if args.tiny:
        g = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (2000, 3, 32, 32), generator=g, dtype=torch.uint8)
        labels = torch.randint(0, 10, (2000,), generator=g)
        test_images, test_labels = images[:500], labels[:500]
        args.batches = min(args.batches, 5)
        args.rounds = min(args.rounds, 2)
        args.allocator_rounds = min(args.allocator_rounds, 1)
    else:
        data = load_cifar10(quiet=True)
        train_part, _ = keras_validation_split(data.train_images.shape[0], 0.2)
        images = torch.from_numpy(data.train_images[train_part])
        labels = torch.from_numpy(data.train_labels[train_part])
        test_images = torch.from_numpy(data.test_images)
        test_labels = torch.from_numpy(data.test_labels)
        print(f"data: {data.source.path} (official: {data.source.official})")
    print(f"device: {device} - {choice.name}; torch threads {torch.get_num_threads()}; "
          f"load average before: {os.getloadavg()}")

    if device.type == "cpu" and args.allocator_rounds > 0:
        compare_allocators(args.batches, args.allocator_rounds)
    setting = retain_freed_memory()  # for every row below, the baseline included
    print(f"\nallocator for the table below: {setting.reason}")

    x, y = to_device_uint8(images, labels, device)
    baseline = "plain DataLoader, float32 (baseline)"
    measured: dict[str, list[tuple[float, float]]] = {baseline: [], **{k: [] for k in VARIANTS}}
    for _ in progress(range(args.rounds), desc="rounds"):
        # round-robin, so a slow spell of the machine hits every variant alike
        measured[baseline].append(
            baseline_images_per_second(images, labels.long(), args.batches, 0))
        for name, settings in VARIANTS.items():
            measured[name].append(fast_images_per_second(x, y, args.batches,
                                                         variant_recipe(0, 1, *settings)))
    print(f"\nthe essay's CNN, batch 64, {args.batches} batches per variant, median of "
          f"{args.rounds} interleaved rounds (ratio: per round against the baseline, median):")
    print(f"{'variant':44s} {'images/s':>9s} {'s/epoch':>8s} {'best':>6s} {'ratio':>6s} "
          f"{'img/CPU-s':>10s}")
    for name, runs in measured.items():
        wall = statistics.median(r[0] for r in runs)
        best = max(r[0] for r in runs)
        ratio = statistics.median(r[0] / b[0] for r, b in zip(runs, measured[baseline]))
        cpu = statistics.median(r[1] for r in runs)
        print(f"{name:44s} {wall:9,.0f} {EPOCH_IMAGES / wall:8.1f} {EPOCH_IMAGES / best:6.1f} "
              f"{ratio:6.2f} {cpu:10,.0f}")
    print(f"load average after: {os.getloadavg()}")

    xt, yt = to_device_uint8(test_images, test_labels, device)
    if args.accuracy_epochs > 0:
        print(f"\ntest accuracy after {args.accuracy_epochs} epoch(s), seed 0:")
        reference = None
        for name, settings in [("float32 reference (NCHW, ReLU-then-pool, loop Adam)",
                                (False, False, False, False)),
                               ("the chapter's fast float32 recipe", (True, True, True, False)),
                               ("  + bf16 autocast", (True, True, True, True))]:
            recipe, precision = variant_recipe(0, args.accuracy_epochs, *settings)
            torch.manual_seed(0)
            model = recipe.build_model().to(device)
            result = train(model, x, y, recipe.train_config, precision=precision,
                           show_progress=False)
            accuracy = evaluate(model, xt, yt, recipe.train_config, precision)[1]
            reference = accuracy if reference is None else reference
            print(f"{name:52s} {accuracy:.4f} ({100 * (accuracy - reference):+.2f} points), "
                  f"{result.history[-1].elapsed_seconds:6.1f} s of training")

    if args.improved_epochs > 0:
        recipe = improved_recipe(0, epochs=args.improved_epochs, width=args.improved_width)
        torch.manual_seed(0)
        model = recipe.build_model().to(device)
        all_x = x if args.tiny else torch.cat([x, to_device_uint8(
            torch.from_numpy(data.train_images[40_000:]),
            torch.from_numpy(data.train_labels[40_000:]), device)[0]])
        all_y = y if args.tiny else torch.cat([y, torch.from_numpy(
            data.train_labels[40_000:]).to(device)])
        result = train(model, all_x, all_y, recipe.train_config, val_images=xt, val_labels=yt,
                       show_progress=False)
        print("\nimproved recipe: epoch, cumulative training s, test accuracy")
        for h in result.history:
            print(f"  {h.epoch:3d} {h.elapsed_seconds:9.1f} {h.val_accuracy:.4f}")
    print(f"\npeak resident memory: {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
