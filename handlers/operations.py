"""`/incident rollback|history|scale|restart|check` and the Confirm/Cancel buttons they show.

Listeners only: read the command, call the flow (`bot.flows.operations`, `bot.flows.checks`),
show the answer (`bot.slack.ui.operations`). `parse` is the one reader of operation arguments.
"""

from __future__ import annotations

import shlex
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.adapters import kube as kube_ops
from bot.adapters.locks import LockUnavailable
from bot.flows.checks.run import run_and_post, select_services
from bot.flows.operations import pending, policy
from bot.flows.operations.cancel import cancel_text
from bot.flows.operations.errors import OpsError
from bot.flows.operations.execute import execute
from bot.flows.operations.plan import Located, history, locate, propose
from bot.logging_setup import get_logger
from bot.services import Services
from bot.slack.ui import operations as ui
from handlers.incident_context import incident_for_call
from handlers.subcommands import CommandCall, subcommand
from incident.escaping import escape_mrkdwn
from incident.numbers import parse_count

log = get_logger(__name__)


class UsageError(Exception):
    pass


OPTIONS = {
    "-n": "namespace",
    "--namespace": "namespace",
    "--cluster": "cluster",
    "--context": "cluster",
}


def parse(args: str, usage: str, positional: int, *, to_revision: bool = False) -> dict[str, Any]:
    """`<deployment> [more positionals] [-n ns] [--cluster c] [--to-revision N]` → dict;
    UsageError on junk."""
    try:
        tokens = shlex.split(args)
    except ValueError as exc:
        raise UsageError(f"Cannot read that: {exc}. Usage: `{usage}`") from exc
    out: dict[str, Any] = {"namespace": None, "cluster": None, "to_revision": None, "pos": []}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        name, eq, inline = tok.partition("=")
        if name in OPTIONS or (to_revision and name == "--to-revision"):
            if eq and name.startswith("--"):
                val = inline
                i += 1
            elif i + 1 < len(tokens):
                val = tokens[i + 1]
                i += 2
            else:
                raise UsageError(f"`{tok}` needs a value. Usage: `{usage}`")
            if name == "--to-revision":
                try:
                    out["to_revision"] = parse_count(val, minimum=1, what="revision")
                except ValueError:
                    raise UsageError(
                        f"`--to-revision` takes a revision number, not `{val}`."
                    ) from None
            elif not val:
                raise UsageError(f"`{name}` needs a value. Usage: `{usage}`")
            else:
                out[OPTIONS[name]] = val
            continue
        if tok.startswith("-"):
            raise UsageError(f"Unknown option `{tok}`. Usage: `{usage}`")
        out["pos"].append(tok)
        i += 1
    if len(out["pos"]) != positional:
        raise UsageError(f"Usage: `{usage}`")
    return out


def _where(call: CommandCall, parsed: dict[str, Any]) -> Located:
    return locate(
        call.services.catalog.current, parsed["pos"][0], parsed["namespace"], parsed["cluster"]
    )


async def _say(call: CommandCall, text: str, blocks: list | None = None) -> None:
    kwargs: dict[str, Any] = {"text": text, "response_type": "ephemeral", "replace_original": False}
    if blocks:
        kwargs["blocks"] = blocks
    await call.respond(**kwargs)


