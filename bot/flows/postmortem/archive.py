"""Archiving post-mortems to S3 (`<prefix>/incident-<n>/postmortem.md` and `.json`), on
resolve and after every edit, so the record outlives the bot's database and can be read by
tools that never talk to warroom.

boto3 is blocking, so uploads run in a worker thread; a failed upload is logged and never
breaks the resolve or the edit that triggered it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from typing import Any

import boto3

from bot.config import PostmortemConfig
from bot.flows.postmortem.docs import load_postmortem, names_for
from bot.logging_setup import get_logger
from bot.services import Services
from incident.postmortem import PostMortem
from incident.postmortem_render import to_dict, to_markdown

log = get_logger(__name__)
_clients: dict[str | None, Any] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class Archived:
    bucket: str
    keys: list[str]


def _client(endpoint_url: str | None) -> Any:
    # Creating a boto3 client is slow and not thread-safe; using one is both fine.
    with _clients_lock:
        if endpoint_url not in _clients:
            _clients[endpoint_url] = boto3.session.Session().client("s3", endpoint_url=endpoint_url)
        return _clients[endpoint_url]


def _upload(settings: PostmortemConfig, number: int, markdown: str, document: str) -> list[str]:
    assert settings.s3_bucket
    client = _client(settings.s3_endpoint_url)
    keys = []
    for name, body, ctype in (
        ("postmortem.md", markdown, "text/markdown; charset=utf-8"),
        ("postmortem.json", document, "application/json"),
    ):
        key = settings.key_for(number, name)
        client.put_object(Bucket=settings.s3_bucket, Key=key, Body=body.encode(), ContentType=ctype)
        keys.append(key)
    return keys


async def archive_postmortem(
    services: Services, number: int, *, pm: PostMortem | None = None
) -> Archived | None:
    """Upload both forms; None when no bucket is configured. Raises on S3 errors."""
    settings = services.settings.postmortem
    if not settings.s3_bucket:
        return None
    pm = pm or await load_postmortem(services, number)
    if pm is None:
        return None
    names = await names_for(services, pm)
    # No signed link in the archive: it would expire, and whoever reads S3 needs none.
    markdown = to_markdown(pm, names)
    document = json.dumps(to_dict(pm, names), ensure_ascii=False, indent=1)
    keys = await asyncio.to_thread(_upload, settings, number, markdown, document)
    log.info("post-mortem archived", incident=number, bucket=settings.s3_bucket, keys=keys)
    return Archived(settings.s3_bucket, keys)


async def archive_after_edit(services: Services, number: int) -> Archived | None:
    """After an edit: refresh the archive of a resolved incident; never raises."""
    try:
        pm = await load_postmortem(services, number)
        if pm is None or not pm.is_resolved:
            return None
        return await archive_postmortem(services, number, pm=pm)
    except Exception as exc:  # the edit is stored; a failed upload is retried on the next edit
        log.warning("post-mortem archive failed", incident=number, error=str(exc)[:300])
        return None
