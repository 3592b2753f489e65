"""Which pool takes a visitor's next ticket, and the names of what a visit handled.

A visitor holding matters takes a ticket at the pool that serves the most of their
remaining matters (ties: the fewest people per open window, then file order), is served
there for all of them, and goes on to the next pool until none are left. With department
windows that is one queue per department; with comprehensive windows, one.

Matters are codes here: the matter's index in the scenario, plus the number of matters
for a kiosk application of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.pools import Pool
from sim.records import STAGES

if TYPE_CHECKING:
    from sim.scenario import Scenario

__all__ = ["Router", "pools_serving", "takes_bookings"]

_CONSULT, _ACCEPT, _ISSUE = range(len(STAGES))
_MAX_CACHED = 100_000  # routing choices remembered by group of matters


def pools_serving(
    scenario: Scenario,
    matter_id: str,
    stage: str = "acceptance",
    channel: str = "window",
    booked: bool = False,
) -> list[str]:
    """Names of the pools of a stage (and, for acceptance, a channel) that may take this
    matter from a walk-in or a booked visitor, in file order."""
    matter = scenario.matters[matter_id]
    names = []
    for name, pool in scenario.windows.items():
        if pool.stage != stage or (stage == "acceptance" and pool.channel != channel):
            continue
        booking_applies = stage == "acceptance" and channel == "window"
        if booking_applies and pool.booked == ("never" if booked else "only"):
            continue
        serves = pool.serves
        if serves == "all":
            names.append(name)
            continue
        category_departments = {d for c in serves.categories for d in scenario.categories[c]}
        if (
            matter_id in serves.matters
            or matter.department in serves.departments
            or matter.department in category_departments
        ):
            names.append(name)
    return names


def takes_bookings(scenario: Scenario, pool_name: str) -> bool:
    """Bookings are for acceptance at staffed windows (pools' `booked` rule applies there)."""
    pool = scenario.windows[pool_name]
    at_windows = pool.stage == "acceptance" and pool.channel == "window"
    return scenario.appointments is not None and at_windows


class Router:
    """The scenario's routing tables, and the choice among eligible pools by load now."""

    def __init__(self, scenario: Scenario, pools: list[Pool]):
        self.pools = pools
        pool_index = {p.name: p.index for p in pools}
        self.matter_ids = list(scenario.matters)
        self.n_matters = len(self.matter_ids)  # a kiosk application's code is matter + this
        self.departments = [m.department for m in scenario.matters.values()]

        def eligible(stage: str, channel: str = "window", booked=False) -> list[frozenset[int]]:
            return [
                frozenset(pool_index[n] for n in pools_serving(scenario, m, stage, channel, booked))
                for m in self.matter_ids
            ]

        # by stage, then matter code: window codes, then kiosk codes
        self.eligible_by_stage = (
            eligible("consultation") * 2,
            eligible("acceptance") + eligible("acceptance", "kiosk"),
            eligible("issuance") * 2,
        )
        self.eligible_booked = eligible("acceptance", booked=True) + eligible("acceptance", "kiosk")
        accepting = self.eligible_by_stage[_ACCEPT]
        # the pool of a matter code served by one acceptance pool only (the common case)
        self.only_pool = [pools[next(iter(e))] if len(e) == 1 else None for e in accepting]
        # (id of an eligibility table, matter codes) -> [(matters served, pool)], most first
        self._candidates: dict[tuple[int, tuple[int, ...]], list[tuple[int, Pool]]] = {}
        self.labels: list[tuple[str, str, int]] = []  # (matters, departments, n_matters)
        self._label_index: dict[tuple[int, ...], int] = {}
        # by matter code (window codes, then kiosk codes)
        self.single_labels = [self.label((m,)) for m in range(self.n_matters)] * 2

    def eligible(self, stage: int, booked: bool) -> list[frozenset[int]]:
        """Pools that may serve each matter code at this stage."""
        if booked and stage == _ACCEPT:
            return self.eligible_booked
        return self.eligible_by_stage[stage]

    def choose(self, codes: list[int], eligible: list[frozenset[int]], now: float) -> Pool:
        """The pool serving the most of these matters; ties to the fewest people per
        window open now, then file order."""
        key = (id(eligible), tuple(codes))
        candidates = self._candidates.get(key)
        if candidates is None:
            served = {}
            for m in codes:
                for pi in eligible[m]:
                    served[pi] = served.get(pi, 0) + 1
            most = max(served.values())
            candidates = [(n, self.pools[pi]) for pi, n in sorted(served.items()) if n == most]
            if len(self._candidates) >= _MAX_CACHED:  # rare combinations of many matters
                self._candidates.clear()
            self._candidates[key] = candidates
        if len(candidates) == 1:
            return candidates[0][1]
        best, best_load = None, None
        for _n, pool in candidates:  # in file order: the first of equal loads wins
            load = pool.load_per_window(now)
            if best_load is None or load < best_load:
                best, best_load = pool, load
        assert best is not None
        return best

    def label(self, codes: tuple[int, ...]) -> int:
        """Index of the (matters, departments) label of a group of matters."""
        group = tuple(c % self.n_matters for c in codes)
        index = self._label_index.get(group)
        if index is None:
            departments = dict.fromkeys(self.departments[m] for m in group)
            label = ("+".join(self.matter_ids[m] for m in group), "+".join(departments))
            index = self._label_index[group] = len(self.labels)
            self.labels.append((*label, len(group)))
        return index
