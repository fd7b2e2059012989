"""The claims ledger over the committed, executed chapters: complete, unique, linked."""

import pytest

from bmlib.book.ledger import (
    VERDICTS,
    Claim,
    broken_links,
    collect_claims,
    covering_claim,
    duplicate_ids,
    markdown_labels,
    verdict_counts,
)
from bmlib.book.notebooks import chapter_notebooks, read_notebook, toc_files


def make(**changes):
    values = dict(claim_id="demo-claim", quote_zh="GPT-3拥有1750亿个参数", gloss_en="gloss",
                  location="§1.1", verdict="correct", evidence="175B in Brown et al. (2020)",
                  chapter="core_concepts", anchor="core_concepts-map")
    values.update(changes)
    return Claim(**values)


def markdown_notebook(*sources):
    return {"cells": [{"cell_type": "markdown", "source": s} for s in sources]}


# --- the helpers -----------------------------------------------------------------------

def test_markdown_labels_finds_only_labels_on_their_own_line():
    nb = markdown_notebook("(a-one)=\n## One", ["text (not-a-label)= here\n", "(b_two)=\n"])
    assert markdown_labels(nb) == {"a-one", "b_two"}


def test_verdict_counts_lists_every_verdict():
    counts = verdict_counts([make(), make(claim_id="x", verdict="wrong")])
    assert list(counts) == list(VERDICTS)
    assert counts["correct"] == 1 and counts["wrong"] == 1 and counts["opinion"] == 0


def test_duplicates_by_id_and_by_quote():
    assert duplicate_ids([make(), make(), make(claim_id="other")]) == ["demo-claim"]
    existing = [make(claim_id="c1-gpt3", quote_zh="如GPT-3拥有1750亿个参数，BERT拥有亿级参数")]
    assert covering_claim(make(), existing).claim_id == "c1-gpt3"  # quote contained
    assert covering_claim(make(claim_id="c1-gpt3", quote_zh="另一句话很长"), existing)
    assert covering_claim(make(quote_zh="LLaMA"), existing) is None  # too short to match


def test_broken_links_names_the_missing_label_and_chapter():
    problems = broken_links([make(anchor="core_concepts-nowhere"),
                             make(claim_id="y", chapter="not_a_chapter")])
    assert "label (core_concepts-nowhere)= is not defined" in problems[0]
    assert "'not_a_chapter' is not in _toc.yml" in problems[1]


# --- the book as committed ---------------------------------------------------------------

@pytest.fixture(scope="module")
def book_claims():
    return collect_claims()


def test_every_row_has_a_verdict_and_evidence(book_claims):
    assert book_claims, "no chapter records any claim"
    for claim in book_claims:
        assert claim.verdict in VERDICTS
        assert claim.evidence.strip() and claim.quote_zh.strip() and claim.location.strip()


def test_claim_ids_are_unique_across_the_book(book_claims):
    assert duplicate_ids(book_claims) == []


def test_every_evidence_link_resolves(book_claims):
    assert broken_links(book_claims) == []


def test_the_ledger_appendix_is_in_the_book_and_collects_every_chapter():
    ledger = [p for p in chapter_notebooks() if p.stem == "claims_ledger"]
    if not ledger:
        pytest.skip("the claims-ledger appendix is not in _toc.yml yet")
    assert "chapters/claims_ledger" in toc_files()
    nb = read_notebook(ledger[0])
    shown = "".join(
        "".join(o.get("data", {}).get("text/plain", ""))
        for cell in nb["cells"] if cell["cell_type"] == "code" for o in cell.get("outputs", []))
    others = collect_claims(exclude=("claims_ledger",))
    missing = [c.claim_id for c in others if c.claim_id not in shown]
    assert not missing, (f"the executed ledger does not list {missing[:5]}: re-execute "
                         "chapters/claims_ledger after the chapters that record them")


def test_locations_sort_in_document_order():
    from bmlib.book.ledger import location_key, sorted_claims, top_section

    assert location_key("abstract") < location_key("§1.3") < location_key("§2 (concept map)") \
        < location_key("§4.3.4 step 3") < location_key("§9.7") < location_key("byline")
    assert top_section("§4.3.4 step 3") == "§4" and top_section("Abstract") == "abstract"
    assert top_section("byline") == "other"
    rows = [make(claim_id="b", location="§9.1"), make(claim_id="a", location="§1.1")]
    assert [c.claim_id for c in sorted_claims(rows)] == ["a", "b"]


