"""Reading a catalog file (YAML or TOML): any problem names the file and line, so whoever
edits it can fix it without reading code. A broken catalog is found at start-up (and on
reload), never mid-incident.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.adapters.catalog.model import NAME, NAME_RULE, Catalog, CatalogError, Loc, Service
from incident.oncall import parse_target
from incident.severity import SeverityError, parse_severity


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog; any problem raises CatalogError pointing at a line."""
    label, data, lines = _read(Path(path))
    if not isinstance(data, dict):
        raise CatalogError(label, 1, "", "catalog must be a mapping with a services: list")

    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as exc:
        problems = [(tuple(e["loc"]), _reason(e["msg"])) for e in exc.errors()]
        raise _first_error(label, problems, lines) from None

    catalog, problems = _resolve_references(catalog)
    if problems:
        raise _first_error(label, problems, lines)
    return catalog


def check_alert_severities(
    path: str | Path, catalog: Catalog, aliases: Mapping[str, str]
) -> CatalogError | None:
    """The alert rules' ``declare`` words read again with the policy file's aliases.

    The catalog alone reads them with the default aliases; a policy that removes a word
    (``critical = false``) or maps it to another level would otherwise declare at a level
    nobody wrote. The error names the file and line like any other catalog problem."""
    problems: list[tuple[Loc, str]] = []
    for index, rule in enumerate(catalog.alert_rules):
        word = rule.declare_as_written
        if word is None:
            continue
        try:
            level = parse_severity(word, aliases)
        except SeverityError as exc:
            problems.append(
                (("alerts", "rules", index, "declare"), f"under POLICY_FILE's aliases: {exc}")
            )
            continue
        if level != rule.declare:
            problems.append(
                (
                    ("alerts", "rules", index, "declare"),
                    f"{word!r} is {level} under POLICY_FILE's aliases but {rule.declare} by "
                    f"default: write the level ({level} or {rule.declare})",
                )
            )
    if not problems:
        return None
    try:
        label, _, lines = _read(Path(path))
    except CatalogError as exc:  # changed since it loaded: point at the file
        label, lines = exc.path, {}
    return _first_error(label, problems, lines)


def _read(path: Path) -> tuple[str, Any, dict[Loc, int]]:
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(label, 0, "", f"cannot read: {exc.strerror or exc}") from exc

    suffix = path.suffix.lower()
    if suffix in {".yml", ".yaml"}:
        data, lines = _parse_yaml(text, label)
    elif suffix == ".toml":
        data, lines = _parse_toml(text, label)
    else:
        raise CatalogError(label, 0, "", "catalog must be .yml, .yaml or .toml")
    return label, data, lines


def _resolve_references(catalog: Catalog) -> tuple[Catalog, list[tuple[Loc, str]]]:
    """Checks that need the whole catalog: unique names and known cluster contexts.

    Also fills a service's kubernetes context when only one cluster is declared, so the
    checks never have to guess.
    """
    problems: list[tuple[Loc, str]] = []
    problems += _duplicates("services", [s.name for s in catalog.services])
    problems += _duplicates("clusters", [c.name for c in catalog.clusters])
    problems += _oncall_references(catalog)
    if catalog.security is not None:
        problems += catalog.security.problems(list(catalog.oncall.schedules))
    problems += _duplicates("status_pages", [p.name for p in catalog.status_pages])
    problems += catalog.stakeholders.problems(catalog.names)
    pages = [p.name for p in catalog.status_pages]
    for index, service in enumerate(catalog.services):
        for at, name in enumerate(service.depends_on):
            if name not in pages:
                problems.append(
                    (
                        ("services", index, "depends_on", at),
                        f"unknown status page {name!r} (declared: {', '.join(pages) or 'none'})",
                    )
                )
    if not catalog.clusters:
        return catalog, problems

    cluster_names = [c.name for c in catalog.clusters]
    services: list[Service] = []
    for index, service in enumerate(catalog.services):
        kube = service.kubernetes
        if kube is not None and kube.context is None:
            if len(cluster_names) == 1:
                kube = kube.model_copy(update={"context": cluster_names[0]})
                service = service.model_copy(update={"kubernetes": kube})
            else:
                problems.append(
                    (
                        ("services", index, "kubernetes"),
                        f"context required: several clusters declared ({', '.join(cluster_names)})",
                    )
                )
        elif kube is not None and kube.context not in cluster_names:
            problems.append(
                (
                    ("services", index, "kubernetes", "context"),
                    f"unknown cluster {kube.context!r} (declared: {', '.join(cluster_names)})",
                )
            )
        services.append(service)
    return catalog.model_copy(update={"services": services}), problems


