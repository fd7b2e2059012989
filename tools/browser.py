"""Headless Chromium for the book's tools and tests: the built site served on 127.0.0.1.

Debian's Chromium (/usr/bin/chromium, `make system` installs it) is driven by Playwright;
`playwright install` is never run (it would download a browser). The browser tests
(`tests/browser/conftest.py`) and `tools.build_pdf` both start it through `launch`.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("BMLIB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


class ChromiumMissing(RuntimeError):
    """Chromium is not installed where BMLIB_CHROMIUM (default /usr/bin/chromium) says."""


def chromium_path() -> str:
    """The Chromium executable, or ChromiumMissing naming the command that installs it."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    found = shutil.which(CHROMIUM)
    if found:
        return found
    raise ChromiumMissing(f"Chromium not found at {CHROMIUM}: run `make system` (it installs "
                          "Debian's chromium), or set BMLIB_CHROMIUM to its path")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # keep test and build output readable
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on a free port of 127.0.0.1 in a thread; yields the base URL.

    The site needs http, not file://: mermaid is an ES module.
    """
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def launch() -> Iterator[Any]:
    """Headless Chromium (a Playwright Browser), closed on exit."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
