"""Building API clients and making calls with a timeout, raw JSON results and plain errors.

Responses are read as JSON dicts (`_preload_content=False`) rather than generated models, so
the adapter behaves the same across client releases and never trips over model parsing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from bot.adapters.kube.errors import (
    ApiFailure,
    Conflict,
    KubeError,
    ObjectNotFound,
    PermissionDenied,
    RequestTimeout,
    Unauthorized,
    Unreachable,
)

DEFAULT_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 3.0
# reconnect on a dropped connection, but never re-send a request that timed out: a hung API
# server should cost the caller one timeout, not four
RETRIES = urllib3.util.Retry(total=2, connect=2, read=0, status=0, other=0, redirect=0)

_FORBIDDEN = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>\S+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?'
    r'(?: in the namespace "(?P<namespace>[^"]+)"| at the cluster scope)?'
)


def load_api_client(
    context: str | None = None, kubeconfig: str | None = None, in_cluster: bool = False
) -> ApiClient:
    """One client per cluster context; in-cluster uses the pod's service account."""
    configuration = client.Configuration()
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
    except (config.ConfigException, OSError) as exc:
        where = "in-cluster service account" if in_cluster else (kubeconfig or "default kubeconfig")
        suffix = f" (context {context})" if context else ""
        raise KubeError(f"Cannot load Kubernetes credentials from {where}{suffix}: {exc}") from exc
    configuration.retries = RETRIES
    return ApiClient(configuration)


@dataclass(frozen=True)
class Target:
    """What a call is about, so error messages can name it."""

    kind: str
    name: str | None
    namespace: str | None
    action: str


def call(
    api: ApiClient,
    fn: Callable[..., Any],
    target: Target,
    *args: Any,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    **kwargs: Any,
) -> dict[str, Any]:
    """Runs a generated client method and returns the decoded JSON body."""
    timeout = (min(CONNECT_TIMEOUT_S, timeout_s), timeout_s)
    try:
        response = fn(*args, _preload_content=False, _request_timeout=timeout, **kwargs)
        data = response.data
        return json.loads(data) if data else {}
    except ApiException as exc:
        raise from_api_exception(exc, target) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise from_transport_error(exc, api, target, timeout_s) from exc


def _status_body(exc: ApiException) -> dict[str, Any]:
    try:
        body = json.loads(exc.body) if exc.body else {}
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _where(target: Target) -> str:
    if target.namespace and target.name:
        return f"{target.namespace}/{target.name}"
    return target.name or target.namespace or "the cluster"


def from_api_exception(exc: ApiException, target: Target) -> KubeError:
    body = _status_body(exc)
    server_message = body.get("message") or exc.reason or "unknown error"
    status = exc.status
    if status == 403:
        m = _FORBIDDEN.search(server_message)
        if m:
            scope = f'in namespace "{m["namespace"]}"' if m["namespace"] else "at cluster scope"
            group = m["group"] or ""
            resource = f"{m['resource']}.{group}" if group else m["resource"]
            message = (
                f"Permission denied: {m['user']} may not {m['verb']} {resource} {scope}. "
                f'Grant "{m["verb"]}" on "{m["resource"]}" (API group "{group}") {scope} '
                f"to {target.action} {_where(target)}."
            )
            return PermissionDenied(
                message,
                user=m["user"],
                verb=m["verb"],
                resource=m["resource"],
                group=group,
                namespace=m["namespace"],
            )
        return PermissionDenied(
            f"Permission denied trying to {target.action} {_where(target)}: {server_message}"
        )
    if status == 401:
        return Unauthorized(
            f"The cluster rejected warroom's credentials while trying to {target.action} "
            f"{_where(target)}; the token may have expired."
        )
    if status == 404:
        details = body.get("details") or {}
        name = details.get("name") or target.name or ""
        if target.namespace:
            message = f'{target.kind} "{name}" was not found in namespace "{target.namespace}".'
        else:
            message = f'{target.kind} "{name}" was not found.'
        return ObjectNotFound(message, kind=target.kind, name=name, namespace=target.namespace)
    if status == 409:
        return Conflict(
            f"{target.kind} {_where(target)} was changed by someone else while warroom tried "
            f"to {target.action} it. Re-check its state and try again."
        )
    if status == 0:
        return Unreachable(f"Cannot reach the Kubernetes API: {exc.reason}")
    return ApiFailure(
        f"The Kubernetes API refused to {target.action} {_where(target)} "
        f"(HTTP {status}): {server_message}",
        status=status,
        reason=body.get("reason") or exc.reason,
    )


def from_transport_error(
    exc: urllib3.exceptions.HTTPError, api: ApiClient, target: Target, timeout_s: float
) -> KubeError:
    host = api.configuration.host
    cause: BaseException = exc
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        cause = exc.reason
    # NewConnectionError subclasses ConnectTimeoutError, so it must be tested first
    if isinstance(cause, urllib3.exceptions.NewConnectionError):
        detail = "connection refused" if "refused" in str(cause).lower() else str(cause)
        return Unreachable(f"Cannot reach the Kubernetes API at {host}: {detail}.")
    if isinstance(cause, urllib3.exceptions.TimeoutError):
        return RequestTimeout(
            f"The Kubernetes API at {host} did not answer within {timeout_s:g}s "
            f"while trying to {target.action} {_where(target)}."
        )
    return Unreachable(f"Lost the connection to the Kubernetes API at {host}: {cause}.")


def apps(api: ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


def core(api: ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)
