"""Settings of the post-mortem web pages, API and archive. Kept apart from the main Settings
so this feature can be configured (and tested) on its own; every value is optional."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.services import Services

EXTRAS_KEY = "postmortem_settings"


class PostmortemSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, populate_by_name=True
    )

    # Unset: nothing is archived.
    s3_bucket: str | None = Field(default=None, validation_alias="POSTMORTEM_S3_BUCKET")
    s3_prefix: str = Field(default="postmortems", validation_alias="POSTMORTEM_S3_PREFIX")
    # MinIO, LocalStack or moto; unset: AWS itself.
    s3_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("AWS_ENDPOINT_URL_S3", "S3_ENDPOINT_URL")
    )
    # `Authorization: Bearer <token>` for /api/...; unset: only signed links work.
    api_token: SecretStr | None = Field(default=None, validation_alias="WARROOM_API_TOKEN")
    # Signs page links; unset: derived from the Slack signing secret.
    web_secret: SecretStr | None = Field(default=None, validation_alias="WARROOM_WEB_SECRET")
    link_ttl_hours: int = Field(
        default=168, ge=1, le=24 * 366, validation_alias="POSTMORTEM_LINK_TTL_HOURS"
    )

    def key_for(self, number: int, name: str) -> str:
        prefix = self.s3_prefix.strip("/")
        return f"{prefix}/incident-{number}/{name}" if prefix else f"incident-{number}/{name}"


def postmortem_settings(services: Services) -> PostmortemSettings:
    """Read once per process; tests put their own in `services.extras`."""
    if EXTRAS_KEY not in services.extras:
        services.extras[EXTRAS_KEY] = PostmortemSettings()
    return services.extras[EXTRAS_KEY]
