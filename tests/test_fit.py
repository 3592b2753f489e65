"""`hallsim fit`: a log written from a scenario with known truth is fitted back to that
truth, each parameter within its interval (99%: a few dozen parameters are checked at
once); patience is recovered under heavy censoring, where fitting only the visitors
who gave up is far off; thin data are pooled with a warning; a log that cannot be
fitted is one clear error."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim import load_scenario, simulate_all, with_settings
from sim.calendar import parse_time
from sim.errors import TicketLogError
from sim.fit import fit_tickets
from sim.fit_dists import fit_duration, frozen
from sim.ticketgen import tickets_from_log, write_tickets
from sim.ticketlog import read_tickets
from tests.helpers import ROOT

TRUTH = ROOT / "scenarios/examples/logged-hall.yaml"
_WIDEN = 2.576 / 1.96  # the 95% intervals of the fit, widened to 99%


def _log(scenario, seed: int = 1) -> pd.DataFrame:
    return tickets_from_log(simulate_all(scenario, seed, 0).log)


@pytest.fixture(scope="module")
def truth():
    return load_scenario(TRUTH)


@pytest.fixture(scope="module")
def fitted(truth, tmp_path_factory):
    path = write_tickets(_log(truth), tmp_path_factory.mktemp("fit") / "叫号.csv", headers="zh")
    return fit_tickets(read_tickets(path), name="refit")


def _param(fitted, name: str) -> pd.Series:
    table = fitted.parameters.set_index("parameter")
    return table.loc[name]


def _inside(fitted, name: str, value: float) -> None:
    p = _param(fitted, name)
    centre, low, high = p["value"], p["ci_low"], p["ci_high"]
    if name.endswith((".mean", "speed_factor", "visitors_per_day")) and low > 0:  # log scale
        half = math.log(high / low) / 2 * _WIDEN
        low, high = math.exp(math.log(centre) - half), math.exp(math.log(centre) + half)
    else:
        low, high = centre - (centre - low) * _WIDEN, centre + (high - centre) * _WIDEN
    assert low <= value <= high, f"{name}: truth {value:g} outside [{low:.4g}, {high:.4g}]"


def test_the_fitted_scenario_runs_and_names_its_log(fitted):
    scenario = fitted.scenario
    assert "SHA-256" in scenario.sources[0] and "叫号.csv" in scenario.sources[0]
    assert any("Target wait" in a for a in scenario.assumptions)
    assert len(simulate_all(with_settings(scenario, {"calendar.days": 1}), 1, 0).log) > 0


def test_hours_days_and_demand_are_recovered(truth, fitted):
    cal = fitted.scenario.calendar
    assert (cal.opens_at, cal.cutoff_at) == (truth.calendar.opens_at, truth.calendar.cutoff_at)
    assert (cal.lunch.starts_at, cal.lunch.ends_at) == (720, 810)
    assert cal.start_date == truth.calendar.start_date and set(cal.weekend) == {"sat", "sun"}
    factors = truth.demand.weekday_factors
    mean_factor = np.mean([factors.get(d, 1.0) for d in ("mon", "tue", "wed", "thu", "fri")])
    _inside(fitted, "demand.visitors_per_day", truth.demand.visitors_per_day * mean_factor)
    for day in ("mon", "fri"):
        _inside(fitted, f"demand.weekday_factors.{day}", factors[day] / mean_factor)
    assert fitted.scenario.demand.day_cv == 0  # Poisson days: the dispersion test keeps 0
    # arrivals by truth segment: the fitted shares summed over it
    profile = fitted.scenario.demand.arrival_profile
    starts = [parse_time(k) for k in truth.demand.arrival_profile]
    weights = np.array(list(truth.demand.arrival_profile.values()), dtype=float)
    truth_share = weights / weights.sum()  # a profile's weights are per segment
    n = _param(fitted, "demand.visitors_per_day")["n"] * fitted.scenario.demand.visitors_per_day
    for (a, b), share in zip(
        zip(starts, [*starts[1:], 1e9], strict=True), truth_share, strict=True
    ):
        got = sum(w for k, w in profile.items() if a <= parse_time(k) < b)
        assert abs(got - share) <= 3.3 * math.sqrt(share * (1 - share) / n) + 1e-4, (a, got, share)


def test_matter_mix_and_matters_per_visitor_are_recovered(truth, fitted):
    for name, matter in truth.matters.items():
        _inside(fitted, f"matters.{name}.share", matter.share)
    pmf = fitted.scenario.demand.matters_per_visitor
    assert abs(pmf[2] - truth.demand.matters_per_visitor[2]) < 0.03


def test_service_times_and_speed_factors_are_recovered(truth, fitted):
    comprehensive = fitted.scenario.windows["comprehensive"]
    assert comprehensive.serves == "all"
    _inside(fitted, "windows.comprehensive.speed_factor", 0.8)
    assert fitted.scenario.windows["tax"].speed_factor == 1.0
    for name, matter in truth.matters.items():
        _inside(fitted, f"matters.{name}.service_min.mean", matter.service_min.mean)
    # the cv of the families that have one (exponential: 1)
    _inside(fitted, "matters.business_license.service_min.cv", 0.6)
    _inside(fitted, "matters.social_insurance.service_min.cv", 0.9)


def test_windows_open_by_half_hour_are_recovered(truth, fitted):
    tax = fitted.scenario.windows["tax"]
    assert tax.count == 4 and fitted.scenario.windows["comprehensive"].count == 7
    lunch = fitted.scenario.calendar.lunch
    truth_open = truth.windows["tax"].segments(510)
    fitted_open = tax.segments(510)

    def open_at(segments, t):
        return [n for start, n in segments if start <= t][-1]

    for t in range(510, 990, 30):
        if lunch.starts_at <= t < lunch.ends_at:
            continue
        assert abs(open_at(fitted_open, t) - open_at(truth_open, t)) <= 1, t


def test_patience_is_recovered_with_censoring(fitted):
    _inside(fitted, "patience_min.mean", 40)
    _inside(fitted, "patience_min.cv", 0.5)


def test_patience_under_heavy_censoring_and_the_bias_of_fitting_only_those_who_left(truth):
    # a patient hall: about 1 in 40 visitors gives up; the rest right-censor patience
    patient = with_settings(truth, {"patience_min.mean": 150, "calendar.days": 40})
    result = fit_tickets(_log(patient, seed=2))
    data = result.patience
    assert len(data.exact) < 0.05 * (len(data.exact) + len(data.right))
    _inside(result, "patience_min.mean", 150)
    naive = data.abandoners_only
    assert naive.mean_ci[1] < 100  # only those who left: biased far low, and sure of it


def test_censored_likelihood_against_a_closed_form():
    # exponential with right censoring: the MLE is (sum of all times) / (number of events)
    rng = np.random.default_rng(5)
    patience = rng.exponential(30, 4000)
    wait = rng.exponential(10, 4000)
    left = patience < wait
    fit, _ = fit_duration(patience[left], right=wait[~left], families=("exponential",))
    closed = (patience[left].sum() + wait[~left].sum()) / left.sum()
    assert fit.mean == pytest.approx(closed, rel=1e-4)
    # and a lognormal truth is told from the others by AIC
    x = frozen("lognormal", 8, 1.2).rvs(3000, random_state=rng)
    chosen, _ = fit_duration(x)
    assert chosen.family == "lognormal" and chosen.ks_p > 0.01


def test_without_a_visitor_key_every_ticket_is_a_visitor_and_thin_matters_are_pooled(truth):
    tickets = _log(with_settings(truth, {"calendar.days": 3})).assign(visitor=None)
    rare = tickets["matter"] == "residence_permit"
    keep = ~rare | (rare.cumsum() <= 12)  # 12 tickets of one matter: too few to fit alone
    kept = tickets[keep].reset_index(drop=True)
    result = fit_tickets(kept)
    # every ticket a visitor: matters per visitor are the matters per ticket
    per_ticket = kept["matter"].str.count(r"\+").add(1).value_counts(normalize=True)
    pmf = result.scenario.demand.matters_per_visitor
    assert pmf[2] == pytest.approx(per_ticket[2], abs=1e-3) and per_ticket[2] > 0.1
    assert any("visitor key" in a for a in result.scenario.assumptions)
    assert any("residence_permit" in w and "pooled" in w for w in result.warnings)
    note = _param(result, "matters.residence_permit.service_min.mean")["note"]
    assert note.startswith("pooled")


def test_a_log_that_cannot_be_fitted_is_one_clear_error(truth):
    tickets = _log(with_settings(truth, {"calendar.days": 2}))
    one_day = tickets[tickets["taken_at"].dt.day == tickets["taken_at"].dt.day.iloc[0]]
    with pytest.raises(TicketLogError, match="single day"):
        fit_tickets(one_day)
    with pytest.raises(TicketLogError, match="no served ticket"):
        fit_tickets(tickets.assign(status="abandoned"))


def test_days_that_vary_beyond_poisson_are_measured(truth):
    varied = with_settings(truth, {"demand.day_cv": 0.25, "calendar.days": 60})
    result = fit_tickets(_log(varied, seed=4))
    _inside(result, "demand.day_cv", 0.25)
    assert result.scenario.demand.day_cv > 0.1


@pytest.fixture(scope="module")
def backoffice_truth():
    # without patience: an applicant who gives up after being sent home is not in a
    # case log, which lowers the return-visit estimate (stated in the assumptions)
    truth = load_scenario(ROOT / "scenarios/examples/logged-hall-backoffice.yaml")
    return with_settings(truth, {"calendar.days": 40, "patience_min": None})


def test_the_back_office_is_recovered_from_a_case_log(backoffice_truth, tmp_path):
    from sim.caselog import read_cases
    from sim.ticketgen import cases_from_run, write_cases

    run = simulate_all(backoffice_truth, 3, 0)
    days = backoffice_truth.calendar.horizon_days
    cases = cases_from_run(run.log, run.cases, days)
    assert cases["completed_at"].isna().sum() > 20  # cases still open when the log ends
    path = write_cases(cases, tmp_path / "办件.xlsx", headers="zh")
    result = fit_tickets(tickets_from_log(run.log, days), cases=read_cases(path))
    truth = backoffice_truth.matters
    for name in ("business_license", "social_insurance"):
        _inside(result, f"matters.{name}.instant_share", truth[name].instant_share)
        delay = truth[name].approval.steps[0].delay_days
        _inside(result, f"matters.{name}.approval.delay_days.mean", delay.mean)
        _inside(result, f"matters.{name}.approval.delay_days.cv", delay.cv)
        fitted = result.scenario.matters[name].approval
        assert (fitted.promised_days, fitted.statutory_days) == (
            truth[name].approval.promised_days, truth[name].approval.statutory_days
        )  # fmt: skip
    _inside(result, "matters.business_license.incomplete_share", 0.15)
    assert result.scenario.matters["invoice"].instant_share == 1.0
    assert set(result.scenario.backoffice.teams) == {"market", "social"}
    assert any(line.startswith("Case log") for line in result.scenario.sources)


def test_every_kind_of_faulty_case_row_is_counted(tmp_path):
    from sim.caselog import CASE_FAULT_KINDS, read_cases

    good = {"case_id": "A1", "matter": "tax", "accepted_at": "2025-03-03 09:00:00",
            "completed_at": "2025-03-05 10:00:00", "promised_days": "5",
            "statutory_days": "10", "returns": "0"}  # fmt: skip
    rows = [good, {**good, "case_id": "A2"}]
    bad = {
        "missing_field": {"matter": None},
        "unparsable": {"completed_at": "下周"},
        "completed_before_accepted": {"completed_at": "2025-03-01 10:00:00"},
        "bad_limits": {"promised_days": "12"},
        "bad_returns": {"returns": "-1"},
        "duplicate_id": {"case_id": "A1"},
    }
    for i, change in enumerate(bad.values()):
        rows.append({**good, "case_id": f"B{i}", **change})
    pd.DataFrame(rows).to_csv(tmp_path / "cases.csv", index=False)
    log = read_cases(tmp_path / "cases.csv")
    assert log.fault_counts == dict.fromkeys(CASE_FAULT_KINDS, 1)
    assert list(log.cases["case_id"]) == ["A1", "A2"]


def test_the_case_log_reference_in_docs_is_current():
    from sim.caselog import reference_markdown

    assert reference_markdown() in (ROOT / "docs/fit.md").read_text(encoding="utf-8")


def test_scenario_log_fit_scenario_round_trip_keeps_the_kpis(truth):
    """The fitted scenario's KPIs agree with the original's: for each, the difference of
    means lies within 3.3 standard errors (99.9%, Welch) of zero."""
    from sim.experiment import run

    log = _log(with_settings(truth, {"calendar.days": 40}), seed=5)
    cal = truth.calendar
    refit = fit_tickets(log, name="refit", days=cal.days, opening=(cal.opens_at, cal.closes_at))
    original, fitted = run(truth, reps=6, seed=11).kpis, run(refit.scenario, reps=6, seed=12).kpis
    for kpis in (original, fitted):
        kpis["gave_up"] = kpis["abandoned"] / kpis["visitors"]
    for kpi in ("visitors", "wait_mean_min", "wait_p90_min", "service_level_visitor",
                "gave_up", "utilization", "time_in_hall_mean_min"):  # fmt: skip
        a, b = original[kpi].to_numpy(), fitted[kpi].to_numpy()
        se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
        assert abs(b.mean() - a.mean()) <= 3.3 * se, (kpi, a.mean(), b.mean(), se)


def test_patience_from_tickets_called_absent_is_left_censored():
    """A system that logs no give-up times, only tickets called and absent (过号): each is
    patience shorter than the wait to the call, each served one longer (current-status
    data); the censored fit finds the truth where either kind alone could not."""
    from sim.fit import _patience

    rng = np.random.default_rng(8)
    n = 6000
    patience = frozen("lognormal", 30, 0.5).rvs(n, random_state=rng)
    call = rng.exponential(25, n)
    taken = pd.Timestamp("2025-03-03 09:00") + pd.to_timedelta(rng.uniform(0, 300, n), "min")
    called = taken + pd.to_timedelta(call, "min")
    absent = patience < call
    tickets = pd.DataFrame({
        "taken_at": taken, "called_at": called,
        "finished_at": pd.Series(called + pd.Timedelta(minutes=5)).where(~absent),
        "status": np.where(absent, "no_show", "served"), "booked": False,
    })  # fmt: skip
    data = _patience(tickets, "aic")
    assert len(data.exact) == 0 and len(data.left) == absent.sum() > 500
    low, high = data.fit.mean_ci
    half = (high - low) / 2 * _WIDEN
    assert data.fit.mean - half <= 30 <= data.fit.mean + half
