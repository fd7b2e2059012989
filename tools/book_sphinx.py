"""A small local Sphinx extension with fixes the book's strict browser tests need.

- sphinx-thebe registers its inline configuration script twice under Jupyter Book 1, which
  makes the browser throw "Identifier 'THEBE_JS_URL' has already been declared" on every
  page. We drop exact duplicate script entries from each page's context.
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


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _dedupe_scripts, priority=100)  # first: a later handler may end the event early
    return {"parallel_read_safe": True, "parallel_write_safe": True}
