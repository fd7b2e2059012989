"""What this book itself runs on: tool versions and hardware, read at run time.

The document's section 7 recommends tools without versions. The book's own toolchain is
reported here the way a reader can reproduce it: every version comes from the installed
package's metadata when the report runs, never from a typed list.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import platform
import sys
from dataclasses import dataclass

# The book's tools: distribution name on PyPI -> what the book uses it for.
BOOK_TOOLS: dict[str, str] = {
    "torch": "tensors, autograd and the CIFAR-10 training (PyTorch)",
    "numpy": "from-scratch maths (MLP, optimisers) and data handling",
    "pandas": "tables in chapters",
    "matplotlib": "figures",
    "scikit-learn": "toy data sets and metrics",
    "jupyter-book": "builds this site from the notebooks (version 1)",
    "sphinx": "the documentation engine under Jupyter Book",
    "myst-nb": "reads notebooks, glues computed numbers into prose",
    "sphinxcontrib-bibtex": "citations and the bibliography from references.bib",
    "pybtex": "parses references.bib for the citation checks",
    "nbval": "re-executes every chapter in CI and compares its outputs",
    "papermill": "parameterised reruns of a chapter (make rerun)",
    "nbclient": "executes chapters in place (make execute)",
    "pytest": "unit and notebook tests",
}


@dataclass(frozen=True)
class ToolVersion:
    """One installed tool."""

    name: str  # distribution name, e.g. "jupyter-book"
    version: str | None  # installed version; None when the package is not installed
    role: str  # what the book uses it for


@dataclass(frozen=True)
class HardwareReport:
    """The machine the report ran on."""

    python: str  # interpreter version, e.g. "3.11.7"
    implementation: str  # e.g. "CPython"
    os: str  # operating system and release
    machine: str  # CPU architecture, e.g. "x86_64"
    cpu_count: int  # logical CPUs visible to this process
    torch_threads: int  # threads PyTorch uses for intra-op parallelism
    cuda_available: bool  # whether PyTorch sees a CUDA device
    gpu_names: tuple[str, ...]  # names of the CUDA devices (empty without one)


def installed_version(name: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    if not name.strip():
        raise ValueError("installed_version: give a distribution name such as 'numpy'")
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def tool_versions(tools: dict[str, str] | None = None) -> list[ToolVersion]:
    """Versions of the book's tools (or of ``tools``: name -> role), in the given order."""
    tools = BOOK_TOOLS if tools is None else tools
    return [ToolVersion(name, installed_version(name), role) for name, role in tools.items()]


def hardware_report() -> HardwareReport:
    """Python, OS, CPU and GPU of the running process."""
    import torch  # imported here: the version table works without torch

    from bmlib.core.device import gpu_names  # likewise: it imports torch

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cuda = torch.cuda.is_available()
    return HardwareReport(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        os=f"{platform.system()} {platform.release()}",
        machine=platform.machine(),
        cpu_count=int(cpus or 1),
        torch_threads=torch.get_num_threads(),
        cuda_available=cuda,
        gpu_names=gpu_names(),
    )


def missing_tools(versions: list[ToolVersion]) -> list[str]:
    """Names of the tools that are not installed."""
    return [v.name for v in versions if v.version is None]


def interpreter_path() -> str:
    """The running interpreter, so a reader can tell which environment produced a page."""
    return sys.executable
