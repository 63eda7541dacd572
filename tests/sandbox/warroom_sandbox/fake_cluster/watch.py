"""Watch streams: newline-delimited JSON events, resumable from a resourceVersion."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from warroom_sandbox.fake_cluster.errors import gone
from warroom_sandbox.fake_cluster.resources import ResourceType
from warroom_sandbox.fake_cluster.selectors import parse_field_selector, parse_label_selector
from warroom_sandbox.fake_cluster.store import ObjectStore, WatchEvent

POLL_SECONDS = 0.1


def _line(event_type: str, obj: dict[str, Any]) -> bytes:
    return (json.dumps({"type": event_type, "object": obj}) + "\n").encode()


def open_watch(
    store: ObjectStore,
    rt: ResourceType,
    namespace: str | None,
    params: dict[str, str],
    shutdown: threading.Event,
) -> AsyncIterator[bytes]:
    """Subscribes before reading the snapshot, so no change can fall between the two."""
    match_labels = parse_label_selector(params.get("labelSelector"))
    match_fields = parse_field_selector(params.get("fieldSelector"))
    timeout = float(params.get("timeoutSeconds") or 1800)
    send_initial = params.get("sendInitialEvents") == "true"
    since = params.get("resourceVersion") or ""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[WatchEvent] = asyncio.Queue()

    def on_event(event: WatchEvent) -> None:
        if event.resource == rt.name:
            loop.call_soon_threadsafe(queue.put_nowait, event)

    def wanted(obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        if namespace and meta.get("namespace") != namespace:
            return False
        return match_labels(meta.get("labels") or {}) and match_fields(obj)

    with store.lock:
        unsubscribe: Callable[[], None] = store.subscribe(on_event)
        start_rv = store.resource_version
        backlog: list[tuple[str, dict[str, Any]]] | None
        if send_initial or since in ("", "0"):
            backlog = [("ADDED", o) for o in store.list(rt.name, namespace)]
        else:
            history = store.events_since(rt.name, int(since))
            backlog = None if history is None else [(e.type, e.object) for e in history]

    async def stream() -> AsyncIterator[bytes]:
        try:
            if backlog is None:
                yield _line(
                    "ERROR", gone(f"too old resource version: {since} ({start_rv})").status()
                )
                return
            for event_type, obj in backlog:
                if wanted(obj):
                    yield _line(event_type, obj)
            if send_initial:
                bookmark = {
                    "kind": rt.kind,
                    "apiVersion": rt.api_version,
                    "metadata": {
                        "resourceVersion": str(start_rv),
                        "annotations": {"k8s.io/initial-events-end": "true"},
                    },
                }
                yield _line("BOOKMARK", bookmark)
            deadline = loop.time() + timeout
            while not shutdown.is_set() and loop.time() < deadline:
                try:
                    event = await asyncio.wait_for(queue.get(), POLL_SECONDS)
                except TimeoutError:
                    continue
                if event.resource_version > start_rv and wanted(event.object):
                    yield _line(event.type, event.object)
        finally:
            unsubscribe()

    return stream()
