"""The machine's measured matrix-multiply peak, the denominator of model FLOP utilisation.

Vendors quote peak FLOP/s for ideal kernels; what a training run can hope for on *this*
machine is better measured: the best of a few large square float32 (or bf16) matrix
products, ``2 n^3`` FLOPs each, at the threads torch uses.
"""

from __future__ import annotations

import time

import torch


def matmul_peak_flops(device: torch.device | str = "cpu", size: int = 2048,
                      dtype: torch.dtype = torch.float32, repeats: int = 10) -> float:
    """Best measured FLOP/s of ``size x size`` matrix products on ``device`` (best of
    ``repeats``: a busy neighbour or a clock change can only make a product slower, so the
    best is the closest to what the hardware can do; about a second on a 2-core CPU)."""
    device = torch.device(device)
    generator = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(size, size, device=device, dtype=dtype, generator=generator)
    b = torch.randn(size, size, device=device, dtype=dtype, generator=generator)
    best = float("inf")
    for index in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        (a @ b).sum().item()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if index:  # the first product selects kernels: not timed
            best = min(best, time.perf_counter() - started)
    return 2.0 * size ** 3 / best
