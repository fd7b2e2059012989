"""The book's bibliography, and the document's cited works checked against it.

``references.bib`` holds every work the book cites, each checked against the publisher's or
the proceedings' record. The source document cites books and papers in its section 7; each
is recorded here as a :class:`CitedWork` (what the document says: title, author, year) next
to the key of the real work it names, or ``None`` where no such work could be found.
:func:`check_citation` compares the two field by field and gives a ledger verdict.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bmlib.core.paths import repo_root


class BibliographyError(ValueError):
    """A bibliography file or a citation check that cannot be carried out."""


@dataclass(frozen=True)
class BibEntry:
    """One ``references.bib`` entry, reduced to what citation checks need."""

    key: str  # BibTeX key, e.g. "vaswani2017attention"
    entry_type: str  # BibTeX type, lower case: "article", "book", "inproceedings", ...
    title: str  # title with BibTeX braces removed
    surnames: tuple[str, ...]  # authors' last names, in order
    year: int | None  # publication year
    venue: str  # journal, booktitle, publisher or institution ("" if none)


@dataclass(frozen=True)
class CitedWork:
    """A work as the document cites it, and the real work it refers to."""

    cite_id: str  # kebab-case id, also the suffix of the ledger claim id
    location: str  # where the document cites it, e.g. "§7.1 books"
    quoted: str  # the document's words, verbatim
    title: str  # the title the document gives (English or Chinese)
    author: str  # the author(s) as the document names them ("" if it names none)
    year: int | None  # the year the document gives (None if it gives none)
    bib_key: str | None  # key of the real work in references.bib; None if none was found
    note: str = ""  # what the search found, in one sentence


@dataclass(frozen=True)
class CitationCheck:
    """Field-by-field comparison of a cited work with the bibliography record."""

    work: CitedWork
    entry: BibEntry | None  # the matched record (None when the work was not found)
    title_ok: bool | None  # None when the document gives no title to compare
    author_ok: bool | None  # None when the document names no author
    year_ok: bool | None  # None when the document gives no year
    verdict: str  # "correct", "wrong" or "unsupported" (ledger vocabulary)


def _strip_latex(text: str) -> str:
    """Remove BibTeX braces and turn the common accent macros into characters."""
    accents = {r"\c{c}": "ç", r"\L": "Ł", r'\"u': "ü", r"\'e": "é", r"\`e": "è", r"\'a": "á"}
    for macro, char in accents.items():
        text = text.replace("{" + macro + "}", char).replace(macro, char)
    return re.sub(r"\s+", " ", text.replace("{", "").replace("}", "")).strip()


def normalise(text: str) -> str:
    """Lower case, accents and punctuation removed: the form titles and names are compared in."""
    text = unicodedata.normalize("NFKD", _strip_latex(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z\u4e00-\u9fff]+", " ", text.lower()).strip()


def parse_bibliography(text: str) -> dict[str, BibEntry]:
    """Parse BibTeX text (with pybtex) into :class:`BibEntry` records keyed by BibTeX key."""
    from pybtex.database import parse_string  # imported here: only this function needs it
    from pybtex.scanner import PybtexSyntaxError

    try:
        database = parse_string(text, "bibtex")
    except PybtexSyntaxError as error:
        raise BibliographyError(f"references.bib does not parse: {error}") from None
    entries: dict[str, BibEntry] = {}
    for key, entry in database.entries.items():
        fields = entry.fields
        year_text = str(fields.get("year", "")).strip()
        venue = next((str(fields[name]) for name in
                      ("journal", "booktitle", "publisher", "institution") if name in fields), "")
        surnames = tuple(_strip_latex(" ".join(person.last_names))
                         for person in entry.persons.get("author", []))
        entries[key] = BibEntry(
            key=key,
            entry_type=entry.type.lower(),
            title=_strip_latex(str(fields.get("title", ""))),
            surnames=surnames,
            year=int(year_text) if year_text.isdigit() else None,
            venue=_strip_latex(venue),
        )
    return entries


def load_bibliography(path: Path | None = None) -> dict[str, BibEntry]:
    """The book's ``references.bib`` (or ``path``) as :class:`BibEntry` records."""
    path = path or repo_root() / "references.bib"
    if not path.exists():
        raise BibliographyError(f"{path} not found: the bibliography lives at the repository root")
    return parse_bibliography(path.read_text(encoding="utf-8"))


def _author_matches(claimed: str, surnames: tuple[str, ...]) -> bool:
    """True when the first surname the document names is the record's first author."""
    if not surnames:
        return False
    first_claimed = normalise(re.split(r"[、,，]| et al| and ", claimed)[0])
    first_real = normalise(surnames[0])
    return bool(first_real) and first_real in first_claimed.split()


