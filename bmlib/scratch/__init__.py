"""The from-scratch maths of the essay's §4 in plain NumPy: an MLP with hand-written
backward passes, SGD and Adam, convolution by loops and im2col, gradient checking. These
modules never import torch: the tests compare them with torch in float64.

May import: ``bmlib.scratch`` itself only (NumPy; never torch).
The rule is ``bmlib.LAYERS['scratch']``, held by ``tests/test_layers.py``.
"""
