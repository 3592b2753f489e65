"""Fit a duration distribution to observed times, censored or not.

The candidates are the scenario's own families, by mean and cv (sim.dists): exponential,
gamma and lognormal. Each is fitted by maximum likelihood, where a time can be exact
(a service, a visitor seen giving up), right-censored (a visitor served after waiting
this long: their patience was longer) or left-censored (a visitor called and absent:
they gave up before). Fitting only the exact times of those who gave up is biased low,
because the patient ones were served before their patience ran out; the censored
likelihood counts them. One family is chosen by AIC (or BIC); the confidence interval of
the mean and cv comes from the observed information (the likelihood's curvature).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

__all__ = ["FAMILIES", "DurationFit", "fit_duration", "frozen", "kaplan_meier"]

FAMILIES = ("exponential", "gamma", "lognormal")
_Z95 = 1.959963984540054


def frozen(family: str, mean: float, cv: float):
    """The scipy distribution of a family given by mean and cv (as sim.dists)."""
    if family == "exponential":
        return stats.expon(scale=mean)
    if family == "gamma":
        return stats.gamma(1 / cv**2, scale=mean * cv**2)
    if family == "lognormal":
        sigma2 = math.log1p(cv**2)
        return stats.lognorm(math.sqrt(sigma2), scale=mean * math.exp(-sigma2 / 2))
    raise ValueError(f"no family {family!r}; families: {FAMILIES}")


@dataclass(frozen=True)
class DurationFit:
    """One family fitted: mean and cv with 95% CIs, and how well it fits."""

    family: str
    mean: float
    mean_ci: tuple[float, float]
    cv: float
    cv_ci: tuple[float, float]
    loglik: float
    aic: float
    bic: float
    n_exact: int
    n_right: int
    n_left: int
    ks_d: float = math.nan  # Kolmogorov-Smirnov on the exact times (uncensored fits only)
    ks_p: float = math.nan
    n_interval: int = 0  # known only to lie between two values (whole days in a log)

    @property
    def n(self) -> int:
        return self.n_exact + self.n_right + self.n_left + self.n_interval

    def spec(self, digits: int = 4) -> dict:
        """The scenario's distribution spec (sim.dists)."""
        mean = float(f"{self.mean:.{digits}g}")
        if self.family == "exponential":
            return {"dist": "exponential", "mean": mean}
        return {"dist": self.family, "mean": mean, "cv": float(f"{self.cv:.{digits}g}")}

    def widened(self, log_se: float) -> DurationFit:
        """The mean's CI widened by a further independent error of this standard error
        on the log scale (e.g. the speed factor a time was scaled by)."""
        low, high = (math.log(v) for v in self.mean_ci)
        se = math.hypot((high - low) / (2 * _Z95), log_se)
        centre = math.log(self.mean)
        ci = (math.exp(centre - _Z95 * se), math.exp(centre + _Z95 * se))
        return DurationFit(**{**self.__dict__, "mean_ci": ci})

    def dist(self):
        return frozen(self.family, self.mean, self.cv)


def _weighted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and their counts: logs hold times to the second, so a million
    times are a few thousand distinct ones."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return values, values
    distinct, counts = np.unique(values, return_counts=True)
    return distinct, counts.astype(float)


