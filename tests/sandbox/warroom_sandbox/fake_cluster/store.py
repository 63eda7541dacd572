"""The fake etcd: versioned objects plus a short event history so watches can resume."""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED
    resource: str
    object: dict[str, Any]
    resource_version: int


WatchCallback = Callable[[WatchEvent], None]


class ObjectStore:
    def __init__(self, history: int = 5000) -> None:
        # re-entrant: the controller writes while API handlers hold the lock
        self.lock = threading.RLock()
        self._objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self._rv = 1000
        self._history: deque[WatchEvent] = deque(maxlen=history)
        self._subscribers: list[WatchCallback] = []

    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self._objects.get(resource, {}).get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            items = [
                copy.deepcopy(obj)
                for (ns, _), obj in self._objects.get(resource, {}).items()
                if namespace is None or ns == namespace
            ]
        return sorted(
            items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
        )

    def put(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Stores a new version; resourceVersion is always assigned here, never by callers."""
        with self.lock:
            meta = obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            bucket = self._objects.setdefault(resource, {})
            event_type = "MODIFIED" if key in bucket else "ADDED"
            self._rv += 1
            stored = copy.deepcopy(obj)
            stored["metadata"]["resourceVersion"] = str(self._rv)
            bucket[key] = stored
            self._emit(WatchEvent(event_type, resource, copy.deepcopy(stored), self._rv))
            return copy.deepcopy(stored)

    def delete(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self._objects.get(resource, {}).pop((namespace, name), None)
            if obj is None:
                return None
            self._rv += 1
            obj["metadata"]["resourceVersion"] = str(self._rv)
            self._emit(WatchEvent("DELETED", resource, copy.deepcopy(obj), self._rv))
            return obj

    def events_since(self, resource: str, resource_version: int) -> list[WatchEvent] | None:
        """None means the version is older than the kept history (the real server says 410)."""
        with self.lock:
            if self._history and resource_version < self._history[0].resource_version - 1:
                if len(self._history) == self._history.maxlen:
                    return None
            return [
                e
                for e in self._history
                if e.resource == resource and e.resource_version > resource_version
            ]

    def subscribe(self, callback: WatchCallback) -> Callable[[], None]:
        with self.lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self.lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: WatchEvent) -> None:
        self._history.append(event)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a dead watcher must not break writes
                self._subscribers.remove(callback)
