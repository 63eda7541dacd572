"""After the change is applied: follow the rollout to its end, check the service's health
URL, post the verdict, record it once.

This runs under a lease (`leases`), so when the replica following a rollout stops, another
one finishes the job (`watch`) with the same code and the same progress message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bot.adapters import kube as kube_ops
from bot.adapters.checks.http_health import HttpHealthChecker
from bot.adapters.checks.runner import run_checks
from bot.flows.operations import leases
from bot.flows.operations.plan import service_for
from bot.flows.operations.request import Outcome, Request
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui import operations as ui
from incident import event_kinds, timeline
from incident.checks import render_mrkdwn, summarise

log = get_logger(__name__)

ROLLOUT_TIMEOUT_S = 300.0
ROLLOUT_POLL_S = 0.5


async def post(services: Services, channel: str | None, text: str) -> str | None:
    """Post to the incident channel; the message's ts, or None when it could not be posted."""
    if not channel:
        return None
    try:
        resp = await services.slack.chat_postMessage(channel=channel, text=text)
    except Exception as exc:
        log.warning("ops post failed", error=str(exc))
        return None
    try:
        ts = resp.get("ts")
    except Exception:
        return None
    return str(ts) if ts else None


class ProgressMessage:
    """One channel message for a rollout: posted once, then edited in place (chat.update)
    as the rollout advances, so the channel does not fill with a line per poll."""

    def __init__(self, services: Services, channel: str | None, head: str) -> None:
        self.services = services
        self.channel = channel
        self.head = head
        self.ts: str | None = None
        self.last: str | None = None

    def _text(self, line: str | None) -> str:
        return self.head if not line else f"{self.head}\n{line}"

    async def start(self) -> None:
        self.ts = await post(self.services, self.channel, self._text(None))

    async def show(self, line: str) -> None:
        if line == self.last or not self.channel:
            return
        self.last = line
        text = self._text(line)
        if self.ts is None:  # the first post failed: try once more, then keep editing that
            self.ts = await post(self.services, self.channel, text)
            return
        try:
            await self.services.slack.chat_update(channel=self.channel, ts=self.ts, text=text)
        except Exception as exc:
            log.warning("ops progress update failed", error=str(exc))


@dataclass
class Follow:
    """An applied change whose rollout is being watched."""

    number: int
    req: Request
    user: str
    data: dict[str, Any]  # the timeline record so far (with the decision that allowed it)
    api: Any
    board: ProgressMessage


async def finish(services: Services, follow: Follow, lease: leases.Lease | None) -> Outcome:
    """Follow the rollout, verify health, post the verdict, record it; under the lease, so
    a stopped replica's follow is finished by another (`watch`)."""
    renewing = asyncio.create_task(leases.keep_alive(services, lease)) if lease else None
    try:
        return await _follow_and_verify(services, follow)
    except asyncio.CancelledError:
        if lease is not None:
            await asyncio.shield(leases.hand_back(services, lease))
        raise
    finally:
        if renewing is not None:
            renewing.cancel()


async def _rollout(follow: Follow) -> tuple[bool, str]:
    req = follow.req

    async def progress(p: Any) -> None:
        await follow.board.show(ui.progress_line(req.target, p.message))

    try:
        rollout = await kube_ops.follow_rollout_async(
            follow.api,
            req.namespace,
            req.deployment,
            timeout_s=ROLLOUT_TIMEOUT_S,
            poll_s=ROLLOUT_POLL_S,
            on_progress=progress,
        )
    except kube_ops.KubeError as exc:
        return False, str(exc)
    return rollout.ok, rollout.message


async def _health(services: Services, req: Request) -> tuple[bool, list[str]]:
    """The catalog's health URL for this Deployment, when it names one."""
    svc = service_for(services.catalog.current, req.namespace, req.deployment, req.cluster)
    if svc is None or not svc.health_url:
        return True, []
    results = await run_checks([svc], [HttpHealthChecker()])
    return summarise(results).status.name == "OK", render_mrkdwn(results)


async def _follow_and_verify(services: Services, follow: Follow) -> Outcome:
    req, data = follow.req, follow.data
    rollout_ok, rollout_msg = await _rollout(follow)
    health_ok, health_lines = await _health(services, req)
    ok = rollout_ok and health_ok
    last = rollout_msg if health_ok else f"{rollout_msg}; the health check failed"
    await follow.board.show(ui.final_line(req.target, ok, last))
    change = ui.change_words(data.get("before") or {}, data.get("after") or {})
    verdict = ui.verdict_text(req.action, req.target, ok, rollout_msg, health_lines, change)
    data["outcome"] = "succeeded" if ok else ("unhealthy" if rollout_ok else "rollout_failed")
    data["rollout"] = rollout_msg
    first = await _record_final(services, follow.number, req, follow.user, data)
    if first:  # a replica that lost the race to finish this follow stays quiet
        await post(services, follow.board.channel, verdict)
    return Outcome(ok, verdict, ran=True)


def _timeline_text(req: Request, data: dict[str, Any]) -> str:
    """ "rollback of prod/api (app=img:v2 → app=img:v1): succeeded": the post-mortem reads
    which images changed without opening the event's data."""
    change = ui.change_words(data.get("before") or {}, data.get("after") or {}, code=False)
    return (
        f"{req.action} of {req.target}"
        + (f" ({change})" if change else "")
        + (f": {data['outcome']}")
    )


async def _record_final(
    services: Services, number: int, req: Request, user: str, data: dict[str, Any]
) -> bool:
    """The outcome on the timeline and the follow closed, in one transaction."""
    now = services.clock.now()
    try:
        async with services.transaction() as session:
            stored = await timeline.record(
                session,
                number,
                event_kinds.ACTION,
                at=now,
                actor=user,
                text=_timeline_text(req, data),
                data=data,
                key=f"ops-done:{req.nonce}",
            )
            await leases.mark_finished(session, req.nonce, now)
            return bool(stored)
    except Exception as exc:  # the audit must not hide what happened in the cluster
        log.error("timeline record failed", incident=number, error=str(exc))
        return True
