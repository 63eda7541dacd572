"""One warroom for the whole session (embedded Postgres + Redis, Slack emulator, the real app
on a real port); `bed` gives each test a clean slate on it."""

from __future__ import annotations

import pytest

from bot.testbed import Testbed


@pytest.fixture(scope="session")
def testbed(tmp_path_factory: pytest.TempPathFactory):
    bed = Testbed(tmp_path_factory.mktemp("warroom")).start()
    yield bed
    bed.stop()
    bed.redis_server.stop()
    bed.pg.stop()


@pytest.fixture
def bed(testbed: Testbed) -> Testbed:
    testbed.reset()
    return testbed
