"""bmlib.book.glue: many values at once, as plain scalars, with named errors."""

import numpy as np
import pytest
import torch

from bmlib.book.glue import GlueError, glue_values, plain


def test_plain_converts_numpy_and_torch_scalars():
    assert type(plain(np.float32(0.5))) is float and plain(np.float32(0.5)) == 0.5
    assert type(plain(np.int64(7))) is int
    assert type(plain(torch.tensor(3))) is int
    assert plain(True) is True and plain("x") == "x"


@pytest.mark.parametrize("bad", [float("nan"), np.inf, [1, 2], np.arange(3)])
def test_plain_refuses_non_scalars_and_non_finite(bad):
    with pytest.raises(GlueError):
        plain(bad)


def test_glue_values_glues_each_name(monkeypatch):
    calls = []
    import myst_nb
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: calls.append(
        (name, value, display)))
    out = glue_values({"mean": np.float64(0.25), "n": np.int32(3)}, prefix="ch_")
    assert out == {"ch_mean": 0.25, "ch_n": 3}
    assert calls == [("ch_mean", 0.25, False), ("ch_n", 3, False)]
    with pytest.raises(GlueError, match="not an identifier"):
        glue_values({"bad name": 1})
