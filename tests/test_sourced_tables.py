"""The row-sourced economics tables (data/econ) and the blocked-domain policy of data/."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bmlib.core.paths import repo_root
from bmlib.data.row_sourced import (SOURCE_COLUMNS, available, blocked_domains, blocked_reason,
                                    check_rows, load_record, load_row_sourced)
from bmlib.data.tables import ChecksumError, TableError

DATA = repo_root() / "data"
MINIMUM_ROWS = {"funding_rounds": 60, "revenue_losses": 25, "api_prices": 40, "outcomes": 10,
                "ai_capex": 25, "bubble_history": 10}


def test_every_table_of_data_econ_has_a_record_and_loads():
    names = available()
    assert set(MINIMUM_ROWS) <= set(names)
    for name in names:
        table = load_row_sourced(name)
        assert len(table.frame) >= MINIMUM_ROWS.get(name, 1), name
        assert table.record.gaps, f"{name}: say what could not be sourced"


@pytest.mark.parametrize("name", available())
def test_every_row_has_a_source_a_quote_and_dates(name):
    frame = load_row_sourced(name).frame
    for column in SOURCE_COLUMNS[:-1]:
        assert frame[column].notna().all(), (name, column)
    assert (frame["accessed"].astype(str).str.match(r"^\d{4}-\d{2}-\d{2}$")).all()
    assert (frame["quote"].str.len() >= 20).all(), f"{name}: a quote is a sentence or a cell"


def _numbers(text: str) -> set[float]:
    return {float(m.replace(",", "")) for m in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


@pytest.mark.parametrize("name, column, factors", [
    ("funding_rounds", "amount_usd_million", (1, 1000, 1e-3)),
    ("revenue_losses", "value_usd_million", (1, 1000, 1e-3)),
    ("ai_capex", "value_usd_billion", (1, 1000, 1e-3)),
    ("api_prices", "input_usd_per_mtok", (1, 1e-3, 100)),  # per-1K prices x1000; cents
])
def test_each_number_is_stated_in_its_quote(name, column, factors):
    """A value must appear in its quote (as a number, in thousands/millions, or x1000 for
    per-1K prices); Chinese 亿/万 amounts and words like 'half a billion' are the exceptions
    listed below, checked by hand at review."""
    frame = load_row_sourced(name).frame
    unstated = []
    for index, row in frame[frame[column].notna()].iterrows():
        value, quote = float(row[column]), str(row["quote"])
        found = any(abs(n - value * f) <= 0.0051 + 1e-9 * abs(value * f)
                    for n in _numbers(quote) for f in factors)
        if not found and not re.search(r"亿|万|half a billion|billion", quote):
            unstated.append((index + 2, value, quote[:80]))
    assert not unstated, f"{name}: numbers not stated in their quotes: {unstated}"


def _cited_hosts(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return re.findall(r"https?://([^/\s\"'<>),;]+)", text)


def data_files() -> list[Path]:
    return sorted(p for p in DATA.rglob("*") if p.is_file() and p.suffix in
                  (".csv", ".yml", ".yaml", ".json", ".md") and p.stat().st_size < 5_000_000)


@pytest.mark.parametrize("path", data_files(), ids=lambda p: str(p.relative_to(DATA)))
def test_no_data_file_cites_a_blocked_domain(path):
    blocked = blocked_domains()
    hits = sorted({host for host in _cited_hosts(path)
                   if blocked_reason(f"https://{host}/", blocked)})
    assert not hits, (f"{path.relative_to(repo_root())} cites {hits}: SEO aggregators and "
                      "content farms are blocked (data/policy/blocked_domains.txt); use primary "
                      "sources or reputable press")


def test_blocked_reason_names_domain_subdomain_and_bare_ip():
    blocked = frozenset({"gitnux.org"})
    assert "blocked" in blocked_reason("https://www.gitnux.org/x", blocked)
    assert blocked_reason("https://notgitnux.org/x", blocked) is None
    assert "bare IP" in blocked_reason("http://61.152.230.22/news", blocked)
    assert blocked_reason("https://www.reuters.com/x", blocked) is None


def _tiny(tmp_path: Path, rows: list[dict], sha: str | None = None) -> Path:
    frame = pd.DataFrame(rows)
    csv = tmp_path / "tiny.csv"
    frame.to_csv(csv, index=False)
    import hashlib
    record = {"title": "t", "description": "d", "as_of": "2026-12-01", "licence": "MIT",
              "sha256": sha or hashlib.sha256(csv.read_bytes()).hexdigest(), "gaps": ["none"],
              "columns": {c: {"unit": "text", "description": c} for c in frame.columns}}
    (tmp_path / "tiny.meta.yml").write_text(yaml.safe_dump(record), encoding="utf-8")
    return csv


GOOD = {"company": "X", "source_kind": "press", "publisher": "Reuters",
        "source_title": "X raises", "source_url": "https://www.reuters.com/x",
        "quote": "X raised USD 1 billion on Monday.", "published": "2024-05-01",
        "accessed": "2026-12-01", "note": ""}


def test_a_good_tiny_table_loads(tmp_path: Path):
    _tiny(tmp_path, [GOOD])
    assert len(load_row_sourced("tiny", tmp_path).frame) == 1


@pytest.mark.parametrize("change, match", [
    ({"quote": ""}, "empty 'quote'"),
    ({"source_kind": "blog"}, "source_kind 'blog'"),
    ({"source_url": "https://www.gitnux.org/ai"}, "blocked list"),
    ({"published": "2024-13-01"}, "does not exist"),
    ({"accessed": "yesterday"}, "not YYYY"),
    ({"source_url": "file:seed.txt"}, "not a web address"),
])
def test_bad_rows_are_refused_with_the_row_named(tmp_path: Path, change, match):
    _tiny(tmp_path, [GOOD, {**GOOD, **change}])
    with pytest.raises(TableError, match=match) as caught:
        load_row_sourced("tiny", tmp_path)
    assert "row 3" in str(caught.value)


def test_a_changed_file_is_refused(tmp_path: Path):
    _tiny(tmp_path, [GOOD], sha="0" * 64)
    with pytest.raises(ChecksumError, match="update the record"):
        load_row_sourced("tiny", tmp_path)
