"""Draw one day's visitors: arrival times, the matters they bring, and their work.

What a visitor brings is drawn here, up front and vectorised, from uniforms keyed by what
they are for (sim.streams): the day and the visitor's place in its arrivals, and the
matter's name. Two scenarios with the same demand see the same visitors however their
windows are organised, and editing one matter leaves the other visitors as they were.
Draws the model needs later (patience per queue visit, instant or back office, approval
effort, returns, issuance) are made here too, vectorised, with the keys the model would
use one at a time (sim.streams gives the same bits either way); the arrays that hold them
are containers, not keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from sim import sampling
from sim.scenario import Scenario
from sim.streams import Streams, name_key

if TYPE_CHECKING:
    from sim.trace import Trace

__all__ = ["KIOSK", "MAX_TRIPS", "ONLINE", "WINDOW", "DayVisitors", "arrival_times", "draw_day"]

WINDOW, KIOSK, ONLINE = 0, 1, 2  # channel codes


@dataclass(frozen=True)
class DayVisitors:
    """Visitors of one day; row i is the i-th arrival (its key in sim.streams is (day, i)).
    Matter slots beyond n_matters are -1."""

    day: int
    arrival_at: np.ndarray  # minutes since midnight, sorted (unless bookings moved them)
    matters: np.ndarray  # (n, k_max) matter indices in the order the visitor will take them
    n_matters: np.ndarray  # (n,)
    work_min: np.ndarray  # (n, k_max) specialist service time of each matter
    # with online or kiosk channels: (n, k_max) channel codes (WINDOW, KIOSK, ONLINE)
    channel: np.ndarray | None = None
    # with a guide desk: (n,) True for visitors who ask there first, and their time there
    consults: np.ndarray | None = None
    consult_min: np.ndarray | None = None
    # with appointments: (n,) slot start of a visitor with a valid booking (NaN: walk-in,
    # arrival_at then the time they came) and True for no-shows (who never come)
    slot_at: np.ndarray | None = None
    no_show: np.ndarray | None = None
    # with patience: (n, PATIENT_VISITS) patience at the visitor's 1st, 2nd, ... queue visit
    patience_min: np.ndarray | None = None
    # with a back office: (n, k_max) instant-or-not uniforms and (n, k_max, steps, 2)
    # effort and delay uniforms of each approval step (keyed by department, occurrence)
    instant_u: np.ndarray | None = None
    effort_u: np.ndarray | None = None
    # with incomplete materials possible: (n, k_max, MAX_TRIPS, 2) per attempt: incomplete?
    # and the return delay
    returns_u: np.ndarray | None = None
    # with issuance windows: (n, k_max, 3): mailed?, collection delay, issuance time
    issuance_u: np.ndarray | None = None


MAX_TRIPS = 8  # a matter is accepted at the latest on this trip (caps a geometric count)
PATIENT_VISITS = 8  # patience drawn up front for this many queue visits (later: one at a time)


def arrival_times(
    segments: list[tuple[int, int, float]], expected: float, rng: np.random.Generator
) -> np.ndarray:
    """Exact non-homogeneous Poisson arrivals for a piecewise-constant rate.

    Given the count N ~ Poisson(expected), arrival times are i.i.d. with density
    proportional to the rate: invert the piecewise-linear cumulative weight.
    """
    starts = np.array([s for s, _, _ in segments], dtype=float)
    ends = np.array([e for _, e, _ in segments], dtype=float)
    weights = np.array([w for _, _, w in segments], dtype=float)
    knots_t = np.concatenate([starts[:1], ends])
    knots_w = np.concatenate([[0.0], np.cumsum(weights)])
    count = rng.poisson(expected)
    u = np.sort(rng.random(count)) * knots_w[-1]
    # np.interp picks the right-hand knot on flat stretches; zero-weight segments
    # get no arrivals because u never lands strictly inside them.
    return np.interp(u, knots_w, knots_t)


def draw_day(
    scenario: Scenario, streams: Streams, day: int, trace: Trace | None = None
) -> DayVisitors:
    """Day `day`'s visitors, a pure function of (scenario's demand, streams, day); with
    a trace (sim.trace), the observed visitors of that day and their matters (and their
    observed work, if the trace holds it) instead of drawn ones."""
    observed_work = booked = None
    if trace is None:
        arrival_at = _arrivals(scenario, streams, day)
        matters, n_matters = _matters(scenario, streams, day, len(arrival_at))
    else:
        arrival_at, matters, n_matters, observed_work, booked = trace.day_visitors(day, scenario)
    n, k_max = matters.shape
    visitor = np.arange(n, dtype=np.int64)[:, None]
    matter_list = list(scenario.matters.values())
    matter_keys = np.array([name_key(m) for m in scenario.matters], dtype=np.uint64)
    drawn_keys = matter_keys[np.maximum(matters, 0)]  # per (visitor, slot); -1 slots unused
    channel = None
    if any(m.online_share > 0 or m.kiosk_share > 0 for m in matter_list):
        # one uniform per matter: online below online_share, kiosk in the next kiosk_share
        u = streams.uniform("channel", day, visitor, drawn_keys)
        online = np.array([m.online_share for m in matter_list])[matters]
        kiosk = np.array([m.kiosk_share for m in matter_list])[matters]
        channel = np.where(u < online, ONLINE, np.where(u < online + kiosk, KIOSK, WINDOW))
    u_work = streams.uniform("service", day, visitor, drawn_keys)
    work = np.full((n, k_max), np.nan)
    for index, matter in enumerate(matter_list):
        mask = matters == index
        if channel is not None and matter.kiosk_min is not None:
            at_kiosk = mask & (channel == KIOSK)
            work[at_kiosk] = matter.kiosk_min.quantile(u_work[at_kiosk])
            mask &= channel != KIOSK
        work[mask] = matter.service_min.quantile(u_work[mask])
    if observed_work is not None:  # replayed with observed service: drawn where unknown
        work = np.where(np.isnan(observed_work), work, observed_work)
    consults = consult_min = None
    if scenario.consultation is not None:
        u = streams.uniform("consultation", day, visitor, np.arange(2))
        consults = u[:, 0] < scenario.consultation.share
        consult_min = scenario.consultation.service_min.quantile(u[:, 1])
    slot_at = no_show = None
    if scenario.appointments is not None and booked is not None:
        # replayed: those who came with a booking, at the slot holding their arrival
        book = scenario.appointments
        opens = scenario.calendar.opens_at
        slot = opens + np.floor((arrival_at - opens) / book.slot_min) * book.slot_min
        slot_at, no_show = np.where(booked, slot, np.nan), np.zeros(n, dtype=bool)
    elif scenario.appointments is not None:
        # a visitor books with the mean booked_share of the matters they bring: then the
        # share who book is sum(share x booked_share) whatever the number of matters
        by_matter = np.array([m.booked_share for m in matter_list])
        booked_share = np.where(matters >= 0, by_matter[np.maximum(matters, 0)], 0.0).sum(
            axis=1
        ) / np.maximum(n_matters, 1)
        arrival_at, slot_at, no_show = _book(
            scenario,
            arrival_at,
            booked_share,
            streams.uniform("appointments", day, visitor, np.arange(4)),
        )
    keyed = visitor[:, :, None], drawn_keys[:, :, None]  # per visitor and matter, then more
    patience = instant_u = effort_u = returns_u = issuance_u = None
    if scenario.patience_min is not None:
        visits = np.arange(1, PATIENT_VISITS + 1)
        patience = scenario.patience_min.quantile(streams.uniform("patience", day, visitor, visits))
    if scenario.backoffice is not None:
        instant_u = streams.uniform("instant", day, visitor, drawn_keys)
        departments, occurrences = _step_key_tables(scenario)
        effort_u = streams.uniform(
            "backoffice", day, visitor[:, :, None, None], drawn_keys[:, :, None, None],
            departments[np.maximum(matters, 0)][..., None],
            occurrences[np.maximum(matters, 0)][..., None], np.arange(2),
        )  # fmt: skip
    if any(m.incomplete_share > 0 for m in matter_list):
        attempts = np.arange(MAX_TRIPS)[:, None]
        returns_u = streams.uniform("returns", day, *(k[..., None] for k in keyed), attempts,
                                    np.arange(2))  # fmt: skip
    if scenario.issuance is not None:
        issuance_u = streams.uniform("issuance", day, *keyed, np.arange(3))
    return DayVisitors(
        day, arrival_at, matters, n_matters, work, channel, consults, consult_min, slot_at,
        no_show, patience, instant_u, effort_u, returns_u, issuance_u,
    )  # fmt: skip


def _arrivals(scenario: Scenario, streams: Streams, day: int) -> np.ndarray:
    """The day's arrival times: a Poisson count (on a gamma day level with day_cv)
    spread by the day's profile."""
    cal, demand = scenario.calendar, scenario.demand
    weekday = cal.weekday(day)
    expected = demand.expected_visitors(weekday, cal.after_holiday(day))
    if demand.day_cv > 0:  # a busy or a quiet day: a gamma level of mean 1 (keyed by day)
        shape = 1 / demand.day_cv**2
        expected *= float(stats.gamma.ppf(streams.uniform1("day_level", day), shape)) / shape
    return arrival_times(
        demand.profile_segments(cal.cutoff_at, weekday), expected,
        streams.generator("arrivals", day),
    )  # fmt: skip


