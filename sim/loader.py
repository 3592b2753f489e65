"""YAML scenario files -> Scenario, with `extends:` overlays and errors naming file and field.

Overlay rules (a reform file changes only what differs):
* mappings merge key by key, recursively;
* any other value (number, string, list) replaces the parent's;
* `key: null` removes the parent's key;
* `key: !replace {...}` replaces the parent's mapping whole instead of merging into it
  (e.g. swap all department pools for one comprehensive pool).
Relative `extends:` paths are relative to the file that says them.
Times of day are written "HH:MM"; YAML 1.1's base-60 integers (9:30 -> 570) are
switched off so that an unquoted time stays a string; dates stay strings as well.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.errors import ScenarioError
from sim.scenario import Scenario

__all__ = ["ScenarioError", "load_scenario", "parse_scenario", "resolve_file"]


class _Replace(dict):
    """A mapping tagged !replace: overrides the parent's mapping instead of merging."""


class _Loader(yaml.SafeLoader):
    """SafeLoader without base-60 numbers, with the !replace tag."""


# Dates stay strings too, so that pydantic checks them and names the field on error.
_DROPPED = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:timestamp"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_constructor(
    "!replace", lambda loader, node: _Replace(loader.construct_mapping(node, deep=True))
)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(path, "", f"cannot read file ({exc.strerror})") from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(path, "", f"malformed YAML: {where}{problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(path, "", "must be a YAML mapping of fields")
    return data


def _record_origins(
    value: Any, where: tuple[str, ...], origins: dict[tuple[str, ...], Path], path: Path
) -> None:
    origins[where] = path
    if isinstance(value, dict):
        for key, child in value.items():
            _record_origins(child, (*where, str(key)), origins, path)


def _merge(
    base: Mapping[str, Any],
    overlay: Mapping[str, Any],
    origins: dict[tuple[str, ...], Path],
    path: Path,
    prefix: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Deep-merge overlay onto base; record which file last set or touched each key."""
    merged = dict(base)
    for key, value in overlay.items():
        where = (*prefix, str(key))
        origins[where] = path
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            if isinstance(value, _Replace):
                merged[key] = dict(value)
                _record_origins(merged[key], where, origins, path)
            else:
                merged[key] = _merge(merged[key], value, origins, path, where)
        else:
            merged[key] = dict(value) if isinstance(value, _Replace) else value
            _record_origins(value, where, origins, path)
    return merged


def resolve_file(
    path: str | Path, origins: dict[tuple[str, ...], Path] | None = None
) -> dict[str, Any]:
    """The merged raw mapping of a file and everything it extends (no validation)."""
    origins = {} if origins is None else origins
    chain: list[Path] = []
    current = Path(path)
    while True:
        resolved = current.resolve()
        if resolved in chain:
            loop = " -> ".join(p.name for p in [*chain, resolved])
            raise ScenarioError(path, "extends", f"extends loop: {loop}")
        chain.append(resolved)
        data = _read_yaml(current)
        parent = data.get("extends")
        if parent is None:
            break
        if not isinstance(parent, str):
            raise ScenarioError(current, "extends", "must be a file path")
        current = current.parent / parent
        if not current.exists():
            raise ScenarioError(chain[-1], "extends", f"file not found: {parent}")
    merged: dict[str, Any] = {}
    for file in reversed(chain):
        data = _read_yaml(file)
        data.pop("extends", None)
        merged = _merge(merged, data, origins, file)
    return merged


def _field_path(loc: tuple[Any, ...]) -> str:
    # pydantic adds the tag of a discriminated union member to the location; drop it
    tags = {"fixed", "exponential", "gamma", "lognormal", "triangular", "uniform", "empirical"}
    parts = [str(p) for p in loc if str(p) not in tags and not str(p).startswith("function-")]
    return ".".join(parts)


def _origin(field: str, origins: dict[tuple[str, ...], Path]) -> Path | None:
    """The file that last set the field, or its nearest ancestor."""
    parts = tuple(field.split(".")) if field else ()
    for n in range(len(parts), 0, -1):
        if parts[:n] in origins:
            return origins[parts[:n]]
    return None


def _message(error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; `hallsim schema` lists every field)"
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_invalid":
        tag, field = ctx["tag"], ctx["discriminator"].strip("'")
        return f"unknown {field} {tag!r}; use one of {ctx['expected_tags']}"
    return error["msg"].removeprefix("Value error, ")


def parse_scenario(
    data: Mapping[str, Any],
    file: str | Path = "<scenario>",
    origins: dict[tuple[str, ...], Path] | None = None,
) -> Scenario:
    """Validate a raw mapping; the first problem becomes a one-line ScenarioError.

    The error names `file` (the file the user gave) and, when the offending value came
    from a file it extends, that file too.
    """
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = _field_path(error["loc"])
        message = _message(error)
        head, sep, rest = message.partition(": ")
        if sep and " " not in head:  # checks lead with their path, full or relative
            field = head if head.startswith(field) else f"{field}.{head}"
            message = rest
        source = _origin(field, origins or {})
        if source is not None and source.resolve() != Path(file).resolve():
            message += f" (set in {source})"
        raise ScenarioError(file, field, message) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (following `extends:`) into a validated Scenario.

    The scenario's name defaults to the file name without its extension.
    """
    path = Path(path)
    origins: dict[tuple[str, ...], Path] = {}
    data = resolve_file(path, origins)
    if "name" not in _read_yaml(path):  # a reform file is not named after its parent
        data["name"] = path.stem
    return parse_scenario(data, path, origins)
