"""The service catalog's shape: which services exist, where they run, where their health is
read, and what operations may touch. Immutable: one loaded catalog is shared by every request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.adapters.catalog.sections import AlertRule, AlertsSection, OncallSection
from bot.adapters.catalog.security import Security
from bot.adapters.catalog.stakeholders import Stakeholders
from bot.adapters.catalog.status_pages import StatusPage
from incident.oncall import EscalationPolicy, Schedule

Loc = tuple[str | int, ...]

# services, schedules, escalations; short enough for every column that stores one (80)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NAME_RULE = "use up to 64 letters, digits, '.', '_' or '-', starting with a letter/digit"
_SENTRY_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


class CatalogError(Exception):
    """A catalog that cannot be used; ``str()`` is one line: ``file:line: where: reason``."""

    def __init__(self, path: str, line: int, where: str, reason: str, more: int = 0) -> None:
        self.path = path
        self.line = line
        self.where = where
        self.reason = reason
        place = f"{path}:{line}" if line > 0 else path  # line 0: the file as a whole
        message = f"{place}: {where}: {reason}" if where else f"{place}: {reason}"
        if more:
            message += f" (and {more} more error{'s' if more > 1 else ''})"
        super().__init__(message)


class _Model(BaseModel):
    # Unknown keys are typos more often than not; reject them instead of ignoring.
    model_config = ConfigDict(extra="forbid", frozen=True)


class KubernetesTarget(_Model):
    """``context`` names an entry of ``clusters:`` when that section exists."""

    context: str | None = None
    namespace: str
    deployment: str
    container: str | None = None


class AwsTarget(_Model):
    region: str
    rds_instance: str | None = None
    elasticache_cluster: str | None = None
    alarm_prefixes: list[str] = Field(default_factory=list)


class Service(_Model):
    name: str
    health_url: str
    kubernetes: KubernetesTarget | None = None
    aws: AwsTarget | None = None
    postgres_url: str | None = None
    redis_url: str | None = None
    escalation: str | None = None  # names an entry of oncall.escalations
    sentry_projects: list[str] = Field(default_factory=list)  # Sentry project slugs
    depends_on: list[str] = Field(default_factory=list)  # names in status_pages

    @field_validator("sentry_projects")
    @classmethod
    def _sentry_slugs(cls, value: list[str]) -> list[str]:
        for slug in value:
            if not _SENTRY_SLUG.match(slug):
                raise ValueError(f"{slug!r} is not a Sentry project slug (lower-case, digits, - _)")
        return value

    @field_validator("name")
    @classmethod
    def _name_is_a_word(cls, value: str) -> str:
        # Names are typed in Slack commands, so keep them to one plain word.
        if not NAME.match(value):
            raise ValueError(NAME_RULE)
        return value

    @field_validator("health_url")
    @classmethod
    def _health_url_is_http(cls, value: str) -> str:
        return _require_url(value, {"http", "https"})

    @field_validator("postgres_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        return None if value is None else _require_url(value, {"postgres", "postgresql"})

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        return None if value is None else _require_url(value, {"redis", "rediss", "unix"})


class Cluster(_Model):
    """A Kubernetes cluster reachable from the bot.

    ``name`` is what services refer to; ``context`` is the kubeconfig context (defaults to
    ``name``), or ``in_cluster: true`` when the bot runs inside that cluster.
    """

    name: str
    context: str | None = None
    in_cluster: bool = False

    @model_validator(mode="after")
    def _one_way_in(self) -> Cluster:
        if self.in_cluster and self.context:
            raise ValueError("set either context or in_cluster: true, not both")
        return self

    @property
    def kubeconfig_context(self) -> str | None:
        return None if self.in_cluster else (self.context or self.name)


class ActionAllow(_Model):
    """Who may confirm one kind of operation: Slack user ids and user group handles."""

    users: list[str] = Field(default_factory=list)
    usergroups: list[str] = Field(default_factory=list)


class ReplicaLimits(_Model):
    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> ReplicaLimits:
        if self.max is not None and self.max < self.min:
            raise ValueError("max must not be below min")
        return self


class OperationsPolicy(_Model):
    """What warroom may do to the cluster, on top of the incident's own permissions.

    ``namespaces`` and ``deployments`` are shell patterns (``prod``, ``web-*``; a deployment
    pattern may name its namespace: ``prod/api``); empty means any. ``replicas`` maps a
    deployment pattern to its limits; the first matching entry applies."""

    allow: dict[Literal["rollback", "scale", "restart"], ActionAllow] = Field(default_factory=dict)
    namespaces: list[str] = Field(default_factory=list)
    deployments: list[str] = Field(default_factory=list)
    replicas: dict[str, ReplicaLimits] = Field(default_factory=dict)
    dry_run: bool = False


class Catalog(_Model):
    services: list[Service]
    clusters: list[Cluster] = Field(default_factory=list)
    operations: OperationsPolicy = Field(default_factory=OperationsPolicy)
    oncall: OncallSection = Field(default_factory=OncallSection)
    alerts: AlertsSection = Field(default_factory=AlertsSection)
    status_pages: list[StatusPage] = Field(default_factory=list)
    security: Security | None = None  # who a private incident invites
    stakeholders: Stakeholders = Field(default_factory=Stakeholders)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.services]

    def get(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def select(self, names: Iterable[str] | None = None) -> list[Service]:
        """The named services in catalog order, or all of them; unknown names raise KeyError."""
        if names is None:
            return list(self.services)
        wanted = set(names)
        unknown = sorted(wanted - set(self.names))
        if unknown:
            raise KeyError(", ".join(unknown))
        return [s for s in self.services if s.name in wanted]

    def cluster(self, name: str) -> Cluster:
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)

    def schedules(self) -> dict[str, Schedule]:
        """The on-call schedules by name, as domain objects (built once per catalog)."""
        return dict(self.oncall.built_schedules)

    def escalation_policy(self, name: str) -> EscalationPolicy:
        """The escalation named ``name`` (a service's ``escalation``); unknown: KeyError."""
        return self.oncall.built_escalations[name]

    def service_for_sentry_project(self, slug: str) -> Service | None:
        for service in self.services:
            if slug in service.sentry_projects:
                return service
        return None

    @property
    def alert_rules(self) -> list[AlertRule]:
        return list(self.alerts.rules)

    def rule_for(self, labels: Mapping[str, str]) -> AlertRule | None:
        """The first rule whose every ``match`` label has exactly that value in ``labels``."""
        return next((rule for rule in self.alerts.rules if rule.matches(labels)), None)


def _require_url(value: str, schemes: set[str]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ValueError(f"URL scheme must be one of {', '.join(sorted(schemes))}")
    if parts.scheme != "unix" and not parts.hostname and "host=" not in parts.query:
        raise ValueError("URL has no host")
    return value
