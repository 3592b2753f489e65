"""A scenario against a hall's own ticket log.

`replay`: the observed visitors (their days, times and matters, optionally their
observed service) run through any scenarios' windows, paired on common random numbers,
beside the KPIs of the log itself: "last March with 91 comprehensive windows".

`backtest`: the scenario simulates the observed period (its dates and weekdays) and
is set against the log hour by hour: mean and 90th-percentile waits, people waiting,
windows busy and the share giving up, each with the simulation's 90% band across
replications. A KPI is reproduced unless the log lies farther from the simulated
hours than the model's own replications come (a Monte Carlo test that respects how the
hours of one period move together, each KPI at 1% so that a correct model fails on
some KPI 5% of the time); otherwise the verdict says where the log
leaves the band, and which way, instead of passing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.calendar import format_time
from sim.compare import Comparison, compare
from sim.errors import TicketLogError
from sim.executors import Executor
from sim.experiment import RunResult, analyse, run
from sim.metrics import SHOWN_KPIS, Capacity, hourly_table, summarize
from sim.scenario import Scenario
from sim.streams import DEFAULT_SEED
from sim.ticketlog import TicketLog, with_optional_columns
from sim.trace import (
    Trace,
    observed_capacity,
    observed_log,
    on_dates,
    pool_of_window,
    trace_from_tickets,
)

__all__ = [
    "BACKTEST_KPIS",
    "Backtest",
    "ReplayResult",
    "backtest",
    "observed_result",
    "replay",
    "replay_by_hour",
    "replay_summary",
]

# KPI -> (what it is, unit) compared hour by hour; all hall-wide, by hour of the ticket
BACKTEST_KPIS = {
    "wait_mean_min": ("mean wait", "min"),
    "wait_p90_min": ("90th percentile wait", "min"),
    "queue_length_mean": ("people waiting", "people"),
    "busy_windows_mean": ("windows busy", "windows"),
    "abandoned_share": ("share giving up or absent", "share"),
}
VERDICTS = REPRODUCED, NOT_REPRODUCED, UNDECIDED = ("reproduced", "not reproduced", "undecided")
# differences below these are below what a log can tell (times to the second or minute,
# a handful of tickets): the floor of a KPI's spread across replications in the test
_RESOLUTION = {
    "wait_mean_min": 0.5,
    "wait_p90_min": 1.0,
    "queue_length_mean": 0.25,
    "busy_windows_mean": 0.25,
    "abandoned_share": 0.02,
}
MIN_TICKETS_PER_HOUR = 1.0  # a day on average: fewer, and the hour is shown, not tested
BAND = (0.05, 0.95)  # the simulation's 90% band
# the backtest fails a correct model 5% of the time: each KPI is tested at 5% / 5
ALPHA = 0.05 / len(BACKTEST_KPIS)


def observed_result(tickets: pd.DataFrame, scenario: Scenario) -> RunResult:
    """The KPIs of a log itself (sim.metrics on it), for the hall the log shows: its
    pools discovered, every window seen open all day, in the scenario's opening hours
    (so overtime and utilization count the same hours) and with its target."""
    pools = pool_of_window(tickets)
    # a booking nobody came to is not a visit (the model does not log one either)
    tickets = tickets[~(tickets["booked"] & (tickets["status"] == "no_show"))]
    log = observed_log(tickets, pools)
    capacity = observed_capacity(tickets, pools, scenario)
    return analyse(scenario, log, 0, 1, capacity)


@dataclass(frozen=True)
class ReplayResult:
    trace: Trace
    observed: RunResult  # the log's own KPIs
    results: list[RunResult]  # each scenario replayed
    comparison: Comparison | None  # paired on the trace, against the first scenario


def replay(
    tickets: pd.DataFrame | TicketLog,
    scenarios: list[Scenario],
    reps: int = 10,
    seed: int = DEFAULT_SEED,
    executor: Executor | None = None,
    observed_work: bool = False,
    progress: bool = False,
) -> ReplayResult:
    """Run the log's visitors through each scenario (sim.trace)."""
    tickets = tickets.tickets if isinstance(tickets, TicketLog) else with_optional_columns(tickets)
    trace = trace_from_tickets(tickets, observed_work)
    on_trace = [trace.scenario_for(s) for s in scenarios]
    observed = observed_result(tickets, on_trace[0])
    if len(on_trace) > 1:
        comparison = compare(on_trace, reps, seed, executor, progress, trace=trace)
        return ReplayResult(trace, observed, comparison.results, comparison)
    result = run(on_trace[0], reps, seed, executor, progress=progress, trace=trace)
    return ReplayResult(trace, observed, [result], None)


