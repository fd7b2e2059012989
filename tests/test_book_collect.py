"""bmlib.book.collect: what the appendices gather from the book (ledger rows, run cards,
citation checks), checked against counts made independently here."""

import json
from collections import Counter

import pytest

from bmlib.book.collect import (
    SECTIONS,
    chapters_without_card,
    citation_claims,
    citation_table,
    claims_by_chapter,
    collect_run_cards,
    consequential_errors,
    ledger_glue_values,
    problem_share,
    run_card_table,
    split_candidates,
    verdict_grid,
)
from bmlib.book.ledger import VERDICTS, Claim
from bmlib.book.references import ESSAY_WORKS, check_citation, citation_evidence, load_bibliography
from bmlib.book.runcard import METADATA_KEY, DataFileRecord, RunCard


def claim(claim_id, verdict="correct", location="§1.1", chapter="core_concepts",
          quote_zh=None):
    return Claim(claim_id=claim_id, quote_zh=quote_zh or f"引用{claim_id}的原话",
                 gloss_en="gloss", location=location, verdict=verdict, evidence=f"why {claim_id}",
                 chapter=chapter, anchor="core_concepts-map")


LEDGER = [
    claim("a1", "wrong", "abstract", "industry_background"),
    claim("b1", "correct", "§1.2", "industry_background"),
    claim("b2", "misleading", "§1.3", "core_concepts"),
    claim("c1", "opinion", "§4.3.4 step 3", "industry_background"),
    claim("c2", "unsupported", "§4.1", "mathematics"),
    claim("d1", "wrong", "byline", "mathematics"),
]


# --- the claims ledger ---------------------------------------------------------------------

def test_claims_by_chapter_counts_in_order_of_first_appearance():
    counts = claims_by_chapter(LEDGER)
    assert list(counts) == ["industry_background", "core_concepts", "mathematics"]
    assert counts == dict(Counter(c.chapter for c in LEDGER))
    assert claims_by_chapter([]) == {}


def test_split_candidates_drops_those_a_chapter_covers_and_keeps_order():
    collected = [claim("chapter-gpt3", quote_zh="如GPT-3拥有1750亿个参数，BERT拥有亿级参数"),
                 claim("same-id")]
    candidates = [claim("new-one"), claim("ledger-gpt3", quote_zh="GPT-3拥有1750亿个参数"),
                  claim("same-id", quote_zh="完全不同的一句话"), claim("new-two")]
    split = split_candidates(candidates, collected)
    assert [c.claim_id for c in split.own] == ["new-one", "new-two"]
    assert [(c.claim_id, cover.claim_id) for c, cover in split.dropped] == \
        [("ledger-gpt3", "chapter-gpt3"), ("same-id", "same-id")]
    assert split.dropped_lines()[0] == \
        "dropped ledger-gpt3: recorded by core_concepts as chapter-gpt3"
    assert split_candidates([], collected).own == ()


def test_verdict_grid_matches_an_independent_count():
    grid = verdict_grid(LEDGER)
    expected = Counter()
    for c in LEDGER:
        section = ("abstract" if c.location == "abstract" else "other" if c.location == "byline"
                   else "§" + c.location.lstrip("§").split(".")[0])
        expected[section, c.verdict] += 1
    assert list(grid.index) == ["abstract", "§1", "§4", "other", "all"]  # empty sections dropped
    assert list(grid.columns) == [*VERDICTS, "total"]
    for (section, verdict), n in expected.items():
        assert grid.loc[section, verdict] == n
    assert int(grid.values[:-1, :-1].sum()) == len(LEDGER)
    assert grid.loc["all", "total"] == len(LEDGER) and grid.loc["§1", "total"] == 2
    assert grid.loc["all", "wrong"] == 2
    assert set(grid.index[:-1]) <= set(SECTIONS)


def test_ledger_glue_values_and_problem_share():
    values = ledger_glue_values(LEDGER)
    assert list(values) == ["ledger_n_total", *(f"ledger_n_{v}" for v in VERDICTS),
                            "ledger_pct_problem"]
    assert values["ledger_n_total"] == 6 and values["ledger_n_wrong"] == 2
    # 5 checkable rows (one opinion), of which wrong 2 + misleading 1 + unsupported 1
    assert values["ledger_pct_problem"] == pytest.approx(100 * 4 / 5)
    with pytest.raises(ValueError, match="no checkable claim"):
        problem_share({"opinion": 3})


def test_consequential_errors_take_the_first_recorded_id():
    errors = [(["not-in-ledger", "b2", "b1"], "first reason"),
              (["nowhere", "neither"], "left out"),
              (["d1"], "second reason")]
    table = consequential_errors(LEDGER, errors)
    assert list(table["claim"]) == ["b2", "d1"]
    assert list(table.columns) == ["claim", "where", "verdict", "why it matters", "evidence"]
    assert table.iloc[0].to_dict() == {"claim": "b2", "where": "§1.3", "verdict": "misleading",
                                       "why it matters": "first reason", "evidence": "why b2"}
    assert consequential_errors(LEDGER, []).empty
    with pytest.raises(TypeError, match="as a list"):
        consequential_errors(LEDGER, [("b2", "a string is not a list of ids")])


