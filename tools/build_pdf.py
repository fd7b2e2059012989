"""Print the whole book as one PDF: `make pdf` (`python -m tools.build_pdf`).

Jupyter Book's single-page build (`_build/pdf-site/_build/singlehtml`, which `make pdf` makes first) is
served on 127.0.0.1 and opened in headless Chromium. Once MathJax has typeset every formula
and mermaid has turned every diagram into SVG, print CSS hides the navigation and buttons,
opens folded content (hidden cells, dropdowns, tabs) and starts each chapter on a new page,
and Chromium prints A4 with backgrounds into `_build/pdf/book.pdf`. Nothing leaves
127.0.0.1: MathJax and mermaid are the site's own copies (`_vendor/`), and any other request
is refused and reported. Beside the PDF, `book.json` records what the page held when it was
printed (chapters, formulas, diagrams, images, text length) for `tests/browser/test_pdf.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tools import browser as chromium

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "pdf-site" / "_build" / "singlehtml"  # make pdf: --path-output _build/pdf-site
OUT = ROOT / "_build" / "pdf" / "book.pdf"
# Loading the page and typesetting its ~600 formulas took 96 s on a 2-core machine shared
# with other jobs (load average 14); each wait gives up after this long.
TIMEOUT_MS = 300_000
MARGIN_MM = 15
# The page is laid out at the width it prints at (A4 less the margins, in CSS pixels), so
# that mermaid draws its diagrams and FIT_TABLES_JS measures tables at that width.
PRINT_WIDTH_PX = round((210 - 2 * MARGIN_MM) / 25.4 * 96)

PRINT_CSS = """
.bd-header, .bd-header-announcement, .bd-sidebar-primary, .bd-sidebar-secondary,
.bd-header-article, .header-article-items, .prev-next-area, .bd-footer, .bd-footer-article,
.bd-footer-content, #pst-back-to-top, .search-button-field, .theme-switch-button,
.toggle-button, .copybtn, .headerlink, .mermaid-fullscreen-btn, .mermaid-fullscreen-modal,
button, .skip-link { display: none !important; }
.bd-page-width, .bd-main, .bd-content, .bd-article-container, .bd-article {
  max-width: none !important; width: 100% !important; padding: 0 !important;
  margin: 0 !important; }
/* Folded content prints open. */
.toggle-hidden, .toggle-details__container, .sd-tab-content, details > *,
.cell.tag_hide-input .cell_input, .cell.tag_hide-output .cell_output {
  display: block !important; visibility: visible !important; height: auto !important;
  opacity: 1 !important; }
/* Scrolling boxes print in full. */
pre, .highlight, .output, .cell_output, .pst-scrollable-table-container, .table-wrapper,
.bd-article-container { overflow: visible !important; max-height: none !important; }
pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
table { font-size: 0.8em; }
table.pdf-wrap-anywhere th, table.pdf-wrap-anywhere td { overflow-wrap: anywhere; }
img, svg, figure, .mermaid, mjx-container[display="true"] { break-inside: avoid; }
h1, h2, h3, h4 { break-after: avoid; }
/* Each chapter on a new page. */
span[id^="document-"] + section { break-before: page; }
"""

# Chinese in Simplified Chinese glyphs (without a CJK font named last, fontconfig falls back
# to Noto's Japanese ones), diagrams included: set before mermaid measures its labels.
FONT_CSS = """
html { --pst-font-family-base: var(--pst-font-family-base-system), "Noto Sans CJK SC";
  --pst-font-family-heading: var(--pst-font-family-base-system), "Noto Sans CJK SC";
  --pst-font-family-monospace: var(--pst-font-family-monospace-system),
    "Noto Sans Mono CJK SC"; }
.mermaid svg, .mermaid svg * {
  font-family: "trebuchet ms", verdana, arial, sans-serif, "Noto Sans CJK SC" !important; }
