"""One way to choose where tensors live and in which precision, decided once per chapter.

``select_device("auto")`` picks CUDA, then Apple's MPS, then the CPU. An explicit device
that is not available raises :class:`DeviceUnavailableError`; there is no silent fallback,
because a chapter that asked for a GPU and quietly ran on a CPU would report misleading
timings.

The precision is decided with the device, from the hardware, at run time (machines of the
same kind differ): ``precision="auto"`` trains in bf16 autocast on CUDA GPUs that support
it, and on a CPU only where it has bf16 matrix hardware (AMX tiles or AVX-512 BF16, read
from ``/proc/cpuinfo``) *and* a short check measures bf16 faster than float32 there;
otherwise in float32. ``"float32"`` and ``"bf16"`` force either. The choice carries its
reason, which run cards record, and is passed into training and evaluation
(``DeviceChoice.autocast_dtype``); recipes never name a precision.
"""

from __future__ import annotations

import contextlib
import platform
import re
import time
from dataclasses import dataclass
from typing import ContextManager

import torch

KNOWN_DEVICE_TYPES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "float32", "bf16")
# CPU flags of bf16 matrix hardware that oneDNN uses for bf16 convolutions and matmuls
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_CPUINFO = "/proc/cpuinfo"  # the one file the hardware's name and flags are read from


class DeviceUnavailableError(RuntimeError):
    """The requested device exists as a name but not on this machine."""


@dataclass(frozen=True)
class DeviceChoice:
    """The device a chapter runs on, and the precision it trains in."""

    device: torch.device  # where tensors and models live
    dtype: torch.dtype  # parameter dtype; always float32 here (mixed precision via autocast)
    autocast_dtype: torch.dtype | None  # reduced precision used inside ``autocast()``; None = off
    name: str  # human-readable hardware name for run cards
    precision_reason: str = ""  # why this precision: hardware flags, a measured check, a request

    @property
    def precision(self) -> str:
        """``"bf16"``, ``"fp16"`` or ``"float32"``: what training runs in."""
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.autocast_dtype,
                                                                   "float32")

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


def _cpuinfo_value(key: str) -> str | None:
    """The value of the first ``/proc/cpuinfo`` line starting with ``key`` (None where there
    is no such line or no such file)."""
    try:
        with open(_CPUINFO, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(key):
                    return line.split(":", 1)[1]
    except OSError:
        pass
    return None


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where there is none)."""
    value = _cpuinfo_value("flags")
    return frozenset(value.split()) if value is not None else frozenset()


def cpu_name() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` knows."""
    value = _cpuinfo_value("model name")
    return value.strip() if value is not None else (platform.processor() or platform.machine())


def gpu_names() -> tuple[str, ...]:
    """The names of the CUDA devices PyTorch sees, by index (empty without one)."""
    if not torch.cuda.is_available():
        return ()
    return tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))


def bf16_cpu_speedup(repeats: int = 3) -> float:
    """float32 time / bf16-autocast time of a small conv + matmul step, forward and backward,
    on this CPU (best of ``repeats``; about a second). Above 1 means bf16 is faster."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 32, 32, 32, generator=generator).contiguous(
        memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(32, 64, 3, padding=1).to(memory_format=torch.channels_last)
    head = torch.nn.Linear(64 * 32 * 32 // 16, 256)

    def step(dtype: torch.dtype | None) -> float:
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
            y = torch.nn.functional.max_pool2d(conv(x), 4).flatten(1)
            loss = head(y).float().square().mean()
        loss.backward()
        return time.perf_counter() - started

    times = {}
    for dtype in (None, torch.bfloat16):
        step(dtype)  # warm-up: kernel selection
        times[dtype] = min(step(dtype) for _ in range(repeats))
    return times[None] / times[torch.bfloat16]


def decide_precision(device: torch.device, request: str = "auto",
                     measure: bool = True) -> tuple[torch.dtype | None, str]:
    """(autocast dtype or None, reason) for ``device``; see the module docstring."""
    if request not in PRECISIONS:
        raise ValueError(f"unknown precision {request!r}: use one of {PRECISIONS}")
    half = torch.float16 if device.type == "mps" else torch.bfloat16
    if request == "float32":
        return None, "float32 requested"
    if request == "bf16":
        return half, f"{'fp16' if device.type == 'mps' else 'bf16'} autocast requested"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16, "CUDA GPU with bf16 support"
        return None, "CUDA GPU without bf16 support"
    if device.type == "mps":
        return None, "MPS: float32 (autocast is not decided automatically there)"
    flags = cpu_flags()
    present = [f for f in BF16_CPU_FLAGS if f in flags]
    if not present:
        vector = ", ".join(sorted(f for f in flags if f.startswith(("avx512f", "avx2", "amx"))))
        return None, (f"CPU has no bf16 matrix units ({' / '.join(BF16_CPU_FLAGS)} absent; "
                      f"has {vector or 'none of avx2/avx512f'}): float32")
    if not measure:
        return torch.bfloat16, f"CPU flags {', '.join(present)} (not measured)"
    speedup = bf16_cpu_speedup()
    if speedup > 1.05:
        return torch.bfloat16, (f"CPU flags {', '.join(present)}; a bf16 step measured "
                                f"{speedup:.2f}x faster than float32")
    return None, (f"CPU flags {', '.join(present)}, but a bf16 step measured only "
                  f"{speedup:.2f}x float32's speed: float32")


def hardware_name(device: torch.device) -> str:
    """A human-readable name of the hardware behind ``device``, for run cards."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    return f"{cpu_name()} ({torch.get_num_threads()} threads)"


def select_device(spec: str = "auto", precision: str = "float32") -> DeviceChoice:
    """Resolve a device spec such as ``"auto"``, ``"cpu"`` or ``"cuda:1"``, and its precision.

    Parameters
    ----------
    spec
        ``"auto"`` picks cuda, then mps, then cpu.
    precision
        ``"auto"``: decided from the hardware (:func:`decide_precision`); ``"float32"``
        (default, for chapters whose results must not depend on the machine) or ``"bf16"``
        force it (bf16 on CPU and CUDA, fp16 on MPS).
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

    autocast_dtype, reason = decide_precision(device, precision)
    return DeviceChoice(
        device=device,
        dtype=torch.float32,
        autocast_dtype=autocast_dtype,
        name=hardware_name(device),
        precision_reason=reason,
    )
