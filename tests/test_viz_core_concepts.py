"""The core-concepts figure passes the book's figure check and draws the sweep's numbers."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bmlib.studies.core_concepts import capacity_sweep
from bmlib.viz.core_concepts import capacity_curves
from bmlib.viz.figures import check_figure

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_capacity_curves_draw_one_line_per_depth_and_the_noise_floor():
    sweep = capacity_sweep(0, [2, 4], [1, 2, 3], 20, show_progress=False)
    fig = capacity_curves(sweep)
    check_figure(fig)
    assert fig._suptitle.get_text().startswith("More layers and nodes")
    train_ax, val_ax = fig.axes
    assert (train_ax.get_title(), val_ax.get_title()) == ("Training error", "Held-out error")
    for ax, attribute in ((train_ax, "train_mse"), (val_ax, "val_mse")):
        assert "(count" in ax.get_xlabel() and "(target units" in ax.get_ylabel()
        assert ax.get_xscale() == ax.get_yscale() == "log"
        *curves, floor = ax.lines
        assert len(curves) == len(sweep.depths)
        for line, depth in zip(curves, sweep.depths):
            rows = sweep.at_depth(depth)
            assert line.get_label() == f"depth {depth}"
            np.testing.assert_array_equal(line.get_xdata(), [r.parameters for r in rows])
            np.testing.assert_array_equal(line.get_ydata(), [getattr(r, attribute) for r in rows])
        assert floor.get_label() == "noise variance"
        assert set(floor.get_ydata()) == {sweep.noise_variance}
    plt.close(fig)
