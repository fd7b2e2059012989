"""CIFAR-10 training speed: a plain DataLoader loop against the device-resident fast path.

Prints figures (it is not a timed test). Run from the repository root:

    BMLIB_DATA_MIRRORS=../shared/data python -m bench.cifar10_bench [--batches 150]
        [--accuracy-epochs 0] [--improved-epochs 0] [--tiny]

* throughput of the essay's CNN at batch 64, as training images per second and seconds per
  40,000-image epoch, for (a) a plain ``DataLoader(TensorDataset)`` float32 loop, the way
  most tutorials write it, and (b) ``bmlib.training.train`` with the data resident as uint8
  (float32; float32 + channels-last; bf16 autocast + channels-last), measured in the same run
  on the same number of batches, with the ratio to the baseline;
* with ``--accuracy-epochs N``: test accuracy after N epochs of float32 vs the bf16 variant;
* with ``--improved-epochs N``: the improved recipe's test accuracy after each epoch against
  cumulative training time;
* CPU time next to wall time and the load average, because on a shared machine wall time
  measures the neighbours as much as the code; and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from bmlib.cifar10 import load_cifar10
from bmlib.cifar10_recipes import improved_recipe, seed_recipe
from bmlib.device import select_device
from bmlib.runcard import peak_rss_mb
from bmlib.training import evaluate, keras_validation_split, to_device_uint8, train

EPOCH_IMAGES = 40_000  # images in one epoch of the essay's run (validation_split=0.2)


def baseline_images_per_second(images_u8: torch.Tensor, labels: torch.Tensor,
                               batches: int, seed: int) -> tuple[float, float]:
    """(wall, CPU) images/s of a plain float32 DataLoader loop over ``batches`` batches."""
    torch.manual_seed(seed)
    model = seed_recipe(seed).build_model()
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


def fast_images_per_second(images_u8: torch.Tensor, labels: torch.Tensor, batches: int,
                           seed: int, autocast: bool, channels_last: bool) -> tuple[float, float]:
    """(wall, CPU) images/s of ``bmlib.training.train`` for one epoch of ``batches`` batches."""
    recipe = seed_recipe(seed, epochs=1)
    config = replace(recipe.train_config, autocast=autocast, channels_last=channels_last)
    torch.manual_seed(seed)
    model = recipe.build_model().to(images_u8.device)
    n = batches * 64
    cpu = time.process_time()
    result = train(model, images_u8[:n], labels[:n], config, show_progress=False)
    return result.history[0].images_per_second, n / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=150, help="batches per throughput run")
    parser.add_argument("--accuracy-epochs", type=int, default=0,
                        help="epochs for the float32 vs bf16 accuracy comparison (0: skip)")
    parser.add_argument("--improved-epochs", type=int, default=0,
                        help="epochs of the improved recipe for time-to-accuracy (0: skip)")
    parser.add_argument("--improved-width", type=int, default=16)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tiny", action="store_true", help="smoke run: few batches, no data")
    args = parser.parse_args()

    choice = select_device(args.device)
    device = choice.device
    if args.tiny:
        g = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (2000, 3, 32, 32), generator=g, dtype=torch.uint8)
        labels = torch.randint(0, 10, (2000,), generator=g)
        test_images, test_labels = images[:500], labels[:500]
        args.batches = min(args.batches, 5)
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

    x, y = to_device_uint8(images, labels, device)
    rows = []
    base_wall, base_cpu = baseline_images_per_second(images, labels.long(), args.batches, 0)
    rows.append(("plain DataLoader, float32 (baseline)", base_wall, base_cpu))
    for name, autocast, channels_last in [("fast path, float32", False, False),
                                          ("fast path, float32 + channels-last", False, True),
                                          ("fast path, bf16 autocast + channels-last", True, True)]:
        wall, cpu = fast_images_per_second(x, y, args.batches, 0, autocast, channels_last)
        rows.append((name, wall, cpu))
    print(f"\nthe essay's CNN, batch 64, {args.batches} batches per variant:")
    print(f"{'variant':44s} {'images/s':>9s} {'s/epoch':>8s} {'ratio':>6s} "
          f"{'img/CPU-s':>10s}")
    for name, wall, cpu in rows:
        print(f"{name:44s} {wall:9,.0f} {EPOCH_IMAGES / wall:8.1f} {wall / base_wall:6.2f} "
              f"{cpu:10,.0f}")
    print(f"load average after: {os.getloadavg()}")

    xt, yt = to_device_uint8(test_images, test_labels, device)
    if args.accuracy_epochs > 0:
        for fast in (False, True):
            recipe = seed_recipe(0, epochs=args.accuracy_epochs, fast=fast)
            torch.manual_seed(0)
            model = recipe.build_model().to(device)
            result = train(model, x, y, recipe.train_config, show_progress=False)
            accuracy = evaluate(model, xt, yt, recipe.train_config)[1]
            print(f"{recipe.name}: test accuracy {accuracy:.4f} after {args.accuracy_epochs} "
                  f"epoch(s), {result.history[-1].elapsed_seconds:.1f} s of training")

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
