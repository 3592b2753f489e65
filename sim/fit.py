"""From a hall's ticket log to a runnable scenario: `hallsim fit`.

Every number of the scenario comes from the log (sim.fit_demand: hours, days, demand,
profile; sim.fit_windows: pools, speeds, open windows; here: the matter mix, service
times, patience and bookings), each with a 95% CI and the tickets behind it in
`parameters`; what the log cannot tell is listed in the scenario's `assumptions`.
A matter with fewer than `min_tickets` tickets gets a pooled estimate, with a warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.calendar import WEEKDAYS, format_time
from sim.caselog import CaseLog
from sim.errors import TicketLogError
from sim.fit_cases import fit_cases
from sim.fit_demand import (
    Hours,
    Param,
    fit_calendar,
    fit_daily_demand,
    fit_profile,
    minute_of_day,
    share_param,
    visitors_of,
)
from sim.fit_dists import DurationFit, fit_duration
from sim.fit_windows import discover_pools, open_windows, schedule_from, speed_factors
from sim.loader import parse_scenario
from sim.scenario import Scenario
from sim.ticketlog import TicketLog, _to_the_minute, with_optional_columns

__all__ = ["FitResult", "PatienceData", "fit_tickets"]

MIN_TICKETS = 30


@dataclass(frozen=True)
class PatienceData:
    """Waits of walk-in tickets: exact (seen giving up), right-censored (served: their
    patience was longer), left-censored (called and absent: it was shorter)."""

    exact: np.ndarray
    right: np.ndarray
    left: np.ndarray
    unknown: int  # abandoned with no time: left out
    fit: DurationFit | None  # None: people gave up, but the log says not when
    abandoners_only: DurationFit | None  # the biased fit, for the report


@dataclass(frozen=True)
class FitResult:
    scenario: Scenario
    data: dict  # the scenario as written (YAML mapping)
    parameters: pd.DataFrame  # parameter, value, ci_low, ci_high, n, unit, note
    warnings: tuple[str, ...]
    hours: Hours
    daily: pd.DataFrame  # date, weekday, visitors, expected, after_holiday
    arrivals: pd.DataFrame  # date, weekday, arrival_min of every visitor
    services: dict[str, tuple[np.ndarray, DurationFit, list[DurationFit]]]
    patience: PatienceData | None
    open_windows: dict[str, pd.DataFrame]  # pool -> date x half hour
    source: dict = field(default_factory=dict)
    # from a case log: matter -> (working days to completion, NaN if open; working days
    # from acceptance to the log's end; the fit of those not instant)
    leads: dict[str, tuple[np.ndarray, np.ndarray, DurationFit]] = field(default_factory=dict)


def _service_min(tickets: pd.DataFrame) -> pd.Series:
    return (tickets["finished_at"] - tickets["started_at"]).dt.total_seconds() / 60


def fit_tickets(
    log: TicketLog | pd.DataFrame,
    name: str = "fitted",
    criterion: str = "aic",
    min_tickets: int = MIN_TICKETS,
    target_wait_min: float = 20.0,
    days: int | None = None,
    seed: int = 0,
    cases: CaseLog | pd.DataFrame | None = None,
    opening: tuple[int, int] | None = None,
) -> FitResult:
    """Fit a scenario to clean tickets (sim.ticketlog columns) or a read TicketLog, and
    its back office to a case log (sim.caselog), if given. `opening` (opening, closing
    in minutes of the day): the hall's hours, when known (else read from the log)."""
    tickets = log.tickets if isinstance(log, TicketLog) else with_optional_columns(log)
    source = log.source if isinstance(log, TicketLog) else {}
    where = source.get("file", "<tickets>")
    served = tickets[tickets["status"] == "served"].copy()
    if served.empty:
        raise TicketLogError(where, "status", "no served ticket: nothing to fit")
    n_dates = tickets["taken_at"].dt.normalize().nunique()
    if n_dates < 2:
        raise TicketLogError(
            where, "taken_at", "a single day: fitting needs at least two days of tickets"
        )
    params: list[Param] = []
    warnings: list[str] = []
    assumptions: list[str] = []
    visitors = visitors_of(tickets)
    hours = fit_calendar(tickets, visitors.frame["arrival_min"].to_numpy(), opening)
    taken = minute_of_day(tickets["taken_at"])
    stray = (taken < hours.opens_at) | (taken >= hours.closes_at)
    if opening is None and stray.any():
        warnings.append(
            f"{int(stray.sum())} tickets taken outside the hours the log shows "
            f"({format_time(hours.opens_at)}-{format_time(hours.closes_at)}) are left "
            "out; give the hall's hours (--hours) to count them as faulty rows instead"
        )
        tickets = tickets[~stray].reset_index(drop=True)
        served = tickets[tickets["status"] == "served"].copy()
        visitors = visitors_of(tickets)
    department_of = _departments(tickets)
    if tickets["department"].isna().all():
        assumptions.append("The log names no departments: each matter is its own department.")

    if not visitors.linked:
        assumptions.append(
            "The log does not link a visitor's tickets (no visitor key): every ticket is a "
            "visitor of its own, with the matters on it."
        )
    demand, demand_params, daily = fit_daily_demand(visitors.frame, hours, seed)
    params += demand_params
    weekday = visitors.frame["date"].dt.day_of_week.map(dict(enumerate(WEEKDAYS))).to_numpy()
    profile, _segment_min, profile_params, by_weekday = fit_profile(
        visitors.frame["arrival_min"].to_numpy(), hours, weekday
    )
    params += profile_params
    demand["arrival_profile"] = profile
    if by_weekday:
        demand["weekday_profiles"] = by_weekday
    demand["matters_per_visitor"] = _pmf(visitors.frame["n_matters"])
    if len(hours.dates) < 10:
        assumptions.append(
            "Under 10 days in the log: how much days vary beyond Poisson is not "
            "estimated (day_cv 0)."
        )

    served["service_min"] = _service_min(served)
    labels = served["matter"].unique()
    served["department"] = served["matter"].map(
        {m: "+".join(department_of.get(x, x) for x in m.split("+")) for m in labels}
    )
    pools = discover_pools(served)
    pool_of_window = {w: p.name for p in pools for w in p.windows}
    speeds, speed_params, unidentified = speed_factors(served, pool_of_window)
    params += speed_params
    if unidentified:
        assumptions.append(
            f"Pools that share no matter with the busiest pool ({', '.join(unidentified[:5])}"
            f"{' ...' if len(unidentified) > 5 else ''}) work at speed 1: their speed cannot "
            "be told apart from their matters' service times."
        )
    served["pool"] = served["window"].map(pool_of_window)
    served["work_min"] = served["service_min"] * served["pool"].map(speeds)
    # a speed's uncertainty carries into the service times scaled by it (log scale)
    speed_se = {pool: 0.0 for pool in speeds}
    for p in speed_params:
        pool = p.name.removeprefix("windows.").removesuffix(".speed_factor")
        if p.name.endswith(".speed_factor") and p.ci_low > 0:
            speed_se[pool] = math.log(p.ci_high / p.ci_low) / (2 * 1.96)
    served["speed_se"] = served["pool"].map(speed_se)

    to_the_minute = _to_the_minute(served["started_at"], served["finished_at"])
    if to_the_minute:
        assumptions.append(
            "The log keeps times to the minute: a service of d minutes took between d - 1 "
            "and d + 1, and is fitted as such (interval-censored; no KS test then)."
        )
    matters, service_params, services, thin = _matters(
        tickets,
        served,
        visitors.matter_counts,
        department_of,
        criterion,
        min_tickets,
        to_the_minute,
    )
    params += service_params
    if thin:
        warnings.append(
            f"{len(thin)} matter(s) have fewer than {min_tickets} single-matter served "
            f"tickets; their service time is a pooled estimate: {', '.join(thin[:10])}"
            + (" ..." if len(thin) > 10 else "")
        )
    windows, open_tables = {}, {}
    for pool in pools:
        table = open_windows(served, pool.windows, hours)
        open_tables[pool.name] = table
        spec: dict = {"count": len(pool.windows)}
        spec["serves"] = "all" if pool.serves_all else {"departments": list(pool.departments)}
        if abs(speeds[pool.name] - 1) > 1e-3:
            spec["speed_factor"] = round(speeds[pool.name], 4)
        schedule = schedule_from(table, len(pool.windows), hours)
        if schedule is not None:
            spec["schedule"] = schedule
        windows[pool.name] = spec
        params.append(
            Param(
                f"windows.{pool.name}.count",
                len(pool.windows),
                math.nan,
                math.nan,
                int(served["window"].isin(pool.windows).sum()),
                "windows",
                f"windows seen serving {', '.join(pool.departments[:5])}",
            )
        )
    assumptions.append(
        "Windows open by time of day are those seen at work (first call to last finish, "
        "less gaps of 45 min or more): a window staffed but idle is not seen. Windows in "
        "a pool share one queue (shared_queue dispatch)."
    )

    patience = _patience(tickets, criterion)
    if patience is not None and patience.fit is None:
        warnings.append(
            f"{patience.unknown} tickets gave up, but the log does not say when (nor were "
            "any called absent): patience cannot be fitted, and the scenario has none, "
            "so it overstates waits and shows nobody giving up"
        )
        assumptions.append(
            f"Patience not fitted: {patience.unknown} give-up tickets without a time; "
            "visitors in the scenario wait as long as it takes."
        )
        patience = None
    elif patience is not None:
        params += _duration_params("patience_min", patience.fit)
        if patience.unknown:
            assumptions.append(
                f"{patience.unknown} abandoned tickets have no time of giving up and are "
                "left out of the patience fit."
            )
    else:
        assumptions.append(
            "Nobody gave up or was called absent: visitors wait as long as it takes."
        )

    appointments = None
    if tickets["booked"].any():
        booked = tickets[tickets["booked"]]
        no_show = float((booked["status"] == "no_show").mean())
        appointments = {"slot_min": 30, "no_show_share": round(no_show, 4)}
        params.append(
            share_param(
                "appointments.no_show_share",
                no_show,
                len(booked),
                len(booked),
                "",
                "booked tickets called absent",
            )
        )
        by_matter = booked["matter"].str.split("+").explode().value_counts()
        for matter, spec in matters.items():
            share = by_matter.get(matter, 0) / max(visitors.matter_counts.get(matter, 1), 1)
            if share > 0:
                spec["booked_share"] = round(min(float(share), 1.0), 4)
        assumptions.append(
            "Bookings: 30-minute slots, visitors punctual (the log does not show slots "
            "or how early booked visitors came)."
        )

    faulty = log.faulty_rows if isinstance(log, TicketLog) else 0
    sources = [_source_line(source, tickets, hours, faulty)]
    backoffice, leads = None, {}
    if cases is not None:
        case_frame = cases.cases if isinstance(cases, CaseLog) else cases
        case_fit = fit_cases(case_frame, hours, department_of, set(matters), criterion)
        params += case_fit.params
        warnings += case_fit.warnings
        assumptions += case_fit.assumptions
        for matter, fields in case_fit.matters.items():
            matters[matter].update(fields)
        if case_fit.teams:
            backoffice = {"teams": case_fit.teams}
        leads = case_fit.leads
        sources.append(_case_source_line(cases, case_frame))

    n_days = len(hours.dates)
    sim_days = days or min(n_days, 20)
    calendar: dict = {
        "opens_at": format_time(hours.opens_at),
        "closes_at": format_time(hours.closes_at),
        "ticket_cutoff_at": format_time(hours.cutoff_at),
    }
    if hours.lunch is not None:
        calendar["lunch"] = {
            "starts_at": format_time(hours.lunch[0]),
            "ends_at": format_time(hours.lunch[1]),
            "at_start": "serve_ticket_holders" if hours.lunch_serves_holders else "pause",
        }
    calendar |= {
        "days": sim_days,
        "start_date": hours.dates[0].isoformat(),
        "weekend": list(hours.weekend),
        "holidays": [d.isoformat() for d in hours.holidays],
    }
    closing = (
        f"Opening hours {calendar['opens_at']}-{calendar['closes_at']} as given (--hours)."
        if opening is not None
        else f"Closing at {calendar['closes_at']} is when windows usually made their last "
        "call (a log does not show windows open and idle at the end of the day: give the "
        "hall's hours with --hours, or utilization reads high)."
    )
    assumptions.append(
        f"Simulates {sim_days} working days from the log's first date; the log holds "
        f"{n_days}. {closing} Everyone holding a ticket at closing is served."
    )
    assumptions.append(
        f"Target wait {target_wait_min:g} min: not in the log, set by `--target-wait`."
    )
    data: dict = {
        "name": name,
        "description": f"Fitted by hallsim fit from {source.get('file', 'a ticket log')}.",
        "sources": sources,
        "assumptions": assumptions,
        "calendar": calendar,
        "demand": demand,
        "matters": matters,
        "windows": windows,
    }
    if patience is not None:
        data["patience_min"] = patience.fit.spec()
    data["target_wait_min"] = target_wait_min
    if appointments is not None:
        data["appointments"] = appointments
    if backoffice is not None:
        data["backoffice"] = backoffice
    scenario = parse_scenario(data, f"{name} (fitted)")
    arrivals = visitors.frame[["date", "arrival_min"]].assign(weekday=weekday)
    table = pd.DataFrame([p.__dict__ for p in params]).rename(columns={"name": "parameter"})
    return FitResult(
        scenario,
        data,
        table,
        tuple(warnings),
        hours,
        daily,
        arrivals,
        services,
        patience,
        open_tables,
        source,
        leads,
    )


