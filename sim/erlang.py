"""Quick answers before simulating: the windows a spreadsheet formula says are needed.

For each pool and hour, three formulas a planner would otherwise use by hand, beside the
offered load: Erlang C (M/M/c, nobody leaves), Erlang A (M/M/c+M: exponential patience
with the scenario's mean) and Allen-Cunneen (G/G/c: Erlang C's wait scaled by
(ca² + cs²) / 2, the squared cvs of arrivals and of service). The hour's arrivals and
service times come from a short pilot run of the scenario (what reaches each pool, with
its matter mix and speed), so the formulas see the hall the simulation sees; the gap
between their answers and `hallsim size --hourly` is what they leave out: lunch, the
day's build-up, mixed service times.

Erlang A is solved on its birth-death chain (states up to where the probability is
negligible): P(wait), P(abandon) and the mean time to service or abandonment exactly;
a tagged arrival with j people ahead moves up at rate cμ + jθ while it leaves at rate θ.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim import theory

__all__ = [
    "allen_cunneen_kpi",
    "allen_cunneen_mean_wait",
    "erlang_a",
    "min_windows_allen_cunneen",
    "min_windows_erlang_a",
    "pool_hours",
    "quick_answers",
]

_MAX_STATES = 20_000


def allen_cunneen_mean_wait(
    servers: int, arrival_rate: float, mean_service: float, ca2: float = 1.0, cs2: float = 1.0
) -> float:
    """Mean wait in G/G/c by Allen-Cunneen: Wq(M/M/c) x (ca² + cs²) / 2."""
    if arrival_rate * mean_service >= servers:
        return math.inf
    return theory.mmc_mean_wait(servers, arrival_rate, mean_service) * (ca2 + cs2) / 2


def erlang_a(
    servers: int, arrival_rate: float, mean_service: float, mean_patience: float
) -> dict[str, float]:
    """M/M/c+M in steady state: p_wait (an arrival finds all windows busy), p_abandon,
    wait_mean_min (to service or leaving, all arrivals), served_wait_mean_min."""
    lam, mu, theta = arrival_rate, 1 / mean_service, 1 / mean_patience
    # stationary distribution of the number in the hall, on a log scale (no overflow)
    logs = [0.0]
    k = 0
    while k < _MAX_STATES:
        k += 1
        death = min(k, servers) * mu + max(k - servers, 0) * theta
        logs.append(logs[-1] + math.log(lam) - math.log(death))
        if k > servers and logs[-1] < max(logs) - 40:
            break
    log_p = np.array(logs)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    queue = np.arange(len(p)) - servers  # people waiting ahead of an arrival in state k
    waiting = queue >= 0
    p_wait = float(p[waiting].sum())
    # a tagged arrival with `ahead` people in the queue: phases ahead, ahead-1, .., 0
    wait, served, served_wait = 0.0, 0.0, 0.0
    for prob, ahead in zip(p[waiting], queue[waiting], strict=True):
        rates = servers * mu + np.arange(ahead, -1, -1) * theta
        stay = np.concatenate([[1.0], np.cumprod(rates / (rates + theta))])
        wait += prob * float((stay[:-1] / (rates + theta)).sum())
        served += prob * stay[-1]
        # the mean wait of those served: the phases' times conditioned on never leaving
        served_wait += prob * stay[-1] * float((1 / (rates + theta)).sum())
    p_served_after_wait = served
    p_abandon = p_wait - p_served_after_wait
    served_total = (1 - p_wait) + p_served_after_wait
    return {
        "p_wait": p_wait,
        "p_abandon": p_abandon,
        "wait_mean_min": wait,
        "served_wait_mean_min": served_wait / served_total if served_total else math.inf,
    }


def min_windows_erlang_a(
    max_mean_wait_min: float, arrival_rate: float, mean_service: float, mean_patience: float
) -> int:
    """Fewest windows whose Erlang A mean wait (to service or leaving) is at most the
    given minutes; patience keeps it finite even when the load exceeds the windows."""
    load = arrival_rate * mean_service
    for servers in range(1, max(10, int(3 * load) + 50)):
        if erlang_a(servers, arrival_rate, mean_service, mean_patience)["wait_mean_min"] <= (
            max_mean_wait_min
        ):
            return servers
    raise ValueError("no number of windows meets the mean wait in Erlang A")


def min_windows_allen_cunneen(
    max_mean_wait_min: float, arrival_rate: float, mean_service: float, cs2: float, ca2: float = 1
) -> int:
    """Fewest windows whose Allen-Cunneen mean wait is at most the given minutes."""
    load = arrival_rate * mean_service
    for servers in range(max(1, math.floor(load) + 1), int(3 * load) + 50):
        if allen_cunneen_mean_wait(servers, arrival_rate, mean_service, ca2, cs2) <= (
            max_mean_wait_min
        ):
            return servers
    raise ValueError("no number of windows meets the mean wait by Allen-Cunneen")


def allen_cunneen_kpi(
    kpi: str,
    servers: int,
    arrival_rate: float,
    mean_service: float,
    target_wait: float,
    cs2: float,
    ca2: float = 1.0,
) -> float | None:
    """A KPI by the two-moment approximation: Erlang C's waits stretched by
    k = (ca² + cs²) / 2 (the probability of waiting kept, the wait's scale times k)."""
    k = (ca2 + cs2) / 2
    if kpi == "wait_mean_min" or kpi == "time_in_hall_mean_min":
        value = theory.mmc_kpi(kpi, servers, arrival_rate, mean_service, target_wait)
        if value is None or math.isinf(value):
            return value
        extra = mean_service if kpi == "time_in_hall_mean_min" else 0.0
        return (value - extra) * k + extra
    if kpi in ("wait_p50_min", "wait_p90_min", "wait_p95_min"):
        value = theory.mmc_kpi(kpi, servers, arrival_rate, mean_service, target_wait)
        return None if value is None else value * k
    if kpi.startswith("service_level"):
        return theory.mmc_kpi(kpi, servers, arrival_rate, mean_service, target_wait / k)
    return None


def pool_hours(scenario, reps: int = 2, seed: int = 1) -> pd.DataFrame:
    """What reaches each staffed acceptance pool, hour by hour, from a short pilot run:
    tickets an hour, and the mean and squared cv of the service of those tickets."""
    from sim.experiment import run  # the formulas need no simulation; the loads do

    pilot = run(scenario, reps, seed)
    hourly = pilot.hourly_summary
    tickets = hourly[hourly["kpi"] == "tickets"].set_index(["pool", "hour"])["mean"]
    opened = hourly[hourly["kpi"] == "open_windows_mean"].set_index(["pool", "hour"])["mean"]
    log = pilot.capacity.measured(pilot.log[pilot.log["outcome"] == "served"])
    log = log.assign(hour=(log["ticket_at"] // 60).astype(int))
    service = log.groupby(["pool", "hour"], observed=True)["service_min"].agg(["mean", "var"])
    rows = []
    for (name, hour), (mean, var) in service.iterrows():
        pool = scenario.windows.get(str(name))
        if pool is None or pool.stage != "acceptance" or pool.channel != "window":
            continue
        per_hour = float(tickets.get((name, hour), 0.0))
        if not per_hour > 0 or not mean > 0:
            continue
        rows.append(
            {
                "pool": str(name),
                "hour": int(hour),
                "tickets_per_hour": per_hour,
                "service_mean_min": mean,
                "service_cs2": (var / mean**2) if var == var else 1.0,
                "open_windows": float(opened.get((name, hour), float("nan"))),
            }
        )
    return pd.DataFrame(rows)


def quick_answers(scenario, target, reps: int = 2, seed: int = 1) -> pd.DataFrame:
    """Per pool and hour: the offered load and the windows Erlang C, Erlang A (with the
    scenario's patience, when exponential-like: its mean) and Allen-Cunneen say meet
    `target` (a sim.sizing.Target), beside the windows open. Erlang A answers mean-wait
    targets only (its other KPIs need the waiting-time distribution); '—' elsewhere."""
    hours = pool_hours(scenario, reps, seed)
    patience = scenario.patience_min.mean if scenario.patience_min is not None else None
    rows = []
    for _, h in hours.iterrows():
        rate, service, cs2 = h["tickets_per_hour"] / 60, h["service_mean_min"], h["service_cs2"]
        load = rate * service
        row = {**h.to_dict(), "offered_load": load}
        try:
            row["erlang_c"] = theory.min_servers(
                target.kpi, target.op, target.value, rate, service, scenario.target_wait_min
            )
        except ValueError:
            row["erlang_c"] = None
        row["allen_cunneen"] = _min_by(
            lambda c, r=rate, s=service, v=cs2: allen_cunneen_kpi(
                target.kpi, c, r, s, scenario.target_wait_min, v
            ),
            target,
            load,
        )
        row["erlang_a"] = None
        if patience is not None and target.kpi == "wait_mean_min" and target.op == "<=":
            row["erlang_a"] = min_windows_erlang_a(target.value, rate, service, patience)
        rows.append(row)
    table = pd.DataFrame(rows)
    for column in ("erlang_c", "allen_cunneen", "erlang_a"):  # whole windows, or none
        table[column] = pd.array(table[column].tolist(), dtype="Int64")
    return table


def _min_by(kpi_of, target, load: float) -> int | None:
    for servers in range(max(1, math.floor(load) + 1), int(3 * load) + 60):
        value = kpi_of(servers)
        if value is None:
            return None
        if (value <= target.value) if target.op == "<=" else (value >= target.value):
            return servers
    return None
