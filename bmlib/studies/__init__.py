"""Each chapter's experiment as functions that return a result dataclass: the capacity
study, the case studies, the four-step workflow.

May import: every layer except ``bmlib.book``.
The rule is ``bmlib.LAYERS['studies']``, held by ``tests/test_layers.py``.
"""