def fit_duration(
    exact: np.ndarray,
    right: np.ndarray | None = None,
    left: np.ndarray | None = None,
    criterion: str = "aic",
    families: tuple[str, ...] = FAMILIES,
    interval: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[DurationFit, list[DurationFit]]:
    """Fit every family to the times (exact, right- and left-censored, and known only
    to lie in an interval (low, high)) and choose one by `criterion` ("aic" or "bic").
    Returns (chosen, all fits)."""
    if criterion not in ("aic", "bic"):
        raise ValueError(f"criterion: 'aic' or 'bic', not {criterion!r}")
    data = [
        _weighted(np.maximum(x, 1e-3)) if x is not None else _weighted(np.array([]))
        for x in (exact, right, left)
    ]
    data.append(_intervals(interval))
    n_exact, n_right, n_left = (int(c.sum()) for _, c in data[:3])
    if n_exact + n_left + int(data[3][1].sum()) == 0:
        raise ValueError("nothing to fit: no exact, left-censored or interval times")
    if n_exact + n_right + int(data[3][1].sum()) == 0:
        raise ValueError("left-censored times alone (all shorter than ...) place no distribution")
    fits = [_fit_family(family, data) for family in families]
    chosen = min(fits, key=lambda f: getattr(f, criterion))
    if n_right == 0 and n_left == 0 and not len(data[3][0]) and n_exact >= 2:
        x = np.asarray(exact, dtype=float)
        x = x[np.isfinite(x)]
        fits = [_with_ks(f, x) for f in fits]
        chosen = next(f for f in fits if f.family == chosen.family)
    return chosen, fits


def _intervals(interval: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (low, high) pairs and their counts."""
    if interval is None or not len(interval[0]):
        return np.zeros((0, 2)), np.zeros(0)
    pairs = np.column_stack([np.maximum(interval[0], 0.0), interval[1]]).astype(float)
    distinct, counts = np.unique(pairs, axis=0, return_counts=True)
    return distinct, counts.astype(float)


def _loglik(family: str, theta: np.ndarray, data) -> float:
    mean, cv = math.exp(theta[0]), (1.0 if family == "exponential" else math.exp(theta[1]))
    d = frozen(family, mean, cv)
    (xe, ce), (xr, cr), (xl, cl), (xi, ci) = data
    total = 0.0
    if len(xi):  # P(low < T <= high), from whichever tail is more precise
        low, high = xi[:, 0], xi[:, 1]
        p = np.where(high <= mean, d.cdf(high) - d.cdf(low), d.sf(low) - d.sf(high))
        total += float(ci @ np.log(np.maximum(p, 1e-300)))
    if len(xe):
        total += float(ce @ d.logpdf(xe))
    if len(xr):
        total += float(cr @ d.logsf(xr))
    if len(xl):
        total += float(cl @ d.logcdf(xl))
    return total if math.isfinite(total) else -1e300


def _fit_family(family: str, data) -> DurationFit:
    (xe, ce), (xr, cr), (xl, cl), (xi, ci) = data
    # a start from the exact (or interval midpoints, or all) times' moments
    if len(xe):
        x, c = xe, ce
    elif len(xi):
        x, c = np.maximum(xi.mean(axis=1), 1e-3), ci
    else:
        x, c = np.concatenate([xl, xr]), np.concatenate([cl, cr])
    m = float(c @ x / c.sum())
    sd = math.sqrt(max(float(c @ (x - m) ** 2 / c.sum()), 1e-12))
    k = 1 if family == "exponential" else 2
    cv0 = min(max(sd / m, 0.05), 5)
    # two starts (the moments; the exponential's cv of 1, with a longer mean when censored
    # on the right): a censored likelihood can stall far from its best from one start
    starts = [(m, cv0), (m * (3 if len(xr) else 1), 1.0)]

    def objective(theta: np.ndarray) -> float:
        return -_loglik(family, theta, data)

    # log cv is bounded to the scenario's range (sim.dists.MAX_CV)
    bounds = [(-12.0, 14.0)] + ([(-6.0, math.log(20))] if k == 2 else [])
    result = min(
        (optimize.minimize(objective, np.log(start)[:k], method="L-BFGS-B", bounds=bounds)
         for start in starts),
        key=lambda r: r.fun,
    )  # fmt: skip
    theta = result.x
    loglik = -float(result.fun)
    n = int(ce.sum() + cr.sum() + cl.sum() + ci.sum())
    se = _standard_errors(objective, theta)
    if k == 2 and min(theta[1] - bounds[1][0], bounds[1][1] - theta[1]) < 1e-3:
        se[1] = np.nan  # the cv sits on the edge of what a scenario allows
    mean_ci = (math.exp(theta[0] - _Z95 * se[0]), math.exp(theta[0] + _Z95 * se[0]))
    if k == 2:
        cv, cv_ci = (
            math.exp(theta[1]),
            (math.exp(theta[1] - _Z95 * se[1]), math.exp(theta[1] + _Z95 * se[1])),
        )
    else:
        cv, cv_ci = 1.0, (1.0, 1.0)
    return DurationFit(
        family,
        math.exp(theta[0]),
        mean_ci,
        cv,
        cv_ci,
        loglik,
        2 * k - 2 * loglik,
        k * math.log(max(n, 1)) - 2 * loglik,
        int(ce.sum()),
        int(cr.sum()),
        int(cl.sum()),
        n_interval=int(ci.sum()),
    )


def _standard_errors(objective, theta: np.ndarray) -> np.ndarray:
    """Standard errors from the inverse of the numerical Hessian of -loglik."""
    k, h = len(theta), 1e-4
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            hessian[i, j] = (
                objective(theta + ei + ej)
                - objective(theta + ei - ej)
                - objective(theta - ei + ej)
                + objective(theta - ei - ej)
            ) / (4 * h * h)
    try:
        covariance = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    variance = np.diag(covariance)
    # not a maximum (or on a bound): no interval rather than a zero-width one
    return np.where(variance > 0, np.sqrt(np.abs(variance)), np.nan)


def _with_ks(fit: DurationFit, x: np.ndarray) -> DurationFit:
    """Kolmogorov-Smirnov distance and p-value; the p-value is approximate (the
    parameters come from the same data, which makes it conservative)."""
    result = stats.kstest(x, fit.dist().cdf)
    return DurationFit(
        **{**fit.__dict__, "ks_d": float(result.statistic), "ks_p": float(result.pvalue)}
    )


def kaplan_meier(exact: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival from exact event times and right-censored times:
    (event times, survival just after each)."""
    times = np.concatenate([exact, right])
    event = np.concatenate([np.ones(len(exact), bool), np.zeros(len(right), bool)])
    order = np.lexsort((~event, times))  # events before censorings at equal times
    times, event = times[order], event[order]
    at_risk = len(times) - np.arange(len(times))
    distinct, first = np.unique(times[event], return_index=True)
    if not len(distinct):
        return np.array([]), np.array([])
    # deaths and those at risk at each distinct event time
    event_times = times[event]
    deaths = np.diff(np.append(first, len(event_times)))
    risk = at_risk[np.searchsorted(times, distinct, side="left")]
    return distinct, np.cumprod(1 - deaths / risk)
