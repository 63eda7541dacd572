"""The card's **Rollback…**, **Scale…** and **Run checks** buttons: a modal picks the
Deployment, and the submission shows exactly the plan and Confirm/Cancel ephemeral of
`/incident rollback|scale` (the Confirm press is answered by `handlers.operations`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.adapters import kube as kube_ops
from bot.flows.checks.run import run_and_post, select_services
from bot.flows.errors import user_message
from bot.flows.lifecycle import service as lifecycle_service
from bot.flows.operations import pending, policy
from bot.flows.operations.errors import OpsError
from bot.flows.operations.plan import Located, deployment_choices, propose
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui import card_buttons
from bot.slack.ui import operations as ui
from bot.slack.ui.blocks import view_value
from bot.slack.ui.card_buttons import CardButton
from handlers.card_actions import Press, press_listener, tell
from incident.numbers import PG_INT_MAX, parse_count

log = get_logger(__name__)

CHECKS = "incident_run_checks"
ROLLBACK = "incident_ops_rollback"
SCALE = "incident_ops_scale"

CHECKS_BUTTON = CardButton(CHECKS, "Run checks", order=55)
BUTTONS = (
    CardButton(ROLLBACK, "Rollback…", order=60),
    CardButton(SCALE, "Scale…", order=61),
)
DEFAULT_KUBECONFIG = Path("~/.kube/config")


def cluster_configured(services: Services) -> bool:
    """Whether a Kubernetes API can be reached at all (not whether it answers)."""
    ops = services.settings.ops
    catalog = services.catalog.current
    return (
        services.kube.injected
        or bool(catalog is not None and catalog.clusters)
        or bool(ops.kubeconfig)
        or ops.in_cluster
        or DEFAULT_KUBECONFIG.expanduser().exists()
    )


def show_buttons(services: Services) -> bool:
    """Rollback…/Scale… need a cluster; WARROOM_OPS_CARD_BUTTONS forces them on or off."""
    flag = services.settings.ops.card_buttons
    return flag if flag is not None else cluster_configured(services)


def show_checks_button(services: Services) -> bool:
    """Run checks needs a catalog; the sandbox and tests force it with the same flag."""
    flag = services.settings.ops.card_buttons
    return flag if flag is not None else services.catalog.current is not None


async def run_checks_pressed(services: Services, press: Press, respond: Any) -> None:
    assert press.number is not None
    inc = await lifecycle_service.precheck(services, press.number, press.user, None)
    chosen = select_services(services, None)
    if isinstance(chosen, str):
        await tell(services, press.user, press.channel, f"⚠️ {chosen}")
        return
    text = await run_and_post(services, inc, press.user, chosen)
    if text is not None:
        await tell(services, press.user, press.channel, text)


def _opener(action: str) -> Any:
    build = ui.rollback_modal if action == "rollback" else ui.scale_modal
    title = "Roll back" if action == "rollback" else "Scale"

    async def open_modal(services: Services, press: Press, respond: Any) -> None:
        assert press.number is not None
        inc = await lifecycle_service.precheck(services, press.number, press.user, None)
        if not cluster_configured(services):
            view = ui.no_cluster_modal(title, inc, press.channel)
        else:
            choices, note = deployment_choices(services.catalog.current)
            view = build(inc, press.channel, choices, note)
        await services.slack.views_open(trigger_id=press.trigger_id, view=view)

    return open_modal


# -- submissions --------------------------------------------------------------------------


def _text(values: dict[str, Any], block_id: str) -> str:
    raw = view_value(values, block_id)
    return str(raw).strip() if raw is not None else ""


def read_target(values: dict[str, Any]) -> Located | str:
    """The Deployment from "[cluster:]namespace/deployment", or the error."""
    raw = _text(values, "target")
    if not raw:
        return "Choose the Deployment."
    cluster, colon, rest = raw.rpartition(":")
    ns, sep, name = rest.partition("/")
    bad = not sep or not ns.strip() or not name.strip() or "/" in name or " " in raw
    if bad or (colon and not cluster.strip()):
        return f"Write it as namespace/deployment (or cluster:namespace/deployment), not `{raw}`."
    return Located(cluster.strip() or None, ns.strip(), name.strip())


def read_submission(
    services: Services, action: str, values: dict[str, Any]
) -> tuple[Located, dict[str, Any]] | dict[str, str]:
    """(the Deployment, args) or inline errors {block_id: message}."""
    errors: dict[str, str] = {}
    target = read_target(values)
    if isinstance(target, str):
        errors["target"] = target
    args: dict[str, Any] = {}
    if action == "rollback":
        rev = _text(values, "revision")
        if rev:
            try:
                args["to_revision"] = parse_count(rev, minimum=1, what="revision")
            except ValueError:
                errors["revision"] = f"A revision is a number from 1 up, not `{rev}`."
    else:
        raw = _text(values, "replicas")
        try:
            args["replicas"] = parse_count(raw, what="number of replicas")
        except ValueError as exc:
            errors["replicas"] = str(exc) if raw else "How many replicas?"
        else:
            try:
                policy.check_input(services, action, args)
            except OpsError as exc:
                errors["replicas"] = str(exc)
    if errors or isinstance(target, str):
        return errors
    return target, args


def _submission_listener(action: str) -> Any:
    async def listener(ack: Any, body: dict, view: dict, context: dict) -> None:
        services: Services = context["services"]
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            number = parse_count(meta["n"], minimum=1, maximum=PG_INT_MAX)
        except (ValueError, KeyError, TypeError):
            # Slack rejects an empty errors map; the target block is in both modals
            await ack(
                response_action="errors",
                errors={
                    "target": "This form lost its incident; close it and press the button again."
                },
            )
            log.warning("ops modal without an incident", callback=view.get("callback_id"))
            return
        channel = meta.get("c") or None
        user = body["user"]["id"]
        values = (view.get("state") or {}).get("values") or {}
        read = read_submission(services, action, values)
        if isinstance(read, dict):
            await ack(response_action="errors", errors=read)
            return
        await ack()
        where, args = read
        await ask_to_confirm(services, action, where, number, args, user=user, channel=channel)

    return listener


async def ask_to_confirm(
    services: Services,
    action: str,
    where: Located,
    number: int,
    args: dict[str, Any],
    *,
    user: str,
    channel: str | None,
) -> None:
    """Plan, then the same ephemeral Confirm/Cancel as the slash command, to `user`."""
    try:
        inc = await lifecycle_service.precheck(services, number, user, None)
        channel = channel or inc.channel_id
        planned = await propose(services, inc.number, user, action, where, args)
        plan_id = await pending.keep(services, planned.request)  # the buttons carry its id
    except (kube_ops.KubeError, OpsError) as exc:
        await tell(services, user, channel, f"⚠️ {exc}")
        return
    except Exception as exc:
        log.error("ops card plan failed", action=action, error_type=type(exc).__name__)
        await tell(services, user, channel, user_message(exc))
        return
    text = ui.confirmation_text(planned.text, dry_run=planned.dry_run)
    blocks = ui.confirmation_blocks(planned.text, plan_id, action, dry_run=planned.dry_run)
    if channel:
        try:
            await services.slack.chat_postEphemeral(
                channel=channel, user=user, text=text, blocks=blocks
            )
            return
        except Exception as exc:
            log.warning("ops confirmation ephemeral failed", error=str(exc))
    try:
        await services.slack.chat_postMessage(channel=user, text=text, blocks=blocks)
    except Exception as exc:
        log.warning("ops confirmation DM failed", error=str(exc))


def register(app: AsyncApp, services: Services) -> None:
    # The card shows only buttons something answers; these need a cluster to be useful.
    if show_checks_button(services):
        card_buttons.add(CHECKS_BUTTON)
    if show_buttons(services):
        for button in BUTTONS:
            card_buttons.add(button)
    app.action(CHECKS)(press_listener(run_checks_pressed))
    app.action(ROLLBACK)(press_listener(_opener("rollback")))
    app.action(SCALE)(press_listener(_opener("scale")))
    app.view(ui.ROLLBACK_VIEW)(_submission_listener("rollback"))
    app.view(ui.SCALE_VIEW)(_submission_listener("scale"))
