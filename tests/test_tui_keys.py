"""Keys as data: every binding has an id and a tooltip; config remaps them; help lists them."""

from __future__ import annotations

from owner_tui.store.queries import ListFilter
from owner_tui.tui import keys
from owner_tui.tui.app import OwnerApp
from tests.tui_support import FrozenClock, build_store, config, screen_text, settle


def test_every_binding_has_an_id_and_a_tooltip():
    for _scope, bindings in keys.SCOPES:
        for b in bindings:
            assert b.id and b.tooltip and b.description, b


def test_keymap_from_config_keeps_known_ids_and_reports_unknown():
    keymap, unknown = keys.keymap_from_config({"done": "x", "snooze": "z, ctrl+z", "fly": "f"})
    assert keymap == {"done": "x", "snooze": "z,ctrl+z"}
    assert unknown == ["fly"]


async def test_remapped_key_drives_the_action_and_the_old_key_does_not(tmp_path):
    clock = FrozenClock()
    ids = build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(done="x"), clock=clock, exports_dir=tmp_path / "exp")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("d")  # no longer "done"
        await settle(pilot)
        assert app.inbox.aging_list.total == 5
        await pilot.press("x")
        await settle(pilot)
        assert app.inbox.aging_list.total == 4
    from owner_tui.store import Store

    with Store.open(tmp_path / "t.db") as store:
        assert store.conversation(ids["ann"])["status"] == "done"


async def test_unknown_key_ids_are_reported_not_fatal(tmp_path):
    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(fly="f"), clock=clock, exports_dir=tmp_path / "exp")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert any("fly" in n for n in app.notices)


async def test_help_lists_every_binding_with_remapped_keys(tmp_path):
    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(snooze="z"), clock=clock, exports_dir=tmp_path / "exp")
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        from owner_tui.screens.help import HelpScreen, help_rows

        assert isinstance(app.screen, HelpScreen)
        rows = help_rows(app.keymap)
        # every id is listed, except the digits 2-9 of the pickers, which share the "1-9" row
        assert keys.BINDING_IDS - {r[3] for r in rows} == {f"pick_{i}" for i in range(2, 10)}
        assert any(r[1] == "1-9" for r in rows) and any(r[3] == "snooze_preset_2" for r in rows)
        assert {r[1] for r in rows if r[3] == "snooze"} == {"z"}
        assert {r[1] for r in rows if r[3] == "help"} == {"?"}
        text = screen_text(app)
        assert "Snooze: Hide until a time" in text and "replied_elsewhere" in text
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.inbox


async def test_footer_shows_the_main_keys_at_80x24(tmp_path):
    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exp")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        for word in ("Open", "Reply", "Done", "Snooze", "Undo", "Triage", "Help"):
            assert word in text
        assert app.inbox.filter == ListFilter()
