"""The industry-background figures: titled, labelled, drawing what the results hold."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bmlib.data.tables import load_table
from bmlib.studies import industry
from bmlib.viz.figures import check_figure
from bmlib.viz.industry import cost_sensitivity_figure, landmark_models_figure


@pytest.fixture(scope="module")
def models():
    return industry.with_training_compute(load_table("landmark_models").frame)


def test_landmark_models_figure_is_titled_and_labels_the_named_models(models):
    fig = landmark_models_figure(models, labelled={"GPT-3"})
    try:
        check_figure(fig)
        size, compute = fig.axes
        assert fig._suptitle.get_text() == "Landmark language models, 2018-2024"
        assert "FLOP" in compute.get_ylabel() and "year" in size.get_xlabel()
        assert size.get_yscale() == compute.get_yscale() == "log"
        assert [t.get_text() for t in size.texts] == ["GPT-3"]
        drawn = sum(len(c.get_offsets()) for c in size.collections)
        assert drawn == models.organisation.isin(["Google", "OpenAI", "DeepMind", "Meta"]).sum()
    finally:
        plt.close(fig)


def test_landmark_models_figure_needs_the_compute_columns():
    with pytest.raises(ValueError, match="with_training_compute"):
        landmark_models_figure(load_table("landmark_models").frame, labelled=())


def test_cost_sensitivity_figure_draws_one_line_per_price(models):
    accelerators = load_table("accelerators").frame
    assumptions = industry.cost_assumptions(accelerators, "H100", 0.4, 3.78, 1.1, 4096)
    grid = np.linspace(0.2, 0.6, 5)
    sensitivity = industry.cost_sensitivity(models, ["GPT-3", industry.FRONTIER], assumptions,
                                            mfu_grid=grid)
    fig = cost_sensitivity_figure(sensitivity)
    try:
        check_figure(fig)
        assert len(fig.axes) == 2
        left = fig.axes[0]
        assert left.get_title() == "GPT-3 on H100" and "million USD" in left.get_ylabel()
        n_prices = len(assumptions.prices) + 1
        assert len(left.lines) == n_prices + 1  # every price, and the MFU marker
        np.testing.assert_allclose(left.lines[0].get_ydata(),
                                   sensitivity.cost_usd["GPT-3"][0] / 1e6)
        assert fig.axes[1].get_legend() is not None and left.get_legend() is None
    finally:
        plt.close(fig)