# --- the ledger page: its table and its downloads -----------------------------------------

def test_csv_writer_quotes_every_field_and_round_trips(tmp_path):
    from bmlib.book.ledger import claims_json
    from bmlib.book.ledger_page import (CSV_FIELDS, claims_csv, claims_from_csv,
                                        claims_from_json, write_downloads)

    rows = [make(evidence='a "quoted", comma\nand a new line', basis="computed"),
            make(claim_id="second", quote_zh="“引号”，逗号", location="§2")]
    text = claims_csv(rows)
    assert text.splitlines()[0] == ",".join(CSV_FIELDS)
    assert {"claim_id", "chapter", "basis"} <= set(CSV_FIELDS)
    assert claims_from_csv(text) == rows
    assert claims_from_json(claims_json(rows)) == rows
    csv_path, json_path = write_downloads(rows, tmp_path / "site")
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "the CSV starts with a UTF-8 byte-order mark"
    assert "“引号”，逗号".encode("utf-8") in raw
    assert claims_from_csv(raw.decode("utf-8")) == rows  # the BOM is skipped on reading
    assert claims_from_json(json_path.read_text(encoding="utf-8")) == rows
    with pytest.raises(ValueError, match="header"):
        claims_from_csv("id,quote\nx,y\n")


def test_ledger_table_has_id_chapter_and_basis_columns_and_row_ids():
    import re

    from bmlib.book.ledger_page import ledger_html

    rows = [make(claim_id="b-first", location="§1.1", basis="cited"),
            make(claim_id="a-second", location="§2", chapter="industry_background",
                 quote_zh="<市场>", verdict="wrong")]
    table = ledger_html(rows, chapter_order=["industry_background", "core_concepts"])
    headers = re.findall(r"<th[^>]*>([^<]+)</th>", table)
    assert headers[:3] == ["id", "chapter", "where"] and "basis" in headers
    assert re.findall(r'<tr id="([^"]+)"', table) == ["claim-b-first", "claim-a-second"]
    assert '<a href="industry_background.html">industry_background</a>' in table
    assert f'href="{rows[0].href}"' in table  # the evidence link is kept
    assert "not reviewed" in table and ">cited<" in table
    assert "&lt;市场&gt;" in table  # text is escaped
    # sort keys: chapters in book order, verdicts in vocabulary order
    assert 'data-sort="0001"><a href="core_concepts.html"' in table
    assert f'data-sort="{VERDICTS.index("wrong")}"><strong>wrong' in table
    assert table.count("data-filter") == 3


def test_consequential_errors_link_to_rows_of_the_ledger_table():
    import re

    from bmlib.book.collect import consequential_errors
    from bmlib.book.ledger_page import consequential_html, ledger_html

    rows = [make(claim_id="x-one", verdict="wrong"), make(claim_id="x-two", verdict="wrong")]
    errors = consequential_errors(rows, [(["missing", "x-two"], "why <it> matters")])
    page = ledger_html(rows) + consequential_html(errors)
    links = re.findall(r'href="#([^"]+)"', page)
    assert links == ["claim-x-two"]
    assert set(links) <= set(re.findall(r'\bid="([^"]+)"', page))
    assert "why &lt;it&gt; matters" in page


def test_downloads_hold_the_claims_the_executed_ledger_shows():
    from bmlib.book.ledger import claims_json, claims_text
    from bmlib.book.ledger_page import (claims_csv, claims_from_csv, claims_from_json,
                                        ledger_claims)

    ledger = [p for p in chapter_notebooks() if p.stem == "claims_ledger"]
    if not ledger:
        pytest.skip("the claims-ledger appendix is not in _toc.yml yet")
    cell = next(c for c in read_notebook(ledger[0])["cells"]
                if c["cell_type"] == "code" and "ledger = sorted_claims(" in "".join(c["source"]))
    shown = next("".join(o["data"]["text/plain"]) for o in cell["outputs"]
                 if "text/html" in o.get("data", {}))
    claims = ledger_claims()
    assert claims_text(claims) == shown, ("the downloads would differ from the ledger table: "
                                          "re-execute chapters/claims_ledger")
    assert claims_from_csv(claims_csv(claims)) == claims
    assert claims_from_json(claims_json(claims)) == claims
