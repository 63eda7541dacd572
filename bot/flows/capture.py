"""Storing what the channel itself adds to the timeline: messages people 📌, and who joined.

The listeners (handlers.timeline_capture) call these before Bolt acknowledges the event, so
an exception here costs a redelivery, not a lost 📌. Every write is keyed
(`pin:<channel>:<ts>`, `participant:<incident>:<user>`), so redeliveries and a second 📌 add
nothing.

📌 is the hot path (bench/timeline_ingest.py): its lookups and inserts are group-committed,
one statement per burst rather than per delivery.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from psycopg import AsyncConnection as Driver
from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from bot.adapters.db import driver_connection
from bot.metrics import TIMELINE_EVENTS
from bot.services import Services
from bot.slack.channels import tell
from incident import event_kinds as K
from incident import registry, slack_text, timeline
from incident.models import Participant, TimelineEvent

PIN = "pushpin"
GONE = {"message_not_found", "thread_not_found"}
Item = TypeVar("Item")
Result = TypeVar("Result")
PinState = Literal["new", "shown", "withdrawn"]


async def incident_number(services: Services, channel: str | None) -> int | None:
    """Incident channels never change hands, so a hit is cached for the process's life."""
    if not channel:
        return None
    cache = services.caches.incident_channels
    if channel in cache:
        return cache[channel]
    async with services.sessions() as session:
        inc = await registry.by_channel(session, channel)
    if inc is None:
        return None
    cache[channel] = inc.number
    return inc.number


def pin_key(channel: str, ts: str) -> str:
    return f"pin:{channel}:{ts}"


def _pinned_item(event: dict[str, Any]) -> tuple[str, str] | None:
    item = event.get("item") or {}
    if event.get("reaction") != PIN or item.get("type") != "message":
        return None
    if not item.get("channel") or not item.get("ts"):
        return None
    return item["channel"], item["ts"]


async def fetch_message(services: Services, channel: str, ts: str) -> dict[str, Any] | None:
    """The 📌'd message; a thread reply is not in the channel history, so ask the thread.
    None when it was deleted. Other Slack errors propagate: the event is redelivered."""
    try:
        resp = await services.slack.conversations_history(
            channel=channel, latest=ts, inclusive=True, limit=1
        )
        found = [m for m in resp.get("messages") or [] if m.get("ts") == ts]
        if found:
            return found[0]
        resp = await services.slack.conversations_replies(
            channel=channel, ts=ts, latest=ts, inclusive=True, limit=1
        )
    except SlackApiError as exc:
        if exc.response.get("error") in GONE:
            return None
        raise
    found = [m for m in resp.get("messages") or [] if m.get("ts") == ts]
    return found[0] if found else None


class GroupCommit(Generic[Item, Result]):
    """Natural batching for the hot 📌 path: deliveries that arrive while a round trip is in
    flight share the next one, so under a burst one statement serves dozens of them, and at
    rest nobody waits for a timer. Each caller still returns only once its own row is
    committed (or gets the error), so the ack-after-storing promise holds.

    A burst's batches share one pooled connection: checking one out costs a round trip of
    its own (the pool's liveness ping), which per batch cost as much as the statement."""

    MAX_BATCH = 500

    def __init__(
        self,
        connect: Callable[[], AbstractAsyncContextManager[Driver]],
        flush: Callable[[Driver, list[Item]], Awaitable[list[Result]]],
    ) -> None:
        self._connect = connect
        self._flush = flush
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._running: asyncio.Task[None] | None = None

    async def __call__(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[Item, asyncio.Future[Result]]] = []
        while self._pending:
            try:
                async with self._connect() as conn:
                    while self._pending:
                        batch = self._take()
                        try:
                            results = await self._flush(conn, [item for item, _ in batch])
                        except Exception as exc:  # every caller of the batch answers 500
                            self._fail(batch, exc)
                            break  # the connection may be gone: the next batch takes a fresh one
                        for (_, future), result in zip(batch, results, strict=True):
                            if not future.done():
                                future.set_result(result)
            except Exception as exc:  # no connection (Postgres down): a batch fails with it
                if all(future.done() for _, future in batch):
                    batch = self._take()
                self._fail(batch, exc)

    def _take(self) -> list[tuple[Item, asyncio.Future[Result]]]:
        batch = self._pending[: self.MAX_BATCH]
        del self._pending[: self.MAX_BATCH]
        return batch

    @staticmethod
    def _fail(batch: list[tuple[Item, asyncio.Future[Result]]], exc: Exception) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(exc)


# The 📌 batches are one statement each, atomic by themselves (no BEGIN/COMMIT round trips),
# and their text never changes with the batch size, so psycopg prepares each once and
# Postgres plans it once: a multi-row VALUES or an IN list was a new statement every time.
_PIN_STATES = (
    "SELECT dedupe_key, withdrawn_at FROM timeline_events "
    "WHERE dedupe_key = ANY(CAST(%(keys)s AS varchar[]))"
)
_INSERT_PINS = (
    "INSERT INTO timeline_events "
    "(incident_number, kind, occurred_at, actor, text, data, dedupe_key) "
    "SELECT n, k, at, a, t, d, key FROM jsonb_to_recordset(CAST(%(rows)s AS jsonb)) "
    "AS r(n integer, k varchar, at timestamptz, a varchar, t text, d jsonb, key varchar) "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key"
)


async def _pin_states(conn: Driver, keys: list[str]) -> list[PinState]:
    cursor = await conn.execute(_PIN_STATES, {"keys": list(set(keys))})
    found: dict[str, PinState] = {
        key: "shown" if withdrawn is None else "withdrawn"
        for key, withdrawn in await cursor.fetchall()
    }
    return [found.get(k, "new") for k in keys]


