"""KPIs of the whole case: same-day rate, lead times, limits kept, back-office load.

Pure functions of the event log and the case and step logs (see sim.records), one row
per replication (and team, and working day), summarised across replications by
`sim.metrics.summarize` like every other table.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.calendar import MINUTES_PER_DAY
from sim.metrics import Capacity, explode_matters, overlap

__all__ = [
    "OUTCOME_COLUMNS",
    "backlog_table",
    "case_kpi_table",
    "case_matter_table",
    "case_outcomes",
    "team_table",
]

# What case_outcomes adds to the case log (sim.records.CASE_COLUMNS): name -> meaning.
OUTCOME_COLUMNS: dict[str, tuple[str, str]] = {
    "lead_time_days": ("float64", "working days from acceptance to result (fractional)"),
    "lead_time_calendar_days": (
        "float64",
        "calendar days from acceptance to result, weekends and holidays included (what the "
        "applicant waits)",
    ),
    "on_time_promised": (
        "bool",
        "finished by the end of the promised limit's last working day: finished_day <= "
        "accepted_day + promised_days (rounded up); a 3-day promise made on Monday holds "
        "until Thursday's close",
    ),
    "on_time_statutory": ("bool", "the same against statutory_days"),
}


def case_outcomes(cases: pd.DataFrame) -> pd.DataFrame:
    """The case log with each case's lead times and limits kept (OUTCOME_COLUMNS)."""
    accepted_day, finished_day = cases["accepted_day"], cases["finished_day"]
    within_day = (cases["finished_at"] - cases["accepted_at"]) / MINUTES_PER_DAY
    calendar_days = (cases["finished_date"] - cases["accepted_date"]) / pd.Timedelta(days=1)
    return cases.assign(
        lead_time_days=finished_day - accepted_day + within_day,
        lead_time_calendar_days=calendar_days + within_day,
        on_time_promised=finished_day <= accepted_day + _whole_days(cases["promised_days"]),
        on_time_statutory=finished_day <= accepted_day + _whole_days(cases["statutory_days"]),
    )


def _whole_days(limit_days: pd.Series) -> pd.Series:
    """A limit counts whole working days: 2.5 days run to the end of the third."""
    return np.ceil(limit_days - 1e-9)


def _replications(log: pd.DataFrame) -> list[tuple[str, int]]:
    keys = log[["scenario", "replication"]].drop_duplicates()
    return [(str(s), int(r)) for s, r in keys.itertuples(index=False)]


def _of(frame: pd.DataFrame, scenario: str, replication: int) -> pd.DataFrame:
    if frame.empty:
        return frame
    return frame[(frame["scenario"] == scenario) & (frame["replication"] == replication)]


def _trips(visits: pd.DataFrame, online: pd.DataFrame) -> pd.Series:
    """Trips to the hall per application (visitor and matter): every trip on which the
    matter was handled, queued for or given up on, at any stage; an online application
    makes none unless its result is collected in person."""
    trips = explode_matters(visits).groupby(["visitor", "matter"])["trip"].nunique()
    if online.empty:
        return trips
    applied = pd.MultiIndex.from_arrays(
        [online["visitor"].to_numpy(), online["matter"].astype(str).to_numpy()],
        names=["visitor", "matter"],
    )
    return trips.reindex(trips.index.union(applied), fill_value=0)


def _case_stats(c: pd.DataFrame) -> dict[str, float]:
    """Back-office KPIs of a set of cases."""
    lead = c["lead_time_days"].to_numpy() if len(c) else np.array([])
    return {
        "backoffice_cases": len(c),
        "lead_time_mean_days": lead.mean() if len(lead) else math.nan,
        "lead_time_p90_days": np.quantile(lead, 0.9) if len(lead) else math.nan,
        "lead_time_calendar_mean_days": c["lead_time_calendar_days"].mean() if len(c) else math.nan,
        "on_time_promised_rate": c["on_time_promised"].mean() if len(c) else math.nan,
        "on_time_statutory_rate": c["on_time_statutory"].mean() if len(c) else math.nan,
        "warnings": int(c["warned_at_days"].notna().sum()) if len(c) else 0,
    }


def _application_stats(accepted: int, trips: pd.Series, c: pd.DataFrame) -> dict[str, float]:
    """Same-day rate and trips of `accepted` applications with these trip counts and cases."""
    later = int((c["finished_day"] > c["accepted_day"]).sum()) if len(c) else 0
    return {
        "matters_accepted": accepted,
        "same_day_rate": (accepted - later) / accepted if accepted else math.nan,
        "trips_per_case": trips.mean() if len(trips) else math.nan,
        "one_trip_share": (trips <= 1).mean() if len(trips) else math.nan,
        "zero_trip_share": (trips == 0).mean() if len(trips) else math.nan,
    }


def _cohort(
    visits: pd.DataFrame, online: pd.DataFrame, capacity: Capacity | None
) -> tuple[pd.DataFrame, pd.DataFrame, set[int] | None]:
    """The applicants of the measured days, followed to the end: visitors whose first
    trip (or online application) fell on a measured day, with all their trips and cases,
    also those in the drain after the last day."""
    if capacity is None:
        return visits, online, None
    # a visitor's first day: their first trip or online application, whichever came
    # first (an online applicant's collection trip is logged as trip 1, days later)
    first = visits.groupby("visitor")["day"].min()
    if len(online):
        first = pd.concat([first, online.groupby("visitor")["day"].min()]).groupby(level=0).min()
    ids = set(first[(first >= capacity.first_day) & (first < capacity.end_day)].index)
    visits = visits[visits["visitor"].isin(ids)]
    online = online[online["visitor"].isin(ids)] if len(online) else online
    return visits, online, ids


