"""Texts in the TUI (issue 19): the reply editor counts SMS segments as you type and names the
character that switches to UCS-2, shows WhatsApp's length, refuses before queueing a text to
a customer who texted STOP or a free-form WhatsApp reply outside the 24-hour window (offering
the approved template), and a missed call shows its number with a copy key and a tel: link."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from owner_tui.screens.reply import ReplyScreen
from textual.widgets import TextArea

from owner_tui.config import AccountConfig, Config, OwnerConfig, SendConfig
from owner_tui.records import MessageRecord
from owner_tui.store import Store
from owner_tui.tui.app import OwnerApp
from tests.tui_support import FrozenClock, screen_text, settle

CUSTOMER = "+15559870001"
BUSINESS = "+15551234567"


def build(path, clock, channel: str, *, hours_ago: float = 1, name: str = "Tia Tran", customer: str = CUSTOMER,
          to: str = BUSINESS, text: str = "Are you open Sunday?") -> int:
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    with Store.open(path, clock=clock) as store:
        acc = store.ensure_account("twilio", "texts", {})
        store.ingest(acc, [MessageRecord(
            external_id=f"SM{channel}{customer}", channel=channel, direction="in", sender_handle=prefix + customer,
            sender_name=name, recipients=(prefix + to,), text=text, thread_key=customer,
            sent_at=(clock.now - timedelta(hours=hours_ago)).isoformat())])
        return store.db.execute("SELECT id FROM conversations").fetchone()[0]


def app_for(tmp_path, clock, **options) -> OwnerApp:
    accounts = (AccountConfig(name="texts", kind="twilio", options={
        "account_sid": "AC" + "0" * 32, "auth_token_env": "TWILIO_TEST_TOKEN", "numbers": [BUSINESS],
        "base_url": "http://127.0.0.1:9", **options}),)
    cfg = Config(owner=OwnerConfig(name="Sam", signature="Sam, Corner Shop"), accounts=accounts,
                 send=SendConfig(undo_seconds=60))  # nothing leaves during these tests
    return OwnerApp(tmp_path / "t.db", cfg, clock=clock, exports_dir=tmp_path / "exports")


async def open_reply(pilot, app, cid: int) -> ReplyScreen:
    with Store.open(app.store_path, clock=app.clock) as s:
        row = s.conversation(cid)
    screen = ReplyScreen(row)
    await app.push_screen(screen)
    await settle(pilot)
    return screen


def status_text(app) -> str:
    return str(app.screen.query_one("#reply-status").render())


@pytest.fixture
def clock():
    return FrozenClock()


async def test_sms_editor_counts_segments_and_names_the_ucs2_character(tmp_path, clock):
    cid = build(tmp_path / "t.db", clock, "sms")
    app = app_for(tmp_path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_reply(pilot, app, cid)
        editor = app.screen.query_one("#editor", TextArea)
        assert editor.text == "Hi Tia, "  # a text: no signature eating a segment
        assert "Text to Tia Tran" in screen_text(app)
        editor.load_text("a" * 161)
        await settle(pilot)
        assert "GSM-7 · 2 segments · 145 left" in status_text(app)
        editor.load_text("See you at 5, we’re open")
        await settle(pilot)
        shown = status_text(app)
        assert "UCS-2 · 1 segment" in shown
        assert "right single quotation mark" in shown and "GSM-7 alphabet" in shown


async def test_whatsapp_editor_shows_the_length_not_segments(tmp_path, clock):
    cid = build(tmp_path / "t.db", clock, "whatsapp")
    app = app_for(tmp_path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_reply(pilot, app, cid)
        app.screen.query_one("#editor", TextArea).load_text("Hello 😀")
        await settle(pilot)
        shown = status_text(app)
        assert "WhatsApp · 7 of 4,096 characters" in shown and "segment" not in shown


async def test_a_customer_who_texted_stop_cannot_be_sent_to(tmp_path, clock, monkeypatch):
    monkeypatch.setattr(Store, "phone_opt_out", lambda self, number: "2026-11-20T10:00:00+00:00"
                        if number == CUSTOMER else None, raising=False)
    cid = build(tmp_path / "t.db", clock, "sms")
    app = app_for(tmp_path, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await open_reply(pilot, app, cid)
        assert "texted STOP" in screen_text(app)
        app.screen.query_one("#editor", TextArea).load_text("Hi Tia, we are open")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReplyScreen)  # still in the editor, text kept
        assert app.screen.query_one("#editor", TextArea).text == "Hi Tia, we are open"
        assert any("texted STOP" in n for n in app.notices)
    with Store.open(tmp_path / "t.db", clock=clock) as s:
        assert s.outbox() == []


async def test_whatsapp_outside_the_window_without_a_template_is_refused(tmp_path, clock):
    cid = build(tmp_path / "t.db", clock, "whatsapp", hours_ago=30)
    app = app_for(tmp_path, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await open_reply(pilot, app, cid)
        assert "Outside WhatsApp's 24-hour window" in screen_text(app)
        assert "whatsapp_template_sid" in screen_text(app)
        await pilot.press(*"open", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReplyScreen)
    with Store.open(tmp_path / "t.db", clock=clock) as s:
        assert s.outbox() == []


async def test_whatsapp_outside_the_window_offers_the_template_and_queues_it(tmp_path, clock):
    cid = build(tmp_path / "t.db", clock, "whatsapp", hours_ago=30)
    app = app_for(tmp_path, clock, whatsapp_template_sid="HX" + "1" * 32, whatsapp_template_name="follow_up")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await open_reply(pilot, app, cid)
        assert "approved template «follow_up»" in screen_text(app)
        await pilot.press(*"ready", "ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ReplyScreen)
    with Store.open(tmp_path / "t.db", clock=clock) as s:
        [row] = s.outbox()
        assert json.loads(row["meta"]) == {"whatsapp_template": True}


async def test_whatsapp_inside_the_window_needs_nothing_more(tmp_path, clock):
    cid = build(tmp_path / "t.db", clock, "whatsapp", hours_ago=3)
    app = app_for(tmp_path, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await open_reply(pilot, app, cid)
        assert "24-hour window" not in screen_text(app)
        await pilot.press(*"yes", "ctrl+s")
        await settle(pilot)
    with Store.open(tmp_path / "t.db", clock=clock) as s:
        [row] = s.outbox()
        assert json.loads(row["meta"]) == {}
