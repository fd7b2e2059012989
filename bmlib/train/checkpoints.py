"""Checkpoints: written atomically, read back with ``weights_only=True`` only.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (state dicts,
optimiser state, RNG state, the config as ``dataclasses.asdict``, the history), so
``torch.load(..., weights_only=True)`` reads it without unpickling arbitrary objects. A file
that is truncated, not a checkpoint, or holds pickled objects raises one
:class:`CheckpointError` that names the file and what to do.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from bmlib.core.files import atomic_write


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, foreign, or not the pinned file."""


def save_checkpoint(payload: dict[str, Any], path: str | Path) -> Path:
    """``torch.save`` ``payload`` to ``path`` atomically (a killed run leaves the old file)."""
    path = Path(path)
    with atomic_write(path, "wb") as handle:
        torch.save(payload, handle)
    return path


def load_checkpoint(path: str | Path, map_location: torch.device | str | None = None,
                    what_to_do: str = "delete it and rerun to write a new one"
                    ) -> dict[str, Any]:
    """Load a checkpoint dict with ``weights_only=True``; one clear error if it can't be."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is missing: {what_to_do}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError, zipfile.BadZipFile,
            ValueError, AttributeError) as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} cannot be read as a bmlib checkpoint "
                              f"(truncated, foreign, or holding pickled objects: {reason}); "
                              f"{what_to_do}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, not a dict "
                              f"of state: {what_to_do}")
    return state
