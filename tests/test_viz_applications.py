"""The applications chapter's figures pass the book's figure check and draw the study's
numbers."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from bmlib.studies.applications import CalibrationCurves, ConfusionSummary, ReliabilityCurve
from bmlib.viz import applications as plots
from bmlib.viz.figures import check_figure


def _curves() -> CalibrationCurves:
    return CalibrationCurves(3, {
        "logistic regression": ReliabilityCurve(np.array([0.1, 0.5, 0.9]),
                                                np.array([0.0, 0.4, 1.0]), np.array([50, 5, 40])),
        "MLP (PyTorch)": ReliabilityCurve(np.array([0.05, 0.95]), np.array([0.02, 0.97]),
                                          np.array([52, 43]))})


def test_calibration_figure_draws_each_curve_and_its_counts():
    fig = plots.breast_cancer_calibration(_curves())
    check_figure(fig)
    ax = fig.axes[0]
    assert ax.get_title().startswith("Breast cancer, test set: calibration (3 bins")
    assert "(fraction)" in ax.get_xlabel() and "(fraction)" in ax.get_ylabel()
    diagonal, logistic, mlp = ax.lines
    np.testing.assert_array_equal(logistic.get_ydata(), [0.0, 0.4, 1.0])
    np.testing.assert_array_equal(mlp.get_xdata(), [0.05, 0.95])
    assert [t.get_text() for t in ax.texts] == ["50", "5", "40", "52", "43"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "perfect calibration", "logistic regression", "MLP (PyTorch)"]
    plt.close(fig)


def test_calibration_figure_refuses_more_curves_than_markers():
    curve = ReliabilityCurve(np.array([0.5]), np.array([0.5]), np.array([1]))
    with pytest.raises(ValueError, match="at most"):
        plots.breast_cancer_calibration(CalibrationCurves(1, {str(k): curve for k in range(5)}))


def test_confusion_figure_labels_non_zero_cells():
    matrix = np.array([[9, 1, 0], [0, 8, 0], [2, 0, 7]])
    fig = plots.digits_confusion(ConfusionSummary(matrix), model="MLP")
    check_figure(fig)
    ax = fig.axes[0]
    assert ax.get_title() == "Handwritten digits, test set: MLP confusion matrix (counts)"
    assert ax.get_xlabel() == "predicted digit (class)"
    np.testing.assert_array_equal(ax.images[0].get_array(), matrix)
    assert sorted(t.get_text() for t in ax.texts) == sorted(["9", "1", "8", "2", "7"])
    assert fig.axes[1].get_ylabel() == "test images (count)"
    plt.close(fig)
