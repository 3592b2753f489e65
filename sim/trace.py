"""A ticket log as a trace to run through any scenario (`hallsim replay`), and as an
event log (the observed KPIs, sim.metrics on the log itself).

A trace holds the observed visitors of each day: when they came and the matters they
brought, and optionally how long each matter took (at specialist speed: a service at a
pool that works at 0.8 of the fastest is 0.8 of it). Run through a scenario, the same
people come on the same days; what happens to them is the scenario's. A visitor's draws
are keyed by their place in the day's observed arrivals (sim.streams), which the trace
fixes, so two scenarios replayed on one trace are paired on common random numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calendar import WEEKDAYS
from sim.errors import TicketLogError
from sim.fit_demand import minute_of_day, visitor_keys
from sim.fit_windows import discover_pools, speed_factors
from sim.metrics import Capacity
from sim.overrides import with_settings
from sim.records import COLUMNS
from sim.scenario import Scenario

__all__ = [
    "Trace",
    "TraceDay",
    "observed_capacity",
    "observed_log",
    "on_dates",
    "pool_of_window",
    "trace_from_tickets",
]


@dataclass(frozen=True)
class TraceDay:
    """One day's observed visitors; rows are (visitor, slot) pairs of matters brought."""

    arrival_min: np.ndarray  # (n,) minutes since midnight, sorted
    visitor: np.ndarray  # (m,) which visitor brought the matter
    slot: np.ndarray  # (m,) its place among the visitor's matters (the order taken)
    matter: np.ndarray  # (m,) code into Trace.matters
    work_min: np.ndarray  # (m,) observed work at specialist speed; NaN: not observed
    booked: np.ndarray | None = None  # (n,) came with a booking (the log's 预约)


