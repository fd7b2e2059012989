"""The airbench-style recipe on the CPU: validation accuracy against training time.

Prints figures (it is not a timed test). Run from the repository root:

    BMLIB_DATA_MIRRORS=../shared/data python -m bench.cifar10_airbench [--epochs 12]
        [--width-scale 1.0] [--seeds 1] [--without INGREDIENT] [--speed-batches 0] [--tiny]

Trains :func:`bmlib.train.airbench_recipe.airbench_recipe` on the design split (45,000
training images; the last 5,000 of the training files are the validation set) and prints,
after each epoch, the cumulative training time and the validation accuracy (image + mirror),
the time at which validation accuracy first reached ``--target`` (94 %), then the final
model's validation accuracy with the full six-view test-time augmentation and how long that
evaluation took. ``--without`` removes one ingredient (the chapter's ablation). The test set is not touched: design happens on
validation. ``--speed-batches N`` only times N training batches at each width scale given
(comma-separated), to size a run before starting it. The CPU's flags and the precision the
device layer chose are printed with the figures.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from bench._machine import vector_flags
from bmlib.core.device import select_device
from bmlib.data.splits import holdout_last
from bmlib.train.airbench_recipe import (ABLATIONS, DESIGN_VALIDATION, airbench_recipe,
                                         train_airbench, without)
from bmlib.train.images import evaluate, to_device_uint8


def time_batches(x: torch.Tensor, y: torch.Tensor, width_scale: float, batches: int,
                 batch_size: int, precision: torch.dtype | None) -> float:
    """Seconds per 45,000-image epoch, from ``batches`` timed batches after 3 warm-up ones."""
    recipe = airbench_recipe(0, epochs=1, width_scale=width_scale, batch_size=batch_size)
    torch.manual_seed(0)
    model = recipe.build_model(x)
    train_airbench(model, recipe, x[:3 * batch_size], y[:3 * batch_size], precision=precision,
                   show_progress=False)
    n = batches * batch_size
    result = train_airbench(model, recipe, x[:n], y[:n], precision=precision,
                            show_progress=False)
    return 45_000 / result.history[0].images_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # defaults: the chapter's recipe (12 full-width epochs: 40 s each in bf16 on a 2-core
    # Xeon with AMX; on a 2-core AVX2 EPYC in float32 a full-width epoch took 337 s)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--width-scale", default="1.0",
                        help="factor on airbench94's widths 64/256/256 (comma-separated "
                             "list with --speed-batches)")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=0.75)
    parser.add_argument("--momentum", type=float, default=0.85)
    parser.add_argument("--weight-decay", type=float, default=1.33e-3)
    parser.add_argument("--without", default="", choices=("", *ABLATIONS),
                        help="remove one ingredient (an ablation)")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--target", type=float, default=0.94,
                        help="validation accuracy whose time of arrival is printed")
    parser.add_argument("--speed-batches", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=("auto", "float32", "bf16"))
    parser.add_argument("--tiny", action="store_true", help="smoke run on random pixels")
    args = parser.parse_args()
    choice = select_device(args.device, precision=args.precision)
    print(f"device: {choice.name}; flags {vector_flags()}; precision {choice.precision} "
          f"({choice.precision_reason})")
    try:
        scales = [float(s) for s in args.width_scale.split(",")]
    except ValueError:
        parser.error(f"--width-scale {args.width_scale!r}: give factors like 1.0 or 0.5,1.0")
    if args.tiny:
        g = torch.Generator().manual_seed(0)
        images = torch.randint(0, 256, (600, 3, 32, 32), generator=g, dtype=torch.uint8)
        labels = torch.randint(0, 10, (600,), generator=g)
        fit_part, val_part = slice(0, 500), slice(500, 600)
        args.epochs, scales, args.batch_size = 1, [s / 8 for s in scales], 100
        args.speed_batches = min(args.speed_batches, 2)
    else:
        from bmlib.data.cifar10 import load_cifar10

        data = load_cifar10(quiet=True)
        images = torch.from_numpy(data.train_images)
        labels = torch.from_numpy(data.train_labels)
        fit_part, val_part = holdout_last(len(images), DESIGN_VALIDATION)
    x, y = to_device_uint8(images[fit_part], labels[fit_part], choice.device)
    xv, yv = to_device_uint8(images[val_part], labels[val_part], choice.device)
    print(f"design split: {x.shape[0]:,} training images, {xv.shape[0]:,} validation images "
          "(the test set is not used)")
    if args.speed_batches:
        for scale in scales:
            seconds = time_batches(x, y, scale, args.speed_batches, args.batch_size,
                                   choice.autocast_dtype)
            widths = airbench_recipe(0, width_scale=scale).model_config.widths
            print(f"width scale {scale:g} (widths {widths}): {seconds:.1f} s per "
                  f"45,000-image epoch at batch {args.batch_size}", flush=True)
        return
    for seed in range(args.seeds):
        recipe = airbench_recipe(seed, args.epochs, scales[0], args.batch_size, args.lr,
                                 args.momentum, args.weight_decay)
        if args.without:
            recipe = without(recipe, args.without)
        torch.manual_seed(seed)
        model = recipe.build_model(x)
        started = time.perf_counter()

        def report(record) -> None:  # noqa: ANN001 - an EpochRecord
            print(f"seed {seed} epoch {record.epoch:2d}: {record.elapsed_seconds / 60:5.2f} min "
                  f"of training, validation accuracy {record.val_accuracy:.4f} "
                  f"(loss {record.train_loss:.3f})", flush=True)

        result = train_airbench(model, recipe, x, y, precision=choice.autocast_dtype,
                                val_images=xv, val_labels=yv, show_progress=False,
                                on_epoch_end=report)
        reached = [h for h in result.history if h.val_accuracy >= args.target]
        print(f"seed {seed}: time to {args.target:.0%} validation accuracy (image + mirror): "
              + (f"{reached[0].elapsed_seconds / 60:.2f} min of training (epoch "
                 f"{reached[0].epoch})" if reached else
                 f"not reached in {len(result.history)} epochs (best "
                 f"{max(h.val_accuracy for h in result.history):.4f})"), flush=True)
        wall = time.perf_counter() - started
        eval_started = time.perf_counter()
        accuracy = evaluate(model, xv, yv, recipe.train_config, choice.autocast_dtype)[1]
        flip_only = evaluate(model, xv, yv, replace(recipe.train_config, tta_shift=0),
                             choice.autocast_dtype)[1]
        print(f"seed {seed}: widths {recipe.model_config.widths}, {args.epochs} epochs, "
              f"{wall / 60:.2f} min wall with per-epoch validation; final validation "
              f"accuracy {accuracy:.4f} with six-view TTA ({flip_only:.4f} image + mirror); "
              f"both evaluations {time.perf_counter() - eval_started:.1f} s")


if __name__ == "__main__":
    main()
