"""What makes notebooks a book: chapter parameters, run cards, notebook listing and
execution keys, the claims ledger, sweeps, figures, references, the environment report.

May import: ``bmlib.core``.
The rule is ``bmlib.LAYERS['book']``, held by ``tests/test_layers.py``.
"""
