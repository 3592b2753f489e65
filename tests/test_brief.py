"""The brief says what the tables say: each sentence reads the right cells, verdicts
follow the numbers, and odd comparisons (no shared matter, three designs, one
replication, people giving up) still read true."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim import compare, load_scenario, run, with_settings
from sim.brief import Value, comparison_brief, run_brief
from sim.cli import main
from sim.i18n import tr, use_language
from sim.outputs import run_output
from sim.report import write
from tests.helpers import ROOT, build, mmc_dict

POOLING = [ROOT / "scenarios/examples/pooling-separate.yaml",
           ROOT / "scenarios/examples/pooling-pooled.yaml"]  # fmt: skip


def _cells(brief) -> dict[tuple[str, str, str], Value]:
    """(file, kpi or the row's first key, column) -> the Value shown."""
    found = {}
    for sentence in brief.sentences:
        for part in sentence:
            if isinstance(part, Value):
                row = dict(part.row)
                found[(part.file, row.get("kpi", ""), part.column)] = part
    return found


def _text(sentence) -> str:
    return "".join(p if isinstance(p, str) else p.text for p in sentence)


@pytest.fixture(scope="module")
def pair():
    return compare([load_scenario(p) for p in POOLING], 3, 7)


def test_a_comparison_brief_reads_each_number_from_its_own_cell(pair):
    cells = _cells(comparison_brief(pair))
    overall = pair.overall.set_index(["scenario", "kpi"])
    alternative = pair.results[1].scenario.name
    for kpi in ("wait_mean_min", "wait_p90_min"):
        row = overall.loc[(alternative, kpi)]
        for column in ("baseline_mean", "mean", "diff", "ci_low", "ci_high"):
            assert cells[("compare.csv", kpi, column)].value == pytest.approx(row[column])
    level = cells[("summary.csv", "service_level_visitor", "mean")]
    assert level.value == pytest.approx(
        pair.results[1].summary.set_index("kpi").loc["service_level_visitor", "mean"]
    )
    assert cells[("summary.csv", "windows", "mean")].value in (4, 5)  # before or after


def test_a_run_brief_counts_trips_over_its_days_and_judges_the_target_with_those_who_left():
    impatient = build(mmc_dict(2, 0.5, 6, opens_at="08:00", closes_at="12:00", days=2),
                      **{"patience_min": {"dist": "exponential", "mean": 3},
                         "target_wait_min": 5})  # fmt: skip
    result = run(impatient, 3, 1)
    brief = run_brief(result)
    summary = result.summary.set_index("kpi")
    first, _, target = brief.sentences[:3]
    assert "2 days" in _text(first) and summary.loc["abandoned", "mean"] > 0
    share = next(p for p in target if isinstance(p, Value))
    assert share.value == pytest.approx(summary.loc["service_level_visitor", "mean"])
    assert summary.loc["service_level_visitor", "ci_high"] < 0.9
    assert _text(target).endswith(f": {tr('not met')}.")  # the served alone wait little


def test_designs_sharing_no_matter_compare_and_say_so(tmp_path):
    pair = [str(ROOT / f"scenarios/examples/restaurant-{n}.yaml") for n in ("separate",
                                                                         "one-thing")]  # fmt: skip
    assert main(["compare", *pair, "--reps", "2", "--out", str(tmp_path / "c")]) == 0
    page = (tmp_path / "c" / "report.html").read_text(encoding="utf-8")
    assert "share no matter" in page


def test_three_designs_say_their_bonferroni_level_and_draw_each_alternative(tmp_path):
    third = tmp_path / "third.yaml"
    third.write_text(f"extends: {POOLING[1]}\nname: pooled-plus\n"
                     "windows:\n  comprehensive: {count: 5}\n")  # fmt: skip
    out = tmp_path / "three"
    assert main(["compare", *map(str, POOLING), str(third), "--reps", "3", "--out", str(out)]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "97.5% CI" in page and "95% CI -" not in page
    assert (out / "compare_matters.png").exists() and (out / "compare_matters_2.png").exists()


def _impatient(path: Path, **changes):
    patience = {"patience_min": {"dist": "exponential", "mean": 10}}
    return with_settings(load_scenario(path), {**patience, **changes})


def test_one_replication_has_no_interval_to_speak_of():
    designs = [_impatient(p) for p in POOLING]
    brief = comparison_brief(compare(designs, 1, 3))
    text = " ".join(_text(s) for s in brief.sentences)
    assert "gave up" in text  # the sentence with people giving up is there, without a CI
    assert "one replication, no CI" in text and "—" not in text


def test_designs_with_different_targets_say_both():
    designs = [_impatient(POOLING[0]), _impatient(POOLING[1], target_wait_min=2)]
    text = " ".join(_text(s) for s in comparison_brief(compare(designs, 2, 3)).sentences)
    assert "5 min before, 2 min after" in text


def test_a_page_built_in_chinese_is_written_in_chinese(tmp_path):
    result = run(load_scenario(POOLING[1]), 2, 1)
    with use_language("zh"):
        output = run_output(result)
    write(output, tmp_path / "r")  # outside the block: the page keeps its language
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh">' in page and "由 hallsim 生成" in page


def test_no_value_is_nan_in_a_normal_brief(pair):
    assert not any(math.isnan(v.value) for v in _cells(comparison_brief(pair)).values())


def test_each_designs_own_hours_show_what_pairing_leaves_out():
    """Quanzhou's department windows strand lunch-hour tickets; the pooled hall takes none
    then, so the paired table has no 12:00 wait, but each design's own hours do."""
    designs = [load_scenario(ROOT / f"scenarios/quanzhou-2021-{n}.yaml")
               for n in ("department", "comprehensive")]  # fmt: skip
    pair = compare(designs, 2, 5)
    own = pair.hall_by_hour().set_index(["scenario", "hour"])["mean"]
    assert own.loc[("quanzhou-2021-department", 12)] > 60
    paired = pair.by_hour[pair.by_hour["kpi"] == "wait_mean_min"].set_index("hour")
    assert 12 not in paired.index or math.isnan(paired.loc[12, "baseline_mean"])