def _source_line(source: dict, tickets: pd.DataFrame, hours: Hours, faulty: int) -> str:
    """The log behind a fit: file, SHA-256, dates, tickets used, rows left out and why."""
    rows = source.get("rows", len(tickets) + faulty)
    file = source.get("file", "tickets given as a table")
    sha = f", SHA-256 {source['sha256']}" if "sha256" in source else ""
    other = rows - faulty - len(tickets)
    unused = f", {other} outside the period or the hours fitted" if other > 0 else ""
    return (
        f"Ticket log {file}{sha}: {hours.dates[0]} to {hours.dates[-1]}, {len(tickets)} "
        f"tickets used of {rows} rows ({faulty} faulty rows left out{unused})."
    )


def _case_source_line(cases: CaseLog | pd.DataFrame, frame: pd.DataFrame) -> str:
    source = cases.source if isinstance(cases, CaseLog) else {}
    rows = source.get("rows", len(frame))
    sha = f", SHA-256 {source['sha256']}" if "sha256" in source else ""
    first, last = frame["accepted_at"].min().date(), frame["accepted_at"].max().date()
    return (
        f"Case log {source.get('file', 'given as a table')}{sha}: accepted {first} to "
        f"{last}, {len(frame)} clean cases of {rows} rows ({rows - len(frame)} faulty rows "
        "left out)."
    )


