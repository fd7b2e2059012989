"""What the appendices collect from the book itself: ledger rows, their summary, run cards.

The claims-ledger appendix gathers every chapter's claims (:func:`bmlib.book.ledger.
collect_claims`), adds its own candidates unless a chapter already records them
(:func:`split_candidates`), and summarises the whole ledger by section and verdict
(:func:`verdict_grid`, :func:`ledger_glue_values`, :func:`consequential_errors`). The
Reproducibility appendix reads the last run card of every executed chapter
(:func:`collect_run_cards`, :func:`run_card_table`). The tools chapter turns its citation
checks into a table and ledger rows (:func:`citation_table`, :func:`citation_claims`).

Everything here reads committed notebooks or takes book records; nothing is computed anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

from bmlib.book.ledger import VERDICTS, Claim, covering_claim, top_section, verdict_counts
from bmlib.book.notebooks import chapter_notebooks, read_notebook
from bmlib.book.references import CitationCheck, citation_evidence
from bmlib.book.runcard import RunCard, run_cards_in_notebook

#: The document's top-level sections, in its order, as :func:`top_section` names them.
SECTIONS = ("abstract", *(f"§{i}" for i in range(1, 10)), "other")
#: The verdicts that say a checkable statement is not right (all but correct and opinion).
PROBLEM_VERDICTS = ("wrong", "unsupported", "misleading")


# --- the claims ledger ---------------------------------------------------------------------

def claims_by_chapter(claims: Iterable[Claim]) -> dict[str, int]:
    """How many claims each chapter records, chapters in the order they first appear."""
    counts: dict[str, int] = {}
    for claim in claims:
        counts[claim.chapter] = counts.get(claim.chapter, 0) + 1
    return counts


@dataclass(frozen=True)
class LedgerAdditions:
    """The ledger page's candidates, split into its own rows and those a chapter covers."""

    own: tuple[Claim, ...]  # candidates no chapter records: the page's own findings
    dropped: tuple[tuple[Claim, Claim], ...]  # (candidate, the chapter claim covering it)

    def dropped_lines(self) -> list[str]:
        """One line per dropped candidate, naming the chapter claim that covers it."""
        return [f"dropped {claim.claim_id}: recorded by {cover.chapter} as {cover.claim_id}"
                for claim, cover in self.dropped]


def split_candidates(candidates: Iterable[Claim], collected: Sequence[Claim]) -> LedgerAdditions:
    """Keep each candidate unless a collected claim covers it (same id, or one quote
    containing the other: :func:`bmlib.book.ledger.covering_claim`); order is kept."""
    own: list[Claim] = []
    dropped: list[tuple[Claim, Claim]] = []
    for claim in candidates:
        cover = covering_claim(claim, collected)
        if cover is None:
            own.append(claim)
        else:
            dropped.append((claim, cover))
    return LedgerAdditions(own=tuple(own), dropped=tuple(dropped))


def verdict_grid(claims: Iterable[Claim]) -> pd.DataFrame:
    """Claims counted by the document's top-level section (rows) and verdict (columns).

    Sections without a claim are left out; a ``total`` column and an ``all`` row are added.
    """
    grid = pd.DataFrame(0, index=list(SECTIONS), columns=list(VERDICTS))
    for claim in claims:
        grid.loc[top_section(claim.location), claim.verdict] += 1
    grid = grid[grid.sum(axis=1) > 0]
    grid["total"] = grid.sum(axis=1)
    grid.loc["all"] = grid.sum(axis=0)
    return grid


def problem_share(counts: Mapping[str, int]) -> float:
    """Percentage of the checkable claims (all but opinions) that are wrong, unsupported or
    misleading; ``counts`` maps each verdict to its number of claims."""
    checked = sum(counts.get(v, 0) for v in VERDICTS if v != "opinion")
    if checked == 0:
        raise ValueError("problem_share: no checkable claim (only opinions, or none at all)")
    return 100 * sum(counts.get(v, 0) for v in PROBLEM_VERDICTS) / checked


def ledger_glue_values(claims: Sequence[Claim]) -> dict[str, int | float]:
    """The ledger's summary numbers under the names its page glues: ``ledger_n_total``,
    ``ledger_n_<verdict>`` for every verdict, ``ledger_pct_problem``."""
    counts = verdict_counts(claims)
    return {"ledger_n_total": len(claims),
            **{f"ledger_n_{verdict}": n for verdict, n in counts.items()},
            "ledger_pct_problem": problem_share(counts)}


CONSEQUENTIAL_COLUMNS = ("claim", "where", "verdict", "why it matters", "evidence")


