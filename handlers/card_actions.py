"""The incident card's buttons and the modals they open: Acknowledge, Post update, Change
severity, Assign commander, Resolve. The modals themselves are built in
bot.slack.ui.card_modals; this module answers the presses and the submissions.

A press is applied once: Slack's retries repeat the action's `action_ts`, which keys the
timeline event (or, for a button that only opens a modal, a Redis once-marker); a modal
submission is keyed on its view id. A button on a resolved incident says so and does nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.adapters.locks import LockUnavailable
from bot.flows.errors import user_message
from bot.flows.lifecycle import service as lifecycle_service
from bot.flows.lifecycle.service import Rule, confirmation, problems_text, rule_of
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack import channels
from bot.slack.people import display_names
from bot.slack.ui.blocks import view_value
from bot.slack.ui.card_buttons import (
    ACK,
    COMMANDER,
    COMMANDER_VIEW,
    RESOLVE,
    RESOLVE_VIEW,
    SEVERITY,
    SEVERITY_VIEW,
    UPDATE,
    UPDATE_VIEW,
)
from bot.slack.ui.card_modals import (
    Names,
    commander_modal,
    is_public,
    mentioned_users,
    read_metadata,
    resolve_modal,
    severity_modal,
    untouched,
    update_modal,
)
from handlers.incident_context import incident_number, is_channel_id, is_user_id
from incident import lifecycle, permissions
from incident.lifecycle import LifecycleError
from incident.models import Incident
from incident.severity import SeverityError, parse_severity

log = get_logger(__name__)

NO_INCIDENT = "This form does not name an incident; nothing was done."
NO_INCIDENT_BUTTON = "⚠️ This button does not name an incident; nothing was done."
PRESS_MEMORY_S = 600  # how long a modal-opening press is remembered against Slack retries


# -- presses ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Press:
    action_id: str
    number: int | None
    user: str
    channel: str | None
    action_ts: str
    trigger_id: str

    @property
    def key(self) -> str:
        """Slack's retries repeat `action_ts`; a second click gets a new one."""
        return f"press:{self.action_id}:{self.action_ts}:{self.user}"


