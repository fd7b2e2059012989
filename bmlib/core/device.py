"""One way to choose where tensors live and in which precision.

``select_device("auto")`` picks CUDA, then Apple's MPS, then the CPU. An explicit device
that is not available raises :class:`DeviceUnavailableError`; there is no silent fallback,
because a chapter that asked for a GPU and quietly ran on a CPU would report misleading
timings.
"""

from __future__ import annotations

import contextlib
import platform
import re
from dataclasses import dataclass
from typing import ContextManager

import torch

KNOWN_DEVICE_TYPES = ("auto", "cpu", "cuda", "mps")
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class DeviceUnavailableError(RuntimeError):
    """The requested device exists as a name but not on this machine."""


@dataclass(frozen=True)
class DeviceChoice:
    """The device a chapter runs on, and the precision it trains in."""

    device: torch.device  # where tensors and models live
    dtype: torch.dtype  # parameter dtype; always float32 here (mixed precision via autocast)
    autocast_dtype: torch.dtype | None  # reduced precision used inside ``autocast()``; None = off
    name: str  # human-readable hardware name for run cards

    def autocast(self) -> ContextManager[object]:
        """Context manager for mixed precision on this device (a no-op when it is off)."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)


def is_valid_device_spec(spec: str) -> bool:
    """True for ``auto``, ``cpu``, ``mps``, ``cuda`` and ``cuda:N``."""
    return isinstance(spec, str) and _DEVICE_PATTERN.match(spec) is not None


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _hardware_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu} ({torch.get_num_threads()} threads)"


def select_device(spec: str = "auto", mixed_precision: bool | None = None) -> DeviceChoice:
    """Resolve a device spec such as ``"auto"``, ``"cpu"`` or ``"cuda:1"``.

    Parameters
    ----------
    spec
        ``"auto"`` picks cuda, then mps, then cpu.
    mixed_precision
        ``None`` (default) enables bf16 autocast on CUDA devices that support it and
        leaves it off elsewhere; ``True``/``False`` force it (bf16 on CPU and CUDA,
        fp16 on MPS).
    """
    if not is_valid_device_spec(spec):
        raise ValueError(
            f"unknown device {spec!r}: use one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'"
        )
    if spec == "auto":
        if torch.cuda.is_available():
            spec = "cuda"
        elif _mps_available():
            spec = "mps"
        else:
            spec = "cpu"
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                f"device {spec!r} was requested but this machine has no CUDA GPU "
                "(torch.cuda.is_available() is False); use DEVICE='auto' or 'cpu'"
            )
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise DeviceUnavailableError(
                f"device {spec!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) exist"
            )
    if device.type == "mps" and not _mps_available():
        raise DeviceUnavailableError(
            f"device {spec!r} was requested but MPS is not available here; "
            "use DEVICE='auto' or 'cpu'"
        )

    if mixed_precision is None:
        mixed_precision = device.type == "cuda" and torch.cuda.is_bf16_supported()
    autocast_dtype: torch.dtype | None = None
    if mixed_precision:
        autocast_dtype = torch.float16 if device.type == "mps" else torch.bfloat16
    return DeviceChoice(
        device=device,
        dtype=torch.float32,
        autocast_dtype=autocast_dtype,
        name=_hardware_name(device),
    )
