"""The economics of large models: growth rates, training compute and cost, power-law
scaling fits. Pure functions of their inputs.

May import: ``bmlib.core``, ``bmlib.data``.
The rule is ``bmlib.LAYERS['econ']``, held by ``tests/test_layers.py``.
"""
