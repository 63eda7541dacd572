"""One warroom for the whole session (embedded Postgres + Redis, Slack emulator, the real app
on a real port); `bed` gives each test a clean slate on it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from _pytest.nodes import NodeId
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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--dist loadgroup` keeps each `xdist_group` on one worker by suffixing its tests' ids
    with `@<group>`; pytest-xdist 3.8 writes that suffix where pytest 9 no longer reads it,
    so the groups were silently spread over the workers. Write it where pytest reads it."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if names and not item.nodeid.endswith("@" + "_".join(sorted(names))):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(names))}")
