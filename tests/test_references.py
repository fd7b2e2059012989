"""The bibliography parses, and the document's citations are checked against it."""

import pytest

from bmlib.core.paths import repo_root

from bmlib.book.references import (
    ESSAY_WORKS,
    BibliographyError,
    CitedWork,
    check_citation,
    load_bibliography,
    normalise,
    parse_bibliography,
)

SAMPLE = r"""
@book{chollet2017deep,
  title     = {Deep Learning with Python},
  author    = {Chollet, Fran{\c{c}}ois},
  publisher = {Manning Publications},
  year      = {2017}
}
@inproceedings{devlin2019bert,
  title     = {{BERT}: Pre-training of Deep Bidirectional Transformers},
  author    = {Devlin, Jacob and Chang, Ming-Wei},
  booktitle = {Proceedings of NAACL-HLT 2019},
  year      = {2019}
}
"""


def work(**changes):
    values = dict(cite_id="demo", location="§7.3", quoted="...", title="Deep Learning with Python",
                  author="François Chollet", year=2017, bib_key="chollet2017deep")
    values.update(changes)
    return CitedWork(**values)


def test_parse_reads_fields_and_removes_braces():
    entries = parse_bibliography(SAMPLE)
    assert entries["chollet2017deep"].surnames == ("Chollet",)
    assert entries["chollet2017deep"].year == 2017
    assert entries["chollet2017deep"].venue == "Manning Publications"
    assert entries["devlin2019bert"].title == "BERT: Pre-training of Deep Bidirectional Transformers"
    assert entries["devlin2019bert"].entry_type == "inproceedings"


def test_normalise_ignores_case_accents_and_punctuation():
    assert normalise("Fran{\\c{c}}ois") == "francois"
    assert normalise("“Attention Is All You Need”") == "attention is all you need"
    assert normalise("《深度学习》") == "深度学习"


def test_verdicts_follow_the_fields():
    entries = parse_bibliography(SAMPLE)
    assert check_citation(work(), entries).verdict == "correct"
    wrong_author = check_citation(work(author="Francesco Petrelli"), entries)
    assert (wrong_author.author_ok, wrong_author.verdict) == (False, "wrong")
    wrong_year = check_citation(work(year=2018), entries)
    assert (wrong_year.year_ok, wrong_year.verdict) == (False, "wrong")
    wrong_title = check_citation(work(title="Generative Pre-trained Transformers"), entries)
    assert (wrong_title.title_ok, wrong_title.verdict) == (False, "wrong")
    assert check_citation(work(bib_key=None), entries).verdict == "unsupported"


def test_unknown_key_is_a_clear_error():
    with pytest.raises(BibliographyError, match="not in references.bib"):
        check_citation(work(bib_key="nobody2099"), parse_bibliography(SAMPLE))


def test_unparsable_bibliography_is_a_clear_error():
    with pytest.raises(BibliographyError, match="does not parse"):
        parse_bibliography("@book{broken, title = {unclosed")


def test_every_cited_work_of_the_document_resolves_in_the_book_bibliography():
    bibliography = load_bibliography()
    verdicts = {w.cite_id: check_citation(w, bibliography).verdict for w in ESSAY_WORKS}
    assert len(verdicts) == len(ESSAY_WORKS)  # ids unique
    # The findings the tools-and-resources chapter reports:
    assert verdicts["petrelli"] == "wrong"  # the book is by François Chollet
    assert verdicts["brown-gpt"] == "wrong"  # Brown et al. 2020 has another title
    assert verdicts["clopath"] == "unsupported"
    assert verdicts["zen-big-model-book"] == "unsupported"
    assert verdicts["vaswani"] == verdicts["devlin"] == "correct"


def test_book_bibliography_keys_are_unique_and_have_years():
    text = (repo_root() / "references.bib").read_text(encoding="utf-8")
    keys = [line.split("{", 1)[1].rstrip(",").strip() for line in text.splitlines()
            if line.startswith("@")]
    assert len(keys) == len(set(keys)), "duplicate BibTeX keys in references.bib"
    assert all(entry.year for entry in load_bibliography().values())


def test_evidence_names_the_record_and_the_disagreeing_field():
    entries = parse_bibliography(SAMPLE)
    from bmlib.book.references import citation_evidence

    text = citation_evidence(check_citation(work(author="Francesco Petrelli"), entries))
    assert "Chollet, 'Deep Learning with Python', Manning Publications, 2017" in text
    assert "author disagrees" in text and "title, year match" in text
    assert citation_evidence(check_citation(work(bib_key=None, note="none found"), entries)) \
        == "No matching work found. none found"
