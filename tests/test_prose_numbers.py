"""The rule for numbers in prose (README, "Contributing"), one test per rule, and the check
of every chapter's markdown against it."""

import json

import pytest

from bmlib.book.notebooks import chapter_notebooks
from bmlib.book.prose_numbers import ADVICE, find_prose_numbers
from bmlib.core.paths import repo_root


def texts(markdown):
    return [hit.text for hit in find_prose_numbers(markdown)]


def kinds(markdown):
    return [hit.kind for hit in find_prose_numbers(markdown)]


# --- result-like numbers are found ---------------------------------------------------------

@pytest.mark.parametrize("markdown, kind", [
    ("The model reaches 0.8325 on the test set.", "decimal"),
    ("It trains in 7.4 MB of buffers.", "quantity"),
    ("One epoch takes 21 min here.", "quantity"),
    ("Accuracy rose by 40 % over the baseline.", "percent"),
    ("Accuracy rose by 40% over the baseline.", "percent"),
    ("Compute grew x121 in four years.", "multiplier"),
    ("Llama 3.1 405B used 120x the compute of GPT-3.", "multiplier"),
    ("It costs 3.5× less.", "multiplier"),
    ("A run costs $4,600,000 on rented GPUs.", "money"),
    ("The market reaches 190 billion in revenue.", "quantity"),
    ("Training used 3.1e23 FLOP.", "scientific notation"),
    ("The epoch took about 40 seconds.", "approximation"),
    ("Roughly half of the rows are dated; it took about forty seconds.", "approximation"),
    ("It is ~12 points better.", "approximation"),
    ("The fast path is about twice as fast as the plain loop.", "spelled comparison"),
    ("The GPU is three times as fast as the CPU.", "spelled comparison"),
    ("It is 10 times faster.", "spelled comparison"),
    ("The sweep spans an order of magnitude.", "spelled comparison"),
    ("Revenue grew threefold in a year.", "spelled comparison"),
])
def test_result_like_numbers_are_found(markdown, kind):
    assert kind in kinds(markdown), find_prose_numbers(markdown)


def test_a_hit_says_where_it_is_and_what_to_do():
    hit, = find_prose_numbers("Intro line.\n\nThe run took 7.4 MB in all.")
    assert (hit.text, hit.kind, hit.line) == ("7.4 MB", "quantity", 3)
    assert "7.4 MB" in hit.context and "line 3" in hit.message() and ADVICE in hit.message()
    assert "{glue:text}" in ADVICE and "{cite:p}" in ADVICE


# --- what is not a result -------------------------------------------------------------------

@pytest.mark.parametrize("markdown", [
    "Accuracy is {glue:text}`cifar_acc:.4f` and grew {glue:text}`factor:.0f`x.",  # glued
    "Set `weight_decay=5e-4` and `lr=0.2`.",                               # inline code
    "```python\nx = 0.83\n```",                                             # code block
    "```{figure} a.png\n:width: 80%\n```",                                  # directive
    "The loss is $L = 0.5\\,(y - \\hat y)^2$ and $$c = 6.02$$.",              # math
    "## 9.2 Why 28.8 %?",                                                   # heading
    "> 年复合增长率高达28.8%",                                                # block quote
    'The essay prints "0.8325" at the end.',                                # quotation
    "The essay: “准确率为83.25%” — *an accuracy of 83.25 %*.",                # Chinese + translation
    "Kaplan et al. found 0.076 {cite:p}`kaplan2020scaling`. Next.",        # cited sentence
    "The price is 2.49 USD per hour ([source](https://example.com/p)).",   # linked source
    "See §5.2 and section 4.1, Figure 3, Table 2 and Exercise 4.",          # references
    "In 2021 and June 2024 (2024-06-15), the 2020s, 2020-2024.",            # years, dates
    "The 3rd and the 21st run.",                                            # ordinals
    "GPT-4, H100, CIFAR-10, Qwen2.5-7B, Python 3.10, Llama 3.1 405B, v2.1, a 7B model.",
    "A 32x32 image, 3×3 kernels, 8 × 8 digits, a 2-D map, 8-bit weights.",  # shapes
    "Twenty epochs over 40,000 images, three seeds, batch 64.",            # counts
    "The 95 % interval and its 90 % CI.",                                   # interval levels
    "<!-- 0.83 --> and <span data-x='0.5'>tag</span>.",                     # HTML
])
def test_not_result_like(markdown):
    assert find_prose_numbers(markdown) == []


def test_a_citation_covers_only_its_own_sentence():
    assert texts("Kaplan found 0.076 {cite:p}`k`. We found 0.081 here.") == ["0.081"]


def test_a_quotation_outside_chinese_text_does_not_exempt_italics():
    assert texts("*The run took 7.4 MB.*") == ["7.4 MB"]


# --- every chapter -----------------------------------------------------------------------------

def _markdown_cells():
    root = repo_root()
    for path in [*chapter_notebooks(root), root / "index.md"]:
        if path.suffix == ".md":
            yield path.relative_to(root), "-", path.read_text(encoding="utf-8")
            continue
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                source = cell["source"]
                yield (path.relative_to(root), cell.get("id", "?"),
                       "".join(source) if isinstance(source, list) else source)


def test_no_chapter_types_a_result_by_hand():
    hits = [f"{path} cell {cell_id} {hit.message()}"
            for path, cell_id, markdown in _markdown_cells()
            for hit in find_prose_numbers(markdown)]
    assert not hits, (f"{len(hits)} hand-typed result-like number(s) in the prose "
                      "(README, 'Contributing', states the rule):\n" + "\n".join(hits))
