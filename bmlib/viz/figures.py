"""The book's figure style: every figure has a title, labelled axes and alt text.

Create figures with :func:`new_figure` and show them with :func:`show_figure`, which checks
the figure (a title, and axis labels on every axis that shows data) and renders it as an
``<img>`` that carries the alt text, so the rendered site and JupyterLab both show it to
screen readers. Nothing here changes matplotlib's global state.

A figure's number and caption are not made here: the chapter cell that shows it carries
``"mystnb": {"figure": {"name": "fig-...", "caption": "..."}}`` in its metadata, and myst-nb
puts the cell's display (this ``<img>``) in a numbered ``<figure>`` with that caption, which the
prose cites with ``{numref}`fig-...```. So a figure cell shows one figure and nothing else.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")
_DPI = 110
MIN_ALT_CHARS = 15


class FigureStyleError(ValueError):
    """A figure lacks a title, an axis label or alt text."""


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4,
               height: float = 4.0, **kwargs: Any) -> tuple[Figure, Any]:
    """A figure and its axes in the book's style (light grid, no top/right spines)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), dpi=_DPI,
                             constrained_layout=True, **kwargs)
    for ax in fig.axes:
        ax.grid(True, alpha=0.3, linewidth=0.6)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
    return fig, axes


def _axes_with_data(ax: Axes) -> bool:
    return ax.axison and bool(ax.lines or ax.collections or ax.patches or ax.images)


def check_figure(fig: Figure) -> None:
    """Raise :class:`FigureStyleError` unless the figure meets the book's rules."""
    suptitle = fig._suptitle.get_text() if fig._suptitle is not None else ""
    titled_axes = [ax for ax in fig.axes if ax.get_title()]
    if not suptitle and not titled_axes:
        raise FigureStyleError("figure has no title: call fig.suptitle(...) or ax.set_title(...)")
    for index, ax in enumerate(fig.axes):
        if not _axes_with_data(ax) or ax.get_label() == "<colorbar>":
            continue
        name = ax.get_title() or f"axes {index}"
        if not ax.get_xlabel().strip():
            raise FigureStyleError(f"{name!r}: x axis has no label (give it a name and unit)")
        if not ax.get_ylabel().strip():
            raise FigureStyleError(f"{name!r}: y axis has no label (give it a name and unit)")


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of the figure, with no timestamp so the bytes depend only on content."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def figure_title(fig: Figure) -> str:
    """The figure's suptitle, else the titles of its axes joined."""
    if fig._suptitle is not None and fig._suptitle.get_text():
        return fig._suptitle.get_text()
    return "; ".join(ax.get_title() for ax in fig.axes if ax.get_title())


def show_figure(fig: Figure, alt: str) -> None:
    """Check, display (as an ``<img>`` with ``alt``) and close a figure."""
    if not isinstance(alt, str) or len(alt.strip()) < MIN_ALT_CHARS:
        raise FigureStyleError(
            f"alt text {alt!r} is too short: describe what the figure shows "
            f"in at least {MIN_ALT_CHARS} characters"
        )
    check_figure(fig)
    from IPython.display import display  # imported here: bmlib works without IPython

    encoded = base64.b64encode(figure_png(fig)).decode("ascii")
    title = figure_title(fig)
    markup = (
        f"<img src='data:image/png;base64,{encoded}' alt='{html.escape(alt, quote=True)}' "
        f"title='{html.escape(title, quote=True)}' style='max-width:100%;height:auto'/>"
    )
    display({"text/html": markup, "text/plain": f"[figure] {title}"}, raw=True)
    plt.close(fig)