def _matters(
    scenario: Scenario, streams: Streams, day: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each visitor's matters (n, k_max) in the order they will be taken (-1 beyond
    their count), and the count."""
    demand = scenario.demand
    visitor = np.arange(n, dtype=np.int64)[:, None]
    matter_keys = np.array([name_key(m) for m in scenario.matters], dtype=np.uint64)
    shares = np.array([m.share for m in scenario.matters.values()])
    counts = np.array(sorted(demand.matters_per_visitor))
    cdf = np.cumsum([demand.matters_per_visitor[c] for c in counts])
    u_count = streams.uniform("matter_count", day, visitor[:, 0])
    pick = np.searchsorted(cdf / cdf[-1], u_count, "right")
    n_matters = counts[np.minimum(pick, len(counts) - 1)]
    k_max = int(counts.max())
    # Weighted sampling without replacement (Efraimidis-Spirakis): the k largest keys
    # u^(1/w) are the visitor's matters, in the order they will be taken; u is keyed by
    # (visitor, matter name), so a matter added elsewhere leaves these keys alone. The
    # weights w for k matters make each matter's share of all matters its share
    # (sim.sampling); w = share for one matter.
    targets = sampling.count_targets(
        tuple(shares.tolist()), tuple(sorted(demand.matters_per_visitor.items()))
    )
    by_count = np.array([sampling.weights(targets[int(c)], int(c)) for c in counts])
    with np.errstate(divide="ignore"):  # a zero share gives a key of -inf: never drawn
        u = streams.uniform("matters", day, visitor, matter_keys[None, :])
        keys = np.log(u) / by_count[np.minimum(pick, len(counts) - 1)]
    order = np.argsort(-keys, axis=1, kind="stable")[:, :k_max]
    slot = np.arange(k_max)
    return np.where(slot < n_matters[:, None], order, -1), n_matters


def step_keys(steps) -> list[tuple[int, int]]:
    """(department, occurrence) of each approval step: what its draws are keyed by, so
    that adding a step leaves the others' draws alone."""
    seen: dict[str, int] = {}
    keys = []
    for step in steps:
        seen[step.department] = seen.get(step.department, -1) + 1
        keys.append((name_key(step.department), seen[step.department]))
    return keys


