"""Facts about frontier training compute that more than one chapter states, computed once.

The industry chapter, the FAQ and the outlook all speak of how much more compute Llama 3.1
405B took than GPT-3, and how fast that doubled. Each reads it from here (or glues what this
module returns), so the book has one value per fact. Where two estimates of one quantity
are both worth showing, both come from here and the text says which to quote:

* **the ratio** by the developers' *published* training compute (quote this one: it is their
  own count) and by the ``6·N·D`` approximation (which leaves out the attention FLOP and
  rounds N and D: the two differ by about one percent);
* **the doubling time** between the two end points (here) and the fit through every compute
  record setter (the outlook's ``compute_trend``; quote the fit for the trend, since two end
  points depend on where they happen to lie).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from bmlib.econ.costs import training_flop

FIRST = "GPT-3"  # the essay's flagship model
LAST = "Llama 3.1 405B (paper)"  # the largest published training budget in the table

#: Glue names this module produces: a chapter may glue them (they are one computation,
#: however many chapters show them); ``tests/test_one_value_per_fact.py`` allows exactly these
#: names to be glued by more than one chapter.
SHARED_GLUE_NAMES = ("fact_compute_ratio", "fact_compute_ratio_6nd",
                     "fact_compute_span_years", "fact_compute_doubling_months_endpoints")


def release_year(release: str) -> float:
    """``"2020-05"`` (or ``"2020-05-28"``) as a decimal year, mid-month: 2020.375."""
    return int(release[:4]) + (int(release[5:7]) - 0.5) / 12


def doubling_months(factor: float, span_years: float) -> float:
    """Months to double at the average rate that multiplies by ``factor`` in ``span_years``."""
    if factor <= 1 or span_years <= 0:
        raise ValueError(f"growth x{factor} over {span_years} years has no doubling time")
    return 12 * span_years * math.log(2) / math.log(factor)


@dataclass(frozen=True)
class FrontierCompute:
    """Training compute of ``last`` against ``first``, published and by 6·N·D."""

    first: str  # earlier model
    last: str  # later model
    first_flop_published: float  # FLOP, the developers' figure (NaN where none)
    last_flop_published: float
    first_flop_6nd: float  # FLOP, 6·N·D
    last_flop_6nd: float
    span_years: float  # between the releases, mid-month

    @property
    def ratio(self) -> float:
        """The ratio to quote: published figures where both exist, else 6·N·D."""
        if math.isnan(self.first_flop_published) or math.isnan(self.last_flop_published):
            return self.ratio_6nd
        return self.last_flop_published / self.first_flop_published

    @property
    def ratio_6nd(self) -> float:
        """The same ratio by the 6·N·D approximation."""
        return self.last_flop_6nd / self.first_flop_6nd

    @property
    def doubling_months(self) -> float:
        """Months per doubling between the two end points (of :attr:`ratio`)."""
        return doubling_months(self.ratio, self.span_years)

    def glue_values(self) -> dict[str, Any]:
        values = {"fact_compute_ratio": self.ratio, "fact_compute_ratio_6nd": self.ratio_6nd,
                  "fact_compute_span_years": self.span_years,
                  "fact_compute_doubling_months_endpoints": self.doubling_months}
        assert tuple(values) == SHARED_GLUE_NAMES
        return values


def frontier_compute(landmarks: pd.DataFrame, first: str = FIRST,
                     last: str = LAST) -> FrontierCompute:
    """Compute of ``last`` against ``first`` in the landmark-models table (columns
    ``model``, ``parameters``, ``training_tokens``, ``published_training_flop``,
    ``release``)."""
    by_model = landmarks.set_index("model") if "model" in landmarks.columns else landmarks
    a, b = by_model.loc[first], by_model.loc[last]
    return FrontierCompute(
        first=first, last=last,
        first_flop_published=float(a.published_training_flop),
        last_flop_published=float(b.published_training_flop),
        first_flop_6nd=training_flop(float(a.parameters), float(a.training_tokens)),
        last_flop_6nd=training_flop(float(b.parameters), float(b.training_tokens)),
        span_years=release_year(str(b.release)) - release_year(str(a.release)))
