"""Small sourced data tables: a CSV in ``data/`` plus its provenance record.

Every table ``data/<name>.csv`` has a record ``data/<name>.meta.yml`` that says where each
number comes from and what it means:

``title``, ``description``
    what the table holds.
``as_of``, ``compiled_by``, ``licence``
    when and by whom it was compiled, and under what terms.
``sha256``
    the SHA-256 of the CSV's bytes; :func:`load_table` refuses a file that does not match.
``columns``
    every CSV column with its ``unit`` (``text`` for labels) and a ``description``.
``sources``
    a list of sources, each with an ``id``, ``title``, ``url``, ``locator`` (section, table
    or paragraph) and ``accessed`` date. Every row of the CSV names the sources it rests on
    in its ``source_ids`` column (``;``-separated ids).

The tables live in the repository (``<repo>/data``), not in the writable data directory,
because they are committed, reviewed files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import yaml

from bmlib.core.files import sha256_file
from bmlib.core.paths import repo_root

RECORD_SUFFIX = ".meta.yml"
SOURCE_COLUMN = "source_ids"
TABLE_SUFFIXES = (".csv",)
_REQUIRED_KEYS = ("title", "description", "as_of", "licence", "sha256", "columns", "sources")
_REQUIRED_SOURCE_KEYS = ("id", "title", "url", "locator", "accessed")


class TableError(ValueError):
    """A data table or its provenance record is missing, malformed or inconsistent."""


class MissingRecordError(TableError, FileNotFoundError):
    """A data file has no provenance record beside it."""


class ChecksumError(TableError):
    """A data file's bytes do not match the SHA-256 in its record."""


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    name: str  # CSV header
    unit: str  # physical or counting unit; "text" for labels
    description: str  # what the values mean


@dataclass(frozen=True)
class Source:
    """One source a table cites."""

    id: str  # short id used in the CSV's source_ids column
    title: str  # title of the page, paper or document
    url: str  # where to check it
    locator: str  # section, table, paragraph or figure within the source
    accessed: str  # ISO date the compiler read it
    publisher: str = ""  # author, site or organisation
    published: str = ""  # publication date if known
    bibkey: str = ""  # key in references.bib, when the source is there


@dataclass(frozen=True)
class TableRecord:
    """The provenance record of one table."""

    name: str  # table name (file stem)
    title: str  # human title
    description: str  # what the table holds and how it was compiled
    as_of: str  # ISO date the table was compiled
    licence: str  # terms of use of the compilation
    sha256: str  # SHA-256 of the CSV bytes
    columns: dict[str, Column]  # header -> column description
    sources: dict[str, Source]  # source id -> source
    compiled_by: str = ""  # who compiled it


@dataclass(frozen=True)
class SourcedTable:
    """A verified table: the data and its record."""

    record: TableRecord  # provenance
    frame: pd.DataFrame  # the rows, as read from the CSV
    path: Path  # the CSV file

    def row_sources(self, index: int) -> list[Source]:
        """The sources row ``index`` cites."""
        return [self.record.sources[i] for i in split_ids(self.frame.loc[index, SOURCE_COLUMN])]

    def unit(self, column: str) -> str:
        """The unit of ``column``."""
        return self.record.columns[column].unit

    def sources_frame(self) -> pd.DataFrame:
        """The cited sources as a table (id, title, locator, url)."""
        return pd.DataFrame(
            [{"id": s.id, "title": s.title, "publisher": s.publisher, "locator": s.locator,
              "url": s.url} for s in self.record.sources.values()])


def tables_dir() -> Path:
    """Folder holding the committed tables and their records (``<repo>/data``)."""
    return repo_root() / "data"


