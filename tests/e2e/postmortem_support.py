"""Shared by the post-mortem tests and bench: one event loop in a thread (so the async engine,
uvicorn and the tests all use the same loop), services on an embedded Postgres, a recording
Slack stand-in, and incidents scripted with exact timestamps.

The scripted incident goes through `incident.registry.create` and `incident.timeline.record`
only, so it can later be swapped for the Slack-driven path without changing the assertions.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import uvicorn
from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from bot.adapters import db
from bot.adapters.embedded.postgres import EmbeddedPostgres
from bot.clock import Clock
from bot.config import Settings
from bot.services import Services
from incident import event_kinds as K
from incident import registry, timeline
from incident.models import Incident, Participant, TimelineEvent
from incident.severity import DEFAULT_POLICY

T = TypeVar("T")

# A Friday, so the review due date has a weekend to skip.
T0 = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)
REPORTER, IC, IC2, SRE, DBA = "UREPORTER", "UCOMMANDER", "UCOMMANDER2", "USRE", "UDBA"
NAMES = {REPORTER: "rita", IC: "ivan", IC2: "ines", SRE: "sam", DBA: "dora"}


class LoopThread:
    """An event loop running in a daemon thread; `run` waits for a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class FakeResponse(dict):
    """What slack_sdk returns, as far as the bot uses it: a dict with `.data`."""

    @property
    def data(self) -> dict[str, Any]:
        return dict(self)


class FakeSlack:
    """Records posts. `#incidents` refuses until joined, as a channel the bot is not in does."""

    def __init__(self, names: dict[str, str] | None = None) -> None:
        self.names = dict(names or NAMES)
        self.posts: list[dict[str, Any]] = []
        self.joined: set[str] = set()
        self.incidents_id = "CINCIDENTS"
        self.fail_channels: set[str] = set()

    def _error(self, error: str) -> SlackApiError:
        return SlackApiError(error, FakeResponse(ok=False, error=error))

    async def chat_postMessage(self, *, channel: str, text: str, **kw: Any) -> FakeResponse:
        if channel in self.fail_channels:
            raise self._error("channel_not_found")
        if channel == self.incidents_id and channel not in self.joined:
            raise self._error("not_in_channel")
        ts = f"{1_800_000_000 + len(self.posts)}.000100"
        self.posts.append({"channel": channel, "text": text, "ts": ts, **kw})
        return FakeResponse(ok=True, channel=channel, ts=ts)

    async def conversations_join(self, *, channel: str) -> FakeResponse:
        self.joined.add(channel)
        return FakeResponse(ok=True)

    async def conversations_list(self, **_: Any) -> FakeResponse:
        return FakeResponse(
            ok=True,
            channels=[{"id": self.incidents_id, "name": "incidents"}],
            response_metadata={"next_cursor": ""},
        )

    async def users_info(self, *, user: str) -> FakeResponse:
        if user not in self.names:
            raise self._error("user_not_found")
        return FakeResponse(
            ok=True, user={"id": user, "profile": {"display_name": self.names[user]}}
        )

    async def users_list(self, **_: Any) -> FakeResponse:
        members = [{"id": u, "name": n, "profile": {}} for u, n in self.names.items()]
        return FakeResponse(ok=True, members=members, response_metadata={"next_cursor": ""})


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    pg = EmbeddedPostgres(data_dir)
    db.upgrade(pg.url)
    return pg


@contextmanager
def embedded_postgres() -> Iterator[str]:
    """A migrated embedded Postgres for one test session. Its data lives in its own temporary
    directory rather than pytest's basetemp: another pytest session of the same user prunes
    old basetemps, which would pull the data directory from under a running server."""
    data = Path(tempfile.mkdtemp(prefix="warroom-pm-pg-"))
    pg = start_postgres(data)
    try:
        yield pg.url
    finally:
        try:
            pg.stop()
        except subprocess.CalledProcessError:
            pass  # already gone; nothing left to stop
        shutil.rmtree(data, ignore_errors=True)


