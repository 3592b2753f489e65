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

import difflib
import hashlib
import json
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.errors import ScenarioError
from sim.scenario import Scenario
from sim.scenario_checks import check_scenario

__all__ = [
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
    "resolve_file",
    "scenario_hash",
    "scenario_yaml",
]


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
# YAML 1.1 reads 3e3 and 1e12 as strings (it wants 3.0e+3); read them as numbers
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_constructor(
    "!replace", lambda loader, node: _Replace(loader.construct_mapping(node, deep=True))
)

MAX_FILE_BYTES = 5_000_000  # a scenario is a few kilobytes; empirical samples fit in this
MAX_NODES = 1_000_000  # values after expanding aliases (an alias bomb has billions)
MAX_DEPTH = 50  # mappings in mappings; a scenario needs about 6
MAX_EXTENDS = 20  # files in an `extends:` chain


def _no_duplicate_keys(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    """A mapping whose keys are all different: YAML would keep the last silently."""
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        try:
            first = seen.get(key)
            seen.setdefault(key, line)
        except TypeError:  # an unhashable key: the constructor says so
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {first})", key_node.start_mark
            )
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.construct_mapping = _no_duplicate_keys  # type: ignore[method-assign]


def _read_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without a BOM), UTF-16 with a BOM, or GBK/GB18030
    (Chinese Windows); refuse anything else, and anything that is not a plain file."""
    try:
        if not path.is_file():
            if not path.exists():
                raise ScenarioError(path, "", "no such file (check the path and its spelling)")
            what = "a folder" if path.is_dir() else "not a plain file"
            raise ScenarioError(path, "", f"cannot read file ({what})")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(path, "", f"cannot read file ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(path, "", f"file larger than {MAX_FILE_BYTES // 1_000_000} MB")
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    for encoding in ["utf-16"] if utf16 else ["utf-8-sig", "gb18030"]:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
            break  # control characters: binary data, whatever it decoded as
        return text
    raise ScenarioError(path, "", "not a text file in UTF-8, UTF-16 or GBK (save it as UTF-8)")


def _size(node: yaml.Node, depth: int, memo: dict[int, int]) -> int:
    """Values a composed YAML document expands to (an alias counts each time it is
    used), refusing documents nested deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    known = memo.get(id(node))
    if known is not None:
        return known
    total = 1
    if isinstance(node, yaml.MappingNode):
        total += sum(_size(k, depth + 1, memo) + _size(v, depth + 1, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        total += sum(_size(v, depth + 1, memo) for v in node.value)
    memo[id(node)] = total = min(total, MAX_NODES + 1)
    return total


def _read_yaml(path: Path) -> dict[str, Any]:
    loader = _Loader(_read_text(path))
    try:
        node = loader.get_single_node()
        if node is not None and _size(node, 0, {}) > MAX_NODES:
            raise ScenarioError(
                path, "", f"YAML expands to more than {MAX_NODES:,} values (an alias bomb?)"
            )
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(path, "", f"malformed YAML: {where}{problem}") from None
    except (ValueError, RecursionError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise ScenarioError(path, "", f"malformed YAML: {message}") from None
    finally:
        loader.dispose()
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
        if not current.is_file():
            raise ScenarioError(chain[-1], "extends", f"not a scenario file: {parent}")
        if len(chain) >= MAX_EXTENDS:
            raise ScenarioError(path, "extends", f"more than {MAX_EXTENDS} files extend each other")
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


def _problems(errors: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(field, message) of each validation error; a misspelt field and the required
    field it was meant to be are one problem: "did you mean"."""
    fields = [_field_path(e["loc"]) for e in errors]
    missing = {f: e for f, e in zip(fields, errors, strict=True) if e["type"] == "missing"}
    meant: set[str] = set()
    problems = []
    for field, error in zip(fields, errors, strict=True):
        if error["type"] == "extra_forbidden":
            parent, _, name = field.rpartition(".")
            siblings = {f.rpartition(".")[2]: f for f in missing if f.rpartition(".")[0] == parent}
            close = difflib.get_close_matches(name, list(siblings), n=1, cutoff=0.6)
            if close:
                meant.add(siblings[close[0]])
                problems.append((field, f"unknown field: did you mean {close[0]!r}?"))
                continue
        problems.append((field, _message(error)))
    return [(f, m) for f, m in problems if f not in meant or not m.startswith("required")]


def parse_scenario(
    data: Mapping[str, Any],
    file: str | Path = "<scenario>",
    origins: dict[tuple[str, ...], Path] | None = None,
) -> Scenario:
    """Validate a raw mapping, fields and then the checks across them
    (sim.scenario_checks); the first problem becomes a one-line ScenarioError.

    The error names `file` (the file the user gave) and, when the offending value came
    from a file it extends, that file too.
    """
    try:
        scenario = Scenario.model_validate(dict(data))
        check_scenario(scenario)  # what no field can check alone
        return scenario
    except ValidationError as exc:
        problems = _problems(exc.errors(include_url=False))
        field, message = problems[0]
        if len(problems) > 1:  # every problem of the file at once, not one per round
            more = "; ".join(f"{f}: {m}" for f, m in problems[1:6])
            extra = f" and {len(problems) - 6} more" if len(problems) > 6 else ""
            message += f" (also {more}{extra})"
    except ValueError as exc:  # from check_scenario, which names the field
        field, message = "", str(exc)
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
    scenario = parse_scenario(data, path, origins)
    _warn_kept_pools(scenario, path, origins)
    return scenario


class ScenarioWarning(UserWarning):
    """A scenario that runs, but probably not as its author meant."""


def _warn_kept_pools(scenario: Scenario, path: Path, origins: dict) -> None:
    """A reform file that adds a pool serving everything (comprehensive windows) while
    the pools of the file it extends stay: usually `windows: !replace` was meant."""
    own = {name for name in scenario.windows if origins.get(("windows", name)) == path}
    inherited = [
        name for name, pool in scenario.windows.items()
        if name not in own and pool.stage == "acceptance" and pool.channel == "window"
    ]  # fmt: skip
    added_all = [name for name in own if scenario.windows[name].serves == "all"]
    if added_all and inherited:
        shown = ", ".join(inherited[:4]) + (" ..." if len(inherited) > 4 else "")
        warnings.warn(
            f"{path}: windows: {added_all[0]} serves all matters, but the pools of the file "
            f"it extends are kept beside it ({shown}); to replace them, write "
            "`windows: !replace`",
            ScenarioWarning,
            stacklevel=2,
        )


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario, `extends:` resolved, as a YAML file that loads back to it."""
    data = scenario.model_dump(mode="json", by_alias=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the scenario's content, whatever the file's layout: results name it."""
    canonical = json.dumps(
        scenario.model_dump(mode="json", by_alias=True), sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
