"""Words people read, in their language: reports, figures and on-screen tables.

Code writes English and marks it with `tr("...")`; the Chinese lives in the message
catalog `sim/locale/zh/LC_MESSAGES/hallsim.po` (gettext's format, read with Babel, so
translators use the usual tools and no compiled file is kept). The language is the
innermost `use_language(...)`, else the environment variable HALLSIM_LANG, else English.
A message missing from the catalog shows in English; tests/test_i18n.py keeps the
catalog complete. The helper is `tr`, not gettext's `_`, because `_` is also the
throwaway name in loops and would shadow it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

__all__ = [
    "ENV_VAR",
    "KEY_COLUMNS",
    "LANGUAGES",
    "catalog",
    "kpi_heading",
    "kpi_label",
    "kpi_unit",
    "language",
    "tr",
    "use_language",
]

LANGUAGES = ("en", "zh")
# column names translated as data (tr(key)), so the catalog must hold them too
KEY_COLUMNS = ("matter", "hour", "pool", "kpi", "team")
ENV_VAR = "HALLSIM_LANG"
LOCALE_DIR = Path(__file__).parent / "locale"
_CHOSEN: ContextVar[str | None] = ContextVar("hallsim_language", default=None)


def normalise(name: str) -> str:
    """'zh_CN.UTF-8', 'zh-Hans', 'ZH' -> 'zh'; an unknown language is an error."""
    short = name.strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    if short not in LANGUAGES:
        raise ValueError(f"unknown language {name!r}: choose one of {', '.join(LANGUAGES)}")
    return short


def language() -> str:
    chosen = _CHOSEN.get()
    if chosen is not None:
        return chosen
    from_env = os.environ.get(ENV_VAR, "").strip()
    return normalise(from_env) if from_env else "en"


@contextmanager
def use_language(name: str | None) -> Iterator[str]:
    """Within the block, tr() answers in `name` (None: keep the current language)."""
    token = _CHOSEN.set(normalise(name) if name else language())
    try:
        yield _CHOSEN.get() or "en"
    finally:
        _CHOSEN.reset(token)


@cache
def catalog(name: str) -> dict[str, str]:
    """msgid -> translation of one language's catalog (empty for English)."""
    if name == "en":
        return {}
    from babel.messages.pofile import read_po  # only when a translation is asked for

    path = LOCALE_DIR / name / "LC_MESSAGES" / "hallsim.po"
    with path.open("rb") as file:
        messages = read_po(file)
    return {m.id: m.string for m in messages if m.id and m.string and not m.fuzzy}


def tr(message: str) -> str:
    """`message` in the current language (as it is when untranslated)."""
    return catalog(language()).get(message, message)


def kpi_label(name: str) -> str:
    """A KPI's human name in the current language ('mean wait'), its key if unknown."""
    from sim.kpis import KPIS

    kpi = KPIS.get(name)
    return tr(kpi.label) if kpi else name


def kpi_unit(name: str) -> str:
    from sim.kpis import KPIS

    kpi = KPIS.get(name)
    return tr(kpi.unit) if kpi else ""


def kpi_heading(name: str) -> str:
    """'mean wait (min)', '平均等待（分钟）': a KPI as an axis or column heading."""
    unit = kpi_unit(name)
    return (
        tr("{label} ({unit})").format(label=kpi_label(name), unit=unit) if unit else kpi_label(name)
    )
