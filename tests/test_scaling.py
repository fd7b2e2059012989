"""bmlib.econ.scaling: the fits recover known exponents from synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from bmlib.econ.scaling import (ScalingFitError, fit_power_law, fit_saturating_power_law,
                           pareto_frontier, published)


def test_pure_power_law_exact() -> None:
    x = np.array([1e3, 1e4, 1e5, 1e6])
    fit = fit_power_law(x, 7.0 * x ** -0.076)
    assert fit.exponent == pytest.approx(0.076, abs=1e-12)
    assert fit.prefactor == pytest.approx(7.0, rel=1e-10)
    assert fit.exponent_se == pytest.approx(0.0, abs=1e-10)
    assert fit.r_squared == pytest.approx(1.0)


def test_pure_power_law_noise_within_error() -> None:
    rng = np.random.default_rng(0)
    x = np.logspace(2, 6, 12)
    hits = 0
    for _ in range(200):
        y = 3.0 * x ** -0.3 * np.exp(rng.normal(0.0, 0.05, x.size))
        fit = fit_power_law(x, y)
        low, high = fit.interval()
        hits += low <= 0.3 <= high
    assert 0.88 <= hits / 200 <= 0.99  # the 95 % interval covers the truth about 95 % of the time


def test_saturating_power_law_recovers_offset_and_exponent() -> None:
    rng = np.random.default_rng(1)
    x = np.logspace(3, 7, 10)
    y = 400.0 * x ** -0.34 + 1.69
    fit = fit_saturating_power_law(x, y * (1 + rng.normal(0.0, 1e-4, x.size)))
    assert fit.exponent == pytest.approx(0.34, rel=0.02)
    assert fit.offset == pytest.approx(1.69, rel=0.02)
    assert fit.predict(1e5) == pytest.approx(400.0 * 1e5 ** -0.34 + 1.69, rel=1e-3)
    # A log-log line through saturating data underestimates the exponent.
    assert fit_power_law(x, y).exponent < 0.34


def test_pareto_frontier() -> None:
    cost = np.array([1.0, 2.0, 3.0, 4.0, 2.0])
    loss = np.array([5.0, 4.0, 4.5, 3.0, 3.5])
    assert pareto_frontier(cost, loss).tolist() == [0, 4, 3]


@pytest.mark.parametrize("x, y, message", [
    ([1.0, 2.0], [1.0], "equally long"),
    ([1.0], [1.0], "at least 2"),
    ([1.0, -2.0], [1.0, 1.0], "> 0"),
    ([1.0, float("nan")], [1.0, 1.0], "finite"),
    ([2.0, 2.0], [1.0, 3.0], "single value"),
])
def test_bad_input(x, y, message) -> None:
    with pytest.raises(ScalingFitError, match=message):
        fit_power_law(np.array(x), np.array(y))


def test_saturating_needs_four_points_and_published_lookup() -> None:
    with pytest.raises(ScalingFitError, match="at least 4"):
        fit_saturating_power_law(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.5]))
    assert {p.value for p in published("parameters")} == {0.076, 0.34}
    with pytest.raises(ScalingFitError, match="scale"):
        published("tokens")


def test_exponential_trend_recovers_growth_and_band() -> None:
    from bmlib.econ.scaling import decimal_year, fit_exponential_trend

    t = np.array([2018.0, 2019.0, 2020.0, 2021.0, 2022.0, 2023.0])
    y = 1e20 * 4.0 ** (t - 2018.0)
    trend = fit_exponential_trend(t, y * np.array([1.1, 0.9, 1.05, 0.95, 1.0, 1.02]))
    assert trend.factor_per_year == pytest.approx(4.0, rel=0.05)
    assert trend.doubling_time_years == pytest.approx(0.5, rel=0.05)
    centre, low, high = trend.predict(2025.0)
    assert low < centre < high and centre == pytest.approx(1e20 * 4.0 ** 7, rel=0.2)
    assert trend.predict(2030.0)[2] / trend.predict(2030.0)[1] > high / low  # widens ahead
    assert decimal_year("2023-07") == pytest.approx(2023.5417, abs=1e-4)
    with pytest.raises(ScalingFitError, match="YYYY-MM"):
        decimal_year("July 2023")


def test_record_setters() -> None:
    from bmlib.econ.scaling import record_setters

    times = np.array([2020.0, 2021.0, 2021.0, 2022.0, 2023.0])
    values = np.array([5.0, 3.0, 8.0, 7.0, 9.0])
    assert record_setters(times, values).tolist() == [0, 2, 4]
    with pytest.raises(ScalingFitError):
        record_setters(times, values[:2])