def check_citation(work: CitedWork, bibliography: dict[str, BibEntry]) -> CitationCheck:
    """Compare what the document says about a work with the bibliography record.

    ``correct`` when every field the document gives matches the record, ``wrong`` when the
    work exists but a title, author or year differs (a misattribution), ``unsupported`` when
    no such work was found (``bib_key`` is None).
    """
    if work.bib_key is None:
        return CitationCheck(work, None, None, None, None, "unsupported")
    if work.bib_key not in bibliography:
        raise BibliographyError(
            f"cited work {work.cite_id!r}: key {work.bib_key!r} is not in references.bib; "
            "append the entry or correct the key"
        )
    entry = bibliography[work.bib_key]
    title_ok = normalise(work.title) == normalise(entry.title) if work.title else None
    author_ok = _author_matches(work.author, entry.surnames) if work.author else None
    year_ok = (work.year == entry.year) if work.year is not None else None
    checks = [ok for ok in (title_ok, author_ok, year_ok) if ok is not None]
    verdict = "correct" if all(checks) else "wrong"
    return CitationCheck(work, entry, title_ok, author_ok, year_ok, verdict)


# The document's cited books (§7.1) and papers (§7.3). Chinese book titles are compared with
# the record's title only through the bib_key (the translation's title differs from the
# original), so `title` holds the original title for them.
ESSAY_WORKS: tuple[CitedWork, ...] = (
    CitedWork("goodfellow-deep-learning", "§7.1 books",
              "《深度学习》（Ian Goodfellow、Yoshua Bengio、Aaron Courville著）",
              "Deep Learning", "Ian Goodfellow、Yoshua Bengio、Aaron Courville", None,
              "goodfellow2016deep",
              "The Chinese translation 《深度学习》 is published by 人民邮电出版社 (2017)."),
    CitedWork("petrelli", "§7.1 books", "《Python深度学习》（Francesco Petrelli著）",
              "Deep Learning with Python", "Francesco Petrelli", None, "chollet2017deep",
              "《Python深度学习》 is the Chinese edition of François Chollet's Deep Learning with "
              "Python (Manning, 2017); no deep-learning author 'Francesco Petrelli' was found."),
    CitedWork("zen-big-model-book", "§7.1 books",
              "《AI大模型：原理、算法与应用》（作者：禅与计算机程序设计艺术）",
              "AI大模型：原理、算法与应用", "禅与计算机程序设计艺术", None, None,
              "No book of this title by this author was found; '禅与计算机程序设计艺术' is the "
              "byline of the document itself, which recommends its own pen name."),
    CitedWork("vaswani", "§7.3 papers", "“Attention Is All You Need”（Vaswani et al., 2017）",
              "Attention Is All You Need", "Vaswani et al.", 2017, "vaswani2017attention",
              "NeurIPS 2017 (arXiv 1706.03762)."),
    CitedWork("devlin", "§7.3 papers",
              "“BERT: Pre-training of Deep Bidirectional Transformers for Language "
              "Understanding”（Devlin et al., 2019）",
              "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
              "Devlin et al.", 2019, "devlin2019bert",
              "NAACL-HLT 2019 (arXiv 1810.04805, October 2018)."),
    CitedWork("brown-gpt", "§7.3 papers", "“Generative Pre-trained Transformers”（Brown et al., 2020）",
              "Generative Pre-trained Transformers", "Brown et al.", 2020, "brown2020language",
              "Brown et al. (2020) is 'Language Models are Few-Shot Learners' (GPT-3); no paper "
              "has the title the document gives. The first GPT paper is Radford et al. (2018)."),
    CitedWork("clopath", "§7.3 papers",
              "“A Structured Self-Supervised Learning Scaler for CVPR 2021”（Clopath et al., 2021）",
              "A Structured Self-Supervised Learning Scaler for CVPR 2021", "Clopath et al.", 2021,
              None,
              "No paper of this title was found, by Clopath or anyone else; Claudia Clopath is a "
              "computational neuroscientist (Imperial College London) who works on synaptic "
              "plasticity, and a paper's title does not name its venue ('for CVPR 2021')."),
)


def _authors_text(entry: BibEntry) -> str:
    names = entry.surnames
    if len(names) <= 2:
        return " and ".join(names)
    return f"{names[0]} et al."


def citation_evidence(check: CitationCheck) -> str:
    """One sentence of evidence for the ledger: the record, and which fields disagree."""
    work = check.work
    if check.entry is None:
        return f"No matching work found. {work.note}".strip()
    entry = check.entry
    record = f"Record: {_authors_text(entry)}, '{entry.title}', {entry.venue or entry.entry_type}"
    record += f", {entry.year}." if entry.year else "."
    fields = {"title": check.title_ok, "author": check.author_ok, "year": check.year_ok}
    differ = [name for name, ok in fields.items() if ok is False]
    agree = [name for name, ok in fields.items() if ok is True]
    verdict = (f"The document's {', '.join(differ)} disagree{'s' if len(differ) == 1 else ''} "
               f"with the record" if differ else "Every field the document gives matches")
    if agree and differ:
        verdict += f" ({', '.join(agree)} match{'es' if len(agree) == 1 else ''})"
    return f"{record} {verdict}. {work.note}".strip()
