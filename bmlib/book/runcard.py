"""Run cards: what ran, where, with which inputs, and what it measured.

Each chapter starts a :class:`RunRecorder` right after validating its parameters and ends
by showing the finished :class:`RunCard`. The card is displayed as a table and also stored,
machine-readable, in the output's metadata under ``bmlib.book.runcard``, which is how the
Reproducibility appendix and ``make rerun`` find it again.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from bmlib.core.files import sha256_file
from bmlib.core.device import DeviceChoice
from bmlib.core.paths import portable_path, repo_root

METADATA_KEY = "bmlib"


@dataclass(frozen=True)
class DataFileRecord:
    """One input file a run read."""

    path: str  # relative to the repository when inside it, else absolute
    sha256: str  # hex digest of the bytes read
    size_bytes: int  # file size
    note: str = ""  # provenance remark, e.g. "not the byte-official archive"


@dataclass(frozen=True)
class RunCard:
    """Everything needed to say what one chapter run was."""

    chapter: str  # chapter file stem, e.g. "core_concepts"
    started_utc: str  # ISO-8601 start time
    wall_time_s: float  # seconds from start_run to finish
    git_commit: str | None  # HEAD of the repository, None outside git
    git_dirty: bool | None  # True when tracked files differed from HEAD
    python_version: str
    torch_version: str
    numpy_version: str
    platform: str  # OS and machine
    device: str  # torch device, e.g. "cpu" or "cuda:0"
    device_name: str  # hardware name
    parameters: dict[str, Any]  # the chapter's validated parameters
    peak_rss_mb: float  # peak resident memory of the kernel process, MiB
    peak_device_memory_mb: float | None  # peak CUDA memory allocated, MiB (None off-GPU)
    data_files: list[DataFileRecord] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)  # headline results of the run
    git_changed: list[str] = field(default_factory=list)  # tracked files that differed from
    #                                                       HEAD when the run finished
    precision: str = "float32"  # what training ran in: "float32", "bf16" or "fp16" (autocast)
    precision_reason: str = "not recorded"  # why: hardware flags, a measured check, a request

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "RunCard":
        values = dict(raw)
        values["data_files"] = [DataFileRecord(**d) for d in values.get("data_files", [])]
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=_jsonable)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def git_changes(root: Path | None = None) -> tuple[str | None, list[str] | None]:
    """(HEAD commit, tracked files that differ from it) at ``root``; (None, None) outside git."""
    root = root or repo_root()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
            timeout=10, check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    changed = sorted(line[3:].strip() for line in status.splitlines() if line.strip())
    return commit or None, changed


def git_state(root: Path | None = None) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the repository at ``root``; (None, None) outside git."""
    commit, changed = git_changes(root)
    return commit, (None if changed is None else bool(changed))


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return round(peak / divisor, 1)


