"""The algorithms chapter's figures: each passes the book's figure check (title, labelled
axes with units) and draws the study's numbers."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bmlib.models.attention import ReversalConfig
from bmlib.studies import algorithms as study
from bmlib.studies import sequence_study as seq
from bmlib.studies.sequence_tasks import train_reversal
from bmlib.studies.workflow import ModelConfig, prepare_digits
from bmlib.viz import algorithms as plots
from bmlib.viz.figures import check_figure

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = [ModelConfig(hidden=0, steps=4), ModelConfig(hidden=8, steps=4)]


@pytest.fixture
def split():
    return prepare_digits(seed=0, train_size=60)


def _check(fig):
    check_figure(fig)
    for ax in fig.axes:
        if ax.get_label() != "<colorbar>" and ax.axison and (ax.lines or ax.patches):
            assert "(" in ax.get_xlabel() and "(" in ax.get_ylabel(), ax.get_title()
    plt.close(fig)


def test_activations_figure_draws_values_and_derivatives():
    check = study.activation_check(points=21)
    fig = plots.activations(check)
    left, right = fig.axes
    np.testing.assert_array_equal(right.lines[1].get_ydata(), check.derivatives["Sigmoid"])
    assert len(left.lines) == 3
    _check(fig)


def test_candidate_losses_title_counts_the_candidates(split):
    fig = plots.candidate_losses(study.choose_model(split, TINY, seed=0))
    assert fig.axes[0].get_title() == "Step 3: training loss of the two candidates"
    assert len(fig.axes[0].lines) == 2
    _check(fig)


def test_tuning_and_data_figures():
    _check(plots.tuning_optimism(study.tune_on_test(TINY, repeats=5, seed=0)))
    models = {study.LINEAR: TINY[0], study.LEARNED: TINY[1]}
    fig = plots.data_dependence(study.data_dependence(models, (20, 40), (0, 20), seed=0))
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    _check(fig)


def test_edge_and_weight_figures(split):
    fig = plots.vertical_edges(study.vertical_edges(split))
    assert len(fig.axes) == 4  # two images and their colour bars
    _check(fig)
    fig = plots.weight_maps(study.read_weights(seed=0))
    assert len(fig.axes) == 20 and fig.axes[10].get_title() == "unit 0"
    _check(fig)


def test_gradient_norms_figure_has_one_panel_per_gain():
    norms = seq.gradient_norms(8, forget_bias=2.0, seed=0, gains=(1.0, 3.0), batch=16)
    fig = plots.gradient_norms(norms)
    assert [ax.get_title() for ax in fig.axes] == ["default recurrent weights",
                                                   "recurrent weights x3"]
    np.testing.assert_array_equal(fig.axes[1].lines[0].get_ydata(), norms.norms[("RNN", 3.0)])
    _check(fig)


def test_reversal_figure_shows_loss_and_each_head():
    config = ReversalConfig(steps=5, batch=8, eval_sequences=10)
    result = train_reversal(config, seed=0)
    fig = plots.reversal(result, seq.summarise_reversal(result, config),
                         seq.reversal_attention(result, config, seed=0))
    assert len(fig.axes) == 1 + config.n_heads + 1  # loss, heads, colour bar
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "chance (ln 10)"
    _check(fig)
