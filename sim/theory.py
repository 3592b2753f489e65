"""Queueing formulas for what-ifs and for validating the simulation.

Erlang B by its recursion B(0)=1, B(k)=a·B(k-1)/(k + a·B(k-1)): stable for any c,
where the textbook factorial formula overflows near c = 200.
"""

from __future__ import annotations

import math

from sim.metrics import Capacity
from sim.routing import pools_serving
from sim.scenario import Scenario

__all__ = [
    "acceptance_load",
    "erlang_b",
    "erlang_c",
    "min_servers",
    "mmc_kpi",
    "mmc_mean_wait",
    "mmc_priority_mean_waits",
    "mmc_service_level",
    "mmc_wait_quantile",
    "mmc_wait_tail",
]


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of M/M/c/c with offered load a = λ/μ."""
    if servers < 0 or offered_load < 0:
        raise ValueError("servers and offered load must be >= 0")
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/c (needs a < c)."""
    if offered_load >= servers:
        raise ValueError("unstable: offered load must be below the number of servers")
    b = erlang_b(servers, offered_load)
    rho = offered_load / servers
    return b / (1 - rho + rho * b)


def mmc_mean_wait(servers: int, arrival_rate: float, mean_service: float) -> float:
    """Mean wait in queue, Wq = C(c, a) · s / (c − a)."""
    a = arrival_rate * mean_service
    return erlang_c(servers, a) * mean_service / (servers - a)


def mmc_priority_mean_waits(
    servers: int, arrival_rates: list[float], mean_service: float
) -> list[float]:
    """Mean wait of each class in M/M/c with non-preemptive priority, highest class
    first, all classes served at the same rate (Cobham's formula):
    W_k = C(c, a) · s / c / ((1 − σ_{k−1})(1 − σ_k)), σ_k the load of classes 1..k."""
    total = sum(arrival_rates) * mean_service
    base = erlang_c(servers, total) * mean_service / servers
    waits, before = [], 0.0
    for rate in arrival_rates:
        upto = before + rate * mean_service / servers
        waits.append(base / ((1 - before) * (1 - upto)))
        before = upto
    return waits


def mmc_wait_tail(servers: int, arrival_rate: float, mean_service: float, t: float) -> float:
    """P(Wq > t) = C(c, a) · exp(−(c − a) t / s)."""
    a = arrival_rate * mean_service
    return erlang_c(servers, a) * math.exp(-(servers - a) * t / mean_service)


def mmc_wait_quantile(servers: int, arrival_rate: float, mean_service: float, q: float) -> float:
    """The q-quantile of the wait in queue (0 when fewer than 1−q of arrivals wait)."""
    a = arrival_rate * mean_service
    p_wait = erlang_c(servers, a)
    if 1 - q >= p_wait:
        return 0.0
    return mean_service / (servers - a) * math.log(p_wait / (1 - q))


def mmc_service_level(servers: int, arrival_rate: float, mean_service: float, t: float) -> float:
    """P(Wq <= t) in M/M/c."""
    return 1.0 - mmc_wait_tail(servers, arrival_rate, mean_service, t)


def mmc_kpi(kpi: str, servers: int, arrival_rate: float, mean_service: float, target_wait: float):
    """An M/M/c steady-state value of a hallsim KPI, or None where theory has no formula."""
    if arrival_rate * mean_service >= servers:
        return math.inf if not kpi.startswith("service_level") else 0.0
    quantiles = {"wait_p50_min": 0.5, "wait_p90_min": 0.9, "wait_p95_min": 0.95}
    if kpi == "wait_mean_min":
        return mmc_mean_wait(servers, arrival_rate, mean_service)
    if kpi in quantiles:
        return mmc_wait_quantile(servers, arrival_rate, mean_service, quantiles[kpi])
    if kpi.startswith("service_level"):
        return mmc_service_level(servers, arrival_rate, mean_service, target_wait)
    if kpi == "time_in_hall_mean_min":
        return mmc_mean_wait(servers, arrival_rate, mean_service) + mean_service
    return None


def min_servers(
    kpi: str, op: str, value: float, arrival_rate: float, mean_service: float, target_wait: float
) -> int:
    """Fewest M/M/c servers meeting `kpi op value`; where theory has no formula for the
    KPI, square-root staffing c = a + sqrt(a) (the quality-and-efficiency regime)."""
    load = arrival_rate * mean_service
    if load <= 0:
        return 1
    first = max(1, math.floor(load) + 1)
    if mmc_kpi(kpi, first, arrival_rate, mean_service, target_wait) is None:
        return max(1, math.ceil(load + math.sqrt(load)))
    for servers in range(first, first + 10 * math.ceil(load) + 100):
        predicted = mmc_kpi(kpi, servers, arrival_rate, mean_service, target_wait)
        if (predicted <= value) if op == "<=" else (predicted >= value):
            return servers
    raise ValueError(f"no number of servers meets {kpi} {op} {value} in theory")


def acceptance_load(scenario: Scenario) -> float:
    """Offered load at the staffed acceptance windows: the specialist work a day brings
    (visitors x matters x share at windows x mean service / the serving pool's speed)
    over the staffed window-minutes a day. Above 1 the queue grows without bound."""
    demand = scenario.demand
    matters_per_visitor = sum(k * p for k, p in demand.matters_per_visitor.items())
    work_min = 0.0
    for matter_id, matter in scenario.matters.items():
        pools = pools_serving(scenario, matter_id)
        speed = max(scenario.windows[p].speed_factor for p in pools) if pools else 1.0
        at_windows = 1.0 - matter.online_share - matter.kiosk_share
        work_min += matter.share * at_windows * matter.service_min.mean / speed
    work_min *= demand.visitors_per_day * matters_per_visitor
    capacity = Capacity.from_scenario(scenario)
    staffed = sum(
        capacity.window_minutes(name)
        for name, pool in scenario.windows.items()
        if pool.stage == "acceptance" and pool.channel == "window"
    )
    return work_min / staffed if staffed else math.inf