def _departments(tickets: pd.DataFrame) -> dict[str, str]:
    """Matter -> its department: the most frequent on its tickets (split '+' pairwise);
    the matter itself where the log names none."""
    labels = tickets.groupby(["matter", "department"], dropna=True).size()
    if labels.empty:
        return {}
    pairs = pd.DataFrame({
        "matter": labels.index.get_level_values(0).str.split("+"),
        "department": labels.index.get_level_values(1).str.split("+"),
        "tickets": labels.to_numpy(),
    })  # fmt: skip
    same = pairs["matter"].str.len() == pairs["department"].str.len()
    pairs = pairs[same].explode(["matter", "department"])
    counts = pairs.groupby(["matter", "department"])["tickets"].sum().reset_index()
    top = counts.sort_values("tickets", ascending=False).drop_duplicates("matter")
    return dict(zip(top["matter"], top["department"], strict=True))


def _pmf(counts: pd.Series) -> dict[int, float]:
    """Matters per visitor as a pmf summing to 1 at 6 decimals."""
    shares = counts.value_counts(normalize=True).sort_index()
    pmf = {int(k): round(float(v), 6) for k, v in shares.items()}
    top = max(pmf, key=pmf.get)
    pmf[top] = round(pmf[top] + 1 - sum(pmf.values()), 6)
    return pmf