@dataclass(frozen=True)
class Trace:
    """Observed visitors of a period, day by day (working days in date order)."""

    dates: tuple[dt.date, ...]
    days: tuple[TraceDay, ...]
    matters: tuple[str, ...]
    weekend: tuple[str, ...]
    holidays: tuple[dt.date, ...]
    observed_work: bool = False  # replay the observed work too (else the scenario's)

    @property
    def visitors(self) -> int:
        return sum(len(d.arrival_min) for d in self.days)

    def scenario_for(self, scenario: Scenario) -> Scenario:
        """The scenario on the trace's days: its dates, weekend and holidays, no warm-up.
        Matters of the trace must be the scenario's."""
        unknown = sorted(set(self.matters) - set(scenario.matters))
        if unknown:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise TicketLogError(
                f"scenario {scenario.name}",
                "matters",
                f"{len(unknown)} matter(s) of the log are not in scenario {scenario.name}: "
                f"{shown}; a scenario fitted to this log (hallsim fit) has them all",
            )
        return on_dates(scenario, list(self.dates))

    def day_visitors(
        self, day: int, scenario: Scenario
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """(arrival_at, matters (n, k) as scenario indices with -1 beyond n_matters,
        n_matters, observed work (n, k) or None, booked (n,)) of working day `day`."""
        if day >= len(self.days):
            empty = np.zeros(0, dtype=int)
            return np.array([]), np.full((0, 1), -1), empty, None, empty.astype(bool)
        d = self.days[day]
        n = len(d.arrival_min)
        index = {name: i for i, name in enumerate(scenario.matters)}
        code = np.array([index[m] for m in self.matters], dtype=np.int64)
        k_max = int(d.slot.max()) + 1 if len(d.slot) else 1
        matters = np.full((n, k_max), -1, dtype=np.int64)
        matters[d.visitor, d.slot] = code[d.matter]
        n_matters = np.bincount(d.visitor, minlength=n).astype(np.int64)
        work = None
        if self.observed_work:
            work = np.full((n, k_max), np.nan)
            work[d.visitor, d.slot] = d.work_min
        booked = d.booked if d.booked is not None else np.zeros(n, dtype=bool)
        return d.arrival_min.copy(), matters, n_matters, work, booked


def pool_of_window(tickets: pd.DataFrame) -> dict[str, str]:
    """Each window's pool, discovered from what it served (sim.fit_windows)."""
    served = tickets[tickets["status"] == "served"]
    served = served.assign(department=_departments(served))
    return {w: p.name for p in discover_pools(served) for w in p.windows}


def _departments(tickets: pd.DataFrame) -> pd.Series:
    department = tickets["department"]
    return department.where(department.notna(), tickets["matter"]).astype(str)


def trace_from_tickets(tickets: pd.DataFrame, observed_work: bool = False) -> Trace:
    """The observed visitors of clean tickets (sim.ticketlog): a visitor is a visitor key
    on a date (every ticket, without keys), arriving at their first ticket, bringing the
    matters of their tickets in the order taken; a matter's work is its ticket's service
    (shared equally by a ticket's matters) times its pool's speed."""
    # a booking nobody came to (a booked ticket called absent) brought nobody to the hall
    tickets = tickets[~(tickets["booked"] & (tickets["status"] == "no_show"))]
    if tickets.empty:
        raise TicketLogError("<tickets>", "", "no tickets to replay")
    served = tickets["status"] == "served"
    work = pd.Series(np.nan, index=tickets.index)
    if served.any():
        speed = _speed_of_window(tickets)
        service = (tickets["finished_at"] - tickets["started_at"]).dt.total_seconds() / 60
        work = (service * tickets["window"].map(speed)).where(served)
    date = tickets["taken_at"].dt.normalize()
    key, _ = visitor_keys(tickets)
    rows = pd.DataFrame(
        {
            "date": date.to_numpy(),
            "key": key.to_numpy(),
            "taken": tickets["taken_at"].to_numpy(),
            "matter": tickets["matter"].str.split("+").to_numpy(),
            "work": work.to_numpy() / tickets["matter"].str.count(r"\+").add(1).to_numpy(),
            "booked": tickets["booked"].to_numpy(bool),
        }
    ).explode("matter")
    by_visitor = rows.groupby(["date", "key"], sort=False)
    rows["arrival"] = by_visitor["taken"].transform("min")
    rows["booked"] = by_visitor["booked"].transform("any")
    rows = rows.sort_values(["date", "arrival", "key", "taken"], kind="stable")
    rows = rows.drop_duplicates(["date", "key", "matter"])  # a matter brought twice: once
    matters = tuple(sorted(rows["matter"].unique()))
    rows["code"] = pd.Categorical(rows["matter"], categories=matters).codes
    dates = tuple(sorted(set(date.dt.date)))
    days = []
    for _, day in rows.groupby("date", sort=True):
        visitor = day.groupby(["arrival", "key"], sort=False).ngroup().to_numpy()
        first = np.flatnonzero(np.r_[True, visitor[1:] != visitor[:-1]])
        arrival = minute_of_day(day["arrival"].iloc[first])
        slot = np.arange(len(day)) - np.repeat(first, np.diff(np.r_[first, len(day)]))
        booked = day["booked"].to_numpy(bool)[first]
        days.append(
            TraceDay(
                arrival,
                visitor,
                slot,
                day["code"].to_numpy(np.int64),
                day["work"].to_numpy(float),
                booked,
            )
        )
    weekend, holidays = _closed(list(dates))
    return Trace(dates, tuple(days), matters, weekend, holidays, observed_work)


def _closed(dates: list[dt.date]) -> tuple[tuple[str, ...], tuple[dt.date, ...]]:
    """The weekend (weekdays never open) and holidays (other days missing) of dates."""
    seen = {WEEKDAYS[d.weekday()] for d in dates}
    every = pd.date_range(dates[0], dates[-1]).date
    holidays = tuple(d for d in every if WEEKDAYS[d.weekday()] in seen and d not in set(dates))
    return tuple(w for w in WEEKDAYS if w not in seen), holidays


def on_dates(scenario: Scenario, dates: list[dt.date]) -> Scenario:
    """The scenario on exactly these working days (the days of a log): its calendar
    starts on the first, closes on the weekdays never seen and on the other days
    missing, and measures them all (no warm-up)."""
    weekend, holidays = _closed(dates)
    return with_settings(
        scenario,
        {
            "calendar.start_date": dates[0].isoformat(),
            "calendar.days": len(dates),
            "calendar.warmup_days": 0,
            "calendar.weekend": list(weekend),
            "calendar.holidays": [d.isoformat() for d in holidays],
        },
    )


def _speed_of_window(tickets: pd.DataFrame) -> pd.Series:
    """Window -> the speed of its pool relative to the fastest (sim.fit_windows)."""
    served = tickets[tickets["status"] == "served"]
    pools = pool_of_window(tickets)
    served = served.assign(
        department=_departments(served),
        service_min=(served["finished_at"] - served["started_at"]).dt.total_seconds() / 60,
    )
    speeds, _, _ = speed_factors(served, pools)
    return pd.Series({w: speeds[p] for w, p in pools.items()})


def observed_log(
    tickets: pd.DataFrame, pools: dict[str, str], name: str = "observed"
) -> pd.DataFrame:
    """The ticket log as an event log (sim.records columns), so that every KPI of
    sim.metrics can be computed on what was observed: a ticket is a queue visit, an
    abandoned or absent ticket left the queue (at its logged time, else when called)."""
    dates = sorted(set(tickets["taken_at"].dt.date))
    day_of = {d: i for i, d in enumerate(dates)}
    date = tickets["taken_at"].dt.normalize()
    key, _ = visitor_keys(tickets)
    frame = pd.DataFrame({"date": date, "key": key, "taken": tickets["taken_at"]})
    visitor = frame.groupby(["date", "key"], sort=False).ngroup().to_numpy()
    midnight = date

    def at(column: pd.Series) -> np.ndarray:
        return ((column - midnight).dt.total_seconds() / 60).to_numpy()

    ticket_at = at(tickets["taken_at"])
    start = at(tickets["started_at"])
    served = (tickets["status"] == "served").to_numpy()
    # left the queue: when the log says, else when called absent, else (a give-up with
    # no time) at once: the log's queue is then a little short, never unknown
    left = np.where(
        tickets["finished_at"].notna(),
        at(tickets["finished_at"]),
        np.where(tickets["called_at"].notna(), at(tickets["called_at"]), ticket_at),
    )
    end = np.where(served, at(tickets["finished_at"]), left)
    start = np.where(served, start, np.nan)
    arrival = pd.Series(ticket_at).groupby(visitor).transform("min").to_numpy()
    order = pd.Series(ticket_at).groupby(visitor).rank(method="first").to_numpy()
    window_names = tickets["window"].astype("string")
    pool = window_names.map(pools).fillna("(not served)")
    number = {
        w: i + 1
        for p in set(pools.values())
        for i, w in enumerate(sorted(w for w, q in pools.items() if q == p))
    }
    window = window_names.map(number).astype("Int32")
    outcome = np.where(served, "served", "abandoned")
    out = pd.DataFrame(
        {
            "scenario": pd.Categorical([name] * len(tickets)),
            "replication": np.zeros(len(tickets), dtype=np.int32),
            "day": date.dt.date.map(day_of).to_numpy(np.int32),
            "date": date.to_numpy().astype("datetime64[s]"),
            "visitor": visitor.astype(np.int64),
            "visit": order.astype(np.int16),
            "matters": pd.Categorical(tickets["matter"].astype(str)),
            "n_matters": (tickets["matter"].str.count(r"\+") + 1).to_numpy(np.int16),
            "department": pd.Categorical(_departments(tickets)),
            "pool": pd.Categorical(pool),
            "stage": pd.Categorical(["acceptance"] * len(tickets)),
            "window": window.array,
            "arrival_at": arrival,
            "ticket_at": ticket_at,
            "start_at": start,
            "end_at": end,
            "wait_min": np.where(np.isnan(start), end, start) - ticket_at,
            "service_min": end - start,
            "outcome": pd.Categorical(
                outcome, categories=["served", "abandoned", "unserved_at_close"]
            ),
            "trip": np.ones(len(tickets), dtype=np.int16),
            "incomplete": np.zeros(len(tickets), dtype=np.int16),
            "booked": tickets["booked"].to_numpy(bool),
        }
    )
    assert list(out.columns) == list(COLUMNS)
    return out.sort_values(["day", "ticket_at"], kind="stable", ignore_index=True)


def observed_capacity(tickets: pd.DataFrame, pools: dict[str, str], scenario: Scenario) -> Capacity:
    """The observed hall's capacity for its KPIs: every window seen, all day, on the
    log's days, in the scenario's opening hours and lunch, with its target."""
    cal = scenario.calendar
    windows = pd.Series(pools).value_counts()
    return Capacity(
        windows={str(p): int(n) for p, n in windows.items()},
        service_intervals=tuple(cal.service_intervals()),
        closes_at=cal.closes_at,
        days=tickets["taken_at"].dt.normalize().nunique(),
        target_wait_min=scenario.target_wait_min,
    )
