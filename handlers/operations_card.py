"""The card's **Rollback…** and **Scale…** buttons: a modal picks the Deployment, and the
submission shows exactly the plan and Confirm/Cancel ephemeral of `/incident rollback|scale`
(the Confirm press is answered by `handlers.operations`)."""

from __future__ import annotations

import json
import os
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.adapters import kube as kube_ops
from bot.flows.errors import user_message
from bot.flows.lifecycle import service as lifecycle_service
from bot.flows.operations import core as operations
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui import card_buttons
from bot.slack.ui.blocks import view_value
from bot.slack.ui.card_buttons import CardButton
from bot.slack.ui.elements import plain
from handlers.card_actions import Press, _press_listener, tell
from incident.models import Incident

log = get_logger(__name__)

CHECKS = "incident_run_checks"
ROLLBACK = "incident_ops_rollback"
SCALE = "incident_ops_scale"
ROLLBACK_VIEW = "ops_rollback_view"
SCALE_VIEW = "ops_scale_view"
ENABLE_ENV = "WARROOM_OPS_CARD_BUTTONS"  # "1" shows the buttons without a detected cluster

CHECKS_BUTTON = CardButton(CHECKS, "Run checks", order=55)
BUTTONS = (
    CardButton(ROLLBACK, "Rollback…", order=60),
    CardButton(SCALE, "Scale…", order=61),
)


def cluster_configured(services: Services | None = None) -> bool:
    """Whether a Kubernetes API can be reached at all (not whether it answers)."""
    if services is not None and services.extras.get("kube_api") is not None:
        return True
    if services is not None:
        try:
            cat = operations.catalog(services)
        except Exception:
            cat = None
        if cat is not None and cat.clusters:
            return True
    settings = operations.OpsSettings()
    if settings.kubeconfig or os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    return os.path.exists(os.path.expanduser("~/.kube/config"))


def _flag() -> bool | None:
    flag = os.environ.get(ENABLE_ENV, "").strip().lower()
    if flag in ("0", "false", "no", "off"):
        return False
    return True if flag in ("1", "true", "yes", "on") else None


def show_buttons() -> bool:
    flag = _flag()
    return flag if flag is not None else cluster_configured()


def show_checks_button() -> bool:
    """Run checks needs a catalog; the sandbox and tests force it with the same flag."""
    flag = _flag()
    return flag if flag is not None else bool(os.environ.get("CATALOG_FILE"))


async def run_checks_pressed(services: Services, press: Press, respond: Any) -> None:
    from handlers.operations import run_and_post, select_services

    assert press.number is not None
    inc = await lifecycle_service.precheck(services, press.number, press.user, None)
    chosen = select_services(services, None)
    if isinstance(chosen, str):
        await tell(services, press.user, press.channel, f"⚠️ {chosen}")
        return
    text = await run_and_post(services, inc, press.user, chosen)
    if text is not None:
        await tell(services, press.user, press.channel, text)


# -- modals -------------------------------------------------------------------------------


def deployments(services: Services) -> tuple[list[tuple[str, str]], str | None]:
    """(value "[cluster:]ns/deployment", label) for every catalog service with a Deployment,
    and a plain note when the catalog is missing or unreadable."""
    try:
        cat = operations.catalog(services)
    except Exception as exc:
        return [], f"The service catalog cannot be read ({exc})."
    if cat is None:
        return [], "No service catalog is configured (CATALOG_FILE)."
    found = []
    for svc in cat.services:
        k = svc.kubernetes
        if k is not None:
            where = (f"{k.context}:" if k.context else "") + f"{k.namespace}/{k.deployment}"
            found.append((where, f"{svc.name} ({where})"))
    if not found:
        return [], "The service catalog names no Kubernetes Deployment."
    return found, None


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _target_block(services: Services) -> list[dict[str, Any]]:
    found, note = deployments(services)
    if found:
        options = [{"text": plain(label[:75]), "value": value} for value, label in found[:100]]
        element: dict[str, Any] = {
            "type": "static_select",
            "action_id": "value",
            "placeholder": plain("Choose a Deployment"),
            "options": options,
        }
        if len(options) == 1:
            element["initial_option"] = options[0]
        return [
            {
                "type": "input",
                "block_id": "target",
                "label": plain("Deployment"),
                "element": element,
            }
        ]
    return [
        _context(f"{note} Type the Deployment as `namespace/deployment`."),
        {
            "type": "input",
            "block_id": "target",
            "label": plain("Deployment (namespace/deployment)"),
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "placeholder": plain("prod/api"),
            },
        },
    ]


def _shell(callback_id: str, title: str, inc: Incident, channel: str | None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"n": inc.number, "c": channel or inc.channel_id or ""}),
        "title": plain(title),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "context",
                "elements": [
                    {"type": "plain_text", "text": f"Incident #{inc.number}: {inc.title}"}
                ],
            }
        ],
    }


def no_cluster_modal(title: str, inc: Incident, channel: str | None) -> dict[str, Any]:
    view = _shell("ops_no_cluster_view", title, inc, channel)
    view["close"] = plain("Close")
    view["blocks"].append(
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "No Kubernetes cluster is configured for warroom (set KUBECONFIG, or "
                "run it inside the cluster), so it cannot change Deployments.",
            },
        }
    )
    return view


