"""The world itself: both replicas answer, and a declaration sent to either lands once."""

from __future__ import annotations

from tests.reliability.conftest import World


def test_both_replicas_declare_into_the_same_store(w: World) -> None:
    alice = w.people["alice"]
    for i, driver in enumerate(w.drivers):
        r = driver.command(f"declare SEV3 replica {i} works", user_id=alice, channel_id="C0GEN")
        assert r.status_code == 200
    rows = w.bed.wait_for(
        lambda: (
            (rows := w.bed.rows("SELECT title FROM incidents ORDER BY number"))
            and len(rows) == 2
            and rows
        ),
        timeout=15,
    )
    # both stored; which is numbered first is a race (each is stored after its ack)
    assert sorted(r["title"] for r in rows) == ["replica 0 works", "replica 1 works"]
