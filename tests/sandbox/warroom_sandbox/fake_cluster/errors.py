"""API errors carried as exceptions and rendered as real `Status` objects, so clients parse them."""

from __future__ import annotations

from typing import Any

from warroom_sandbox.fake_cluster.resources import ResourceType

OPTIMISTIC_LOCK_MSG = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class ApiError(Exception):
    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(rt: ResourceType, name: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.name
    return details


def _target(rt: ResourceType, name: str | None) -> str:
    return f'{rt.qualified} "{name}"' if name else rt.qualified


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f"{_target(rt, name)} not found", _details(rt, name))


def already_exists(rt: ResourceType, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f"{_target(rt, name)} already exists", _details(rt, name))


def conflict(rt: ResourceType, name: str, why: str = OPTIMISTIC_LOCK_MSG) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f"Operation cannot be fulfilled on {_target(rt, name)}: {why}",
        _details(rt, name),
    )


def forbidden(
    rt: ResourceType,
    name: str | None,
    verb: str,
    namespace: str | None,
    user: str,
    subresource: str | None = None,
) -> ApiError:
    resource = f"{rt.name}/{subresource}" if subresource else rt.name
    scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    message = (
        f'{_target(rt, name)} is forbidden: User "{user}" cannot {verb} resource '
        f'"{resource}" in API group "{rt.group}"{scope}'
    )
    return ApiError(403, "Forbidden", message, _details(rt, name))


def invalid(kind: str, rt: ResourceType, name: str, causes: list[tuple[str, str, str]]) -> ApiError:
    """causes are (reason, field, message) triples, as the real Status details list them."""
    group_kind = f"{kind}.{rt.group}" if rt.group else kind
    text = ", ".join(f"{field}: {message}" for _, field, message in causes)
    details = {
        "name": name,
        "group": rt.group,
        "kind": kind,
        "causes": [{"reason": r, "message": m, "field": f} for r, f, m in causes],
    }
    return ApiError(422, "Invalid", f'{group_kind} "{name}" is invalid: {text}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unprocessable(message: str) -> ApiError:
    return ApiError(
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
        {"causes": [{"reason": "UnexpectedServerResponse", "message": message}]},
    )


def internal(message: str) -> ApiError:
    return ApiError(
        500,
        "InternalError",
        f"Internal error occurred: {message}",
        {"causes": [{"message": message}]},
    )


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format: {content_type}",
    )


def method_not_allowed(method: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource: {method}",
    )


def path_not_found(path: str) -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})