def replay_summary(result: ReplayResult) -> pd.DataFrame:
    """The shown KPIs of the log and of each scenario replayed (mean and 95% CI)."""
    rows = [result.observed.summary.assign(scenario="observed")]
    rows += [r.summary for r in result.results]
    table = pd.concat(rows, ignore_index=True)
    shown = [*SHOWN_KPIS, "staff_hours"]  # a reform may staff more: say so beside its waits
    return table[table["kpi"].isin(shown)].reset_index(drop=True)


def replay_by_hour(result: ReplayResult, kpi: str = "wait_mean_min") -> pd.DataFrame:
    """A hall-wide KPI by hour of the ticket: the log, and each scenario replayed."""
    frames = []
    for name, run_result in [("observed", result.observed)] + [
        (r.scenario.name, r) for r in result.results
    ]:
        hourly = _hourly(run_result, run_result.capacity)[["replication", "hour", kpi]]
        summary = summarize(hourly.assign(scenario=name), ["hour"])
        frames.append(summary[summary["kpi"] == kpi])
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class Backtest:
    scenario: Scenario  # on the tested days
    tested: tuple[dt.date, dt.date]
    hours: pd.DataFrame  # hour, kpi, observed, simulated, band_low, band_high, inside
    verdicts: pd.DataFrame  # kpi, hours, inside_share, mae, observed, simulated, verdict
    observed: RunResult
    simulated: RunResult
    warnings: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """No KPI is not reproduced (an undecided one neither passes nor fails)."""
        return not (self.verdicts["verdict"] == NOT_REPRODUCED).any()

    @property
    def decided(self) -> bool:
        return not (self.verdicts["verdict"] == UNDECIDED).any()


