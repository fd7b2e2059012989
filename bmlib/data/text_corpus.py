"""The language-model corpus: Debian's ``fortunes-zh``, pinned, read as documents, split.

The package (GPL-3.0+) installs three UTF-8 files of fortune "cookies" separated by lines
holding ``%``: ``chinese`` (5,263 modern Chinese sayings, quotations and documentation
excerpts, 2.1 MB), ``tang300`` (300 Tang poems) and ``song100`` (100 Song poems). The book
pre-trains on ``chinese`` and fine-tunes on the poems, a second domain. Each file's SHA-256
is pinned in ``data/pins/fortunes_zh.json``; a missing package raises one error saying how
to install it, a changed file one error saying what differs. Terminal colour codes
(``ESC[32m`` ...) are stripped; a document is one cookie, and splits are by document.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bmlib.core.paths import repo_root

PIN_FILE = "data/pins/fortunes_zh.json"
FOLDER_SETTING = "BMLIB_FORTUNES_DIR"  # overrides the pinned folder (tests, other systems)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CorpusError(RuntimeError):
    """The corpus is missing, or is not the pinned file."""


@dataclass(frozen=True)
class Corpus:
    """The documents of one pinned file, and where they came from."""

    name: str  # file name in the package, e.g. "chinese"
    documents: tuple[str, ...]
    path: str
    sha256: str
    package: str  # "fortunes-zh 2.98"
    licence: str

    @property
    def characters(self) -> int:
        return sum(len(d) for d in self.documents)

    @property
    def utf8_bytes(self) -> int:
        return sum(len(d.encode("utf-8")) for d in self.documents)


def corpus_pin() -> dict:
    """The pinned package, version, licence and per-file SHA-256."""
    return json.loads((repo_root() / PIN_FILE).read_text(encoding="utf-8"))


def parse_fortunes(text: str) -> list[str]:
    """The cookies of a fortune file: colour codes removed, split on ``%`` lines, blank
    documents dropped, trailing whitespace of each line kept as written."""
    clean = _ANSI.sub("", text).replace("\r\n", "\n")
    parts = re.split(r"(?m)^%\n?", clean)
    return [p.strip("\n") for p in parts if p.strip()]


def load_corpus(name: str = "chinese", folder: str | Path | None = None) -> Corpus:
    """Read and verify one file of the pinned package (``chinese``, ``tang300``, ``song100``)."""
    pin = corpus_pin()
    if name not in pin["files"]:
        raise CorpusError(f"unknown corpus file {name!r}: use one of {sorted(pin['files'])}")
    where = Path(folder or os.environ.get(FOLDER_SETTING, "") or pin["folder"])
    path = where / name
    package = f"{pin['binary_package']} {pin['version']}"
    if not path.is_file():
        raise CorpusError(
            f"corpus file {path} is missing: install the Debian package with "
            f"`sudo {pin['install']}` (it is {package}, {pin['licence'].split(' ')[0]}), or "
            f"set {FOLDER_SETTING} to a folder holding the files {sorted(pin['files'])}")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    expected = pin["files"][name]["sha256"]
    if digest != expected:
        raise CorpusError(
            f"{path} is not the pinned {package} file: SHA-256 {digest[:16]}..., "
            f"{len(data):,} bytes; pinned {expected[:16]}..., "
            f"{pin['files'][name]['bytes']:,} bytes. Install version {pin['version']} "
            f"(`apt-get install {pin['binary_package']}={pin['version']}`) or update "
            f"{PIN_FILE} after checking the new file")
    return Corpus(name, tuple(parse_fortunes(data.decode("utf-8"))), str(path), digest,
                  package, pin["licence"])


@dataclass(frozen=True)
class DocumentSplit:
    """Train / validation / test documents (disjoint, together all of them)."""

    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]


def split_documents(documents: tuple[str, ...] | list[str], seed: int,
                    validation: float = 0.05, test: float = 0.05) -> DocumentSplit:
    """Shuffle documents with ``seed`` and cut them into train / validation / test shares."""
    if not (0 < validation < 1 and 0 < test < 1 and validation + test < 1):
        raise ValueError(f"validation={validation}, test={test}: use shares in (0, 1) "
                         "that sum to less than 1")
    n = len(documents)
    n_val, n_test = max(1, round(n * validation)), max(1, round(n * test))
    if n - n_val - n_test < 1:
        raise ValueError(f"{n} documents are too few for a three-way split")
    order = np.random.default_rng(seed).permutation(n)
    pick = [documents[i] for i in order]
    return DocumentSplit(tuple(pick[n_val + n_test:]), tuple(pick[:n_val]),
                         tuple(pick[n_val:n_val + n_test]))
