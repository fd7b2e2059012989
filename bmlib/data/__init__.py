"""Data in and out of files: the CIFAR-10 binary format and its archive (find, download,
verify, extract, provenance: ``cifar10``, ``cifar10_format``, ``archives``,
``digest_cache``, ``cifar10_provenance``), the sourced tables of ``data/``, toy data sets,
and every split the book makes (``splits``).

May import: ``bmlib.core``.
The rule is ``bmlib.LAYERS['data']``, held by ``tests/test_layers.py``.
"""
