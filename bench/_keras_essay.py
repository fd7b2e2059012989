"""The essay's Keras code (§5.2), run as written, timed per epoch; a worker of
``bench/keras_ratio.py``, run by an interpreter that has ``tensorflow-cpu`` (the ``keras``
extra). It imports nothing of bmlib (that interpreter need not have PyTorch).

    python bench/_keras_essay.py DATA.npz OUT.json --epochs 2 --seed 0

Changed from the essay: the data come from ``DATA.npz`` (uint8 NHWC images and labels that
the orchestrator wrote from the book's offline archive) instead of
``datasets.cifar10.load_data()``, which downloads; the epochs and the seed are arguments;
a callback records times; nothing else. The model, ``compile`` and ``fit`` lines are the
essay's.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's start-up banner

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


class EpochTimes(tf.keras.callbacks.Callback):
    """Wall time of each epoch: its training steps, and the whole epoch with validation."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, float]] = []

    def on_epoch_begin(self, epoch, logs=None):  # noqa: ANN001 - Keras' signature
        self._start = time.perf_counter()
        self._train_end = None

    def on_test_begin(self, logs=None):  # noqa: ANN001 - fit's validation pass starts
        if self._train_end is None:
            self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):  # noqa: ANN001
        end = time.perf_counter()
        logs = logs or {}
        self.rows.append({"epoch": epoch + 1,
                          "train_seconds": (self._train_end or end) - self._start,
                          "epoch_seconds": end - self._start,
                          "val_accuracy": float(logs.get("val_accuracy", float("nan")))})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", help="npz with x_train, y_train, x_test, y_test (uint8)")
    parser.add_argument("out", help="where to write the JSON result")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--evaluate", action="store_true", help="also run §5.2.4 on the test set")
    args = parser.parse_args()
    tf.keras.utils.set_random_seed(args.seed)
    started = time.perf_counter()

    # §5.2.1, with the offline data path
    arrays = np.load(args.data)
    (x_train, y_train), (x_test, y_test) = ((arrays["x_train"], arrays["y_train"]),
                                            (arrays["x_test"], arrays["y_test"]))
    x_train = x_train.astype(np.float32) / 255.0
    x_test = x_test.astype(np.float32) / 255.0
    y_train = tf.keras.utils.to_categorical(y_train, 10)
    y_test = tf.keras.utils.to_categorical(y_test, 10)

    # §5.2.2, as written
    from tensorflow.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from tensorflow.keras.models import Sequential

    model = Sequential([
        Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)),
        MaxPooling2D(pool_size=(2, 2)),
        Conv2D(64, (3, 3), activation='relu'),
        MaxPooling2D(pool_size=(2, 2)),
        Flatten(),
        Dense(128, activation='relu'),
        Dropout(0.5),
        Dense(10, activation='softmax')
    ])
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])

    # §5.2.3, epochs from the command line
    times = EpochTimes()
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, validation_split=0.2,
              callbacks=[times], verbose=0)
    result = {"framework": f"TensorFlow {tf.__version__}, Keras {tf.keras.__version__}",
              "seed": args.seed, "epochs": times.rows}
    if args.evaluate:  # §5.2.4
        test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
        result["test_accuracy"] = float(test_acc)
    result["process_seconds"] = time.perf_counter() - started
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
