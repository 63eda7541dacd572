"""Reading Web API arguments the way Slack does, whatever encoding the client chose.

slack_sdk sends some methods as JSON and others as form bodies (and a few as
GET query strings); in form bodies, `blocks`/`view`/... arrive as JSON strings
and booleans as "1"/"true". Everything is normalised into one dict here.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from warroom_sandbox.slack_emulator.errors import SlackError, invalid_arguments

# arguments Slack documents as "a JSON-based array/object ... as a URL-encoded string"
JSON_ARGS = ("blocks", "attachments", "view", "metadata", "user_auth_blocks")


def parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    ctype = content_type.split(";")[0].strip().lower()
    if not body:
        return {}
    if ctype == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(data, dict):
            raise SlackError("invalid_json")
        return data
    if ctype in ("application/x-www-form-urlencoded", "text/plain", ""):
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise SlackError("invalid_form_data") from None
    raise SlackError("invalid_post_type")


def decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    """Turn JSON-string arguments into real lists/dicts (bad JSON -> Slack's error)."""
    out = dict(args)
    for key in JSON_ARGS:
        value = out.get(key)
        if isinstance(value, str) and value.strip():
            try:
                out[key] = json.loads(value)
            except ValueError:
                if key == "blocks":
                    raise SlackError("invalid_blocks_format") from None
                raise invalid_arguments(f"invalid JSON in `{key}`") from None
    return out


class Args:
    """Typed accessors over the normalised argument dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __contains__(self, key: str) -> bool:
        return self.data.get(key) not in (None, "")

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        return value if isinstance(value, str) else str(value)

    def required(self, key: str, error: str | None = None) -> str:
        value = self.string(key)
        if value is None:
            if error:
                raise SlackError(error)
            raise invalid_arguments(f"missing required field: {key}")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes")

    def number(self, key: str, default: int) -> int:
        value = self.data.get(key)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise invalid_arguments(f"{key} must be an integer") from None

    def id_list(self, key: str) -> list[str]:
        """Comma-separated ids (or a JSON list, which some clients send)."""
        value = self.data.get(key)
        if value is None or value == "":
            return []
        if isinstance(value, list | tuple):
            return [str(v).strip() for v in value if str(v).strip()]
        return [v.strip() for v in str(value).split(",") if v.strip()]
