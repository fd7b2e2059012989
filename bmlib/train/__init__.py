"""Training: the book's one loop (``loop.fit``) with its configs (``config``), checkpoints and
resume; the device-resident image pipeline (``images``), the CIFAR-10 recipes with their
pinned checkpoints (``recipes``), the outlook's small CNNs (``small_cnn``) and data-parallel
training (``distributed``, DDP), all through that loop.

May import: ``bmlib.core``, ``bmlib.data``, ``bmlib.models``, ``bmlib.metrics``.
The rule is ``bmlib.LAYERS['train']``, held by ``tests/test_layers.py``.
"""
