"""The command palette: export, views, filters, sync and jump-to-contact."""

from __future__ import annotations

import pytest

from owner_tui.tui.app import OwnerApp
from tests.tui_support import (
    FrozenClock,
    build_store,
    config,
    run_command,
    screen_text,
    settle,
)


@pytest.fixture
def env(tmp_path):
    clock = FrozenClock()
    ids = build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exports")
    return app, ids, tmp_path


async def test_palette_export_writes_the_current_view(env):
    app, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await run_command(pilot, "Export view as jsonl")
        [path] = list((tmp / "exports").iterdir())
        assert path.name.startswith("owner-tui-awaiting-") and path.suffix == ".jsonl"
        assert len(path.read_text().splitlines()) == 5


async def test_palette_filters_and_views(env):
    app, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await run_command(pilot, "Filter: channel google")
        assert app.inbox.filter.channel == "google" and app.inbox.aging_list.total == 1
        await run_command(pilot, "Clear filters")
        assert app.inbox.filter.channel is None
        await run_command(pilot, "View: Noise")
        assert app.inbox.filter.view == "noise"


async def test_palette_jumps_to_a_contact(env):
    app, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await run_command(pilot, "quinn")
        f = app.inbox.filter
        assert f.view == "all" and f.contact_id is not None
        assert app.inbox.aging_list.selected_id == ids["quinn"] and app.inbox.aging_list.total == 1
        assert "contact Quinn Quill" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.inbox.filter.contact_id is None and app.inbox.filter.view == "awaiting"


async def test_palette_sync_reports_plainly(env):
    app, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await run_command(pilot, "Sync now")
        assert "No accounts are set up yet" in app.notices[-1]
