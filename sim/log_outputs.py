"""What the commands on a hall's own logs write (sim.cli_logs): the fit's folder and its
scenario file, a replay's and a backtest's folders. The sections are sim.outputs'."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from sim import fit_plots
from sim.fit import FitResult
from sim.i18n import kpi_heading, tr
from sim.loader import scenario_hash
from sim.metrics import SHOWN_KPIS
from sim.outputs import (
    Chart,
    Heading,
    Items,
    Output,
    Table,
    Text,
    scenario_sections,
)
from sim.replay import Backtest, ReplayResult, replay_by_hour, replay_summary
from sim.tables import in_words, plain_number

__all__ = ["backtest_output", "fit_output", "fit_yaml", "replay_output"]


# -- a fit -------------------------------------------------------------------------------
def fit_output(result: FitResult, faults: pd.DataFrame | None = None) -> Output:
    """A fit's folder: the fitted scenario, every parameter with its CI and count, the
    log's faulty rows, and figures of observed against fitted."""
    scenario = result.scenario
    out = Output(f"hallsim fit: {scenario.name}", "fit")
    table = result.parameters
    out.tables = {"parameters.csv": table, "days.csv": result.daily}
    if faults is not None:
        out.tables["faults.csv"] = faults
    out.texts = {"scenario.yaml": fit_yaml(result)}
    page = out.page
    page.append(Text(scenario.sources[0]))
    if faults is not None and len(faults):
        counts = faults["kind"].value_counts()
        page.append(
            Items(
                tr("Faulty rows left out (faults.csv lists each)"),
                tuple(f"{kind}: {n}" for kind, n in counts.items()),
            )
        )
    if result.warnings:
        page.append(Items(tr("Warnings"), result.warnings))
    page += [
        Heading(tr("Demand")),
        Chart(
            "arrivals_by_time.png",
            lambda: fit_plots.arrivals_by_time(result, off_screen=True),
            tr("Arrivals per half hour: observed mean of days (95% CI) and the fitted profile"),
        ),
        Chart(
            "days_by_weekday.png",
            lambda: fit_plots.daily_by_weekday(result, off_screen=True),
            tr("Visitors a day by weekday: observed days and the fitted expectation"),
        ),
        Heading(tr("Windows")),
    ]
    for i, pool in enumerate(scenario.windows, 1):
        caption = tr("{pool}: windows seen at work by half hour, and the fitted schedule").format(
            pool=pool
        )
        draw = lambda p=pool: fit_plots.open_windows(result, p, off_screen=True)  # noqa: E731
        page.append(Chart(f"windows_{i:02d}.png", draw, caption))
    if result.patience is not None:
        page += [
            Heading(tr("Patience")),
            Chart(
                "patience.png",
                lambda: fit_plots.patience(result, off_screen=True),
                tr(
                    "Patience: observed survival against the censored fit (and the biased "
                    "fit to those who left only)"
                ),
            ),
        ]
    if result.leads:
        page.append(Heading(tr("Back office: lead times by matter (from the case log)")))
        for i, matter in enumerate(result.leads, 1):
            draw = lambda m=matter: fit_plots.lead_times(result, m, off_screen=True)  # noqa: E731
            page.append(
                Chart(
                    f"lead_times_{i:02d}.png",
                    draw,
                    tr("{matter}: working days to completion, observed and fitted").format(
                        matter=matter
                    ),
                )
            )
    page.append(Heading(tr("Service times by matter (busiest first)")))
    for i, (matter, (values, fit, _)) in enumerate(result.services.items(), 1):
        pooled = matter not in _own_fits(table)
        page.append(
            Chart(
                f"service_{i:02d}.png",
                lambda m=matter, v=values, f=fit, p=pooled: fit_plots.service(
                    m, v, f, p, off_screen=True
                ),
                tr("{matter}: service times, fitted density and QQ plot").format(matter=matter),
            )
        )
    shown = pd.DataFrame(
        {
            tr("parameter"): table["parameter"],
            tr("value"): table["value"],
            tr("95% CI"): [
                "" if pd.isna(lo) else f"[{plain_number(lo)}, {plain_number(hi)}]"
                for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
            ],
            tr("count"): table["n"],
            tr("unit"): table["unit"],
            tr("note"): table["note"],
        }
    )
    page += [Heading(tr("Every parameter (parameters.csv)")), Table(shown)]
    page += scenario_sections(scenario)
    out.manifest = {
        "scenario": scenario.name,
        "scenario_sha256": scenario_hash(scenario),
        "log": result.source.get("file"),
        "log_sha256": result.source.get("sha256"),
    }
    return out


