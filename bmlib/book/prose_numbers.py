"""Find result-like numbers typed by hand in a chapter's prose.

Every measured or computed number in the book's text comes from glue
(``{glue:text}`name```), so the page always shows what the cell computed. This module is
the rule, as one pure function, :func:`find_prose_numbers`: give it the markdown of a cell,
get back every number in it that looks like a result and is not glued, with its line and
context. The README's "Contributing" section states the same rule for authors.

**Result-like** (must be glued, or cited when it is a published constant):

* a decimal (``0.83``, ``7.4``), a number in scientific notation (``3.1e23``);
* a percentage (``40 %``, ``40%``, ``40 percent``) or percentage points (``5 pp``);
* a multiplier (``x121``, ``120x``, ``3.5×``, ``2-fold``, ``10 times``);
* a quantity with a unit of time, memory, money or compute (``40 seconds``, ``21 min``,
  ``7.4 MB``, ``$100``, ``USD 6``, ``3 billion``, ``1e24 FLOP``);
* an approximate number (``about 40``, ``roughly 3``, ``~12``, ``nearly half``);
* a spelled-out comparison (``twice as fast as``, ``three times as large``, ``half as``,
  ``an order of magnitude``).

**Not result-like** (left alone): anything inside inline code, code blocks, math
(``$...$``), MyST roles and directives, link targets and labels; headings; quotations (text
in quotation marks, block quotes), Chinese text and its translation (italics in the
paragraph that quotes it); a sentence that cites its source
(``{cite:p}``, ``{cite:t}`` or a link); section, figure, table, chapter, exercise and
equation numbers (``§5.2``, ``Figure 3``); years and dates (``2024``, ``June 2024``,
``2024-06-15``); ordinals (``3rd``); identifiers and versions (``GPT-4``, ``H100``,
``CIFAR-10``, ``Python 3.10``, ``Llama 3.1 405B``, ``v2.1``); shapes (``32x32``); plain
integers that count things (``20 epochs``, ``three seeds``, ``10,000 images``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ProseNumber", "find_prose_numbers", "ADVICE"]

ADVICE = ("a result: add it to the chapter study's glue_values() and write {glue:text}`name`; "
          "a published constant: cite its source in the same sentence ({cite:p}`key` or a "
          "link); a quote of the essay: put it in quotation marks; a setting you chose: write "
          "it as code (`weight_decay=5e-4`) or glue it from the study's config")


@dataclass(frozen=True)
class ProseNumber:
    """One hand-typed result-like number: what was typed, why it counts, where it is."""

    text: str      # the matched text, e.g. "about 40 seconds"
    kind: str      # which rule matched: "decimal", "percent", "multiplier", ...
    line: int      # 1-based line in the markdown given
    context: str   # the surrounding text on that line, trimmed

    def message(self) -> str:
        """One line for a test failure: where, what, and what to do."""
        return f"line {self.line}: {self.kind} {self.text!r} in ...{self.context}... -> {ADVICE}"


# --- spans whose numbers are never results (replaced by blanks, offsets kept) ----------

_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
           r"Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"

_MASKS: tuple[re.Pattern[str], ...] = tuple(re.compile(p, re.M) for p in (
    r"(?s:<!--.*?-->)",                                   # HTML comments
    r"^(`{3,}|~{3,})(?s:.*?)^\1[ \t]*$",                  # fenced blocks: code, directives
    r"^[ \t]*:[A-Za-z_-]+:.*$",                      # directive options (:width: 80%)
    r"(?s:\$\$.*?\$\$)", r"(?<![\\$])\$[^$\n]+?\$",       # math: display, inline
    r"\{[A-Za-z:-]+\}`[^`]*`",                       # MyST roles: glue, cite, numref, doc
    r"`[^`\n]*`",                                    # inline code
    r"\]\([^)\s]*\)", r"^\[[^\]]+\]:.*$",            # link targets, link definitions
    r"^\([A-Za-z0-9_-]+\)=$",                        # MyST labels
    r"^#{1,6} .*$",                                  # headings
    r"^[ \t]*>.*$",                                  # block quotes
    r"“[^”]*”", r"「[^」]*」", r"‘[^’\n]*’",           # typographic quotations
    r"(?<![\w])\"[^\"\n]+\"(?![\w])",                # "straight" quotations
    rf"[{_CJK}][{_CJK}\d.,%，。、\s]*",                # Chinese text, numbers inside it
    r"<[^>\n]+>",                                    # HTML tags and attributes
    r"\b\d+\s?%\s+(?:[a-z-]+\s+)?(?:intervals?|CIs?|confidence)\b",  # 95 % interval
    r"\b\d+\s?[x×]\s?\d+(?:\s?[x×]\s?\d+)*\b",                       # shapes 32x32, 8 × 8
))

_NUM = r"\d+(?:[,\u202f\u00a0]\d{3})*(?:\.\d+)?"
_WORDNUM = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
            r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|a hundred|"
            r"a thousand|thousand|half|a third|a quarter|a few|several|a dozen|dozens)")
_UNITS = (r"(?:ms|milliseconds?|µs|us|ns|s|sec|secs|seconds?|min|mins|minutes?|h|hrs?|hours?|"
          r"days?|weeks?|months?|[KMGTP]i?B|bytes?|[KMGTP]?FLOPs?(?:/s)?|FLOP/s|PF-days?|"
          r"[kMGT]?W|[kMGT]Wh|USD|EUR|RMB|CNY|yuan|dollars?|cents?|"
          r"thousand|million|billion|trillion|bn|tn|tokens?/s|images?/s|it/s|steps?/s)")
_ALLOWED: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in (
    r"§\s*\d+(?:\.\d+)*",                                            # §5.2
    r"(?i:\b(?:sections?|chapters?|parts?|figures?|figs?\.|tables?|exercises?|equations?|"
    r"eqs?\.|appendix|steps?|rows?|columns?|lines?|cells?|items?|rules?|claims?|"
    r"questions?|q|no\.|nos\.|level)\s*\d+(?:\.\d+)*(?:\s*(?:-|–|and|to|,)\s*\d+(?:\.\d+)*)*)",
    rf"\b(?:\d{{1,2}}\s+)?(?i:{_MONTHS})\s+(?:\d{{1,2}},?\s+)?(?:19|20)\d\d\b",  # 15 June 2024
    rf"\b(?i:{_MONTHS})\s+\d{{1,2}}\b",                                   # June 15
    r"\b(?:19|20)\d\d-\d\d(?:-\d\d)?\b",                             # 2024-06-15
    r"\b(?:19|20)\d\d\s*(?:-|–|to)\s*(?:(?:19|20)?\d\d)\b",          # 2020-2024, 2020–24
    r"\b(?:19|20)\d\ds?\b(?![.,]\d)",                                 # 2024, the 2020s
    r"\b\d+(?:st|nd|rd|th)\b",                                       # ordinals
    r"\bv\d+(?:\.\d+)+\b|\b\d+\.\d+\.\d+\b",                         # v2.1, 3.10.1
    r"(?<![\w.])(?!(?:The|A|An|About|Around|At|In|On|Of|With|And|To|For|By|Only|Just|Over|"
    r"Under|Up|Each|Every|Some|All|Top|Batch|Epoch|Seed|Width|Depth)\s)"
    r"[A-Z][A-Za-z]*[a-z][A-Za-z]*\s\d+(?:\.\d+)?(?:\s\d+[BMK])?\b"
    rf"(?![.,]?\d|\s?%|\s?{_UNITS}\b)",                             # Llama 3.1 405B
    r"\b[A-Za-z]+(?:[-_/][A-Za-z]*)?\d[\w.-]*\d?[A-Za-z]*\b",        # GPT-4, H100, Qwen2.5
    r"\b\d+(?:\.\d+)?[BMK]\b",                                       # model sizes 7B, 125M
    r"\b\d+-?(?:d|D|bit|bits|layer|layers|head|heads|way|shot|gram|grams)\b",  # 2-D, 8-bit
))

# --- result-like patterns ---------------------------------------------------------------

_COMPARATIVE = (r"(?:faster|slower|more|less|fewer|larger|smaller|bigger|higher|lower|"
                r"cheaper|dearer|longer|shorter|greater|better|worse|as|the|that|what|its|their)")

_RESULTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(p, re.I)) for kind, p in (
        ("spelled comparison",
         rf"\b(?:twice|thrice|half|(?:{_WORDNUM}|\d+)\s+times)\s+{_COMPARATIVE}\b"
         r"|\b(?:an?|one|two|three|several)\s+orders?\s+of\s+magnitude\b"
         r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|hundred|thousand)fold\b"),
        ("approximation",
         rf"(?:\b(?:about|around|roughly|approximately|nearly|almost|some|circa|ca\.)\s+"
         rf"|~\s*|≈\s*)(?:[$€¥]\s?)?(?:{_NUM}|{_WORDNUM}\b)(?:\s*(?:%|{_UNITS}\b))?"),
        ("money", rf"(?:US\$|\$|€|¥|£)\s?{_NUM}(?:\s*(?:{_UNITS})\b)?"),
        ("multiplier", rf"(?<![\w.])[x×]\s?{_NUM}\b|\b{_NUM}\s?[x×](?![\w\d])"
                       rf"|\b{_NUM}-fold\b"),
        ("percent", rf"\b{_NUM}\s?(?:%|percent\b|per\s?cent\b|pp\b|percentage points?\b)"),
        ("scientific notation", r"\b\d+(?:\.\d+)?e[+-]?\d+\b|\b\d+(?:\.\d+)?\s?[x×·]\s?10\^?[⁰¹²³⁴⁵⁶⁷⁸⁹\d]+"),
        ("quantity", rf"\b{_NUM}\s?{_UNITS}\b"),
        ("decimal", r"(?<![\w.])\d*\.\d+\b"),
    ))


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


def _cited_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of sentences (or list items) that cite a source: a cite role or a web link."""
    spans = []
    for match in re.finditer(r"[^\n]+(?:\n(?![ \t]*(?:[-*+]|\d+\.)\s|\n)[^\n]+)*", text):
        para, base = match.group(0), match.start()
        start = 0
        for end_match in re.finditer(r"(?<=[.!?;:])\s+(?=[A-Z(*\[{])|$", para):
            sentence = para[start:end_match.start()]
            if re.search(r"\{cite(?::[a-z]+)?\}`|\]\(https?://|<https?://", sentence):
                spans.append((base + start, base + end_match.start()))
            start = end_match.end()
    return spans


