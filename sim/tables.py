"""Tables for reading: what a report or a terminal shows of a result's CSVs. KPIs by name
and unit (in the current language), a CI in one column, significance and targets in
words. The CSVs themselves keep their machine columns; these are views of them.
"""

from __future__ import annotations

import pandas as pd

from sim.i18n import kpi_heading, kpi_label, kpi_unit, tr

__all__ = [
    "by",
    "ci_level",
    "ci_text",
    "in_words",
    "key_figures",
    "plain_number",
    "readable_erlang",
    "readable_sizing",
    "readable_sweep",
    "readable_tried",
]


def plain_number(value: float) -> str:
    """A number as people write it, in either language: 68,330 not 6.833e+04; 4
    significant digits below ten thousand."""
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def ci_text(low: float, high: float, half_width: float = 0.0) -> str:
    """'[2.38, 3.24]', '[11,360, 11,630]': as the tables write their numbers."""
    if pd.isna(half_width) or pd.isna(low):
        return ""
    return f"[{plain_number(low)}, {plain_number(high)}]"


def _kpi_names(kpis: pd.Series) -> dict[str, list[str]]:
    return {tr("KPI"): [kpi_label(k) for k in kpis], tr("unit"): [kpi_unit(k) for k in kpis]}


def key_figures(
    summary: pd.DataFrame, kpis: list[str] | tuple[str, ...] | None = None
) -> pd.DataFrame:
    """A summary for reading: human KPI names, units, the mean and its 95% CI (in the
    order of `kpis`; all of them when None)."""
    if kpis is not None:
        rows = summary[summary["kpi"].isin(list(kpis))]
        rows = rows.assign(order=rows["kpi"].map(list(kpis).index)).sort_values(
            "order", kind="stable"
        )
    else:
        rows = summary
    table = pd.DataFrame(_kpi_names(rows["kpi"]))
    if "scenario" in rows and rows["scenario"].nunique() > 1:
        table.insert(0, tr("scenario"), rows["scenario"].to_list())
    table[tr("mean")] = rows["mean"].to_list()
    table[tr("95% CI")] = [
        ci_text(lo, hi, h)
        for lo, hi, h in zip(rows["ci_low"], rows["ci_high"], rows["half_width"], strict=True)
    ]
    return table


def ci_level(confidence: float) -> str:
    """'95%', '97.5%' (Bonferroni with two alternatives): a confidence as written."""
    return f"{round(100 * confidence, 1):g}%"  # 98.3%, not 98.3333%


def in_words(
    differences: pd.DataFrame, key: str | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """Paired differences for reading: human names, the CI (at `confidence`) in one
    column, and whether it excludes 0 in words."""
    words = {True: tr("yes: the CI excludes 0"), False: tr("no: the CI includes 0")}
    no_ci = differences["ci_low"].isna() | differences["ci_high"].isna()  # one replication
    table = pd.DataFrame(index=range(len(differences)))
    if differences["scenario"].nunique() > 1:  # one alternative: named in the heading
        table[tr("scenario")] = differences["scenario"].to_list()
    if key is not None:
        table[tr(key)] = differences[key].to_list()
    else:
        for column, values in _kpi_names(differences["kpi"]).items():
            table[column] = values
    table[tr("baseline")] = differences["baseline_mean"].to_list()
    table[tr("alternative")] = differences["mean"].to_list()
    table[tr("change")] = differences["diff"].to_list()
    table[tr("{level} CI of the change").format(level=ci_level(confidence))] = [
        ci_text(lo, hi)
        for lo, hi in zip(differences["ci_low"], differences["ci_high"], strict=True)
    ]
    table[tr("significant")] = [
        tr("no CI (one replication)") if none else words[bool(sig)]
        for sig, none in zip(differences["significant"], no_ci, strict=True)
    ]
    return table


def by(summary: pd.DataFrame, index: str) -> pd.DataFrame:
    """KPI means as a table with one row per `index` value, columns in human names."""
    wide = summary.pivot(index=index, columns="kpi", values="mean")
    wide.columns = [kpi_heading(kpi) for kpi in wide.columns]
    return wide.rename_axis(tr(index)).reset_index()


def readable_sizing(table: pd.DataFrame, target) -> pd.DataFrame:
    """sizing.csv for reading: the counts, the formulas' answers, and the KPI at the size
    with its CI and one window below."""
    kpi = target.kpi
    low, high = table[f"{kpi}_at_size_ci_low"], table[f"{kpi}_at_size_ci_high"]
    return pd.DataFrame(
        {
            tr("pool"): table["pool"],
            tr("windows now"): table["current"],
            tr("Erlang C, day's average"): table["erlang_daily_average"],
            tr("Erlang C, busiest hour"): table["erlang_peak_hour"],
            tr("sized by simulation"): table["sized"],
            tr("saving"): table["saving"],
            kpi_heading(kpi): table[f"{kpi}_at_size"],
            tr("95% CI"): [ci_text(lo, hi) for lo, hi in zip(low, high, strict=True)],
            tr("one window fewer"): table[f"{kpi}_one_below"],
        }
    )


def readable_tried(tried: pd.DataFrame, target) -> pd.DataFrame:
    """tried.csv for reading: met in words."""
    met = {True: tr("met"), False: tr("not met")}
    return pd.DataFrame(
        {
            tr("pool"): tried["pool"],
            tr("windows"): tried["windows"],
            kpi_heading(target.kpi): tried[f"{target.kpi}_mean"],
            tr("95% CI"): [
                ci_text(lo, hi) for lo, hi in zip(tried["ci_low"], tried["ci_high"], strict=True)
            ],
            tr("met"): tried["met"].map(met),
        }
    )


def readable_erlang(table: pd.DataFrame) -> pd.DataFrame:
    """erlang.csv for reading: hours as HH:MM, columns named, no answer as a dash."""
    names = {
        "pool": tr("pool"), "hour": tr("hour"), "tickets_per_hour": tr("tickets per hour"),
        "service_mean_min": tr("mean service time (min)"), "service_cs2": "cs²",
        "open_windows": tr("windows open"), "offered_load": tr("offered load"),
        "erlang_c": "Erlang C", "allen_cunneen": "Allen-Cunneen", "erlang_a": "Erlang A",
        "simulated": tr("simulated"),
    }  # fmt: skip
    shown = table.assign(hour=table["hour"].map(lambda h: f"{h:02d}:00"))
    for column in shown.select_dtypes("Int64"):  # whole windows, or a dash for none
        shown[column] = shown[column].astype(object).where(shown[column].notna(), "—")
    return shown.rename(columns=names)


def readable_sweep(table: pd.DataFrame, settings: list[str]) -> pd.DataFrame:
    """sweep.csv for reading: the shown KPIs by name, the CI in one column."""
    from sim.metrics import SHOWN_KPIS

    rows = table[table["kpi"].isin(list(SHOWN_KPIS))]
    shown = rows[settings].copy()
    shown[tr("KPI")] = [kpi_heading(k) for k in rows["kpi"]]
    shown[tr("mean")] = rows["mean"]
    shown[tr("95% CI")] = [
        ci_text(lo, hi) for lo, hi in zip(rows["ci_low"], rows["ci_high"], strict=True)
    ]
    return shown
