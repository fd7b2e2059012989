import re
import shutil
import subprocess

import pandas as pd
import pytest
import yaml

from bmlib.core.files import sha256_file
from bmlib.core.paths import repo_root
from bmlib.data.tables import (
    RECORD_SUFFIX,
    SOURCE_COLUMN,
    ChecksumError,
    MissingRecordError,
    TableError,
    available_tables,
    load_record,
    load_table,
    split_ids,
    tables_dir,
)

TABLES = available_tables()
EXPECTED = {"landmark_models", "accelerators", "market_figures", "events"}


def data_files() -> list[str]:
    """Files under data/ that git tracks or would track (ignored data sets excluded)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "data"],
            cwd=repo_root(), capture_output=True, text=True, check=True).stdout
        names = [line.split("/", 1)[1] for line in out.splitlines() if line.count("/") == 1]
    except (OSError, subprocess.CalledProcessError):  # no git: every top-level file
        names = [p.name for p in tables_dir().iterdir() if p.is_file()]
    return sorted({n for n in names if (tables_dir() / n).is_file()})


def test_expected_tables_exist():
    assert EXPECTED <= set(TABLES)


def test_every_data_file_has_a_record():
    for name in data_files():
        # hidden files are tool caches (e.g. the CIFAR loader's checksum cache), not data
        if name.endswith(RECORD_SUFFIX) or name.lower().startswith("readme") or name.startswith("."):
            continue
        stem = name.split(".", 1)[0]
        assert (tables_dir() / f"{stem}{RECORD_SUFFIX}").is_file(), (
            f"data/{name} has no provenance record data/{stem}{RECORD_SUFFIX}")


def test_every_record_has_its_table():
    for record in tables_dir().glob(f"*{RECORD_SUFFIX}"):
        stem = record.name[: -len(RECORD_SUFFIX)]
        assert (tables_dir() / f"{stem}.csv").is_file(), f"{record.name} describes no file"


@pytest.mark.parametrize("name", TABLES)
def test_checksum_matches_record(name):
    record = load_record(name)
    assert sha256_file(tables_dir() / f"{name}.csv") == record.sha256


@pytest.mark.parametrize("name", TABLES)
def test_every_row_has_a_known_source(name):
    table = load_table(name)  # also checks columns and source ids
    for index, value in table.frame[SOURCE_COLUMN].items():
        ids = split_ids(value)
        assert ids, f"{name} row {index} has no source"
        for source in table.row_sources(index):
            assert source.url.startswith(("https://", "http://", "file:")), source
            assert source.locator.strip() and source.accessed.strip()


@pytest.mark.parametrize("name", TABLES)
def test_units_and_metadata_present(name):
    record = load_record(name)
    assert re.match(r"^\d{4}-\d{2}-\d{2}$", record.as_of)
    assert record.licence.strip() and record.title.strip()
    for column in record.columns.values():
        assert column.unit.strip(), f"{name}.{column.name} has no unit"
    frame = load_table(name).frame
    if "unit" in frame.columns:  # long-format tables carry a unit per row
        assert frame["unit"].notna().all() and (frame["unit"].str.strip() != "").all()


@pytest.mark.parametrize("name", TABLES)
def test_record_bibkeys_are_in_references(name):
    bib = (repo_root() / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,\s]+),", bib))
    for source in load_record(name).sources.values():
        if source.bibkey:
            assert source.bibkey in keys, f"{name}: bibkey {source.bibkey} not in references.bib"


def test_landmark_models_values():
    frame = load_table("landmark_models").frame
    assert (frame["parameters"] > 0).all()
    assert frame["release"].str.match(r"^\d{4}-\d{2}$").all()
    gpt3 = frame.set_index("model").loc["GPT-3"]
    assert gpt3["parameters"] == 175e9 and gpt3["training_tokens"] == 300e9
    assert gpt3["published_training_flop"] == pytest.approx(3.14e23)
    with_tokens = frame.dropna(subset=["training_tokens"])
    assert (with_tokens["training_tokens"] > with_tokens["parameters"]).all()


def test_accelerator_values_are_numbers_with_units():
    frame = load_table("accelerators").frame
    assert pd.api.types.is_numeric_dtype(frame["value"]) and (frame["value"] > 0).all()
    dense = frame[frame["quantity"] == "peak_bf16_dense"]
    assert set(dense["unit"]) == {"TFLOP/s"}
    assert {"A100", "H100", "H200"} <= set(dense["accelerator"])
    prices = frame[frame["quantity"] == "rental_price"]
    assert set(prices["unit"]) == {"USD per GPU-hour"}


def test_market_and_event_values():
    market = load_table("market_figures").frame
    assert ((market["stated_cagr_percent"] > 0) & (market["stated_cagr_percent"] < 100)).all()
    assert (market["base_year"] < market["target_year"].fillna(9999)).all()
    events = load_table("events").frame
    assert events["actual_date"].astype(str).str.match(r"^\d{4}(-\d{2}(-\d{2})?)?$").all()
    assert events["event_id"].is_unique


# --- failure modes give clear errors ----------------------------------------------------------

@pytest.fixture
def copied(tmp_path):
    for name in ("events.csv", "events.meta.yml"):
        shutil.copy(tables_dir() / name, tmp_path / name)
    return tmp_path


def test_tampered_file_fails_checksum(copied):
    with open(copied / "events.csv", "a", encoding="utf-8") as handle:
        handle.write("extra,row\n")
    with pytest.raises(ChecksumError, match="update sha256"):
        load_table("events", folder=copied)


def test_missing_record_is_a_clear_error(copied):
    (copied / "events.meta.yml").unlink()
    with pytest.raises(MissingRecordError, match="no provenance record"):
        load_table("events", folder=copied)


def test_column_without_unit_is_rejected(copied):
    meta = copied / "events.meta.yml"
    raw = yaml.safe_load(meta.read_text(encoding="utf-8"))
    raw["columns"]["amount"]["unit"] = ""
    meta.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TableError, match="no unit"):
        load_record("events", folder=copied)


def test_row_without_source_is_rejected(copied):
    frame = pd.read_csv(copied / "events.csv")
    frame.loc[0, SOURCE_COLUMN] = ""
    frame.to_csv(copied / "events.csv", index=False)
    meta = copied / "events.meta.yml"
    raw = yaml.safe_load(meta.read_text(encoding="utf-8"))
    raw["sha256"] = sha256_file(copied / "events.csv")
    meta.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(TableError, match="no source"):
        load_table("events", folder=copied)
