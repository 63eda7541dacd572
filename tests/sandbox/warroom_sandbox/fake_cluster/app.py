"""The Starlette app: Kubernetes REST paths, discovery, watches, and /_fake control endpoints."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from warroom_sandbox.fake_cluster import discovery, errors, routing
from warroom_sandbox.fake_cluster.cluster import FakeCluster, RequestRecord
from warroom_sandbox.fake_cluster.errors import ApiError
from warroom_sandbox.fake_cluster.faults import Fault
from warroom_sandbox.fake_cluster.openapi import openapi_v3_document, openapi_v3_root
from warroom_sandbox.fake_cluster.routing import RequestInfo
from warroom_sandbox.fake_cluster.tables import TABLE_MEDIA, as_table
from warroom_sandbox.fake_cluster.watch import open_watch

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def _error(err: ApiError) -> Response:
    return _json(err.status(), err.code)


async def _sleep_unless(shutdown: threading.Event, seconds: float) -> None:
    end = asyncio.get_running_loop().time() + seconds
    while not shutdown.is_set():
        left = end - asyncio.get_running_loop().time()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.05))


class KubeApi:
    def __init__(self, cluster: FakeCluster, shutdown: threading.Event) -> None:
        self.cluster = cluster
        self.shutdown = shutdown

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        params = dict(request.query_params)
        method = request.method.upper()
        body_bytes = await request.body()
        content_type = request.headers.get("content-type")
        self.cluster.record_request(
            RequestRecord(
                method, path, request.url.query, content_type, _decode_quietly(body_bytes)
            )
        )
        if self.cluster.token is not None:
            if request.headers.get("authorization") != f"Bearer {self.cluster.token}":
                return _error(errors.unauthorized())
        info = routing.parse(method, path, params.get("watch") in ("true", "1"))

        fault = self.cluster.faults.take(method, path)
        if fault is not None:
            if fault.hang_seconds:
                await _sleep_unless(self.shutdown, fault.hang_seconds)
            if fault.status is not None:
                return _error(self._fault_error(fault, info))

        try:
            return await self._dispatch(request, method, path, params, info, body_bytes)
        except ApiError as err:
            return _error(err)

    def _fault_error(self, fault: Fault, info: RequestInfo | None) -> ApiError:
        rt = info.resource if info else None
        name = info.name if info else None
        if fault.status == 403 and rt is not None and info is not None:
            err = errors.forbidden(
                rt, name, info.verb, info.namespace, self.cluster.user, info.subresource
            )
        elif fault.status == 404 and rt is not None and name:
            err = errors.not_found(rt, name)
        elif fault.status == 409 and rt is not None and name:
            err = errors.conflict(rt, name)
        elif fault.status == 401:
            err = errors.unauthorized()
        elif fault.status == 429:
            err = ApiError(429, "TooManyRequests", "Too many requests, please try again later.")
        elif fault.status == 503:
            err = ApiError(
                503, "ServiceUnavailable", "the server is currently unable to handle the request"
            )
        elif fault.status == 404:
            err = errors.path_not_found("")
        else:
            err = errors.internal(fault.message or "injected fault")
            err.code = int(fault.status or 500)
        if fault.message:
            err.message = fault.message
        return err

    async def _dispatch(
        self,
        request: Request,
        method: str,
        path: str,
        params: dict[str, str],
        info: RequestInfo | None,
        body_bytes: bytes,
    ) -> Response:
        stripped = path.rstrip("/") or "/"
        if method == "GET":
            doc = self._static_document(request, stripped)
            if doc is not None:
                return _json(doc)
        if info is None or info.resource is None:
            root = f"/apis/{info.group}/{info.version}" if info and info.group else None
            if info is not None and method == "GET" and stripped in (root, f"/api/{info.version}"):
                doc = discovery.resource_list(
                    f"{info.group}/{info.version}" if info.group else info.version
                )
                if doc is not None:
                    return _json(doc)
            raise errors.path_not_found(path)
        return await self._resource(request, method, params, info, body_bytes)

    def _static_document(self, request: Request, path: str) -> dict[str, Any] | None:
        host = request.headers.get("host", "")
        if path == "/version":
            return discovery.SERVER_VERSION
        if path == "/api":
            return discovery.api_versions(host)
        if path == "/apis":
            return discovery.api_group_list()
        if path.startswith("/apis/") and path.count("/") == 2:
            return discovery.api_group(path.split("/")[2])
        if path == "/openapi/v3":
            return openapi_v3_root()
        if path.startswith("/openapi/v3/"):
            return openapi_v3_document(path[len("/openapi/v3/") :])
        return None

    async def _resource(
        self,
        request: Request,
        method: str,
        params: dict[str, str],
        info: RequestInfo,
        body_bytes: bytes,
    ) -> Response:
        rt = info.resource
        assert rt is not None
        api = self.cluster.api
        ns = info.namespace or ""
        dry_run = params.get("dryRun") == "All"
        if rt.namespaced and info.name and not info.namespace:
            raise errors.path_not_found(request.url.path)
        if info.subresource and info.subresource not in rt.subresources:
            raise errors.path_not_found(request.url.path)

        if method == "GET" and info.name is None:
            if info.verb == "watch":
                stream = open_watch(self.cluster.store, rt, info.namespace, params, self.shutdown)
                return StreamingResponse(stream, media_type="application/json")
            listing = api.list(
                rt, info.namespace, params.get("labelSelector"), params.get("fieldSelector")
            )
            return self._maybe_table(request, rt, listing)
        if info.name is None:
            if method == "POST":
                return _json(api.create(rt, ns, _decode(body_bytes), dry_run), 201)
            raise errors.method_not_allowed(method)

        name, sub = info.name, info.subresource
        if method == "GET":
            if sub == "scale":
                return _json(api.get_scale(rt, ns, name))
            return self._maybe_table(request, rt, api.get(rt, ns, name))
        if method == "PUT":
            body = _decode(body_bytes)
            if sub == "scale":
                return _json(api.replace_scale(rt, ns, name, body, dry_run))
            if sub == "status":
                return _json(api.replace_status(rt, ns, name, body, dry_run))
            return _json(api.replace(rt, ns, name, body, dry_run))
        if method == "PATCH":
            body = _decode(body_bytes)
            content_type = request.headers.get("content-type", "")
            if sub == "scale":
                return _json(api.patch_scale(rt, ns, name, content_type, body, dry_run))
            if sub == "status":
                return _json(api.patch_status(rt, ns, name, content_type, body, dry_run))
            return _json(api.patch(rt, ns, name, content_type, body, dry_run))
        if method == "DELETE" and sub is None:
            return _json(api.delete(rt, ns, name, dry_run))
        raise errors.method_not_allowed(method)

    @staticmethod
    def _maybe_table(request: Request, rt: Any, obj: dict[str, Any]) -> Response:
        if TABLE_MEDIA in request.headers.get("accept", ""):
            return _json(as_table(rt, obj, request.query_params.get("includeObject")))
        return _json(obj)


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise errors.bad_request(f"error decoding request body: {exc}") from exc


def _decode_quietly(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode(errors="replace")


def _control_routes(cluster: FakeCluster) -> list[Route]:
    async def state(_: Request) -> Response:
        return JSONResponse(cluster.snapshot())

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            cluster.faults.clear()
        elif request.method == "POST":
            spec = await request.json()
            fault = cluster.inject_fault(
                spec.get("method", "*"),
                spec.get("path", "*"),
                spec.get("status", 500),
                count=spec.get("count", 1),
                hang_seconds=float(spec.get("hang_seconds", 0.0)),
                message=spec.get("message"),
            )
            return JSONResponse(fault.to_dict(), status_code=201)
        return JSONResponse([f.to_dict() for f in cluster.faults.active()])

    async def clock(request: Request) -> Response:
        spec = await request.json()
        cluster.advance(float(spec.get("seconds", 0)))
        return JSONResponse({"now": cluster.clock.now().isoformat()})

    async def behaviour(request: Request) -> Response:
        spec = await request.json()
        if "rollout_delay" in spec:
            cluster.rollout_delay = float(spec["rollout_delay"])
        for pattern, kind in (spec.get("images") or {}).items():
            cluster.image_behaviour[pattern] = kind
        cluster.reconcile()
        return JSONResponse(
            {"images": cluster.image_behaviour, "rollout_delay": cluster.rollout_delay}
        )

    return [
        Route("/_fake/state", state, methods=["GET"]),
        Route("/_fake/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_fake/clock", clock, methods=["POST"]),
        Route("/_fake/behaviour", behaviour, methods=["POST"]),
    ]


def create_app(cluster: FakeCluster, shutdown: threading.Event | None = None) -> Starlette:
    api = KubeApi(cluster, shutdown or threading.Event())
    return Starlette(
        routes=[*_control_routes(cluster), Route("/{path:path}", api.handle, methods=METHODS)]
    )
