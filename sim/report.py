"""Writes results folders; the only module that writes files.

Everything goes to a temporary folder beside the destination and is moved into place at
the end, so an interrupted or failed run leaves nothing half-written, and an earlier
result is only replaced when the caller says `force`. Every folder gets a manifest and a
self-contained `report.html` a planner can open without a terminal.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from matplotlib.figure import Figure

from sim import plots
from sim.compare import Comparison
from sim.experiment import RunResult
from sim.folders import staged
from sim.metrics import SHOWN_KPIS
from sim.scenario import Scenario
from sim.sizing import ScheduleSizing, SizingResult, TeamSizing
from sim.sweep import SweepResult

__all__ = [
    "scenario_hash",
    "write_comparison",
    "write_results",
    "write_sizing",
    "write_sweep",
    "write_team_sizing",
]


def _version() -> str:
    try:
        return version("hallsim")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def scenario_dict(scenario: Scenario) -> dict:
    return scenario.model_dump(mode="json", by_alias=True)


def scenario_hash(scenario: Scenario) -> str:
    canonical = json.dumps(scenario_dict(scenario), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- figures and HTML -------------------------------------------------------------------
class _Page:
    """Collects sections of a self-contained HTML report (images inlined as base64)."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str) -> None:
        self.parts.append(f"<p>{html.escape(text)}</p>")

    def items(self, title: str, lines: list[str] | tuple[str, ...]) -> None:
        if lines:
            body = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
            self.parts.append(f"<h3>{html.escape(title)}</h3><ul>{body}</ul>")

    def table(self, frame: pd.DataFrame, css_class: str = "kpis") -> None:
        self.parts.append(
            frame.to_html(index=False, classes=css_class, float_format=lambda v: f"{v:.4g}",
                          na_rep="", border=0)
        )  # fmt: skip

    def figure(self, png: bytes, caption: str) -> None:
        data = base64.b64encode(png).decode()
        self.parts.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def render(self) -> str:
        style = (
            "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
            "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
            "td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
            "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
            "img{max-width:100%}figcaption{color:#555;font-size:0.9em}"
        )
        # data-figures-loaded: set once the browser has decoded every figure (tests read it)
        script = (
            "window.addEventListener('load',function(){var i=document.images,n=0;"
            "for(var k=0;k<i.length;k++){if(i[k].complete&&i[k].naturalWidth>0)n++;}"
            "document.body.setAttribute('data-figures-loaded',n+'/'+i.length);});"
        )
        return (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{style}</style>"
            f"<script>{script}</script></head><body><h1>{html.escape(self.title)}</h1>"
            + "".join(self.parts)
            + f"<footer><p>hallsim {html.escape(_version())}</p></footer></body></html>"
        )


def _csv(frame: pd.DataFrame, path: Path) -> None:
    """A CSV with a UTF-8 byte-order mark: Excel on Chinese Windows reads it as UTF-8."""
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def _png(ax) -> bytes:
    fig = ax.figure
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _ax():
    """Axes on a figure outside pyplot: no backend, no window, nothing left open."""
    return Figure(figsize=(8, 4.5)).subplots()


def _save_figures(folder: Path, page: _Page, figures: dict[str, tuple[Any, str]]) -> None:
    for name, (ax, caption) in figures.items():
        png = _png(ax)
        (folder / name).write_bytes(png)
        page.figure(png, caption)


def _with_ci(summary: pd.DataFrame, kpis: list[str] | None = None) -> pd.DataFrame:
    rows = summary if kpis is None else summary[summary["kpi"].isin(kpis)]
    out = rows.copy()
    out["95% CI"] = [
        "" if pd.isna(h) else f"[{lo:.4g}, {hi:.4g}]"
        for lo, hi, h in zip(rows["ci_low"], rows["ci_high"], rows["half_width"], strict=True)
    ]
    return out.drop(columns=["ci_low", "ci_high", "half_width"])


def _scenario_sections(page: _Page, scenario: Scenario) -> None:
    page.heading(f"Scenario {scenario.name}")
    if scenario.description:
        page.text(scenario.description.strip())
    page.items("Published facts used (sources)", scenario.sources)
    page.items("Assumptions (not published: check them)", scenario.assumptions)


def _manifest(folder: Path, **fields: Any) -> None:
    fields = {"hallsim_version": _version(), **fields}
    fields["files"] = [
        *sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")),
        "manifest.json",
    ]
    (folder / "manifest.json").write_text(json.dumps(fields, indent=2, default=str) + "\n")


