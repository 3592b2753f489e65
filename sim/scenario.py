"""Typed, frozen, validated scenario: what a hall looks like and who comes to it.

Department windows and comprehensive windows are the same thing here: a pool of windows
with a set of matters it may serve. A reform changes pools, not code.
Build one with sim.loader (load_scenario, parse_scenario): it validates the fields here
and then the checks across them (sim.scenario_checks). Each check raises a ValueError
whose text starts with the field path, so the loader names file and field in one line.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from sim.calendar import (
    Calendar,
    TimeOfDay,
    Weekday,
    format_time,
    parse_time,
)
from sim.dists import Distribution, Fixed
from sim.fields import FROZEN_CONFIG, Count, Number

__all__ = [
    "Appointments",
    "Approval",
    "BackOffice",
    "Consultation",
    "Demand",
    "Issuance",
    "Matter",
    "Pool",
    "Scenario",
    "Serves",
    "Step",
    "WorkingHours",
]

# a scenario name names a results folder: any printable text but path separators and
# the characters Windows forbids in file names, not hidden (a leading dot or space) and
# not ending in a dot or a space (Windows drops those); "." and ".." fall under this
_NAME = re.compile(r'[^\s./\\<>:"|?*\x00-\x1f][^/\\<>:"|?*\x00-\x1f]*')
_SHARE_TOLERANCE = 1e-6


class _Frozen(BaseModel):
    model_config = FROZEN_CONFIG


def _checked_profile(profile: dict[str, float]) -> dict[str, float]:
    if not profile:
        raise ValueError("needs at least one segment")
    parsed = {parse_time(key): weight for key, weight in profile.items()}
    if any(weight < 0 for weight in parsed.values()) or sum(parsed.values()) <= 0:
        raise ValueError("weights must be >= 0 and not all zero")
    return {format_time(t): parsed[t] for t in sorted(parsed)}


class Demand(_Frozen):
    """Who arrives: a Poisson number of visitors a day, spread by an hourly profile."""

    visitors_per_day: Number = Field(
        gt=0, le=1_000_000, description="expected visitors a day (Poisson)"
    )
    arrival_profile: dict[str, Number] = Field(
        description=(
            'segment start "HH:MM" -> relative weight of the day\'s arrivals in that '
            "segment; each segment runs to the next start, the last to the ticket cut-off; "
            "arrivals are uniform within a segment"
        )
    )
    matters_per_visitor: dict[int, Number] = Field(
        default_factory=lambda: {1: 1.0},
        description="number of distinct matters a visitor brings -> probability",
    )
    weekday_factors: dict[Weekday, Number] = Field(
        default_factory=dict,
        description="weekday -> factor on visitors_per_day (a Monday surge: mon: 1.3); "
        "weekdays not named: 1",
    )
    weekday_profiles: dict[Weekday, dict[str, Number]] = Field(
        default_factory=dict,
        description="weekday -> its own arrival_profile (a quiet Friday afternoon); "
        "weekdays not named use arrival_profile",
    )
    day_cv: Number = Field(
        default=0.0,
        ge=0,
        le=2,
        description="how much a day's demand varies beyond Poisson: each day's expected "
        "visitors are multiplied by a gamma-distributed level of mean 1 and this cv (0: "
        "every day's count is Poisson; `hallsim fit` estimates it from a ticket log)",
    )
    after_holiday_factor: Number = Field(
        default=1.0,
        gt=0,
        le=10,
        description="factor on the visitors of the first working day after a break that "
        "holds a public holiday (calendar.holidays)",
    )

    @field_validator("arrival_profile")
    @classmethod
    def _profile(cls, profile: dict[str, float]) -> dict[str, float]:
        return _checked_profile(profile)

    @field_validator("weekday_profiles")
    @classmethod
    def _profiles(cls, profiles: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        return {day: _checked_profile(profile) for day, profile in profiles.items()}

    @field_validator("weekday_factors")
    @classmethod
    def _factors(cls, factors: dict[str, float]) -> dict[str, float]:
        bad = {day: f for day, f in factors.items() if not 0 <= f <= 10}
        if bad:
            raise ValueError(f"factors must lie between 0 and 10, got {bad}")
        return factors

    @field_validator("matters_per_visitor")
    @classmethod
    def _pmf(cls, pmf: dict[int, Number]) -> dict[int, Number]:
        if not pmf or min(pmf) < 1 or any(p < 0 for p in pmf.values()):
            raise ValueError("keys are counts >= 1, values probabilities >= 0")
        if abs(sum(pmf.values()) - 1) > _SHARE_TOLERANCE:
            raise ValueError(f"probabilities sum to {sum(pmf.values()):.6g}, must sum to 1")
        return pmf

    def profile_segments(
        self, cutoff_at: int, weekday: str | None = None
    ) -> list[tuple[int, int, float]]:
        """(start, end, weight) in minutes of day, the last segment ending at the cut-off;
        the weekday's own profile where it has one."""
        profile = self.weekday_profiles.get(weekday, self.arrival_profile)
        starts = [parse_time(key) for key in profile]
        ends = [*starts[1:], cutoff_at]
        return list(zip(starts, ends, profile.values(), strict=True))

    def expected_visitors(self, weekday: str, after_holiday: bool) -> float:
        """Expected visitors on a working day of this weekday."""
        factor = self.weekday_factors.get(weekday, 1.0)
        holiday = self.after_holiday_factor if after_holiday else 1.0
        return self.visitors_per_day * factor * holiday


