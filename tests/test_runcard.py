import json

import pytest

from bmlib.core.device import select_device
from bmlib.book.params import ParamSpec, standard_params
from bmlib.book.runcard import (RunCard, RunRecorder, git_state, run_card_html, run_cards_in_notebook,
                           show_run_card)


@pytest.fixture
def card(tmp_path):
    data = tmp_path / "numbers.csv"
    data.write_text("a,b\n1,2\n")
    params = ParamSpec(**standard_params()).validate(dict(PROFILE="smoke", SEED=3, DEVICE="cpu"))
    recorder = RunRecorder("demo", params, select_device("cpu"))
    recorder.record_data_file(data, note="made by the test")
    return recorder.finish(metrics={"accuracy": 0.5})


def test_card_has_every_field_the_book_promises(card):
    assert card.chapter == "demo"
    assert card.parameters == {"PROFILE": "smoke", "SEED": 3, "DEVICE": "cpu"}
    assert card.device == "cpu" and card.device_name
    assert card.wall_time_s >= 0 and card.peak_rss_mb > 0
    assert card.python_version and card.torch_version and card.numpy_version
    (record,) = card.data_files
    # SHA-256 of b"a,b\n1,2\n"
    assert record.sha256 == "492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470"
    assert record.size_bytes == 8 and record.note == "made by the test"
    assert card.metrics == {"accuracy": 0.5}


def test_git_state_reports_this_repository():
    commit, dirty = git_state()
    assert commit is None or len(commit) == 40
    assert dirty in (None, True, False)


def test_json_round_trip(card):
    assert RunCard.from_dict(json.loads(card.to_json())) == card


def test_html_names_the_essentials(card):
    markup = run_card_html(card)
    for fragment in ("demo", "git commit", "peak resident memory", "numbers.csv", "accuracy"):
        assert fragment in markup


def test_show_run_card_stores_json_that_the_collector_finds(card, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display",
                        lambda obj, raw, metadata: shown.append((obj, metadata)))
    assert show_run_card(card) is None
    (bundle, metadata), = shown
    assert "text/html" in bundle and "text/plain" in bundle
    notebook = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": bundle, "metadata": metadata}]}]}
    assert run_cards_in_notebook(notebook) == [card]
