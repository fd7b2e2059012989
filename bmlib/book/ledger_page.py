"""The claims-ledger page: its sortable, filterable table and the ledger's downloads.

:func:`ledger_html` renders the whole ledger as one table with an id, chapter, location,
quote, gloss, verdict, basis and evidence column; each row has the HTML id
:func:`row_id` (``claim-<claim id>``) so any page can link to it, and carries the keys that
the site's small script (``tools/static/ledger.js``) sorts and filters by. Without the script
the table is complete and in the essay's order. :func:`consequential_html` links the page's
table of the most consequential errors to those rows.

:func:`claims_csv` and :func:`bmlib.book.ledger.claims_json` are the downloadable forms; the
site build writes both next to the pages (:func:`write_downloads`, called by
``tools/book_sphinx.py``), and :func:`claims_from_csv` / :func:`claims_from_json` read them
back, so a test can check they hold the same claims as the table.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from bmlib.book.ledger import BASES, VERDICTS, Claim, claims_json, collect_claims, sorted_claims

if TYPE_CHECKING:
    import pandas as pd

#: The CSV's columns: every field of :class:`Claim`, in its order.
CSV_FIELDS = tuple(f.name for f in fields(Claim))
#: The CSV's encoding: UTF-8 with a byte-order mark, so that Excel reads the Chinese quotes.
CSV_ENCODING = "utf-8-sig"
#: The download files, written in the root of the HTML output.
CSV_NAME, JSON_NAME = "claims.csv", "claims.json"
#: What the basis column shows for a row whose basis is not recorded yet.
NOT_REVIEWED = "not reviewed"
#: The table's HTML id (the script finds the table by its class, the tests by this id).
TABLE_ID = "claims-ledger-table"


def row_id(claim_id: str) -> str:
    """The HTML id of a claim's row in the ledger table."""
    return f"claim-{claim_id}"


def _cell(text: str, sort: str | int | None = None, lang: str | None = None) -> str:
    attrs = "" if sort is None else f' data-sort="{html.escape(str(sort))}"'
    attrs += "" if lang is None else f' lang="{lang}"'
    return f"<td{attrs}>{text}</td>"


def ledger_html(claims: Sequence[Claim], chapter_order: Iterable[str] = ()) -> str:
    """The ledger as one HTML table, rows in the given order (the essay's order).

    ``chapter_order`` lists chapter stems in book order: the chapter column sorts and its
    filter lists in that order (chapters not listed come after, by name). Sort keys ride on
    ``data-sort`` attributes where a column's text does not sort right (location: essay
    order; verdict and basis: the order of ``VERDICTS`` and ``BASES``); ``<th data-filter>``
    marks the columns the script offers a filter for.
    """
    order = {name: i for i, name in enumerate(chapter_order)}
    unlisted = sorted({c.chapter for c in claims} - set(order))
    order.update({name: len(order) + i for i, name in enumerate(unlisted)})
    rows = []
    for position, c in enumerate(claims):
        basis = c.basis or NOT_REVIEWED
        basis_rank = BASES.index(c.basis) if c.basis else len(BASES)
        rows.append(
            f'<tr id="{row_id(c.claim_id)}">'
            + _cell(f"<code>{html.escape(c.claim_id)}</code>")
            + _cell(f'<a href="{html.escape(c.chapter)}.html">{html.escape(c.chapter)}</a>',
                    sort=f"{order[c.chapter]:04d}")
            + _cell(html.escape(c.location), sort=f"{position:05d}")
            + _cell(html.escape(c.quote_zh), lang="zh")
            + _cell(html.escape(c.gloss_en))
            + _cell(f"<strong>{html.escape(c.verdict)}</strong>",
                    sort=VERDICTS.index(c.verdict))
            + _cell(html.escape(basis), sort=basis_rank)
            + _cell(f'{html.escape(c.evidence)} (<a href="{html.escape(c.href)}">evidence</a>)')
            + "</tr>")
    head = "".join(
        f'<th scope="col"{" data-filter" if name in ("chapter", "verdict", "basis") else ""}>'
        f"{name}</th>"
        for name in ("id", "chapter", "where", "the document says", "gloss", "verdict",
                     "basis", "evidence"))
    return (f'<div class="bmlib-ledger-wrap"><table class="bmlib-claims bmlib-ledger" '
            f'id="{TABLE_ID}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def consequential_html(errors: pd.DataFrame) -> str:
    """The table of :func:`bmlib.book.collect.consequential_errors` as HTML, each claim id a
    link to its row of the ledger table on the same page (:func:`row_id`)."""
    cells = errors.astype(str).map(html.escape)
    cells["claim"] = [f'<a href="#{row_id(i)}"><code>{html.escape(i)}</code></a>'
                      for i in errors["claim"]]
    return cells.to_html(index=False, escape=False, classes="bmlib-consequential")


def claims_csv(claims: Iterable[Claim]) -> str:
    """The claims as CSV text: a header of :data:`CSV_FIELDS`, then one row per claim
    (RFC 4180 quoting, CRLF line ends). Write it with :data:`CSV_ENCODING`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(c.to_dict() for c in claims)
    return out.getvalue()


def claims_from_csv(text: str) -> list[Claim]:
    """The claims of a CSV written by :func:`claims_csv` (a leading byte-order mark is
    ignored); raises ValueError when the header is not :data:`CSV_FIELDS`."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    if tuple(reader.fieldnames or ()) != CSV_FIELDS:
        raise ValueError(f"claims CSV: header {reader.fieldnames} is not {list(CSV_FIELDS)}")
    return [Claim(**row) for row in reader]


def claims_from_json(text: str) -> list[Claim]:
    """The claims of a JSON list written by :func:`bmlib.book.ledger.claims_json`."""
    return [Claim(**row) for row in json.loads(text)]


def ledger_claims(root: Path | None = None) -> list[Claim]:
    """The whole ledger as its page shows it: every chapter's claims (the ledger page's own
    rows included, which it stores like any chapter) in the essay's order."""
    return sorted_claims(collect_claims(root=root))


def write_downloads(claims: Sequence[Claim], folder: Path) -> list[Path]:
    """Write :data:`CSV_NAME` (UTF-8 with BOM) and :data:`JSON_NAME` (UTF-8) into
    ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = folder / CSV_NAME, folder / JSON_NAME
    csv_path.write_text(claims_csv(claims), encoding=CSV_ENCODING, newline="")
    json_path.write_text(claims_json(claims) + "\n", encoding="utf-8")
    return [csv_path, json_path]
