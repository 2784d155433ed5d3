"""Live mail in the open TUI: IMAP IDLE on a real Dovecot puts a new message in the list
within seconds, with a notification; the watcher stops when the app quits."""

from __future__ import annotations

import time

import pytest

from owner_tui.config import Config, OwnerConfig
from owner_tui.store import Store
from owner_tui.tui.app import OwnerApp
from tests.imap_helpers import account, mail
from tests.tui_support import settle

pytestmark = pytest.mark.servers


async def _poll(pilot, predicate, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        await pilot.pause(0.1)
    return predicate()


async def test_new_mail_appears_in_the_open_list_with_a_notification(imap_account, tmp_path):
    config = Config(owner=OwnerConfig(name="Sam", addresses=(imap_account.user,)),
                    accounts=(account(imap_account, name="shop-mail"),))
    # As ``owner_tui.tui.app.run`` does: create the store once before its threads open it.
    Store.open(tmp_path / "t.db", config=config).close()
    app = OwnerApp(tmp_path / "t.db", config, exports_dir=tmp_path / "exports")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert await _poll(pilot, lambda: "watching INBOX" in app.idle_status.get("shop-mail", ""), 20), \
            (app.idle_status, list(app.notices))
        assert app.inbox.aging_list.total == 0
        t0 = time.monotonic()
        imap_account.append("INBOX", mail(1, to=imap_account.user, subject="Do you deliver?"))
        assert await _poll(pilot, lambda: app.inbox.aging_list.total == 1, 10), list(app.notices)
        assert time.monotonic() - t0 < 8  # IDLE, not the 30 s refresh timer
        assert "1 new message in shop-mail" in app.notices
        [watcher] = app._watchers
    # Quitting stopped the watcher (the app would otherwise hang at exit on its thread).
    assert watcher.stopped


async def test_no_watcher_in_the_demo(imap_account, tmp_path):
    config = Config(owner=OwnerConfig(name="Sam"), accounts=(account(imap_account),))
    app = OwnerApp(tmp_path / "t.db", config, demo=True, exports_dir=tmp_path / "exports")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert not [w for w in app.workers if w.group == "idle"]
