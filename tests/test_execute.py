"""tools.execute: fresh-kernel execution in place, and the execution cache key."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from bmlib.book.notebooks import execution_key
from tools.execute import execute_in_place

pytestmark = pytest.mark.slow


def test_execute_in_place_runs_top_to_bottom_and_records_the_key(tmp_path):
    path = tmp_path / "tiny.ipynb"
    notebook = new_notebook(cells=[
        new_markdown_cell("# Tiny / 小"),
        new_code_cell("x = 6 * 7"),
        new_code_cell("print(x)"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    nbformat.write(notebook, path)
    execute_in_place(path)
    executed = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in executed.cells if c.cell_type == "code"]
    assert counts == [1, 2]
    assert executed.cells[2].outputs[0].text == "42\n"
    assert executed.metadata["bmlib"]["executed_hash"] == execution_key(executed)


def test_execute_in_place_keeps_only_a_progress_bars_final_state(tmp_path):
    path = tmp_path / "bar.ipynb"
    code = ("import sys, time\n"
            "for i in range(3):\n"
            "    sys.stderr.write(f'\\rstep {i + 1}/3'); sys.stderr.flush(); time.sleep(0.05)\n"
            "sys.stderr.write('\\n'); sys.stderr.flush(); print('done')")
    notebook = new_notebook(cells=[new_code_cell(code)], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(notebook, path)
    execute_in_place(path)
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert [(o.name, o.text) for o in outputs] == [("stderr", "step 3/3\n"), ("stdout", "done\n")]
