"""Shared pytest configuration."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

pytest_plugins = ["tests.servers.fixtures"]

FROZEN_NOW = datetime(2026, 11, 22, 9, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own OWNER_TUI_HOME: nothing touches the developer's real store."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("OWNER_TUI_HOME", str(home))
    monkeypatch.delenv("EDITOR", raising=False)
    return home


class FrozenClock:
    """An injectable clock: ``clock()`` returns the frozen time; ``advance`` moves it."""

    def __init__(self, now: datetime = FROZEN_NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        from datetime import timedelta

        self.now = self.now + timedelta(**kwargs)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def store(tmp_path: Path, clock):
    from owner_tui.store import Store

    s = Store.open(tmp_path / "test.db", clock=clock)
    yield s
    s.close()
