"""What makes notebooks a book: chapter parameters, run cards, glue helpers, notebook
listing and execution keys, the claims ledger, sweeps, references, the environment report.

May import: ``bmlib.core``.
The rule is ``bmlib.LAYERS['book']``, held by ``tests/test_layers.py``.
"""
