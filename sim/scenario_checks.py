"""Checks of a scenario across its fields: what no single field can check alone.

Shares sum to 1, names refer to what exists, every stage a matter passes has a pool,
schedules fit the opening hours, and every duration and size is bounded, so that a
unit mistake (hours for minutes) or an absurd size is refused with a clear message
instead of running for centuries or exhausting memory. Each check raises ValueError
whose text starts with the field path; the loader names the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from sim.backoffice import working_intervals
from sim.calendar import WEEKDAYS, format_time
from sim.routing import pools_serving

if TYPE_CHECKING:
    from sim.dists import Distribution
    from sim.scenario import Scenario

__all__ = ["MAX_VISITORS_PER_REPLICATION", "TAIL_FACTOR", "check_scenario"]

_SHARE_TOLERANCE = 1e-6
# a duration's one-in-a-million draw may be this many times its largest sensible mean
TAIL_FACTOR = 10
# visitors one replication may draw (a log row is about 100 bytes, several per visitor)
MAX_VISITORS_PER_REPLICATION = 2e7


def check_scenario(scenario: Scenario) -> None:
    """Everything a field cannot check alone; raises ValueError("field.path: why")."""
    demand, cal = scenario.demand, scenario.calendar
    working = [d for d in WEEKDAYS if d not in cal.weekend]
    factors = [demand.weekday_factors.get(d, 1.0) for d in working]
    if max(factors) == 0:
        raise ValueError(
            "demand.weekday_factors: 0 on every working weekday: nobody would ever come"
        )
    busiest = demand.visitors_per_day * max(factors) * max(1.0, demand.after_holiday_factor)
    visitors = busiest * cal.horizon_days
    if visitors > MAX_VISITORS_PER_REPLICATION:
        raise ValueError(
            f"demand.visitors_per_day: up to {busiest:g} a day over {cal.horizon_days} "
            f"days (warm-up included) is up to {visitors:.3g} visitors per replication, "
            f"above the {MAX_VISITORS_PER_REPLICATION:.0e} one replication can hold in "
            "memory; simulate fewer days and more replications"
        )
    for field, dist, bound, unit in _durations(scenario):
        if dist.mean > bound:
            raise ValueError(
                f"{field}: a mean of {dist.mean:.4g} {unit} is above {bound:g} {unit}; "
                "check the unit (minutes, hours, working days)"
            )
        tail = float(dist.quantile(np.array(1 - 1e-6)))
        if tail > TAIL_FACTOR * bound:
            raise ValueError(
                f"{field}: one draw in a million exceeds {tail:.4g} {unit}, above "
                f"{TAIL_FACTOR * bound:g} {unit}; the tail is too heavy (a smaller cv, "
                "or drop the outlier)"
            )
    total = sum(matter.share for matter in scenario.matters.values())
    if abs(total - 1) > _SHARE_TOLERANCE:
        raise ValueError(f"matters.*.share: shares sum to {total:.6g}, must sum to 1")
    drawn = sum(matter.share > 0 for matter in scenario.matters.values())
    if max(scenario.demand.matters_per_visitor) > drawn:
        raise ValueError(
            "demand.matters_per_visitor: a visitor cannot bring more distinct matters "
            f"than the {drawn} with a share above 0"
        )
    departments = scenario.departments
    for name, members in scenario.categories.items():
        unknown = sorted(set(members) - departments)
        if unknown:
            raise ValueError(f"categories.{name}: unknown department(s) {unknown}")
    for name, pool in scenario.windows.items():
        if pool.serves == "all":
            continue
        for field, known in (
            ("departments", departments),
            ("matters", set(scenario.matters)),
            ("categories", set(scenario.categories)),
        ):
            unknown = sorted(set(getattr(pool.serves, field)) - known)
            if unknown:
                raise ValueError(f"windows.{name}.serves.{field}: unknown {unknown}")
    for name, pool in scenario.windows.items():
        if pool.schedule is None:
            continue
        segments = pool.segments(scenario.calendar.opens_at)
        if max(n for _, n in segments) < 1:
            raise ValueError(f"windows.{name}.schedule: no segment opens a window")
        if segments[0][0] != scenario.calendar.opens_at:
            raise ValueError(
                f"windows.{name}.schedule: the first segment must start at opening "
                f"({format_time(scenario.calendar.opens_at)})"
            )
        for start, n in segments:
            if start >= scenario.calendar.closes_at:
                raise ValueError(
                    f"windows.{name}.schedule.{format_time(start)}: after closing time"
                )
            if not 0 <= n <= pool.count:
                raise ValueError(
                    f"windows.{name}.schedule.{format_time(start)}: {n} windows open, "
                    f"must be between 0 and count ({pool.count})"
                )
    for matter_id, matter in scenario.matters.items():
        if matter.approval is None:
            continue
        if scenario.backoffice is None:
            raise ValueError(f"matters.{matter_id}.approval: needs a backoffice section")
        for k, step in enumerate(matter.approval.steps):
            if step.department not in scenario.backoffice.teams:
                raise ValueError(
                    f"matters.{matter_id}.approval.steps.{k}.department: "
                    f"{step.department!r} has no team in backoffice.teams "
                    f"({sorted(scenario.backoffice.teams)})"
                )
        if matter.approval.route == "joint":
            teams = [step.department for step in matter.approval.steps]
            if not working_intervals(scenario, *teams):
                raise ValueError(
                    f"matters.{matter_id}.approval.route: a joint review needs hours "
                    f"when all of {teams} work; their team_hours share none"
                )
    _check_stages(scenario)
    cal = scenario.calendar
    for weekday in [None, *scenario.demand.weekday_profiles]:
        where = "arrival_profile" if weekday is None else f"weekday_profiles.{weekday}"
        for start, _end, _weight in scenario.demand.profile_segments(cal.cutoff_at, weekday):
            if not cal.opens_at <= start < cal.cutoff_at:
                raise ValueError(
                    f"demand.{where}.{format_time(start)}: outside opening hours "
                    f"({format_time(cal.opens_at)} to the ticket cut-off "
                    f"{format_time(cal.cutoff_at)})"
                )


def _durations(scenario: Scenario) -> Iterator[tuple[str, Distribution, float, str]]:
    """(field, distribution, largest sensible mean, unit) of every duration: a mean
    beyond it is a unit mistake, and would run the clock for centuries."""
    day_min, year_days = 1440, 250
    for matter_id, m in scenario.matters.items():
        where = f"matters.{matter_id}"
        yield f"{where}.service_min", m.service_min, day_min, "min"
        if m.kiosk_min is not None:
            yield f"{where}.kiosk_min", m.kiosk_min, day_min, "min"
        yield f"{where}.return_after_days", m.return_after_days, year_days, "working days"
        for k, step in enumerate(m.approval.steps if m.approval else ()):
            yield f"{where}.approval.steps.{k}.effort_hours", step.effort_hours, 2000, "hours"
            yield (
                f"{where}.approval.steps.{k}.delay_days",
                step.delay_days,
                10 * year_days,
                ("working days"),
            )
    if scenario.consultation is not None:
        yield "consultation.service_min", scenario.consultation.service_min, day_min, "min"
    if scenario.issuance is not None:
        yield "issuance.service_min", scenario.issuance.service_min, day_min, "min"
        yield (
            "issuance.collect_after_days",
            scenario.issuance.collect_after_days,
            year_days,
            ("working days"),
        )
    if scenario.appointments is not None:
        yield "appointments.early_min", scenario.appointments.early_min, day_min, "min"
        yield "appointments.late_min", scenario.appointments.late_min, day_min, "min"
    if scenario.patience_min is not None:
        yield "patience_min", scenario.patience_min, 7 * day_min, "min"


def _check_stages(scenario: Scenario) -> None:
    """Every stage a matter may go through has a pool serving it, and pools of a
    stage come with that stage's section."""
    for stage in ("consultation", "issuance"):
        pools = [n for n, p in scenario.windows.items() if p.stage == stage]
        if pools and getattr(scenario, stage) is None:
            raise ValueError(
                f"windows.{pools[0]}.stage: {stage} pools need the scenario's "
                f"`{stage}:` section (its service time)"
            )
        if getattr(scenario, stage) is not None and not pools:
            raise ValueError(f"{stage}: no pool has `stage: {stage}`")
    booking = [m for m, spec in scenario.matters.items() if spec.booked_share > 0]
    if booking and scenario.appointments is None:
        raise ValueError(f"matters.{booking[0]}.booked_share: needs an `appointments:` section")
    unbookable = [m for m in booking if not pools_serving(scenario, m, booked=True)]
    if unbookable:
        raise ValueError(
            f"matters: booked_share above 0 but every window pool serving "
            f"{unbookable} has `booked: never`"
        )
    optional = [s for s in ("consultation", "issuance") if getattr(scenario, s) is not None]
    for stage in ["acceptance", *optional]:
        orphans = [m for m in scenario.matters if not pools_serving(scenario, m, stage)]
        if orphans:
            kind = "window" if stage == "acceptance" else stage
            raise ValueError(f"matters: no {kind} pool serves {orphans}")
    kiosk_orphans = [
        m for m, spec in scenario.matters.items()
        if spec.kiosk_share > 0 and not pools_serving(scenario, m, "acceptance", "kiosk")
    ]  # fmt: skip
    if kiosk_orphans:
        raise ValueError(
            f"matters: kiosk_share above 0 but no kiosk pool (channel: kiosk) serves "
            f"{kiosk_orphans}"
        )