class RunRecorder:
    """Collects a run card while a chapter executes."""

    def __init__(self, chapter: str, parameters: Mapping[str, Any],
                 device: DeviceChoice | None = None) -> None:
        self.chapter = chapter
        self.parameters = {k: _plain(v) for k, v in parameters.items()}
        self.device = device
        self.started = _dt.datetime.now(_dt.timezone.utc)
        self._t0 = time.perf_counter()
        self._data_files: dict[str, DataFileRecord] = {}
        if device is not None and device.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device.device)

    def record_data_file(self, path: str | Path, note: str = "",
                         sha256: str | None = None) -> DataFileRecord:
        """Record an input file; pass ``sha256`` when it is already known (saves a reread)."""
        path = Path(path)
        record = DataFileRecord(
            path=portable_path(path),
            sha256=sha256 or sha256_file(path),
            size_bytes=path.stat().st_size,
            note=note,
        )
        self._data_files[record.path] = record
        return record

    def finish(self, metrics: Mapping[str, Any] | None = None) -> RunCard:
        """Freeze the card: wall time, memory and versions are read now."""
        commit, changed = git_changes()
        # the notebook being executed is written only after its run card: its own file
        # differing from HEAD is the edit being executed, not another change
        changed = None if changed is None else [
            f for f in changed if Path(f).stem != self.chapter or not f.endswith(".ipynb")]
        device = self.device.device if self.device else torch.device("cpu")
        device_memory = None
        if device.type == "cuda":
            device_memory = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
        return RunCard(
            chapter=self.chapter,
            started_utc=self.started.isoformat(timespec="seconds"),
            wall_time_s=round(time.perf_counter() - self._t0, 2),
            git_commit=commit,
            git_dirty=None if changed is None else bool(changed),
            git_changed=changed or [],
            python_version=platform.python_version(),
            torch_version=torch.__version__,
            numpy_version=np.__version__,
            platform=f"{platform.system()} {platform.machine()}",
            device=str(device),
            device_name=(self.device.name if self.device
                         else "the CPU, by design (this chapter declares no DEVICE)"),
            precision=self.device.precision if self.device else "float32",
            precision_reason=(self.device.precision_reason if self.device
                              else "no training on a device"),
            parameters=self.parameters,
            peak_rss_mb=peak_rss_mb(),
            peak_device_memory_mb=device_memory,
            data_files=list(self._data_files.values()),
            metrics={k: _plain(v) for k, v in (metrics or {}).items()},
        )


def _plain(value: Any) -> Any:
    """Make a value JSON-friendly without losing what it says."""
    return json.loads(json.dumps(value, default=_jsonable))


def run_card_html(card: RunCard) -> str:
    """An HTML table of the card, as the book shows it."""
    rows: list[tuple[str, str]] = [
        ("chapter", card.chapter),
        ("started (UTC)", card.started_utc),
        ("wall time", f"{card.wall_time_s:.1f} s"),
        ("git commit", f"{card.git_commit or 'n/a'}"
                       + (f" (differed from it: {', '.join(card.git_changed)})"
                          if card.git_changed else
                          " (working tree modified)" if card.git_dirty else "")),
        ("Python / torch / NumPy",
         f"{card.python_version} / {card.torch_version} / {card.numpy_version}"),
        ("platform", card.platform),
        ("device", f"{card.device} - {card.device_name}"),
        ("precision", f"{card.precision} ({card.precision_reason})"),
        ("peak resident memory", f"{card.peak_rss_mb:.0f} MiB"),
    ]
    if card.peak_device_memory_mb is not None:
        rows.append(("peak device memory", f"{card.peak_device_memory_mb:.0f} MiB"))
    rows.append(("parameters", ", ".join(f"{k}={v!r}" for k, v in card.parameters.items())))
    for record in card.data_files:
        note = f" - {record.note}" if record.note else ""
        rows.append(("data file", f"{record.path} ({record.size_bytes:,} bytes, "
                                  f"SHA-256 {record.sha256[:16]}...){note}"))
    for key, value in card.metrics.items():
        rows.append((f"metric: {key}", f"{value}"))
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
        f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    return f"<table class='bmlib-runcard'><caption>Run card</caption>{body}</table>"


def show_run_card(card: RunCard) -> None:
    """Display the card (HTML table + plain text) with the JSON in the output metadata.

    Returns None so that nothing is echoed as a cell result (see ``bmlib.book.ledger.show_claims``).
    """
    from IPython.display import display  # imported here: bmlib works without IPython

    display(
        {"text/html": run_card_html(card), "text/plain": card.to_json()},
        raw=True,
        metadata={METADATA_KEY: {"runcard": json.loads(card.to_json())}},
    )


def run_cards_in_notebook(notebook: Mapping[str, Any]) -> list[RunCard]:
    """Every run card stored in an executed notebook's outputs (usually exactly one)."""
    cards: list[RunCard] = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            stored = output.get("metadata", {}).get(METADATA_KEY, {}).get("runcard")
            if stored:
                cards.append(RunCard.from_dict(stored))
    return cards