def _oncall_references(catalog: Catalog) -> list[tuple[Loc, str]]:
    """Names typed in targets are words; targets name known schedules; every step but the
    last waits (or the next is never reached); services name known escalations; a Sentry
    project belongs to one service."""
    problems: list[tuple[Loc, str]] = []
    oncall = catalog.oncall
    for section, names in (("schedules", oncall.schedules), ("escalations", oncall.escalations)):
        for name in names:
            if not NAME.match(name):
                problems.append((("oncall", section, name), f"{name!r}: {NAME_RULE}"))
    for name, steps in oncall.escalations.items():
        for index, step in enumerate(steps):
            target = parse_target(step.notify)
            if target.kind == "schedule" and target.ref not in oncall.schedules:
                known = ", ".join(oncall.schedules) or "none"
                problems.append(
                    (
                        ("oncall", "escalations", name, index, "notify"),
                        f"unknown schedule {target.ref!r} (declared: {known})",
                    )
                )
            if step.wait is None and index < len(steps) - 1:
                problems.append(
                    (
                        ("oncall", "escalations", name, index),
                        "wait required: a step followed by another says how long to wait",
                    )
                )
    owners: dict[str, int] = {}
    for index, service in enumerate(catalog.services):
        if service.escalation is not None and service.escalation not in oncall.escalations:
            known = ", ".join(oncall.escalations) or "none"
            problems.append(
                (
                    ("services", index, "escalation"),
                    f"unknown escalation {service.escalation!r} (declared: {known})",
                )
            )
        for position, slug in enumerate(service.sentry_projects):
            if slug in owners and owners[slug] != index:
                first = catalog.services[owners[slug]].name
                problems.append(
                    (
                        ("services", index, "sentry_projects", position),
                        f"Sentry project {slug!r} already belongs to {first!r}",
                    )
                )
            owners.setdefault(slug, index)
    return problems


def _duplicates(section: str, names: Sequence[str]) -> list[tuple[Loc, str]]:
    seen: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for index, name in enumerate(names):
        if name in seen:
            problems.append(
                (
                    (section, index, "name"),
                    f"duplicate name {name!r} (first at {section}[{seen[name]}])",
                )
            )
        else:
            seen[name] = index
    return problems


def _first_error(
    label: str, problems: list[tuple[Loc, str]], lines: dict[Loc, int]
) -> CatalogError:
    """The earliest problem in the file; the rest are only counted to keep one line."""
    located = sorted(
        ((_line_of(loc, lines), _format_loc(loc), reason) for loc, reason in problems),
        key=lambda item: item[0],
    )
    line, where, reason = located[0]
    return CatalogError(label, line, where, reason, more=len(located) - 1)


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    # A missing field has no line of its own: point at the nearest enclosing key.
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _reason(msg: str) -> str:
    # Pydantic says "Field required"; lower-case reads better after "where: ", but keep
    # acronyms such as "URL" intact.
    msg = msg.removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:] if msg[1:2].islower() else msg


# --- YAML -------------------------------------------------------------------------------


