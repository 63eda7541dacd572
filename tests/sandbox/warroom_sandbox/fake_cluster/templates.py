"""Pod-template identity: how the deployment controller decides which ReplicaSet is "the same"."""

from __future__ import annotations

import copy
import json
from typing import Any

POD_TEMPLATE_HASH = "pod-template-hash"
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def prune_empty(value: Any) -> Any:
    """Nulls, empty maps and empty lists mean "unset" to the Go types, so they never differ."""
    if isinstance(value, dict):
        pruned = {k: prune_empty(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [prune_empty(v) for v in value]
    return value


def without_hash(template: dict[str, Any]) -> dict[str, Any]:
    clone = copy.deepcopy(template)
    labels = (clone.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return clone


def normalized(template: dict[str, Any]) -> dict[str, Any]:
    return prune_empty(without_hash(template)) or {}


def templates_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Mirrors deploymentutil.EqualIgnoreHash, which kubectl also uses for rollout undo."""
    return normalized(a) == normalized(b)


def safe_encode(text: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def template_hash(template: dict[str, Any], collision_count: int = 0) -> str:
    """Same shape as the real hash (fnv32a, safe-encoded digits); same template -> same name."""
    canonical = json.dumps(normalized(template), sort_keys=True, separators=(",", ":"))
    if collision_count:
        canonical += str(collision_count)
    return safe_encode(str(fnv32a(canonical.encode())))
