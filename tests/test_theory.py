import math

import pytest

from sim import theory


def _erlang_b_direct(c: int, a: float) -> float:
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (2, 1.0), (5, 4.0), (10, 7.5), (30, 25.0)])
def test_erlang_b_recursion_matches_textbook_formula(c, a):
    assert theory.erlang_b(c, a) == pytest.approx(_erlang_b_direct(c, a), rel=1e-12)


def test_known_values():
    assert theory.erlang_c(1, 0.8) == pytest.approx(0.8)  # M/M/1: P(wait) = rho
    assert theory.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert theory.mmc_mean_wait(1, 0.8, 1.0) == pytest.approx(4.0)  # rho/(1-rho)/mu


def test_large_c_is_stable_where_the_textbook_formula_overflows():
    with pytest.raises(OverflowError):
        _erlang_b_direct(200, 190.0)
    c = theory.erlang_c(200, 190.0)
    assert 0 < c < 1 and math.isfinite(c)
    assert 0 < theory.erlang_c(2000, 1950.0) < 1


def test_wait_quantile_inverts_the_tail():
    q90 = theory.mmc_wait_quantile(5, 0.45, 10, 0.9)
    assert theory.mmc_wait_tail(5, 0.45, 10, q90) == pytest.approx(0.1)
    assert theory.mmc_wait_quantile(50, 1.0, 10, 0.5) == 0.0  # most do not wait


def test_unstable_load_is_refused():
    with pytest.raises(ValueError, match="unstable"):
        theory.erlang_c(3, 3.0)