def _write_scenario(folder: Path, scenario: Scenario, name: str = "scenario.yaml") -> None:
    text = yaml.safe_dump(scenario_dict(scenario), sort_keys=False, allow_unicode=True)
    (folder / name).write_text(text, encoding="utf-8")


# -- one run -----------------------------------------------------------------------------
def write_results(
    result: RunResult, out: Path, force: bool = False, wall_time_s: float = 0.0, note: str = ""
) -> Path:
    """Write the results folder of one run atomically; return its path."""
    with staged(out, force) as folder:
        _csv(result.summary, folder / "summary.csv")
        _csv(result.kpis, folder / "replications.csv")
        _csv(result.pools_summary, folder / "pools.csv")
        _csv(result.matters_summary, folder / "matters.csv")
        _csv(result.hourly_summary, folder / "hourly.csv")
        _csv(result.periods_summary, folder / "periods.csv")
        result.log.to_parquet(folder / "events.parquet", index=False)
        _csv(result.case_summary, folder / "cases_summary.csv")
        if not result.case_matters.empty:
            _csv(result.case_matters_summary, folder / "cases_by_matter.csv")
        if not result.cases.empty:
            result.cases.to_parquet(folder / "cases.parquet", index=False)
            result.steps.to_parquet(folder / "steps.parquet", index=False)
            _csv(result.teams_summary, folder / "teams.csv")
            _csv(result.backlog_summary, folder / "backlog.csv")
        page = _Page(f"hallsim run: {result.scenario.name}")
        page.text(
            f"{result.replications} replications, seed {result.seed}. Means with 95% "
            "confidence intervals across replications." + (f" {note}" if note else "")
        )
        page.heading("Key figures")
        page.table(_with_ci(result.summary, list(SHOWN_KPIS)))
        if not result.case_summary.empty:
            page.heading("The whole case: same day, trips, lead times, limits")
            page.table(_with_ci(result.case_summary))
        if not result.case_matters.empty:
            page.heading("The whole case by matter (means; CIs in cases_by_matter.csv)")
            by_matter = result.case_matters_summary
            page.table(by_matter.pivot(index="matter", columns="kpi", values="mean").reset_index())
        if not result.teams_summary.empty:
            page.heading("Back-office teams")
            teams = result.teams_summary
            page.table(teams.pivot(index="team", columns="kpi", values="mean").reset_index())
        page.heading("Figures")
        with plots.figure_fonts():
            _save_figures(
                folder,
                page,
                {
                    "wait_distribution.png": (
                        plots.wait_distribution(result.log, ax=_ax()),
                        "Waits per visit",
                    ),
                    "queue_by_hour.png": (
                        plots.queue_by_hour(result.hourly_summary, ax=_ax()),
                        "People waiting through the day (time-weighted), by pool",
                    ),
                    "utilization_by_pool.png": (
                        plots.utilization_by_pool(result.pools_summary, ax=_ax()),
                        "Utilization of each pool's windows",
                    ),
                },
            )
        page.heading("By pool (per visit)")
        pools = result.pools_summary
        page.table(pools[pools["kpi"].isin(["visits", "wait_mean_min", "wait_p90_min",
                                            "service_level_ticket", "utilization"])]
                   .pivot(index="pool", columns="kpi", values="mean").reset_index())  # fmt: skip
        _scenario_sections(page, result.scenario)
        (folder / "report.html").write_text(page.render(), encoding="utf-8")
        _write_scenario(folder, result.scenario)
        _manifest(
            folder,
            command="run",
            scenario=result.scenario.name,
            scenario_sha256=scenario_hash(result.scenario),
            seed=result.seed,
            replications=result.replications,
            wall_time_s=round(wall_time_s, 3),
        )
    return Path(out)


