"""The catalog's ``status_pages:``: external providers (Stripe, GitHub, ...) that publish the
common Atlassian Statuspage JSON (``GET <url>/api/v2/summary.json``). A service names the
providers it relies on with ``depends_on: [stripe]``; the status checks then read them."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DEFAULT_TIMEOUT_S = 5.0


class StatusPage(BaseModel):
    """``name`` is what ``depends_on`` says; ``label`` is what people read ("Stripe");
    ``components`` (optional) keeps only the named components in the verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str | None = None
    url: str
    components: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, le=9)  # under the run's 10 s

    @field_validator("name")
    @classmethod
    def _name_is_a_word(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-', starting with a letter/digit")
        return value

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"}:
            raise ValueError("URL scheme must be one of http, https")
        if not parts.hostname:
            raise ValueError("URL has no host")
        return value.rstrip("/")

    @property
    def shown_name(self) -> str:
        return self.label or self.name

    @property
    def summary_url(self) -> str:
        return f"{self.url}/api/v2/summary.json"
