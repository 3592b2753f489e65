"""Arrivals follow the profile (statistical tests) and visitors bring the right matters."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim import load_scenario, sampling
from sim.demand import arrival_times, draw_day
from sim.streams import Streams
from tests.helpers import ROOT, build, mmc_dict

SEGMENTS = [(480, 540, 12.0), (540, 600, 16.0), (600, 720, 20.0), (720, 870, 0.0), (870, 1020, 9.0)]


def test_arrival_counts_per_segment_match_the_profile():
    rng = np.random.default_rng(1)
    days = [arrival_times(SEGMENTS, 500.0, rng) for _ in range(400)]
    edges = [s for s, _, _ in SEGMENTS] + [SEGMENTS[-1][1]]
    counts = np.array([np.histogram(d, bins=edges)[0] for d in days]).sum(axis=0)
    weights = np.array([w for _, _, w in SEGMENTS])
    expected = counts.sum() * weights / weights.sum()
    assert counts[3] == 0  # a zero-weight segment (lunch) gets nobody
    used = weights > 0
    chi2 = stats.chisquare(counts[used], expected[used])
    assert chi2.pvalue > 0.001


def test_arrivals_are_uniform_within_a_segment_and_daily_counts_are_poisson():
    rng = np.random.default_rng(2)
    days = [arrival_times(SEGMENTS, 300.0, rng) for _ in range(400)]
    totals = np.array([len(d) for d in days])
    # Poisson: variance equals the mean (dispersion test, two-sided 0.1%)
    dispersion = ((totals - totals.mean()) ** 2).sum() / totals.mean()
    p = stats.chi2.cdf(dispersion, len(totals) - 1)
    assert 0.0005 < p < 0.9995
    assert abs(totals.mean() - 300) < 4 * np.sqrt(300 / len(totals))
    within = np.concatenate([d[(d >= 600) & (d < 720)] for d in days])
    assert stats.kstest(within, stats.uniform(loc=600, scale=120).cdf).pvalue > 0.001


def test_matter_mix_and_count_per_visitor_match_the_scenario():
    scenario = load_scenario(ROOT / "scenarios/quanzhou-2021-department.yaml")
    streams = Streams(3, 0)
    days = [draw_day(scenario, streams, day) for day in range(20)]
    n_matters = np.concatenate([d.n_matters for d in days])
    pmf = scenario.demand.matters_per_visitor
    observed = np.array([(n_matters == k).sum() for k in sorted(pmf)])
    expected = len(n_matters) * np.array([pmf[k] for k in sorted(pmf)])
    assert stats.chisquare(observed, expected).pvalue > 0.001
    # distinct matters per visitor, never repeated
    for d in days[:3]:
        for row, n in zip(d.matters, d.n_matters, strict=True):
            assert len(set(row[:n])) == n and (row[n:] == -1).all()
    # single-matter visitors pick matters in proportion to their shares
    singles = np.concatenate([d.matters[d.n_matters == 1, 0] for d in days])
    shares = np.array([m.share for m in scenario.matters.values()])
    counts = np.bincount(singles, minlength=len(shares))
    assert stats.chisquare(counts, len(singles) * shares).pvalue > 0.001


def test_every_matter_is_its_share_of_all_matters_brought_whatever_the_count():
    """Visitors with 2 or 3 distinct matters bring a matter of share 0.30 as often as its
    share says (order sampling with the share as weight gave 0.288, 7 standard errors
    off here), and each count of matters keeps the shares on its own."""
    raw = mmc_dict(2, 0.5, 5.0, days=1)
    shares = {"a": 0.30, "b": 0.25, "c": 0.20, "d": 0.15, "e": 0.07, "f": 0.03}
    raw["matters"] = {
        m: {"department": m, "share": p, "service_min": {"dist": "fixed", "value": 1}}
        for m, p in shares.items()
    }
    raw["windows"] = {"all": {"count": 2, "serves": "all"}}
    raw["demand"] |= {"visitors_per_day": 25_000, "matters_per_visitor": {1: 0.4, 2: 0.4, 3: 0.2}}
    scenario = build(raw)
    days = [draw_day(scenario, Streams(5, 0), day) for day in range(2)]
    expected = np.array(list(shares.values()))
    for k in (None, 2, 3):
        brought = np.concatenate(
            [d.matters[(d.n_matters == k) if k else slice(None)].ravel() for d in days]
        )
        brought = brought[brought >= 0]
        counts = np.bincount(brought, minlength=len(expected))
        assert stats.chisquare(counts, len(brought) * expected).pvalue > 0.001, k


def test_a_matter_too_common_for_three_matters_keeps_its_share_overall():
    """Share 0.4 with a fifth of visitors bringing 3 distinct matters: they can bring it
    at most once (1/3 of their matters); visitors with 1 and 2 matters make up the rest,
    so its share of all matters brought is still 0.4."""
    raw = mmc_dict(2, 0.5, 5.0, days=1)
    shares = {"a": 0.40, "b": 0.25, "c": 0.20, "d": 0.10, "e": 0.05}
    raw["matters"] = {
        m: {"department": m, "share": p, "service_min": {"dist": "fixed", "value": 1}}
        for m, p in shares.items()
    }
    raw["windows"] = {"all": {"count": 2, "serves": "all"}}
    raw["demand"] |= {"visitors_per_day": 30_000, "matters_per_visitor": {1: 0.5, 2: 0.3, 3: 0.2}}
    days = [draw_day(build(raw), Streams(7, 0), day) for day in range(2)]
    brought = np.concatenate([d.matters.ravel() for d in days])
    brought = brought[brought >= 0]
    counts = np.bincount(brought, minlength=len(shares))
    assert stats.chisquare(counts, len(brought) * np.array(list(shares.values()))).pvalue > 0.001
    three = np.concatenate([d.matters[d.n_matters == 3].ravel() for d in days])
    assert (three == 0).mean() == pytest.approx(0.99 / 3, abs=0.01)  # capped: 0.99 of them


def test_order_sampling_inclusion_probabilities_match_the_closed_form_for_two():
    """P(j among 2 drawn successively with probabilities p) = p_j + sum over i != j of
    p_i p_j / (1 - p_i); the weights found reach k x share."""
    p = np.array([0.3, 0.28, 0.2, 0.15, 0.07])
    closed = p + np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(5) if i != j)
                           for j in range(5)])  # fmt: skip
    np.testing.assert_allclose(sampling.inclusion_probabilities(p, 2), closed, atol=1e-6)
    for k in (2, 3):
        w = sampling.weights(tuple(k * p), k)
        np.testing.assert_allclose(sampling.inclusion_probabilities(w, k), k * p, atol=1e-5)


def test_order_sampling_for_three_agrees_with_drawing_it_and_caps_what_cannot_hold():
    """k = 3 against 200,000 direct draws (99.9% binomial tolerance); a share of 0.6 with
    two matters per visitor cannot hold (it would be in 120% of sets): it is capped at
    0.99, the weights stay read-only, and the others share the rest."""
    p = np.array([0.3, 0.25, 0.2, 0.15, 0.07, 0.03])
    n = 200_000
    keys = np.random.default_rng(1).exponential(size=(n, len(p))) / p
    chosen = np.argsort(keys, axis=1)[:, :3]
    drawn = np.bincount(chosen.ravel(), minlength=len(p)) / n
    pi = sampling.inclusion_probabilities(p, 3)
    assert (np.abs(drawn - pi) < 3.3 * np.sqrt(pi * (1 - pi) / n)).all()
    two = sampling.count_targets((0.6, 0.2, 0.1, 0.1), ((2, 1.0),))[2]
    capped = sampling.weights(two, 2)
    assert not capped.flags.writeable
    included = sampling.inclusion_probabilities(capped, 2)
    assert included[0] == pytest.approx(0.99, abs=1e-4) and included.sum() == pytest.approx(2)
    np.testing.assert_allclose(included[1:] / included[1:].sum(), [0.5, 0.25, 0.25], atol=0.01)


def test_the_share_who_book_is_the_share_weighted_booked_share_whatever_the_count():
    """A visitor books with the mean booked_share of their matters, so one- and
    two-matter visitors book at sum(share x booked_share) = 0.3 x 0.5 + 0.7 x 0.1."""
    raw = mmc_dict(4, 0.5, 5.0, days=1)
    raw["matters"] = {
        "a": {"department": "a", "share": 0.3, "booked_share": 0.5,
              "service_min": {"dist": "fixed", "value": 1}},
        "b": {"department": "b", "share": 0.5, "booked_share": 0.1,
              "service_min": {"dist": "fixed", "value": 1}},
        "c": {"department": "c", "share": 0.2, "booked_share": 0.1,
              "service_min": {"dist": "fixed", "value": 1}},
    }  # fmt: skip
    raw["windows"] = {"all": {"count": 4, "serves": "all"}}
    raw["appointments"] = {"slot_min": 30, "early_min": {"dist": "fixed", "value": 0}}
    raw["demand"] |= {"visitors_per_day": 30_000, "matters_per_visitor": {1: 0.5, 2: 0.5}}
    day = draw_day(build(raw), Streams(3, 0), 0)
    expected = 0.3 * 0.5 + 0.7 * 0.1
    for k in (1, 2):
        booked = ~np.isnan(day.slot_at[day.n_matters == k])
        half_width = 3.3 * np.sqrt(expected * (1 - expected) / len(booked))
        assert abs(booked.mean() - expected) < half_width, (k, booked.mean())


def test_the_model_admits_exactly_the_drawn_arrivals_at_their_times():
    """Through the whole pipeline: first-visit arrival times in the log are the drawn ones."""
    from sim import simulate

    scenario = load_scenario(ROOT / "scenarios/quanzhou-2021-department.yaml")
    log = simulate(scenario, 8, 0)
    drawn = draw_day(scenario, Streams(8, 0), 0).arrival_at
    first = log[log["visit"] == 1].sort_values("visitor")["arrival_at"].to_numpy()
    np.testing.assert_allclose(first, drawn)
    hours = np.histogram(first, bins=np.arange(480, 1021, 60))[0]
    assert hours[4:6].sum() == 0  # 12:00-14:00: nobody comes during lunch (weight 0)


def test_day_cv_spreads_daily_counts_beyond_poisson_by_its_gamma_level():
    # Var = m + m^2 cv^2 for a Poisson count on a gamma level of mean 1 and that cv
    raw = mmc_dict(servers=5, arrival_rate_per_min=0.3, mean_service_min=1.0, days=400)
    scenario = build(raw, **{"demand.day_cv": 0.2})
    streams = Streams(3, 0)
    totals = np.array([len(draw_day(scenario, streams, d).arrival_at) for d in range(400)])
    m = scenario.demand.visitors_per_day
    n = len(totals)
    variance = totals.var(ddof=1)
    low = (n - 1) * variance / stats.chi2.ppf(0.9995, n - 1)
    high = (n - 1) * variance / stats.chi2.ppf(0.0005, n - 1)
    assert low <= m + m**2 * 0.04 <= high and low > 2 * m  # and far from Poisson (m)
    assert abs(totals.mean() - m) < 4 * np.sqrt((m + m**2 * 0.04) / n)
