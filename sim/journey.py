"""A visitor's journey: trips to the hall, each through its stages, with errands to do.

A trip passes up to three stages (sim.records.STAGES): an optional guide desk before the
first acceptance ticket, acceptance, and an issuance window where instant results are
handed over before leaving. An errand is one matter to be done at the current stage.
Matters whose materials were incomplete are pending: they come back on a later trip.
A result to collect from the back office is a trip of its own (a collector: a visitor
object that shares the applicant's counts, so queue visits and trips keep counting).

The visitor holds its keyed random draws (sim.demand) by slot: the matter's place among
the visitor's matters, which is also the key of the draw.
"""

from __future__ import annotations

from typing import NamedTuple

from sim.records import STAGES

__all__ = ["ACCEPT", "CONSULT", "ISSUE", "Errand", "Visitor"]

CONSULT, ACCEPT, ISSUE = range(len(STAGES))


class Errand(NamedTuple):
    """One matter to be done at a window."""

    code: int  # the matter's index, plus the number of matters for a kiosk application
    slot: int  # the matter's place among the visitor's matters: the key of its draws
    work_min: float  # service time at a window of speed 1 (or the kiosk, or issuance)


class Visitor:
    """One person on one trip."""

    __slots__ = ("arrival", "attempts", "booked", "collecting", "consult_min", "counts", "day",
                 "effort", "errands", "instant", "issuance", "key", "number", "patience",
                 "pending", "returns", "stage", "to_issue", "trip")  # fmt: skip

    def __init__(self, number: int, key: tuple[int, int], day: int, arrival: float, errands):
        self.number, self.day, self.arrival = number, day, arrival
        self.key = key  # (first day, place in its arrivals): the key of its random draws
        # left to do at this stage of the trip (an empty tuple once the last is taken)
        self.errands: list[Errand] | tuple[()] = errands
        # keyed draws made up front for this visitor (views of the day's arrays, by slot:
        # see sim.demand.DayVisitors); patience by queue visit
        self.patience = self.instant = self.effort = self.returns = self.issuance = None
        self.counts = [0, 1]  # queue visits and trips so far, shared with collection trips
        self.trip = 1
        self.stage = ACCEPT
        self.booked = False  # holds a valid booking (first trip only)
        self.consult_min: float | None = None  # time at the guide desk, when asking first
        self.collecting: dict[int, Visitor] | None = None  # collection trips by day
        self.attempts: list[int] = []  # trips made so far for each matter slot
        self.pending: list[Errand] = []  # to bring back on a later trip
        self.to_issue: list[Errand] = []  # instant results to collect before leaving

    def next_stage(self) -> bool:
        """Errands done at this stage: move on to issuance if instant results wait there;
        False when the trip is over."""
        if not self.to_issue:
            return False
        self.stage, self.errands, self.to_issue = ISSUE, self.to_issue, []
        return True

    def new_trip(self, now: float, day: int) -> None:
        self.day, self.arrival = day, now
        self.counts[1] += 1
        self.trip = self.counts[1]

    def come_back(self, now: float, day: int) -> None:
        """A return trip with the pending matters, materials complete or not."""
        self.new_trip(now, day)
        self.stage, self.booked = ACCEPT, False
        self.errands, self.pending = self.pending, []

    def collector(self, errand: Errand) -> Visitor:
        """The same person on a later trip to collect a result: the next queue visits and
        trips count on from the applicant's."""
        collector = Visitor(self.number, self.key, self.day, self.arrival, [errand])
        collector.counts, collector.stage = self.counts, ISSUE
        collector.patience = self.patience
        return collector