def split_ids(value: Any) -> list[str]:
    """``"a; b"`` -> ``["a", "b"]``; empty or missing -> ``[]``."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [part.strip() for part in str(value).split(";") if part.strip()]


def record_path(name: str, folder: Path | None = None) -> Path:
    return (folder or tables_dir()) / f"{name}{RECORD_SUFFIX}"


def csv_path(name: str, folder: Path | None = None) -> Path:
    return (folder or tables_dir()) / f"{name}.csv"


def available_tables(folder: Path | None = None) -> list[str]:
    """Names of the data tables in ``folder`` (every ``*.csv``)."""
    folder = folder or tables_dir()
    return sorted(p.stem for p in folder.glob("*") if p.suffix in TABLE_SUFFIXES and p.is_file())


def _parse_record(name: str, raw: Mapping[str, Any], where: Path) -> TableRecord:
    missing = [k for k in _REQUIRED_KEYS if not raw.get(k)]
    if missing:
        raise TableError(f"{where}: record lacks {', '.join(missing)}; add them")
    columns: dict[str, Column] = {}
    for header, spec in dict(raw["columns"]).items():
        spec = spec or {}
        if not str(spec.get("unit", "")).strip():
            raise TableError(f"{where}: column {header!r} has no unit (use 'text' for labels)")
        columns[str(header)] = Column(str(header), str(spec["unit"]),
                                      str(spec.get("description", "")))
    sources: dict[str, Source] = {}
    for entry in raw["sources"]:
        absent = [k for k in _REQUIRED_SOURCE_KEYS if not str(entry.get(k, "")).strip()]
        if absent:
            raise TableError(f"{where}: source {entry.get('id', '?')!r} lacks {', '.join(absent)}")
        fields = {k: str(entry.get(k, "")) for k in Source.__dataclass_fields__}
        if fields["id"] in sources:
            raise TableError(f"{where}: source id {fields['id']!r} appears twice")
        sources[fields["id"]] = Source(**fields)
    return TableRecord(name=name, title=str(raw["title"]), description=str(raw["description"]),
                       as_of=str(raw["as_of"]), licence=str(raw["licence"]),
                       sha256=str(raw["sha256"]).lower(), columns=columns, sources=sources,
                       compiled_by=str(raw.get("compiled_by", "")))


def load_record(name: str, folder: Path | None = None) -> TableRecord:
    """Read and check the provenance record of table ``name``."""
    path = record_path(name, folder)
    if not path.is_file():
        raise MissingRecordError(
            f"data table {name!r} has no provenance record: create {path} with its sources, "
            "as-of date, licence, column units and SHA-256 (see bmlib/data/tables.py)")
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    return _parse_record(name, raw, path)


def verify_checksum(name: str, folder: Path | None = None,
                    record: TableRecord | None = None) -> str:
    """The CSV's SHA-256, after checking it equals the record's; raises ChecksumError."""
    record = record or load_record(name, folder)
    path = csv_path(name, folder)
    if not path.is_file():
        raise TableError(f"data table {name!r}: {path} does not exist")
    actual = sha256_file(path)
    if actual != record.sha256:
        raise ChecksumError(
            f"{path} has SHA-256 {actual} but its record says {record.sha256}: the file changed "
            f"since it was recorded; review the change and update sha256 in "
            f"{record_path(name, folder).name}")
    return actual


def check_rows(table: SourcedTable) -> None:
    """Every column described, every row sourced with known source ids."""
    frame, record = table.frame, table.record
    undocumented = [c for c in frame.columns if c not in record.columns]
    if undocumented:
        raise TableError(f"{table.path.name}: columns {undocumented} have no entry in the record")
    absent = [c for c in record.columns if c not in frame.columns]
    if absent:
        raise TableError(f"{table.path.name}: record describes missing columns {absent}")
    if SOURCE_COLUMN not in frame.columns:
        raise TableError(f"{table.path.name}: needs a {SOURCE_COLUMN!r} column")
    for index, value in frame[SOURCE_COLUMN].items():
        ids = split_ids(value)
        if not ids:
            raise TableError(f"{table.path.name} row {index}: no source; every number needs one")
        unknown = [i for i in ids if i not in record.sources]
        if unknown:
            raise TableError(f"{table.path.name} row {index}: unknown source ids {unknown}")


def load_table(name: str, folder: Path | None = None) -> SourcedTable:
    """Load ``data/<name>.csv`` after verifying its record, checksum, columns and sources."""
    record = load_record(name, folder)
    verify_checksum(name, folder, record)
    path = csv_path(name, folder)
    table = SourcedTable(record=record, frame=pd.read_csv(path, keep_default_na=True), path=path)
    check_rows(table)
    return table
