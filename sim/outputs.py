"""What each kind of result writes: its tables, logs, scenario files, report page and
manifest. `sim.report.write` writes any of them; nothing here touches a file.

A result's report page is a list of sections in reading order; figures are drawn only
when written (each is a function returning the axes or figure it drew on).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from sim import plots
from sim.brief import Brief, comparison_brief, run_brief, sizing_brief
from sim.compare import Comparison
from sim.experiment import RunResult
from sim.i18n import language as current_language
from sim.i18n import tr
from sim.loader import scenario_hash
from sim.metrics import SHOWN_KPIS
from sim.scenario import Scenario
from sim.sizing import ScheduleSizing, SizingResult, TeamSizing
from sim.sweep import SweepResult
from sim.tables import (
    by,
    ci_level,
    in_words,
    key_figures,
    readable_erlang,
    readable_sizing,
    readable_sweep,
    readable_tried,
)
from sim.theory import acceptance_load

__all__ = [
    "Chart",
    "Heading",
    "Items",
    "Output",
    "Table",
    "Text",
    "comparison_output",
    "overload_message",
    "run_output",
    "scenario_sections",
    "sizing_output",
    "sweep_output",
    "team_sizing_output",
]


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Items:
    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame


@dataclass(frozen=True)
class Chart:
    """A figure: saved as `file` and shown in the page with its caption."""

    file: str
    draw: Callable[[], Any]  # returns the matplotlib Axes or Figure it drew on
    caption: str


Section = Heading | Text | Items | Table | Chart | Brief


@dataclass
class Output:
    """Everything a results folder holds, by file name."""

    title: str  # of report.html
    command: str  # for the manifest
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # CSV files
    logs: dict[str, pd.DataFrame] = field(default_factory=dict)  # Parquet files
    scenarios: dict[str, Scenario] = field(default_factory=dict)  # YAML files
    texts: dict[str, str] = field(default_factory=dict)  # text files written as they are
    page: list[Section] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    # the language the page was built in: its figures are drawn in it too, when written
    lang: str = field(default_factory=current_language)


def _ax():
    """Axes on a figure outside pyplot: no backend, no window, nothing left open."""
    return Figure(figsize=(8, 4.5)).subplots()


def overload_message(scenario: Scenario) -> str | None:
    """What to say when acceptance windows get more work than they can do in opening
    hours (the terminal says it before a run, the report on its page); None otherwise."""
    load = acceptance_load(scenario)
    if load <= 1:
        return None
    return tr(
        "{name}: the work brought to acceptance windows is {load} times what they can do in "
        "opening hours; queues grow without bound and the KPIs describe a hall that never "
        "catches up."
    ).format(name=scenario.name, load=f"{load:.2f}")


def overload_note(scenario: Scenario) -> list[Section]:
    """The overload message as a warning on the report page."""
    message = overload_message(scenario)
    return [] if message is None else [Text(tr("Warning: {message}").format(message=message))]


def scenario_sections(scenario: Scenario) -> list[Section]:
    sections: list[Section] = [Heading(tr("Scenario {name}").format(name=scenario.name))]
    if scenario.description:
        sections.append(Text(scenario.description.strip()))
    if scenario.sources:
        sections.append(Items(tr("Published facts used (sources)"), scenario.sources))
    if scenario.assumptions:
        sections.append(Items(tr("Assumptions (not published: check them)"), scenario.assumptions))
    return sections


# -- one run -----------------------------------------------------------------------------
def run_output(result: RunResult, note: str = "") -> Output:
    out = Output(f"hallsim run: {result.scenario.name}", "run")
    out.tables = {
        "summary.csv": result.summary,
        "replications.csv": result.kpis,
        "pools.csv": result.pools_summary,
        "matters.csv": result.matters_summary,
        "hourly.csv": result.hourly_summary,
        "periods.csv": result.periods_summary,
        "cases_summary.csv": result.case_summary,
    }
    out.logs = {"events.parquet": result.log}
    if not result.case_matters.empty:
        out.tables["cases_by_matter.csv"] = result.case_matters_summary
    if not result.cases.empty:
        out.logs |= {"cases.parquet": result.cases, "steps.parquet": result.steps}
        out.tables |= {"teams.csv": result.teams_summary, "backlog.csv": result.backlog_summary}
    out.scenarios = {"scenario.yaml": result.scenario}
    name, reps = result.scenario.name, result.replications
    out.page = [
        *overload_note(result.scenario),
        run_brief(result),
        Text(
            tr("{reps} replications, seed {seed}. Means with 95% confidence intervals across "
               "replications.").format(reps=reps, seed=result.seed) + (f" {note}" if note else "")
        ),
        Heading(tr("Key figures")),
        Table(key_figures(result.summary, SHOWN_KPIS)),
    ]  # fmt: skip
    page = out.page
    if not result.case_summary.empty and result.scenario.whole_case:
        page += [
            Heading(tr("The whole case: same day, trips, lead times, limits")),
            Table(key_figures(result.case_summary)),
        ]
    if not result.case_matters.empty:
        page += [
            Heading(tr("The whole case by matter (means; CIs in cases_by_matter.csv)")),
            Table(by(result.case_matters_summary, "matter")),
        ]
    if not result.teams_summary.empty:
        page += [Heading(tr("Back-office teams")), Table(by(result.teams_summary, "team"))]
    colours = plots.pool_colours(result.scenario.windows)
    page += [
        Heading(tr("Figures")),
        Chart(
            "wait_distribution.png",
            lambda: plots.wait_distribution(
                result.log,
                ax=_ax(),
                target_min=result.scenario.target_wait_min,
                title=tr("{name}: waits per queue visit, {reps} replications").format(
                    name=name, reps=reps
                ),
            ),
            tr("Waits per visit"),
        ),
        Chart(
            "queue_by_hour.png",
            lambda: plots.queue_by_hour(
                result.hourly_summary, ax=_ax(), colours=colours, title_name=name
            ),
            tr("People waiting through the day (time-weighted), by pool"),
        ),
        Chart(
            "utilization_by_pool.png",
            lambda: plots.utilization_by_pool(
                result.pools_summary, ax=_ax(), colours=colours, title_name=name
            ),
            tr("Utilization of each pool's windows"),
        ),
        Heading(tr("By pool (per visit)")),
    ]
    pools = result.pools_summary
    shown = ["visits", "wait_mean_min", "wait_p90_min", "service_level_ticket", "utilization"]
    page.append(Table(by(pools[pools["kpi"].isin(shown)], "pool")))
    page += scenario_sections(result.scenario)
    out.manifest = {
        "scenario": result.scenario.name,
        "scenario_sha256": scenario_hash(result.scenario),
        "seed": result.seed,
        "replications": result.replications,
    }
    return out


# -- comparison --------------------------------------------------------------------------
def comparison_output(comparison: Comparison) -> Output:
    results = comparison.results
    names = [r.scenario.name for r in results]
    out = Output(f"hallsim compare: {' vs '.join(names)}", "compare")
    out.tables = {
        "compare.csv": comparison.overall,
        "compare_matters.csv": comparison.by_matter,
        "compare_pools.csv": comparison.by_pool,
        "compare_hourly.csv": comparison.by_hour,
        "compare_cases.csv": comparison.cases,
    }
    if not comparison.cases_by_matter.empty:
        out.tables["compare_cases_matters.csv"] = comparison.cases_by_matter
    out.tables["summary.csv"] = pd.concat([r.summary for r in results])
    out.scenarios = {f"scenario-{r.scenario.name}.yaml": r.scenario for r in results}
    reps, seed = results[0].replications, results[0].seed
    out.page = [
        *(note for r in results for note in overload_note(r.scenario)),
        comparison_brief(comparison),
        Text(
            tr("All scenarios ran on the same visitors (common random numbers, seed {seed}, "
               "{reps} replications). Differences are alternative minus baseline ({baseline}), "
               "paired by replication, with {confidence} confidence intervals.").format(
                seed=seed, reps=reps, baseline=comparison.baseline,
                confidence=ci_level(comparison.confidence),
            )
            + (tr(" Bonferroni-adjusted for several alternatives.") if len(names) > 2 else "")
        ),
    ]  # fmt: skip
    page = out.page
    confidence = comparison.confidence
    level = ci_level(confidence)
    overall = comparison.overall[comparison.overall["kpi"].isin(list(SHOWN_KPIS))]
    page += [Heading(tr("Key figures: differences")), Table(in_words(overall, None, confidence))]
    if not comparison.cases.empty and any(r.scenario.whole_case for r in results):
        page += [
            Heading(tr("The whole case: differences")),
            Table(in_words(comparison.cases, None, confidence)),
        ]
    by_matter = comparison.by_matter
    page.append(Heading(tr("Figures")))
    # one figure per alternative sharing matters with the baseline (a bundle may share none)
    sharing = [n for n in names[1:] if not by_matter.empty and (by_matter["scenario"] == n).any()]
    for i, name in enumerate(sharing, 1):
        page.append(
            Chart(
                "compare_matters.png" if i == 1 else f"compare_matters_{i}.png",
                lambda name=name: plots.matters_gain_lose(
                    by_matter, "wait_mean_min", ax=_ax(), scenario=name, level=level
                ),
                tr(
                    "{name}: change in mean wait per visit by matter, with its CI: the matters "
                    "that lose (right) and gain (left), sorted"
                ).format(name=name),
            )
        )
    page += [
        Chart(
            "compare_waits_by_hour.png",
            lambda: plots.paired_by_hour(
                comparison.by_hour,
                fig=Figure(figsize=(8, 6)),
                level=level,
                levels=comparison.hall_by_hour("wait_mean_min"),
            ),
            tr("Mean wait by hour in each design, and the paired difference with its CI"),
        ),
        Chart(
            "compare_hourly.png",
            lambda: plots.difference_by(
                comparison.by_hour, "hour", "queue_length_mean", ax=_ax(), level=level
            ),
            tr("Change in people waiting in the hall, by hour (with CI)"),
        ),
        Chart(
            "wait_distribution.png",
            lambda: plots.wait_distribution(
                pd.concat([r.log for r in results]),
                ax=_ax(),
                target_min=results[0].scenario.target_wait_min,
                title=tr("Waits per queue visit, {reps} replications each").format(reps=reps),
            ),
            tr("Waits per visit, all scenarios"),
        ),
    ]
    if not by_matter.empty:
        page += [
            Heading(tr("By matter: mean wait per visit")),
            Table(in_words(by_matter[by_matter["kpi"] == "wait_mean_min"], "matter", confidence)),
        ]
    for result in results:
        page += scenario_sections(result.scenario)
    out.manifest = {
        "scenarios": {r.scenario.name: scenario_hash(r.scenario) for r in results},
        "seed": results[0].seed,
        "replications": results[0].replications,
        "confidence": comparison.confidence,
    }
    return out


# -- sweep -------------------------------------------------------------------------------
def sweep_output(result: SweepResult) -> Output:
    scenario = result.results[0].scenario
    out = Output(f"hallsim sweep: {scenario.name}", "sweep")
    out.tables = {"sweep.csv": result.table}
    out.page = [
        Text(
            tr(
                "Varied: {settings}. Every point ran on the same visitors (seed {seed}, "
                "{reps} replications)."
            ).format(
                settings=", ".join(result.settings),
                seed=result.results[0].seed,
                reps=result.results[0].replications,
            )
        ),
        Heading(tr("Figures")),
        Chart(
            "sweep.png",
            lambda: plots.sweep_kpis(
                result.table,
                result.settings,
                fig=Figure(),
                title=tr(
                    "{name}: the headline KPIs against {setting} ({reps} replications, 95% CI)"
                ).format(
                    name=scenario.name,
                    setting=result.settings[0],
                    reps=result.results[0].replications,
                ),
            ),
            tr("KPIs against the varied value"),
        ),
        Heading(tr("Results")),
        Table(readable_sweep(result.table, result.settings)),
        *scenario_sections(scenario),
    ]
    out.manifest = {
        "scenario": scenario.name,
        "settings": result.settings,
        "points": result.points,
        "seed": result.results[0].seed,
        "replications": result.results[0].replications,
    }
    return out


# -- sizing ------------------------------------------------------------------------------
def sizing_output(result: SizingResult, schedule: ScheduleSizing | None = None) -> Output:
    out = Output(f"hallsim size: {result.scenario.name}", "size")
    table = result.table()
    out.tables = {
        "sizing.csv": table,
        "tried.csv": result.tried,
        "summary_at_size.csv": result.at_size.summary,
    }
    out.scenarios = {"scenario-sized.yaml": result.at_size.scenario}
    sized_pools = {p.pool for p in result.pools}
    scheduled = frozenset(
        name
        for name, pool in result.scenario.windows.items()
        if pool.schedule is not None and name in sized_pools
    )
    level = (
        tr("per visitor, hall-wide") if result.level == "hall" else tr("per visit, at every pool")
    )
    out.page = [
        sizing_brief(
            result.tried,
            {p.pool: p.sized for p in result.pools},
            {p.pool: p.current for p in result.pools},
            result.target,
            hourly=scheduled,
        ),
        Text(
            (
                tr(
                    "Target {target} ({level}), met when the whole 95% confidence interval is "
                    "on the right side. {now} windows now; {needed} needed ({saved} fewer). "
                    "{reps} replications per count, seed {seed}, {counts} counts simulated."
                )
                if result.windows <= result.current_windows
                else tr(
                    "Target {target} ({level}), met when the whole 95% confidence interval "
                    "is on the right side. {now} windows now; {needed} needed ({more} "
                    "more). {reps} replications per count, seed {seed}, {counts} counts "
                    "simulated."
                )
            ).format(
                target=result.target,
                level=level,
                now=result.current_windows,
                needed=result.windows,
                saved=result.current_windows - result.windows,
                more=result.windows - result.current_windows,
                reps=result.at_size.replications,
                seed=result.at_size.seed,
                counts=result.evaluations,
            )
        ),
        Heading(tr("Windows per pool")),
        Text(
            tr(
                "Erlang C on the day's average arrival rate and on the busiest hour is what a "
                "spreadsheet gives (often too few and too many); the simulation accounts for "
                "how queues build and drain through the day (columns in sizing.csv)."
            )
        ),
        Table(readable_sizing(table, result.target)),
        Chart(
            "sizing_curve.png",
            lambda: plots.sizing_curve(
                result.tried, result.target, {p.pool: p.sized for p in result.pools}, ax=_ax()
            ),
            tr("The target KPI against the windows tried, with its CI and the target"),
        ),
        Heading(tr("Every count tried")),
        Text(
            tr(
                "Met: the whole 95% confidence interval lies on the right side of the target, "
                "so a count whose mean meets it can still be 'not met'."
            )
            + (
                " "
                + tr(
                    "Pools with a schedule ({pools}) are held to the target in every hour: "
                    "met there means met in every hour, whatever the day's CI."
                ).format(pools=", ".join(sorted(scheduled)))
                if scheduled
                else ""
            )
        ),
        Table(readable_tried(result.tried, result.target)),
        Heading(tr("Key figures at the sized counts")),
        Table(key_figures(result.at_size.summary, list(SHOWN_KPIS))),
    ]
    if schedule is not None:
        _add_schedule(out, schedule, result.scenario)
    out.page += scenario_sections(result.scenario)
    out.manifest |= {
        "scenario": result.scenario.name,
        "scenario_sha256": scenario_hash(result.scenario),
        "target": str(result.target),
        "level": result.level,
        "windows_now": result.current_windows,
        "windows_sized": result.windows,
        "seed": result.at_size.seed,
        "replications": result.at_size.replications,
        "evaluations": result.evaluations,
    }
    return out


def _add_schedule(out: Output, schedule: ScheduleSizing, scenario: Scenario) -> None:
    """The hour-by-hour schedule; `scenario` as given, for the windows open now."""
    hourly = schedule.hourly()
    out.tables["schedule_hourly.csv"] = hourly
    out.scenarios["scenario-scheduled.yaml"] = schedule.at_schedule.scenario
    hours = schedule.staff_hours
    pool = scenario.windows.get(schedule.pool)
    now = pool.segments(scenario.calendar.opens_at) if pool is not None else None
    out.page += [
        Heading(tr("Staffing {pool} by the hour").format(pool=schedule.pool)),
        Text(
            tr(
                "Target {target} in every hour (visits by the hour their ticket was issued). "
                "Staff-hours a day: {daily_hours} with {daily} windows all day (meets the "
                "target over the day, not in every hour); {hourly_hours} with {hourly} windows "
                "all day (every hour); {schedule_hours} with the schedule below."
            ).format(
                target=schedule.target,
                daily_hours=f"{hours['flat_daily_target']:.0f}",
                daily=schedule.flat_daily,
                hourly_hours=f"{hours['flat_every_hour']:.0f}",
                hourly=schedule.flat_hourly,
                schedule_hours=f"{hours['schedule']:.0f}",
            )
        ),
        Table(
            pd.DataFrame(
                {
                    tr("from"): list(schedule.schedule),
                    tr("windows open"): list(schedule.schedule.values()),
                }
            )
        ),
        Chart(
            "schedule.png",
            lambda: plots.staffing_by_hour(
                schedule.at_schedule.hourly_summary, schedule.pool, ax=_ax(), now=now
            ),
            tr(
                "Windows open now, needed (the proposed schedule) and busy at it, by hour; "
                "tickets as bars"
            ),
        ),
        Table(hourly),
    ]
    out.manifest |= {"schedule": schedule.schedule, "staff_hours": schedule.staff_hours}


def team_sizing_output(result: TeamSizing) -> Output:
    scenario = result.at_size.scenario
    out = Output(f"hallsim size --team {result.team}: {scenario.name}", "size --team")
    out.tables = {"cases_summary_at_size.csv": result.at_size.case_summary}
    if result.one_below is not None:
        out.tables["cases_summary_one_below.csv"] = result.one_below
    out.scenarios = {"scenario-sized.yaml": scenario}
    out.page = [
        Text(
            tr(
                "Target {target}, met when the whole 95% confidence interval is on the right "
                "side. {now} staff now; {needed} needed. The offered load is {load} staff "
                "(effort per working day over working hours). {reps} replications, seed "
                "{seed}, {sizes} sizes simulated."
            ).format(
                target=result.target,
                now=result.current,
                needed=result.sized,
                load=f"{result.offered_load_staff:.1f}",
                reps=result.at_size.replications,
                seed=result.at_size.seed,
                sizes=result.evaluations,
            )
        ),
        Heading(tr("The whole case at the sized team")),
        Table(key_figures(result.at_size.case_summary)),
    ]
    if result.one_below is not None:
        out.page += [Heading(tr("With one staff fewer")), Table(key_figures(result.one_below))]
    out.page += scenario_sections(scenario)
    out.manifest = {
        "scenario": scenario.name,
        "team": result.team,
        "target": str(result.target),
        "staff_now": result.current,
        "staff_sized": result.sized,
        "seed": result.at_size.seed,
        "replications": result.at_size.replications,
    }
    return out


def erlang_output(scenario: Scenario, target, table: pd.DataFrame, reps: int) -> Output:
    """The formulas' windows by pool and hour (sim.erlang.quick_answers)."""
    out = Output(f"hallsim erlang: {scenario.name}", "erlang")
    out.tables = {"erlang.csv": table}
    simulated = "simulated" in table
    out.page = [
        Text(
            tr(
                "Windows needed for {target}, by hour, as Erlang C (M/M/c), Erlang A (M/M/c with "
                "exponential patience of the scenario's mean; mean-wait targets only) and "
                "Allen-Cunneen (G/G/c: waits stretched by (ca² + cs²) / 2) say, on the tickets "
                "and service times a {reps}-replication pilot run brings to each pool. Each hour "
                "stands alone in a formula: lunch, the morning's build-up and the mix of "
                "matters are what the simulation adds."
            ).format(target=target, reps=reps)
            + " "
            + (
                tr(
                    "Column simulated: the hourly schedule `hallsim size --hourly` finds for "
                    "each pool, the other pools as they are."
                )
                if simulated
                else tr("`--simulate` puts its answer beside them.")
            )
        ),
        Table(readable_erlang(table)),
    ]
    out.page += scenario_sections(scenario)
    out.manifest = {"scenario": scenario.name, "target": str(target), "pilot_replications": reps}
    return out
