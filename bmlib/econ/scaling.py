"""Power-law fits of loss against scale (parameters, data, compute), with uncertainties.

Two models, both fitted by least squares:

* pure power law ``L = a · x^(−α)``: a straight line in log-log space, fitted by ordinary
  least squares on ``(log x, log L)``; the slope's standard error comes from the residuals.
  This is the form of Kaplan et al. (2020), e.g. ``L(N) = (N_c / N)^α_N``.
* saturating power law ``L = a · x^(−α) + c``: the irreducible loss ``c`` is a third
  parameter, as in Hoffmann et al. (2022), ``L(N, D) = E + A/N^α + B/D^β``; fitted by
  ``scipy.optimize.curve_fit``, with standard errors from the covariance matrix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class ScalingFitError(ValueError):
    """The data cannot be fitted as asked."""


@dataclass(frozen=True)
class PublishedExponent:
    """One exponent from the scaling-law literature."""

    symbol: str  # e.g. "alpha_N"
    value: float  # the published exponent
    scale: str  # "parameters", "data" or "compute"
    source: str  # references.bib key
    note: str  # where and under what conditions


PUBLISHED_EXPONENTS: tuple[PublishedExponent, ...] = (
    PublishedExponent("alpha_N", 0.076, "parameters", "kaplan2020scaling",
                      "L(N) = (N_c/N)^alpha_N, non-embedding parameters, trained to "
                      "convergence on enough data (Kaplan et al. 2020, eq. 1.1)"),
    PublishedExponent("alpha_D", 0.095, "data", "kaplan2020scaling",
                      "L(D) = (D_c/D)^alpha_D, tokens, large model with early stopping "
                      "(eq. 1.2)"),
    PublishedExponent("alpha_C", 0.050, "compute", "kaplan2020scaling",
                      "L(C_min) = (C_c/C_min)^alpha_C, compute-efficient frontier (eq. 1.3)"),
    PublishedExponent("alpha", 0.34, "parameters", "hoffmann2022training",
                      "L(N, D) = E + A/N^alpha + B/D^beta, fitted parametric loss "
                      "(Approach 3), E = 1.69 nats"),
    PublishedExponent("beta", 0.28, "data", "hoffmann2022training",
                      "same fit as alpha (Approach 3)"),
)


@dataclass(frozen=True)
class PowerLawFit:
    """``L = prefactor · x^(−exponent) + offset`` with standard errors."""

    exponent: float  # alpha: how fast the loss falls with x
    exponent_se: float  # standard error of alpha (nan when it cannot be estimated)
    prefactor: float  # a
    offset: float  # c, the irreducible loss (0 for the pure power law)
    offset_se: float  # standard error of c (0 for the pure power law)
    r_squared: float  # fraction of the variance explained (of log L for the pure fit)
    num_points: int  # points used

    def predict(self, x: np.ndarray | float) -> np.ndarray:
        return self.prefactor * np.asarray(x, dtype=float) ** (-self.exponent) + self.offset

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        """Approximate 95 % interval of the exponent (normal approximation)."""
        return self.exponent - z * self.exponent_se, self.exponent + z * self.exponent_se


def _checked(x: np.ndarray, y: np.ndarray, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ScalingFitError(f"x and y must be 1-D and equally long; got {x.shape}, {y.shape}")
    if x.size < minimum:
        raise ScalingFitError(f"{x.size} points: this fit needs at least {minimum}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ScalingFitError("x and y must be finite (drop failed runs first)")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ScalingFitError("x and y must be > 0 for a power-law fit")
    if np.unique(x).size < 2:
        raise ScalingFitError("x takes a single value: nothing to fit a slope to")
    return x, y


def fit_power_law(x: np.ndarray, y: np.ndarray) -> PowerLawFit:
    """OLS fit of ``log y = log a − α log x``; slope standard error from the residuals."""
    x, y = _checked(x, y, 2)
    lx, ly = np.log(x), np.log(y)
    design = np.column_stack([np.ones_like(lx), lx])
    coef, *_ = np.linalg.lstsq(design, ly, rcond=None)
    residuals = ly - design @ coef
    dof = x.size - 2
    if dof > 0:
        sigma2 = float(residuals @ residuals) / dof
        slope_se = math.sqrt(sigma2 / float(((lx - lx.mean()) ** 2).sum()))
    else:
        slope_se = float("nan")
    total = float(((ly - ly.mean()) ** 2).sum())
    r2 = 1.0 - float(residuals @ residuals) / total if total > 0 else 1.0
    return PowerLawFit(exponent=-float(coef[1]), exponent_se=slope_se,
                       prefactor=float(math.exp(coef[0])), offset=0.0, offset_se=0.0,
                       r_squared=r2, num_points=int(x.size))


def fit_saturating_power_law(x: np.ndarray, y: np.ndarray) -> PowerLawFit:
    """Least-squares fit of ``y = a · x^(−α) + c`` with ``0 <= c < min(y)`` and ``α > 0``.

    Needs at least 4 points (3 parameters plus one degree of freedom for the errors).
    Starting values come from the pure power law; ``x`` is rescaled by its geometric
    mean during the fit so the prefactor stays well conditioned.
    """
    from scipy.optimize import curve_fit

    x, y = _checked(x, y, 4)
    scale = float(np.exp(np.log(x).mean()))
    u = x / scale
    start = fit_power_law(x, y - 0.5 * y.min())

    def model(u_: np.ndarray, a: float, alpha: float, c: float) -> np.ndarray:
        return a * u_ ** (-alpha) + c

    p0 = [float(start.prefactor * scale ** (-start.exponent)),
          max(start.exponent, 1e-3), 0.5 * float(y.min())]
    try:
        popt, pcov = curve_fit(model, u, y, p0=p0, maxfev=20000,
                               bounds=([0.0, 1e-6, 0.0], [np.inf, 10.0, float(y.min())]))
    except RuntimeError as error:
        raise ScalingFitError(f"saturating power-law fit did not converge: {error}") from None
    a, alpha, c = (float(v) for v in popt)
    errors = np.sqrt(np.clip(np.diag(pcov), 0.0, None))
    residuals = y - model(u, *popt)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(residuals @ residuals) / total if total > 0 else 1.0
    return PowerLawFit(exponent=alpha, exponent_se=float(errors[1]),
                       prefactor=a * scale ** alpha, offset=c, offset_se=float(errors[2]),
                       r_squared=r2, num_points=int(x.size))


def pareto_frontier(cost: np.ndarray, loss: np.ndarray) -> np.ndarray:
    """Indices (by increasing cost) of runs that no cheaper-or-equal run beats on loss.

    The compute-efficient frontier of Kaplan et al.: for each compute budget the lowest
    loss reached by any run that cost no more.
    """
    cost = np.asarray(cost, dtype=float)
    loss = np.asarray(loss, dtype=float)
    if cost.shape != loss.shape or cost.ndim != 1:
        raise ScalingFitError("cost and loss must be 1-D and equally long")
    order = np.lexsort((loss, cost))
    keep, best = [], np.inf
    for index in order:
        if loss[index] < best:
            keep.append(int(index))
            best = loss[index]
    return np.array(keep, dtype=int)


def published(scale: str) -> list[PublishedExponent]:
    """The published exponents for ``scale`` ("parameters", "data" or "compute")."""
    found = [p for p in PUBLISHED_EXPONENTS if p.scale == scale]
    if not found:
        raise ScalingFitError(f"scale {scale!r}: use 'parameters', 'data' or 'compute'")
    return found


@dataclass(frozen=True)
class ExponentialTrend:
    """``log10 y = intercept + slope · (t − t_ref)``: growth by a constant factor a year."""

    slope: float  # log10 growth per year
    slope_se: float  # standard error of the slope
    intercept: float  # log10 y at t_ref
    t_ref: float  # mean of the fitted times (decimal years)
    residual_sd: float  # standard deviation of the residuals, log10 units
    sxx: float  # sum of squared deviations of the fitted times
    num_points: int

    @property
    def factor_per_year(self) -> float:
        return 10.0 ** self.slope

    @property
    def doubling_time_years(self) -> float:
        return math.log10(2.0) / self.slope if self.slope > 0 else float("inf")

    def predict(self, t: float, level: float = 0.90) -> tuple[float, float, float]:
        """(central, low, high) value at time ``t``; the band is a prediction interval.

        The band combines the residual scatter and the uncertainty of the line (Student t
        with n − 2 degrees of freedom), so it is where a *new* run at time ``t`` would lie
        if the past trend held; it does not cover a change of trend.
        """
        from scipy.stats import t as student_t

        centre = self.intercept + self.slope * (t - self.t_ref)
        spread = self.residual_sd * math.sqrt(
            1.0 + 1.0 / self.num_points + (t - self.t_ref) ** 2 / self.sxx)
        q = float(student_t.ppf(0.5 + level / 2.0, self.num_points - 2))
        return 10.0 ** centre, 10.0 ** (centre - q * spread), 10.0 ** (centre + q * spread)


def fit_exponential_trend(times: np.ndarray, values: np.ndarray) -> ExponentialTrend:
    """OLS of ``log10 values`` on ``times`` (decimal years); needs 3 or more points."""
    t, y = _checked(np.asarray(times, dtype=float), np.asarray(values, dtype=float), 3)
    ly = np.log10(y)
    t_ref = float(t.mean())
    dt = t - t_ref
    sxx = float(dt @ dt)
    slope = float(dt @ (ly - ly.mean()) / sxx)
    intercept = float(ly.mean())
    residuals = ly - (intercept + slope * dt)
    residual_sd = math.sqrt(float(residuals @ residuals) / (t.size - 2))
    return ExponentialTrend(slope=slope, slope_se=residual_sd / math.sqrt(sxx),
                            intercept=intercept, t_ref=t_ref, residual_sd=residual_sd,
                            sxx=sxx, num_points=int(t.size))


def decimal_year(year_month: str) -> float:
    """'2023-07' -> 2023.54 (the middle of the month)."""
    try:
        year, month = (int(part) for part in str(year_month).split("-")[:2])
    except ValueError:
        raise ScalingFitError(f"date {year_month!r}: use 'YYYY-MM'") from None
    if not 1 <= month <= 12:
        raise ScalingFitError(f"date {year_month!r}: month must be 1..12")
    return year + (month - 0.5) / 12.0


def record_setters(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Indices, in time order, of the points that exceed every earlier point (the frontier).

    Ties in time are broken by value, so two releases in the same month count once.
    """
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    if times.shape != values.shape or times.ndim != 1:
        raise ScalingFitError("times and values must be 1-D and equally long")
    order = np.lexsort((-values, times))
    keep, best = [], -np.inf
    for index in order:
        if values[index] > best:
            keep.append(int(index))
            best = values[index]
    return np.array(keep, dtype=int)
