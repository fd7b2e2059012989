"""The essay's CNN: this book's PyTorch recipe against the essay's own Keras code, side by side.

Prints figures (it is not a timed test). Needs an interpreter with ``tensorflow-cpu`` (the
optional ``keras`` extra: ``pip install -e '.[keras]'``, or a separate venv named by
``--keras-python`` / ``BMLIB_KERAS_PYTHON``, since TensorFlow and PyTorch need not share one):

    BMLIB_DATA_MIRRORS=../shared/data python -m bench.keras_ratio [--epochs 2] [--pairs 3]
        [--seeds 1] [--evaluate] [--keras-python PATH]

Each pair runs two fresh processes one after the other, in alternating order (Keras first
in even pairs): ``bench/_keras_essay.py`` (the essay's §5.2 code, unchanged apart from an
offline data path and a timing callback) and this book's recipe (``seed_recipe``: the same
model, optimiser, batch 64 and 40,000/10,000 split), each training ``--epochs`` epochs.
Both are timed the same way: the training steps of an epoch, and the whole epoch with its
10,000-image validation pass. The first epoch of each process is reported apart (warm-up:
kernel selection, graph tracing). The ratio printed is ours / Keras of the per-epoch
medians over epochs 2.. of every pair, paired run by run, with the median over pairs; the
load average is printed because on a shared machine wall time measures the neighbours too.
With ``--evaluate`` each process also runs the test evaluation, so the accuracies of both
at equal epochs and seeds are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KERAS_WORKER = Path(__file__).with_name("_keras_essay.py")


def keras_python(explicit: str | None) -> str | None:
    """The interpreter that runs the Keras worker: ``explicit``, ``$BMLIB_KERAS_PYTHON``, or
    this one when it can import TensorFlow; None where none is found."""
    candidate = explicit or os.environ.get("BMLIB_KERAS_PYTHON")
    if candidate:
        if shutil.which(candidate) is None and not Path(candidate).is_file():
            raise SystemExit(f"--keras-python {candidate!r} does not exist: give the python "
                             "of a venv with tensorflow-cpu installed")
        return candidate
    probe = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True)
    return sys.executable if probe.returncode == 0 else None


def steady_median(rows: list[dict[str, Any]], key: str) -> float:
    """Median of ``key`` over epochs 2.. (the first epoch where there is only one)."""
    values = [row[key] for row in rows[1:]] or [rows[0][key]]
    return statistics.median(values)


def paired_ratios(ours: list[dict[str, Any]], keras: list[dict[str, Any]],
                  key: str) -> list[float]:
    """Per pair: our steady per-epoch median of ``key`` over Keras'."""
    if len(ours) != len(keras) or not ours:
        raise ValueError(f"need as many runs of each, and at least one: {len(ours)} vs "
                         f"{len(keras)}")
    return [steady_median(o["epochs"], key) / steady_median(k["epochs"], key)
            for o, k in zip(ours, keras)]


def ours_worker(data: str, out: str, epochs: int, seed: int, evaluate: bool) -> None:
    """Train the book's recipe for the essay's CNN, timed as the Keras worker times Keras."""
    import numpy as np
    import torch

    from bmlib.core.device import select_device
    from bmlib.data.splits import keras_validation_split
    from bmlib.train.images import evaluate as evaluate_model
    from bmlib.train.images import to_device_uint8, train
    from bmlib.train.recipes import seed_recipe

    started = time.perf_counter()
    choice = select_device("cpu", precision="auto")
    arrays = np.load(data)
    images = np.ascontiguousarray(arrays["x_train"].transpose(0, 3, 1, 2))  # NHWC -> NCHW
    labels = arrays["y_train"].reshape(-1).astype(np.int64)
    train_part, val_part = keras_validation_split(len(images), 0.2)
    x, y = to_device_uint8(images[train_part], labels[train_part], choice.device)
    xv, yv = to_device_uint8(images[val_part], labels[val_part], choice.device)
    recipe = seed_recipe(seed, epochs=epochs)
    rows: list[dict[str, float]] = []
    mark = [time.perf_counter()]

    def record(epoch_record: Any) -> None:
        now = time.perf_counter()
        rows.append({"epoch": epoch_record.epoch, "train_seconds": epoch_record.seconds,
                     "epoch_seconds": now - mark[0],
                     "val_accuracy": epoch_record.val_accuracy})
        mark[0] = now

    torch.manual_seed(seed)
    model = recipe.build_model()
    train(model, x, y, recipe.train_config, precision=choice.autocast_dtype, val_images=xv,
          val_labels=yv, show_progress=False, on_epoch_end=record)
    result: dict[str, Any] = {"framework": f"PyTorch {torch.__version__}, {choice.precision} "
                                           f"({choice.precision_reason})",
                              "seed": seed, "epochs": rows}
    if evaluate:
        xt = np.ascontiguousarray(arrays["x_test"].transpose(0, 3, 1, 2))
        xt_, yt_ = to_device_uint8(xt, arrays["y_test"].reshape(-1).astype(np.int64),
                                   choice.device)
        result["test_accuracy"] = evaluate_model(model, xt_, yt_, recipe.train_config,
                                                 choice.autocast_dtype)[1]
    result["process_seconds"] = time.perf_counter() - started
    Path(out).write_text(json.dumps(result, indent=1), encoding="utf-8")


