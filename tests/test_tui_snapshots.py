"""A few screenshots of the main screens at 80x24 with a frozen clock.

Behaviour is tested with Pilot elsewhere; these catch layout regressions. Update after an
intended change with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at
the SVGs before committing them.
"""

from __future__ import annotations

import pytest

from owner_tui.tui.app import OwnerApp
from tests.tui_support import FrozenClock, build_store, config, settle

SIZE = (80, 24)


@pytest.fixture
def app(tmp_path):
    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    return OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exports")


def test_inbox(snap_compare, app):
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_conversation(snap_compare, app):
    async def open_first(pilot):
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_first)


def test_reply(snap_compare, app):
    async def reply(pilot):
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        editor = pilot.app.screen.query_one("#editor")
        editor.cursor_blink = False
        await pilot.press(*"We do! Which date?")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=reply)


def test_help(snap_compare, app):
    async def help_screen(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=help_screen)


def test_broken_account(snap_compare, tmp_path):
    """Issue 13: a mail account whose host is wrong, after the sync key: the status line says
    why, and the empty list says which account may hide mail and what to do, at 80x24."""
    from owner_tui.config import AccountConfig, Config, OwnerConfig
    from owner_tui.store import Store

    clock = FrozenClock()
    acc = AccountConfig("shop", "imap", {"host": "imap.wrong-host.example", "user": "sam@shop.example",
                                         "password_env": "SHOP_PW"})
    cfg = Config(owner=OwnerConfig(name="Sam", addresses=("sam@shop.example",)), accounts=(acc,))
    with Store.open(tmp_path / "t.db", config=cfg, clock=clock) as store:
        aid = store.ensure_account("imap", "shop")
        store.sync_started(aid)
        # The words `owner-tui sync` records for this host (test_tui_health reaches it for real).
        store.sync_failed(aid, "cannot find the server imap.wrong-host.example (DNS lookup failed): check the "
                               "host name and your internet connection", "dns", temporary=True)
    app = OwnerApp(tmp_path / "t.db", cfg, clock=clock, exports_dir=tmp_path / "exports", live_mail=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


async def _preview_ready(pilot):
    await settle(pilot)
    await pilot.pause(0.2)  # the preview waits for the cursor to rest
    await settle(pilot)


def test_inbox_with_preview_pane_120x35(snap_compare, app):
    """Issue 16: at 120 columns the selected conversation shows beside the list."""
    assert snap_compare(app, terminal_size=(120, 35), run_before=_preview_ready)


def test_bulk_confirmation_80x24(snap_compare, app):
    """Issue 16: marks in the list, and the one question that names how many."""
    async def marks(pilot):
        await settle(pilot)
        await pilot.press("space", "space", "space", "d")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=marks)


def test_live_search_80x24(snap_compare, app):
    """Issue 16: search across views, counts per view on the tabs, matches highlighted."""
    async def search(pilot):
        await settle(pilot)
        await pilot.press("slash", *"cake")
        await pilot.pause(0.3)
        await settle(pilot)
        pilot.app.screen.query_one("#search").cursor_blink = False
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=search)