def rollback_modal(services: Services, inc: Incident, channel: str | None) -> dict[str, Any]:
    view = _shell(ROLLBACK_VIEW, "Roll back", inc, channel)
    view["submit"] = plain("Plan")
    view["blocks"] += [
        *_target_block(services),
        {
            "type": "input",
            "block_id": "revision",
            "optional": True,
            "label": plain("To revision (default: the previous one)"),
            "element": {
                "type": "number_input",
                "action_id": "value",
                "is_decimal_allowed": False,
                "min_value": "1",
            },
        },
    ]
    return view


def scale_modal(services: Services, inc: Incident, channel: str | None) -> dict[str, Any]:
    view = _shell(SCALE_VIEW, "Scale", inc, channel)
    view["submit"] = plain("Plan")
    view["blocks"] += [
        *_target_block(services),
        {
            "type": "input",
            "block_id": "replicas",
            "label": plain("Replicas"),
            "element": {
                "type": "number_input",
                "action_id": "value",
                "is_decimal_allowed": False,
                "min_value": "0",
            },
        },
    ]
    return view


def _opener(action: str) -> Any:
    build = rollback_modal if action == "rollback" else scale_modal
    title = "Roll back" if action == "rollback" else "Scale"

    async def open_modal(services: Services, press: Press, respond: Any) -> None:
        assert press.number is not None
        inc = await lifecycle_service.precheck(services, press.number, press.user, None)
        if not cluster_configured(services):
            view = no_cluster_modal(title, inc, press.channel)
        else:
            view = build(services, inc, press.channel)
        await services.slack.views_open(trigger_id=press.trigger_id, view=view)

    return open_modal


# -- submissions --------------------------------------------------------------------------


def _text(values: dict[str, Any], block_id: str) -> str:
    raw = view_value(values, block_id)
    return str(raw).strip() if raw is not None else ""


def read_target(values: dict[str, Any]) -> tuple[str | None, str, str] | str:
    """(cluster, namespace, deployment) from "[cluster:]namespace/deployment", or the error."""
    raw = _text(values, "target")
    if not raw:
        return "Choose the Deployment."
    cluster, colon, rest = raw.rpartition(":")
    ns, sep, name = rest.partition("/")
    bad = not sep or not ns.strip() or not name.strip() or "/" in name or " " in raw
    if bad or (colon and not cluster.strip()):
        return f"Write it as namespace/deployment (or cluster:namespace/deployment), not `{raw}`."
    return (cluster.strip() or None), ns.strip(), name.strip()


def read_submission(
    services: Services, action: str, values: dict[str, Any]
) -> tuple[str | None, str, str, dict[str, Any]] | dict[str, str]:
    """(cluster, namespace, deployment, args) or inline errors {block_id: message}."""
    errors: dict[str, str] = {}
    target = read_target(values)
    if isinstance(target, str):
        errors["target"] = target
    args: dict[str, Any] = {}
    if action == "rollback":
        rev = _text(values, "revision")
        if rev:
            if not (rev.isascii() and rev.isdigit()) or int(rev) < 1:
                errors["revision"] = f"A revision is a number from 1 up, not `{rev}`."
            else:
                args["to_revision"] = int(rev)
    else:
        raw = _text(values, "replicas")
        if not (raw.isascii() and raw.isdigit()):
            errors["replicas"] = (
                "Replicas must be a whole number (0 or more)." if raw else "How many replicas?"
            )
        else:
            args["replicas"] = int(raw)
            try:
                operations.validate(services, action, args)
            except operations.OpsError as exc:
                errors["replicas"] = str(exc)
    if errors or isinstance(target, str):
        return errors
    return target[0], target[1], target[2], args


def _submission_listener(action: str) -> Any:
    async def listener(ack: Any, body: dict, view: dict, context: dict) -> None:
        services: Services = context["services"]
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            number = int(meta["n"])
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
        cluster, ns, name, args = read
        await propose(
            services, action, ns, name, number, args, user=user, channel=channel, cluster=cluster
        )

    return listener


async def propose(
    services: Services,
    action: str,
    namespace: str,
    deployment: str,
    number: int,
    args: dict[str, Any],
    *,
    user: str,
    channel: str | None,
    cluster: str | None = None,
) -> None:
    """Plan, then the same ephemeral Confirm/Cancel as the slash command, to `user`."""
    try:
        inc = await lifecycle_service.precheck(services, number, user, None)
        channel = channel or inc.channel_id
        planned = await operations.plan(
            services, action, namespace, deployment, inc.number, args, cluster=cluster, actor=user
        )
    except (kube_ops.KubeError, operations.OpsError) as exc:
        await tell(services, user, channel, f"⚠️ {exc}")
        return
    except Exception as exc:
        log.error("ops card plan failed", action=action, error_type=type(exc).__name__)
        await tell(services, user, channel, user_message(exc))
        return
    dry = operations.dry_run_on(services)
    text = ("[dry run] " if dry else "") + planned.text
    blocks = operations.confirmation_blocks(planned, dry_run=dry)
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


def register(app: AsyncApp) -> None:
    # The card shows only buttons something answers; these need a cluster to be useful.
    if show_checks_button():
        card_buttons.add(CHECKS_BUTTON)
    if show_buttons():
        for button in BUTTONS:
            card_buttons.add(button)
    app.action(CHECKS)(_press_listener(run_checks_pressed))
    app.action(ROLLBACK)(_press_listener(_opener("rollback")))
    app.action(SCALE)(_press_listener(_opener("scale")))
    app.view(ROLLBACK_VIEW)(_submission_listener("rollback"))
    app.view(SCALE_VIEW)(_submission_listener("scale"))