def _hourly(result: RunResult, capacity: Capacity) -> pd.DataFrame:
    """Hall-wide KPIs by replication and hour of ticket, with the share giving up."""
    log = result.log
    if log.empty:
        return pd.DataFrame()
    hall = hourly_table(log.assign(pool="hall"), capacity).drop(columns="pool")
    measured = capacity.measured(log)
    gone = measured.assign(
        hour=(measured["ticket_at"] // 60).astype(int),
        gone=(measured["outcome"] != "served").astype(float),
    )
    share = gone.groupby(["replication", "hour"])["gone"].mean().rename("abandoned_share")
    return hall.merge(share.reset_index(), on=["replication", "hour"], how="left")


def _fitted_until(scenario: Scenario) -> dt.date | None:
    """The last date of the log a fitted scenario came from (its `sources`)."""
    for line in scenario.sources:
        found = re.search(r"^Ticket log .*: (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)", line)
        if found:
            return dt.date.fromisoformat(found.group(2))
    return None


def backtest(
    tickets: pd.DataFrame | TicketLog,
    scenario: Scenario,
    reps: int = 20,
    seed: int = DEFAULT_SEED,
    executor: Executor | None = None,
    holdout: dt.date | str | None = None,
    progress: bool = False,
) -> Backtest:
    """Simulate the log's days (from `holdout` on, if given) and set the log against
    the simulation hour by hour (a verdict needs at least 5 replications)."""
    warnings = []
    tickets = tickets.tickets if isinstance(tickets, TicketLog) else with_optional_columns(tickets)
    if isinstance(holdout, str):
        holdout = dt.date.fromisoformat(holdout)
    if holdout is not None:
        last = tickets["taken_at"].max().date()
        tickets = tickets[tickets["taken_at"].dt.date >= holdout]
        if tickets.empty:
            raise TicketLogError(
                "<log>",
                "taken_at",
                f"no ticket from the holdout date {holdout} on: the log ends on {last}",
            )
        until = _fitted_until(scenario)
        if until is not None and until >= holdout:
            warnings.append(
                f"{scenario.name} was fitted on the log up to {until}, on or after the "
                f"holdout date {holdout}: the test days are not unseen (hallsim fit --until)"
            )
    if tickets.empty or not (tickets["status"] == "served").any():
        raise TicketLogError("<log>", "taken_at", "no served ticket in the tested period")
    dates = sorted(set(tickets["taken_at"].dt.date))
    period = on_dates(scenario, dates)
    simulated = run(period, reps, seed, executor, progress=progress)
    observed = observed_result(tickets, period)
    sim_hours = _hourly(simulated, simulated.capacity)
    obs_hours = _hourly(observed, observed.capacity)
    rows, verdicts = [], []
    for kpi in BACKTEST_KPIS:
        table, verdict = _compare_hours(kpi, sim_hours, obs_hours)
        rows.append(table)
        verdicts.append(verdict)
    hours = pd.concat(rows, ignore_index=True)
    verdicts = pd.DataFrame(verdicts)
    tested = (dates[0], dates[-1])
    return Backtest(period, tested, hours, verdicts, observed, simulated, tuple(warnings))


def _compare_hours(
    kpi: str, sim_hours: pd.DataFrame, obs_hours: pd.DataFrame
) -> tuple[pd.DataFrame, dict]:
    """The log against the simulation's replications, hour by hour, for one KPI.

    The band and the share of hours inside it describe; the verdict tests. Hours of one
    period move together (a busy month is busy at every hour), so hours outside the band
    are not independent misses. The test asks instead whether the log is as close to the
    simulated mean as the model's own replications are: two distances, the mean over
    hours of |value - mean| / sd (a shift at every hour) and the largest (one hour
    off, e.g. a break the model lacks), for each replication against the others and
    for the log against all; p is how often a replication is as far (a lognormal fitted
    to the replications' distances), Bonferroni-adjusted for the two."""
    wide = sim_hours.pivot(index="replication", columns="hour", values=kpi)
    seen = obs_hours.set_index("hour")[kpi]
    busy = obs_hours.set_index("hour")["tickets"] >= MIN_TICKETS_PER_HOUR
    hours = [
        h for h in wide.columns if h in seen.index and np.isfinite(seen[h]) and busy.get(h, False)
    ]
    wide = wide[hours].dropna(axis=1)
    hours = list(wide.columns)
    x, observed = wide.to_numpy(), seen[hours].to_numpy(float)
    n = len(x)
    table = pd.DataFrame({
        "kpi": kpi, "hour": hours, "observed": observed, "simulated": x.mean(axis=0),
        "band_low": np.quantile(x, BAND[0], axis=0), "band_high": np.quantile(x, BAND[1], axis=0),
    })  # fmt: skip
    table["inside"] = (table["observed"] >= table["band_low"] - 1e-9) & (
        table["observed"] <= table["band_high"] + 1e-9
    )

    def distances(values: np.ndarray, others: np.ndarray) -> np.ndarray:
        """(mean, max) over hours of |value - mean| / sd."""
        mean, sd = others.mean(axis=0), others.std(axis=0, ddof=1)
        z = np.abs(values - mean) / np.maximum(sd, _RESOLUTION[kpi])
        return np.array([z.mean(), z.max()])

    p = float("nan")
    if n >= 5 and hours:
        own = np.array([distances(x[r], np.delete(x, r, axis=0)) for r in range(n)])
        p = min(1.0, 2 * min(_tail(own[:, i], d) for i, d in enumerate(distances(observed, x))))
    return table, _verdict(kpi, table, p, n)


def _tail(own: np.ndarray, observed: float) -> float:
    """P(a replication's distance >= the log's): from a lognormal fitted to the
    replications' own distances, so that p can go below 1 / (replications + 1)."""
    logs = np.log(np.maximum(own, 1e-12))
    sd = max(float(logs.std(ddof=1)), 1e-6)
    return float(stats.norm.sf((np.log(max(observed, 1e-12)) - logs.mean()) / sd))


def _verdict(kpi: str, hours: pd.DataFrame, p: float, reps: int) -> dict:
    above = hours[~hours["inside"] & (hours["observed"] > hours["band_high"])]["hour"]
    below = hours[~hours["inside"] & (hours["observed"] < hours["band_low"])]["hour"]
    reproduced = bool(p >= ALPHA)  # NaN (too few replications or hours): undecided
    what, unit = BACKTEST_KPIS[kpi]
    says = f"in the band in {int(hours['inside'].sum())} of {len(hours)} hours"
    if len(above):
        says += f"; the log is above it at {_hours(above)}"
    if len(below):
        says += f"; below it at {_hours(below)}"
    if p != p:
        says += ": undecided, a verdict needs at least 5 replications"
    elif not reproduced:
        says += (
            f": the log is farther from the model than its own replications come (p = "
            f"{p:.2g}, {reps} replications): the model does not reproduce the hall's {what}"
        )
    return {
        "kpi": kpi,
        "what": what,
        "unit": unit,
        "hours": len(hours),
        "inside_share": float(hours["inside"].mean()) if len(hours) else float("nan"),
        "mae": float(np.abs(hours["observed"] - hours["simulated"]).mean()),
        "observed": float(hours["observed"].mean()),
        "simulated": float(hours["simulated"].mean()),
        "p_value": p,
        "verdict": REPRODUCED if reproduced else NOT_REPRODUCED if p == p else UNDECIDED,
        "says": says,
    }


def _hours(hours: pd.Series) -> str:
    return ", ".join(format_time(60 * h) for h in sorted(hours))
