"""What operations show in Slack: the plan with Confirm/Cancel, the progress message, the
verdict, the rollout history, and the card's Rollback…/Scale… modals.

Pure builders: the flows hand in what to show, so the wording and Block Kit of an operation
live in one place and can be read without a cluster or a workspace.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.adapters.kube.models import Revision
from bot.slack.ui.elements import actions, button, context, mrkdwn_section, option, plain
from incident.escaping import escape_mrkdwn
from incident.models import Incident
from incident.text_limits import MODAL_TITLE, OPTION_VALUE

CONFIRM = "ops_confirm"
CANCEL = "ops_cancel"
ROLLBACK_VIEW = "ops_rollback_view"
SCALE_VIEW = "ops_scale_view"
NO_CLUSTER_VIEW = "ops_no_cluster_view"

# (value "[cluster:]namespace/deployment", label) for a modal's target menu
Choice = tuple[str, str]


def images_text(images: dict[str, str]) -> str:
    return ", ".join(f"`{name}={image}`" for name, image in images.items())


def change_words(before: dict[str, Any], after: dict[str, Any], *, code: bool = True) -> str:
    """What changes, old → new (images for a rollback, replicas for a scale); "" when nothing
    comparable is known (a restart keeps its images). `code=False` for the timeline."""
    if before.get("images") and after.get("images"):
        if code:
            return f"{images_text(before['images'])} → {images_text(after['images'])}"
        plain_images = [
            ", ".join(f"{n}={i}" for n, i in x["images"].items()) for x in (before, after)
        ]
        return " → ".join(plain_images)
    if "replicas" in before and "replicas" in after:
        return f"replicas {before['replicas']} → {after['replicas']}"
    return ""


# -- the plan -------------------------------------------------------------------------------


def rollback_plan_text(
    target: str,
    to_revision: int,
    becomes: int | None,
    images_before: dict[str, str],
    images_after: dict[str, str],
) -> str:
    """As `kubectl rollout undo` does it: the old template comes back as a NEW revision, so
    "revision 2 → 1" would be wrong (the history will not go back to 1)."""
    change = change_words({"images": images_before}, {"images": images_after})
    new = f"; it becomes revision {becomes}" if becomes is not None else ""
    return f"*Roll back* `{target}` to the template of revision {to_revision} ({change}){new}"


def confirmation_text(plan_text: str, *, dry_run: bool) -> str:
    """The notification text of the plan (the blocks say the same)."""
    return ("[dry run] " if dry_run else "") + plan_text


def confirmation_blocks(
    plan_text: str, plan_id: str, action: str, *, dry_run: bool
) -> list[dict[str, Any]]:
    """The plan and its Confirm/Cancel. Both buttons carry only the id of the plan kept
    server-side (`bot.flows.operations.pending`): a plan is unbounded, a button value is
    not (2,000)."""
    head = "🧪 *Dry run* — nothing will be changed.\n" if dry_run else ""
    return [
        mrkdwn_section(head + plan_text),
        actions(
            CONFIRM,
            button(CONFIRM, "Confirm", plan_id, style="danger" if action != "scale" else "primary"),
            button(CANCEL, "Cancel", plan_id),
        ),
    ]


# -- the rollout ----------------------------------------------------------------------------


def progress_head(user: str, plan_text: str) -> str:
    return f"🔧 <@{user}> started: {plan_text}"


def progress_line(target: str, message: str) -> str:
    """`target` is `request.target_name(...)`, the one name plan, progress, verdict and
    timeline all use, so a reader matches them at a glance."""
    return f"⏳ {target}: {message}"


def final_line(target: str, ok: bool, message: str) -> str:
    """The progress message's last line: a rollout that was followed ends ✅ or ❌, never at
    ⏳, so nobody reads an old message as still running."""
    return f"{'✅' if ok else '❌'} {target}: {message}"


def failed_text(action: str, target: str, reason: str) -> str:
    """An API failure after Confirm: the change failed (it was confirmed, not refused).
    The reason comes from the API server, which may echo names people typed: escaped."""
    return f"❌ {action} of {target} failed: {escape_mrkdwn(reason)}"


def resumed_line(target: str) -> str:
    return f"♻️ {target}: the replica following this rollout stopped; resuming"


def verdict_text(
    action: str, target: str, ok: bool, rollout: str, health: Sequence[str], change: str = ""
) -> str:
    """The verdict names the change old → new: "rollback succeeded" alone does not say which
    images now run."""
    health_lines = "\n" + "\n".join(health) if health else ""
    what = f" ({change})" if change else ""
    return (
        f"{'✅' if ok else '❌'} {action} of {target} "
        f"{'succeeded' if ok else 'did not succeed'}{what}: {rollout}{health_lines}"
    )


def history_text(revisions: Sequence[Revision], target: str) -> str:
    if not revisions:
        return f"No rollout history for `{target}`."
    lines = [f"*Rollout history of `{target}`* (oldest first)"]
    for r in revisions:
        mark = " ← current" if r.is_current else ""
        cause = f" — {r.change_cause}" if r.change_cause else ""
        lines.append(f"• {r.number}: {images_text(r.images)}{cause}{mark}")
    return "\n".join(lines)


# -- the card's modals ------------------------------------------------------------------------


MAX_MENU = 100  # Slack's limit on a static_select's options


def target_blocks(choices: Sequence[Choice], note: str | None) -> list[dict[str, Any]]:
    """A menu of the catalog's Deployments, or (with `note` saying why there is none) a box
    to type `namespace/deployment`. More Deployments than a menu holds, or a name too long for
    an option's value (150), also mean the box: a menu must not hide a Deployment."""
    if len(choices) > MAX_MENU:
        note = f"{len(choices)} Deployments are more than a menu holds."
        choices = ()
    elif any(len(value) > OPTION_VALUE for value, _ in choices):
        note = "A Deployment's name is too long for a menu."
        choices = ()
    if choices:
        options = [option(label, value) for value, label in choices]
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
        context(f"{note} Type the Deployment as `namespace/deployment`."),
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


