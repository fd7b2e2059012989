"""Figures: the book's figure style (title, labelled axes with units, alt text, caption) and
the plots of each study's results, so chapters draw a figure with one call.

May import: ``bmlib.core``, ``bmlib.data``, ``bmlib.metrics``, ``bmlib.econ``,
``bmlib.studies`` (the results it draws). Never computes a result itself.
The rule is ``bmlib.LAYERS['viz']``, held by ``tests/test_layers.py``.
"""
