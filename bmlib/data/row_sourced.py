"""Tables whose every row carries its own source: the economics tables of ``data/econ``.

A row of such a table is one reported fact (a funding round, a revenue figure, a price, a
capex line) followed by the columns of :data:`SOURCE_COLUMNS`: what kind of source it is,
who published it, the page's title and URL, the sentence or table cell quoted verbatim, the
date it was published and the date it was read, and a note (caveats, disagreements, "as
reported by"). Its record ``<name>.meta.yml`` gives the title, description, units of every
column, licence, as-of date, SHA-256 of the CSV and the ``gaps``: what was looked for and
could not be sourced, so a chapter can say so instead of filling the hole.

:func:`load_row_sourced` refuses a table whose bytes changed since they were recorded, a row
without a URL, quote or dates, a source kind it does not know, and any URL on the blocked
list (``data/policy/blocked_domains.txt``: SEO aggregators and content farms).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import yaml

from bmlib.core.files import sha256_file
from bmlib.core.paths import repo_root
from bmlib.data.tables import ChecksumError, Column, MissingRecordError, TableError

SOURCE_COLUMNS = ("source_kind", "publisher", "source_title", "source_url", "quote",
                  "published", "accessed", "note")
SOURCE_KINDS = ("primary", "filing", "paper", "press", "encyclopedia")
_REQUIRED = ("title", "description", "as_of", "licence", "sha256", "columns", "gaps")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def econ_dir() -> Path:
    """The folder of the row-sourced tables: ``<repo>/data/econ``."""
    return repo_root() / "data" / "econ"


def blocked_domains_file() -> Path:
    """The committed list of domains no table may cite."""
    return repo_root() / "data" / "policy" / "blocked_domains.txt"


def blocked_domains(path: Path | None = None) -> frozenset[str]:
    """The blocked domains (one a line; ``#`` starts a comment)."""
    lines = (path or blocked_domains_file()).read_text(encoding="utf-8").splitlines()
    return frozenset(d for d in (line.split("#", 1)[0].strip().lower() for line in lines) if d)


def host_of(url: str) -> str:
    """The lower-case host name of ``url`` ('' when it has none)."""
    return (urlparse(str(url)).hostname or "").lower().rstrip(".")


def blocked_reason(url: str, blocked: frozenset[str] | None = None) -> str | None:
    """Why ``url`` may not be cited (a blocked domain, a bare IP address), or None."""
    host = host_of(url)
    try:
        ipaddress.ip_address(host)
        return f"{host} is a bare IP address, not an identifiable publisher"
    except ValueError:
        pass
    for domain in blocked if blocked is not None else blocked_domains():
        if host == domain or host.endswith("." + domain):
            return f"{host} is on the blocked list ({domain})"
    return None


@dataclass(frozen=True)
class RowSourcedRecord:
    """The provenance record of one row-sourced table."""

    name: str
    title: str
    description: str
    as_of: str  # the date the table was compiled (sources read)
    licence: str
    sha256: str
    columns: dict[str, Column]
    gaps: tuple[str, ...]  # what was looked for and could not be sourced


@dataclass(frozen=True)
class RowSourcedTable:
    """A checked table: its rows (a DataFrame) and its record."""

    record: RowSourcedRecord
    frame: pd.DataFrame
    path: Path

    def source_counts(self) -> dict[str, int]:
        """Rows per source kind (primary, filing, paper, press, encyclopedia)."""
        counts = self.frame["source_kind"].value_counts()
        return {kind: int(counts.get(kind, 0)) for kind in SOURCE_KINDS}


def _parse_date(value: Any, where: str) -> None:
    text = str(value).strip()
    if not _DATE.match(text):
        raise TableError(f"{where}: date {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    parts = [int(p) for p in text.split("-")]
    try:
        dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError as exc:
        raise TableError(f"{where}: date {text!r} does not exist ({exc})") from None


def load_record(name: str, folder: Path | None = None) -> RowSourcedRecord:
    """Read and check ``<folder>/<name>.meta.yml``."""
    path = (folder or econ_dir()) / f"{name}.meta.yml"
    if not path.is_file():
        raise MissingRecordError(f"table {name!r} has no record: create {path} (title, "
                                 "description, as_of, licence, sha256, columns, gaps)")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [k for k in _REQUIRED if k not in raw or raw[k] in (None, "")]
    if missing:
        raise TableError(f"{path}: record lacks {', '.join(missing)}; add them")
    columns = {}
    for header, spec in dict(raw["columns"]).items():
        spec = spec or {}
        if not str(spec.get("unit", "")).strip():
            raise TableError(f"{path}: column {header!r} has no unit (use 'text' for labels)")
        columns[str(header)] = Column(str(header), str(spec["unit"]),
                                      str(spec.get("description", "")))
    return RowSourcedRecord(name=name, title=str(raw["title"]),
                            description=str(raw["description"]), as_of=str(raw["as_of"]),
                            licence=str(raw["licence"]), sha256=str(raw["sha256"]).lower(),
                            columns=columns, gaps=tuple(str(g) for g in raw["gaps"] or ()))


def check_rows(frame: pd.DataFrame, record: RowSourcedRecord, path: Path,
               blocked: frozenset[str] | None = None) -> None:
    """Every column described and every row sourced, dated and not from a blocked site."""
    undocumented = [c for c in frame.columns if c not in record.columns]
    absent = [c for c in record.columns if c not in frame.columns]
    if undocumented or absent:
        raise TableError(f"{path.name}: columns without a record entry {undocumented}, "
                         f"record entries without a column {absent}")
    lacking = [c for c in SOURCE_COLUMNS if c not in frame.columns]
    if lacking:
        raise TableError(f"{path.name}: needs the source columns {lacking}")
    for index, row in frame.iterrows():
        where = f"{path.name} row {index + 2}"  # +2: 1-based, after the header line
        for column in ("source_kind", "publisher", "source_url", "quote", "published",
                       "accessed"):
            if pd.isna(row[column]) or not str(row[column]).strip():
                raise TableError(f"{where}: empty {column!r}; every fact needs its source, "
                                 "quote and dates (or leave the row out)")
        if row["source_kind"] not in SOURCE_KINDS:
            raise TableError(f"{where}: source_kind {row['source_kind']!r}: use one of "
                             f"{SOURCE_KINDS}")
        if not str(row["source_url"]).startswith(("http://", "https://")):
            raise TableError(f"{where}: source_url {row['source_url']!r} is not a web address")
        reason = blocked_reason(row["source_url"], blocked)
        if reason:
            raise TableError(f"{where}: {reason}; cite a primary source or reputable press")
        _parse_date(row["published"], f"{where} published")
        _parse_date(row["accessed"], f"{where} accessed")


def load_row_sourced(name: str, folder: Path | None = None) -> RowSourcedTable:
    """Load ``data/econ/<name>.csv`` after checking its record, checksum and every row."""
    folder = folder or econ_dir()
    record = load_record(name, folder)
    path = folder / f"{name}.csv"
    if not path.is_file():
        raise TableError(f"table {name!r}: {path} does not exist")
    actual = sha256_file(path)
    if actual != record.sha256:
        raise ChecksumError(f"{path} has SHA-256 {actual} but its record says "
                            f"{record.sha256}: review the change and update the record")
    frame = pd.read_csv(path, keep_default_na=True, dtype={"published": str, "accessed": str})
    check_rows(frame, record, path)
    return RowSourcedTable(record=record, frame=frame, path=path)


def available(folder: Path | None = None) -> list[str]:
    """Names of the row-sourced tables present (each CSV with a record beside it)."""
    folder = folder or econ_dir()
    return sorted(p.stem for p in folder.glob("*.csv") if (folder / f"{p.stem}.meta.yml")
                  .is_file())
