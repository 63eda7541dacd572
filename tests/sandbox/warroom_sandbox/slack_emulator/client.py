"""Drive an emulator running in another process through its `/_emulator/*` routes.

Mirrors the seeding/fault/response_url part of `SlackEmulator`, so
`SlackDriver(emulator=EmulatorClient(url))` works the same as with an
in-process emulator. State comes back as the plain JSON snapshot.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx


class EmulatorClient:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    @property
    def config(self) -> SimpleNamespace:
        """The remote workspace's identity (team_id, bot_user_id, app_id, ...)."""
        return SimpleNamespace(**self.state(include_calls=False)["team"])

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self._http.post(f"/_emulator/{path}", json=payload or {})
        resp.raise_for_status()
        return dict(resp.json())

    # -- seeding -------------------------------------------------------------

    def add_user(
        self,
        name: str,
        real_name: str | None = None,
        is_admin: bool = False,
        tz: str = "Europe/Paris",
        **extra: Any,
    ) -> str:
        payload = {"name": name, "real_name": real_name, "is_admin": is_admin, "tz": tz, **extra}
        return str(self._post("users", payload)["id"])

    def add_channel(
        self, name: str, members: tuple[str, ...] | list[str] = (), is_private: bool = False
    ) -> str:
        payload = {"name": name, "members": list(members), "is_private": is_private}
        return str(self._post("channels", payload)["id"])

    def add_usergroup(
        self, handle: str, members: tuple[str, ...] | list[str], name: str = ""
    ) -> str:
        return str(
            self._post("usergroups", {"handle": handle, "members": list(members), "name": name})[
                "id"
            ]
        )

    def add_message(
        self, channel_id: str, user_id: str, text: str, thread_ts: str | None = None
    ) -> str:
        payload = {"channel": channel_id, "user": user_id, "text": text, "thread_ts": thread_ts}
        return str(self._post("messages", payload)["ts"])

    def add_member(self, channel_id: str, user_id: str) -> None:
        self._post("members", {"channel": channel_id, "user": user_id})

    def reset(self) -> None:
        self._post("reset")

    # -- faults --------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: str | None = None,
        retry_after: int = 1,
        times: int | None = 1,
        status: int | None = None,
        delay: float | None = None,
        apply: bool = False,
    ) -> dict[str, Any]:
        payload = {
            "method": method,
            "error": error,
            "retry_after": retry_after,
            "times": times,
            "status": status,
            "delay": delay,
            "apply": apply,
        }
        return dict(self._post("faults", payload)["fault"])

    def clear_faults(self) -> None:
        self._http.delete("/_emulator/faults").raise_for_status()

    # -- Slack-issued artefacts ----------------------------------------------

    def new_response_url(
        self,
        channel_id: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        payload = {"channel_id": channel_id, "user_id": user_id, "message_ts": message_ts}
        return str(self._post("response_urls", payload)["url"])

    def issue_trigger_id(self, user_id: str | None = None) -> str:
        return str(self._post("triggers", {"user_id": user_id})["trigger_id"])

    # -- inspection ----------------------------------------------------------

    def state(self, include_calls: bool = True) -> dict[str, Any]:
        resp = self._http.get("/_emulator/state", params={"calls": "1" if include_calls else "0"})
        resp.raise_for_status()
        return dict(resp.json())

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        params = {"method": method} if method else {}
        resp = self._http.get("/_emulator/calls", params=params)
        resp.raise_for_status()
        return list(resp.json()["calls"])

    def channel_by_name(self, name: str) -> dict[str, Any] | None:
        name = name.lstrip("#")
        for ch in self.state(include_calls=False)["channels"]:
            if ch["name"] == name and not ch["is_im"]:
                return dict(ch)
        return None

    def user(self, user_id: str) -> dict[str, Any] | None:
        for user in self.state(include_calls=False)["users"]:
            if user["id"] == user_id:
                return dict(user)
        return None

    def user_name(self, user_id: str) -> str | None:
        user = self.user(user_id)
        return str(user["name"]) if user else None

    def channel_name(self, channel_id: str) -> str | None:
        for ch in self.state(include_calls=False)["channels"]:
            if ch["id"] == channel_id:
                return "directmessage" if ch["is_im"] else str(ch["name"])
        return None

    def message_json(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        resp = self._http.get("/_emulator/message", params={"channel": channel_id, "ts": ts})
        resp.raise_for_status()
        found = resp.json()["message"]
        return dict(found) if found else None

    def view_json(self, view_id: str) -> dict[str, Any] | None:
        resp = self._http.get("/_emulator/view", params={"id": view_id})
        resp.raise_for_status()
        found = resp.json()["view"]
        return dict(found) if found else None

    def __enter__(self) -> EmulatorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
