"""Triage: one key walks the awaiting list oldest first and ends on a summary."""

from __future__ import annotations

import pytest
from owner_tui.screens.conversation import ConversationScreen
from owner_tui.screens.triage import TriageSummary

from owner_tui.store import Store
from owner_tui.tui.app import OwnerApp
from tests.tui_support import FrozenClock, build_store, config, screen_text, settle


@pytest.fixture
def env(tmp_path):
    clock = FrozenClock()
    ids = build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exports")
    return app, clock, ids, tmp_path / "t.db"


def current(app) -> int:
    assert isinstance(app.screen, ConversationScreen)
    return app.screen.conversation_id


async def test_triage_walks_oldest_first_and_ends_on_a_summary(env):
    app, clock, ids, path = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert current(app) == ids["ann"]
        text = screen_text(app)
        assert "Triage 1 of 5" in text and "Next" in text
        await pilot.press("d")  # done -> next
        await settle(pilot)
        assert current(app) == ids["bob"]
        await pilot.press("s", "3")  # snooze until tomorrow morning -> next
        await settle(pilot)
        assert current(app) == ids["cat"]
        assert "1 done · 1 snoozed" in screen_text(app)
        await pilot.press("space")  # skip
        await settle(pilot)
        assert current(app) == ids["dan"]
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"Yes, 9 to 1.", "ctrl+s")  # reply queued -> next
        await settle(pilot)
        assert current(app) == ids["gail"]
        await pilot.press("e")  # replied on the platform -> the end
        await settle(pilot)
        assert isinstance(app.screen, TriageSummary)
        summary = app.screen
        assert summary.cleared == 4 and summary.outcomes["skipped"] == 1
        text = screen_text(app)
        assert "You went through 5 conversations and cleared 4." in text
        assert "2 still awaiting a reply" in text  # Cat (skipped) and Dan, whose reply waits in the outbox
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is app.inbox
    with Store.open(path, clock=clock) as store:
        assert store.conversation(ids["ann"])["status"] == "done"
        assert store.conversation(ids["bob"])["status"] == "snoozed"
        assert store.conversation(ids["cat"])["status"] == "open"
        assert store.outbox(conversation_id=ids["dan"])[0]["status"] == "queued"
        assert store.conversation(ids["gail"])["replied_elsewhere"] == 1


async def test_escape_ends_triage_early_with_a_summary(env):
    app, clock, ids, path = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TriageSummary)
        assert "cleared 1" in screen_text(app) and "4 still awaiting" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.inbox and app.inbox.aging_list.total == 4


async def test_triage_with_nobody_waiting_says_so(env):
    app, clock, ids, path = env
    with Store.open(path, clock=clock) as store:
        for name in ("ann", "bob", "cat", "dan", "gail"):
            store.mark_done(ids[name])
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert app.screen is app.inbox
        assert "nothing to triage" in app.notices[-1]


async def test_triage_respects_the_current_filter(env):
    app, clock, ids, path = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.inbox.set_filter(app.inbox.filter.with_(channel="google"))
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert current(app) == ids["gail"]
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, TriageSummary)
        assert "Nobody is waiting" in screen_text(app)
