"""Fixtures for browser tests: the built site served on 127.0.0.1 and headless Chromium.

Both come from `tools.browser`, which `tools.build_pdf` uses too: Debian's Chromium
(/usr/bin/chromium, or BMLIB_CHROMIUM) driven by Playwright, never a downloaded browser.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bmlib.core.paths import repo_root
from tools import browser as chromium

SITE = Path(os.environ.get("BMLIB_SITE_DIR", repo_root() / "_build" / "html"))


@pytest.fixture(scope="session")
def site_dir() -> Path:
    if not (SITE / "index.html").exists():
        pytest.fail(f"no built site in {SITE}: run `make build` first")
    return SITE


@pytest.fixture(scope="session")
def base_url(site_dir):
    with chromium.serve(site_dir) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    try:
        with chromium.launch() as launched:
            yield launched
    except chromium.ChromiumMissing as missing:
        pytest.fail(str(missing))