# -- comparison --------------------------------------------------------------------------
def write_comparison(
    comparison: Comparison, out: Path, force: bool = False, wall_time_s: float = 0.0
) -> Path:
    with staged(out, force) as folder:
        _csv(comparison.overall, folder / "compare.csv")
        _csv(comparison.by_matter, folder / "compare_matters.csv")
        _csv(comparison.by_pool, folder / "compare_pools.csv")
        _csv(comparison.by_hour, folder / "compare_hourly.csv")
        _csv(comparison.cases, folder / "compare_cases.csv")
        if not comparison.cases_by_matter.empty:
            _csv(comparison.cases_by_matter, folder / "compare_cases_matters.csv")
        _csv(pd.concat([r.summary for r in comparison.results]), folder / "summary.csv")
        names = [r.scenario.name for r in comparison.results]
        page = _Page(f"hallsim compare: {' vs '.join(names)}")
        page.text(
            f"All scenarios ran on the same visitors (common random numbers, seed "
            f"{comparison.results[0].seed}, {comparison.results[0].replications} replications). "
            f"Differences are alternative minus baseline ({comparison.baseline}), paired by "
            f"replication, with {comparison.confidence:.1%} confidence intervals"
            + (" (Bonferroni-adjusted)." if len(names) > 2 else ".")
        )
        page.heading("Key figures: differences")
        overall = comparison.overall[comparison.overall["kpi"].isin(list(SHOWN_KPIS))]
        page.table(overall.drop(columns=["baseline"]))
        if not comparison.cases.empty:
            page.heading("The whole case: differences")
            page.table(comparison.cases.drop(columns=["baseline"]))
        page.heading("Figures")
        with plots.figure_fonts():
            _save_figures(
                folder,
                page,
                {
                    "compare_matters.png": (
                        plots.difference_by(
                            comparison.by_matter, "matter", "wait_mean_min", ax=_ax()
                        ),
                        "Change in mean wait per visit, by matter (with CI)",
                    ),
                    "compare_hourly.png": (
                        plots.difference_by(
                            comparison.by_hour, "hour", "queue_length_mean", ax=_ax()
                        ),
                        "Change in people waiting in the hall, by hour (with CI)",
                    ),
                    "wait_distribution.png": (
                        plots.wait_distribution(
                            pd.concat([r.log for r in comparison.results]), ax=_ax()
                        ),
                        "Waits per visit, all scenarios",
                    ),
                },
            )
        by_matter = comparison.by_matter
        if not by_matter.empty:  # matters may differ entirely (e.g. a bundle)
            page.heading("By matter: mean wait per visit")
            page.table(by_matter[by_matter["kpi"] == "wait_mean_min"].drop(columns=["baseline"]))
        for result in comparison.results:
            _scenario_sections(page, result.scenario)
            _write_scenario(folder, result.scenario, f"scenario-{result.scenario.name}.yaml")
        (folder / "report.html").write_text(page.render(), encoding="utf-8")
        _manifest(
            folder,
            command="compare",
            scenarios={r.scenario.name: scenario_hash(r.scenario) for r in comparison.results},
            seed=comparison.results[0].seed,
            replications=comparison.results[0].replications,
            confidence=comparison.confidence,
            wall_time_s=round(wall_time_s, 3),
        )
    return Path(out)


# -- sweep -------------------------------------------------------------------------------
def write_sweep(result: SweepResult, out: Path, force: bool = False, wall_time_s: float = 0.0):
    with staged(out, force) as folder:
        _csv(result.table, folder / "sweep.csv")
        scenario = result.results[0].scenario
        page = _Page(f"hallsim sweep: {scenario.name}")
        page.text(
            f"Varied: {', '.join(result.settings)}. Every point ran on the same visitors "
            f"(seed {result.results[0].seed}, {result.results[0].replications} replications)."
        )
        page.heading("Figures")
        with plots.figure_fonts():
            _save_figures(
                folder,
                page,
                {
                    "sweep.png": (
                        plots.sweep_kpis(result.table, result.settings, fig=Figure()),
                        "KPIs against the varied value",
                    )
                },
            )
        page.heading("Results")
        headline = result.table[result.table["kpi"].isin(list(SHOWN_KPIS))]
        page.table(headline)
        _scenario_sections(page, scenario)
        (folder / "report.html").write_text(page.render(), encoding="utf-8")
        _manifest(
            folder,
            command="sweep",
            scenario=scenario.name,
            settings=result.settings,
            points=result.points,
            seed=result.results[0].seed,
            replications=result.results[0].replications,
            wall_time_s=round(wall_time_s, 3),
        )
    return Path(out)


