"""Fixtures of the reliability suite; every test here is marked `reliability`, so
`pytest -m reliability` runs the suite alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.world import World, open_world


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)
            # One worker runs the whole suite, in order, on one shared world.
            item.add_marker(pytest.mark.xdist_group("reliability"))


@pytest.fixture(scope="package")
def world() -> Iterator[World]:
    with open_world() as opened:
        yield opened


@pytest.fixture
def w(world: World) -> World:
    """A clean slate on the shared world (the fake cluster keeps its Deployments: tests name
    their own)."""
    world.reset()
    return world
