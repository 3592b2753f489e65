"""Chinese output: the catalog is complete and the language is chosen as documented."""

from __future__ import annotations

import string
from pathlib import Path

from babel.messages.extract import extract_from_dir

from sim.cli import _width, main
from sim.i18n import KEY_COLUMNS, catalog, kpi_heading, language, tr, use_language
from sim.kpis import KPIS
from sim.replay import BACKTEST_KPIS, VERDICTS

ROOT = Path(__file__).resolve().parents[1]
POOLING = [str(ROOT / "scenarios/examples/pooling-separate.yaml"),
           str(ROOT / "scenarios/examples/pooling-pooled.yaml")]  # fmt: skip


def _messages_in_code() -> set[str]:
    """Every message the code marks (tr, and the brief's sentence templates), the KPI
    names and units of the registry and of the backtest, its verdicts, and the key
    columns shown translated."""
    marked = {
        message
        for _file, _line, message, *_ in extract_from_dir(
            str(ROOT / "sim"),
            method_map=[("**.py", "python")],
            keywords={"tr": None, "_sentence": None, "_t": None},
        )
    }
    registry = {k.label for k in KPIS.values()} | {k.unit for k in KPIS.values()}
    backtest = {word for pair in BACKTEST_KPIS.values() for word in pair} | set(VERDICTS)
    return marked | registry | backtest | set(KEY_COLUMNS)


def test_the_chinese_catalog_holds_every_message_and_no_stale_one():
    wanted, chinese = _messages_in_code(), catalog("zh")
    assert len(wanted) > 150  # the extraction found the marked strings
    assert sorted(wanted - set(chinese)) == [], "untranslated: add them to hallsim.po"
    assert sorted(set(chinese) - wanted) == [], "no longer in the code: remove them"


def _fields(text: str) -> list[str]:
    """The format fields of a message, as str.format parses them (a stray brace raises)."""
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def test_translations_keep_every_placeholder():
    for english, chinese in catalog("zh").items():
        assert _fields(english) == _fields(chinese), english


def test_the_language_comes_from_the_option_then_the_environment(monkeypatch):
    monkeypatch.delenv("HALLSIM_LANG", raising=False)
    assert language() == "en" and tr("mean wait") == "mean wait"
    monkeypatch.setenv("HALLSIM_LANG", "zh_CN.UTF-8")
    assert language() == "zh" and tr("mean wait") == "平均等待"
    assert kpi_heading("wait_mean_min") == "平均等待（分钟）"
    with use_language("en"):
        assert kpi_heading("wait_mean_min") == "mean wait (min)"
    assert language() == "zh"


def test_the_option_beats_the_environment(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HALLSIM_LANG", "zh")
    out = tmp_path / "en"
    assert main(["run", POOLING[0], "--reps", "2", "--out", str(out), "--lang", "en"]) == 0
    assert "mean" in capsys.readouterr().out
    assert '<html lang="en">' in (out / "report.html").read_text(encoding="utf-8")


def test_an_unknown_language_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("HALLSIM_LANG", "fr")
    assert main(["validate", POOLING[0]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HALLSIM_LANG" in err and "en, zh" in err


def test_compare_prints_chinese_tables_that_line_up(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", *POOLING, "--reps", "2", "--out", str(out), "--lang", "zh"]) == 0
    printed = capsys.readouterr().out
    assert "平均等待（分钟）" in printed and "基线" in printed
    kpi_rows = [line for line in printed.splitlines() if "   [" in line and "）" in line]
    assert len(kpi_rows) >= 8
    # the CI column starts at the same screen column on every row, Chinese names included
    assert len({_width(line[: line.index("   [")]) for line in kpi_rows}) == 1
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh">' in page and "结论" in page and "关键指标" in page
    assert "mean wait" not in page  # KPI names are translated, not left in English