def make_services(
    url: str,
    *,
    slack: FakeSlack | None = None,
    settings: dict[str, Any] | None = None,
    public_url: str = "http://warroom.test",
) -> Services:
    """Services for one loop (the engine's pool belongs to the loop that uses it);
    ``settings`` are Settings fields (`postmortem_s3_bucket`, `warroom_web_secret`, …)."""
    engine = db.make_engine(url, pool_size=5)
    config = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_signing_secret="test-signing-secret",
        public_url=public_url,
        database_url=url,
        **(settings or {}),
    )
    services = Services(
        settings=config,
        engine=engine,
        sessions=db.session_factory(engine),
        redis=cast(Any, None),  # nothing here takes a lock
        slack=cast(Any, slack or FakeSlack()),
        policy=DEFAULT_POLICY,
        clock=Clock(),
    )
    return services


@dataclass
class Scripted:
    number: int
    t0: datetime
    title: str
    expected: dict[str, Any] = field(default_factory=dict)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def _set(session: AsyncSession, number: int, **values: Any) -> None:
    await session.execute(update(Incident).where(Incident.number == number).values(**values))


async def script_incident(
    session: AsyncSession, *, title: str = "Checkout returns 500s", key: str = "scripted-1"
) -> Scripted:
    """A SEV3 escalated to SEV2, acknowledged at +4 min, mitigating at +22, resolved at +90,
    with a check, an approved rollback, a pinned message, a cause candidate, a commander
    hand-over, and events that must stay out of the document (withdrawn, setup, reminder)."""
    inc = await registry.create(
        session,
        title=title,
        severity="SEV3",
        reporter_id=REPORTER,
        commander_id=IC,
        impact="5% of checkouts fail",
        declare_key=key,
        now=T0,
    )
    assert inc is not None
    n = inc.number
    rec = timeline.record
    await rec(session, n, "setup.channel", at=at(0.1), data={"channel_id": f"C{n}"})
    await _set(session, n, channel_id=f"CINC{n}", channel_name=f"inc-{n}-checkout")
    session.add(Participant(incident_number=n, user_id=SRE, role="responder", joined_at=at(1)))
    await rec(session, n, K.PARTICIPANT, at=at(1), actor=SRE)
    await rec(session, n, K.ACKNOWLEDGED, at=at(4), actor=IC)
    await _set(session, n, acknowledged_at=at(4))
    await rec(session, n, K.SEVERITY, at=at(6), actor=IC, data={"before": "SEV3", "after": "SEV2"})
    await _set(session, n, severity="SEV2")
    await rec(session, n, K.UPDATE, at=at(8), actor=IC, text="Investigating elevated 500s")
    results = [
        {"service": "api", "check": "http", "status": "fail", "reason": "503 from /health"},
        {"service": "api", "check": "postgres", "status": "ok", "reason": "select 1 in 3 ms"},
    ]
    await rec(session, n, K.CHECK, at=at(10), actor=SRE, data={"results": results})
    cause = "Connection pool exhausted after deploy 1.42"
    await rec(session, n, K.NOTE, at=at(12), actor=SRE, text=cause, data={"cause_candidate": True})
    await rec(
        session,
        n,
        K.PINNED,
        at=at(14),
        actor=DBA,
        text="p95 jumped at 08:58",
        data={"channel": f"CINC{n}", "ts": "1.2", "pinned_by": IC},
    )
    await rec(
        session,
        n,
        K.STATUS,
        at=at(15),
        actor=IC,
        data={"before": "investigating", "after": "identified"},
    )
    action = {
        "action": "set_image",
        "target": "prod/shop/api",
        "before": "shop-api:1.42",
        "after": "shop-api:1.41",
        "outcome": "ok",
        "approved_by": IC,
    }
    await rec(session, n, K.ACTION, at=at(20), actor=SRE, data=action)
    await rec(
        session,
        n,
        K.STATUS,
        at=at(22),
        actor=IC,
        data={"before": "identified", "after": "mitigating"},
    )
    await rec(
        session,
        n,
        K.UPDATE,
        at=at(23),
        actor=IC,
        text="Error rate back to baseline",
        data={"status": "monitoring", "status_before": "mitigating"},
    )
    await rec(session, n, K.NOTE, at=at(30), actor=DBA, text="Customers notified by support")
    await rec(session, n, K.COMMANDER, at=at(40), actor=IC, data={"before": IC, "after": IC2})
    await _set(session, n, commander_id=IC2)
    await rec(session, n, K.UPDATE, at=at(45), actor=IC2, text="A withdrawn mistake", key=f"w{n}")
    await session.execute(
        update(TimelineEvent).where(TimelineEvent.dedupe_key == f"w{n}").values(withdrawn_at=at(46))
    )
    await rec(session, n, K.REMINDER, at=at(50), data={"kind": "update", "due": at(50).isoformat()})
    summary = "Rolled back 1.42; pool size raised"
    await rec(session, n, K.RESOLVED, at=at(90), actor=IC2, text=summary)
    await _set(
        session, n, status="resolved", resolved_at=at(90), summary=summary, mitigated_at=at(22)
    )
    return Scripted(
        n,
        T0,
        title,
        expected={
            "tta": timedelta(minutes=4),
            "ttm": timedelta(minutes=22),
            "ttr": timedelta(minutes=90),
            "cause": cause,
            "summary": summary,
            # Fri 10:30 + five business days (Mon..Fri) = next Fri 10:30.
            "review_due": datetime(2026, 11, 27, 10, 30, tzinfo=UTC),
        },
    )


