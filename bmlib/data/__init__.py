"""Data in and out of files: the CIFAR-10 binary format and its archive (find, download,
verify, extract, provenance), the sourced tables of ``data/``, toy data sets and splits.

May import: ``bmlib.core``.
The rule is ``bmlib.LAYERS['data']``, held by ``tests/test_layers.py``.
"""
