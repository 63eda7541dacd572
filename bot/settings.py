"""Settings from the environment and `.env`.

A missing or invalid value must stop start-up with one line naming the variable, because at
3 a.m. nobody reads a pydantic traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from incident.severity import SEVERITIES


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "warroom"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Seconds before a Slack Web API call is given up (and retried only where that is safe).
    slack_timeout_s: int = Field(default=10, ge=1, le=60)
    database_url: str | None = None
    redis_url: str | None = None
    warroom_data_dir: Path = Field(default_factory=default_data_dir)
    incidents_channel: str = "incidents"
    host: str = "0.0.0.0"  # noqa: S104 - a server in a container listens on all interfaces
    port: int = Field(default=3000, ge=0, le=65535)
    sentry_dsn: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    default_severity: str = "SEV3"
    # Slack delivers to one URL; the public base is used for links to our own pages.
    public_url: str = "http://localhost:3000"
    policy_file: Path | None = None
    catalog_file: Path | None = None
    # How often the reminder scheduler looks for lapsed deadlines.
    reminder_interval_s: float = Field(default=15, gt=0)
    # Slack user group handles; these override the policy file's.
    oncall_group: str | None = None
    responders_group: str | None = None

    @field_validator("catalog_file")
    @classmethod
    def _catalog_is_usable(cls, v: Path | None) -> Path | None:
        # A bad catalog stops start-up (file:line: reason), not the first rollback at 3 a.m.
        if v is not None:
            from bot.catalog import CatalogError, load_catalog

            try:
                load_catalog(v)
            except CatalogError as exc:
                raise ValueError(str(exc)) from None
        return v

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("default_severity")
    @classmethod
    def _known_severity(cls, v: str) -> str:
        v = v.upper()
        if v not in SEVERITIES:
            raise ValueError(f"must be one of {', '.join(SEVERITIES)}")
        return v

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.upper() if isinstance(v, str) else v

    @property
    def has_slack_credentials(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    def require_slack(self) -> None:
        """`serve` talks to a real workspace, so both credentials must be there."""
        if not self.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN: missing (needed by `warroom serve`)")
        if not self.slack_signing_secret and not self.slack_app_token:
            raise SettingsError(
                "SLACK_SIGNING_SECRET: missing (or set SLACK_APP_TOKEN for Socket Mode)"
            )


class SettingsError(Exception):
    """One line for the operator, naming the variable."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "settings"
        value = err.get("input")
        shown = (
            "" if "token" in field or "secret" in field or "url" in field else f" (got {value!r})"
        )
        raise SettingsError(f"{field.upper()}: {err['msg']}{shown}") from None
