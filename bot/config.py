"""The one settings object: from the environment and `.env`, validated once at start-up.

Every problem is named in one line (exit code 2), because at 3 a.m. nobody reads a pydantic
traceback and nobody wants to fix the variables one restart at a time. Nothing reads
`os.environ` after this: the groups below (`ops`, `postmortem`, `shutdown`) are frozen views
handed to the code that needs them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from incident.severity import SEVERITIES


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "warroom"


@dataclass(frozen=True)
class OpsConfig:
    """What guards operations from Slack (the catalog's `operations:` narrows it further)."""

    kubeconfig: str | None = None
    allowed: frozenset[str] = frozenset()
    dry_run: bool = False
    max_replicas: int = 50
    # None: show the card's Rollback…/Scale… buttons when a cluster is configured.
    card_buttons: bool | None = None
    in_cluster: bool = False  # KUBERNETES_SERVICE_HOST was set at start-up


@dataclass(frozen=True)
class PostmortemConfig:
    """Post-mortem pages, API and S3 archive; every value optional."""

    s3_bucket: str | None = None
    s3_prefix: str = "postmortems"
    s3_endpoint_url: str | None = None
    api_token: SecretStr | None = None
    web_secret: SecretStr | None = None
    link_ttl_hours: int = 168

    def key_for(self, number: int, name: str) -> str:
        prefix = self.s3_prefix.strip("/")
        return f"{prefix}/incident-{number}/{name}" if prefix else f"incident-{number}/{name}"


@dataclass(frozen=True)
class ShutdownConfig:
    grace_s: float = 20.0
    delay_s: float = 0.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, populate_by_name=True
    )

    # -- Slack ---------------------------------------------------------------------------
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    # Seconds before a Slack Web API call is given up (and retried only where that is safe).
    slack_timeout_s: int = Field(default=10, ge=1, le=60)
    incidents_channel: str = "incidents"
    # Slack user group handles; these override the policy file's.
    oncall_group: str | None = None
    responders_group: str | None = None

    # -- stores --------------------------------------------------------------------------
    database_url: str | None = None
    redis_url: str | None = None
    warroom_data_dir: Path = Field(default_factory=default_data_dir)

    # -- serving -------------------------------------------------------------------------
    host: str = "0.0.0.0"  # noqa: S104 - a server in a container listens on all interfaces
    port: int = Field(default=3000, ge=0, le=65535)
    # Slack delivers to one URL; the public base is used for links to our own pages.
    public_url: str = "http://localhost:3000"
    sentry_dsn: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    warroom_shutdown_grace_s: float = Field(default=20.0, ge=0, allow_inf_nan=False)
    warroom_shutdown_delay_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)

    # -- incidents -----------------------------------------------------------------------
    default_severity: str = "SEV3"
    policy_file: Path | None = None
    catalog_file: Path | None = None
    # How often the reminder scheduler looks for lapsed deadlines.
    reminder_interval_s: float = Field(default=15, gt=0)
    # After resolution: run the service's checks every interval for the window (0: no watch).
    warroom_watch_window_min: float = Field(default=30, ge=0, allow_inf_nan=False)
    warroom_watch_interval_min: float = Field(default=5, gt=0, allow_inf_nan=False)
    # A rollout this long before the incident started is its suspect (card, /incident changes).
    warroom_suspect_window_min: float = Field(default=120, gt=0, allow_inf_nan=False)

    # -- operations ----------------------------------------------------------------------
    kubeconfig: str | None = None
    kubernetes_service_host: str | None = None
    warroom_ops_allowed_users: str = ""
    warroom_ops_dry_run: bool = False
    warroom_max_replicas: int = Field(default=50, ge=0)
    warroom_ops_card_buttons: bool | None = None

    # -- post-mortems --------------------------------------------------------------------
    postmortem_s3_bucket: str | None = None
    postmortem_s3_prefix: str = "postmortems"
    # MinIO, LocalStack or moto; unset: AWS itself.
    s3_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_S3", "S3_ENDPOINT_URL")
    )
    # `Authorization: Bearer <token>` for /api/...; unset: only signed links work.
    warroom_api_token: SecretStr | None = None
    # Signs page links; unset: derived from the Slack signing secret.
    warroom_web_secret: SecretStr | None = None
    postmortem_link_ttl_hours: int = Field(default=168, ge=1, le=24 * 366)

    # -- alerts --------------------------------------------------------------------------
    # `Authorization: Bearer <token>` of POST /alerts/alertmanager; unset: that intake is off.
    warroom_alerts_token: SecretStr | None = None
    # Sentry's integration Client Secret (Sentry-Hook-Signature); unset: /alerts/sentry is off.
    sentry_webhook_secret: SecretStr | None = None

    @field_validator("warroom_ops_card_buttons", mode="before")
    @classmethod
    def _blank_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

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

    # -- views ---------------------------------------------------------------------------
    @property
    def ops(self) -> OpsConfig:
        return OpsConfig(
            kubeconfig=self.kubeconfig,
            allowed=frozenset(
                u.strip() for u in self.warroom_ops_allowed_users.split(",") if u.strip()
            ),
            dry_run=self.warroom_ops_dry_run,
            max_replicas=self.warroom_max_replicas,
            card_buttons=self.warroom_ops_card_buttons,
            in_cluster=bool(self.kubernetes_service_host),
        )

    @property
    def postmortem(self) -> PostmortemConfig:
        return PostmortemConfig(
            s3_bucket=self.postmortem_s3_bucket,
            s3_prefix=self.postmortem_s3_prefix,
            s3_endpoint_url=self.s3_endpoint_url,
            api_token=self.warroom_api_token,
            web_secret=self.warroom_web_secret,
            link_ttl_hours=self.postmortem_link_ttl_hours,
        )

    @property
    def shutdown(self) -> ShutdownConfig:
        return ShutdownConfig(self.warroom_shutdown_grace_s, self.warroom_shutdown_delay_s)

    @property
    def has_slack_credentials(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    def slack_problems(self) -> list[str]:
        return _slack_problems(self)


class SettingsError(Exception):
    """One line for the operator, naming every variable that is wrong."""


SECRET_WORDS = ("token", "secret", "url", "dsn")


def _variable(loc: tuple[object, ...]) -> str:
    field = str(loc[0]) if loc else "settings"
    info = Settings.model_fields.get(field)
    alias = getattr(info, "validation_alias", None) if info else None
    if isinstance(alias, AliasChoices):
        field = str(alias.choices[0])
    return field.upper()


def describe(exc: ValidationError) -> list[str]:
    """One `VARIABLE: reason (got value)` per problem; secrets and URLs are never echoed."""
    problems = []
    for err in exc.errors():
        name = _variable(err["loc"])
        hidden = any(word in name.lower() for word in SECRET_WORDS)
        shown = "" if hidden or "input" not in err else f" (got {err['input']!r})"
        problems.append(f"{name}: {err['msg']}{shown}")
    return problems


class _Plain(BaseSettings):
    """The settings that cannot be invalid themselves (plain strings and paths), read on
    their own when the rest is: the one line then still names a missing Slack credential and
    a bad catalog or policy file."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    policy_file: Path | None = None
    catalog_file: Path | None = None


def _slack_problems(given: Settings | _Plain) -> list[str]:
    """`serve` talks to a real workspace, so both credentials must be there."""
    problems = []
    if not given.slack_bot_token:
        problems.append("SLACK_BOT_TOKEN: missing (needed by `warroom serve`)")
    if not given.slack_signing_secret and not given.slack_app_token:
        problems.append("SLACK_SIGNING_SECRET: missing (or set SLACK_APP_TOKEN for Socket Mode)")
    return problems


def _plain(**overrides: object) -> _Plain | None:
    try:
        return _Plain(**overrides)  # type: ignore[arg-type]
    except ValidationError:
        return None


def file_paths(**overrides: object) -> tuple[Path | None, Path | None]:
    """(POLICY_FILE, CATALOG_FILE) as configured, even when the rest of the settings is not
    valid; (None, None) when they cannot be read either."""
    plain = _plain(**overrides)
    return (plain.policy_file, plain.catalog_file) if plain else (None, None)


def load_settings(*, require_slack: bool = False, **overrides: object) -> Settings:
    """The validated settings, or SettingsError naming every bad variable at once."""
    problems: list[str] = []
    settings: Settings | None = None
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems.extend(describe(exc))
    if require_slack:
        given = settings if settings is not None else _plain(**overrides)
        if given is not None:
            problems.extend(_slack_problems(given))
    if problems or settings is None:
        raise SettingsError("; ".join(problems))
    return settings