async def _propose(call: CommandCall, action: str, parsed: dict[str, Any], args: dict) -> None:
    inc = await incident_for_call(call, number_arg=False)
    if inc is None:
        return
    try:
        where = _where(call, parsed)
        policy.check_input(call.services, action, args)
    except OpsError as exc:
        await call.ack(text=f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    await call.ack()
    try:
        planned = await propose(call.services, inc.number, call.user_id, action, where, args)
        plan_id = await pending.keep(call.services, planned.request)
    except (kube_ops.KubeError, OpsError) as exc:
        await _say(call, f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    except Exception as exc:
        log.error("ops plan failed", action=action, error_type=type(exc).__name__)
        await _say(call, f"⚠️ Could not plan the {action}: {type(exc).__name__}.")
        return
    await _say(
        call,
        ui.confirmation_text(planned.text, dry_run=planned.dry_run),
        ui.confirmation_blocks(planned.text, plan_id, action, dry_run=planned.dry_run),
    )


ROLLBACK_USAGE = "/incident rollback <deployment> [-n ns] [--cluster c] [--to-revision N]"
SCALE_USAGE = "/incident scale <deployment> <replicas> [-n ns] [--cluster c]"
RESTART_USAGE = "/incident restart <deployment> [-n ns] [--cluster c]"
HISTORY_USAGE = "/incident history <deployment> [-n ns] [--cluster c]"


@subcommand("rollback", ROLLBACK_USAGE, "roll a Deployment back (asks to confirm)", order=60)
async def rollback_command(call: CommandCall) -> None:
    try:
        parsed = parse(call.args, ROLLBACK_USAGE, 1, to_revision=True)
    except UsageError as exc:
        await call.ack(text=f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    args = {"to_revision": parsed["to_revision"]} if parsed["to_revision"] else {}
    await _propose(call, "rollback", parsed, args)


@subcommand("scale", SCALE_USAGE, "change a Deployment's replicas (asks to confirm)", order=61)
async def scale_command(call: CommandCall) -> None:
    try:
        parsed = parse(call.args, SCALE_USAGE, 2)
        raw = parsed["pos"][1]
        try:
            replicas = parse_count(raw, what="number of replicas")
        except ValueError as exc:
            raise UsageError(f"{exc} Not `{raw}`. Usage: `{SCALE_USAGE}`") from None
    except UsageError as exc:
        await call.ack(text=f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    await _propose(call, "scale", parsed, {"replicas": replicas})


@subcommand("restart", RESTART_USAGE, "restart a Deployment's pods (asks to confirm)", order=62)
async def restart_command(call: CommandCall) -> None:
    try:
        parsed = parse(call.args, RESTART_USAGE, 1)
    except UsageError as exc:
        await call.ack(text=f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    await _propose(call, "restart", parsed, {})


@subcommand("history", HISTORY_USAGE, "a Deployment's rollout history", order=63)
async def history_command(call: CommandCall) -> None:
    try:
        parsed = parse(call.args, HISTORY_USAGE, 1)
    except UsageError as exc:
        await call.ack(text=f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    try:
        where = _where(call, parsed)
    except OpsError as exc:
        await call.ack(text=f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    await call.ack()
    try:
        text = await history(call.services, where)
    except (kube_ops.KubeError, OpsError) as exc:
        text = f"⚠️ {escape_mrkdwn(str(exc))}"
    await _say(call, text)


@subcommand("check", "/incident check [service|all]", "run the catalog's status checks", order=64)
async def check_command(call: CommandCall) -> None:
    wanted = call.args.strip().split()
    chosen = select_services(call.services, None if not wanted or wanted == ["all"] else wanted)
    if isinstance(chosen, str):
        await call.ack(text=f"⚠️ {chosen}")
        return
    inc = await incident_for_call(call, number_arg=False)
    if inc is None:
        return
    await call.ack()
    text = await run_and_post(call.services, inc, call.user_id, chosen)
    if text is not None:
        await _say(call, text)


def _action(body: dict) -> dict:
    return (body.get("actions") or [{}])[0]


async def _reply(respond: Any, text: str, *, replace: bool) -> None:
    try:
        await respond(text=text, response_type="ephemeral", replace_original=replace)
    except Exception as exc:
        log.warning("could not answer the press", error_type=type(exc).__name__)


async def on_confirm(ack: Any, body: dict, respond: Any, context: dict) -> None:
    await ack()
    services: Services = context["services"]
    user = body["user"]["id"]
    action = _action(body)
    try:
        if not await services.locks.once(f"ops:{action.get('action_ts')}", 600):
            return
    except LockUnavailable:
        await _reply(respond, "⚠️ Redis is unreachable; nothing was done.", replace=False)
        return
    try:  # the button carries only the plan's id (`pending`); the plan is read back here
        req = await pending.load(services, str(action.get("value") or ""))
    except OpsError as exc:
        await _reply(respond, f"⚠️ {escape_mrkdwn(str(exc))}", replace=False)
        return
    # Only a private plan (an ephemeral) is replaced: replacing a plan posted in a channel
    # would show this presser's answer (a refusal, say) to everyone there.
    private = bool((body.get("container") or {}).get("is_ephemeral"))
    await _reply(respond, f"⏳ Working on {req.action} of {req.target}…", replace=private)
    try:
        outcome = await execute(services, req, user)
    except Exception as exc:
        log.error("ops execute failed", action=req.action, error_type=type(exc).__name__)
        await _reply(respond, f"⚠️ The {req.action} failed: {type(exc).__name__}.", replace=private)
        return
    # the "Working on…" answer becomes the outcome: it must not stay as if still running
    await _reply(respond, outcome.message, replace=private)


async def on_cancel(ack: Any, body: dict, respond: Any, context: dict) -> None:
    await ack()
    services: Services = context["services"]
    try:
        req = await pending.load(services, str(_action(body).get("value") or ""))
    except pending.PlanExpired:
        # the plan (and so its target) is gone; only the timeline can say whether it ran
        await _reply(
            respond,
            "This plan has expired, so nothing more can come of it; whether it was confirmed "
            "earlier is in the incident's timeline.",
            replace=True,
        )
        return
    except pending.PlanUnreachable as exc:
        await _reply(respond, f"⚠️ {exc}", replace=False)
        return
    except OpsError:
        await _reply(respond, "Cancelled: no operation was made.", replace=True)
        return
    try:
        text = await cancel_text(services, req)
    except Exception as exc:  # Postgres down: do not claim nothing was made
        log.warning("ops cancel lookup failed", error_type=type(exc).__name__)
        text = (
            f"⚠️ Cannot tell whether this {req.action} of {req.target} was already confirmed "
            "(the database is unreachable); check the incident channel."
        )
    await _reply(respond, text, replace=True)


def register(app: AsyncApp, services: Services) -> None:
    app.action(ui.CONFIRM)(on_confirm)
    app.action(ui.CANCEL)(on_cancel)
