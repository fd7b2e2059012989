"""The printed book (`make pdf`, `tools.build_pdf`): every chapter is in it, its maths,
diagrams and Chinese text are rendered, and no raw TeX or mermaid source shows.

`make test-browser` prints the PDF before these tests run; they read `_build/pdf/book.pdf`
with pypdf, and `book.json` beside it for what the page held when it was printed.
"""

from __future__ import annotations

import json

import pytest

from bmlib.core.paths import repo_root
from tools import pdf_check

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PDF = repo_root() / "_build" / "pdf" / "book.pdf"
# Text extraction may lose a little (a glyph without a Unicode mapping, a ligature); a
# missing page or chapter loses far more.
KEPT = 0.9


@pytest.fixture(scope="module")
def stats() -> dict:
    if not PDF.exists():
        pytest.fail(f"no PDF at {PDF}: run `make pdf`")
    figures = json.loads(PDF.with_suffix(".json").read_text(encoding="utf-8"))
    index = repo_root() / "_build" / "pdf-site" / "_build" / "singlehtml" / "index.html"
    if index.exists() and index.stat().st_mtime > PDF.stat().st_mtime:
        pytest.fail(f"{PDF} is older than the single-page build: run `make pdf`")
    return figures


@pytest.fixture(scope="module")
def printed(stats) -> pdf_check.PrintedPdf:
    return pdf_check.read_pdf(PDF)


def test_page_count_fits_the_content(stats, printed):
    low, high = pdf_check.page_bounds(stats["chapters"], stats["text_chars"],
                                      stats["images"] + stats["mermaid_svgs"])
    assert low <= printed.pages <= high, (printed.pages, low, high)
    assert printed.pages == stats["pages"]


def test_every_chapter_and_its_text_is_printed(stats, printed):
    assert len(stats["titles"]) == stats["chapters"]
    assert pdf_check.missing_titles(stats["titles"], printed.text) == []
    assert len(pdf_check.squash(printed.text)) >= KEPT * stats["text_chars"]


def test_chinese_is_printed_in_a_cjk_font(stats, printed):
    assert stats["cjk_chars"] > 0
    assert pdf_check.cjk_characters(printed.text) >= KEPT * stats["cjk_chars"]
    assert pdf_check.cjk_fonts(printed.fonts), sorted(printed.fonts)


def test_no_raw_tex_or_mermaid_source(printed):
    verbatim = PDF.with_suffix(".verbatim.txt").read_text(encoding="utf-8")
    hits = pdf_check.find_raw_source(printed.text, verbatim)
    assert hits == [], f"{len(hits)} places show raw source, e.g. {hits[:5]}"


def test_math_and_diagrams_were_rendered_before_printing(stats):
    assert stats["math"] > 0 and stats["math_untypeset"] == 0
    assert stats["mermaid_blocks"] > 0
    assert stats["mermaid_svgs"] == stats["mermaid_blocks"]
    assert stats["mermaid_as_text"] == 0 and stats["mermaid_errors"] == 0
    assert stats["images_broken"] == 0
    assert stats["page_errors"] == []
