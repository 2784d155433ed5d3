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
from tests.servers.twilio_api import twilio  # noqa: F401
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


# -- the conversation: the number, its copy key, delivery -------------------------------------------

async def open_conversation(pilot, app, cid: int):
    from owner_tui.screens.conversation import ConversationScreen

    await app.push_screen(ConversationScreen(cid))
    await settle(pilot)
    return app.screen


def tel_links(app) -> set[str]:
    header = app.screen.query_one("#conv-header")
    links = set()
    for strip in header.render_lines(header.region.reset_offset):
        for seg in strip:
            if seg.style is not None and seg.style.link:
                links.add(seg.style.link)
    return links


async def test_a_missed_call_shows_the_number_as_a_tel_link_and_c_copies_it(tmp_path, clock):
    cid = build(tmp_path / "t.db", clock, "call", text="Missed call (no answer)")
    app = app_for(tmp_path, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await open_conversation(pilot, app, cid)
        text = screen_text(app)
        assert f"☎ {CUSTOMER}" in text and "c copies the number; call them back" in text
        assert tel_links(app) == {f"tel:{CUSTOMER}"}
        assert "Copy number" in str(app.screen.query_one("KeyFooter").render())
        await pilot.press("c")
        await settle(pilot)
        assert app.clipboard == CUSTOMER
        assert any(f"Copied {CUSTOMER}" in n for n in app.notices)


async def test_a_hostile_number_is_neither_linked_nor_copied(tmp_path, clock):
    cid = build(tmp_path / "t.db", clock, "call", customer="+1555\x1b]8;;http://evil\x07call", name="")
    app = app_for(tmp_path, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await open_conversation(pilot, app, cid)
        screen_text(app)  # asserts no escape reaches the terminal
        assert tel_links(app) == set()
        assert "Copy number" not in str(app.screen.query_one("KeyFooter").render())
        await pilot.press("c")
        await settle(pilot)
        assert app.clipboard != "+1555\x1b]8;;http://evil\x07call"


async def test_an_email_conversation_has_no_copy_number_key(tmp_path, clock):
    from tests.tui_support import build_store

    ids = build_store(tmp_path / "t.db", clock)
    app = app_for(tmp_path, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await open_conversation(pilot, app, ids["ann"])
        assert "Copy number" not in str(app.screen.query_one("KeyFooter").render())
        assert tel_links(app) == set()


async def test_delivery_is_shown_in_the_conversation_and_the_status_line(twilio, tmp_path, monkeypatch):  # noqa: F811
    import os

    from tests.servers.twilio_api import BUSINESS as SERVER_NUMBER

    clock = FrozenClock()
    from datetime import UTC, datetime

    clock.now = datetime.now(UTC).replace(microsecond=0)  # the server's clock is real
    cid = build(tmp_path / "t.db", clock, "sms", to=SERVER_NUMBER)
    twilio.plans.append([("queued", None), ("undelivered", 30007)])
    accounts = (AccountConfig(name="texts", kind="twilio", options=twilio.options()),)
    cfg = Config(owner=OwnerConfig(name="Sam"), accounts=accounts, send=SendConfig(undo_seconds=0))
    assert os.environ["TWILIO_TEST_TOKEN"] == twilio.auth_token
    app = OwnerApp(tmp_path / "t.db", cfg, clock=clock, exports_dir=tmp_path / "exports")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await open_reply(pilot, app, cid)
        app.screen.query_one("#editor", TextArea).load_text("We are open 9-5")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert len(twilio.requests("POST")) == 1
        await open_conversation(pilot, app, cid)
        assert "your last text: queued at Twilio" in screen_text(app)
        twilio.advance()
        with Store.open(tmp_path / "t.db", clock=clock) as s:
            s.db.execute("UPDATE outbox SET delivery_next = '2000-01-01T00:00:00+00:00'")
        app._poll_delivery()
        await settle(pilot)
        assert any("Text to Tia Tran: undelivered: the carrier rejected the message" in n and "(30007)" in n
                   for n in app.notices), list(app.notices)
        await app.screen.load(cid)
        await settle(pilot)
        text = screen_text(app)
        assert "your reply was not sent: not delivered (undelivered: the carrier rejected" in text
        assert "1h  Tia Tran" in text  # the age badge: the customer waits again
        assert "outbox 1 failed" in text
    with Store.open(tmp_path / "t.db", clock=clock) as s:
        assert s.conversation(cid)["waiting_since"] is not None


async def test_a_delivered_text_is_said_on_the_status_line(twilio, tmp_path):  # noqa: F811
    from datetime import UTC, datetime

    from tests.servers.twilio_api import BUSINESS as SERVER_NUMBER

    clock = FrozenClock()
    clock.now = datetime.now(UTC).replace(microsecond=0)
    cid = build(tmp_path / "t.db", clock, "sms", to=SERVER_NUMBER)
    accounts = (AccountConfig(name="texts", kind="twilio", options=twilio.options()),)
    cfg = Config(owner=OwnerConfig(name="Sam"), accounts=accounts, send=SendConfig(undo_seconds=0))
    app = OwnerApp(tmp_path / "t.db", cfg, clock=clock, exports_dir=tmp_path / "exports")
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await open_reply(pilot, app, cid)
        app.screen.query_one("#editor", TextArea).load_text("See you")
        await pilot.press("ctrl+s")
        await settle(pilot)
        twilio.advance(steps=2)  # queued -> sent -> delivered
        with Store.open(tmp_path / "t.db", clock=clock) as s:
            s.db.execute("UPDATE outbox SET delivery_next = '2000-01-01T00:00:00+00:00'")
        app._poll_delivery()
        await settle(pilot)
        assert app.current_notice() == "Text to Tia Tran: delivered."
        assert "Text to Tia Tran: delivered." in screen_text(app)
        with Store.open(tmp_path / "t.db", clock=clock) as s:
            assert [r["delivery"] for r in s.outbox()] == ["delivered"]
