"""What a printed book must show and must not, and how many pages it may have: the checks
behind `tests/browser/test_pdf.py`. Pure functions, except `read_pdf`, which parses the file.

Raw source is TeX that MathJax did not typeset (`$$`, `\\frac`, `\\begin{...}`) and mermaid
that did not become a diagram (`graph TD`, `A --> B`). Code cells and their outputs may show
such text on purpose (the claims ledger quotes the essay's formulas and diagram as data), so
`tools.build_pdf` saves the text the page shows verbatim (code, cell outputs, inline code)
and a match is raw source only where the printed text around it is not part of that.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# TeX commands the book's maths uses, as a backslash and the name, not followed by a letter
# (so `\\n` or a Windows path cannot match), and the TeX math delimiters.
_TEX_COMMANDS = (
    "frac|dfrac|tfrac|sqrt|sum|prod|int|lim|log|exp|max|min|argmax|argmin|"
    "mathrm|mathbf|mathcal|mathbb|operatorname|text|textrm|boldsymbol|"
    "begin|end|left|right|cdot|cdots|ldots|times|approx|leq|geq|neq|le|ge|in|"
    "alpha|beta|gamma|delta|epsilon|varepsilon|eta|theta|lambda|mu|sigma|tau|phi|omega|"
    "partial|nabla|infty|hat|bar|tilde|top|quad|qquad"
)
RAW_TEX = re.compile(r"\$\$|\\[\[\]()]|\\(?:" + _TEX_COMMANDS + r")(?![A-Za-z])")
# Mermaid: a diagram header, or an edge between two nodes (text extraction may split `-->`).
RAW_MERMAID = re.compile(
    r"\b(?:graph|flowchart)\s+(?:TD|TB|BT|LR|RL)\b"
    r"|\b(?:sequenceDiagram|classDiagram|stateDiagram(?:-v2)?|erDiagram|gitGraph)\b"
    r"|--\s?>|==\s?>|-\.->")
_IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Chromium's PDF maps a glyph that Noto CJK shares between an ideograph and a CJK radical
# (见 and U+2EC5) to the radical; NFKC folds the Kangxi radicals back, not these.
_RADICALS = "\u2e80-\u2eff"
CJK = re.compile(f"[{_IDEOGRAPHS}]")
CJK_FONT = re.compile(r"CJK|WenQuanYi|Hei|Song|Ming|Kai|Fallback|Han Sans|Han Serif",
                      re.IGNORECASE)

# A4 is 210 x 297 mm; at the site's body font (16 px = 4.2 mm, line height 1.5) with 15 mm
# margins a page holds about 40 lines of 80 Latin characters, 3,200 in all. No page holds
# more than MAX_CHARS_PER_PAGE printed characters (a dense table in a smaller font stays
# below it), and a page that is not a chapter's last page, nor taken by a figure or diagram,
# holds at least MIN_CHARS_PER_PAGE (a page of short code lines or a sparse table).
MAX_CHARS_PER_PAGE = 8_000
MIN_CHARS_PER_PAGE = 400


@dataclass(frozen=True)
class PrintedPdf:
    """What a printed PDF holds, as `read_pdf` finds it."""

    pages: int
    text: str  # every page's text, NFKC-normalised, pages separated by form feeds
    fonts: frozenset[str]  # font names, subset prefixes (ABCDEF+) removed


def squash(text: str) -> str:
    """`text` NFKC-normalised with all whitespace removed, for comparing printed text with
    the page's: text extraction adds and drops spaces and line breaks, and may return a CJK
    character as its compatibility form (the Kangxi radical U+2F24 for 大)."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def contains(haystack: str, needle: str) -> bool:
    """Whether squashed `haystack` holds squashed `needle`, an ideograph on one side
    matching a CJK radical on the other (see `_RADICALS`)."""
    return _contains_squashed(squash(haystack), squash(needle))


def _contains_squashed(haystack: str, needle: str) -> bool:
    if needle in haystack:
        return True
    if not re.search(f"[{_IDEOGRAPHS}{_RADICALS}]", needle):
        return False
    parts = []
    for char in needle:
        if re.match(f"[{_RADICALS}]", char):
            parts.append(f"[{_RADICALS}{_IDEOGRAPHS}]")
        elif CJK.match(char):
            parts.append(f"[{re.escape(char)}{_RADICALS}]")
        else:
            parts.append(re.escape(char))
    return re.search("".join(parts), haystack) is not None


def find_raw_source(text: str, verbatim: str = "", context: int = 12) -> list[str]:
    """Every place in `text` that looks like raw TeX or mermaid source, with some context.

    A match whose `context` characters on the left or on the right, taken with it, are
    part of `verbatim` (the text shown as code or output) is shown on purpose and skipped.
    """
    blob = squash(verbatim)
    hits = []
    for pattern in (RAW_TEX, RAW_MERMAID):
        for match in pattern.finditer(text):
            left = text[max(0, match.start() - context):match.end()]
            right = text[match.start():match.end() + context]
            if blob and (_contains_squashed(blob, squash(left))
                         or _contains_squashed(blob, squash(right))):
                continue
            start, end = max(0, match.start() - 3 * context), match.end() + 3 * context
            hits.append(" ".join(text[start:end].split()))
    return hits


def missing_titles(titles: list[str], text: str) -> list[str]:
    """The titles (chapter headings) that `text` does not contain."""
    printed = squash(text)
    return [title for title in titles if not _contains_squashed(printed, squash(title))]


def cjk_characters(text: str) -> int:
    """How many CJK ideographs `text` holds (count after NFKC, see `squash`)."""
    return len(CJK.findall(unicodedata.normalize("NFKC", text)))


def cjk_fonts(fonts: frozenset[str] | set[str]) -> list[str]:
    """The font names that are CJK fonts."""
    return sorted(name for name in fonts if CJK_FONT.search(name))


def page_bounds(chapters: int, text_chars: int, figures: int) -> tuple[int, int]:
    """The fewest and most pages a printed book can have.

    `chapters` documents each start on a new page; `text_chars` is the printed text's
    length without whitespace; `figures` counts images and diagrams, each of which may take
    a page of its own.
    """
    low = max(chapters, -(-text_chars // MAX_CHARS_PER_PAGE))
    high = chapters + figures + -(-text_chars // MIN_CHARS_PER_PAGE)
    return low, high


def _font_names(font: object) -> set[str]:
    """A font's names: /BaseFont, or for a Type3 font its descriptor's name and family."""
    names = set()
    descriptor = font.get("/FontDescriptor")  # type: ignore[attr-defined]
    descriptor = descriptor.get_object() if descriptor is not None else {}
    for value in (font.get("/BaseFont"), descriptor.get("/FontName"),  # type: ignore[attr-defined]
                  descriptor.get("/FontFamily")):
        if value:
            names.add(str(value).lstrip("/").split("+", 1)[-1])
    return names


def read_pdf(path: Path) -> PrintedPdf:
    """Parse a PDF: page count, text, font names (pypdf: ~0.12 s of CPU a page)."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    texts, fonts, seen = [], set(), set()
    for page in reader.pages:
        texts.append(unicodedata.normalize("NFKC", page.extract_text()))
        for ref in page.get("/Resources", {}).get("/Font", {}).values():
            key = getattr(ref, "idnum", id(ref))
            if key not in seen:
                seen.add(key)
                fonts |= _font_names(ref.get_object())
    return PrintedPdf(pages=len(reader.pages), text="\n\f".join(texts),
                      fonts=frozenset(fonts))
