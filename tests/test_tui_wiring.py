"""The TUI's wiring: the dashboard key and palette entry, the welcome for a newcomer, the
{business} placeholder from the config, and the snooze presets never coinciding."""

from __future__ import annotations

import dataclasses

from owner_tui.screens.dashboard import DashboardScreen

from owner_tui.tui.app import OwnerApp
from tests.tui_support import (
    FrozenClock,
    build_store,
    config,
    run_command,
    screen_text,
    settle,
)


async def _wait_for(pilot, predicate, rounds: int = 50) -> bool:
    for _ in range(rounds):
        await settle(pilot)
        if predicate():
            return True
        await pilot.pause(0.05)
    return predicate()


async def test_m_opens_the_dashboard_on_this_store_and_escape_returns(tmp_path):
    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exp")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        assert isinstance(app.screen, DashboardScreen)
        assert await _wait_for(pilot, lambda: app.screen.data is not None)
        assert app.screen.data.digest.awaiting_total == 5  # the fixture store, read on its own connection
        assert "5 awaiting" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.inbox


async def test_palette_opens_the_dashboard(tmp_path):
    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exp")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await run_command(pilot, "Dashboard")
        assert isinstance(app.screen, DashboardScreen)


# -- the first screen ---------------------------------------------------------------------


async def test_a_newcomer_sees_how_to_start_not_nice_work(tmp_path):
    app = OwnerApp(tmp_path / "new.db", config(), clock=FrozenClock(), exports_dir=tmp_path / "exp")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Nice work" not in text
        assert "No accounts are set up yet" in text
        for hint in ("owner-tui accounts add imap", "owner-tui accounts add google", "owner-tui import PATH",
                     "owner-tui demo", "Press ? for every key"):
            assert hint in text, hint


async def test_nice_work_when_set_up_and_nobody_waits(tmp_path):
    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exp")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("4")  # done: empty in the fixture, but the store has conversations
        await settle(pilot)
        assert "Nothing closed yet." in screen_text(app)
        await pilot.press("1")
        await settle(pilot)
        for _ in range(5):
            await pilot.press("d")
            await settle(pilot)
        text = screen_text(app)
        assert "Nobody is waiting for a reply. Nice work." in text
        assert "No accounts are set up yet" not in text


async def test_configured_account_with_an_empty_store_is_not_a_newcomer(tmp_path):
    from owner_tui.config import AccountConfig, Config, OwnerConfig

    cfg = Config(owner=OwnerConfig(name="Sam"), accounts=(AccountConfig("shop", "files", {"path": str(tmp_path)}),))
    app = OwnerApp(tmp_path / "new.db", cfg, clock=FrozenClock(), exports_dir=tmp_path / "exp")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Nice work" in text and "No accounts are set up yet" not in text


# -- {business} ---------------------------------------------------------------------------


def _business_config(business: str):
    cfg = config()
    return dataclasses.replace(cfg, owner=dataclasses.replace(cfg.owner, business=business))


async def _template_text(tmp_path, cfg) -> str:
    from textual.widgets import TextArea

    from owner_tui.store import Store

    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock, cfg)
    with Store.open(tmp_path / "t.db", clock=clock) as s:
        s.save_template("ack", "Thanks {first_name}, {business} will reply by noon.")
    app = OwnerApp(tmp_path / "t.db", cfg, clock=clock, exports_dir=tmp_path / "exp")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        return app.screen.query_one("#editor", TextArea).text


async def test_business_placeholder_comes_from_owner_business(tmp_path):
    text = await _template_text(tmp_path, _business_config("Corner Shop Ltd"))
    assert "Thanks Ann, Corner Shop Ltd will reply by noon." in text


async def test_business_placeholder_falls_back_to_the_owner_name(tmp_path):
    text = await _template_text(tmp_path, _business_config(""))
    assert "Thanks Ann, Sam will reply by noon." in text


# -- snooze presets -----------------------------------------------------------------------


def test_next_week_on_a_sunday_is_not_tomorrow_morning():
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from owner_tui import when

    sunday = datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc)
    p = {key: at for key, _label, at in when.presets(sunday)}
    assert p["morning"] == datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)  # Monday
    assert p["week"] == datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)  # the Monday after
    assert when.parse_when("next week", sunday) == p["week"]  # typed and preset agree
    # Sunday in the owner's zone (late Saturday in UTC) counts as Sunday.
    tz = ZoneInfo("Pacific/Auckland")
    p = {key: at for key, _label, at in when.presets(datetime(2026, 11, 21, 20, 0, tzinfo=timezone.utc), tz)}
    assert p["week"] != p["morning"] and p["week"].astimezone(tz).date().isoformat() == "2026-11-30"
    # Every other day of the week: next week is the coming Monday, never tomorrow morning.
    for day in range(16, 22):  # Mon 16 .. Sat 21 November 2026
        p = {key: at for key, _label, at in when.presets(datetime(2026, 11, day, 9, 0, tzinfo=timezone.utc))}
        assert p["week"] == datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc) and p["week"] != p["morning"]


# -- adding an account from the TUI -----------------------------------------------------------


async def test_palette_adds_a_mail_account_and_the_app_reloads_its_config(tmp_path):
    from owner_tui.screens.account_add import AccountAddScreen

    from owner_tui.config import load_config

    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text('[owner]\nname = "Sam"\n')
    app = OwnerApp(tmp_path / "t.db", load_config(cfg_path), clock=clock,
                   exports_dir=tmp_path / "exp")
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await run_command(pilot, "Add a mail")
        assert isinstance(app.screen, AccountAddScreen)
        # What the form does on save (tested in its own file): write the table, return the name.
        cfg_path.write_text(cfg_path.read_text() + '\n[accounts.shop]\nkind = "imap"\nhost = "h"\n'
                            'user = "me@shop.example"\npassword_env = "X"\n')
        app.screen.dismiss("shop")
        await settle(pilot)
        assert [a.name for a in app.config.accounts] == ["shop"]


async def test_the_demo_has_no_config_to_add_an_account_to(tmp_path):
    from owner_tui.screens.account_add import AccountAddScreen

    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), demo=True, clock=clock, exports_dir=tmp_path / "exp")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.action_add_account()
        await settle(pilot)
        assert not isinstance(app.screen, AccountAddScreen)
        assert any("no config file" in n.message for n in app._notifications)
