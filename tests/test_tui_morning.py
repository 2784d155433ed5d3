"""Issue 16, the morning loop: keys typed in a burst, q, safe sends, confirmations with counts,
the preview pane, saved replies, the demo's simulated delivery."""

from __future__ import annotations

import pytest
from textual import events

from owner_tui.store import Store
from owner_tui.tui.app import OwnerApp
from tests.tui_support import FrozenClock, build_store, config, settle


@pytest.fixture
def env(tmp_path):
    clock = FrozenClock()
    ids = build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exports", live_mail=False)
    return app, clock, ids, tmp_path


def statuses(env) -> dict[str, str]:
    app, clock, ids, tmp = env
    with Store.open(tmp / "t.db", clock=clock) as store:
        return {name: store.conversation(cid)["status"] for name, cid in ids.items()}


def burst(app, *keys: str) -> None:
    """Keys as one terminal write: every event is queued before the app handles the first."""
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)


async def test_d_d_d_in_one_burst_closes_three(env):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        burst(app, "d", "d", "d")
        await settle(pilot)
        done = sorted(n for n, s in statuses(env).items() if s == "done")
        assert len(done) == 3, done
        assert app.inbox.aging_list.total == 2


async def test_q_quits_from_the_list_and_closes_a_screen_elsewhere(env):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ConversationScreen"
        await pilot.press("q")
        await settle(pilot)
        assert app.screen is app.inbox
        await pilot.press("slash", "q")  # typed into the search box, not a quit
        await settle(pilot)
        assert app.is_running and app.screen is app.inbox
        await pilot.press("escape", "q")
        await settle(pilot)
        assert not app.is_running
