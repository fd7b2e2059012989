"""No committed output names a folder of the machine that executed it.

A reader's machine has other folders; a path such as ``/home/alice/...`` or ``/tmp/...`` in an
output tells them nothing and leaks the author's set-up. Paths are printed with
:func:`bmlib.core.paths.portable_path` (repository-relative, or ``$SETTING/...``).
"""

from __future__ import annotations

import json
import re

import pytest

from bmlib.book.notebooks import chapter_notebooks

MACHINE_PATH = re.compile(r"(?<![\w$])/(?:work|tmp|root|home|mnt|opt|srv|var/folders|Users)/"
                          r"[^\s\"'<>)]{0,200}|\.venv/[^\s\"'<>)]{0,200}")


def _output_texts(notebook):
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")]
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    texts.append(value if isinstance(value, (str, list)) else json.dumps(value))
            for text in texts:
                yield cell.get("id", "?"), "".join(text) if isinstance(text, list) else text


def test_pattern_finds_machine_paths_and_spares_portable_ones():
    assert MACHINE_PATH.search("archive: /work/shared/data/cifar.tar.gz")
    assert MACHINE_PATH.search("python ./.venv/bin/python")
    assert MACHINE_PATH.search("/tmp/bmcache/lm/gpt.pt")
    assert not MACHINE_PATH.search("archive: $BMLIB_DATA_MIRRORS/cifar-10-binary.tar.gz")
    assert not MACHINE_PATH.search("data/events.csv and /usr/share/games/fortunes/chinese")
    assert not MACHINE_PATH.search("https://example.org/work/tmp/page")


@pytest.mark.parametrize("path", chapter_notebooks(), ids=lambda p: p.stem)
def test_no_machine_path_in_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    hits = [(cell_id, m.group(0)) for cell_id, text in _output_texts(notebook)
            for m in MACHINE_PATH.finditer(text)]
    assert not hits, (f"{path.name}: outputs name machine folders {hits[:5]}; print paths with "
                      "bmlib.core.paths.portable_path and re-execute the chapter")
