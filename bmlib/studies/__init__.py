"""Each chapter's experiment as functions that return a result dataclass: one module per
chapter (``industry``, ``core_concepts``, ``algorithms``, ``mathematics`` with its ``math_*``
parts, ``cifar10_project``, ``applications``, ``outlook``, ``verdict``, ``appendices``) and
the shared experiments they use (capacity, case studies, workflow, sequence tasks).

May import: every layer except ``bmlib.book``.
The rule is ``bmlib.LAYERS['studies']``, held by ``tests/test_layers.py``.
"""
