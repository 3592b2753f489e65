"""Queueing formulas for what-ifs and for validating the simulation.

Erlang B by its recursion B(0)=1, B(k)=a·B(k-1)/(k + a·B(k-1)): stable for any c,
where the textbook factorial formula overflows near c = 200.
"""

from __future__ import annotations

import math

__all__ = ["erlang_b", "erlang_c", "mmc_mean_wait", "mmc_wait_quantile", "mmc_wait_tail"]


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
