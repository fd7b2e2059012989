"""bmlib: the small shared library behind the executable book on AI big-model start-ups.

Importing ``bmlib`` has no side effects: no global torch settings, no downloads, no output.
Each concern lives in its own module; import what you need, e.g.
``from bmlib.device import select_device``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
