"""Training: the device-resident classifier loop with its configs, checkpoints and
resume, the CIFAR-10 recipes with their pinned checkpoints, data-parallel training (DDP).

May import: ``bmlib.core``, ``bmlib.data``, ``bmlib.models``, ``bmlib.metrics``.
The rule is ``bmlib.LAYERS['train']``, held by ``tests/test_layers.py``.
"""
