"""The three PATCH flavours the API server accepts, applied to plain JSON objects.

Strategic merge needs each list's merge key; the real server reads them from Go struct tags,
here they are a table keyed by field name, which is unambiguous for the kinds served.
"""

from __future__ import annotations

import copy
from typing import Any

from warroom_sandbox.fake_cluster.errors import (
    ApiError,
    bad_request,
    unprocessable,
    unsupported_media_type,
)

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"

MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
}
# lists of scalars that merge as sets instead of being replaced
PRIMITIVE_MERGE_LISTS = {"finalizers"}

_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def apply_patch(original: dict[str, Any], content_type: str, patch: Any) -> dict[str, Any]:
    media = content_type.split(";")[0].strip().lower()
    if media == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        return json_patch(original, patch)
    if not isinstance(patch, dict):
        raise bad_request(
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
        )
    if media == MERGE_PATCH:
        return merge_patch(original, patch)
    if media == STRATEGIC_MERGE_PATCH:
        result = strategic_merge(original, patch)
        return result if isinstance(result, dict) else {}
    raise unsupported_media_type(content_type)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(original: Any, patch: Any) -> Any:
    """Returns None when the patch deletes the map itself (`$patch: delete`)."""
    if not isinstance(patch, dict):
        return _strip(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"})
    if directive not in (None, "merge"):
        raise bad_request(f"Unknown patch type: {directive}")

    result: dict[str, Any] = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith(_SET_ORDER):
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            field = key[len(_DELETE_PRIMITIVE) :]
            if isinstance(result.get(field), list):
                result[field] = [x for x in result[field] if x not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        else:
            result[key] = value

    for key, order in patch.items():
        if key.startswith(_SET_ORDER) and isinstance(order, list):
            field = key[len(_SET_ORDER) :]
            if isinstance(result.get(field), list):
                result[field] = _reorder(field, result[field], order)

    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(field: str, original: Any, patch: list[Any]) -> list[Any]:
    current = original if isinstance(original, list) else []
    if field in PRIMITIVE_MERGE_LISTS:
        merged = list(current)
        merged.extend(x for x in patch if x not in merged)
        return merged
    key = MERGE_KEYS.get(field)
    if key is None or not all(isinstance(x, dict) for x in patch):
        return _strip(patch)
    if any(x.get("$patch") == "replace" for x in patch):
        return [_strip(x) for x in patch if x.get("$patch") != "replace"]

    result = copy.deepcopy(current)
    for item in patch:
        index = next(
            (
                i
                for i, existing in enumerate(result)
                if isinstance(existing, dict) and key in item and existing.get(key) == item[key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
            continue
        if index is None:
            result.append(_strip(item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _reorder(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    """Items named in `$setElementOrder` come first in that order; server-only items follow."""
    key = MERGE_KEYS.get(field)

    def ident(x: Any) -> Any:
        return x.get(key) if key and isinstance(x, dict) else x

    wanted = [ident(x) for x in order]
    ranked = sorted(
        items,
        key=lambda x: wanted.index(ident(x)) if ident(x) in wanted else len(wanted),
    )
    return ranked


def _strip(value: Any) -> Any:
    """Drops directive keys from values copied verbatim out of a patch."""
    if isinstance(value, dict):
        return {
            k: _strip(v)
            for k, v in value.items()
            if not (k.startswith("$") and (k in ("$patch", "$retainKeys") or "/" in k))
        }
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def json_patch(document: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    """RFC 6902, all six operations; failures are 422 like the real server."""
    doc: Any = copy.deepcopy(document)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request("invalid JSON patch operation")
        try:
            doc = _apply_op(doc, op)
        except ApiError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise unprocessable(f"{op.get('op')} operation does not apply: {exc}") from exc
    if not isinstance(doc, dict):
        raise unprocessable("patched document is not an object")
    return doc


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"invalid JSON pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _resolve(doc: Any, tokens: list[str]) -> Any:
    for token in tokens:
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc


def _apply_op(doc: Any, op: dict[str, Any]) -> Any:
    kind = op["op"]
    tokens = _tokens(op["path"])
    if kind == "test":
        if _resolve(doc, tokens) != op.get("value"):
            raise unprocessable(f"testing value {op['path']} failed: test failed")
        return doc
    if kind in ("move", "copy"):
        value = copy.deepcopy(_resolve(doc, _tokens(op["from"])))
        if kind == "move":
            doc = _remove(doc, _tokens(op["from"]))
        return _add(doc, tokens, value)
    if kind == "remove":
        return _remove(doc, tokens)
    if kind == "add":
        return _add(doc, tokens, copy.deepcopy(op.get("value")))
    if kind == "replace":
        if not tokens:
            return copy.deepcopy(op.get("value"))
        _resolve(doc, tokens)  # must exist
        parent = _resolve(doc, tokens[:-1])
        last = tokens[-1]
        if isinstance(parent, list):
            parent[int(last)] = copy.deepcopy(op.get("value"))
        else:
            parent[last] = copy.deepcopy(op.get("value"))
        return doc
    raise bad_request(f"Unexpected kind: {kind}")


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            index = int(last)
            if index < 0 or index > len(parent):
                raise IndexError(f"index {index} out of bounds")
            parent.insert(index, value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise TypeError("parent is not a container")
    return doc


def _remove(doc: Any, tokens: list[str]) -> Any:
    parent = _resolve(doc, tokens[:-1])
    last = tokens[-1]
    if isinstance(parent, list):
        del parent[int(last)]
    else:
        del parent[last]
    return doc
