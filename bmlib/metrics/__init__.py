"""Measuring models: classification metrics from labels or probabilities
(``classification``), bootstrap intervals (``bootstrap``), calibration (``calibration``),
fairness (per-class gaps), membership inference (privacy), attribution maps
(interpretability). scikit-learn and SciPy do what they already do well (AUC, ranks).

May import: ``bmlib.core``.
The rule is ``bmlib.LAYERS['metrics']``, held by ``tests/test_layers.py``.
"""