def _parse_yaml(text: str, label: str) -> tuple[Any, dict[Loc, int]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = f"invalid YAML: {exc.problem or exc}"
        if exc.context and exc.context_mark and exc.context_mark.line + 1 != line:
            # An unclosed bracket is noticed lines later; say where it was opened.
            reason += f" ({exc.context} on line {exc.context_mark.line + 1})"
        raise CatalogError(label, line, "", reason) from None
    except yaml.YAMLError as exc:
        raise CatalogError(label, 1, "", f"invalid YAML: {exc}") from None
    if root is None:
        raise CatalogError(label, 1, "", "catalog is empty")
    lines: dict[Loc, int] = {(): root.start_mark.line + 1}
    _index_yaml(root, (), lines, label)
    return data, lines


def _index_yaml(
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    label: str,
    above: frozenset[int] = frozenset(),
) -> None:
    if id(node) in above:
        return  # an alias back to one of its own ancestors
    above = above | {id(node)}
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                # PyYAML silently keeps the last one; a silent override hides mistakes.
                raise CatalogError(
                    label, key_node.start_mark.line + 1, _format_loc((*loc, key)), "duplicate key"
                )
            seen.add(key)
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _index_yaml(value_node, (*loc, key), lines, label, above)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            _index_yaml(item, (*loc, index), lines, label, above)


# --- TOML -------------------------------------------------------------------------------

_TOML_ERROR_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_BARE_OR_QUOTED = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_TOML_KEY = re.compile(rf"^\s*({_TOML_BARE_OR_QUOTED}(?:\s*\.\s*{_TOML_BARE_OR_QUOTED})*)\s*=")
_TOML_INLINE_KEY = re.compile(r"""[{,]\s*([A-Za-z0-9_-]+|"[^"]*")\s*=""")


def _parse_toml(text: str, label: str) -> tuple[Any, dict[Loc, int]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_ERROR_LINE.search(str(exc))
        line = int(found.group(1)) if found else 1
        reason = _TOML_ERROR_LINE.sub("", str(exc)).strip()
        raise CatalogError(label, line, "", f"invalid TOML: {reason}") from None
    return data, _index_toml(text)


def _index_toml(text: str) -> dict[Loc, int]:
    """Where each key path starts, found by scanning the text.

    tomllib keeps no positions, so this follows table headers and ``key =`` lines; it only
    has to be good enough to point an error at the right line of a valid file.
    """
    lines: dict[Loc, int] = {(): 1}
    array_lengths: dict[Loc, int] = {}
    table: Loc = ()
    in_multiline: str | None = None

    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _TOML_HEADER.match(raw)
        if header:
            keys = _split_dotted(header.group(2))
            table = _resolve_table(keys, array_lengths, append=header.group(1) == "[[")
            lines.setdefault(table, number)
            if header.group(1) == "[[":
                lines.setdefault(table[:-1], number)
            continue
        key = _TOML_KEY.match(raw)
        if not key:
            continue
        loc = (*table, *_split_dotted(key.group(1)))
        lines.setdefault(loc, number)
        rest = raw[key.end() :]
        for inner in _TOML_INLINE_KEY.finditer(rest):
            lines.setdefault((*loc, inner.group(1).strip("\"'")), number)
        for quote in ('"""', "'''"):
            if rest.count(quote) % 2 == 1:
                in_multiline = quote
    return lines


def _resolve_table(keys: list[str], array_lengths: dict[Loc, int], *, append: bool) -> Loc:
    # Inside [[services]], a later [services.kubernetes] belongs to the latest service.
    loc: Loc = ()
    for key in keys[:-1] if append else keys:
        loc = (*loc, key)
        if loc in array_lengths:
            loc = (*loc, array_lengths[loc] - 1)
    if append:
        loc = (*loc, keys[-1])
        array_lengths[loc] = array_lengths.get(loc, 0) + 1
        loc = (*loc, array_lengths[loc] - 1)
    return loc


def _split_dotted(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', key)]