def consequential_errors(claims: Iterable[Claim],
                         errors: Sequence[tuple[Sequence[str], str]]) -> pd.DataFrame:
    """One row per error of ``errors`` — (claim ids that may record it, in order of
    preference; why it matters) — showing the first of its ids found among ``claims``.

    An error none of whose ids is in the ledger is left out.
    """
    by_id = {c.claim_id: c for c in claims}
    rows = []
    for ids, why in errors:
        if isinstance(ids, str):
            raise TypeError("consequential_errors: give each error's ids as a list, not a string")
        match = next((by_id[i] for i in ids if i in by_id), None)
        if match:
            rows.append({"claim": match.claim_id, "where": match.location,
                         "verdict": match.verdict, "why it matters": why,
                         "evidence": match.evidence})
    return pd.DataFrame(rows, columns=list(CONSEQUENTIAL_COLUMNS))


# --- run cards -----------------------------------------------------------------------------

def collect_run_cards(exclude: Iterable[str] = (),
                      root: Path | None = None) -> dict[str, RunCard | None]:
    """The last run card of every executed chapter of the table of contents, by chapter stem
    in book order; None for a chapter whose outputs hold no card. ``exclude``: stems to skip."""
    skip = set(exclude)
    cards: dict[str, RunCard | None] = {}
    for path in chapter_notebooks(root):
        if path.stem in skip:
            continue
        found = run_cards_in_notebook(read_notebook(path))
        cards[path.stem] = found[-1] if found else None
    return cards


def chapters_without_card(cards: Mapping[str, RunCard | None]) -> list[str]:
    """The chapters of ``cards`` that carry no run card, in order."""
    return [name for name, card in cards.items() if card is None]


def run_card_table(cards: Mapping[str, RunCard | None]) -> pd.DataFrame:
    """One row per chapter: whether it has a card, commit, device, wall time, peak memory,
    profile and the number of data files it read."""
    rows = []
    for name, card in cards.items():
        if card is None:
            rows.append({"chapter": name, "run card": "MISSING", "commit": "", "device": "",
                         "wall time (s)": None, "peak RSS (MiB)": None, "profile": "",
                         "data files": 0})
            continue
        rows.append({
            "chapter": name,
            "run card": "yes",
            "commit": (card.git_commit or "n/a")[:10] + ("+dirty" if card.git_dirty else ""),
            "device": card.device,
            "wall time (s)": card.wall_time_s,
            "peak RSS (MiB)": card.peak_rss_mb,
            "profile": card.parameters.get("PROFILE", ""),
            "data files": len(card.data_files),
        })
    return pd.DataFrame(rows)


# --- citation checks as a table and as ledger rows ---------------------------------------------

_MARK = {True: "yes", False: "NO", None: "—"}


def citation_table(checks: Iterable[CitationCheck]) -> pd.DataFrame:
    """The citation checks as the tools chapter shows them: what the document cites, the
    matching record, whether title, author and year match ("yes", "NO", "—" when the
    document gives no such field) and the verdict."""
    rows = []
    for c in checks:
        record = "not found"
        if c.entry:
            more = " et al." if len(c.entry.surnames) > 2 else ""
            record = f"{c.entry.surnames[0]}{more} ({c.entry.year}), {c.entry.title}"
        rows.append({"where": c.work.location, "the essay cites": c.work.quoted,
                     "record (references.bib)": record, "title": _MARK[c.title_ok],
                     "author": _MARK[c.author_ok], "year": _MARK[c.year_ok],
                     "verdict": c.verdict})
    return pd.DataFrame(rows)


def citation_claims(checks: Mapping[str, CitationCheck], glosses: Mapping[str, str],
                    anchors: Mapping[str, str], chapter: str, prefix: str) -> list[Claim]:
    """One ledger row per key of ``glosses`` (a cited work's ``cite_id``), in that order.

    The row's id is ``prefix + cite_id``, its quote the document's words, its location the
    section of the citation ("§7.1 books" -> "§7.1"), its verdict and evidence those of the
    check; ``anchors`` gives each work's MyST label in ``chapter``.
    """
    unknown = sorted(set(glosses) - set(checks))
    no_anchor = sorted(set(glosses) - set(anchors))
    if unknown or no_anchor:
        raise KeyError(f"citation_claims: no check for {unknown}; no anchor for {no_anchor} "
                       f"(checked works: {sorted(checks)})")
    return [Claim(claim_id=f"{prefix}{cid}", quote_zh=checks[cid].work.quoted, gloss_en=gloss,
                  location=checks[cid].work.location.split()[0], verdict=checks[cid].verdict,
                  evidence=citation_evidence(checks[cid]), chapter=chapter, anchor=anchors[cid],
                  basis="cited")
            for cid, gloss in glosses.items()]
