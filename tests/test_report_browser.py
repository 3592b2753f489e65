"""report.html as a planner sees it: opened in headless Chromium (CI installs it).

The page records what the browser did once it was laid out (sim.report._CHECKS): how
many figures were decoded, how many headings have nothing under them, and whether the
page or a table scrolls sideways. The brief's numbers are <data> elements naming their
CSV cell; each is read back from the folder's CSV.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from sim.brief import display
from sim.cli import main
from tests.helpers import ROOT

QUANZHOU = [str(ROOT / "scenarios/quanzhou-2021-department.yaml"),
            str(ROOT / "scenarios/quanzhou-2021-comprehensive.yaml")]  # fmt: skip
WIDTH = 1280


def _browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install chromium (see .ci/run)")
        pytest.skip("chromium is not installed")
    return found


def _open(page: Path, profile: Path, *extra: str) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--hide-scrollbars",
             f"--window-size={WIDTH},1000"]  # fmt: skip
    done = subprocess.run(
        [_browser(), *flags, *extra, page.as_uri()], capture_output=True, text=True, timeout=120
    )
    return done.stdout


class _Page(HTMLParser):
    """The body's check attributes, the <html lang> and the brief's <data> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.lang = ""
        self.data: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body = attributes
        elif tag == "html":
            self.lang = attributes.get("lang", "")
        elif tag == "data":
            self._open = {**attributes, "text": ""}
            self.data.append(self._open)

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "data":
            self._open = None


@pytest.fixture(scope="module", params=["en", "zh"])
def brief(request, tmp_path_factory):
    """The Quanzhou pair compared (3 replications), in each language, as the browser saw it."""
    _browser()
    base = tmp_path_factory.mktemp(f"brief-{request.param}")
    out = base / "cmp"
    args = ["compare", *QUANZHOU, "--reps", "3", "--out", str(out), "--lang", request.param]
    assert main(args) == 0
    page = _Page()
    page.feed(_open(out / "report.html", base / "profile", "--dump-dom"))
    return request.param, out, page


def test_every_figure_is_decoded_and_no_section_is_empty(brief):
    _lang, _out, page = brief
    loaded, total = page.body["data-figures-loaded"].split("/")
    assert loaded == total and int(total) >= 4
    assert page.body["data-empty-sections"] == "0"


def test_the_page_does_not_scroll_sideways_at_1280_px(brief):
    _lang, _out, page = brief
    content, window = map(int, page.body["data-scroll-width"].split("/"))
    assert window == WIDTH  # the browser really laid it out at this width
    assert content <= window
    assert page.body["data-wide-tables"] == "0"  # nor does any table inside its box


def _check_numbers(page: _Page, out: Path) -> None:
    for number in page.data:
        table = pd.read_csv(out / number["data-file"])
        rows = table
        for column, wanted in json.loads(number["data-row"]).items():
            rows = rows[rows[column].astype(str) == wanted]
        assert len(rows) == 1, number
        in_csv = float(rows[number["data-column"]].iloc[0])
        assert float(number["value"]) == pytest.approx(in_csv, rel=1e-12, abs=1e-12), number
        assert number["text"] == display(in_csv, number["data-unit"]), number


def test_the_briefs_numbers_are_the_csvs(brief):
    _lang, out, page = brief
    assert len(page.data) >= 10  # windows, waits, changes and their CIs
    _check_numbers(page, out)


def test_the_matters_that_lose_are_named_with_their_csv_numbers(tmp_path):
    """Xiaonan's zones make some matters wait longer: the brief names them (no browser
    needed to read the numbers back)."""
    out = tmp_path / "xiaonan"
    pair = [str(ROOT / f"scenarios/xiaonan-{name}.yaml") for name in ("department", "three-zones")]
    assert main(["compare", *pair, "--reps", "5", "--out", str(out)]) == 0
    page = _Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    matters = [n for n in page.data if n["data-file"] == "compare_matters.csv"]
    assert matters and all(float(n["value"]) > 0 for n in matters)
    _check_numbers(page, out)


def test_the_brief_reads_in_its_language(brief):
    lang, out, page = brief
    assert page.lang == lang
    html = (out / "report.html").read_text(encoding="utf-8")
    if lang == "zh":
        assert all(w in html for w in ("结论", "平均等待", "改革前", "假设（未公开，请核对）"))
    else:
        assert all(w in html for w in ("The answer", "mean wait", "before", "Assumptions"))


def test_a_run_report_shows_its_figures_in_the_browser(tmp_path):
    out = tmp_path / "run"
    assert main(["run", str(ROOT / "scenarios/examples/small-hall.yaml"), "--reps", "3",
                 "--out", str(out)]) == 0  # fmt: skip
    page = _Page()
    page.feed(_open(out / "report.html", tmp_path / "profile", "--dump-dom"))
    assert page.body["data-figures-loaded"] == "3/3"
    assert page.body["data-empty-sections"] == "0"
    assert len(page.data) >= 5
    shot = tmp_path / "shot.png"
    _open(out / "report.html", tmp_path / "profile2", f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 20_000  # a page with tables and plots


def test_the_sizing_brief_reads_its_numbers_from_tried_csv(tmp_path):
    out = tmp_path / "size"
    mmc = str(ROOT / "scenarios/examples/mmc.yaml")
    assert main(["size", mmc, "--target", "wait_p90_min<=5", "--reps", "3", "--out", str(out),
                 "--lang", "zh"]) == 0  # fmt: skip
    page = _Page()
    page.feed(_open(out / "report.html", tmp_path / "profile", "--dump-dom"))
    assert page.body["data-scroll-width"] == f"{WIDTH}/{WIDTH}"
    assert page.body["data-wide-tables"] == "0" and page.body["data-empty-sections"] == "0"
    assert {n["data-file"] for n in page.data} == {"tried.csv"} and len(page.data) >= 3
    _check_numbers(page, out)
    assert "个窗口满足" in (out / "report.html").read_text(encoding="utf-8")
