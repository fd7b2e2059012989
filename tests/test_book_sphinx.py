"""The book's local Sphinx extension (tools/book_sphinx.py)."""

from tools.book_sphinx import number_per_page


def test_figures_are_numbered_from_one_on_every_page():
    # Sphinx, with no numbered toctree, counts figures across the book in reading order.
    numbers = {"chapters/a": {"figure": {"fig-a-second": (2,), "fig-a-first": (1,)}},
               "chapters/b": {"figure": {"fig-b-only": (3,)}, "table": {"tab-b": (7,)}}}
    number_per_page(numbers)
    assert numbers == {"chapters/a": {"figure": {"fig-a-first": (1,), "fig-a-second": (2,)}},
                       "chapters/b": {"figure": {"fig-b-only": (1,)}, "table": {"tab-b": (1,)}}}
