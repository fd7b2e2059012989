"""What the benches print about the machine their figures come from (a helper, not a bench:
``make bench`` skips ``_*`` files)."""

from __future__ import annotations

from bmlib.core.device import cpu_flags


def vector_flags() -> str:
    """The CPU's vector and matrix flags (AVX*, AMX*, FMA), sorted, or ``"none"``."""
    return " ".join(sorted(f for f in cpu_flags()
                           if f.startswith(("avx", "amx", "fma")))) or "none"