def _step_key_tables(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """(matters, most steps) tables of step department keys and occurrences (0 padded)."""
    routes = [step_keys(m.approval.steps) if m.approval else [] for m in scenario.matters.values()]
    width = max(1, *(len(r) for r in routes))
    departments = np.zeros((len(routes), width), dtype=np.uint64)
    occurrences = np.zeros((len(routes), width), dtype=np.int64)
    for i, route in enumerate(routes):
        for s, (department, occurrence) in enumerate(route):
            departments[i, s], occurrences[i, s] = department, occurrence
    return departments, occurrences


def _book(
    scenario: Scenario, arrival_at: np.ndarray, booked_share: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bookings: the slot holding the time the visitor would have come, then the time
    they come (early, or late), whether the booking still holds, and no-shows.
    Returns (arrival, slot start or NaN, no-show); arrival is no longer sorted."""
    cal, book = scenario.calendar, scenario.appointments
    assert book is not None
    booked = u[:, 0] < booked_share
    slot = cal.opens_at + np.floor((arrival_at - cal.opens_at) / book.slot_min) * book.slot_min
    late = u[:, 1] < book.late_share
    offset = np.where(late, book.late_min.quantile(u[:, 2]), -book.early_min.quantile(u[:, 2]))
    came = np.clip(slot + offset, cal.opens_at, cal.cutoff_at)
    arrival = np.where(booked, came, arrival_at)
    valid = booked & (came - slot <= book.grace_min)
    no_show = booked & (u[:, 3] < book.no_show_share)
    return arrival, np.where(valid, slot, np.nan), no_show
