"""The pure checks of the printed book (tools.pdf_check); the PDF itself is tested in
tests/browser/test_pdf.py."""

from __future__ import annotations

import pytest

from tools import browser, build_pdf, pdf_check


def test_raw_tex_is_found():
    for leak in ("where $$L = \\frac{1}{2}$$ holds", "a \\begin{aligned} b", "x \\mathrm{d}x",
                 "the rate \\alpha is", "inline \\(x\\) math", "\\sum_{i=1}^n y"):
        assert pdf_check.find_raw_source(leak), leak


def test_mermaid_source_is_found():
    for leak in ("graph TD\nA[AI] --> B[NN]", "flowchart LR", "A -- > B", "sequenceDiagram"):
        assert pdf_check.find_raw_source(leak), leak


def test_typeset_text_and_code_escapes_are_clean():
    clean = ("The loss L(θ) = ½ Σ (y − ŷ)² falls; print('a\\nb'); C:\\Users; "
             "costs $2 to $5; x -> y; the graph shows growth; an infinite \\index of terms")
    assert pdf_check.find_raw_source(clean) == []


def test_source_shown_as_code_is_not_a_leak():
    verbatim = ('quote_zh="a_j = \\\\frac{1}{1 + e^{-z}} (Sigmoid函数)"\n'
                'D[自然语言处理] --> E[图像识别]')
    # As text extraction returns it: wrapped, with spaces between CJK characters.
    printed = ('quote_zh = "a_j =\n \\\\frac{1}{1 + e^{-z}}\n (Sigmoid 函 数 )"\n'
               'D[ 自 然 语 言 处 理 ] --> E')
    assert pdf_check.find_raw_source(printed, verbatim) == []
    # ...but the same syntax in prose, outside the code, still is.
    assert pdf_check.find_raw_source("so \\frac{a}{b} shows", verbatim)
    assert pdf_check.find_raw_source("Lib --> S2[Core]", verbatim)


def test_cjk_radicals_from_text_extraction_match_their_ideographs():
    # Chromium writes 大 as the Kangxi radical U+2F24 (NFKC folds it) and 见 as U+2EC5.
    printed = "AI \u2f24 模 型\nFAQ / 附 录 ： 常 \u2ec5 问 题"
    titles = ["AI大模型", "FAQ / 附录：常见问题", "Glossary"]
    assert pdf_check.missing_titles(titles, printed) == ["Glossary"]
    assert pdf_check.cjk_characters(printed) == 8  # the U+2EC5 radical is not counted
    assert pdf_check.contains("常见问题", "常 \u2ec5 问")
    assert not pdf_check.contains("常见问题", "常 \u2ec5 答")


def test_fonts():
    assert pdf_check.cjk_fonts({"NotoSansCJKsc-Regular", "DejaVuSans", "MathJax_Main"}) == [
        "NotoSansCJKsc-Regular"]
    assert pdf_check.cjk_fonts({"DejaVuSans", "LiberationMono"}) == []


def test_page_bounds_follow_chapters_text_and_figures():
    low, high = pdf_check.page_bounds(chapters=17, text_chars=400_000, figures=50)
    assert low == max(17, 400_000 // pdf_check.MAX_CHARS_PER_PAGE)
    assert high == 17 + 50 + 400_000 // pdf_check.MIN_CHARS_PER_PAGE
    assert pdf_check.page_bounds(chapters=3, text_chars=10, figures=0) == (3, 4)
    # More text never allows fewer pages.
    assert pdf_check.page_bounds(17, 800_000, 50) >= (low, high)


def test_build_errors_name_the_command_to_run(tmp_path, monkeypatch):
    with pytest.raises(build_pdf.PdfBuildError, match="make pdf"):
        build_pdf.build_pdf(site=tmp_path, out=tmp_path / "book.pdf")
    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(browser.ChromiumMissing, match="make system"):
        browser.chromium_path()
