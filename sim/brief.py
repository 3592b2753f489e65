"""The answer first: a report's opening in plain words.

Every number in a brief is a `Value` that names the CSV cell it was read from (file,
row, column), so the page can carry it (HTML `<data>`) and a test can check that what a
planner reads equals what the folder's tables hold. The sentences are templates in the
message catalog (sim.i18n), so the brief reads in English or in Chinese.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pandas as pd

from sim.compare import Comparison
from sim.experiment import RunResult
from sim.i18n import kpi_heading, tr
from sim.tables import ci_level

__all__ = ["Brief", "Value", "comparison_brief", "display", "run_brief", "sizing_brief"]


@dataclass(frozen=True)
class Value:
    """A number in a sentence and the CSV cell it comes from."""

    value: float
    unit: str  # "min", "share", "count": decides how it is shown
    file: str  # e.g. "summary.csv"
    row: tuple[tuple[str, str], ...]  # column -> value that pick the row
    column: str  # e.g. "mean"

    @property
    def text(self) -> str:
        return display(self.value, self.unit)


Part = str | Value


@dataclass(frozen=True)
class Brief:
    """A report section: sentences made of text and Values."""

    title: str
    sentences: tuple[tuple[Part, ...], ...]

    def plain(self) -> str:
        """The brief as text, one sentence a line (a notebook or a terminal)."""
        lines = ("".join(p if isinstance(p, str) else p.text for p in s) for s in self.sentences)
        return "\n".join([self.title, *(f"• {line}" for line in lines)])


def display(value: float, unit: str) -> str:
    """How a brief shows a number: minutes to 2 decimals, shares as %, counts whole."""
    if math.isnan(value):
        return "—"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "signed_min":
        return f"{value:+.2f}"
    return f"{value:.2f}"


def _t(template: str) -> str:
    """Marks a sentence template chosen before `_sentence` gets it, so the catalog's
    extraction finds it (keyword `_t`); `_sentence` translates it."""
    return template


def _sentence(template: str, **values: Part) -> tuple[Part, ...]:
    """Translate `template` and put the Values in its {placeholders}."""
    pieces = re.split(r"\{(\w+)\}", tr(template))
    return tuple(values[p] if i % 2 else p for i, p in enumerate(pieces) if p or i % 2)


def _cell(frame: pd.DataFrame, file: str, column: str, unit: str, **keys: object) -> Value:
    rows = frame
    for name, wanted in keys.items():
        rows = rows[rows[name] == wanted]
    if len(rows) != 1:
        raise LookupError(f"{file}: {len(rows)} rows for {keys}")
    row = tuple((name, str(wanted)) for name, wanted in keys.items())  # as the CSV reads
    return Value(float(rows[column].iloc[0]), unit, file, row, column)


def _unit(kpi: str) -> str:
    from sim.kpis import KPIS

    unit = KPIS[kpi].unit
    return unit if unit in ("share", "min") else "count" if unit in _COUNTED else "number"


_COUNTED = ("people", "windows", "tickets", "applications", "cases", "staff")
GOAL_SHARE = 0.9  # the brief reads target_wait_min as "9 in 10 visitors wait at most it"


def _no_ci(*values: Value) -> bool:
    """One replication (or none to compare): there is no interval to speak of."""
    return any(math.isnan(v.value) for v in values)


def _target(share: Value, low: Value, high: Value) -> str:
    """Do 9 in 10 visitors wait at most the target (those who gave up count as not), with
    the whole CI on the right side? With one replication, the mean decides."""
    if _no_ci(low, high):
        return (
            tr("met (one replication, no CI)")
            if share.value >= GOAL_SHARE
            else tr("not met (one replication, no CI)")
        )
    if low.value >= GOAL_SHARE:
        return tr("met")
    if high.value < GOAL_SHARE:
        return tr("not met")
    return tr("not settled (its 95% CI crosses the target)")


# -- one run -----------------------------------------------------------------------------
def run_brief(result: RunResult) -> Brief:
    summary = result.summary

    def kpi(name: str, column: str = "mean") -> Value:
        return _cell(summary, "summary.csv", column, _unit(name), kpi=name)

    days = str(result.scenario.calendar.days)
    sentences = [
        _sentence(
            _t(
                "{windows} staffed windows; {visitors} visitor trips in one day, of which "
                "{left} gave up."
            )
            if days == "1"
            else _t(
                "{windows} staffed windows; {visitors} visitor trips over {days} days, of "
                "which {left} gave up."
            ),
            windows=kpi("windows"),
            visitors=kpi("visitors"),
            days=days,
            left=kpi("abandoned"),
        )
    ]
    mean, low, high = (kpi("wait_mean_min", c) for c in ("mean", "ci_low", "ci_high"))
    if _no_ci(low, high):
        sentences.append(
            _sentence(
                "Mean wait per visitor: {mean} min (one replication, no CI); 90th percentile: "
                "{p90} min.",
                mean=mean,
                p90=kpi("wait_p90_min"),
            )
        )
    else:
        sentences.append(
            _sentence(
                "Mean wait per visitor: {mean} min (95% CI {low} to {high}); 90th percentile: "
                "{p90} min.",
                mean=mean,
                low=low,
                high=high,
                p90=kpi("wait_p90_min"),
            )
        )
    share, low, high = (kpi("service_level_visitor", c) for c in ("mean", "ci_low", "ci_high"))
    sentences.append(
        _sentence(
            "Target, 9 in 10 visitors wait at most {target} min in all: {share} do (those who "
            "gave up do not): {verdict}.",
            target=f"{result.scenario.target_wait_min:g}",
            share=share,
            verdict=_target(share, low, high),
        )
    )
    pools = result.pools_summary
    waits = pools[pools["kpi"] == "wait_mean_min"].sort_values("mean", ascending=False)
    if len(waits) > 1:
        worst = str(waits["pool"].iloc[0])
        sentences.append(
            _sentence(
                "Longest waits at {pool}: {mean} min on average, "
                "with its windows busy {utilization} of the time.",
                pool=worst,
                mean=_cell(pools, "pools.csv", "mean", "min", pool=worst, kpi="wait_mean_min"),
                utilization=_cell(
                    pools, "pools.csv", "mean", "share", pool=worst, kpi="utilization"
                ),
            )
        )
    return Brief(tr("The answer"), tuple(sentences))


# -- a comparison ------------------------------------------------------------------------
def _change(
    differences: pd.DataFrame, scenario: str, kpi: str, file: str = "compare.csv"
) -> dict[str, Value]:
    def cell(column: str, unit: str) -> Value:
        return _cell(differences, file, column, unit, scenario=scenario, kpi=kpi)

    unit = _unit(kpi)
    signed = "signed_min" if unit == "min" else unit
    return {
        "before": cell("baseline_mean", unit),
        "after": cell("mean", unit),
        "change": cell("diff", signed),
        "low": cell("ci_low", signed),
        "high": cell("ci_high", signed),
    }


def _before_after(
    change: dict[str, Value], level: str, without_ci: str, with_ci: str, **words: Part
) -> tuple[Part, ...]:
    """A KPI before and after with the CI of its paired change, or the template that says
    there is none (one replication)."""
    template = without_ci if _no_ci(change["low"], change["high"]) else with_ci
    return _sentence(template, **change, level=level, **words)


def _wait_change(change: dict[str, Value], level: str, p90: bool) -> tuple[Part, ...]:
    """A wait before and after, with the paired change, its CI and whether it is real."""
    real = change["low"].value > 0 or change["high"].value < 0
    verdict = tr("a real change") if real else tr("within the noise of the replications")
    if p90:
        return _before_after(
            change, level,
            _t("90th percentile wait: {before} min before, {after} min after (change {change} "
               "min; one replication, no CI)."),
            _t("90th percentile wait: {before} min before, {after} min after (change {change} "
               "min, {level} CI {low} to {high}: {verdict})."),
            verdict=verdict,
        )  # fmt: skip
    return _before_after(
        change, level,
        _t("Mean wait per visitor: {before} min before, {after} min after (change {change} "
           "min; one replication, no CI)."),
        _t("Mean wait per visitor: {before} min before, {after} min after (change {change} "
           "min, {level} CI {low} to {high}: {verdict})."),
        verdict=verdict,
    )  # fmt: skip


def comparison_brief(comparison: Comparison) -> Brief:
    summary = pd.concat([r.summary for r in comparison.results])
    level = ci_level(comparison.confidence)
    sentences: list[tuple[Part, ...]] = []
    for result in comparison.results[1:]:
        name = result.scenario.name
        same = summary[summary["kpi"] == "windows"].groupby("scenario")["mean"].first()
        template = (
            _t("{after_name} and {before_name} both have {after} staffed windows.")
            if same.get(name) == same.get(comparison.baseline)
            else _t("{after_name} has {after} staffed windows where {before_name} has {before}.")
        )
        sentences.append(
            _sentence(
                template,
                after_name=name,
                before_name=comparison.baseline,
                after=_cell(summary, "summary.csv", "mean", "count", scenario=name, kpi="windows"),
                before=_cell(
                    summary,
                    "summary.csv",
                    "mean",
                    "count",
                    scenario=comparison.baseline,
                    kpi="windows",
                ),
            )
        )
        for kpi, p90 in (("wait_mean_min", False), ("wait_p90_min", True)):
            sentences.append(_wait_change(_change(comparison.overall, name, kpi), level, p90))
        targets = (comparison.results[0].scenario.target_wait_min,
                   result.scenario.target_wait_min)  # fmt: skip
        sentences.append(_targets(summary, comparison.baseline, name, targets))
        left = _change(comparison.overall, name, "abandoned")
        if left["before"].value > 0 or left["after"].value > 0:
            sentences.append(
                _before_after(
                    left, level,
                    _t("People who gave up: {before} before, {after} after (one replication, "
                       "no CI)."),
                    _t("People who gave up: {before} before, {after} after ({level} CI of the "
                       "change {low} to {high})."),
                )
            )  # fmt: skip
        sentences.append(_matters(comparison.by_matter, name))
        cases = comparison.cases
        if result.scenario.whole_case and "kpi" in cases and cases["kpi"].eq("same_day_rate").any():
            sentences.append(
                _before_after(
                    _change(cases, name, "same_day_rate", "compare_cases.csv"), level,
                    _t("Applications finished the same day: {before} before, {after} after "
                       "(one replication, no CI)."),
                    _t("Applications finished the same day: {before} before, {after} after "
                       "({level} CI of the change {low} to {high})."),
                )
            )  # fmt: skip
    return Brief(tr("The answer"), tuple(sentences))


def _targets(summary: pd.DataFrame, before: str, after: str, targets: tuple[float, float]) -> tuple:
    """The 9-in-10 target before and after, on the service level per visitor (each
    measured against its own scenario's target: both are said when they differ)."""

    def cells(name: str) -> list[Value]:
        return [
            _cell(summary, "summary.csv", column, "share", scenario=name,
                  kpi="service_level_visitor")
            for column in ("mean", "ci_low", "ci_high")
        ]  # fmt: skip

    was, now = cells(before), cells(after)
    template = (
        _t("Target, 9 in 10 visitors wait at most {target} min in all (those who gave up do "
           "not): {share_before} do before, {before}; {share_after} after, {after}.")
        if targets[0] == targets[1]
        else _t("Target, 9 in 10 visitors wait at most the scenario's target in all ({target} "
                "min before, {target_after} min after; those who gave up do not): "
                "{share_before} do before, {before}; {share_after} after, {after}.")
    )  # fmt: skip
    return _sentence(
        template,
        target=f"{targets[0]:g}",
        target_after=f"{targets[1]:g}",
        before=_target(*was),
        after=_target(*now),
        share_before=was[0],
        share_after=now[0],
    )


def _matters(by_matter: pd.DataFrame, scenario: str, named: int = 3) -> tuple:
    """How many matters wait longer and shorter, naming those that lose most."""
    if by_matter.empty or "scenario" not in by_matter:  # no matter in both designs
        return _sentence("The two designs share no matter to compare.")
    waits = by_matter[(by_matter["scenario"] == scenario) & (by_matter["kpi"] == "wait_mean_min")]
    if waits.empty:
        return _sentence("The two designs share no matter to compare.")
    worse = waits[waits["ci_low"] > 0].sort_values("diff", ascending=False)
    better = waits[waits["ci_high"] < 0]
    # counts of rows, not cells: shown as text
    counts = {"worse": str(len(worse)), "better": str(len(better)), "matters": str(len(waits))}
    if worse.empty:
        return _sentence(
            "Of {matters} matters, none waits longer and {better} wait less.", **counts
        )
    parts = list(
        _sentence(
            "Of {matters} matters, {worse} wait longer and {better} wait less; most of all: ",
            **counts,
        )
    )
    for i, matter in enumerate(worse["matter"].head(named)):
        if i:
            parts.append(tr(", "))
        change = _cell(waits, "compare_matters.csv", "diff", "signed_min", scenario=scenario,
                       kpi="wait_mean_min", matter=matter)  # fmt: skip
        parts += _sentence("{matter} ({change} min)", matter=str(matter), change=change)
    parts.append(tr("."))
    return tuple(parts)


# -- sizing ------------------------------------------------------------------------------
def sizing_brief(
    tried: pd.DataFrame,
    sized: dict[str, int],
    current: dict[str, int],
    target,
    hourly: frozenset[str] = frozenset(),
) -> Brief:
    """Per pool: the fewest windows meeting `target`, the KPI there and one window below
    (rows of tried.csv). Pools in `hourly` (they have a schedule) were held to the target
    in every hour: the day's CI is then context, not the verdict."""
    column, unit = f"{target.kpi}_mean", _unit(target.kpi)

    def at(pool: str, count: int, what: str) -> Value:
        return _cell(tried, "tried.csv", what, unit, pool=pool, windows=count)

    sentences = []
    for pool, windows in sized.items():
        cells = {"value": at(pool, windows, column), "low": at(pool, windows, "ci_low"),
                 "high": at(pool, windows, "ci_high")}  # fmt: skip
        words = {"pool": str(pool), "windows": str(windows), "target": str(target),
                 "current": str(current.get(pool, "—")),
                 "kpi": kpi_heading(target.kpi)}  # fmt: skip
        if pool in hourly:
            template = _t(
                "{pool}: {windows} windows meet {target} in every hour (now {current}); over "
                "the day {kpi} is {value} (95% CI {low} to {high})."
            )
        else:
            template = _t(
                "{pool}: {windows} windows meet {target} (now {current}); there {kpi} is "
                "{value} (95% CI {low} to {high})."
            )
        sentences.append(_sentence(template, **words, **cells))
        below = windows - 1
        if ((tried["pool"] == pool) & (tried["windows"] == below)).any():
            cells = {"value": at(pool, below, column), "low": at(pool, below, "ci_low"),
                     "high": at(pool, below, "ci_high")}  # fmt: skip
            template = (
                _t("With one window fewer ({windows}) some hour misses it; over the day it is "
                   "{value} (95% CI {low} to {high}).")
                if pool in hourly
                else _t("With one window fewer ({windows}) it is {value} (95% CI {low} to "
                        "{high}): not met.")
            )  # fmt: skip
            sentences.append(_sentence(template, windows=str(below), **cells))
    return Brief(tr("The answer"), tuple(sentences))