def _duration_params(path: str, fit: DurationFit, note: str = "") -> list[Param]:
    extra = f"{fit.family} by {'censored ' if fit.n_right or fit.n_left else ''}MLE"
    if math.isfinite(fit.ks_d):
        extra += f"; KS D {fit.ks_d:.3f} (p {fit.ks_p:.2g})"
    note = f"{note}; {extra}" if note else extra
    out = [Param(f"{path}.mean", fit.mean, *fit.mean_ci, fit.n, "min", note)]
    if fit.family != "exponential":
        out.append(Param(f"{path}.cv", fit.cv, *fit.cv_ci, fit.n, "", note))
    return out


def _matters(
    tickets: pd.DataFrame,
    served: pd.DataFrame,
    matter_counts: pd.Series,
    department_of: dict[str, str],
    criterion: str,
    min_tickets: int,
    to_the_minute: bool = False,
) -> tuple[dict, list[Param], dict, list[str]]:
    """Each matter's department, share and service time (pooled where data are thin)."""
    total = matter_counts.sum()
    single = served[~served["matter"].str.contains("+", regex=False)]
    by_matter = {m: g["work_min"].to_numpy() for m, g in single.groupby("matter")}
    names = sorted(matter_counts.index, key=lambda m: (-matter_counts[m], m))
    thin = [m for m in names if len(by_matter.get(m, ())) < min_tickets]
    params: list[Param] = []
    services: dict = {}
    pooled = None
    if thin:
        values = np.concatenate([by_matter.get(m, np.array([])) for m in thin])
        if len(values) < min_tickets:
            values = single["work_min"].to_numpy()
        pooled = (values, *_fit_service(values, criterion, to_the_minute))
    matters: dict = {}
    shares = {m: round(float(matter_counts[m] / total), 6) for m in names}
    top = names[0]
    shares[top] = round(shares[top] + 1 - sum(shares.values()), 6)
    for m in names:
        params.append(
            share_param(
                f"matters.{m}.share",
                matter_counts[m] / total,
                total,
                int(matter_counts[m]),
                "of matters brought",
            )
        )
        if m in thin:
            values, chosen, fits = pooled
            note = f"pooled: only {len(by_matter.get(m, ()))} tickets of its own"
        else:
            values = by_matter[m]
            chosen, fits = _fit_service(values, criterion, to_the_minute)
            note = ""
        se = float(single.loc[single["matter"] == m, "speed_se"].mean()) if m not in thin else 0.0
        if se > 0:
            chosen = chosen.widened(se)
            note = (note + "; " if note else "") + "CI includes the pool speed's uncertainty"
        services[m] = (values, chosen, fits)
        params += _duration_params(f"matters.{m}.service_min", chosen, note)
        matters[m] = {
            "department": department_of.get(m, m),
            "share": shares[m],
            "service_min": chosen.spec(),
        }
    return matters, params, services, thin


