"""What AWS says about a service: RDS and ElastiCache status, CloudWatch alarms.

boto3 is blocking, so each call runs in a worker thread. Clients are cached and built
with short timeouts and no retries: a status check must answer within the runner's
timeout, and a thread the runner gave up on should not linger for minutes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.catalog.model import Service
from bot.adapters.checks.base import Stopwatch
from bot.adapters.checks.reasons import plain_reason
from incident.checks import CheckResult, CheckStatus
from incident.words import plural

DEFAULT_TIMEOUT_S = 5.0

Verdict = tuple[CheckStatus, str, dict[str, Any]]


class AwsClients:
    """boto3 clients shared across checks.

    Sessions are not thread-safe but clients are, so clients are built under a lock once
    per (service, region) and reused by every worker thread.
    ``endpoint_url`` points all clients at one endpoint (moto in tests, LocalStack).
    """

    def __init__(self, *, endpoint_url: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.endpoint_url = endpoint_url
        self._config = Config(
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
            retries={"max_attempts": 1, "mode": "standard"},
        )
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, kind: str, region: str) -> Any:
        with self._lock:
            key = (kind, region)
            if key not in self._clients:
                self._clients[key] = boto3.session.Session().client(
                    kind, region_name=region, endpoint_url=self.endpoint_url, config=self._config
                )
            return self._clients[key]


async def check_rds(
    service: str, instance_id: str, *, region: str, clients: AwsClients
) -> CheckResult:
    def ask() -> Verdict:
        reply = clients.client("rds", region).describe_db_instances(
            DBInstanceIdentifier=instance_id
        )
        instance = reply["DBInstances"][0]
        state = instance["DBInstanceStatus"]
        details = {
            "instance": instance_id,
            "state": state,
            "engine": instance.get("Engine"),
            "class": instance.get("DBInstanceClass"),
            "multi_az": instance.get("MultiAZ"),
        }
        return _available(f"RDS {instance_id}", state, details)

    return await _in_thread(service, "rds", ask)


async def check_elasticache(
    service: str, cluster_id: str, *, region: str, clients: AwsClients
) -> CheckResult:
    def ask() -> Verdict:
        reply = clients.client("elasticache", region).describe_cache_clusters(
            CacheClusterId=cluster_id
        )
        cluster = reply["CacheClusters"][0]
        state = cluster["CacheClusterStatus"]
        details = {
            "cluster": cluster_id,
            "state": state,
            "engine": cluster.get("Engine"),
            "nodes": cluster.get("NumCacheNodes"),
        }
        return _available(f"ElastiCache {cluster_id}", state, details)

    return await _in_thread(service, "elasticache", ask)


async def check_alarms(
    service: str, prefixes: list[str], *, region: str, clients: AwsClients
) -> CheckResult:
    """FAIL naming every alarm in ALARM; WARN when the prefixes match nothing, because
    that is a catalog mistake that would otherwise read as "all quiet"."""

    def ask() -> Verdict:
        paginator = clients.client("cloudwatch", region).get_paginator("describe_alarms")
        states: dict[str, str] = {}
        for prefix in prefixes:
            pages = paginator.paginate(
                AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"]
            )
            for page in pages:
                for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
                    states[alarm["AlarmName"]] = alarm["StateValue"]
        firing = sorted(name for name, state in states.items() if state == "ALARM")
        details: dict[str, Any] = {"prefixes": prefixes, "alarms": states}
        if firing:
            return CheckStatus.FAIL, f"in ALARM: {', '.join(firing)}", details
        if not states:
            return CheckStatus.WARN, f"no alarms match {', '.join(prefixes)}", details
        return CheckStatus.OK, f"{plural(len(states), 'alarm')}, none in ALARM", details

    return await _in_thread(service, "alarms", ask)


def _available(what: str, state: str, details: dict[str, Any]) -> Verdict:
    if state == "available":
        return CheckStatus.OK, f"{what} available", details
    return CheckStatus.FAIL, f"{what} {state}", details


async def _in_thread(service: str, check: str, ask: Callable[[], Verdict]) -> CheckResult:
    watch = Stopwatch()
    try:
        status, reason, details = await asyncio.to_thread(ask)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "ClientError")
        message = error.get("Message", "")
        reason = f"{code}: {message}" if message else code
        return CheckResult(service, check, CheckStatus.FAIL, reason, watch.ms, {"error": code})
    except (BotoCoreError, OSError) as exc:
        reason = plain_reason(exc)
        return CheckResult(
            service, check, CheckStatus.FAIL, reason, watch.ms, {"error": type(exc).__name__}
        )
    return CheckResult(service, check, status, reason, watch.ms, details)


class RdsChecker:
    name = "rds"

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients

    def applies_to(self, service: Service) -> bool:
        return service.aws is not None and service.aws.rds_instance is not None

    async def check(self, service: Service) -> CheckResult:
        assert service.aws is not None and service.aws.rds_instance is not None
        return await check_rds(
            service.name, service.aws.rds_instance, region=service.aws.region, clients=self.clients
        )


class ElastiCacheChecker:
    name = "elasticache"

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients

    def applies_to(self, service: Service) -> bool:
        return service.aws is not None and service.aws.elasticache_cluster is not None

    async def check(self, service: Service) -> CheckResult:
        assert service.aws is not None and service.aws.elasticache_cluster is not None
        return await check_elasticache(
            service.name,
            service.aws.elasticache_cluster,
            region=service.aws.region,
            clients=self.clients,
        )


class AlarmsChecker:
    name = "alarms"

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients

    def applies_to(self, service: Service) -> bool:
        return service.aws is not None and bool(service.aws.alarm_prefixes)

    async def check(self, service: Service) -> CheckResult:
        assert service.aws is not None
        return await check_alarms(
            service.name,
            list(service.aws.alarm_prefixes),
            region=service.aws.region,
            clients=self.clients,
        )


def aws_checkers(clients: AwsClients) -> list[RdsChecker | ElastiCacheChecker | AlarmsChecker]:
    return [RdsChecker(clients), ElastiCacheChecker(clients), AlarmsChecker(clients)]
