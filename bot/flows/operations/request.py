"""A planned operation (enough to re-plan and check nothing moved meanwhile), and what its
Confirm press gets back.

The plan is kept server-side (`pending`) and the Confirm/Cancel buttons carry only its id: a
plan is unbounded (names, images, containers) and Slack caps a button value at 2,000. Its
dict shape is a contract with plans already kept and with rollout follows stored in Postgres
(`RolloutFollow.request`): keep the keys.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from bot.flows.operations.errors import OpsError
from incident.numbers import PG_INT_MAX, parse_count

ACTIONS = ("rollback", "scale", "restart")


def target_name(cluster: str | None, namespace: str, deployment: str) -> str:
    """`[cluster:]namespace/deployment`, as people read it and locks and audits key it."""
    where = f"{namespace}/{deployment}"
    return f"{cluster}:{where}" if cluster else where


@dataclass
class Request:
    action: str
    namespace: str
    deployment: str
    incident: int
    args: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    nonce: str = field(default_factory=lambda: secrets.token_hex(6))
    cluster: str | None = None

    @property
    def target(self) -> str:
        return target_name(self.cluster, self.namespace, self.deployment)

    @property
    def what(self) -> str:
        return f"{self.action} {self.target}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.action,
            "ns": self.namespace,
            "d": self.deployment,
            "n": self.incident,
            "args": self.args,
            "b": self.before,
            "f": self.after,
            "id": self.nonce,
            **({"c": self.cluster} if self.cluster else {}),
        }

    @classmethod
    def from_dict(cls, v: Any) -> Request:
        try:
            req = cls(
                action=str(v["a"]),
                namespace=str(v["ns"]),
                deployment=str(v["d"]),
                incident=parse_count(v["n"], minimum=1, maximum=PG_INT_MAX),
                args=dict(v.get("args") or {}),
                before=dict(v.get("b") or {}),
                after=dict(v.get("f") or {}),
                nonce=str(v["id"]),
                cluster=str(v["c"]) if v.get("c") else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise OpsError("This button does not describe an operation; nothing was done.") from exc
        if req.action not in ACTIONS:
            raise OpsError(f"Unknown operation {req.action!r}; nothing was done.")
        return req


@dataclass
class Outcome:
    """What the person who pressed Confirm is told, and whether the cluster was touched."""

    ok: bool
    message: str
    ran: bool = False