def _fit_service(
    values: np.ndarray, criterion: str, to_the_minute: bool
) -> tuple[DurationFit, list[DurationFit]]:
    """Service times, exact; or, in a log kept to the minute, each within a minute."""
    if not to_the_minute:
        return fit_duration(values, criterion=criterion)
    interval = (np.maximum(values - 1, 0), values + 1)
    return fit_duration(np.array([]), criterion=criterion, interval=interval)


def _patience(tickets: pd.DataFrame, criterion: str) -> PatienceData | None:
    """Censored patience of walk-in tickets, or None if nobody gave up."""
    walk_in = tickets[~tickets["booked"]]
    taken = walk_in["taken_at"]

    def minutes(later: pd.Series) -> np.ndarray:
        return ((later - taken).dt.total_seconds() / 60).dropna().to_numpy()

    status = walk_in["status"]
    abandoned = status == "abandoned"
    exact = minutes(walk_in["finished_at"].where(abandoned))
    unknown = int(abandoned.sum()) - len(exact)
    right = minutes(walk_in["called_at"].where(status == "served"))
    left = minutes(walk_in["called_at"].where(status == "no_show"))
    if len(exact) + len(left) == 0:
        return None if unknown == 0 else PatienceData(exact, right, left, unknown, None, None)
    if len(exact) + len(right) == 0:  # nobody waited and was served: nothing to place it
        return PatienceData(exact, right, left, unknown + len(left), None, None)
    fit, _ = fit_duration(exact, right, left, criterion=criterion)
    naive = fit_duration(exact, criterion=criterion)[0] if len(exact) >= 2 else None
    return PatienceData(exact, right, left, unknown, fit, naive)
