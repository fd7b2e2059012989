"""The mathematics chapter's figures: each passes the book's figure check (title, labelled
axes) and draws the study's numbers."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bmlib.data.toy import make_moons
from bmlib.studies import math_essay_update, math_forward, math_optimisers, math_worked_example
from bmlib.viz import mathematics as plots
from bmlib.viz.figures import check_figure

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return make_moons(40, 0.2, seed=0)


@pytest.fixture(scope="module")
def trained(data):
    worked = math_worked_example.train_worked_example(data, lr=0.5, steps=30)
    essay = math_worked_example.train_with_essay_loss(data, worked, lr=0.5, steps=30)
    return worked, essay


def _figures(data, trained):
    worked, essay = trained
    optimisers = math_optimisers.compare_optimisers(data, sgd_lr=0.5, adam_lr=0.05, steps=5)
    return {
        "sigmoid": plots.sigmoid_overflow(math_forward.sigmoid_overflow(points=201)),
        "softmax": plots.softmax_readings(math_forward.softmax_check()),
        "adam": plots.adam_bias_correction(math_optimisers.bias_correction_inflation(100),
                                           optimisers),
        "worked": plots.worked_example(worked),
        "essay": plots.essay_loss(essay),
        "boundaries": plots.decision_boundaries(
            data, math_worked_example.decision_surfaces(data, worked, essay, steps=10)),
        "divergence": plots.essay_update_divergence(
            math_essay_update.follow_essay_update(data, lr=0.01)),
    }


def test_every_figure_passes_the_style_check(data, trained):
    for name, fig in _figures(data, trained).items():
        check_figure(fig)
        for ax in fig.axes:
            if ax.get_label() != "<colorbar>" and ax.lines + ax.collections + ax.patches:
                assert "(" in ax.get_xlabel() or ax.get_xlabel() == "output neuron k", name
        plt.close(fig)


def test_figures_draw_the_results(data, trained):
    worked, _ = trained
    fig = plots.worked_example(worked)
    left = fig.axes[0]
    np.testing.assert_array_equal(left.lines[1].get_ydata(), worked.ours_losses)
    assert fig._suptitle.get_text().startswith("The 2-3-1 network")
    plt.close(fig)
    readings = math_forward.softmax_check()
    fig = plots.softmax_readings(readings)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    np.testing.assert_allclose(heights, np.concatenate([readings.literal, readings.correct]))
    assert "1.36" in fig.axes[0].get_title()
    plt.close(fig)
    runs = math_essay_update.follow_essay_update(data, lr=0.01)
    fig = plots.essay_update_divergence(runs)
    assert "alpha = 0.01" in fig._suptitle.get_text()
    assert [line.get_label() for line in fig.axes[0].lines] == [r.label for r in runs.runs]
    plt.close(fig)
