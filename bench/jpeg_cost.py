"""What the JPEG-degraded training pixels of our CIFAR-10 copy cost, estimated on exact pixels.

Prints figures (it is not a timed test). Run from the repository root:

    BMLIB_DATA_MIRRORS=../shared/data python -m bench.jpeg_cost [--epochs 10] [--seeds 2]
        [--tiny]

The training files of the book's copy were saved as JPEG somewhere upstream (see the data
folder's README); only the test file is exact, and no exact training pixels are at hand, so
the cost can only be estimated on the test images:

1. **Which quality.** Re-compressing a decoded JPEG at the quality it was saved with changes
   it least (the "JPEG ghost" of image forensics). For each quality the bench re-compresses
   2,000 training images and 2,000 exact test images and prints the mean absolute change in
   pixel levels; a dip in the training curve that the test curve lacks names the quality.
2. **Check.** The exact test images saved at that quality differ from themselves by about as
   much as the data folder's README says the training pixels are off ("about 6 out of 255").
3. **Cost.** The essay's CNN (``seed_recipe``) trained on the first 5,000 test images, once
   exact and once saved at that quality, is scored on the other 5,000 (exact), over
   ``--seeds`` seeds. This uses test images for a measurement of the data, not to choose any
   setting of the book's models; those are still chosen on the validation split only. The
   gap is an estimate for a 5,000-image training set and one small model; say so when
   quoting it.
"""

from __future__ import annotations

import argparse
import io
import statistics

import numpy as np
import torch

from bmlib.core.device import select_device
from bmlib.train.images import evaluate, to_device_uint8, train
from bmlib.train.recipes import seed_recipe

QUALITIES = tuple(range(50, 101, 5))
SUBSAMPLINGS = ("4:2:0", "4:4:4")  # chroma subsampling: Pillow's default, and none


def jpeg_roundtrip(images: np.ndarray, quality: int, subsampling: str = "4:2:0") -> np.ndarray:
    """uint8 images ``(N, 3, H, W)`` saved one by one as baseline JPEG at ``quality`` with
    ``subsampling`` of the chroma, by Pillow, and decoded again."""
    from PIL import Image

    if not 1 <= quality <= 100:
        raise ValueError(f"quality={quality}: use 1 to 100")
    if subsampling not in SUBSAMPLINGS + ("4:2:2",):
        raise ValueError(f"subsampling={subsampling!r}: use 4:4:4, 4:2:2 or 4:2:0")
    out = np.empty_like(images)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image.transpose(1, 2, 0)).save(buffer, format="JPEG", quality=quality,
                                                     subsampling=subsampling)
        buffer.seek(0)
        out[i] = np.asarray(Image.open(buffer).convert("RGB")).transpose(2, 0, 1)
    return out


def mean_abs_levels(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 arrays, in pixel levels (0-255)."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def ghost_curve(images: np.ndarray, subsampling: str,
                qualities: tuple[int, ...] = QUALITIES) -> list[float]:
    """Mean absolute change of ``images`` when re-saved at each quality."""
    return [mean_abs_levels(images, jpeg_roundtrip(images, q, subsampling)) for q in qualities]


def train_and_score(x: np.ndarray, y: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                    epochs: int, seed: int, device: torch.device) -> float:
    """Test accuracy on (xs, ys) of the essay's CNN trained on (x, y) for ``epochs``."""
    recipe = seed_recipe(seed, epochs=epochs)
    xd, yd = to_device_uint8(x, y, device)
    xsd, ysd = to_device_uint8(xs, ys, device)
    torch.manual_seed(seed)
    model = recipe.build_model().to(device)
    train(model, xd, yd, recipe.train_config, show_progress=False)
    return evaluate(model, xsd, ysd, recipe.train_config)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--tiny", action="store_true", help="smoke run on random pixels")
    args = parser.parse_args()
    device = select_device("cpu").device
    if args.tiny:
        rng = np.random.default_rng(0)
        train_images = rng.integers(0, 256, (200, 3, 32, 32), dtype=np.uint8)
        test_images = rng.integers(0, 256, (200, 3, 32, 32), dtype=np.uint8)
        test_labels = rng.integers(0, 10, 200)
        probe, half, epochs, seeds = 50, 100, 1, 1
    else:
        from bmlib.data.cifar10 import load_cifar10

        data = load_cifar10(quiet=True)
        train_images, test_images, test_labels = (data.train_images, data.test_images,
                                                  data.test_labels)
        probe, half, epochs, seeds = 2000, 5000, args.epochs, args.seeds
    print("subsampling | quality | change when re-saved (levels): training images | exact "
          "test images | ratio")
    best = (float("inf"), QUALITIES[0], SUBSAMPLINGS[0])
    for subsampling in SUBSAMPLINGS:
        train_curve = ghost_curve(train_images[:probe], subsampling)
        test_curve = ghost_curve(test_images[:probe], subsampling)
        for q, a, b in zip(QUALITIES, train_curve, test_curve):
            # the dip: training change relative to the exact images' change at that setting
            ratio = a / b if b > 0 else float("inf")
            print(f"{subsampling:>11s} | {q:7d} | {a:8.2f} | {b:8.2f} | {ratio:5.2f}")
            best = min(best, (ratio, q, subsampling))
    _, quality, subsampling = best
    print(f"deepest dip (training / test change): quality {quality}, {subsampling}")
    degraded_test = jpeg_roundtrip(test_images[:half], quality, subsampling)
    print(f"exact test images saved at quality {quality} ({subsampling}) change by "
          f"{mean_abs_levels(test_images[:half], degraded_test):.2f} levels on average "
          "(the data folder's README: training pixels off by about 6 of 255)")
    x_exact, y_fit = test_images[:half], test_labels[:half]
    xs, ys = test_images[half:2 * half], test_labels[half:2 * half]
    exact, jpeg = [], []
    for seed in range(seeds):
        exact.append(train_and_score(x_exact, y_fit, xs, ys, epochs, seed, device))
        jpeg.append(train_and_score(degraded_test, y_fit, xs, ys, epochs, seed, device))
        print(f"seed {seed}: trained on exact pixels {exact[-1]:.4f}, on JPEG-{quality} "
              f"({subsampling}) pixels {jpeg[-1]:.4f} (scored on {len(ys):,} exact images)",
              flush=True)
    gaps = [e - j for e, j in zip(exact, jpeg)]
    print(f"cost of JPEG-{quality} ({subsampling}) training pixels, essay's CNN, {epochs} "
          f"epochs on {half:,} images: {100 * statistics.mean(gaps):+.2f} points of accuracy "
          f"(per seed: {', '.join(f'{100 * g:+.2f}' for g in gaps)})")


if __name__ == "__main__":
    main()