# -- sizing ------------------------------------------------------------------------------
def write_sizing(
    result: SizingResult,
    out: Path,
    force: bool = False,
    wall_time_s: float = 0.0,
    schedule: ScheduleSizing | None = None,
):
    with staged(out, force) as folder:
        table = result.table()
        _csv(table, folder / "sizing.csv")
        _csv(result.at_size.summary, folder / "summary_at_size.csv")
        _write_scenario(folder, result.at_size.scenario, "scenario-sized.yaml")
        page = _Page(f"hallsim size: {result.scenario.name}")
        level = ("per visitor, hall-wide" if result.level == "hall"
                 else "per visit, at every pool")  # fmt: skip
        page.text(
            f"Target {result.target} ({level}), met when the whole 95% confidence interval "
            f"is on the right side. {result.current_windows} windows now; "
            f"{result.windows} needed ({result.current_windows - result.windows:+d} saved). "
            f"{result.at_size.replications} replications per count, seed "
            f"{result.at_size.seed}, {result.evaluations} counts simulated."
        )
        page.heading("Windows per pool")
        page.text(
            "erlang_daily_average sizes from the day's average arrival rate and "
            "erlang_peak_hour from the busiest hour; the simulation (sized) accounts for "
            "how queues build and drain through the day."
        )
        page.table(table)
        page.heading("Key figures at the sized counts")
        page.table(_with_ci(result.at_size.summary, list(SHOWN_KPIS)))
        extra = {}
        if schedule is not None:
            _schedule_section(folder, page, schedule)
            extra = {"schedule": schedule.schedule, "staff_hours": schedule.staff_hours}
        _scenario_sections(page, result.scenario)
        (folder / "report.html").write_text(page.render(), encoding="utf-8")
        _manifest(
            folder,
            **extra,
            command="size",
            scenario=result.scenario.name,
            scenario_sha256=scenario_hash(result.scenario),
            target=str(result.target),
            level=result.level,
            windows_now=result.current_windows,
            windows_sized=result.windows,
            seed=result.at_size.seed,
            replications=result.at_size.replications,
            evaluations=result.evaluations,
            wall_time_s=round(wall_time_s, 3),
        )
    return Path(out)


def _schedule_section(folder: Path, page: _Page, schedule: ScheduleSizing) -> None:
    _csv(schedule.hourly(), folder / "schedule_hourly.csv")
    _write_scenario(folder, schedule.at_schedule.scenario, "scenario-scheduled.yaml")
    hours = schedule.staff_hours
    page.heading(f"Staffing {schedule.pool} by the hour")
    page.text(
        f"Target {schedule.target} in every hour (visits by the hour their ticket was "
        f"issued). Staff-hours a day: {hours['flat_daily_target']:.0f} with "
        f"{schedule.flat_daily} windows all day (meets the target over the day, not in "
        f"every hour); {hours['flat_every_hour']:.0f} with {schedule.flat_hourly} windows "
        f"all day (every hour); {hours['schedule']:.0f} with the schedule below."
    )
    page.table(pd.DataFrame({"from": list(schedule.schedule),
                             "windows open": list(schedule.schedule.values())}))  # fmt: skip
    with plots.figure_fonts():
        _save_figures(
            folder,
            page,
            {
                "schedule.png": (
                    plots.staffing_by_hour(
                        schedule.at_schedule.hourly_summary, schedule.pool, ax=_ax()
                    ),
                    "Windows open and busy by hour at the proposed schedule; arrivals as bars",
                )
            },
        )
    page.table(schedule.hourly())


def write_team_sizing(
    result: TeamSizing, out: Path, force: bool = False, wall_time_s: float = 0.0
) -> Path:
    with staged(out, force) as folder:
        scenario = result.at_size.scenario
        _csv(result.at_size.case_summary, folder / "cases_summary_at_size.csv")
        if result.one_below is not None:
            _csv(result.one_below, folder / "cases_summary_one_below.csv")
        _write_scenario(folder, scenario, "scenario-sized.yaml")
        page = _Page(f"hallsim size --team {result.team}: {scenario.name}")
        page.text(
            f"Target {result.target}, met when the whole 95% confidence interval is on the "
            f"right side. {result.current} staff now; {result.sized} needed. The offered "
            f"load is {result.offered_load_staff:.1f} staff (effort per working day over "
            f"working hours). {result.at_size.replications} replications, seed "
            f"{result.at_size.seed}, {result.evaluations} sizes simulated."
        )
        page.heading("The whole case at the sized team")
        page.table(_with_ci(result.at_size.case_summary))
        if result.one_below is not None:
            page.heading("With one staff fewer")
            page.table(_with_ci(result.one_below))
        _scenario_sections(page, scenario)
        (folder / "report.html").write_text(page.render(), encoding="utf-8")
        _manifest(
            folder,
            command="size --team",
            scenario=scenario.name,
            team=result.team,
            target=str(result.target),
            staff_now=result.current,
            staff_sized=result.sized,
            seed=result.at_size.seed,
            replications=result.at_size.replications,
            wall_time_s=round(wall_time_s, 3),
        )
    return Path(out)
