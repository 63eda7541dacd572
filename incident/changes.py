"""What changed: a service's Deployment rollouts, read from its ReplicaSet revisions the way
`kubectl rollout history` shows them, and the one that most likely started the incident.

Pure: the Kubernetes adapter hands in one `RevisionFact` per numbered ReplicaSet; this module
turns them into `Rollout`s (revision, images before → after, when, change-cause), keeps the
recent ones, picks the suspect, and writes them as Slack mrkdwn lines.

When a revision rolled out: a ReplicaSet's creationTimestamp is when its template first rolled
out. A rollback (`rollout undo`) re-uses the old ReplicaSet: its revision annotation jumps to
max+1, the old number moves to `deployment.kubernetes.io/revision-history`, and its
creationTimestamp stays old. For such a re-used ReplicaSet the adapter passes any later
evidence it can read (`reused_at`: the newest managedFields time of the ReplicaSet, and for the
current one the Deployment's Progressing condition lastUpdateTime); "when" is the newer of the
two. Limitation: without such evidence a re-used revision shows its first rollout time, so a
rollback may look older than it is (and may fall outside the 24 h / suspect windows).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from incident.escaping import escape_mrkdwn
from incident.text_limits import SECTION_TEXT, clip_mrkdwn
from incident.timefmt import slack_time

RECENT = timedelta(hours=24)
SUSPECT_WINDOW = timedelta(hours=2)
# A cluster's clock and ours may disagree by a little: a rollout stamped a few seconds after
# the declaration still counts as "before" it.
CLOCK_GRACE = timedelta(minutes=1)
MAX_SHOWN = 5
MAX_CAUSE_CHARS = 120
MAX_IMAGE_CHARS = 120


@dataclass(frozen=True)
class RevisionFact:
    """One numbered ReplicaSet of a Deployment, as read from the cluster."""

    number: int
    images: dict[str, str]
    change_cause: str | None
    created: datetime | None
    is_current: bool
    # old numbers this ReplicaSet had before a rollback re-used it (revision-history)
    earlier_numbers: tuple[int, ...] = ()
    # evidence the ReplicaSet was re-used later than it was created (None: none found)
    reused_at: datetime | None = None


@dataclass(frozen=True)
class Rollout:
    cluster: str | None
    namespace: str
    deployment: str
    revision: int
    at: datetime
    images_before: dict[str, str] | None  # None: the Deployment's first revision
    images_after: dict[str, str]
    change_cause: str | None
    is_current: bool
    # the revision number `--to-revision` takes to undo this rollout (None: nothing before)
    previous_revision: int | None = None
    reused: bool = False

    @property
    def target(self) -> str:
        where = f"{self.namespace}/{self.deployment}"
        return f"{self.cluster}:{where}" if self.cluster else where

    @property
    def key(self) -> str:
        return f"{self.cluster or 'default'}/{self.namespace}/{self.deployment}:{self.revision}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "namespace": self.namespace,
            "deployment": self.deployment,
            "revision": self.revision,
            "at": self.at.isoformat(),
            "images_before": self.images_before,
            "images_after": self.images_after,
            "change_cause": self.change_cause,
            "is_current": self.is_current,
            "previous_revision": self.previous_revision,
            "reused": self.reused,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rollout:
        return cls(
            cluster=data.get("cluster"),
            namespace=str(data["namespace"]),
            deployment=str(data["deployment"]),
            revision=int(data["revision"]),
            at=datetime.fromisoformat(str(data["at"])),
            images_before=data.get("images_before"),
            images_after=dict(data.get("images_after") or {}),
            change_cause=data.get("change_cause"),
            is_current=bool(data.get("is_current")),
            previous_revision=data.get("previous_revision"),
            reused=bool(data.get("reused")),
        )


@dataclass(frozen=True)
class Unavailable:
    """A cluster (or Deployment) that could not be read: one line instead of its rollouts."""

    where: str
    reason: str


@dataclass(frozen=True)
class Changes:
    """A service's recent rollouts (newest first), the suspect among them, and what could not
    be read."""

    service: str
    rollouts: list[Rollout] = field(default_factory=list)
    suspect: Rollout | None = None
    unavailable: list[Unavailable] = field(default_factory=list)
    total: int = 0  # recent rollouts before trimming to MAX_SHOWN

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "rollouts": [r.to_dict() for r in self.rollouts],
            "suspect": self.suspect.to_dict() if self.suspect else None,
            "unavailable": [[u.where, u.reason] for u in self.unavailable],
            "total": self.total,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Changes:
        suspect = data.get("suspect")
        return cls(
            service=str(data["service"]),
            rollouts=[Rollout.from_dict(r) for r in data.get("rollouts") or []],
            suspect=Rollout.from_dict(suspect) if suspect else None,
            unavailable=[Unavailable(str(w), str(r)) for w, r in data.get("unavailable") or []],
            total=int(data.get("total") or 0),
        )


# -- picking -----------------------------------------------------------------------------


def rollouts_of(
    cluster: str | None, namespace: str, deployment: str, facts: Iterable[RevisionFact]
) -> list[Rollout]:
    """Every numbered revision as a rollout, oldest first. The images before a revision are
    those of the highest revision number below it, counting the numbers a re-used
    ReplicaSet had before (its revision-history), since that is what ran before it."""
    facts = sorted((f for f in facts if f.created is not None), key=lambda f: f.number)
    by_number: dict[int, RevisionFact] = {}
    for fact in facts:
        for old in fact.earlier_numbers:
            by_number.setdefault(old, fact)
    for fact in facts:
        by_number[fact.number] = fact
    out = []
    for fact in facts:
        below = [n for n in by_number if n < fact.number]
        before = by_number[max(below)] if below else None
        previous = before.number if before is not None and before is not fact else None
        created = fact.created
        assert created is not None
        at = max(created, fact.reused_at) if fact.reused_at else created
        out.append(
            Rollout(
                cluster=cluster,
                namespace=namespace,
                deployment=deployment,
                revision=fact.number,
                at=at,
                images_before=dict(before.images) if before is not None else None,
                images_after=dict(fact.images),
                change_cause=fact.change_cause,
                is_current=fact.is_current,
                previous_revision=previous,
                reused=bool(fact.earlier_numbers),
            )
        )
    return out


def recent(
    rollouts: Iterable[Rollout], now: datetime, horizon: timedelta = RECENT
) -> list[Rollout]:
    """The rollouts of the last `horizon`, newest first (ties: the higher revision)."""
    kept = [r for r in rollouts if now - horizon <= r.at <= now + CLOCK_GRACE]
    return sorted(kept, key=lambda r: (r.at, r.revision), reverse=True)


def incident_start(declared_at: datetime, detected_at: datetime | None) -> datetime:
    """When the trouble began as far as warroom knows: detection (an alert) if earlier."""
    if detected_at is not None and detected_at < declared_at:
        return detected_at
    return declared_at


def pick_suspect(
    rollouts: Iterable[Rollout], started: datetime, window: timedelta = SUSPECT_WINDOW
) -> Rollout | None:
    """The newest rollout that began within `window` before the incident started."""
    inside = [r for r in rollouts if started - window <= r.at <= started + CLOCK_GRACE]
    if not inside:
        return None
    return max(inside, key=lambda r: (r.at, r.revision))


def gather(
    service: str,
    rollouts: Iterable[Rollout],
    unavailable: Sequence[Unavailable],
    *,
    now: datetime,
    started: datetime,
    window: timedelta = SUSPECT_WINDOW,
    shown: int = MAX_SHOWN,
) -> Changes:
    """The recent rollouts across the service's clusters, trimmed to `shown`, the suspect
    always among those shown."""
    latest = recent(rollouts, now)
    suspect = pick_suspect(latest, started, window)
    kept = latest[:shown]
    if suspect is not None and suspect not in kept:
        kept = [*latest[: shown - 1], suspect]
    return Changes(service, kept, suspect, list(unavailable), total=len(latest))


def can_roll_back(rollout: Rollout) -> bool:
    """The button undoes the rollout only while it is what runs and something came before."""
    return rollout.is_current and rollout.previous_revision is not None


# -- words -------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def images_change(before: dict[str, str] | None, after: dict[str, str]) -> str:
    """`img:v1 → img:v2` for one container; `app: a → b, side: c` for several (unchanged
    containers listed once); `(first revision) img:v1` when nothing came before."""
    if before is None:
        return "(first revision) " + ", ".join(_clip(i, MAX_IMAGE_CHARS) for i in after.values())
    if len(after) == 1 and list(before) == list(after):
        (name,) = after
        return f"{_clip(before[name], MAX_IMAGE_CHARS)} → {_clip(after[name], MAX_IMAGE_CHARS)}"
    parts = []
    for name, image in after.items():
        old = before.get(name)
        shown = _clip(image, MAX_IMAGE_CHARS)
        if old is None:
            parts.append(f"{name}: (new) {shown}")
        elif old != image:
            parts.append(f"{name}: {_clip(old, MAX_IMAGE_CHARS)} → {shown}")
        else:
            parts.append(f"{name}: {shown}")
    if before == after:
        return ", ".join(parts) + " (same images)"
    return ", ".join(parts)


def rollout_line(rollout: Rollout, *, suspect: bool = False, many_places: bool = False) -> str:
    """One mrkdwn line: `rev 7 · img:v1 → img:v2 · <when> · "cause"`."""
    where = f"`{escape_mrkdwn(rollout.target)}` " if many_places else ""
    parts = [
        f"{where}rev {rollout.revision}",
        f"`{escape_mrkdwn(images_change(rollout.images_before, rollout.images_after))}`",
        slack_time(rollout.at),
    ]
    if rollout.change_cause:
        cause = _clip(" ".join(rollout.change_cause.split()), MAX_CAUSE_CHARS)
        parts.append(f"“{escape_mrkdwn(cause)}”")
    if rollout.reused:
        parts.append("rollback")
    line = " · ".join(parts)
    return f"🔎 *Suspect:* {line}" if suspect else f"• {line}"


def unavailable_line(item: Unavailable) -> str:
    return f"• changes unavailable: {escape_mrkdwn(_clip(item.reason, 200))}" + (
        f" ({escape_mrkdwn(item.where)})" if item.where else ""
    )


def lines(changes: Changes) -> list[str]:
    """The section's lines, newest first, the suspect marked; empty when nothing to say."""
    places = {(r.cluster, r.namespace, r.deployment) for r in changes.rollouts}
    many = len(places) > 1
    out = [
        rollout_line(r, suspect=r == changes.suspect, many_places=many) for r in changes.rollouts
    ]
    hidden = changes.total - len(changes.rollouts)
    if hidden > 0:
        out.append(f"_…and {hidden} more in the last 24 h_")
    out += [unavailable_line(u) for u in changes.unavailable]
    return out


def section_text(changes: Changes, *, heading: bool = True) -> str:
    """The whole section as one mrkdwn text within a section block's limit."""
    body = lines(changes)
    if not body:
        body = ["_No Deployment rollouts in the last 24 h._"]
    head = [f"*Recent changes* (`{escape_mrkdwn(changes.service)}`)"] if heading else []
    return clip_mrkdwn("\n".join(head + body), SECTION_TEXT, note=" …")


def suspect_text(rollout: Rollout) -> str:
    """The timeline's sentence for a suspect (plain text, the post-mortem escapes it)."""
    change = images_change(rollout.images_before, rollout.images_after)
    cause = f' ("{rollout.change_cause}")' if rollout.change_cause else ""
    return f"Suspect change: {rollout.target} revision {rollout.revision} ({change}){cause}"