def _own_fits(parameters: pd.DataFrame) -> set[str]:
    """Matters whose service time was fitted on their own tickets (not pooled)."""
    rows = parameters[parameters["parameter"].str.endswith(".service_min.mean")]
    own = rows[~rows["note"].str.startswith("pooled")]
    return {p.removeprefix("matters.").removesuffix(".service_min.mean") for p in own["parameter"]}


# -- a replay and a backtest -------------------------------------------------------------
def replay_output(result: ReplayResult) -> Output:
    """The log's visitors through each scenario, beside the log's own KPIs."""
    first = result.results[0]
    trace = result.trace
    out = Output(f"hallsim replay: {first.scenario.name}", "replay")
    summary = replay_summary(result)
    by_hour = replay_by_hour(result)
    out.tables = {"summary.csv": summary, "waits_by_hour.csv": by_hour}
    page = out.page
    page.append(
        Text(
            (
                tr(
                    "The {visitors} visitors of the log, {first} to {last} ({days} working "
                    "days), with their matters and their observed service times, through each "
                    "scenario's windows; {reps} replications, seed {seed}. 'observed' is the "
                    "log itself."
                )
                if trace.observed_work
                else tr(
                    "The {visitors} visitors of the log, {first} to {last} ({days} working "
                    "days), with their matters, through each scenario's windows; {reps} "
                    "replications, seed {seed}. 'observed' is the log itself."
                )
            ).format(
                visitors=trace.visitors,
                first=trace.dates[0],
                last=trace.dates[-1],
                days=len(trace.dates),
                reps=first.replications,
                seed=first.seed,
            )
        )
    )
    page += [
        Heading(tr("Key figures: the log and each scenario (means; CIs in summary.csv)")),
        Table(_side_by_side(summary, ["observed", *(r.scenario.name for r in result.results)])),
        Chart(
            "waits_by_hour.png",
            lambda: fit_plots.replay_by_hour(by_hour, off_screen=True),
            tr("Mean wait by hour: the log and each scenario on its visitors (95% CI)"),
        ),
    ]
    if result.comparison is not None:
        diff = result.comparison.overall
        out.tables["differences.csv"] = diff
        shown = diff[diff["kpi"].isin(list(SHOWN_KPIS))]
        page += [
            Heading(
                tr(
                    "Paired differences against {baseline} (same visitors, common random numbers)"
                ).format(baseline=result.comparison.baseline)
            ),
            Table(in_words(shown, None, result.comparison.confidence)),
        ]
    for r in result.results:
        page += scenario_sections(r.scenario)
    out.scenarios = {f"scenario-{i + 1}.yaml": r.scenario for i, r in enumerate(result.results)}
    out.manifest = {
        "scenarios": [r.scenario.name for r in result.results],
        "seed": first.seed,
        "replications": first.replications,
        "observed_service": trace.observed_work,
    }
    return out


