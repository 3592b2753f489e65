"""Writes results folders; the only module that writes files.

Every kind of result says what it writes (sim.outputs); `write` writes any of them.
Everything goes to a temporary folder beside the destination and is moved into place at
the end, so an interrupted or failed run leaves nothing half-written, and an earlier
result is only replaced when the caller says `force`. Every folder gets a manifest and a
self-contained `report.html` a planner can open without a terminal.
"""

from __future__ import annotations

import base64
import html
import io
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from sim import plots
from sim.brief import Brief, Value
from sim.experiment import RunResult
from sim.folders import staged
from sim.i18n import language, tr, use_language
from sim.loader import scenario_yaml
from sim.outputs import Chart, Heading, Items, Output, Table, Text, run_output
from sim.tables import plain_number

__all__ = ["write", "write_results"]


def _version() -> str:
    try:
        return version("hallsim")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


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

    def table(self, frame: pd.DataFrame) -> None:
        """A table with numbers right-aligned and text left; an empty one is left out."""
        if frame.empty:
            return
        numeric = [
            pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
            for c in frame.columns
        ]

        def cell(tag: str, value, is_number: bool) -> str:
            text = (
                str(value)
                if tag == "th"
                else ""
                if pd.isna(value)
                else (plain_number(value) if is_number else str(value))
            )
            return f"<{tag}{' class=num' if is_number else ''}>{html.escape(text)}</{tag}>"

        head = "".join(cell("th", c, n) for c, n in zip(frame.columns, numeric, strict=True))
        body = "".join(
            "<tr>" + "".join(cell("td", v, n) for v, n in zip(row, numeric, strict=True)) + "</tr>"
            for row in frame.itertuples(index=False)
        )
        self.parts.append(
            f'<div class="table"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )

    def brief(self, brief: Brief) -> None:
        """The answer in plain words; each number a <data> naming its CSV cell."""
        sentences = "".join(
            "<li>" + "".join(_part(part) for part in sentence) + "</li>"
            for sentence in brief.sentences
        )
        self.parts.append(
            f'<section class="brief"><h2>{html.escape(brief.title)}</h2>'
            f"<ul>{sentences}</ul></section>"
        )

    def figure(self, png: bytes, caption: str) -> None:
        data = base64.b64encode(png).decode()
        self.parts.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def render(self) -> str:
        return (
            f'<!DOCTYPE html><html lang="{language()}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style>"
            f"<script>{_CHECKS}</script></head><body><h1>{html.escape(self.title)}</h1>"
            + "".join(self.parts)
            + "<footer><p>"
            + html.escape(tr("Made with hallsim"))
            + f" {html.escape(_version())}"
            "</p></footer></body></html>"
        )


_STYLE = (
    "body{font-family:system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;"
    "margin:2em auto;max-width:1100px;padding:0 1em;color:#222;line-height:1.45}"
    "table{border-collapse:collapse;margin:1em 0;font-size:0.88em;max-width:100%}"
    "td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left;"
    "overflow-wrap:break-word;vertical-align:top}"
    "th{background:#f3f3f3}.num{text-align:right}td.num{white-space:nowrap}"
    "td:first-child{white-space:nowrap}"  # names (matters, pools) are not broken up
    # a table wider than the page scrolls inside its own box, never the page
    ".table{overflow-x:auto;max-width:100%}"
    "img{max-width:100%;height:auto}figure{margin:1em 0}"
    "figcaption{color:#555;font-size:0.9em}"
    ".brief{background:#f5f8fc;border-left:4px solid #1f77b4;padding:0.2em 1em 0.6em}"
    ".brief li{margin:0.35em 0}.brief data{font-weight:600}"
    "@page{margin:12mm}"
    "@media print{body{margin:0;max-width:none;padding:0;font-size:9.5pt}"
    ".table{overflow:visible}table{font-size:8pt}td.num{white-space:normal}"
    "figure,.brief,tr{break-inside:avoid}h2,h3{break-after:avoid}"
    "img{max-height:120mm;width:auto}}"
)
# what the page's tests read once the browser has laid it out (tests/test_report_browser.py):
# figures decoded, headings with nothing under them (an empty table is never drawn), tables
# wider than the page (they scroll in their box) and whether the page scrolls sideways
_CHECKS = (
    "window.addEventListener('load',function(){var i=document.images,n=0;"
    "for(var k=0;k<i.length;k++){if(i[k].complete&&i[k].naturalWidth>0)n++;}"
    "var b=document.body,e=0,t=document.querySelectorAll('h2');"
    "for(var j=0;j<t.length;j++){var x=t[j].nextElementSibling;"
    "if(!x||x.tagName==='H2'||x.tagName==='FOOTER')e++;}"
    "b.setAttribute('data-figures-loaded',n+'/'+i.length);"
    "b.setAttribute('data-empty-sections',String(e));"
    "var w=0,d=document.querySelectorAll('div.table');"
    "for(var m=0;m<d.length;m++){if(d[m].scrollWidth>d[m].clientWidth+1)w++;}"
    "b.setAttribute('data-wide-tables',String(w));"
    "b.setAttribute('data-scroll-width',document.documentElement.scrollWidth+'/'"
    "+window.innerWidth);});"
)


def _part(part: str | Value) -> str:
    if isinstance(part, str):
        return html.escape(part)
    row = html.escape(json.dumps(dict(part.row), ensure_ascii=False))
    return (
        f'<data value="{part.value!r}" data-unit="{part.unit}" data-file="{part.file}" '
        f'data-column="{part.column}" '
        f'data-row="{row}">{html.escape(part.text)}</data>'
    )


def _csv(frame: pd.DataFrame, path: Path) -> None:
    """A CSV with a UTF-8 byte-order mark: Excel on Chinese Windows reads it as UTF-8."""
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def _png(drawn) -> bytes:
    """PNG bytes of what a chart drew on (its axes or its figure)."""
    fig = getattr(drawn, "figure", None) or drawn
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _render(page: _Page, section, folder: Path) -> None:
    if isinstance(section, Brief):
        page.brief(section)
    elif isinstance(section, Heading):
        page.heading(section.text)
    elif isinstance(section, Text):
        page.text(section.text)
    elif isinstance(section, Items):
        page.items(section.title, section.lines)
    elif isinstance(section, Table):
        page.table(section.frame)
    elif isinstance(section, Chart):
        png = _png(section.draw())
        (folder / section.file).write_bytes(png)
        page.figure(png, section.caption)
    else:
        raise TypeError(f"unknown report section {section!r}")


def write(output: Output, out: Path, force: bool = False, wall_time_s: float | None = None) -> Path:
    """Write a result's folder atomically (see sim.outputs); return its path."""
    with staged(out, force) as folder, use_language(output.lang):
        for name, frame in output.tables.items():
            _csv(frame, folder / name)
        for name, frame in output.logs.items():
            frame.to_parquet(folder / name, index=False)
        for name, scenario in output.scenarios.items():
            (folder / name).write_text(scenario_yaml(scenario), encoding="utf-8")
        for name, text in output.texts.items():
            (folder / name).write_text(text, encoding="utf-8")
        page = _Page(output.title)
        with plots.figure_fonts():
            for section in output.page:
                _render(page, section, folder)
        (folder / "report.html").write_text(page.render(), encoding="utf-8")
        _manifest(
            folder,
            command=output.command,
            **output.manifest,
            **({} if wall_time_s is None else {"wall_time_s": round(wall_time_s, 3)}),
        )
    return Path(out)


def write_results(
    result: RunResult,
    out: Path,
    force: bool = False,
    wall_time_s: float | None = None,
    note: str = "",
) -> Path:
    """Write the results folder of one run (the Python API's shortcut for `write`)."""
    return write(run_output(result, note), out, force, wall_time_s)


def _manifest(folder: Path, **fields: Any) -> None:
    fields = {"hallsim_version": _version(), **fields}
    fields["files"] = [
        *sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")),
        "manifest.json",
    ]
    (folder / "manifest.json").write_text(json.dumps(fields, indent=2, default=str) + "\n")