KIND_CYCLE = (
    K.UPDATE,
    K.CHECK,
    K.UPDATE,
    K.NOTE,
    K.PINNED,
    K.UPDATE,
    K.CHECK,
    K.ACTION,
    K.STATUS,
    K.PARTICIPANT,
)
ACTORS = tuple(f"U{i:04d}" for i in range(12))


def _bulk_data(i: int, kind: str) -> tuple[str | None, dict[str, Any]]:
    if kind == K.CHECK:
        status = "fail" if i % 7 == 0 else "ok"
        return None, {
            "results": [
                {"service": "api", "check": "http", "status": status, "reason": f"probe {i}"},
                {"service": "db", "check": "postgres", "status": "ok", "reason": "select 1"},
            ]
        }
    if kind == K.ACTION:
        return None, {
            "action": "scale",
            "target": "prod/shop/api",
            "before": {"replicas": 3},
            "after": {"replicas": 4},
            "outcome": "ok",
            "approved_by": ACTORS[0],
        }
    if kind == K.STATUS:
        after = ("mitigating", "monitoring", "identified")[i % 3]
        return None, {"before": "investigating", "after": after}
    if kind == K.NOTE:
        return f"Note {i}: looked at dashboards <b>", {"cause_candidate": i % 50 == 3}
    if kind == K.PINNED:
        return f"Pinned message {i}", {"pinned_by": ACTORS[1]}
    if kind == K.PARTICIPANT:
        return None, {}
    return f"Update {i}: still working on it, error rate {i % 100}%", {}


async def add_bulk_events(
    session: AsyncSession, number: int, count: int, *, start: datetime, every: timedelta
) -> None:
    """`count` mixed events through COPY: the bench needs 100,000 in seconds, not minutes."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    pg = raw.driver_connection
    assert pg is not None
    columns = "(incident_number, occurred_at, actor, kind, text, data)"
    async with pg.cursor() as cur:
        async with cur.copy(f"COPY timeline_events {columns} FROM STDIN") as copy:
            for i in range(count):
                kind = KIND_CYCLE[i % len(KIND_CYCLE)]
                text, data = _bulk_data(i, kind)
                await copy.write_row(
                    (
                        number,
                        start + every * i,
                        ACTORS[i % len(ACTORS)],
                        kind,
                        text,
                        json.dumps(data),
                    )
                )


async def big_incident(session: AsyncSession, count: int, *, key: str) -> int:
    """An incident with `count` timeline events over a long day, resolved at the end."""
    inc = await registry.create(
        session,
        title=f"Large incident with {count} events",
        severity="SEV2",
        reporter_id=ACTORS[0],
        commander_id=ACTORS[1],
        impact="Everything is slow",
        declare_key=key,
        now=T0,
    )
    assert inc is not None
    every = timedelta(seconds=max(1, 86_400 // max(count, 1)))
    await add_bulk_events(session, inc.number, count - 1, start=T0 + every, every=every)
    end = T0 + every * (count + 1)
    await _set(
        session,
        inc.number,
        status="resolved",
        acknowledged_at=T0 + every,
        resolved_at=end,
        summary="Recovered",
    )
    return inc.number


@dataclass
class Served:
    server: uvicorn.Server
    task: asyncio.Task
    url: str

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 10)


async def serve(app: Starlette) -> Served:
    """uvicorn on 127.0.0.1 and a free port, on the running loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    return Served(server, task, f"http://127.0.0.1:{port}")