class Step(_Frozen):
    """One department's part of an approval."""

    @field_validator("delay_days", mode="before")
    @classmethod
    def _number_is_fixed(cls, value: object) -> object:
        """`delay_days: 2` is short for a fixed two working days."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"dist": "fixed", "value": value}
        return value

    department: str
    effort_hours: Distribution = Field(
        description="staff working time on the case (counted in back-office working hours)"
    )
    delay_days: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=0),
        description="waiting with no staff after the work, e.g. site inspection, expert "
        "review or the department's own review queue, in working days",
    )


class Approval(_Frozen):
    """The back-office route of a matter and its time limits (in working days)."""

    route: Literal["serial", "parallel", "joint"] = Field(
        default="serial",
        description="serial: steps one after another; parallel: all at once, done when all "
        "are; joint (联合审查): one session that needs a staff member of every step's "
        "department at the same time, for the longest effort, then the longest delay",
    )
    steps: tuple[Step, ...] = Field(min_length=1)
    promised_days: Number = Field(
        gt=0, le=10_000, description="promised limit (承诺时限), working days"
    )
    statutory_days: Number = Field(
        gt=0, le=10_000, description="statutory limit (法定时限), working days"
    )

    @model_validator(mode="after")
    def _limits(self) -> Approval:
        departments = [step.department for step in self.steps]
        if self.route == "joint" and len(set(departments)) < len(departments):
            raise ValueError(f"steps: a joint review meets each department once, got {departments}")
        if self.promised_days > self.statutory_days:
            raise ValueError(
                f"promised_days: {self.promised_days:g} is above statutory_days "
                f"{self.statutory_days:g}; a promise is at most the statutory limit"
            )
        return self


class Matter(_Frozen):
    """A kind of application, as a planner aggregates them (one row of the matter mix)."""

    department: str
    share: Number = Field(
        ge=0, le=1, description="share of all matters brought (0: only inside bundles)"
    )
    service_min: Distribution = Field(description="window time for this matter, specialist")
    instant_share: Number = Field(
        default=1.0,
        ge=0,
        le=1,
        description="share finished at the window (即办); the rest go to the back office",
    )
    approval: Approval | None = Field(
        default=None, description="back-office route, needed when instant_share < 1"
    )
    online_share: Number = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share applied online (网上办): never queues for acceptance, but a "
        "back-office case like any other; no trip unless the result is collected in person",
    )
    kiosk_share: Number = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share applied at self-service kiosks (自助终端) in the hall: a trip, but "
        "a ticket at a kiosk pool (`channel: kiosk`) instead of a window",
    )
    booked_share: Number = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share of visitors bringing this matter who book a slot (预约) instead "
        "of walking in (a visitor with several matters books with their mean); needs an "
        "`appointments:` section",
    )
    kiosk_min: Distribution | None = Field(
        default=None,
        description="time at a kiosk for this matter; none: service_min (then the kiosk "
        "pool's speed_factor applies, as at windows)",
    )
    incomplete_share: Number = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="chance that materials are incomplete at a visit: the visitor comes "
        "back on a later working day and queues again (lowered by one-time full "
        "notification or online pre-review)",
    )
    return_after_days: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=1),
        description="working days until a visitor with incomplete materials returns "
        "(rounded up, at least 1)",
    )
    bundle_of: tuple[str, ...] = Field(
        default=(),
        description="一件事: this matter is a bundle of these matters, applied for as one "
        "case: one acceptance (this matter's service_min), then every step of their "
        "approvals in parallel (unless `approval` is given), one result",
    )
    accept_with_deficiencies: bool = Field(
        default=False,
        description="容缺受理: incomplete materials are accepted and supplemented online, "
        "no return trip",
    )

    @model_validator(mode="after")
    def _needs_route(self) -> Matter:
        if self.instant_share < 1 and self.approval is None:
            raise ValueError("approval: required when instant_share is below 1")
        if self.online_share + self.kiosk_share > 1 + _SHARE_TOLERANCE:
            raise ValueError(
                f"kiosk_share: online_share {self.online_share:g} plus kiosk_share "
                f"{self.kiosk_share:g} is above 1"
            )
        return self


class Consultation(_Frozen):
    """The guide desk (咨询导办): some visitors ask there before their first acceptance
    ticket, at a pool with `stage: consultation`."""

    share: Number = Field(
        gt=0, le=1, description="share of visitors who ask at the guide desk first"
    )
    service_min: Distribution = Field(description="time at the guide desk, per visitor")


class Appointments(_Frozen):
    """Booked slots (预约). A visitor who books gets the slot holding the time they would
    have come, arrives early or late, and takes a booked ticket from the slot start (an
    early arrival waits in the hall for it); a visitor later than `grace_min` has lost the
    booking and takes a walk-in ticket. How windows call booked tickets is each pool's
    `booked` rule."""

    slot_min: Number = Field(default=30, gt=0, description="slot length, slots from opening")
    no_show_share: Number = Field(
        default=0.0, ge=0, lt=1, description="share of bookings nobody comes to (no-shows)"
    )
    early_min: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=0),
        description="minutes before the slot start that a punctual visitor arrives",
    )
    late_share: Number = Field(default=0.0, ge=0, le=1, description="share who come late")
    late_min: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=0),
        description="minutes after the slot start that a late visitor arrives",
    )
    grace_min: Number = Field(
        default=15,
        ge=0,
        description="a visitor later than this after the slot start queues as a walk-in",
    )


class Issuance(_Frozen):
    """Results handed over at issuance windows (统一出件), pools with `stage: issuance`.

    An instant result is collected on the same trip, right after acceptance (or handed
    over by the acceptance window). A back-office result (also of an online or kiosk
    application) is mailed or delivered electronically (`mail_share`, no trip), or
    collected in person on a later trip."""

    service_min: Distribution = Field(description="time at the issuance window, per result")
    instant_results: Literal["issuance", "acceptance"] = Field(
        default="issuance",
        description="where instant results are handed over: at an issuance window before "
        "leaving, or by the acceptance window itself (within its service time)",
    )
    mail_share: Number = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share of back-office results mailed or sent electronically (邮寄送达): "
        "no collection trip",
    )
    collect_after_days: Distribution = Field(
        default_factory=lambda: Fixed(dist="fixed", value=1),
        description="working days from the result to the collection trip (rounded up, at "
        "least 1), at the time of day the applicant first came",
    )


class WorkingHours(_Frozen):
    starts_at: TimeOfDay
    ends_at: TimeOfDay


class BackOffice(_Frozen):
    """Approval teams working on a working-day clock; backlog carries from day to day."""

    teams: dict[str, Count] = Field(min_length=1, description="department -> approval staff")
    working_hours: tuple[WorkingHours, ...] | None = Field(
        default=None, description="staff hours each working day; default: the hall's hours"
    )
    team_hours: dict[str, tuple[WorkingHours, ...]] = Field(
        default_factory=dict,
        description="team -> its own staff hours each working day, where they differ from "
        "working_hours (a joint review meets when every team it needs is at work)",
    )
    warning_share: Number = Field(
        default=0.8,
        gt=0,
        le=1,
        description="a warning is raised when an open case has used this share of its "
        "promised limit",
    )

    @field_validator("teams")
    @classmethod
    def _staff(cls, teams: dict[str, Count]) -> dict[str, Count]:
        bad = {d: n for d, n in teams.items() if not 1 <= n <= 10_000}
        if bad:
            raise ValueError(f"every team needs 1 to 10000 staff, got {bad}")
        return teams

    @model_validator(mode="after")
    def _hours_of_known_teams(self) -> BackOffice:
        unknown = sorted(set(self.team_hours) - set(self.teams))
        if unknown:
            raise ValueError(f"team_hours: no such team(s) {unknown} in teams")
        for team, hours in self.team_hours.items():
            if not hours or any(h.starts_at >= h.ends_at for h in hours):
                raise ValueError(f"team_hours.{team}: each period must start before it ends")
        return self


class Serves(_Frozen):
    """Eligibility of a pool: union of the listed departments, matters and categories."""

    departments: tuple[str, ...] = ()
    matters: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Serves:
        if not (self.departments or self.matters or self.categories):
            raise ValueError("name at least one department, matter or category (or 'all')")
        return self


class Pool(_Frozen):
    """A group of identical windows calling tickets for the matters they serve."""

    count: Count = Field(ge=1, le=10_000, description="number of windows")
    serves: Literal["all"] | Serves
    stage: Literal["consultation", "acceptance", "issuance"] = Field(
        default="acceptance",
        description="the step of the journey these windows do: guide desk, acceptance "
        "(受理, the default) or handing over results (出件)",
    )
    booked: Literal["priority", "fifo", "only", "never"] = Field(
        default="priority",
        description="how windows call booked tickets: priority (before any walk-in), fifo "
        "(in ticket order with walk-ins), only (dedicated appointment windows) or never "
        "(walk-ins only)",
    )
    channel: Literal["window", "kiosk"] = Field(
        default="window",
        description="acceptance pools only: staffed windows, or self-service kiosks that "
        "take the matters' kiosk_share",
    )
    speed_factor: Number = Field(
        default=1.0,
        ge=0.01,
        le=100,
        description="work rate relative to a specialist: 0.8 means 25% longer service",
    )
    dispatch: Literal["shared_queue", "shortest_queue", "round_robin"] = Field(
        default="shared_queue",
        description=(
            "shared_queue: any free window calls the next ticket; shortest_queue / "
            "round_robin: the ticket is assigned to one window when it is issued"
        ),
    )
    schedule: dict[str, Count] | None = Field(
        default=None,
        description=(
            'staffing by time of day: segment start "HH:MM" -> windows open until the next '
            "start (the first at opening time; the last through closing and overtime); "
            "none: all `count` windows all day"
        ),
    )

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, schedule: dict[str, Count] | None) -> dict[str, Count] | None:
        if schedule is None:
            return None
        if not schedule:
            raise ValueError("needs at least one segment (or leave it out)")
        parsed = {parse_time(key): value for key, value in schedule.items()}
        return {format_time(t): parsed[t] for t in sorted(parsed)}

    @model_validator(mode="after")
    def _kiosks_accept(self) -> Pool:
        if self.channel == "kiosk" and self.stage != "acceptance":
            raise ValueError("channel: kiosk pools accept applications (stage: acceptance)")
        return self

    def segments(self, opens_at: int) -> list[tuple[int, int]]:
        """(start, open windows) in time order; without a schedule, all windows from opening."""
        if self.schedule is None:
            return [(opens_at, self.count)]
        return [(parse_time(key), value) for key, value in self.schedule.items()]


def _expand_bundles(data: Any) -> Any:
    """Give each bundle without its own `approval` the parallel union of its matters'
    steps, limits the longest of theirs, and no instant share (before validation)."""
    if not isinstance(data, dict) or not isinstance(data.get("matters"), dict):
        return data
    matters = data["matters"]
    for bundle_id, bundle in matters.items():
        if not isinstance(bundle, dict) or not bundle.get("bundle_of"):
            continue
        parts = bundle["bundle_of"]
        if not isinstance(parts, list | tuple) or not all(isinstance(m, str) for m in parts):
            raise ValueError(f"matters.{bundle_id}.bundle_of: must be a list of matter names")
        unknown = [m for m in parts if m not in matters or m == bundle_id]
        if unknown:
            raise ValueError(f"matters.{bundle_id}.bundle_of: unknown matters {unknown}")
        if "approval" in bundle:
            continue
        approvals = [matters[m].get("approval") for m in parts if isinstance(matters[m], dict)]
        approvals = [a for a in approvals if isinstance(a, dict)]
        if not approvals:
            raise ValueError(
                f"matters.{bundle_id}.bundle_of: none of {list(parts)} has an approval to "
                "run in parallel; give the bundle its own approval"
            )
        steps = [a.get("steps") for a in approvals]
        limits = [(a.get("promised_days", 0), a.get("statutory_days", 0)) for a in approvals]
        if not all(isinstance(x, list) for x in steps) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for pair in limits for v in pair
        ):
            continue  # a part's own approval is broken: validation names it there
        bundle = dict(bundle)
        bundle.setdefault("instant_share", 0.0)
        bundle["approval"] = {
            "route": "parallel",
            "steps": [step for part in steps for step in part],
            "promised_days": max(p for p, _ in limits),
            "statutory_days": max(s for _, s in limits),
        }
        matters = {**matters, bundle_id: bundle}
    return {**data, "matters": matters}


class Scenario(_Frozen):
    """A whole hall. Build it with sim.loader (which resolves `extends:` and runs the
    checks across fields, sim.scenario_checks), not with model_validate alone."""

    _bundles = model_validator(mode="before")(_expand_bundles)

    name: str = Field(
        min_length=1,
        max_length=120,
        description="names the results folder (default: the file name): any text but "
        '/ \\ < > : " | ? * and control characters, not starting with a dot or a space',
    )
    description: str = ""
    sources: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    calendar: Calendar
    demand: Demand
    matters: dict[str, Matter] = Field(min_length=1)
    categories: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="category name -> departments"
    )
    windows: dict[str, Pool] = Field(min_length=1, description="pool name -> pool")
    patience_min: Distribution | None = Field(
        default=None, description="how long a visitor waits before leaving; none: forever"
    )
    target_wait_min: Number = Field(gt=0, description="service level: share waiting <= this")
    backoffice: BackOffice | None = Field(
        default=None, description="approval teams for matters that are not finished at the window"
    )
    consultation: Consultation | None = Field(
        default=None, description="guide desk before acceptance; none: visitors go straight"
    )
    appointments: Appointments | None = Field(
        default=None, description="booked slots; matters say who books (booked_share)"
    )
    issuance: Issuance | None = Field(
        default=None,
        description="issuance windows for results; none: results are handed over at "
        "acceptance or sent, with no queue and no trip",
    )

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str) -> str:
        if not _NAME.fullmatch(name) or name.endswith((" ", ".")):
            raise ValueError(
                f'{name!r} cannot name a results folder: no / \\ < > : " | ? * or control '
                "characters, not starting with a dot or a space, nor ending with one (a "
                "file whose name cannot be used this way can say `name:` inside)"
            )
        return name

    @property
    def whole_case(self) -> bool:
        """Whether anything beyond the queue happens: a back office, online
        applications, return or collection trips; then whole-case KPIs mean something."""
        return (
            self.backoffice is not None
            or self.issuance is not None
            or any(m.online_share > 0 or m.incomplete_share > 0 for m in self.matters.values())
        )

    @property
    def departments(self) -> set[str]:
        return {matter.department for matter in self.matters.values()}

    @property
    def total_windows(self) -> int:
        """Staffed windows at every stage; self-service kiosks are not windows."""
        return sum(pool.count for pool in self.windows.values() if pool.channel == "window")
