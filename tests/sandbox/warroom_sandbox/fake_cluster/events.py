"""core/v1 Events as kubelet and the controllers write them: one object per reason, counted."""

from __future__ import annotations

from typing import Any

from warroom_sandbox.fake_cluster.meta import ClockLike, new_uid, timestamp
from warroom_sandbox.fake_cluster.store import ObjectStore

NODE_NAME = "fake-node-1"


class EventRecorder:
    def __init__(self, store: ObjectStore, clock: ClockLike) -> None:
        self._store = store
        self._clock = clock
        self._names: dict[tuple[str, str, str], str] = {}
        self._serial = 0

    def record(
        self,
        involved: dict[str, Any],
        event_type: str,
        reason: str,
        message: str,
        *,
        component: str = "kubelet",
        field_path: str | None = None,
        count: int | None = None,
    ) -> None:
        """Repeats bump `count`; an explicit count only writes when it changed."""
        meta = involved["metadata"]
        key = (meta["uid"], reason, message)
        now = timestamp(self._clock.now())
        with self._store.lock:
            name = self._names.get(key)
            existing = self._store.get("events", meta["namespace"], name) if name else None
            if existing is not None:
                new_count = count if count is not None else existing.get("count", 1) + 1
                if new_count == existing.get("count"):
                    return
                existing["count"] = new_count
                existing["lastTimestamp"] = now
                self._store.put("events", existing)
                return
            self._serial += 1
            name = f"{meta['name']}.{self._serial:016x}"
            self._names[key] = name
            ref: dict[str, Any] = {
                "kind": involved["kind"],
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta["uid"],
                "apiVersion": involved["apiVersion"],
                "resourceVersion": meta.get("resourceVersion", ""),
            }
            if field_path:
                ref["fieldPath"] = field_path
            source: dict[str, str] = {"component": component}
            if component == "kubelet":
                source["host"] = NODE_NAME
            event = {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": name,
                    "namespace": meta["namespace"],
                    "uid": new_uid(),
                    "creationTimestamp": now,
                },
                "involvedObject": ref,
                "reason": reason,
                "message": message,
                "source": source,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": count if count is not None else 1,
                "type": event_type,
                "eventTime": None,
                "reportingComponent": component,
                "reportingInstance": NODE_NAME if component == "kubelet" else "",
            }
            self._store.put("events", event)
