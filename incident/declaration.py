"""Parsing and validating what a responder typed to declare an incident, and naming its
channel by Slack's rules. Pure functions: the handler turns errors into ephemeral messages."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from incident.severity import SeverityError, split_severity

MAX_TITLE = 150
CHANNEL_MAX = 80
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class DeclarationError(ValueError):
    """A message the responder can act on."""


@dataclass(frozen=True)
class Declaration:
    title: str
    severity: str
    service: str | None = None
    private: bool = False  # a security incident: `--private`


def clean_title(raw: str) -> str:
    title = _CONTROL.sub("", raw).strip()
    title = " ".join(title.split())
    if not title:
        raise DeclarationError(
            "The incident needs a title, e.g. `/incident declare SEV2 Checkout is failing`."
        )
    if len(title) > MAX_TITLE:
        raise DeclarationError(
            f"The title is {len(title)} characters long; keep it to {MAX_TITLE} or fewer."
        )
    return title


def parse_declare(
    text: str, default_severity: str, aliases: Mapping[str, str] | None = None
) -> Declaration:
    """`SEV2 Checkout is failing`, `P1 Checkout is failing`, `critical: Checkout is failing`
    or just `Checkout is failing` (the default severity). A severity that is typed always
    wins over the default; one that is no level (`SEV9`, `P7`) is refused, never taken into
    the title. `aliases` is the policy's table of other names for the levels."""
    options, text = take_options(text, valued=("--service",), flags=("--private",))
    try:
        severity, rest = split_severity(text, aliases)
    except SeverityError as exc:
        raise DeclarationError(str(exc)) from None
    return Declaration(
        title=clean_title(rest),
        severity=severity or default_severity,
        service=options.get("--service"),
        private="--private" in options,
    )


def take_options(
    text: str, *, valued: tuple[str, ...] = (), flags: tuple[str, ...] = ()
) -> tuple[dict[str, str], str]:
    """Pull `--name value`, `--name=value` and bare `--flag` out of free text (a title), leaving
    every other word where it was; a flag found is mapped to "". Only the names given are
    options, so a title may still say "--verbose logging broke"."""
    words = text.split()
    found: dict[str, str] = {}
    kept: list[str] = []
    i = 0
    while i < len(words):
        name, eq, inline = words[i].partition("=")
        if name in valued:
            if eq:
                value, i = inline, i + 1
            elif i + 1 < len(words):
                value, i = words[i + 1], i + 2
            else:
                raise DeclarationError(f"`{name}` needs a value, e.g. `{name} checkout`.")
            if not value:
                raise DeclarationError(f"`{name}` needs a value, e.g. `{name} checkout`.")
            found[name] = value
            continue
        if name in flags and not eq:
            found[name] = ""
        else:
            kept.append(words[i])
        i += 1
    return found, " ".join(kept)


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug


def channel_name(number: int, title: str, attempt: int = 0) -> str:
    """`inc-<number>-<slug>`, at most 80 characters; attempt > 0 adds a suffix (name_taken)."""
    prefix = f"inc-{number}"
    suffix = f"-{attempt + 1}" if attempt else ""
    room = CHANNEL_MAX - len(prefix) - len(suffix) - 1
    slug = slugify(title)[:room].rstrip("-")
    return f"{prefix}-{slug}{suffix}" if slug else f"{prefix}{suffix}"
