"""What operations may touch and who may confirm them, decided once per request.

The rules come from the settings (WARROOM_OPS_*) narrowed by the catalog's `operations:`
section, always the last good catalog (`services.catalog.current`): a catalog file broken
while warroom runs never loosens the policy, and without a catalog the settings' defaults
apply. Each request gets one frozen `Decision` naming the rule that allowed or refused it,
so the audit says why, and nothing along the way asks again.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass
from typing import Any

from bot.adapters.catalog.model import OperationsPolicy
from bot.config import OpsConfig
from bot.flows.operations.errors import OpsError
from bot.flows.operations.request import Request, target_name
from bot.services import Services
from bot.slack.usergroups import group_members
from incident.models import Incident
from incident.numbers import PG_INT_MAX, parse_count


@dataclass(frozen=True)
class Rules:
    """The policy in force for one request: a snapshot, so it cannot change halfway."""

    catalog: OperationsPolicy  # the catalog's `operations:`; empty without a catalog
    ops: OpsConfig

    @property
    def dry_run(self) -> bool:
        return self.ops.dry_run or self.catalog.dry_run


def rules(services: Services) -> Rules:
    current = services.catalog.current
    policy = current.operations if current is not None else OperationsPolicy()
    return Rules(policy, services.settings.ops)


def dry_run(services: Services) -> bool:
    return rules(services).dry_run


@dataclass(frozen=True)
class Decision:
    """Whether `user` may `action` `target`, and the rule that settled it."""

    allowed: bool
    user: str
    action: str
    target: str
    rule: str  # e.g. "commander of the incident", "namespace not in operations.namespaces"
    reason: str = ""  # for a refusal: what the person is told

    @property
    def what(self) -> str:
        return f"{self.action} {self.target}"

    def audit(self) -> dict[str, Any]:
        return asdict(self)


# -- the value: no target, no cluster ------------------------------------------------------


def _value_refusal(r: Rules, action: str, args: dict[str, Any]) -> tuple[str, str] | None:
    if action != "scale":
        return None
    try:
        replicas = parse_count(args["replicas"], minimum=-PG_INT_MAX)
    except (KeyError, TypeError, ValueError):
        return "replicas must be a whole number", "Replicas must be a whole number."
    if replicas < 0:
        return "replicas must be zero or more", "Replicas must be zero or more."
    limit = r.ops.max_replicas
    if replicas > limit:
        return (
            "WARROOM_MAX_REPLICAS",
            f"{replicas} replicas is above the limit of {limit} (WARROOM_MAX_REPLICAS).",
        )
    return None


def check_input(services: Services, action: str, args: dict[str, Any]) -> None:
    """Form validation, answered at once (before the ack or inline in a modal) and not
    audited: a typo is not a refused operation."""
    refusal = _value_refusal(rules(services), action, args)
    if refusal is not None:
        raise OpsError(refusal[1])


# -- the target ------------------------------------------------------------------------------


def _matches(patterns: list[str], namespace: str, deployment: str) -> str | None:
    for pattern in patterns:
        subject = f"{namespace}/{deployment}" if "/" in pattern else deployment
        if fnmatch.fnmatchcase(subject, pattern):
            return pattern
    return None


def _target_refusal(
    r: Rules, action: str, args: dict[str, Any], namespace: str, deployment: str
) -> tuple[str, str] | None:
    policy = r.catalog
    if policy.namespaces and not any(fnmatch.fnmatchcase(namespace, p) for p in policy.namespaces):
        return (
            "namespace not in operations.namespaces",
            f"warroom may not operate in namespace `{namespace}` "
            f"(allowed: {', '.join(policy.namespaces)}).",
        )
    if policy.deployments and _matches(policy.deployments, namespace, deployment) is None:
        return (
            "deployment not in operations.deployments",
            f"warroom may not operate `{namespace}/{deployment}` "
            f"(allowed: {', '.join(policy.deployments)}).",
        )
    if action == "scale":
        key = _matches(list(policy.replicas), namespace, deployment)
        if key is not None:
            replicas, bounds, where = (
                parse_count(args["replicas"], minimum=-PG_INT_MAX),
                policy.replicas[key],
                f"{namespace}/{deployment}",
            )
            if replicas < bounds.min:
                return (
                    f"operations.replicas {key} min {bounds.min}",
                    f"{replicas} replicas is below the minimum of {bounds.min} for {where}.",
                )
            if bounds.max is not None and replicas > bounds.max:
                return (
                    f"operations.replicas {key} max {bounds.max}",
                    f"{replicas} replicas is above the maximum of {bounds.max} for {where}.",
                )
    return None


def _target_allowance(r: Rules, namespace: str, deployment: str) -> str:
    policy = r.catalog
    if policy.deployments:
        return f"operations.deployments {_matches(policy.deployments, namespace, deployment)}"
    if policy.namespaces:
        return "operations.namespaces " + next(
            p for p in policy.namespaces if fnmatch.fnmatchcase(namespace, p)
        )
    return "no operations.namespaces or operations.deployments limit"


def decide_target(
    services: Services,
    user: str,
    action: str,
    args: dict[str, Any],
    *,
    cluster: str | None,
    namespace: str,
    deployment: str,
) -> Decision:
    """Whether the policy lets anyone plan this change of this Deployment (a plan may be
    asked by anyone: who may confirm it is decided on the Confirm press)."""
    r = rules(services)
    target = target_name(cluster, namespace, deployment)
    refusal = _target_refusal(r, action, args, namespace, deployment)
    if refusal is not None:
        return Decision(False, user, action, target, *refusal)
    return Decision(True, user, action, target, _target_allowance(r, namespace, deployment))


# -- the person ------------------------------------------------------------------------------


async def _who(
    services: Services, r: Rules, inc: Incident, user: str, action: str
) -> tuple[bool, str, str]:
    """(allowed, rule, reason): the catalog's per-action allow list, else
    WARROOM_OPS_ALLOWED_USERS, else the incident's commander and reporter."""
    allow = r.catalog.allow.get(action)  # type: ignore[call-overload]
    if allow is not None:
        rule = f"catalog operations.allow.{action}"
        if user in allow.users:
            return True, f"{rule} users", ""
        for handle in allow.usergroups:
            caches = services.caches
            members = await group_members(
                services.slack, caches.usergroup_ids, caches.usergroup_members, handle
            )
            if user in members:
                return True, f"{rule} usergroup {handle.lstrip('@')}", ""
        who = [f"<@{u}>" for u in allow.users] + [f"@{g.lstrip('@')}" for g in allow.usergroups]
        return False, rule, f"only {', '.join(who) or 'nobody'} may {action} (the catalog's policy)"
    if r.ops.allowed:
        if user in r.ops.allowed:
            return True, "WARROOM_OPS_ALLOWED_USERS", ""
        return (
            False,
            "WARROOM_OPS_ALLOWED_USERS",
            "only the users in WARROOM_OPS_ALLOWED_USERS may run operations",
        )
    if user == inc.commander_id:
        return True, "commander of the incident", ""
    if user == inc.reporter_id:
        return True, "reporter of the incident", ""
    return (
        False,
        "commander or reporter of the incident",
        "only the incident commander or reporter may run operations",
    )


async def decide(services: Services, inc: Incident, user: str, req: Request) -> Decision:
    """The Confirm press: the value, the target and the person, against one snapshot of the
    rules. The first rule that refuses decides; else the rule that let this person in."""
    r = rules(services)
    refusal = _value_refusal(r, req.action, req.args) or _target_refusal(
        r, req.action, req.args, req.namespace, req.deployment
    )
    if refusal is not None:
        return Decision(False, user, req.action, req.target, *refusal)
    allowed, rule, reason = await _who(services, r, inc, user, req.action)
    return Decision(allowed, user, req.action, req.target, rule, reason)