def count_input(
    block_id: str, label: str, *, minimum: int, optional: bool = False
) -> dict[str, Any]:
    """A whole-number box (a revision, a number of replicas) that `view_value` reads back."""
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {
            "type": "number_input",
            "action_id": "value",
            "is_decimal_allowed": False,
            "min_value": str(minimum),
        },
    }
    if optional:
        block["optional"] = True
    return block


def _shell(callback_id: str, title: str, inc: Incident, channel: str | None) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"n": inc.number, "c": channel or inc.channel_id or ""}),
        "title": plain(title, MODAL_TITLE),
        "close": plain("Cancel", MODAL_TITLE),
        "blocks": [context(f"Incident #{inc.number}: {inc.title}", mrkdwn=False)],
    }


def no_cluster_modal(title: str, inc: Incident, channel: str | None) -> dict[str, Any]:
    view = _shell(NO_CLUSTER_VIEW, title, inc, channel)
    view["close"] = plain("Close", MODAL_TITLE)
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


def rollback_modal(
    inc: Incident, channel: str | None, choices: Sequence[Choice], note: str | None
) -> dict[str, Any]:
    view = _shell(ROLLBACK_VIEW, "Roll back", inc, channel)
    view["submit"] = plain("Plan", MODAL_TITLE)
    view["blocks"] += [
        *target_blocks(choices, note),
        count_input(
            "revision", "To revision (default: the previous one)", minimum=1, optional=True
        ),
    ]
    return view


def scale_modal(
    inc: Incident, channel: str | None, choices: Sequence[Choice], note: str | None
) -> dict[str, Any]:
    view = _shell(SCALE_VIEW, "Scale", inc, channel)
    view["submit"] = plain("Plan", MODAL_TITLE)
    view["blocks"] += [
        *target_blocks(choices, note),
        count_input("replicas", "Replicas", minimum=0),
    ]
    return view