def press_of(body: dict[str, Any]) -> Press:
    action = (body.get("actions") or [{}])[0]
    return Press(
        action_id=str(action.get("action_id") or ""),
        number=incident_number(action.get("value")),
        user=body["user"]["id"],
        channel=(body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id"),
        action_ts=str(action.get("action_ts") or ""),
        trigger_id=str(body.get("trigger_id") or ""),
    )


async def ephemeral(respond: Callable[..., Awaitable[Any]], text: str) -> None:
    try:
        await respond(text=text, response_type="ephemeral", replace_original=False)
    except Exception as exc:  # the response_url expired: nothing else reaches the person
        log.warning("could not answer the press", error_type=type(exc).__name__)


async def first_press(services: Services, press: Press) -> bool:
    """Slack retries a press it thinks was lost: the retry must not open a second modal or
    answer twice. (Changes are also keyed on the timeline, for when Redis is down.)"""
    try:
        return await services.locks.once(press.key, PRESS_MEMORY_S)
    except LockUnavailable:
        return True  # a duplicate modal is better than none


Respond = Callable[..., Awaitable[Any]]
AfterPress = Callable[[], Awaitable[None]]


def press_listener(
    work: Callable[[Services, Press, Respond], Awaitable[AfterPress | None]],
    *,
    failure: str = "card button failed",
) -> Callable[..., Awaitable[None]]:
    """Ack at once (Slack's three seconds), then work; every failure becomes a sentence (and
    a log line saying ``failure``). Shared by every incident button (card, operations,
    *Reopen*). ``work`` may return a last step, run once the press was handled and outside
    this failure handling (a reopen's Slack follow-up)."""

    async def listener(ack: Any, body: dict, respond: Any, context: dict) -> None:
        await ack()
        services: Services = context["services"]
        press = press_of(body)
        if press.number is None:
            await ephemeral(respond, NO_INCIDENT_BUTTON)
            return
        try:
            if not await first_press(services, press):
                return  # Slack's retry of a press already handled
            after = await work(services, press, respond)
        except LifecycleError as exc:
            await ephemeral(respond, f"⚠️ {exc}")
            return
        except Exception as exc:
            log.error(failure, action=press.action_id, error_type=type(exc).__name__)
            await ephemeral(respond, user_message(exc))
            return
        if after is not None:
            await after()

    return listener


async def _acknowledge(services: Services, press: Press, respond: Any) -> None:
    assert press.number is not None
    rule = rule_of(lifecycle.acknowledge, actor=press.user, key=press.key)
    applied = await lifecycle_service.apply(
        services, press.number, rule, actor=press.user, key=press.key
    )
    if not applied.outcome.changed:
        await ephemeral(respond, confirmation(applied.outcome))
        return
    await lifecycle_service.follow_up(services, applied, press.user)
    if applied.problems:
        await ephemeral(respond, problems_text(applied))


ModalBuilder = Callable[[Incident, str | None, Names], dict[str, Any]]


async def names_for(services: Services, incident: Incident) -> Names:
    """Display names of the people mentioned in the texts a modal shows (title, impact), so
    a form reads `@Ana` rather than `<@U04ABCD>`; no Slack call when nobody is mentioned, and
    a failed lookup leaves the mention (a name is decoration, the form must open)."""
    users = mentioned_users([incident.title, incident.impact])
    if not users:
        return {}
    return await display_names(services.slack, services.caches.user_names, users)


def _opener(
    build: ModalBuilder, permission: str | None
) -> Callable[[Services, Press, Any], Awaitable[None]]:
    async def open_modal(services: Services, press: Press, respond: Any) -> None:
        assert press.number is not None
        inc = await lifecycle_service.precheck(
            services, press.number, press.user, permission, key=press.key
        )
        view = build(inc, press.channel, await names_for(services, inc))
        await services.slack.views_open(trigger_id=press.trigger_id, view=view)

    return open_modal


# -- submissions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    number: int
    channel: str | None
    user: str
    view_id: str
    values: dict[str, Any]
    # the view as submitted: its metadata tells which fields were left as prefilled
    view: dict[str, Any]

    @property
    def key(self) -> str:
        """A double-clicked submit sends the same view twice."""
        return f"view:{self.view_id}"


def submission_of(body: dict[str, Any], view: dict[str, Any]) -> Submission | None:
    """None when the form names no incident we could have (no metadata, or a number past
    Postgres' integer); a channel that is no channel id is dropped (the answer goes by DM)."""
    if (meta := read_metadata(view)) is None:
        return None
    number, channel = incident_number(meta[0]), meta[1]
    if number is None:
        return None
    return Submission(
        number=number,
        channel=channel if is_channel_id(channel) else None,
        user=body["user"]["id"],
        view_id=str(view.get("id") or ""),
        values=(view.get("state") or {}).get("values") or {},
        view=view,
    )


async def tell(services: Services, user: str, channel: str | None, text: str) -> None:
    """A modal has no response_url: an ephemeral where the person was, else a DM."""
    await channels.tell(services.slack, user, channel, text)


RuleOrErrors = Rule | dict[str, str]


def _submission_listener(
    make_rule: Callable[[Services, Submission], RuleOrErrors], permission: str | None
) -> Callable[..., Awaitable[None]]:
    """`make_rule` returns inline errors ({block: message}) or the rule to apply."""

    async def listener(ack: Any, body: dict, view: dict, context: dict) -> None:
        services: Services = context["services"]
        sub = submission_of(body, view)
        if sub is None:
            # Bolt (and Slack) refuse an empty errors object: name the first input
            await ack(response_action="errors", errors={_first_block(view): NO_INCIDENT})
            log.warning("modal without an incident", callback=view.get("callback_id"))
            return
        try:
            rule = make_rule(services, sub)
        except LifecycleError as exc:
            rule = {_first_block(view): str(exc)}
        if isinstance(rule, dict):
            await ack(response_action="errors", errors=rule)
            return
        await ack()
        try:
            applied = await lifecycle_service.apply(
                services, sub.number, rule, actor=sub.user, permission=permission, key=sub.key
            )
        except LifecycleError as exc:
            await tell(services, sub.user, sub.channel, f"⚠️ {exc}")
            return
        except Exception as exc:
            log.error("modal submission failed", error_type=type(exc).__name__)
            await tell(services, sub.user, sub.channel, user_message(exc))
            return
        if not applied.outcome.changed:
            if not applied.outcome.duplicate:
                await tell(services, sub.user, sub.channel, confirmation(applied.outcome))
            return
        await lifecycle_service.follow_up(services, applied, sub.user)
        if applied.problems:
            await tell(services, sub.user, sub.channel, problems_text(applied))

    return listener


def _first_block(view: dict[str, Any]) -> str:
    """Where an inline error shows: the view's first input block."""
    for block in view.get("blocks") or []:
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id"):
            return str(block["block_id"])
    values = (view.get("state") or {}).get("values") or {}
    return str(next(iter(values), "value"))


def text_value(values: dict[str, Any], block_id: str) -> str:
    """A modal input's text, "" when it is missing or not text (a forged payload): the rules
    then ask for it like an empty field, rather than failing on a number or a list."""
    raw = view_value(values, block_id)
    return raw.strip() if isinstance(raw, str) else ""


def _update_rule(services: Services, sub: Submission) -> RuleOrErrors:
    message = text_value(sub.values, "message")
    if not message:
        return {"message": "Write what is happening now."}
    status = text_value(sub.values, "status") or None
    impact = text_value(sub.values, "impact") or None
    if impact and untouched(sub.view, "impact", impact):
        impact = None  # shown with names, submitted as shown: the stored text stays
    return rule_of(
        lifecycle.post_update,
        message,
        actor=sub.user,
        key=sub.key,
        status=status,
        impact=impact,
        public=is_public(sub.values),
    )


def _severity_rule(services: Services, sub: Submission) -> RuleOrErrors:
    try:
        severity = parse_severity(text_value(sub.values, "severity"), services.policy.aliases)
    except SeverityError as exc:
        return {"severity": str(exc)}
    return rule_of(lifecycle.set_severity, severity, actor=sub.user, key=sub.key)


def _commander_rule(services: Services, sub: Submission) -> RuleOrErrors:
    user = text_value(sub.values, "commander")
    if not is_user_id(user):
        return {"commander": "Pick the new incident commander."}
    return rule_of(lifecycle.set_commander, user, actor=sub.user, key=sub.key)


def _resolve_rule(services: Services, sub: Submission) -> RuleOrErrors:
    summary = text_value(sub.values, "summary")
    if not summary:
        return {"summary": "Write a short summary: what happened and how it was fixed."}
    return rule_of(lifecycle.resolve, summary, actor=sub.user, key=sub.key)


async def open_update_modal(
    services: Services, incident: Incident, trigger_id: str, channel: str
) -> None:
    """`/incident update` without text opens the same form as the card's button."""
    view = update_modal(incident, channel, await names_for(services, incident))
    await services.slack.views_open(trigger_id=trigger_id, view=view)


def register(app: AsyncApp, services: Services) -> None:
    app.action(ACK)(press_listener(_acknowledge))
    app.action(UPDATE)(press_listener(_opener(update_modal, None)))
    app.action(SEVERITY)(press_listener(_opener(severity_modal, permissions.SEVERITY)))
    app.action(COMMANDER)(press_listener(_opener(commander_modal, permissions.COMMANDER)))
    app.action(RESOLVE)(press_listener(_opener(resolve_modal, permissions.RESOLVE)))
    app.view(UPDATE_VIEW)(_submission_listener(_update_rule, None))
    app.view(SEVERITY_VIEW)(_submission_listener(_severity_rule, permissions.SEVERITY))
    app.view(COMMANDER_VIEW)(_submission_listener(_commander_rule, permissions.COMMANDER))
    app.view(RESOLVE_VIEW)(_submission_listener(_resolve_rule, permissions.RESOLVE))
