"""Key -> action -> store state: done, snooze, replied elsewhere, noise, reopen, undo,
export, sync, and the one place worker failures are reported."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest

from owner_tui import aging
from owner_tui.store import Store
from owner_tui.tui.app import OwnerApp
from tests.tui_support import FrozenClock, build_store, config, screen_text, settle


@pytest.fixture
def env(tmp_path):
    clock = FrozenClock()
    ids = build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exports")
    return app, clock, ids, tmp_path


def conv(env, name: str) -> dict:
    app, clock, ids, tmp = env
    with Store.open(tmp / "t.db", clock=clock) as store:
        return store.conversation(ids[name])


async def test_done_then_undo(env):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert conv(env, "ann")["status"] == "done"
        assert app.inbox.aging_list.total == 4
        assert any("Done: Ann Archer" in n for n in app.notices)
        await pilot.press("u")
        await settle(pilot)
        assert conv(env, "ann")["status"] == "open"
        assert app.inbox.aging_list.total == 5
        assert any("Undone: done" in n for n in app.notices)
        await pilot.press("u")  # the events log holds nothing else the owner did
        await settle(pilot)
        assert app.notices[-1] == "Nothing to undo."


@pytest.mark.parametrize("key, expected", [
    ("1", lambda now: now + timedelta(hours=1)),
    ("2", lambda now: now.replace(hour=18)),  # this evening 18:00 (UTC in this config)
    ("3", lambda now: (now + timedelta(days=1)).replace(hour=8)),  # tomorrow 08:00
    ("4", lambda now: (now + timedelta(days=3)).replace(hour=8)),  # Friday -> Monday 08:00
])
async def test_snooze_presets(env, key, expected):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        c = conv(env, "ann")
        assert c["status"] == "snoozed"
        assert c["snoozed_until"] == aging.to_iso(expected(clock()))
        assert ids["ann"] not in [app.inbox.aging_list.row_at(i)["id"] for i in range(app.inbox.aging_list.total)]


async def test_snooze_typed_time_with_preview_and_error(env):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("t", *"nonsense", "enter")
        await settle(pilot)
        from owner_tui.screens.snooze import SnoozeDialog

        assert isinstance(app.screen, SnoozeDialog)  # still open, saying why
        assert "cannot read" in str(app.screen.query_one("#preview").render())
        for _ in "nonsense":
            await pilot.press("backspace")
        await pilot.press(*"fri 9:00")
        await settle(pilot)
        assert "Fri 27 Nov 09:00" in str(app.screen.query_one("#preview").render())
        await pilot.press("enter")
        await settle(pilot)
        assert conv(env, "ann")["snoozed_until"] == "2026-11-27T09:00:00+00:00"


async def test_snooze_cancel_changes_nothing(env):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s", "escape")
        await settle(pilot)
        assert conv(env, "ann")["status"] == "open"


async def test_snooze_then_wake_on_time_in_the_snoozed_view(env):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("s", "1")
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert app.inbox.aging_list.selected_id == ids["ann"]
        clock.advance(minutes=61)
        app.inbox.reload(wake=True)
        await settle(pilot)
        assert app.inbox.aging_list.total == 0
        assert conv(env, "ann")["status"] == "open"


async def test_replied_elsewhere_closes_the_wait_and_undo_restores_it(env):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        c = conv(env, "ann")
        assert c["replied_elsewhere"] == 1 and c["waiting_since"] is None
        await pilot.press("u")
        await settle(pilot)
        c = conv(env, "ann")
        assert c["replied_elsewhere"] == 0 and c["waiting_since"] is not None


@pytest.mark.parametrize("choice, pattern", [("1", "ann@example.com"), ("2", "@example.com")])
async def test_noise_rule_for_sender_or_domain(env, choice, pattern):
    app, clock, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n", choice)
        await settle(pilot)
        if choice == "2":  # the domain reaches five conversations: asked once, with the count
            assert "Hide 5 conversations from @example.com?" in screen_text(app)
            await pilot.press("y")
            await settle(pilot)
        with Store.open(tmp / "t.db", clock=clock) as store:
            assert [r.pattern for r in store.rules()] == [pattern]
        assert conv(env, "ann")["status"] == "noise"
        await pilot.press("u")
        await settle(pilot)
        with Store.open(tmp / "t.db", clock=clock) as store:
            assert store.rules() == []
        assert conv(env, "ann")["status"] == "open"


async def test_noise_on_a_review_says_why_not(env):
    app, clock, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("end", "n")
        await settle(pilot)
        assert app.inbox.aging_list.selected_id == ids["gail"]
        assert "Only email senders" in app.notices[-1]
        with Store.open(tmp / "t.db", clock=clock) as store:
            assert store.rules() == []


async def test_reopen_from_the_done_view(env):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert conv(env, "ann")["status"] == "open"
        assert app.inbox.aging_list.total == 0


async def test_export_current_view_to_a_private_file(env):
    app, clock, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("1")  # csv
        await settle(pilot)
        files = list((tmp / "exports").iterdir())
        assert len(files) == 1 and files[0].suffix == ".csv"
        assert stat.S_IMODE(os.stat(files[0]).st_mode) == 0o600
        lines = files[0].read_text().splitlines()
        assert len(lines) == 6 and "Ann Archer" in lines[1]
        assert any(str(files[0]) in n and "Exported 5 conversations" in n for n in app.notices)


async def test_export_failure_is_reported_by_the_one_worker_handler(env):
    app, clock, ids, tmp = env
    (tmp / "exports").write_text("a file where the folder should be")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("x", "2")
        await settle(pilot)
        assert any(n.startswith("Export failed:") for n in app.notices)
        assert not list(tmp.glob("*.part"))


async def test_sync_without_accounts_or_in_the_demo_says_so(env):
    app, clock, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert "No accounts are set up yet" in app.notices[-1]
    demo = OwnerApp(tmp / "t.db", config(), demo=True, clock=clock, exports_dir=tmp / "exports")
    async with demo.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert "demo store" in demo.notices[-1]
        assert "DEMO" in str(demo.inbox.query_one("#buckets").render())


async def test_sync_progress_shows_in_a_status_line_then_a_summary(env):
    from owner_tui.tui.app import SyncFinished, SyncProgress

    app, clock, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        status = app.inbox.query_one("#status")
        assert not status.display
        app.post_message(SyncProgress("shop INBOX: 5/10"))
        await settle(pilot)
        assert status.display and "Syncing: shop INBOX: 5/10" in str(status.render())
        app.post_message(SyncFinished(True, "Sync: 3 new"))
        await settle(pilot)
        assert not status.display and app.notices[-1] == "Sync: 3 new"
