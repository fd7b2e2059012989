"""Visit every page of the built site in headless Chromium.

Each page must: load with no JavaScript errors, typeset its math (MathJax served locally),
render its mermaid diagrams as SVG (mermaid served locally), load every image and give each
an alt text, link only to internal pages and anchors that exist, and make no request that
leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from bmlib.core.paths import repo_root

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SITE = Path(os.environ.get("BMLIB_SITE_DIR", repo_root() / "_build" / "html"))
SCREENSHOTS = repo_root() / "_build" / "screenshots"
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static", "_panels_static"}

# Console messages that are not errors of the book (keep this list short and commented).
ALLOWED_CONSOLE = [
    # Chromium asks every origin for /favicon.ico; the book has none and the server says 404.
    re.compile(r"favicon\.ico"),
]


def site_pages() -> list[str]:
    if not SITE.exists():
        return ["index.html"]  # the site_dir fixture then fails with a clear message
    pages = []
    for path in sorted(SITE.rglob("*.html")):
        rel = path.relative_to(SITE)
        if rel.parts[0] in SKIP_DIRS:
            continue
        pages.append(rel.as_posix())
    return pages


@lru_cache(maxsize=None)
def ids_in(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r'\bid="([^"]+)"', text))


@pytest.mark.parametrize("page_path", site_pages())
def test_page(page_path, browser, base_url, site_dir):
    page = browser.new_page()
    console_errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
    page.on("pageerror", lambda e: console_errors.append(f"uncaught: {e}"))

    def guard(route):
        url = urlparse(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in (
                "127.0.0.1", "localhost"):
            outside.append(route.request.url)
            return route.abort()
        return route.continue_()

    page.route("**/*", guard)
    page.goto(base_url + page_path, wait_until="load")

    # Math: every MathJax source element becomes an mjx-container.
    if page.locator(".math, span.math, div.math").count():
        page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
        assert page.locator("mjx-container").count() >= 1
        assert "\\(" not in page.locator("mjx-container").first.inner_html()

    # Diagrams: each mermaid block is replaced by an SVG.
    diagrams = page.locator("pre.mermaid").count()
    if diagrams:
        page.wait_for_function(
            "n => document.querySelectorAll('pre.mermaid svg').length >= n", arg=diagrams,
            timeout=30_000)
        text = page.locator("pre.mermaid svg").first.text_content()
        assert text and text.strip(), "a mermaid SVG with no text"

    page.wait_for_load_state("networkidle")

    # Images: loaded and described.
    images = page.evaluate("""() => Array.from(document.images).map(i => ({
        src: i.getAttribute('src'), alt: (i.getAttribute('alt') || '').trim(),
        ok: i.complete && i.naturalWidth > 0}))""")
    for image in images:
        assert image["ok"], f"image did not load: {image['src'][:80]}"
        assert image["alt"], f"image without alt text: {image['src'][:80]}"

    # Internal links: the target page exists and so does the anchor.
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.href)")
    broken = []
    for href in hrefs:
        if not href.startswith(base_url):
            continue
        parsed = urlparse(href)
        target = site_dir / unquote(parsed.path[len(urlparse(base_url).path):])
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(href)
        elif parsed.fragment and target.suffix == ".html" and \
                unquote(parsed.fragment) not in ids_in(target):
            broken.append(href)
    assert not broken, f"broken internal links: {sorted(set(broken))[:10]}"

    errors = [e for e in console_errors if not any(p.search(e) for p in ALLOWED_CONSOLE)]
    assert not errors, f"JavaScript errors: {errors}"
    assert not outside, f"requests left localhost: {sorted(set(outside))[:10]}"

    if page_path in ("index.html", "chapters/core_concepts.html"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / (Path(page_path).stem + ".png")), full_page=False)
    page.close()


# --- the claims ledger: sort, filter, downloads ----------------------------------------------

LEDGER_PAGE = "chapters/claims_ledger.html"
LEDGER_ROWS = "#claims-ledger-table tbody tr"


def _visible_column(page, column: int) -> list[str]:
    return page.evaluate(
        """([sel, col]) => Array.from(document.querySelectorAll(sel))
             .filter(r => !r.hidden).map(r => r.cells[col].textContent.trim())""",
        [LEDGER_ROWS, column])


@pytest.fixture
def ledger_page(browser, base_url, site_dir):
    if not (site_dir / LEDGER_PAGE).exists():
        pytest.skip("the site has no claims-ledger page")
    page = browser.new_page()
    page.goto(base_url + LEDGER_PAGE, wait_until="load")
    if not page.locator("#claims-ledger-table").count():
        pytest.fail("the ledger page has no sortable table: re-execute chapters/claims_ledger")
    page.wait_for_selector(".bmlib-ledger-count")
    yield page
    page.close()


def _header_index(page, name: str) -> int:
    names = page.evaluate("""() => Array.from(
        document.querySelectorAll('#claims-ledger-table thead th'), th => th.textContent.trim())""")
    return names.index(name)


def test_ledger_filter_by_verdict_shows_only_that_verdict(ledger_page):
    page = ledger_page
    total = page.locator(LEDGER_ROWS).count()
    verdict = _header_index(page, "verdict")
    wrong = _visible_column(page, verdict).count("wrong")
    assert page.locator(".bmlib-ledger-count").text_content() == f"{total} of {total} rows shown"
    assert 0 < wrong < total
    page.select_option("select[data-column='verdict']", "wrong")
    assert set(_visible_column(page, verdict)) == {"wrong"}
    assert len(_visible_column(page, verdict)) == wrong
    assert page.locator(".bmlib-ledger-count").text_content() == f"{wrong} of {total} rows shown"
    page.select_option("select[data-column='verdict']", "")
    assert len(_visible_column(page, verdict)) == total
    # A link to a row that the filter hides clears the filters.
    ids = _visible_column(page, _header_index(page, "id"))
    other = next(i for i, v in zip(ids, _visible_column(page, verdict)) if v != "wrong")
    page.select_option("select[data-column='verdict']", "wrong")
    page.evaluate("id => { location.hash = 'claim-' + id; }", other)
    page.wait_for_function("() => !document.getElementById(location.hash.slice(1)).hidden")
    assert page.locator(".bmlib-ledger-count").text_content() == f"{total} of {total} rows shown"


def test_ledger_sorts_by_id_and_back_to_essay_order(ledger_page):
    page = ledger_page
    column = _header_index(page, "id")
    essay_order = _visible_column(page, column)
    page.click("#claims-ledger-table thead th:nth-child(%d) button" % (column + 1))
    assert _visible_column(page, column) == sorted(essay_order)
    page.click("#claims-ledger-table thead th:nth-child(%d) button" % (column + 1))
    assert _visible_column(page, column) == sorted(essay_order, reverse=True)
    where = _header_index(page, "where")
    page.click("#claims-ledger-table thead th:nth-child(%d) button" % (where + 1))
    assert _visible_column(page, column) == essay_order


def test_ledger_downloads_hold_every_row_of_the_table(ledger_page, base_url):
    import csv
    import io
    import json

    page = ledger_page
    ids = _visible_column(page, _header_index(page, "id"))
    hrefs = page.evaluate("""() => Array.from(document.querySelectorAll('a[href]'),
        a => a.href).filter(h => /claims\\.(csv|json)$/.test(h))""")
    csv_url = next(h for h in hrefs if h.endswith(".csv"))
    json_url = next(h for h in hrefs if h.endswith(".json"))
    body = page.request.get(csv_url).body()
    assert body.startswith(b"\xef\xbb\xbf"), "claims.csv is UTF-8 with a byte-order mark"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert [r["claim_id"] for r in rows] == ids
    records = json.loads(page.request.get(json_url).body().decode("utf-8"))
    assert [r["claim_id"] for r in records] == ids


def _visible_text(locator) -> list[str]:
    return [" ".join(t.split()) for t in locator.all_text_contents()]


@pytest.mark.parametrize("page_path", ["chapters/algorithms.html", "chapters/core_concepts.html"])
def test_chapter_numbers_its_figures_and_collapses_its_setup(page_path, browser, base_url,
                                                             site_dir):
    """Figures carry "Fig. N" captions, counted from 1 on every page, and the prose links to
    them; the set-up cells and the run card's code sit behind closed toggles until clicked."""
    page = browser.new_page()
    page.goto(base_url + page_path, wait_until="load")

    numbers = _visible_text(page.locator("figure figcaption .caption-number"))
    assert numbers == [f"Fig. {n}" for n in range(1, len(numbers) + 1)] and numbers, numbers
    assert page.locator("figure img[alt]").count() == len(numbers), "each figure holds its image"
    captions = _visible_text(page.locator("figure figcaption .caption-text"))
    assert all(len(c) >= 40 for c in captions), captions
    figure_ids = set(page.evaluate("() => Array.from(document.querySelectorAll('figure[id]'), "
                                   "f => f.id)"))
    refs = page.evaluate("""() => Array.from(document.querySelectorAll('a.reference.internal'))
        .filter(a => a.querySelector('.std-numref'))
        .map(a => [a.textContent.replace(/\\s+/g, ' ').trim(), a.getAttribute('href')])""")
    assert {href.split("#")[-1] for _, href in refs} == figure_ids, refs
    assert all(re.fullmatch(r"Fig\. \d+", text) for text, _ in refs), refs

    toggles = page.locator("details.hide")
    assert toggles.count() >= 4, "imports, parameters, set-up and run card are collapsed"
    labels = _visible_text(page.locator("details.hide summary .collapsed"))
    assert "Show the parameters cell" in labels, labels
    for index in range(toggles.count()):
        toggle = toggles.nth(index)
        assert toggle.get_attribute("open") is None
        assert not toggle.locator(".cell_input").first.is_visible()
    parameters = toggles.nth(labels.index("Show the parameters cell"))
    parameters.locator("summary").click()
    assert parameters.locator(".cell_input").first.is_visible()
    assert "PROFILE" in parameters.locator(".cell_input").first.inner_text()
    page.close()
