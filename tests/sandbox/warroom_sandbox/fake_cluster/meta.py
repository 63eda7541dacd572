"""Small object-metadata helpers shared by the API layer and the controllers."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from warroom_sandbox.fake_cluster.templates import safe_encode


class ClockLike(Protocol):
    """bot.clock.Clock fits; tests move it forward to expire progress deadlines."""

    def now(self) -> datetime: ...


def timestamp(moment: datetime) -> str:
    """Kubernetes metav1.Time: RFC 3339, whole seconds, UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def new_uid() -> str:
    return str(uuid.uuid4())


_rng = random.Random()  # names only, never security


def random_suffix(length: int = 5) -> str:
    return safe_encode("".join(chr(_rng.randrange(256)) for _ in range(length)))


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_uid(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def is_controlled_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    return controller_uid(obj) == owner["metadata"]["uid"]