async def _insert_pins(conn: Driver, rows: list[dict[str, Any]]) -> list[bool]:
    """One multi-row insert; True for each row that is new (the first of a key)."""
    unique = list({r["dedupe_key"]: r for r in reversed(rows)}.values())
    batch = json.dumps(
        [
            {
                "n": r["incident_number"],
                "k": r["kind"],
                "at": r["occurred_at"].isoformat(),
                "a": r["actor"],
                "t": r["text"],
                "d": r["data"],
                "key": r["dedupe_key"],
            }
            for r in unique
        ]
    )
    cursor = await conn.execute(_INSERT_PINS, {"rows": batch})
    added = {key for (key,) in await cursor.fetchall()}
    first: list[bool] = []
    for r in rows:
        first.append(r["dedupe_key"] in added)
        added.discard(r["dedupe_key"])
    return first


@dataclass(frozen=True)
class PinBatchers:
    """One pair per process (`services.pin_batchers`), so concurrent deliveries share them."""

    state_of: GroupCommit[str, PinState]
    insert_row: GroupCommit[dict[str, Any], bool]


def _batchers(services: Services) -> PinBatchers:
    if services.pin_batchers is None:
        services.pin_batchers = PinBatchers(
            GroupCommit(lambda: driver_connection(services.autocommit), _pin_states),
            GroupCommit(lambda: driver_connection(services.autocommit), _insert_pins),
        )
    return services.pin_batchers


async def _pin_in_incident(
    services: Services, event: dict[str, Any], bot_user: str
) -> tuple[int, str, str] | None:
    """(incident, channel, ts) of a 📌 someone other than the bot put on a message in an
    incident channel; None for every other reaction."""
    target = _pinned_item(event)
    if target is None or event.get("user") == bot_user:
        return None
    channel, ts = target
    number = await incident_number(services, channel)
    return None if number is None else (number, channel, ts)


async def store_pin(services: Services, event: dict[str, Any], bot_user: str) -> None:
    if (pin := await _pin_in_incident(services, event, bot_user)) is None:
        return
    number, channel, ts = pin
    key = pin_key(channel, ts)
    batchers = _batchers(services)
    state = await batchers.state_of(key)
    if state == "withdrawn":  # 📌 taken off, then put back
        await _set_withdrawn(services, key, None)
    if state != "new":
        return
    message = await fetch_message(services, channel, ts)
    data = {
        "channel": channel,
        "ts": ts,
        "pinned_by": event.get("user"),
        "pinned_at": services.clock.now().isoformat(),
    }
    if message is None:
        data["missing"] = True
    else:
        # Decoded once, here: the row holds what the author wrote (people as `<@U…>`, named
        # when rendered). The marker tells the renderers that rows without it, captured
        # before, still hold Slack's escaped text.
        data["text_format"] = slack_text.PLAIN
    added = await batchers.insert_row(
        {
            "incident_number": number,
            "kind": K.PINNED,
            "occurred_at": datetime.fromtimestamp(float(ts), UTC),
            "actor": (message or {}).get("user") or event.get("item_user"),
            "text": slack_text.to_plain((message or {}).get("text")),
            "data": data,
            "dedupe_key": key,
            "withdrawn_at": None,
        }
    )
    if added:
        TIMELINE_EVENTS.labels(K.PINNED).inc()


async def _set_withdrawn(services: Services, key: str, when: datetime | None) -> None:
    async with services.transaction() as session:
        await session.execute(
            update(TimelineEvent).where(TimelineEvent.dedupe_key == key).values(withdrawn_at=when)
        )


async def _pins_left(services: Services, channel: str, ts: str) -> int:
    try:
        resp = await services.slack.reactions_get(channel=channel, timestamp=ts, full=True)
    except SlackApiError as exc:
        if exc.response.get("error") in GONE:
            return 0
        raise
    reactions = (resp.get("message") or {}).get("reactions") or []
    return sum(r.get("count", 0) for r in reactions if r.get("name") == PIN)


async def withdraw_pin(services: Services, event: dict[str, Any], bot_user: str) -> None:
    """Un-📌 withdraws the event (kept, hidden), unless someone else's 📌 is still there."""
    if (pin := await _pin_in_incident(services, event, bot_user)) is None:
        return
    number, channel, ts = pin
    if await _batchers(services).state_of(pin_key(channel, ts)) != "shown":
        return
    if await _pins_left(services, channel, ts) > 0:
        return
    async with services.sessions() as session:
        inc = await registry.get(session, number)
    try:
        if inc is not None:
            timeline.refuse_trim(inc)
    except timeline.EvidencePreserved as exc:
        if user := event.get("user"):
            await tell(services.slack, user, channel, f"🔒 {exc} The 📌'd message stays on it.")
        return
    await _set_withdrawn(services, pin_key(channel, ts), services.clock.now())


async def store_participant(services: Services, event: dict[str, Any], bot_user: str) -> None:
    user, channel = event.get("user"), event.get("channel")
    if not user or user == bot_user:
        return
    number = await incident_number(services, channel)
    if number is None:
        return
    now = services.clock.now()
    async with services.transaction() as session:
        inc = await registry.get(session, number)
        role = "commander" if inc is not None and inc.commander_id == user else "responder"
        await session.execute(
            insert(Participant)
            .values(incident_number=number, user_id=user, role=role, joined_at=now)
            .on_conflict_do_nothing(index_elements=["incident_number", "user_id"])
        )
        added = await timeline.record(
            session,
            number,
            K.PARTICIPANT,
            at=now,
            actor=user,
            data={"inviter": event.get("inviter")},
            key=f"participant:{number}:{user}",
        )
    if added:
        TIMELINE_EVENTS.labels(K.PARTICIPANT).inc()
