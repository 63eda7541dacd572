"""Run the catalog's status checks for an incident and tell the channel.

Every kind of check is wired here with the process's clients (`services.aws`,
`services.kube`); each applies only to the services whose catalog entry names it.
"""

from __future__ import annotations

from typing import Any

from bot.adapters import kube as kube_ops
from bot.adapters.catalog.model import Service
from bot.adapters.checks.aws import aws_checkers
from bot.adapters.checks.base import Checker
from bot.adapters.checks.datastores import PostgresChecker, RedisChecker
from bot.adapters.checks.http_health import HttpHealthChecker
from bot.adapters.checks.kubernetes import DeploymentChecker
from bot.adapters.checks.runner import run_checks
from bot.adapters.checks.statuspage import statuspage_checkers
from bot.flows.operations.audit import record
from bot.flows.operations.plan import api_for
from bot.logging_setup import get_logger
from bot.services import Services
from incident import event_kinds
from incident.checks import render_mrkdwn, results_to_dicts, summarise
from incident.escaping import escape_mrkdwn
from incident.models import Incident

log = get_logger(__name__)


def checkers(services: Services) -> list[Checker]:
    def health(cluster: str | None, namespace: str, deployment: str) -> Any:
        api = api_for(services, cluster)
        return kube_ops.deployment_health(api, namespace, deployment)

    return [
        HttpHealthChecker(),
        DeploymentChecker(health),
        PostgresChecker(),
        RedisChecker(),
        *aws_checkers(services.aws),
        *statuspage_checkers(
            services.catalog.current.status_pages if services.catalog.current else []
        ),
    ]


def select_services(services: Services, names: list[str] | None) -> list[Service] | str:
    """The catalog services to check (all of them for None), or why there are none."""
    catalog = services.catalog.current
    if catalog is None:
        return "No service catalog is configured (set CATALOG_FILE)."
    try:
        return catalog.select(names)
    except KeyError as exc:
        unknown = escape_mrkdwn(str(exc.args[0]))
        return f"Unknown service {unknown}. Known: {', '.join(catalog.names) or 'none'}."


async def run_and_post(
    services: Services, inc: Incident, user: str, chosen: list[Service]
) -> str | None:
    """Run the checks, record them, post one message in the incident channel. Returns the
    text when it could not be posted there, for the caller to show the person instead."""
    results = await run_checks(chosen, checkers(services))
    summary = summarise(results)
    text = "\n".join([f"*Status checks* — {summary.headline}", *render_mrkdwn(results)])
    await record(
        services,
        inc.number,
        event_kinds.CHECK,
        actor=user,
        text=summary.headline,
        data={"results": results_to_dicts(results)},
    )
    if inc.channel_id:
        try:
            await services.slack.chat_postMessage(channel=inc.channel_id, text=text)
            return None
        except Exception as exc:
            log.warning("check results not posted", error_type=type(exc).__name__)
    return text