def _side_by_side(summary: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """KPI means, one column per scenario in the given order, KPIs by name and unit."""
    wide = summary.pivot(index="kpi", columns="scenario", values="mean")[order]
    wide.columns.name = None
    wide.index = [kpi_heading(kpi) for kpi in wide.index]
    return wide.rename_axis(tr("KPI")).reset_index()


def backtest_output(result: Backtest, log_file: str = "") -> Output:
    """The log against the simulation hour by hour, with a verdict per KPI."""
    scenario = result.scenario
    out = Output(f"hallsim backtest: {scenario.name}", "backtest")
    out.tables = {"verdicts.csv": result.verdicts, "hours.csv": result.hours}
    out.scenarios = {"scenario.yaml": scenario}
    if not result.passed:
        template = tr(
            "{name} does NOT reproduce the log {log} from {first} to {last} ({days} working "
            "days), {reps} replications."
        )
    elif result.decided:
        template = tr(
            "{name} reproduces the log {log} from {first} to {last} ({days} working days), "
            "{reps} replications."
        )
    else:
        template = tr(
            "{name} cannot yet say whether it reproduces the log {log} from {first} to {last} "
            "({days} working days), {reps} replications: too few replications or hours, see "
            "the verdicts."
        )
    page = out.page
    page.append(
        Text(
            template.format(
                name=scenario.name, log=log_file, first=result.tested[0],
                last=result.tested[1], days=scenario.calendar.days,
                reps=result.simulated.replications,
            )
        )
    )  # fmt: skip
    if result.warnings:
        page.append(Items(tr("Warnings"), result.warnings))
    verdicts = result.verdicts
    page += [
        Heading(tr("Verdict per KPI")),
        Table(
            pd.DataFrame(
                {
                    tr("KPI"): verdicts["what"].map(tr),
                    tr("unit"): verdicts["unit"].map(tr),
                    tr("verdict"): verdicts["verdict"].map(tr),
                    "p": verdicts["p_value"],
                    tr("hours inside the band"): verdicts["inside_share"],
                    tr("mean absolute error"): verdicts["mae"],
                    tr("the log"): verdicts["observed"],
                    tr("simulated"): verdicts["simulated"],
                    tr("hour by hour"): verdicts["says"],
                }
            )
        ),
    ]
    context = tr("{name} against {log}, {first} to {last}").format(
        name=scenario.name, log=Path(log_file).name, first=result.tested[0], last=result.tested[1]
    )
    for i, (_, row) in enumerate(verdicts.iterrows(), 1):
        kpi_name = row["what"]
        what = tr(kpi_name)
        page.append(
            Chart(
                f"backtest_{i:02d}.png",
                lambda r=row: fit_plots.backtest_kpi(
                    result.hours, r, off_screen=True, context=context
                ),
                tr("{what} by hour: the log against the simulation's 90% band").format(what=what),
            )
        )
    page += scenario_sections(scenario)
    out.manifest = {
        "scenario": scenario.name,
        "scenario_sha256": scenario_hash(scenario),
        "seed": result.simulated.seed,
        "replications": result.simulated.replications,
        "passed": result.passed,
    }
    return out


def fit_yaml(result: FitResult) -> str:
    """The fitted scenario as a YAML file: what was fitted, nothing left at a default,
    led by a comment saying where it came from."""
    header = (
        f"# Fitted by `hallsim fit` from {result.source.get('file', 'a ticket log')}.\n"
        "# Every number comes from the log, with its 95% CI and count in the fit's\n"
        "# parameters.csv; `assumptions` lists what the log could not tell.\n"
    )
    body = yaml.dump(result.data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    return header + body


class _Dumper(yaml.SafeDumper):
    """Block style, but a mapping or list of plain values on one line (a profile, a
    distribution), as people write scenario files by hand."""

    def represent_mapping(self, tag, mapping, flow_style=None):
        flat = all(not isinstance(v, dict | list) for v in dict(mapping).values())
        return super().represent_mapping(tag, mapping, flow_style=flat and len(mapping) > 0)

    def represent_sequence(self, tag, sequence, flow_style=None):
        short = all(isinstance(v, int | float) or (isinstance(v, str) and len(v) < 20)
                    for v in sequence)  # fmt: skip
        return super().represent_sequence(tag, sequence, flow_style=short)
