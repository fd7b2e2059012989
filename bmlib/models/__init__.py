"""Network definitions (CNNs, attention, recurrent cells, the small CNN). Model code only:
no I/O, no training loops, no global settings.

May import: nothing from bmlib (torch and NumPy only).
The rule is ``bmlib.LAYERS['models']``, held by ``tests/test_layers.py``.
"""