"""
FONT_CSS_JS = ("css => document.addEventListener('DOMContentLoaded', () => {"
               " const style = document.createElement('style'); style.textContent = css;"
               " document.head.appendChild(style); })")

# Open every folded block in the DOM (sphinx-togglebutton, <details>, sphinx-design).
UNFOLD_JS = """() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('img[loading="lazy"]').forEach(i => { i.loading = 'eager'; });
}"""

# True once every mermaid block holds an SVG; scrolls a deferred (was hidden) one into view,
# which is what makes sphinxcontrib-mermaid render it.
MERMAID_DONE_JS = """() => {
  const blocks = Array.from(document.querySelectorAll('.mermaid'));
  const failed = blocks.filter(b => b.hasAttribute('data-mermaid-render-failed'));
  if (failed.length) return 'failed: ' + failed[0].textContent.trim().slice(0, 80);
  const left = blocks.filter(b => !b.querySelector('svg'));
  if (left.length) { left[0].scrollIntoView(); return false; }
  window.scrollTo(0, 0);
  return true;
}"""

# A table wider than the page (a data frame with many columns) gets smaller type, and if
# that is not enough, cells that wrap anywhere; returns how many tables it changed.
FIT_TABLES_JS = """() => {
  const width = document.querySelector('article.bd-article').getBoundingClientRect().width;
  let changed = 0;
  for (const table of document.querySelectorAll('article table')) {
    if (table.getBoundingClientRect().width <= width + 1) continue;
    changed += 1;
    for (const size of ['0.65em', '0.55em']) {
      table.style.fontSize = size;
      if (table.getBoundingClientRect().width <= width + 1) break;
    }
    if (table.getBoundingClientRect().width > width + 1) table.classList.add('pdf-wrap-anywhere');
  }
  return changed;
}"""

# What the page holds as printed: the test's and the report's figures.
STATS_JS = """() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const svgText = Array.from(document.querySelectorAll('.mermaid svg'))
    .map(s => s.textContent).join(' ');
  return {
    chapters: document.querySelectorAll('span[id^="document-"]').length + 1,
    math: document.querySelectorAll('mjx-container').length,
    math_untypeset: Array.from(document.querySelectorAll('.math'))
      .filter(m => !m.querySelector('mjx-container')).length,
    mermaid_blocks: document.querySelectorAll('.mermaid').length,
    mermaid_svgs: document.querySelectorAll('.mermaid svg').length,
    mermaid_as_text: Array.from(document.querySelectorAll('.mermaid'))
      .filter(m => !m.querySelector('svg')).length,
    mermaid_errors: (svgText.match(/Syntax error|Parse error/g) || []).length,
    images: document.querySelectorAll('article img').length,
    images_broken: Array.from(document.querySelectorAll('article img'))
      .filter(i => !(i.complete && i.naturalWidth > 0)).length,
    text_chars: article.innerText.replace(/\\s+/g, '').length,
    cjk_chars: (article.innerText.match(
      /[\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff]/g) || []).length,
    titles: [document.querySelector('article h1')].concat(Array.from(
        document.querySelectorAll('span[id^="document-"] + section > :is(h1, h2)')))
      .filter(h => h).map(h => h.innerText.replace(/#$/, '').trim()),
  };
}"""

# The text the page shows verbatim (code, cell outputs, inline code): tools.pdf_check does
# not count TeX or mermaid syntax in it as a rendering failure.
VERBATIM_JS = """() => Array.from(document.querySelectorAll(
    'article .cell_input, article .cell_output, article pre:not(.mermaid), article code'))
  .map(e => e.innerText).join('\\n')"""

FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#666">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


class PdfBuildError(RuntimeError):
    """The book could not be printed; the message says what to run."""


def _render(browser: Any, url: str, out: Path) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1000},
                            color_scheme="light")
    outside: list[str] = []
    errors: list[str] = []

    def guard(route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if urlparse(route.request.url).scheme in ("http", "https") and host != "127.0.0.1":
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", guard)
    page.add_init_script(f"({FONT_CSS_JS})({json.dumps(FONT_CSS)})")
    page.on("pageerror", lambda error: errors.append(str(error)))
    start = time.perf_counter()
    page.goto(url + "index.html", wait_until="load", timeout=TIMEOUT_MS)
    page.evaluate(UNFOLD_JS)
    try:
        page.wait_for_function("() => window.MathJax && MathJax.startup && "
                               "MathJax.startup.promise", timeout=TIMEOUT_MS)
    except Exception as exc:  # playwright's TimeoutError
        raise PdfBuildError("MathJax did not load from _static/mathjax: run `make assets`, "
                            f"then `make pdf` (page errors: {errors[:3]})") from exc
    page.evaluate("() => MathJax.startup.promise.then(() => true)")  # folded math included
    done = page.wait_for_function(MERMAID_DONE_JS, timeout=TIMEOUT_MS, polling=250)
    if done.json_value() is not True:
        raise PdfBuildError(f"a mermaid diagram did not render ({done.json_value()})")
    typeset = time.perf_counter()
    page.emulate_media(media="print")
    page.add_style_tag(content=PRINT_CSS)
    page.evaluate("() => document.fonts.ready.then(() => true)")
    fitted = page.evaluate(FIT_TABLES_JS)
    stats = page.evaluate(STATS_JS)
    stats["tables_fitted"] = fitted
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".verbatim.txt").write_text(page.evaluate(VERBATIM_JS), encoding="utf-8")
    if outside:
        raise PdfBuildError(f"the page asked for files off this machine: {sorted(outside)[:5]}")
    page.pdf(path=str(out), format="A4", print_background=True, display_header_footer=True,
             header_template="<span></span>", footer_template=FOOTER,
             margin={"top": f"{MARGIN_MM}mm", "bottom": f"{MARGIN_MM + 3}mm",
                     "left": f"{MARGIN_MM}mm", "right": f"{MARGIN_MM}mm"})
    page.close()
    stats["page_errors"] = errors
    stats["seconds_load_and_typeset"] = round(typeset - start, 1)
    stats["seconds_print"] = round(time.perf_counter() - typeset, 1)
    return stats


def build_pdf(site: Path = SITE, out: Path = OUT) -> dict[str, Any]:
    """Print `site`/index.html into `out`; returns the figures also written to book.json."""
    if not (site / "index.html").exists():
        raise PdfBuildError(f"no single-page build in {site}: run `make pdf` (it runs "
                            "`make pdf`, which builds the single page first)")
    if not (site / "_static" / "mathjax").exists():
        raise PdfBuildError(f"{site} has no _static/mathjax: run `make assets`, then `make pdf`")
    start = time.perf_counter()
    try:
        with chromium.serve(site) as url, chromium.launch() as browser:
            stats = _render(browser, url, out)
    except chromium.ChromiumMissing as missing:
        raise PdfBuildError(str(missing)) from None
    from pypdf import PdfReader

    stats["pages"] = len(PdfReader(str(out)).pages)
    stats["bytes"] = out.stat().st_size
    stats["seconds"] = round(time.perf_counter() - start, 1)
    stats["site"] = str(site)
    out.with_suffix(".json").write_text(json.dumps(stats, indent=1, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=SITE, help="single-page HTML build")
    parser.add_argument("--out", type=Path, default=OUT, help="the PDF to write")
    args = parser.parse_args(argv)
    try:
        stats = build_pdf(args.site, args.out)
    except PdfBuildError as error:
        print(f"build_pdf: {error}", file=sys.stderr)
        return 1
    print(f"PDF written: {args.out} - {stats['pages']} pages, "
          f"{stats['bytes'] / 2**20:.1f} MiB, {stats['seconds']} s "
          f"({stats['chapters']} chapters, {stats['math']} formulas, "
          f"{stats['mermaid_svgs']} diagrams, {stats['images']} images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
