"""Parameter sweeps: run one parameterised notebook over a grid with papermill.

Each grid point is one papermill run of the target notebook, written to
``<out_dir>/<run_id>.ipynb``. Runs execute in separate process groups, ``max_workers`` at a
time, each under a wall-clock limit (the whole group, kernel included, is killed when it
is exceeded). A run's results are read back from the run card it displays
(:func:`bmlib.book.runcard.run_cards_in_notebook`).

Runs are dispatched through Dask distributed: by default a ``LocalCluster`` of
``max_workers`` single-threaded workers on this machine; with ``scheduler="tcp://host:8786"``
the runs go to an existing Dask cluster instead (start one with ``dask scheduler`` and
``dask worker tcp://host:8786 --nthreads 1`` on each machine; every worker needs this
repository installed and ``out_dir`` on a shared file system).

* A failed or timed-out run is reported in the results with its status and one error
  line; it is never dropped.
* A run is *finished* when its output notebook exists and holds a run card. A sweep that
  was killed resumes without redoing finished runs (they are reported with
  ``resumed=True``); unfinished or failed runs are run again.
* A bad grid (empty, an unknown parameter, a value the target notebook would reject)
  raises :class:`SweepError` before anything runs.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import nbformat

from bmlib.book.params import Choice, Device, Float, Int, ParameterError, ParamSpec
from bmlib.book.runcard import run_cards_in_notebook

STATUSES = ("ok", "failed", "timeout")


class SweepError(ValueError):
    """A sweep's grid or settings are unusable; nothing was run."""


@dataclass(frozen=True)
class SweepResult:
    """What one grid point produced."""

    run_id: str  # file stem of the output notebook, derived from the parameters
    parameters: dict[str, Any]  # the overrides injected by papermill
    status: str  # "ok", "failed" or "timeout"
    error: str  # one line saying what went wrong ("" when ok)
    metrics: dict[str, Any] = field(default_factory=dict)  # the run card's metrics
    output: str = ""  # path of the executed notebook
    seconds: float = 0.0  # wall time of this run (0 when resumed)
    resumed: bool = False  # True: finished before, read back, not run again
    started: float = 0.0  # time.time() at launch (0 when resumed); shows the overlap


def scaling_run_spec() -> ParamSpec:
    """The parameters of ``sweeps/cifar_scaling_run.ipynb`` and what each may be."""
    return ParamSpec(
        MODEL=Choice(("small_cnn",), help="architecture family"),
        WIDTH=Int(minimum=1, maximum=256, help="channels of the first convolution"),
        TRAIN_SIZE=Int(minimum=10, maximum=49_000, help="training images (class-balanced)"),
        EVAL_SIZE=Int(minimum=10, maximum=10_000, help="test images evaluated"),
        EPOCHS=Int(minimum=1, maximum=500, help="passes over the training images"),
        SEED=Int(minimum=0, maximum=2**31 - 1, help="seed for data subset and training"),
        DEVICE=Device(),
    )


def isoflop_run_spec() -> ParamSpec:
    """The parameters of ``sweeps/lm_isoflop_run.ipynb`` (one GPT trained to a budget)."""
    return ParamSpec(
        BUDGET=Float(minimum=1e6, maximum=1e18, help="training FLOPs to spend"),
        SHAPE=Int(minimum=0, maximum=6, help="index into bmlib.studies.lm_scaling.SHAPES"),
        SEED=Int(minimum=0, maximum=2**31 - 1, help="seed for the weights and the batches"),
        VOCAB=Int(minimum=258, maximum=65_536, help="byte-level BPE vocabulary size"),
        CONTEXT=Int(minimum=8, maximum=1024, help="tokens per training window"),
        BATCH=Int(minimum=1, maximum=1024, help="windows per optimiser step"),
        LR=Float(minimum=1e-6, maximum=1.0, help="peak learning rate (cosine to 10 %)"),
        EVAL_WINDOWS=Int(minimum=1, maximum=100_000, help="validation windows measured"),
        DEVICE=Device(),
    )


