"""The human-written parts of a post-mortem. Each starts as a draft generated from the
timeline; once someone edits it, the stored text wins over every later regeneration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from incident.models import PostmortemSection

# (key, heading) in the order a reader meets them.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "What happened"),
    ("impact", "Impact"),
    ("root_cause", "Root cause"),
    ("contributing_factors", "Contributing factors"),
    ("went_well", "What went well"),
    ("went_badly", "What went badly"),
)
TITLES: dict[str, str] = dict(SECTIONS)
MAX_SECTION_CHARS = 20_000


class SectionError(ValueError):
    """An edit that cannot be stored; the message is for the person who made it."""


class SectionConflict(SectionError):
    """Someone else saved the section after the editor loaded it."""


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    body: str
    edited_by: str | None = None
    edited_at: datetime | None = None

    @property
    def generated(self) -> bool:
        """True while nobody has written this section: the body is a draft."""
        return self.edited_at is None


@dataclass(frozen=True, slots=True)
class StoredSection:
    body: str
    edited_by: str
    edited_at: datetime


async def stored_sections(session: AsyncSession, number: int) -> dict[str, StoredSection]:
    t = PostmortemSection.__table__
    rows = await session.execute(
        select(t.c.key, t.c.body, t.c.edited_by, t.c.edited_at).where(t.c.incident_number == number)
    )
    return {key: StoredSection(body, by, at) for key, body, by, at in rows}


def merge(drafts: dict[str, str], stored: dict[str, StoredSection]) -> list[Section]:
    out: list[Section] = []
    for key, title in SECTIONS:
        s = stored.get(key)
        if s is not None:
            out.append(Section(key, title, s.body, s.edited_by, s.edited_at))
        else:
            out.append(Section(key, title, drafts.get(key, "")))
    return out


async def save_section(
    session: AsyncSession,
    number: int,
    key: str,
    body: str,
    *,
    editor: str,
    now: datetime,
    check_version: bool = False,
    expected_version: datetime | None = None,
) -> Section | None:
    """Store a human edit. A blank body drops the edit, so the generated draft shows again
    (None is returned). With `check_version`, `expected_version` is the edited_at the editor
    saw (None: the draft); a different one means a concurrent edit, refused rather than lost."""
    if key not in TITLES:
        raise SectionError(f"unknown section {key!r}")
    body = body.replace("\r\n", "\n").strip()
    if len(body) > MAX_SECTION_CHARS:
        raise SectionError(f"a section holds at most {MAX_SECTION_CHARS} characters")
    t = PostmortemSection.__table__
    current = await session.scalar(
        select(t.c.edited_at).where(t.c.incident_number == number, t.c.key == key).with_for_update()
    )
    if check_version and current != expected_version:
        raise SectionConflict("someone else saved this section meanwhile; reload and retry")
    if not body:
        await session.execute(delete(t).where(t.c.incident_number == number, t.c.key == key))
        return None
    stmt = insert(t).values(
        incident_number=number, key=key, body=body, edited_by=editor, edited_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["incident_number", "key"],
        set_={"body": body, "edited_by": editor, "edited_at": now},
    )
    await session.execute(stmt)
    return Section(key, TITLES[key], body, editor, now)
