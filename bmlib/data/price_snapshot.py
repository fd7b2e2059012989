"""Today's API list prices, from the ``genai-prices`` package (MIT, maintained by Pydantic).

The history of prices in ``data/econ/api_prices.csv`` is sourced row by row; the *current*
snapshot comes from a maintained package instead of being typed by hand. The snapshot is
identified by the package's version (recorded on run cards as the data's provenance), and
read from the data the package ships: nothing is fetched from the network.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

import pandas as pd

PACKAGE = "genai-prices"
PROVIDERS = ("openai", "anthropic", "google", "deepseek", "mistral", "moonshotai",
             "minimax", "cohere", "x-ai", "xai")


class PriceSnapshotError(RuntimeError):
    """The price package is missing or its data has an unexpected shape."""


def snapshot_version() -> str:
    """The installed ``genai-prices`` version: the snapshot's identity."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        raise PriceSnapshotError(f"{PACKAGE} is not installed: run `make install` (it is a "
                                 "dependency in pyproject.toml)") from None


def _standard(prices: Any) -> Any:
    """One price per model: where the package lists conditional prices (off-peak hours,
    dated changes), the highest input price - the standard rate, not a discount."""
    if isinstance(prices, list):
        def key(conditional: Any) -> float:
            value = getattr(conditional.prices, "input_mtok", None)
            value = getattr(value, "base", value)
            return float(value) if value is not None else -1.0
        return max(prices, key=key).prices
    return prices


def current_prices(providers: tuple[str, ...] = PROVIDERS) -> pd.DataFrame:
    """provider, model id, model name, input and output USD per million tokens, for every
    model of ``providers`` the package prices per token (tiered prices: the base tier;
    conditional prices: the standard rate, see :func:`_standard`)."""
    snapshot_version()
    from genai_prices import data  # the package's bundled snapshot

    rows = []
    for provider in data.providers:
        if provider.id not in providers:
            continue
        for model in provider.models:
            price = _standard(model.prices)
            values = {}
            for field in ("input_mtok", "output_mtok"):
                value = getattr(price, field, None)
                if value is not None and hasattr(value, "tiers"):  # tiered: the base price
                    value = value.base
                values[field] = float(value) if value is not None else None
            if values["input_mtok"] is None or values["output_mtok"] is None:
                continue
            rows.append({"provider": provider.id, "model_id": model.id,
                         "model": model.name or model.id,
                         "input_usd_per_mtok": values["input_mtok"],
                         "output_usd_per_mtok": values["output_mtok"]})
    if not rows:
        raise PriceSnapshotError(f"{PACKAGE} {snapshot_version()} returned no token prices "
                                 f"for {providers}: its data layout may have changed")
    return pd.DataFrame(rows)
