"""The book's local Sphinx extension (tools/book_sphinx.py)."""

from tools.book_sphinx import number_per_page


def test_figures_are_numbered_from_one_on_every_page():
    # Sphinx, with no numbered toctree, counts figures across the book in reading order.
    numbers = {"chapters/a": {"figure": {"fig-a-second": (2,), "fig-a-first": (1,)}},
               "chapters/b": {"figure": {"fig-b-only": (3,)}, "table": {"tab-b": (7,)}}}
    number_per_page(numbers)
    assert numbers == {"chapters/a": {"figure": {"fig-a-first": (1,), "fig-a-second": (2,)}},
                       "chapters/b": {"figure": {"fig-b-only": (1,)}, "table": {"tab-b": (1,)}}}


def test_single_page_build_keeps_every_html_visitor():
    from tools.book_sphinx import single_page_inherits_html

    handlers = {"html": {"mermaid": ("v", None), "exercise": ("h", "d")},
                "singlehtml": {"exercise": ("s", "d")}}
    single_page_inherits_html(handlers)
    assert handlers["singlehtml"] == {"mermaid": ("v", None), "exercise": ("s", "d")}
    only_html = {"html": {"mermaid": ("v", None)}}
    single_page_inherits_html(only_html)
    assert only_html == {"html": {"mermaid": ("v", None)}}  # Sphinx falls back by itself
