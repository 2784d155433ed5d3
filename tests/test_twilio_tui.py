"""Texts and calls in the TUI (issue 19): a hostile SMS body, caller name and voicemail
transcription, synced from the contract server, are inert in the list and the conversation;
the phone-number merge suggestion reaches the merge dialog's data."""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

from owner_tui.config import AccountConfig
from owner_tui.records import MessageRecord
from owner_tui.store import Store
from owner_tui.sync import sync_one
from owner_tui.tui.app import OwnerApp
from tests.servers.twilio_api import BUSINESS, twilio  # noqa: F401
from tests.test_tui_hostile import HOSTILE, check
from tests.tui_support import FrozenClock, config, settle


async def test_hostile_texts_callers_and_transcriptions_are_inert(twilio, tmp_path):  # noqa: F811
    clock = FrozenClock()
    twilio.add_message("+15550001111", BUSINESS, f"Text {HOSTILE}", when=clock.now - timedelta(hours=2))
    call = twilio.add_call("+15550002222", BUSINESS, status="completed", when=clock.now - timedelta(hours=3))
    call["caller_name"] = HOSTILE
    twilio.add_recording(call["sid"], transcription=f"Voice {HOSTILE}")
    path = tmp_path / "t.db"
    with Store.open(path, config=config(), clock=clock) as store:
        assert sync_one(store, AccountConfig("phone", "twilio", MappingProxyType(twilio.options()))).ok
    app = OwnerApp(path, config(), clock=clock, exports_dir=tmp_path / "exports")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        text = check(app)
        assert "call" in text and "sms" in text
        await pilot.press("home", "enter")  # the oldest wait: the voicemail
        await settle(pilot)
        text = check(app)
        assert "Voicemail" in text and "Transcription: Voice" in text
        await pilot.press("escape", "end", "enter")
        await settle(pilot)
        assert "Text" in check(app)


async def test_the_conversation_suggests_merging_a_contact_with_the_same_number(tmp_path):
    clock = FrozenClock()
    path = tmp_path / "s.db"
    with Store.open(path, config=config(), clock=clock) as store:
        phone = store.ensure_account("twilio", "phone")
        google = store.ensure_account("google", "g")
        store.ingest(phone, [MessageRecord(external_id="SM1", channel="sms", direction="in",
                                           sent_at=(clock.now - timedelta(hours=1)).isoformat(),
                                           sender_handle="+14155552671", text="Is my order ready?",
                                           thread_key="sms:+14155552671")])
        store.ingest(google, [MessageRecord(external_id="r1", channel="google", direction="in",
                                            sent_at=(clock.now - timedelta(hours=5)).isoformat(),
                                            sender_handle="google:zed", sender_name="Zed [b]Q[/b]", rating=2,
                                            thread_key="r1", text="Cold coffee. Call me on (415) 555-2671.")])
    app = OwnerApp(path, config(), clock=clock, exports_dir=tmp_path / "exports")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("end", "enter")  # the text (the newest wait)
        await settle(pilot)
        text = check(app)
        assert "same phone number as Zed [b]Q[/b]: M merges the contacts" in text


def test_the_merge_dialog_offers_the_reviewer_who_gave_the_texters_number(tmp_path):
    from owner_tui.screens.merge import merge_context

    with Store.open(tmp_path / "m.db", config=config()) as store:
        phone = store.ensure_account("twilio", "phone")
        google = store.ensure_account("google", "g")
        store.ingest(phone, [MessageRecord(external_id="SM1", channel="sms", direction="in",
                                           sent_at="2026-11-20T10:00:00+00:00", sender_handle="+14155552671",
                                           text="Is my order ready?", thread_key="sms:+14155552671")])
        store.ingest(google, [MessageRecord(external_id="r1", channel="google", direction="in",
                                            sent_at="2026-11-20T09:00:00+00:00", sender_handle="google:zed",
                                            sender_name="Zed Q", rating=2, thread_key="r1",
                                            text="Cold coffee. Call me on (415) 555-2671.")])
        sms_conv = store.db.execute("SELECT id FROM conversations WHERE channel = 'sms'").fetchone()[0]
        info = merge_context(store, sms_conv)
        assert [s["name"] for s in info["suggestions"]] == ["Zed Q"]
        assert info["suggestions"][0]["why"] == "same phone number"
        review_conv = store.db.execute("SELECT id FROM conversations WHERE channel = 'google'").fetchone()[0]
        assert [s["name"] for s in merge_context(store, review_conv)["suggestions"]] == ["+1 415-555-2671"]
