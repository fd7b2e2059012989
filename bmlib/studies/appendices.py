"""The appendices' own computations: the facts the claims ledger checks against the book's
sourced tables, and how the tools chapter names the interpreter that executed it.

What the appendices collect from the executed chapters (claims, run cards) is book
business and lives in :mod:`bmlib.book.collect`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bmlib.core.paths import repo_root
from bmlib.econ.costs import cagr

#: How the essay's market forecast is marked in ``data/market_figures.csv``'s forecaster column.
ESSAY_FORECASTER = "essay"


@dataclass(frozen=True)
class BackgroundFacts:
    """The essay's section-1 figures, recomputed from ``data/`` tables."""

    implied_cagr: float  # growth a year implied by the essay's two market endpoints (fraction)
    stated_cagr_percent: float  # the growth rate the essay states, in percent
    gpt3_parameters: int  # parameters of the largest GPT-3 (Brown et al., 2020)
    bert_base_parameters: int  # parameters of BERT-base (Devlin et al., 2019)
    bert_large_parameters: int  # parameters of BERT-large

    def glue_values(self) -> dict[str, float]:
        """The numbers the ledger's prose refers to (the implied CAGR in percent)."""
        return {"ledger_implied_cagr": self.implied_cagr * 100}

    def summary(self) -> str:
        """Two lines: the implied against the stated CAGR, and the parameter counts."""
        return (f"essay's market figures imply a CAGR of {self.implied_cagr:.2%} "
                f"(stated: {self.stated_cagr_percent}%)\n"
                f"GPT-3: {self.gpt3_parameters:,} parameters; BERT-base/large: "
                f"{self.bert_base_parameters:,}/{self.bert_large_parameters:,}")


def background_facts(models: pd.DataFrame, market: pd.DataFrame) -> BackgroundFacts:
    """Recompute the essay's section-1 figures.

    ``models``: ``data/landmark_models.csv`` indexed by ``model``; ``market``:
    ``data/market_figures.csv``, whose row with "essay" in its forecaster holds the essay's
    endpoints (base and target value and year).
    """
    essay = market[market["forecaster"].str.contains(ESSAY_FORECASTER)]
    if essay.empty:
        raise ValueError("background_facts: no market row whose forecaster names the essay")
    row = essay.iloc[0]
    implied = cagr(row["base_value_usd_billion"], row["target_value_usd_billion"],
                   row["target_year"] - row["base_year"])
    missing = sorted({"GPT-3", "BERT-base", "BERT-large"} - set(models.index))
    if missing:
        raise KeyError(f"background_facts: models table lacks {missing}")
    return BackgroundFacts(
        implied_cagr=float(implied),
        stated_cagr_percent=float(row["stated_cagr_percent"]),
        gpt3_parameters=int(models.loc["GPT-3", "parameters"]),
        bert_base_parameters=int(models.loc["BERT-base", "parameters"]),
        bert_large_parameters=int(models.loc["BERT-large", "parameters"]),
    )


def interpreter_label(executable: str | Path | None = None, root: Path | None = None) -> str:
    """The interpreter as a page may show it: its path relative to the repository when it
    lies inside it (``.venv/bin/python``), else only its file name (``python3.11``), so no
    machine's absolute path reaches an output. Defaults: ``sys.executable``, the repository.
    """
    path = Path(executable if executable is not None else sys.executable)
    if not str(path).strip() or not path.name:
        raise ValueError(f"interpreter_label: {executable!r} is not an interpreter path")
    path = Path.cwd() / path if not path.is_absolute() else path
    base = (root or repo_root()).resolve()
    # The folder is resolved, not the file: a venv's python is a link to the system's.
    for candidate in (path, path.parent.resolve() / path.name):
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.name
