"""A small local Sphinx extension with fixes the book's strict browser tests need.

- sphinx-thebe registers its inline configuration script twice under Jupyter Book 1, which
  makes the browser throw "Identifier 'THEBE_JS_URL' has already been declared" on every
  page. We drop exact duplicate script entries from each page's context.
- Figures are numbered per page: Fig. 1, Fig. 2, ... in every chapter. The table of contents
  is not numbered, since chapter numbers would not match the essay's section numbers that the
  headings cite (the mathematics chapter, the essay's §4, would be chapter 5), and without a
  numbered toctree Sphinx counts figures across the whole book (Fig. 23 in the sixth chapter).
  A figure number then names a figure of the page it is on, so a test keeps every
  ``{numref}`` pointing to a figure of its own chapter.
"""

from __future__ import annotations

from typing import Any


def _dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict,
                    doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        # Inline scripts are registered with filename None or "" - compare their bodies.
        body = str(getattr(script, "attributes", {}).get("body", "") or "")
        key = ("body", body) if body else ("file", str(getattr(script, "filename", script)))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique  # in place: it is the builder's own list


def number_per_page(fignumbers: dict[str, dict[str, dict[str, tuple[int, ...]]]]) -> None:
    """Renumber ``env.toc_fignumbers`` in place so each page's figures (tables, code blocks)
    count 1, 2, ... in the order Sphinx numbered them."""
    for by_type in fignumbers.values():
        for figtype, numbers in by_type.items():
            ordered = sorted(numbers, key=lambda figure_id: numbers[figure_id])
            by_type[figtype] = {figure_id: (n,) for n, figure_id in enumerate(ordered, 1)}


def _number_figures_per_page(app: Any, env: Any) -> list[str]:
    number_per_page(env.toc_fignumbers)
    return []


def setup(app: Any) -> dict[str, Any]:
    # after Sphinx's own numbering (TocTreeCollector, default priority 500)
    app.connect("env-get-updated", _number_figures_per_page, priority=900)
    app.connect("html-page-context", _dedupe_scripts, priority=100)  # first: a later handler may end the event early
    return {"parallel_read_safe": True, "parallel_write_safe": True}
