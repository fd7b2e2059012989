"""A small local Sphinx extension: fixes the book's strict browser tests need, and the
claims ledger's script and downloads.

- sphinx-thebe registers its inline configuration script twice under Jupyter Book 1, which
  makes the browser throw "Identifier 'THEBE_JS_URL' has already been declared" on every
  page. We drop exact duplicate script entries from each page's context.
- The claims-ledger table is sorted and filtered by ``tools/static/ledger.js`` (with
  ``ledger.css``), a committed plain script served as a static file; it does nothing on a
  page without the table.
- When an HTML build finishes, the ledger's rows are collected from the executed notebooks
  and written as ``claims.csv`` (UTF-8 with BOM) and ``claims.json`` in the output's root,
  where the ledger page links to them.
- Figures are numbered per page: Fig. 1, Fig. 2, ... in every chapter. The table of contents
  is not numbered, since chapter numbers would not match the essay's section numbers that the
  headings cite (the mathematics chapter, the essay's §4, would be chapter 5), and without a
  numbered toctree Sphinx counts figures across the whole book (Fig. 23 in the sixth chapter).
  A figure number then names a figure of the page it is on, so a test keeps every
  ``{numref}`` pointing to a figure of its own chapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.util import logging

STATIC = Path(__file__).resolve().parent / "static"
LEDGER_DOC = "chapters/claims_ledger"


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


def _add_static(app: Any, config: Any) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def _write_ledger_downloads(app: Any, exception: BaseException | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    if LEDGER_DOC not in app.env.found_docs:
        return
    from bmlib.book.ledger_page import ledger_claims, write_downloads

    written = write_downloads(ledger_claims(Path(app.srcdir)), Path(app.outdir))
    logging.getLogger(__name__).info("claims ledger: wrote %s",
                                     ", ".join(p.name for p in written))


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


def single_page_inherits_html(handlers: dict[str, dict[str, Any]]) -> None:
    """Give the ``singlehtml`` translator every ``html`` node visitor it lacks, in place.

    Sphinx falls back to the ``html`` visitors only when no extension registered any for
    ``singlehtml``; sphinx-exercise registers some, so the single-page build (``make pdf``)
    lost mermaid's, myst-nb's and others' ("unknown node type: mermaid")."""
    single = handlers.get("singlehtml")
    if single is None:
        return
    for node, visitors in handlers.get("html", {}).items():
        single.setdefault(node, visitors)


def _single_page_visitors(app: Any) -> None:
    single_page_inherits_html(app.registry.translation_handlers)


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _single_page_visitors)
    # after Sphinx's own numbering (TocTreeCollector, default priority 500)
    app.connect("env-get-updated", _number_figures_per_page, priority=900)
    app.connect("html-page-context", _dedupe_scripts, priority=100)  # first: a later handler may end the event early
    app.connect("config-inited", _add_static)
    app.add_js_file("ledger.js", defer="defer")
    app.add_css_file("ledger.css")
    app.connect("build-finished", _write_ledger_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
