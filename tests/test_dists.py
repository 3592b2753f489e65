"""Every distribution sampler draws what it says: KS against scipy's distribution, or
exact frequencies for the empirical one, and means that agree with `.mean`."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter
from scipy import stats

from sim.dists import Distribution

SPEC = TypeAdapter(Distribution)
N = 20_000


def _sigma(cv: float) -> float:
    return math.sqrt(math.log1p(cv**2))


CASES = [
    ({"dist": "exponential", "mean": 7.0}, stats.expon(scale=7.0)),
    ({"dist": "gamma", "mean": 6.0, "cv": 0.5}, stats.gamma(a=4.0, scale=1.5)),
    ({"dist": "gamma", "mean": 3.0, "cv": 2.0}, stats.gamma(a=0.25, scale=12.0)),
    (
        {"dist": "lognormal", "mean": 10.0, "cv": 0.9},
        stats.lognorm(s=_sigma(0.9), scale=10.0 * math.exp(-(_sigma(0.9) ** 2) / 2)),
    ),
    (
        {"dist": "lognormal", "mean": 2.0, "cv": 15.0},
        stats.lognorm(s=_sigma(15.0), scale=2.0 * math.exp(-(_sigma(15.0) ** 2) / 2)),
    ),
    ({"dist": "triangular", "min": 2, "mode": 3, "max": 9}, stats.triang(c=1 / 7, loc=2, scale=7)),
    ({"dist": "triangular", "min": 2, "mode": 2, "max": 9}, stats.triang(c=0, loc=2, scale=7)),
    ({"dist": "uniform", "min": 1, "max": 4}, stats.uniform(loc=1, scale=3)),
]


@pytest.mark.parametrize(("spec", "reference"), CASES, ids=[c[0]["dist"] for c in CASES])
def test_sampler_matches_its_distribution(spec, reference):
    dist = SPEC.validate_python(spec)
    draws = dist.sample(np.random.default_rng(1), N)
    assert np.isfinite(draws).all() and (draws >= 0).all()
    assert stats.kstest(draws, reference.cdf).pvalue > 0.001
    assert dist.mean == pytest.approx(reference.mean(), rel=1e-9)
    if reference.std() / reference.mean() < 3:  # heavy tails: the sample mean is too noisy
        half = 4 * reference.std() / math.sqrt(N)
        assert abs(draws.mean() - dist.mean) < half


def test_fixed_is_always_its_value():
    dist = SPEC.validate_python({"dist": "fixed", "value": 4.5})
    assert (dist.sample(np.random.default_rng(0), 100) == 4.5).all() and dist.mean == 4.5


def test_empirical_resamples_its_values_with_equal_chances():
    values = (1.0, 2.0, 2.0, 7.5)
    dist = SPEC.validate_python({"dist": "empirical", "values": values})
    draws = dist.sample(np.random.default_rng(2), N)
    counts = [(draws == v).sum() for v in (1.0, 2.0, 7.5)]
    assert stats.chisquare(counts, [N / 4, N / 2, N / 4]).pvalue > 0.001
    assert dist.mean == pytest.approx(np.mean(values))


def test_quantiles_are_monotone_so_common_random_numbers_pair_visitors():
    u = np.linspace(0.001, 0.999, 999)
    for spec, _ in CASES:
        q = SPEC.validate_python(spec).quantile(u)
        assert (np.diff(q) >= 0).all(), spec
