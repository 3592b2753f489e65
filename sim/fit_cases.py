"""The back office from a case log (sim.caselog): per matter, the share finished at the
window, the lead time of the rest, the time limits and return visits.

A case completed on the day it was accepted is instant (即办). For the rest the log
gives dates, not times: a case accepted at a fraction f of its day and completed d
working days later took between d - f and d + 1 - f working days (an interval), and an
open case at least as long as the log runs on (right-censored); the lead time is fitted
to these by maximum likelihood (sim.fit_dists) and becomes a single step's waiting time
(`delay_days`) at the matter's department. Staff effort and team load are not in a case
log: the step takes no staff time, so the fitted back office is not one to size teams
on. Return visits: with `returns` per case, the chance that materials are incomplete at
a visit is sum(returns) / sum(returns + 1) (trips are geometric).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calendar import WEEKDAYS
from sim.fit_demand import Hours, Param, share_param
from sim.fit_dists import DurationFit, fit_duration

__all__ = ["CaseFit", "fit_cases"]

MIN_CASES = 30


@dataclass(frozen=True)
class CaseFit:
    matters: dict[str, dict]  # matter -> fields to set (instant_share, approval, ...)
    teams: dict[str, int]  # backoffice.teams
    params: list[Param]
    # matter -> (working days to completion, NaN if open; working days from acceptance
    # to the log's end; the fit)
    leads: dict[str, tuple[np.ndarray, np.ndarray, DurationFit]]
    warnings: list[str]
    assumptions: list[str]


def fit_cases(
    cases: pd.DataFrame,
    hours: Hours,
    department_of: dict[str, str],
    known: set[str],
    criterion: str = "aic",
    min_cases: int = MIN_CASES,
) -> CaseFit:
    """Fit the back office of the `known` matters (those of the ticket log)."""
    weekmask = "".join("0" if w in hours.weekend else "1" for w in WEEKDAYS)
    holidays = np.array(hours.holidays, dtype="datetime64[D]")
    accepted = cases["accepted_at"].to_numpy("datetime64[ns]")
    completed = cases["completed_at"].to_numpy("datetime64[ns]")
    accepted_day = accepted.astype("datetime64[D]")
    end = max(accepted_day.max(), np.nanmax(completed.astype("datetime64[D]")))
    has_time = bool((cases["accepted_at"] != cases["accepted_at"].dt.normalize()).any())
    fraction = (
        ((accepted - accepted_day).astype("timedelta64[s]").astype(float) / 86400)
        if has_time
        else np.full(len(cases), 0.5)
    )
    done = ~np.isnat(completed)
    lead = np.full(len(cases), np.nan)
    lead[done] = np.busday_count(
        accepted_day[done], completed[done].astype("datetime64[D]"), weekmask, holidays
    )
    open_days = np.busday_count(accepted_day, end, weekmask, holidays)
    frame = cases.assign(lead=lead, fraction=fraction, open_days=open_days, done=done)
    warnings, assumptions, params = [], [], []
    unknown = sorted(set(frame["matter"]) - known)
    if unknown:
        warnings.append(
            f"{len(unknown)} matter(s) of the case log are not in the ticket log and are "
            f"left out: {', '.join(unknown[:5])}" + (" ..." if len(unknown) > 5 else "")
        )
    assumptions.append(
        "Case log: a case completed the day it was accepted is instant; the others' lead "
        "time is one waiting step at the matter's department (delay_days) with no staff "
        "effort, so the back office cannot be sized from it."
        + ("" if has_time else " The log has dates only: acceptance taken at midday.")
    )
    matters: dict[str, dict] = {}
    leads: dict[str, tuple[np.ndarray, np.ndarray, DurationFit]] = {}
    teams: dict[str, int] = {}
    thin = []
    for matter, rows in frame[frame["matter"].isin(known)].groupby("matter"):
        fields, fit = _one_matter(str(matter), rows, criterion, params)
        if "incomplete_share" in fields and not any("Return visits" in a for a in assumptions):
            assumptions.append(
                "Return visits are counted on accepted cases: an applicant who gave up "
                "after being sent home for missing materials is not in a case log, so "
                "incomplete_share is low by about the share who give up."
            )
        if fit is not None:
            department = _mode(rows["department"]) or department_of.get(str(matter), str(matter))
            fields["approval"] = {
                "route": "serial",
                "steps": [
                    {
                        "department": department,
                        "effort_hours": {"dist": "fixed", "value": 0},
                        "delay_days": fit.spec(),
                    }
                ],
                **_limits(str(matter), rows, params, assumptions),
            }
            teams[department] = 1
            leads[str(matter)] = (rows["lead"].to_numpy(), rows["open_days"].to_numpy(), fit)
            if fit.n < min_cases:
                thin.append(str(matter))
        matters[str(matter)] = fields
    if thin:
        warnings.append(
            f"{len(thin)} matter(s) have fewer than {min_cases} back-office cases; their "
            f"lead times are uncertain (see the CIs): {', '.join(thin[:10])}"
        )
    return CaseFit(matters, teams, params, leads, warnings, assumptions)


def _one_matter(
    matter: str, rows: pd.DataFrame, criterion: str, params: list[Param]
) -> tuple[dict, DurationFit | None]:
    n = len(rows)
    same_day = rows["done"] & (rows["lead"] == 0)
    instant = float(same_day.mean())
    params.append(
        share_param(
            f"matters.{matter}.instant_share",
            instant,
            n,
            n,
            "",
            "completed the day it was accepted",
        )
    )
    fields: dict = {"instant_share": round(instant, 4)}
    if rows["returns"].notna().any():
        r = rows["returns"].dropna()
        visits = float((r + 1).sum())
        p = float(r.sum()) / visits
        params.append(
            share_param(
                f"matters.{matter}.incomplete_share",
                p,
                visits,
                int(visits),
                "",
                "returns / visits (geometric trips)",
            )
        )
        if p > 0:
            fields["incomplete_share"] = round(min(p, 0.95), 4)
    later = rows[rows["done"] & (rows["lead"] > 0)]
    still_open = rows[~rows["done"]]
    if len(later) == 0:  # nothing completed after its day: no lead time to fit
        return {**fields, "instant_share": 1.0}, None
    low = later["lead"].to_numpy() - later["fraction"].to_numpy()
    high = low + 1
    right = still_open["open_days"].to_numpy() + 1 - still_open["fraction"].to_numpy()
    fit, _ = fit_duration(np.array([]), right=right, interval=(low, high), criterion=criterion)
    note = f"{fit.family} by interval-censored MLE ({len(still_open)} open cases)"
    params.append(
        Param(
            f"matters.{matter}.approval.delay_days.mean",
            fit.mean,
            *fit.mean_ci,
            fit.n,
            "working days",
            note,
        )
    )
    if fit.family != "exponential":
        params.append(
            Param(f"matters.{matter}.approval.delay_days.cv", fit.cv, *fit.cv_ci, fit.n, "", note)
        )
    return fields, fit


def _limits(matter: str, rows: pd.DataFrame, params: list[Param], assumptions: list[str]) -> dict:
    promised, statutory = _mode(rows["promised_days"]), _mode(rows["statutory_days"])
    if promised is None and statutory is None:
        longest = float(np.ceil(np.nanmax(rows["lead"].to_numpy(), initial=1)))
        promised = statutory = max(longest, 1.0)
        assumptions.append(
            f"{matter}: the case log gives no time limits; both set to the longest lead "
            f"time seen ({longest:g} working days)."
        )
    promised = promised if promised is not None else statutory
    statutory = statutory if statutory is not None else promised
    statutory = max(statutory, promised)
    for name, value in (("promised_days", promised), ("statutory_days", statutory)):
        params.append(
            Param(
                f"matters.{matter}.approval.{name}",
                value,
                math.nan,
                math.nan,
                len(rows),
                "working days",
                "the most frequent in the log",
            )
        )
    return {"promised_days": float(promised), "statutory_days": float(statutory)}


def _mode(values: pd.Series):
    values = values.dropna()
    if values.empty:
        return None
    top = values.value_counts().index[0]
    return float(top) if isinstance(top, int | float | np.number) else str(top)