# --- run cards -----------------------------------------------------------------------------

def card(chapter, commit="0123456789abcdef", dirty=False, files=0):
    return RunCard(chapter=chapter, started_utc="2026-01-01T00:00:00+00:00", wall_time_s=1.5,
                   git_commit=commit, git_dirty=dirty, python_version="3.11.7",
                   torch_version="2.0", numpy_version="2.0", platform="Linux x86_64",
                   device="cpu", device_name="cpu", parameters={"PROFILE": "smoke", "SEED": 0},
                   peak_rss_mb=100.0, peak_device_memory_mb=None,
                   data_files=[DataFileRecord(f"data/{i}.csv", "0" * 64, 1) for i in range(files)])


def notebook_with(*cards):
    outputs = [{"output_type": "display_data", "data": {"text/plain": "card"},
                "metadata": {METADATA_KEY: {"runcard": json.loads(c.to_json())}}} for c in cards]
    return {"cells": [{"cell_type": "code", "source": "", "outputs": outputs}],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture
def book(tmp_path):
    (tmp_path / "_toc.yml").write_text(
        "format: jb-book\nroot: index\nchapters:\n- file: chapters/one\n- file: chapters/two\n"
        "- file: chapters/three\n- file: chapters/absent\n", encoding="utf-8")
    (tmp_path / "chapters").mkdir()
    notebooks = {"one": notebook_with(card("one", dirty=True, files=2)),
                 "two": notebook_with(),
                 "three": notebook_with(card("three", commit="old"), card("three", commit=None))}
    for name, nb in notebooks.items():
        (tmp_path / "chapters" / f"{name}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return tmp_path


def test_collect_run_cards_keeps_book_order_and_the_last_card(book):
    cards = collect_run_cards(root=book)
    assert list(cards) == ["one", "two", "three"]  # "absent" has no notebook
    assert cards["two"] is None and cards["three"].git_commit is None  # the last card wins
    assert chapters_without_card(cards) == ["two"]
    assert list(collect_run_cards(exclude=("one", "two"), root=book)) == ["three"]


def test_run_card_table_rows(book):
    table = run_card_table(collect_run_cards(root=book))
    rows = table.set_index("chapter")
    assert rows.loc["one", "commit"] == "0123456789+dirty" and rows.loc["one", "data files"] == 2
    assert rows.loc["three", "commit"] == "n/a" and rows.loc["three", "profile"] == "smoke"
    assert rows.loc["two", "run card"] == "MISSING" and rows.loc["two", "commit"] == ""
    assert rows.loc["two", "wall time (s)"] != rows.loc["two", "wall time (s)"]  # NaN
    assert rows.loc["one", "wall time (s)"] == 1.5


# --- citation checks -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def checks():
    bibliography = load_bibliography()
    return {work.cite_id: check_citation(work, bibliography) for work in ESSAY_WORKS}


def test_citation_table_shows_each_check(checks):
    table = citation_table(checks.values())
    assert len(table) == len(ESSAY_WORKS)
    assert list(table["verdict"]) == [c.verdict for c in checks.values()]
    for (_, row), check in zip(table.iterrows(), checks.values()):
        assert row["the essay cites"] == check.work.quoted
        assert row["title"] == {True: "yes", False: "NO", None: "—"}[check.title_ok]
        if check.entry is None:
            assert row["record (references.bib)"] == "not found"
        else:
            assert row["record (references.bib)"].startswith(check.entry.surnames[0])
            assert str(check.entry.year) in row["record (references.bib)"]
    assert "not found" in set(table["record (references.bib)"])  # the essay cites lost works


def test_citation_claims_match_the_checks(checks):
    glosses = {"petrelli": "a book", "vaswani": "a paper"}
    anchors = {"petrelli": "tools_resources-petrelli", "vaswani": "tools_resources-papers"}
    rows = citation_claims(checks, glosses, anchors, chapter="tools_resources", prefix="tools-")
    assert [c.claim_id for c in rows] == ["tools-petrelli", "tools-vaswani"]
    assert [c.location for c in rows] == ["§7.1", "§7.3"]
    for row, cid in zip(rows, glosses):
        assert row.verdict == checks[cid].verdict and row.quote_zh == checks[cid].work.quoted
        assert row.evidence == citation_evidence(checks[cid]) and row.anchor == anchors[cid]
        assert row.basis == "cited"  # a citation check rests on the work's record
    with pytest.raises(KeyError, match="no check for \\['nobody'\\]"):
        citation_claims(checks, {"nobody": "x"}, {"nobody": "a-b"}, "tools_resources", "t-")
    with pytest.raises(KeyError, match="no anchor for \\['vaswani'\\]"):
        citation_claims(checks, {"vaswani": "x"}, {}, "tools_resources", "t-")