def _translations(text: str) -> list[tuple[int, int]]:
    """Italic spans (``*...*``) in a paragraph that quotes Chinese: the quote's translation."""
    spans = []
    for para in re.finditer(r"(?s:.+?)(?:\n\s*\n|\Z)", text):
        if re.search(f"[{_CJK}]", para.group(0)):
            spans += [(para.start() + m.start(), para.start() + m.end())
                      for m in re.finditer(r"(?<![*\w])\*(?!\s)[^*]+?\*(?![*\w])", para.group(0))]
    return spans


def find_prose_numbers(markdown: str) -> list[ProseNumber]:
    """Every result-like number typed by hand in ``markdown`` (module docstring: the rule)."""
    spans = _cited_sentences(markdown) + _translations(markdown)
    masked = _blank(markdown, spans)
    for pattern in _MASKS:
        masked = _blank(masked, [m.span() for m in pattern.finditer(masked)])
    found: list[tuple[int, int, str]] = []
    for kind, pattern in _RESULTS:
        for match in pattern.finditer(masked):
            start, end = match.span()
            if any(s < end and start < e for s, e, _ in found):
                continue
            found.append((start, end, kind))
    allowed = [m.span() for p in _ALLOWED for m in p.finditer(masked)]
    hits = []
    for start, end, kind in sorted(found):
        core = re.search(r"\d|twice|thrice|half|order|times|" + _WORDNUM,
                         masked[start:end], re.I)
        pos = start + (core.start() if core else 0)
        if kind not in ("spelled comparison", "approximation", "money", "percent",
                        "multiplier") and any(s <= pos < e for s, e in allowed):
            continue
        line_start = markdown.rfind("\n", 0, start) + 1
        line_end = markdown.find("\n", end)
        line_end = len(markdown) if line_end < 0 else line_end
        left = max(line_start, start - 40)
        right = min(line_end, end + 40)
        hits.append(ProseNumber(text=markdown[start:end].strip(), kind=kind,
                                line=markdown.count("\n", 0, start) + 1,
                                context=" ".join(markdown[left:right].split())))
    return hits
