"""The claims ledger: machine-readable findings about the source document.

A chapter that checks a statement of the document records a :class:`Claim` and shows it with
:func:`show_claims`, which renders a table and stores the rows, as JSON, in the output's
metadata under ``bmlib.claims``. The claims-ledger appendix collects every chapter's rows
from the executed notebooks (:func:`claims_in_notebook`), so no finding is typed twice.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

from bmlib.book.runcard import METADATA_KEY

VERDICTS = ("correct", "wrong", "unsupported", "misleading", "opinion")
# What a row's verdict rests on: a value computed in a cell of the book, a quoted source, both,
# or an argument from definitions and the essay's own text (no number to compute or cite).
BASES = ("computed", "cited", "computed and cited", "reasoned")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_LABEL = re.compile(r"^[a-z0-9]+([-_][a-z0-9]+)*$")


def html_id(label: str) -> str:
    """The HTML id Sphinx gives a MyST label (docutils' make_id: runs of other characters
    become one hyphen)."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


class ClaimError(ValueError):
    """A ledger row is incomplete or malformed."""


@dataclass(frozen=True)
class Claim:
    """One checkable statement of the document and what the book found."""

    claim_id: str  # stable kebab-case id, e.g. "market-cagr-2021-2028"
    quote_zh: str  # the document's words, quoted in Chinese
    gloss_en: str  # an English gloss of the quote
    location: str  # where in the document, e.g. "§1.2" or "§4.3.4 step 3"
    verdict: str  # one of VERDICTS
    evidence: str  # computed value, source, or what the linked cell shows
    chapter: str  # chapter file stem that holds the evidence
    anchor: str  # MyST label, e.g. "(mathematics-adam-bias)=", where the evidence is shown
    basis: str = ""  # one of BASES: what the verdict rests on ("" only in rows not yet reviewed)

    def __post_init__(self) -> None:
        if not _ID.match(self.claim_id):
            raise ClaimError(f"claim_id {self.claim_id!r}: use kebab-case like 'adam-bias'")
        if self.verdict not in VERDICTS:
            raise ClaimError(
                f"claim {self.claim_id}: verdict {self.verdict!r} is not one of "
                f"{', '.join(VERDICTS)}"
            )
        if self.basis and self.basis not in BASES:
            raise ClaimError(
                f"claim {self.claim_id}: basis {self.basis!r} is not one of {', '.join(BASES)}"
            )
        for name in ("quote_zh", "gloss_en", "location", "evidence", "chapter", "anchor"):
            if not str(getattr(self, name)).strip():
                raise ClaimError(f"claim {self.claim_id}: {name} is empty")
        if not _LABEL.match(self.anchor):
            raise ClaimError(
                f"claim {self.claim_id}: anchor {self.anchor!r} must be a MyST label such as "
                "'mathematics-adam-bias' (lower case, digits, '-' and '_')"
            )

    @property
    def href(self) -> str:
        """Link from any page in chapters/ to the evidence (Sphinx's id for the label)."""
        return f"{self.chapter}.html#{html_id(self.anchor)}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def claims_html(claims: Iterable[Claim]) -> str:
    """An HTML table of claims with links to their evidence."""
    rows = []
    for c in claims:
        rows.append(
            "<tr>"
            f"<td>{html.escape(c.location)}</td>"
            f"<td lang='zh'>{html.escape(c.quote_zh)}</td>"
            f"<td>{html.escape(c.gloss_en)}</td>"
            f"<td><strong>{html.escape(c.verdict)}</strong></td>"
            f"<td>{html.escape(c.evidence)} "
            f"(<a href='{html.escape(c.href)}'>evidence</a>)</td>"
            "</tr>"
        )
    head = ("<tr><th>where</th><th>the document says</th><th>gloss</th>"
            "<th>verdict</th><th>evidence</th></tr>")
    return f"<table class='bmlib-claims'>{head}{''.join(rows)}</table>"


def claims_text(claims: Iterable[Claim]) -> str:
    """Plain-text rendering (what nbval compares): one line per claim."""
    return "\n".join(f"[{c.verdict}] {c.location} {c.claim_id}: {c.evidence}" for c in claims)


def show_claims(claims: list[Claim]) -> None:
    """Display the claims and store them in the output metadata for the ledger.

    Returns None on purpose: a returned value would be echoed as a cell result, and nbval
    runs cells without history, where IPython's trailing-semicolon silencing does not work.
    """
    from IPython.display import display  # imported here: bmlib works without IPython

    ids = [c.claim_id for c in claims]
    if len(ids) != len(set(ids)):
        raise ClaimError(f"duplicate claim ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    display(
        {"text/html": claims_html(claims), "text/plain": claims_text(claims)},
        raw=True,
        metadata={METADATA_KEY: {"claims": [c.to_dict() for c in claims]}},
    )


def claims_in_notebook(notebook: Mapping[str, Any]) -> list[Claim]:
    """Every claim stored in an executed notebook's outputs."""
    found: list[Claim] = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            for raw in output.get("metadata", {}).get(METADATA_KEY, {}).get("claims", []):
                found.append(Claim(**raw))
    return found