def grid_product(axes: Mapping[str, Sequence[Any]],
                 fixed: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every combination of the axes' values (first axis slowest), plus ``fixed`` values."""
    if not axes:
        raise SweepError("empty grid: give at least one axis, e.g. {'WIDTH': [4, 8]}")
    for name, values in axes.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise SweepError(f"grid axis {name}={values!r}: give a non-empty list of values")
    names = list(axes)
    return [{**dict(fixed or {}), **dict(zip(names, combo))}
            for combo in itertools.product(*(axes[n] for n in names))]


def run_id(parameters: Mapping[str, Any]) -> str:
    """A file-name-safe id from the parameters, in sorted key order: ``TRAIN_SIZE=500_WIDTH=4``."""
    parts = []
    for key in sorted(parameters):
        value = str(parameters[key]).replace("/", "-").replace(" ", "")
        parts.append(f"{key}={value}")
    return "_".join(parts)


def validate_grid(grid: Sequence[Mapping[str, Any]], spec: ParamSpec) -> list[dict[str, Any]]:
    """Check every grid point against the target notebook's spec; raise :class:`SweepError`.

    Catches an empty grid, unknown parameters, wrong types, out-of-range values (negative
    sizes) and unknown choices (an unknown model name), naming the grid point.
    """
    if not isinstance(grid, Sequence) or isinstance(grid, (str, bytes)) or len(grid) == 0:
        raise SweepError("empty grid: nothing to run (give a list of parameter dicts)")
    checked: list[dict[str, Any]] = []
    for index, point in enumerate(grid):
        if not isinstance(point, Mapping) or not point:
            raise SweepError(f"grid point {index} is {point!r}: give a non-empty dict of "
                             "parameter overrides")
        try:
            spec.check_names(list(point))
            for name, value in point.items():
                spec.specs[name].check(name, value)
        except ParameterError as error:
            raise SweepError(f"grid point {index} {dict(point)!r}: {error}") from None
        checked.append(dict(point))
    ids = [run_id(p) for p in checked]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SweepError(f"grid has duplicate points: {', '.join(duplicates)}")
    return checked


def finished_metrics(path: Path) -> dict[str, Any] | None:
    """The run card metrics of a finished output notebook, or None if it is not finished."""
    try:
        notebook = nbformat.read(path, as_version=4)
        cards = run_cards_in_notebook(notebook)
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None
    return dict(cards[-1].metrics) if cards else None


def _error_line(path: Path, stderr: str) -> str:
    """The first error output of the notebook (``Name: value``), else stderr's last line."""
    try:
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    return f"{output.get('ename')}: {output.get('evalue')}".splitlines()[0]
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        pass
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "papermill exited with an error and no message"


def _kill_tree(pid: int) -> None:
    """Kill a run: its process group and every descendant (the kernel has its own group)."""
    import psutil  # installed with ipykernel

    try:
        descendants = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    for child in descendants:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run_one(notebook: Path, parameters: dict[str, Any], out_dir: Path, timeout_s: float,
             threads_per_run: int, cwd: Path) -> SweepResult:
    rid = run_id(parameters)
    output = out_dir / f"{rid}.ipynb"
    command = [sys.executable, "-m", "papermill", str(notebook), str(output),
               "-y", json.dumps(parameters), "-k", "python3", "--cwd", str(cwd),
               "--no-progress-bar", "--log-level", "ERROR"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads_per_run),
           "MKL_NUM_THREADS": str(threads_per_run)}
    started = time.time()
    # A new session makes the run its own process group; a timeout kills it and the kernel.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_tree(process.pid)
        process.communicate()
        return SweepResult(rid, parameters, "timeout",
                           f"timed out after {timeout_s:g} s (process group killed)",
                           output=str(output), seconds=time.time() - started, started=started)
    seconds = time.time() - started
    metrics = finished_metrics(output) if process.returncode == 0 else None
    if metrics is None:
        error = _error_line(output, stderr) if process.returncode != 0 else \
            "the notebook ran but displayed no run card"
        return SweepResult(rid, parameters, "failed", error, output=str(output),
                           seconds=seconds, started=started)
    return SweepResult(rid, parameters, "ok", "", metrics, str(output), seconds,
                       started=started)