def write_data(path: Path) -> str:
    """The book's CIFAR-10 arrays as Keras' ``load_data`` returns them (uint8 NHWC,
    labels (N, 1)), in an npz the Keras worker reads; returns the archive's description."""
    import numpy as np

    from bmlib.core.paths import portable_path
    from bmlib.data.cifar10 import load_cifar10

    data = load_cifar10(quiet=True)
    np.savez(path, x_train=data.train_images.transpose(0, 2, 3, 1),
             y_train=data.train_labels.reshape(-1, 1).astype(np.uint8),
             x_test=data.test_images.transpose(0, 2, 3, 1),
             y_test=data.test_labels.reshape(-1, 1).astype(np.uint8))
    return f"{portable_path(data.source.path)} (official: {data.source.official})"


def run_child(command: list[str], out: Path) -> dict[str, Any]:
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0 or not out.exists():
        raise SystemExit(f"{' '.join(command[:3])} failed (exit {completed.returncode}):\n"
                         f"{completed.stderr[-3000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per process (>= 2)")
    parser.add_argument("--pairs", type=int, default=3, help="alternating pairs per seed")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0, 1, ...")
    parser.add_argument("--evaluate", action="store_true", help="print test accuracies")
    parser.add_argument("--keras-python", default=None)
    parser.add_argument("--worker", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        ours_worker(*args.worker, args.epochs, args.seed, args.evaluate)
        return
    python = keras_python(args.keras_python)
    if python is None:
        print("tensorflow-cpu is not installed for this interpreter: pip install -e "
              "'.[keras]' (or pass --keras-python PATH of a venv that has it); nothing run")
        return
    from bench._machine import vector_flags
    from bmlib.core.device import cpu_name

    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; flags {vector_flags()}")
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "cifar10.npz"
        print(f"data: {write_data(data)}")
        ours, keras = [], []
        for seed in range(args.seeds):
            for pair in range(args.pairs):
                extra = ["--evaluate"] if args.evaluate else []
                jobs = {"keras": [python, str(KERAS_WORKER), str(data)],
                        "ours": [sys.executable, "-m", "bench.keras_ratio", "--worker",
                                 str(data)]}
                order = ["keras", "ours"] if pair % 2 == 0 else ["ours", "keras"]
                for name in order:
                    out = Path(folder) / f"{name}-{seed}-{pair}.json"
                    command = jobs[name] + [str(out), "--epochs", str(args.epochs),
                                            "--seed", str(seed)] + extra
                    load = os.getloadavg()[0]
                    result = run_child(command, out)
                    result["load"] = load
                    (keras if name == "keras" else ours).append(result)
                    steady = steady_median(result["epochs"], "epoch_seconds")
                    accuracy = (f", test accuracy {result['test_accuracy']:.4f}"
                                if "test_accuracy" in result else "")
                    print(f"seed {seed} pair {pair} {name:5s}: first epoch "
                          f"{result['epochs'][0]['epoch_seconds']:.1f} s, then "
                          f"{steady:.2f} s/epoch with validation "
                          f"({steady_median(result['epochs'], 'train_seconds'):.2f} s of "
                          f"training); process {result['process_seconds']:.1f} s; load "
                          f"{load:.2f}{accuracy}", flush=True)
    print(f"keras: {keras[0]['framework']}\nours:  {ours[0]['framework']}")
    for key, what in (("epoch_seconds", "whole epoch with validation"),
                      ("train_seconds", "training steps only")):
        ratios = paired_ratios(ours, keras, key)
        print(f"ours / Keras, {what}: median {statistics.median(ratios):.2f}x over "
              f"{len(ratios)} pairs (each: {', '.join(f'{r:.2f}' for r in ratios)}) "
              f"[issue target: <= 0.40x]")
    whole = [o["process_seconds"] / k["process_seconds"] for o, k in zip(ours, keras)]
    print(f"ours / Keras, whole process: median {statistics.median(whole):.2f}x")
    if args.evaluate:
        for name, runs in (("keras", keras), ("ours", ours)):
            accs = [r["test_accuracy"] for r in runs]
            print(f"{name} test accuracy after {args.epochs} epochs: mean "
                  f"{statistics.mean(accs):.4f} over {len(accs)} runs")


if __name__ == "__main__":
    main()
