"""Which matters a visitor with k matters brings: k distinct matters, each matter as
often as its share says.

A visitor's matters are drawn without replacement by order sampling (Efraimidis-Spirakis):
each matter gets a key E / w (E exponential, from a uniform keyed by visitor and matter
name) and the k smallest keys win. With w = share, a visitor's first matter follows the
shares exactly but the later ones do not: large shares are drawn less than their share
(a 0.30 matter came out at 0.288 among visitors with 2 or 3 matters). `weights` finds the
w for which matter j is among a k-matter visitor's matters with probability k x share_j,
so that every matter's share of all matters brought is its `share`, whatever the mix of
matters per visitor. Where k x share would exceed 1 (no visitor brings a matter twice),
`count_targets` lets visitors with fewer matters make up the shortfall.

The inclusion probability of j under order sampling with rates w (sum 1) is

    pi_j = integral over t of  w_j exp(-w_j t) P(fewer than k other keys below t) dt,

the count of other keys below t being Poisson-binomial with probabilities
1 - exp(-w_i t). It is computed on a log-spaced grid of t, the counts of the matters
before and after j by truncated dynamic programming (all terms positive, no
cancellation), and w is found by the fixed point w_j <- w_j * target_j / pi_j.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["count_targets", "inclusion_probabilities", "weights"]

_GRID = 800  # points of the log-spaced t grid
_MAX_ITERATIONS = 200
_TOLERANCE = 1e-7  # largest |pi - target| accepted
_MAX_INCLUSION = 0.99  # cap: a matter in (nearly) every set needs an unbounded weight


def inclusion_probabilities(w: np.ndarray, k: int) -> np.ndarray:
    """P(matter j among the k smallest keys E_j / w_j), for each j (weights > 0)."""
    w = np.asarray(w, dtype=float) / np.sum(w)
    n = len(w)
    if k >= n:
        return np.ones(n)
    t = np.geomspace(1e-6 / w.max(), 60.0 * k / w.min(), _GRID)
    below = -np.expm1(-np.outer(w, t))  # (n, G): P(key_i < t)
    # before[i]: distribution of the count among matters 0..i-1 below t, truncated to
    # 0..k-1 (the tail beyond does not matter); after[i]: among matters i..n-1
    before = np.zeros((n + 1, _GRID, k))
    before[0, :, 0] = 1.0
    for i in range(n):
        before[i + 1] = before[i] * (1 - below[i])[:, None]
        before[i + 1, :, 1:] += before[i, :, :-1] * below[i][:, None]
    after = np.zeros((n + 1, _GRID, k))
    after[n, :, 0] = 1.0
    for i in range(n - 1, -1, -1):
        after[i] = after[i + 1] * (1 - below[i])[:, None]
        after[i, :, 1:] += after[i + 1, :, :-1] * below[i][:, None]
    # P(fewer than k of the others below t) = sum over a + b <= k-1 of before * after
    cumulative_after = np.cumsum(after[1:], axis=2)  # (n, G, k): P(count after <= b)
    fewer = np.zeros((n, _GRID))
    for a in range(k):
        fewer += before[:n, :, a] * cumulative_after[:, :, k - 1 - a]
    density = w[:, None] * np.exp(-np.outer(w, t)) * fewer  # integrand in t
    # trapezoid in log t (dt = t d(log t)), plus the sliver before the grid, where the
    # integrand is w_j to first order
    return np.trapezoid(density * t, np.log(t), axis=1) + w * t[0]


@lru_cache(maxsize=64)
def count_targets(
    shares: tuple[float, ...], matters_per_visitor: tuple[tuple[int, float], ...]
) -> dict[int, tuple[float, ...]]:
    """Count k -> the probability that a k-matter visitor brings each matter, such that
    each matter's share of all matters brought is its share. That is k x share, unless
    a matter is too common for visitors with many matters (k x share above the cap: no
    one brings a matter twice); then visitors with fewer matters make up the shortfall,
    as far as their own caps allow (iterative proportional fitting: rows are matters,
    which must reach their share over the mix of counts; columns are counts, whose
    probabilities sum to k). Zero shares stay zero."""
    s = np.asarray(shares, dtype=float)
    drawn = s > 0
    s = s[drawn] / s[drawn].sum()
    counts = np.array([k for k, _ in matters_per_visitor])
    p = np.array([q for _, q in matters_per_visitor], dtype=float)
    p /= p.sum()
    want = s * (p * counts).sum()  # each matter's expected count per visitor
    cap = np.where(counts == 1, 1.0, _MAX_INCLUSION)
    fixed = counts >= len(s)  # every drawn matter in every set of these
    table = np.column_stack([
        np.ones(len(s)) if f else _capped(k * s, k, c)
        for k, c, f in zip(counts, cap, fixed, strict=True)
    ])  # fmt: skip
    for _ in range(_MAX_ITERATIONS):
        got = table @ p
        if np.max(np.abs(got - want)) < _TOLERANCE:
            break
        table[:, ~fixed] = np.minimum(table[:, ~fixed] * (want / got)[:, None], cap[~fixed])
        for c in np.flatnonzero(~fixed):  # each count's probabilities sum to k again
            table[:, c] = _capped(table[:, c] * counts[c] / table[:, c].sum(), counts[c], cap[c])
    out = {}
    for c, k in enumerate(counts):
        column = np.zeros(len(shares))
        column[drawn] = table[:, c]
        out[int(k)] = tuple(column.tolist())
    return out


@lru_cache(maxsize=64)
def weights(target: tuple[float, ...], k: int) -> np.ndarray:
    """Order-sampling weights whose k-matter draws include matter j with probability
    target_j (targets sum to k, none above the cap; see count_targets). Zero targets
    stay zero: never drawn. The result is read-only (it is cached)."""
    t = np.asarray(target, dtype=float)
    drawn = t > 0
    result = t.copy()
    if k > 1 and drawn.sum() > k:
        result[drawn] = _fitted(t[drawn], k)
    result.setflags(write=False)
    return result


def _fitted(target: np.ndarray, k: int) -> np.ndarray:
    """Weights whose inclusion probabilities are `target`, by a damped fixed point."""
    w = target / target.sum()
    pi = inclusion_probabilities(w, k)
    error, boost = np.max(np.abs(pi - target)), 10.0
    for _ in range(_MAX_ITERATIONS):
        if error < _TOLERANCE or boost < 1:
            break
        # w <- w (target / pi)^a: a = 1 is the plain fixed point; near 1 an inclusion
        # moves little with the weight, so the step grows there, up to `boost`, which
        # halves whenever a step overshoots
        step = np.minimum(1 / (1 - np.minimum(pi, target)), boost)
        trial = w * (target / pi) ** step
        trial /= trial.sum()
        trial_pi = inclusion_probabilities(trial, k)
        trial_error = np.max(np.abs(trial_pi - target))
        if trial_error < error:
            w, pi, error = trial, trial_pi, trial_error
        else:
            boost /= 2
    return w


def _capped(target: np.ndarray, k: int, cap: float = _MAX_INCLUSION) -> np.ndarray:
    """Inclusion targets summing to k with none above the cap."""
    target = target.copy()
    for _ in range(len(target)):
        over = target > cap
        if not over.any():
            break
        free = ~over
        target[over] = cap
        target[free] *= (k - target[over].sum()) / target[free].sum()
    return target
