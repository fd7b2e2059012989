"""Every way the book divides a data set, in one place.

* :func:`keras_validation_split` - Keras' ``validation_split``: the last fraction of the
  arrays as given (the CIFAR-10 chapter's train / validation parts);
* :func:`holdout_last` - the last ``count`` examples held out (the CIFAR-10 chapter's design
  split: the last 5,000 training images validate every design decision of its redesign);
* :func:`stratified_subset` - a class-balanced subset of a given size (the outlook's sweep
  and privacy models);
* :func:`stratified_parts` - disjoint stratified parts of given fractions plus the rest (the
  algorithms chapter's workflow);
* :func:`three_way_indices` - stratified train / validation / test indices by fraction (the
  case studies).

The stratified splits are scikit-learn's :func:`~sklearn.model_selection.train_test_split`,
seeded explicitly; all functions return indices (or slices), never copies of the data.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from sklearn.model_selection import train_test_split


class SplitError(ValueError):
    """A split that cannot be made from the given sizes or fractions."""


def keras_validation_split(num_examples: int, fraction: float) -> tuple[slice, slice]:
    """Keras' ``validation_split``: the LAST ``fraction`` of the arrays, before shuffling.

    Keras computes ``split_at = floor(n * (1 - fraction))``; examples ``[0, split_at)`` train
    and ``[split_at, n)`` validate. Returns the two slices.
    """
    if not 0.0 <= fraction < 1.0:
        raise SplitError(f"validation fraction {fraction!r}: use 0 <= fraction < 1")
    split_at = int(math.floor(num_examples * (1.0 - fraction)))
    return slice(0, split_at), slice(split_at, num_examples)


def holdout_last(num_examples: int, count: int) -> tuple[slice, slice]:
    """(fit, held-out) slices: all but the last ``count`` examples, and those."""
    if count < 1 or num_examples <= count:
        raise SplitError(f"{num_examples} examples: need more than count={count} (and "
                         "count >= 1) to hold that many out")
    split_at = num_examples - count
    return slice(0, split_at), slice(split_at, num_examples)


def stratified_subset(labels: np.ndarray, size: int, seed: int,
                      num_classes: int = 10) -> np.ndarray:
    """Sorted indices of ``size`` examples, as equal a share of every class as possible."""
    labels = np.asarray(labels)
    if size < num_classes or size > labels.shape[0]:
        raise SplitError(f"subset size {size}: use {num_classes} <= size <= {labels.shape[0]}")
    rng = np.random.default_rng(seed)
    per_class = [size // num_classes + (1 if c < size % num_classes else 0)
                 for c in range(num_classes)]
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in enumerate(per_class)]
    return np.sort(np.concatenate(chosen))


def stratified_parts(y: np.ndarray, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Disjoint stratified index sets: one per fraction (of all of ``y``), then one with the
    rest (if any). Part ``k`` is drawn with ``random_state=seed + k``."""
    if any(f <= 0 for f in fractions) or sum(fractions) > 1 + 1e-9:
        raise SplitError(f"fractions {fractions} must be positive and sum to at most 1")
    remaining, parts = np.arange(len(y)), []
    for k, fraction in enumerate(fractions):
        take = int(round(fraction * len(y)))
        if take >= len(remaining):
            parts.append(remaining)
            return parts
        chosen, remaining = train_test_split(remaining, train_size=take, stratify=y[remaining],
                                             random_state=seed + k)
        parts.append(np.sort(chosen))
    parts.append(np.sort(remaining))
    return parts


def three_way_indices(labels: np.ndarray, seed: int, val_fraction: float = 0.2,
                      test_fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified (train, validation, test) indices; fractions are of the whole data set.

    The test part is drawn first with ``random_state=seed``, the validation part from the
    rest with ``seed + 1``; the order within each part is scikit-learn's shuffled order."""
    labels = np.asarray(labels)
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1
            and val_fraction + test_fraction < 1):
        raise SplitError(f"val_fraction={val_fraction}, test_fraction={test_fraction}: each "
                         "must be in (0, 1) and together below 1, leaving training data")
    rest, test = train_test_split(np.arange(len(labels)), test_size=test_fraction,
                                  stratify=labels, random_state=seed)
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction),
                                  stratify=labels[rest], random_state=seed + 1)
    return train, val, test
