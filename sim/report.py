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
from sim.experiment import RunResult
from sim.folders import staged
from sim.loader import scenario_yaml
from sim.outputs import Chart, Heading, Items, Output, Table, Text, run_output

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

    def table(self, frame: pd.DataFrame, css_class: str = "kpis") -> None:
        self.parts.append(
            frame.to_html(index=False, classes=css_class, float_format=_number,
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


def _number(value: float) -> str:
    """A number as people write it: 68,330 not 6.833e+04; 4 significant digits below."""
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


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
    if isinstance(section, Heading):
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
    with staged(out, force) as folder:
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