def claims_json(claims: Iterable[Claim]) -> str:
    return json.dumps([c.to_dict() for c in claims], ensure_ascii=False, indent=2)


# --- The whole book's ledger: collecting, counting and checking claims -------------------

_LABEL_LINE = re.compile(r"^\(([A-Za-z0-9_-]+)\)=\s*$", re.MULTILINE)


def markdown_labels(notebook: Mapping[str, Any]) -> set[str]:
    """The MyST labels ``(label)=`` defined on their own line in a notebook's markdown cells."""
    labels: set[str] = set()
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else source
            labels.update(_LABEL_LINE.findall(text))
    return labels


def text_labels(text: str) -> set[str]:
    """The MyST labels defined in a MyST markdown document (for ``.md`` chapters)."""
    return set(_LABEL_LINE.findall(text))


def collect_claims(exclude: Iterable[str] = (), root: Any = None) -> list[Claim]:
    """Every claim stored in the executed chapters of the table of contents, in book order.

    ``exclude`` names chapter stems to skip (the ledger appendix skips itself, so that its
    own rows are not counted twice).
    """
    from bmlib.book.notebooks import chapter_notebooks, read_notebook  # avoids an import cycle

    skip = set(exclude)
    found: list[Claim] = []
    for path in chapter_notebooks(root):
        if path.stem not in skip:
            found.extend(claims_in_notebook(read_notebook(path)))
    return found


def verdict_counts(claims: Iterable[Claim]) -> dict[str, int]:
    """How many claims carry each verdict (every verdict listed, zeros included)."""
    counts = {verdict: 0 for verdict in VERDICTS}
    for claim in claims:
        counts[claim.verdict] += 1
    return counts


def duplicate_ids(claims: Iterable[Claim]) -> list[str]:
    """Claim ids that occur more than once, sorted."""
    seen: dict[str, int] = {}
    for claim in claims:
        seen[claim.claim_id] = seen.get(claim.claim_id, 0) + 1
    return sorted(i for i, n in seen.items() if n > 1)


def _quote_key(text: str) -> str:
    """A quote reduced to its CJK characters, letters and digits, for duplicate detection."""
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "", text.lower())


def covering_claim(candidate: Claim, existing: Iterable[Claim]) -> Claim | None:
    """The existing claim that already records ``candidate``, or None.

    A claim covers the candidate when it has the same id, or when one quote contains the
    other (compared on CJK characters, letters and digits; at least 6 of them), so a
    statement checked in a chapter is not entered a second time in the ledger.
    """
    key = _quote_key(candidate.quote_zh)
    for claim in existing:
        if claim.claim_id == candidate.claim_id:
            return claim
        other = _quote_key(claim.quote_zh)
        if min(len(key), len(other)) >= 6 and (key in other or other in key):
            return claim
    return None


def broken_links(claims: Iterable[Claim], root: Any = None) -> list[str]:
    """A message for each claim whose evidence link would not resolve on the site.

    A link resolves when the claim's chapter is in ``_toc.yml`` (as ``chapters/<stem>``)
    and its anchor is a label defined in that chapter's markdown.
    """
    from pathlib import Path

    from bmlib.book.notebooks import read_notebook, toc_files  # avoids an import cycle
    from bmlib.core.paths import repo_root

    base = Path(root) if root is not None else repo_root()
    in_toc = set(toc_files(base))
    labels: dict[str, set[str]] = {}
    problems: list[str] = []
    for claim in claims:
        doc = f"chapters/{claim.chapter}"
        if doc not in in_toc:
            problems.append(f"{claim.claim_id}: chapter {claim.chapter!r} is not in _toc.yml")
            continue
        if claim.chapter not in labels:
            notebook, markdown = base / f"{doc}.ipynb", base / f"{doc}.md"
            labels[claim.chapter] = (markdown_labels(read_notebook(notebook)) if notebook.exists()
                                     else text_labels(markdown.read_text(encoding="utf-8"))
                                     if markdown.exists() else set())
        if claim.anchor not in labels[claim.chapter]:
            problems.append(f"{claim.claim_id}: label ({claim.anchor})= is not defined in "
                            f"{doc}")
    return problems


_SECTION = re.compile(r"§\s*(\d+(?:\.\d+)*)")


def location_key(location: str) -> tuple[int, ...]:
    """Sort key in the document's order: the abstract first, then §1, §1.1, ..., then the rest."""
    if location.lower().startswith("abstract"):
        return (0,)
    match = _SECTION.search(location)
    if not match:
        return (99,)
    return (1, *(int(part) for part in match.group(1).split(".")))


def top_section(location: str) -> str:
    """The document's top-level section of a location: "abstract", "§1" ... "§9", or "other"."""
    key = location_key(location)
    return "abstract" if key == (0,) else f"§{key[1]}" if key[0] == 1 else "other"


def sorted_claims(claims: Iterable[Claim]) -> list[Claim]:
    """Claims in the document's order (stable within a location)."""
    return sorted(claims, key=lambda c: location_key(c.location))
