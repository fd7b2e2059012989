"""bmlib.studies.appendices: the ledger's section-1 facts against the CSV files read
directly, and the interpreter label that keeps machine paths out of outputs."""

import csv
import sys
from pathlib import Path

import pandas as pd
import pytest

from bmlib.core.paths import repo_root
from bmlib.data.tables import load_table
from bmlib.studies.appendices import background_facts, interpreter_label


@pytest.fixture(scope="module")
def tables():
    return (load_table("landmark_models").frame.set_index("model"),
            load_table("market_figures").frame)


def test_background_facts_match_the_csv_files(tables):
    facts = background_facts(*tables)
    with open(repo_root() / "data" / "market_figures.csv", encoding="utf-8") as handle:
        essay = next(r for r in csv.DictReader(handle) if "essay" in r["forecaster"])
    years = int(essay["target_year"]) - int(essay["base_year"])
    rate = (float(essay["target_value_usd_billion"]) / float(essay["base_value_usd_billion"])) \
        ** (1 / years) - 1
    assert facts.implied_cagr == pytest.approx(rate, rel=1e-12)
    assert facts.implied_cagr == pytest.approx(0.2645, abs=1e-4)  # 36.9 -> 190.8 over 7 years
    assert facts.stated_cagr_percent == float(essay["stated_cagr_percent"])
    with open(repo_root() / "data" / "landmark_models.csv", encoding="utf-8") as handle:
        params = {r["model"]: int(r["parameters"]) for r in csv.DictReader(handle)}
    assert (facts.gpt3_parameters, facts.bert_base_parameters, facts.bert_large_parameters) == \
        (params["GPT-3"], params["BERT-base"], params["BERT-large"])
    assert facts.glue_values() == {"ledger_implied_cagr": pytest.approx(100 * rate)}
    first, second = facts.summary().split("\n")
    assert first == (f"essay's market figures imply a CAGR of {rate:.2%} "
                     f"(stated: {essay['stated_cagr_percent']}%)")
    assert second.startswith(f"GPT-3: {params['GPT-3']:,} parameters")


def test_background_facts_refuse_tables_without_the_essay_or_the_models(tables):
    models, market = tables
    with pytest.raises(ValueError, match="names the essay"):
        background_facts(models, market[~market["forecaster"].str.contains("essay")])
    with pytest.raises(KeyError, match="BERT-large"):
        background_facts(models.drop(index="BERT-large"), market)
    with pytest.raises(ValueError):  # a non-positive endpoint is no growth rate
        broken = market.copy()
        broken.loc[broken["forecaster"].str.contains("essay"), "base_value_usd_billion"] = 0.0
        background_facts(models, broken)


def test_interpreter_label_is_relative_inside_the_repository(tmp_path):
    root = tmp_path / "repo"
    (root / ".venv" / "bin").mkdir(parents=True)
    assert interpreter_label(root / ".venv" / "bin" / "python", root) == ".venv/bin/python"
    assert interpreter_label("/usr/local/bin/python3.11", root) == "python3.11"
    link = tmp_path / "linked"
    link.symlink_to(root)  # the repository reached through a link still gives a relative path
    assert interpreter_label(link / ".venv" / "bin" / "python", root) == ".venv/bin/python"
    with pytest.raises(ValueError, match="not an interpreter path"):
        interpreter_label("", root)


def test_interpreter_label_of_this_process_holds_no_absolute_path():
    label = interpreter_label()
    assert not Path(label).is_absolute() and label.endswith(Path(sys.executable).name)
    assert str(repo_root()) not in label
