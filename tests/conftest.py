"""One warroom for the whole session (embedded Postgres + Redis, Slack emulator, the real app
on a real port); `bed` gives each test a clean slate on it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from warroom_sandbox.testbed import Testbed


@pytest.fixture(scope="session")
def testbed():
    # Not under pytest's tmp_path: a concurrent pytest session prunes those folders.
    data_dir = Path(tempfile.mkdtemp(prefix="warroom-tests-"))
    bed = Testbed(data_dir).start()
    yield bed
    bed.stop()
    bed.redis_server.stop()
    bed.pg.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def bed(testbed: Testbed) -> Testbed:
    testbed.reset()
    return testbed
