"""Reading another chapter's glued values back from its executed notebook."""

import nbformat
import pytest

from bmlib.book.glued import GluedValueError, glued_value, glued_values
from bmlib.core.paths import repo_root


def test_reads_the_committed_outlook_values():
    values = glued_values(repo_root() / "chapters" / "outlook.ipynb")
    assert isinstance(values["outlook_runs_ok"], int) and values["outlook_runs_ok"] > 0
    assert isinstance(values["outlook_sweep_time"], str)


def test_missing_values_and_notebooks_are_clear_errors(tmp_path):
    path = tmp_path / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    with pytest.raises(GluedValueError, match="execute that chapter"):
        glued_value(path, "anything")
    with pytest.raises(GluedValueError, match="does not exist"):
        glued_values(tmp_path / "missing.ipynb")
