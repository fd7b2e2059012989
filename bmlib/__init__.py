"""bmlib: the small shared library behind the executable book on AI big-model start-ups.

Importing ``bmlib`` has no side effects: no global torch settings, no downloads, no output.
The library is layered; each subpackage owns one concern and may import only the layers
named in :data:`LAYERS` (``tests/test_layers.py`` enforces it)::

    core      paths, device and precision, seeding, progress, allocator, checksums
    data      CIFAR-10 format and archive, sourced tables, toy data, splits
    models    network definitions - no I/O
    scratch   NumPy-from-scratch maths - never torch
    metrics   classification metrics, fairness, privacy, interpretability
    train     the training loop, recipes, checkpoints, DDP
    econ      market maths, training cost, scaling fits
    studies   each chapter's experiment, as functions returning result dataclasses
    viz       the figure style and the plots of the studies' results
    book      parameters, run cards, glue, notebooks, ledger, sweeps, references

Import what you need, e.g. ``from bmlib.core.device import select_device``.
"""

__version__ = "0.2.0"

#: For each subpackage, the other bmlib subpackages it may import (arrows point down).
LAYERS: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "data": frozenset({"core"}),
    "models": frozenset(),
    "scratch": frozenset(),
    "metrics": frozenset({"core"}),
    "train": frozenset({"core", "data", "models", "metrics"}),
    "econ": frozenset({"core", "data"}),
    "studies": frozenset({"core", "data", "models", "scratch", "metrics", "train", "econ"}),
    "viz": frozenset({"core", "data", "metrics", "econ", "studies"}),
    "book": frozenset({"core"}),
}

__all__ = ["LAYERS", "__version__"]