def _replication_parts(
    log: pd.DataFrame,
    cases: pd.DataFrame,
    online: pd.DataFrame | None,
    capacity: Capacity | None = None,
):
    """Per replication: its key, visits, which visits accepted applications, its online
    applications and its cases (of the measured days' applicants, with a capacity)."""
    online = pd.DataFrame() if online is None else online
    for scenario, rep in _replications(log) if not log.empty else _replications(online):
        visits, applied_online, ids = _cohort(
            _of(log, scenario, rep), _of(online, scenario, rep), capacity
        )
        accepting = (visits["outcome"] == "served") & (visits["stage"] == "acceptance")
        c = _of(cases, scenario, rep)
        if ids is not None and len(c):
            c = c[c["visitor"].isin(ids)]
        yield scenario, rep, visits, accepting, applied_online, c


def case_kpi_table(
    log: pd.DataFrame,
    cases: pd.DataFrame,
    online: pd.DataFrame | None = None,
    capacity: Capacity | None = None,
) -> pd.DataFrame:
    """Per replication: matters accepted (in the hall and online), same-day rate, trips
    per application (0 for online ones), back-office cases, lead times, on-time rates
    against the promised and statutory limits, warnings."""
    rows = []
    for scenario, rep, visits, accepting, applied_online, c in _replication_parts(
        log, cases, online, capacity
    ):
        in_hall = (visits.loc[accepting, "n_matters"] - visits.loc[accepting, "incomplete"]).sum()
        accepted = int(in_hall) + len(applied_online)
        rows.append(
            {
                "scenario": scenario,
                "replication": rep,
                **_application_stats(accepted, _trips(visits, applied_online), c),
                **_case_stats(c),
            }
        )
    return pd.DataFrame(rows)


def case_matter_table(
    log: pd.DataFrame,
    cases: pd.DataFrame,
    online: pd.DataFrame | None = None,
    capacity: Capacity | None = None,
) -> pd.DataFrame:
    """The whole-case KPIs per replication and matter. An application counts as accepted
    here once it was served at an acceptance window (or applied online): the log does
    not say which matter of a visit had incomplete materials, so one whose return trip
    then failed still counts (the overall table is exact)."""
    rows = []
    for scenario, rep, visits, accepting, applied_online, c in _replication_parts(
        log, cases, online, capacity
    ):
        trips = _trips(visits, applied_online)
        in_hall = explode_matters(visits[accepting]).drop_duplicates(["visitor", "matter"])
        accepted = in_hall["matter"].value_counts()
        if len(applied_online):
            accepted = accepted.add(
                applied_online["matter"].astype(str).value_counts(), fill_value=0
            )
        by_matter = dict(list(c.groupby(c["matter"].astype(str)))) if len(c) else {}
        for matter in sorted(set(trips.index.get_level_values("matter")) | set(accepted.index)):
            mc = by_matter.get(matter, c.iloc[:0])
            rows.append(
                {
                    "scenario": scenario,
                    "replication": rep,
                    "matter": matter,
                    **_application_stats(
                        int(accepted.get(matter, 0)), trips.xs(matter, level="matter"), mc
                    ),
                    **_case_stats(mc),
                }
            )
    return pd.DataFrame(rows)


def team_table(
    steps: pd.DataFrame,
    teams: dict[str, int],
    working_min_per_day: dict[str, float],
    capacity: Capacity,
    replications: list[tuple[str, int]],
) -> pd.DataFrame:
    """Per replication and team: steps begun on the measured days, their effort,
    utilization over those days (effort / staff-minutes), and the mean wait for a staff
    member (working days)."""
    days = capacity.days
    rows = []
    for scenario, rep in replications:
        s = _of(steps, scenario, rep)
        if len(s):
            s = capacity.measured(
                s.assign(day=(s["work_start_abs_min"] // MINUTES_PER_DAY).astype(int))
            )
        for team, staff in teams.items():
            t = s[s["department"] == team] if len(s) else s
            effort = float(t["effort_min"].sum()) if len(t) else 0.0
            wait = (t["work_start_abs_min"] - t["queued_abs_min"]) / MINUTES_PER_DAY
            rows.append(
                {
                    "scenario": scenario,
                    "replication": rep,
                    "team": team,
                    "staff": staff,
                    "steps": len(t),
                    "effort_hours": effort / 60,
                    "utilization": effort / (staff * working_min_per_day[team] * days),
                    "staff_wait_mean_days": float(wait.mean()) if len(t) else math.nan,
                }
            )
    return pd.DataFrame(rows)


def backlog_table(cases: pd.DataFrame) -> pd.DataFrame:
    """Per replication and working day: cases accepted, finished, and the open backlog
    (time-weighted mean over the day and at its end). Days run until the last case ends."""
    if cases.empty:
        return pd.DataFrame()
    rows = []
    for (scenario, rep), c in cases.groupby(["scenario", "replication"], observed=True):
        start = (c["accepted_day"] * MINUTES_PER_DAY + c["accepted_at"]).to_numpy()
        end = (c["finished_day"] * MINUTES_PER_DAY + c["finished_at"]).to_numpy()
        for day in range(int(c["finished_day"].max()) + 1):
            lo, hi = day * MINUTES_PER_DAY, (day + 1) * MINUTES_PER_DAY
            inside = overlap(start, end, lo, hi)
            rows.append(
                {
                    "scenario": scenario,
                    "replication": rep,
                    "day": day,
                    "accepted": int(((start >= lo) & (start < hi)).sum()),
                    "finished": int(((end >= lo) & (end < hi)).sum()),
                    "backlog_mean": inside.sum() / MINUTES_PER_DAY,
                    "backlog_at_end": int(((start < hi) & (end >= hi)).sum()),
                }
            )
    return pd.DataFrame(rows)
