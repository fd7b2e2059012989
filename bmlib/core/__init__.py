"""Foundations every other layer stands on: where files live, the device and precision,
seeding, progress bars, the CPU allocator setting, checksums and atomic writes.

May import: nothing from bmlib (the standard library, NumPy and torch only).
The rule is ``bmlib.LAYERS['core']``, held by ``tests/test_layers.py``.
"""
