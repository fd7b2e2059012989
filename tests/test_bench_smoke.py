"""The benchmark scripts' tiny modes run end to end on the CPU (random pixels, no data set),
so a bench prepared for a machine we rarely have (bench/gpu_check.py, for an H200) is known
to run before that machine is lent. Figures are not checked: benches print, tests don't time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("module, expected", [
    ("bench.gpu_check", "airbench-style recipe"),
    ("bench.cifar10_airbench", "six-view TTA"),
    ("bench.jpeg_cost", "cost of JPEG-"),
    ("bench.seed_step", "ratio to the book's step"),
])
def test_tiny_mode_runs(module, expected):
    completed = subprocess.run([sys.executable, "-m", module, "--tiny"], cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert expected in completed.stdout
