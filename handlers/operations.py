"""`/incident rollback|history|scale|restart|check` and the Confirm/Cancel buttons they show."""

from __future__ import annotations

import shlex
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.adapters import kube as kube_ops
from bot.adapters.locks import LockUnavailable
from bot.flows.operations import core as operations
from bot.logging_setup import get_logger
from bot.services import Services
from handlers.incident_context import incident_for_call
from handlers.subcommands import CommandCall, subcommand
from incident import event_kinds
from incident.checks import render_mrkdwn, results_to_dicts, summarise
from incident.escaping import escape_mrkdwn

log = get_logger(__name__)

CONFIRM = "ops_confirm"
CANCEL = "ops_cancel"


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
                if not (val.isascii() and val.isdigit()) or int(val) < 1:
                    raise UsageError(f"`--to-revision` takes a revision number, not `{val}`.")
                out["to_revision"] = int(val)
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


def locate(call: CommandCall, parsed: dict[str, Any]) -> operations.Located:
    return operations.locate(
        call.services, parsed["pos"][0], parsed["namespace"], parsed["cluster"]
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
        where = locate(call, parsed)
        operations.validate(call.services, action, args)
    except operations.OpsError as exc:
        await call.ack(text=f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    await call.ack()
    try:
        planned = await operations.plan(
            call.services,
            action,
            where.namespace,
            where.deployment,
            inc.number,
            args,
            cluster=where.cluster,
            actor=call.user_id,
        )
    except (kube_ops.KubeError, operations.OpsError) as exc:
        await _say(call, f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    except Exception as exc:
        log.error("ops plan failed", action=action, error_type=type(exc).__name__)
        await _say(call, f"⚠️ Could not plan the {action}: {type(exc).__name__}.")
        return
    dry = operations.dry_run_on(call.services)
    await _say(
        call,
        ("[dry run] " if dry else "") + planned.text,
        operations.confirmation_blocks(planned, dry_run=dry),
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
        if not (raw.isascii() and raw.isdigit()):
            raise UsageError(
                f"Replicas must be a whole number, not `{raw}`. Usage: `{SCALE_USAGE}`"
            )
    except UsageError as exc:
        await call.ack(text=f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    await _propose(call, "scale", parsed, {"replicas": int(raw)})


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
        where = locate(call, parsed)
    except operations.OpsError as exc:
        await call.ack(text=f"⚠️ {escape_mrkdwn(str(exc))}")
        return
    await call.ack()
    try:
        text = await operations.history(
            call.services, where.namespace, where.deployment, where.cluster
        )
    except (kube_ops.KubeError, operations.OpsError) as exc:
        text = f"⚠️ {escape_mrkdwn(str(exc))}"
    await _say(call, text)


def _checkers(services: Services) -> list[Any]:
    """Every kind of check; each applies only to services whose catalog entry names it."""
    from bot.adapters.checks.aws import AwsClients, aws_checkers
    from bot.adapters.checks.datastores import PostgresChecker, RedisChecker
    from bot.adapters.checks.http_health import HttpHealthChecker
    from bot.adapters.checks.kubernetes import DeploymentChecker

    def health(cluster: str | None, namespace: str, deployment: str) -> Any:
        api = operations.api_client(services, cluster)
        return kube_ops.deployment_health(api, namespace, deployment)

    # boto3 reads AWS_ENDPOINT_URL itself; one client set per process.
    aws = services.extras.setdefault("aws_clients", AwsClients())
    return [
        HttpHealthChecker(),
        DeploymentChecker(health),
        PostgresChecker(),
        RedisChecker(),
        *aws_checkers(aws),
    ]


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


def select_services(services: Services, names: list[str] | None) -> list[Any] | str:
    """The catalog services to check, or why there are none."""
    try:
        cat = operations.catalog(services)
    except Exception as exc:
        return f"The service catalog cannot be read: {exc}"
    if cat is None:
        return "No service catalog is configured (set CATALOG_FILE)."
    try:
        return cat.select(names)
    except KeyError as exc:
        unknown = escape_mrkdwn(str(exc.args[0]))
        return f"Unknown service {unknown}. Known: {', '.join(cat.names) or 'none'}."


async def run_and_post(services: Services, inc: Any, user: str, chosen: list[Any]) -> str | None:
    """Run the checks, record them, post one message in the incident channel. Returns the
    text when it could not be posted there, for the caller to show the person instead."""
    from bot.adapters.checks.runner import run_checks

    results = await run_checks(chosen, _checkers(services))
    summary = summarise(results)
    text = "\n".join([f"*Status checks* — {summary.headline}", *render_mrkdwn(results)])
    await operations.record(
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
    try:
        req = operations.Request.from_value(action.get("value") or "")
    except operations.OpsError as exc:
        await _reply(respond, f"⚠️ {escape_mrkdwn(str(exc))}", replace=False)
        return
    await _reply(respond, f"⏳ Working on {req.action} of {req.target}…", replace=True)
    try:
        outcome = await operations.execute(services, req, user)
    except Exception as exc:
        log.error("ops execute failed", action=req.action, error_type=type(exc).__name__)
        await _reply(respond, f"⚠️ The {req.action} failed: {type(exc).__name__}.", replace=False)
        return
    await _reply(respond, outcome.message, replace=False)


async def on_cancel(ack: Any, body: dict, respond: Any) -> None:
    await ack()
    try:
        req = operations.Request.from_value(_action(body).get("value") or "")
        what = f"{req.action} of {req.target}"
    except operations.OpsError:
        what = "operation"
    await _reply(respond, f"Cancelled: no {what} was made.", replace=True)


def register(app: AsyncApp) -> None:
    app.action(CONFIRM)(on_confirm)
    app.action(CANCEL)(on_cancel)
