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
from sim.i18n import tr

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
    return "share" if unit == "share" else "min" if unit == "min" else "count"


def _target(p90: Value, high: Value, low: Value, target_min: float) -> str:
    """Is the 90th percentile wait within the target, with its CI on the right side?"""
    if high.value <= target_min:
        return tr("met")
    if low.value > target_min:
        return tr("not met")
    return tr("not settled (its 95% CI crosses the target)")


# -- one run -----------------------------------------------------------------------------
def run_brief(result: RunResult) -> Brief:
    summary = result.summary

    def kpi(name: str, column: str = "mean") -> Value:
        return _cell(summary, "summary.csv", column, _unit(name), kpi=name)

    target = result.scenario.target_wait_min
    p90, p90_low, p90_high = (
        kpi("wait_p90_min"),
        kpi("wait_p90_min", "ci_low"),
        kpi("wait_p90_min", "ci_high"),
    )
    sentences = [
        _sentence(
            "{windows} staffed windows serve {visitors} visitor trips a day.",
            windows=kpi("windows"),
            visitors=kpi("visitors"),
        ),
        _sentence(
            "Mean wait per visitor: {mean} min (95% CI {low} to {high}); "
            "90th percentile: {p90} min.",
            mean=kpi("wait_mean_min"),
            low=kpi("wait_mean_min", "ci_low"),
            high=kpi("wait_mean_min", "ci_high"),
            p90=p90,
        ),
        _sentence(
            "Target, 9 in 10 visitors wait at most {target} min: {verdict}.",
            target=f"{target:g}",
            verdict=_target(p90, p90_high, p90_low, target),
        ),
    ]
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


def _verdict(change: dict[str, Value]) -> str:
    low, high = change["low"].value, change["high"].value
    if low > 0 or high < 0:
        return tr("a real change")
    return tr("within the noise of the replications")


def comparison_brief(comparison: Comparison) -> Brief:
    summary = pd.concat([r.summary for r in comparison.results])
    sentences: list[tuple[Part, ...]] = []
    for result in comparison.results[1:]:
        name = result.scenario.name
        sentences.append(
            _sentence(
                "{after_name} has {after} staffed windows where {before_name} has {before}.",
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
        mean = _change(comparison.overall, name, "wait_mean_min")
        sentences.append(
            _sentence(
                "Mean wait per visitor: {before} min before, {after} min after "
                "(change {change} min, 95% CI {low} to {high}: {verdict}).",
                **mean,
                verdict=_verdict(mean),
            )
        )
        p90 = _change(comparison.overall, name, "wait_p90_min")
        sentences.append(
            _sentence(
                "90th percentile wait: {before} min before, {after} min after "
                "(change {change} min, 95% CI {low} to {high}: {verdict}).",
                **p90,
                verdict=_verdict(p90),
            )
        )
        target_min = result.scenario.target_wait_min
        sentences.append(_targets(summary, comparison.baseline, name, target_min))
        sentences.append(_matters(comparison.by_matter, name))
        if result.scenario.whole_case and not comparison.cases.empty:
            change = _change(comparison.cases, name, "same_day_rate", "compare_cases.csv")
            sentences.append(
                _sentence(
                    "Applications finished the same day: {before} before, {after} after "
                    "(95% CI of the change {low} to {high}).",
                    **change,
                )
            )
    return Brief(tr("The answer"), tuple(sentences))


def _targets(summary: pd.DataFrame, before: str, after: str, target_min: float) -> tuple:
    def verdict(name: str) -> str:
        cells = [
            _cell(summary, "summary.csv", column, "min", scenario=name, kpi="wait_p90_min")
            for column in ("mean", "ci_high", "ci_low")
        ]
        return _target(*cells, target_min)

    return _sentence(
        "Target, 9 in 10 visitors wait at most {target} min: {before} before, {after} after.",
        target=f"{target_min:g}",
        before=verdict(before),
        after=verdict(after),
    )


def _matters(by_matter: pd.DataFrame, scenario: str, named: int = 3) -> tuple:
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
    tried: pd.DataFrame, sized: dict[str, int], current: dict[str, int], target
) -> Brief:
    """Per pool: the fewest windows meeting `target`, the KPI there and one window below
    (rows of tried.csv)."""
    column, unit = f"{target.kpi}_mean", _unit(target.kpi)

    def at(pool: str, count: int, what: str) -> Value:
        return _cell(tried, "tried.csv", what, unit, pool=pool, windows=count)

    sentences = []
    for pool, windows in sized.items():
        sentences.append(
            _sentence(
                "{pool}: {windows} windows meet {target} (now {current}); there the KPI is "
                "{value} (95% CI {low} to {high}).",
                pool=str(pool),
                windows=str(windows),
                target=str(target),
                current=str(current.get(pool, "—")),
                value=at(pool, windows, column),
                low=at(pool, windows, "ci_low"),
                high=at(pool, windows, "ci_high"),
            )
        )
        below = windows - 1
        if ((tried["pool"] == pool) & (tried["windows"] == below)).any():
            sentences.append(
                _sentence(
                    "With one window fewer ({windows}) it is {value} (95% CI {low} to {high}): "
                    "not met.",
                    windows=str(below),
                    value=at(pool, below, column),
                    low=at(pool, below, "ci_low"),
                    high=at(pool, below, "ci_high"),
                )
            )
    return Brief(tr("The answer"), tuple(sentences))
