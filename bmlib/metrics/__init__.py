"""Measuring models: classification metrics, fairness (per-class gaps), membership
inference (privacy), attribution maps (interpretability).

May import: ``bmlib.core``.
The rule is ``bmlib.LAYERS['metrics']``, held by ``tests/test_layers.py``.
"""