def _dispatch(tasks: list[tuple], max_workers: int, scheduler: str | None
              ) -> list[SweepResult]:
    """Run ``_run_one(*task)`` for every task on a Dask cluster; results in task order."""
    from dask.distributed import Client, LocalCluster

    if scheduler is None:
        # Thread workers suffice: each run is a papermill subprocess the worker waits on.
        with LocalCluster(n_workers=max_workers, threads_per_worker=1, processes=False,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            return client.gather([client.submit(_run_one, *task, pure=False)
                                  for task in tasks])
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as error:
        raise SweepError(f"no Dask scheduler answers at {scheduler!r} ({error}): start one "
                         "with `dask scheduler`, or pass scheduler=None for a local "
                         "cluster") from None
    with client:
        return client.gather([client.submit(_run_one, *task, pure=False) for task in tasks])


def run_sweep(notebook: str | Path, grid: Sequence[Mapping[str, Any]], out_dir: str | Path,
              spec: ParamSpec, *, max_workers: int = 1, timeout_s: float = 600.0,
              threads_per_run: int = 1, cwd: str | Path | None = None,
              scheduler: str | None = None) -> list[SweepResult]:
    """Run ``notebook`` once per grid point (papermill) and collect the run cards' metrics.

    ``spec`` is the target notebook's :class:`ParamSpec`; the grid is validated against it
    before anything runs. ``max_workers`` runs go at once, each with ``threads_per_run``
    CPU threads and a ``timeout_s`` wall-clock limit. Finished runs already in ``out_dir``
    are read back, not rerun. Results come back in grid order, one per point.
    ``scheduler``: the address of a running Dask scheduler (None: a ``LocalCluster`` of
    ``max_workers`` workers, started for this sweep and closed after it).
    """
    notebook = Path(notebook)
    if not notebook.is_file():
        raise SweepError(f"target notebook {notebook} does not exist")
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise SweepError(f"max_workers={max_workers!r}: use an int >= 1")
    if not timeout_s > 0:
        raise SweepError(f"timeout_s={timeout_s!r}: use a number of seconds > 0")
    points = validate_grid(grid, spec)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work_dir = Path(cwd) if cwd is not None else notebook.parent

    results: dict[int, SweepResult] = {}
    pending: list[int] = []
    for index, point in enumerate(points):
        path = out / f"{run_id(point)}.ipynb"
        metrics = finished_metrics(path) if path.exists() else None
        if metrics is not None:
            results[index] = SweepResult(run_id(point), point, "ok", "", metrics, str(path),
                                         resumed=True)
        else:
            pending.append(index)
    if pending:
        for index, result in zip(pending, _dispatch(
                [(notebook, points[i], out, timeout_s, threads_per_run, work_dir)
                 for i in pending], max_workers, scheduler)):
            results[index] = result
    return [results[i] for i in range(len(points))]


def sweep_folder(name: str, notebook: str | Path,
                 library_files: Sequence[str | Path] = ()) -> Path:
    """``<cache>/sweeps/<name>-<hash>``: the hash covers the target notebook's code cells,
    the files it depends on (:func:`bmlib.book.dependencies.notebook_dependencies`: the bmlib
    modules it imports, transitively) and any extra ``library_files``, so a changed
    experiment never resumes from stale runs."""
    import hashlib

    from bmlib.book.dependencies import notebook_dependencies
    from bmlib.core.paths import cache_dir

    digest = hashlib.sha256()
    target = nbformat.read(Path(notebook), as_version=4)
    for cell in target.cells:
        if cell.cell_type == "code":
            digest.update(cell.source.encode("utf-8") + b"\0")
    for path in [*notebook_dependencies(target), *map(Path, library_files)]:
        digest.update(Path(path).read_bytes())
    return cache_dir() / "sweeps" / f"{name}-{digest.hexdigest()[:12]}"


def results_frame(results: Sequence[SweepResult]) -> Any:
    """A pandas DataFrame: one row per run, parameters and metrics as columns."""
    import pandas as pd

    rows = [{"run_id": r.run_id, **r.parameters, "status": r.status, "error": r.error,
             "resumed": r.resumed, **r.metrics} for r in results]
    return pd.DataFrame(rows)
