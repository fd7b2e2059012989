import pytest

from bmlib.viz.figures import FigureStyleError, check_figure, figure_png, new_figure, show_figure


def complete_figure():
    fig, ax = new_figure()
    ax.plot([1, 2, 3], [1, 4, 9])
    ax.set_title("Squares")
    ax.set_xlabel("x (units)")
    ax.set_ylabel("x squared (units^2)")
    return fig


def test_complete_figure_passes_and_renders_img_with_alt(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw: shown.append(obj))
    show_figure(complete_figure(), alt="A rising curve of squares from 1 to 9.")
    (bundle,) = shown
    assert "alt='A rising curve of squares from 1 to 9.'" in bundle["text/html"]
    assert bundle["text/html"].startswith("<img src='data:image/png;base64,")
    assert bundle["text/plain"] == "[figure] Squares"


def test_missing_title_label_or_alt_is_refused():
    fig, ax = new_figure()
    ax.plot([1, 2], [1, 2])
    with pytest.raises(FigureStyleError, match="no title"):
        check_figure(fig)
    ax.set_title("T")
    with pytest.raises(FigureStyleError, match="x axis has no label"):
        check_figure(fig)
    ax.set_xlabel("x (s)")
    with pytest.raises(FigureStyleError, match="y axis has no label"):
        check_figure(fig)
    with pytest.raises(FigureStyleError, match="alt text"):
        show_figure(complete_figure(), alt="plot")


def test_png_bytes_are_deterministic():
    assert figure_png(complete_figure()) == figure_png(complete_figure())


def test_image_grid_without_axes_needs_only_a_title():
    fig, axes = new_figure(1, 2)
    for ax in axes:
        ax.imshow([[0, 1], [1, 0]])
        ax.axis("off")
    fig.suptitle("A grid")
    check_figure(fig)
