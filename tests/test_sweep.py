"""bmlib.book.sweep: bad grids fail before anything runs; real papermill runs of tiny notebooks
(parallel, failure and timeout reported, resume skips finished runs)."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from bmlib.book.params import Bool, Float, Int, ParamSpec
from bmlib.book.sweep import (SweepError, grid_product, run_id, run_sweep, scaling_run_spec,
                         validate_grid)

FAKE_SPEC = ParamSpec(X=Int(minimum=0), SLEEP=Float(minimum=0.0), FAIL=Bool())


def _fake_notebook(folder: Path) -> Path:
    notebook = new_notebook(cells=[
        new_code_cell("X = 1\nSLEEP = 0.0\nFAIL = False", metadata={"tags": ["parameters"]}),
        new_code_cell("import time\ntime.sleep(SLEEP)\n"
                      "if FAIL:\n    raise RuntimeError(f'boom at X={X}')"),
        new_code_cell("from bmlib.book.runcard import RunRecorder, show_run_card\n"
                      "show_run_card(RunRecorder('fake', {'X': X}).finish("
                      "metrics={'twice': 2 * X}))"),
    ])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    path = folder / "fake.ipynb"
    nbformat.write(notebook, path)
    return path


def test_grid_product_and_run_id() -> None:
    grid = grid_product({"WIDTH": [4, 8], "TRAIN_SIZE": [100, 200]}, fixed={"EPOCHS": 1})
    assert grid[0] == {"EPOCHS": 1, "WIDTH": 4, "TRAIN_SIZE": 100}
    assert len(grid) == 4 and len({run_id(p) for p in grid}) == 4
    assert run_id({"B": 2, "A": "x y"}) == "A=xy_B=2"


@pytest.mark.parametrize("grid, message", [
    ([], "empty grid"),
    ([{"WIDTH": 4, "TRAIN_SIZE": -100}], "TRAIN_SIZE=-100 is out of range"),
    ([{"WIDTH": -4}], "WIDTH=-4 is out of range"),
    ([{"MODEL": "gpt5"}], "MODEL='gpt5' is not allowed"),
    ([{"WIDHT": 4}], "unknown parameter(s) WIDHT"),
    ([{"WIDTH": 4.5}], "WIDTH=4.5 has type float"),
    ([{"WIDTH": 4}, {"WIDTH": 4}], "duplicate"),
    ([{}], "non-empty dict"),
])
def test_bad_grids_are_rejected(grid, message) -> None:
    with pytest.raises(SweepError) as info:
        validate_grid(grid, scaling_run_spec())
    assert message in str(info.value)


def test_sweep_folder_follows_the_code(tmp_path: Path) -> None:
    from bmlib.book.sweep import sweep_folder

    notebook = _fake_notebook(tmp_path)
    first = sweep_folder("fake", notebook)
    assert first.name.startswith("fake-") and first == sweep_folder("fake", notebook)
    edited = nbformat.read(notebook, as_version=4)
    edited.cells[1].source += "\n# changed"
    nbformat.write(edited, notebook)
    assert sweep_folder("fake", notebook) != first


def test_empty_axes_rejected() -> None:
    with pytest.raises(SweepError, match="empty grid"):
        grid_product({})
    with pytest.raises(SweepError, match="non-empty list"):
        grid_product({"WIDTH": []})


def test_bad_grid_runs_nothing(tmp_path: Path) -> None:
    notebook = _fake_notebook(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(SweepError, match="X=-1"):
        run_sweep(notebook, [{"X": 1}, {"X": -1}], out, FAKE_SPEC)
    assert not out.exists()  # validation happens before the folder is even made
    with pytest.raises(SweepError, match="max_workers"):
        run_sweep(notebook, [{"X": 1}], out, FAKE_SPEC, max_workers=0)


@pytest.mark.slow
def test_sweep_parallel_failure_and_resume(tmp_path: Path) -> None:
    notebook = _fake_notebook(tmp_path)
    out = tmp_path / "out"
    grid = [{"X": 1, "SLEEP": 3.0}, {"X": 2, "SLEEP": 3.0}, {"X": 3, "FAIL": True}]
    results = run_sweep(notebook, grid, out, FAKE_SPEC, max_workers=2, timeout_s=300)
    assert [r.parameters for r in results] == grid  # one result per point, in grid order
    ok1, ok2, failed = results
    assert ok1.status == ok2.status == "ok"
    assert ok1.metrics == {"twice": 2} and ok2.metrics == {"twice": 4}
    # Both 3-second runs were launched together and overlapped in time.
    assert abs(ok1.started - ok2.started) < ok1.seconds
    assert failed.status == "failed" and failed.error == "RuntimeError: boom at X=3"

    # Resume: finished runs are read back untouched; the failed one runs again.
    stamp = Path(ok1.output).stat().st_mtime_ns
    again = run_sweep(notebook, grid, out, FAKE_SPEC, max_workers=2, timeout_s=300)
    assert [r.resumed for r in again] == [True, True, False]
    assert again[0].metrics == {"twice": 2} and again[2].status == "failed"
    assert Path(ok1.output).stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_timeout_is_reported_and_the_run_killed(tmp_path: Path) -> None:
    import psutil

    notebook = _fake_notebook(tmp_path)
    before = {p.pid for p in psutil.process_iter() if _is_our_kernel(p, tmp_path)}
    (slow,) = run_sweep(notebook, [{"X": 4, "SLEEP": 600.0}], tmp_path / "out", FAKE_SPEC,
                        timeout_s=8)
    assert slow.status == "timeout" and slow.error.startswith("timed out after 8 s")
    assert slow.seconds < 30 and slow.metrics == {}
    time.sleep(1)
    left = {p.pid for p in psutil.process_iter() if _is_our_kernel(p, tmp_path)} - before
    assert not left, f"processes of the killed run still alive: {left}"


def _is_our_kernel(process, folder: Path) -> bool:
    """A papermill run or kernel working on this test's folder."""
    try:
        return any(str(folder) in part for part in process.cmdline()) or \
            process.cwd() == str(folder)
    except Exception:  # noqa: BLE001 - processes vanish or deny access while we look
        return False


@pytest.mark.slow
def test_unfinished_output_is_rerun(tmp_path: Path) -> None:
    notebook = _fake_notebook(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    # A notebook left half-written by a killed sweep: exists but holds no run card.
    (out / f"{run_id({'X': 5})}.ipynb").write_text("{ not json")
    (result,) = run_sweep(notebook, [{"X": 5}], out, FAKE_SPEC, timeout_s=300)
    assert result.status == "ok" and not result.resumed and result.metrics == {"twice": 10}


@pytest.mark.slow
def test_sweep_runs_on_a_dask_scheduler_given_by_address(tmp_path: Path) -> None:
    """The runs go to whatever cluster the address names (here a local one we start)."""
    from dask.distributed import LocalCluster

    notebook = _fake_notebook(tmp_path)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        results = run_sweep(notebook, [{"X": 6}, {"X": 7}], tmp_path / "out", FAKE_SPEC,
                            timeout_s=300, scheduler=cluster.scheduler_address)
        assert any("_run_one" in str(entry[0]) for entry in cluster.scheduler.transition_log)
    assert [r.metrics for r in results] == [{"twice": 12}, {"twice": 14}]


def test_unreachable_scheduler_is_one_clear_error(tmp_path: Path) -> None:
    notebook = _fake_notebook(tmp_path)
    with pytest.raises(SweepError, match="no Dask scheduler answers"):
        run_sweep(notebook, [{"X": 1}], tmp_path / "out", FAKE_SPEC,
                  scheduler="tcp://127.0.0.1:1")
