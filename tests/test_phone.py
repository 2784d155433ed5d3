"""Phone numbers as one form (E.164) and one contact per number (issue 19)."""

from __future__ import annotations

import pytest

from owner_tui.phone import is_opt_in, is_opt_out, keyword, numbers_in, to_e164
from owner_tui.records import MessageRecord
from owner_tui.store import Store


@pytest.mark.parametrize("text, region, want", [
    ("+1 (415) 555-2671", "US", "+14155552671"),
    ("415.555.2671", "US", "+14155552671"),
    ("whatsapp:+14155552671", "US", "+14155552671"),
    ("phone:4155552671", "US", "+14155552671"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("06 12 34 56 78", "FR", "+33612345678"),
    ("+15551234567", "FR", "+15551234567"),  # a +code wins over the region
    ("hello", "US", None),
    ("12", "US", None),
    ("", "US", None),
])
def test_to_e164(text, region, want):
    assert to_e164(text, region) == want


def test_keywords_are_the_whole_body_trimmed_and_any_case():
    assert is_opt_out(" Stop ") and is_opt_out("unsubscribe") and is_opt_out("STOPALL") and is_opt_out("optout")
    assert not is_opt_out("stop it please") and not is_opt_out("HELP") and not is_opt_out("")
    assert is_opt_in("start") and is_opt_in("UNSTOP") and keyword("yes") == "YES"


def test_numbers_in_text():
    assert numbers_in("Call me on 415-555-2671 or +44 20 7946 0958, order 2026-11-22") == [
        "+14155552671", "+442079460958"]
    assert numbers_in("nothing here 12") == []


def _rec(ext, channel, handle, text="hi", **kw):
    return MessageRecord(external_id=ext, channel=channel, direction="in", sent_at="2026-11-20T10:00:00+00:00",
                         sender_handle=handle, text=text, thread_key=kw.pop("thread_key", f"{channel}:{handle}"), **kw)


def test_a_texter_a_caller_and_a_feedback_form_phone_are_one_contact(tmp_path):
    with Store.open(tmp_path / "p.db") as store:
        phone = store.ensure_account("twilio", "phone")
        onsite = store.ensure_account("onsite", "on-site")
        store.ingest(phone, [_rec("SM1", "sms", "+14155552671"), _rec("CA1", "call", "+14155552671")])
        store.ingest(phone, [_rec("SM2", "whatsapp", "+14155552671")])
        store.ingest(onsite, [_rec("fb1", "on-site", "phone:(415)5552671", sender_name="Ann B", rating=2,
                                   thread_key="fb1")])
        contacts = {r[0] for r in store.db.execute("SELECT contact_id FROM conversations")}
        assert len(contacts) == 1
        (cid,) = contacts
        assert store.db.execute("SELECT name FROM contacts WHERE id = ?", [cid]).fetchone()[0] == "Ann B"
        assert store.contact_phones(cid) == {"+14155552671"}


def test_a_phone_contact_is_named_by_its_number_until_a_name_arrives(tmp_path):
    with Store.open(tmp_path / "n.db") as store:
        phone = store.ensure_account("twilio", "phone")
        store.ingest(phone, [_rec("SM1", "sms", "+14155552671")])
        assert store.db.execute("SELECT name FROM contacts").fetchone()[0] == "+1 415-555-2671"
        store.ingest(phone, [_rec("CA1", "call", "+14155552671", sender_name="ANN BAKER")])  # caller id
        assert store.db.execute("SELECT name FROM contacts").fetchone()[0] == "ANN BAKER"


def test_the_demo_has_texts_whatsapp_and_a_voicemail_and_a_text_back_closes_a_missed_call(tmp_path):
    from datetime import UTC, datetime

    from owner_tui.demo import build_demo

    with Store.open(tmp_path / "d.db") as store:
        counts = build_demo(store, datetime(2026, 12, 1, 12, tzinfo=UTC))
        assert counts["sms"] >= 4 and counts["whatsapp"] >= 1 and counts["call"] >= 2
        rows = {r[0]: r[1] for r in store.db.execute("SELECT external_key, waiting_since FROM conversations "
                                                   "WHERE channel IN ('sms', 'whatsapp', 'call')")}
        assert rows["call:+447700900321"] is not None  # the voicemail waits for a call back
        assert rows["call:+447700900456"] is None  # answered by the text "Yes! One is put aside..."
        text = store.db.execute("SELECT text FROM messages").fetchall()
        assert any("Transcription: Hi, this is Dev" in t[0] for t in text)
        tom = {r[0] for r in store.db.execute("SELECT c.contact_id FROM conversations c JOIN contacts ct ON "
                                              "ct.id = c.contact_id WHERE ct.name = 'Tom'")}
        assert len(tom) == 1  # the feedback form's phone and the texts: one contact
        assert store.phone_opt_out("+447700900999")


def test_the_upgrade_turns_an_old_feedback_phone_into_a_phone_identity(tmp_path):
    """A store from before issue 19 kept a feedback form's phone as ("on-site", "phone:+..."):
    after the upgrade a text from that number joins the same contact."""
    from owner_tui.store.schema import migrations

    path = tmp_path / "old.db"
    with Store.open(path) as store:
        with store.write():
            cid = store.db.execute("INSERT INTO contacts (name, created_at) VALUES ('Old Tom', '2026-01-01')").lastrowid
            store.db.execute("INSERT INTO identities (contact_id, channel, handle) VALUES (?, 'on-site', "
                             "'phone:+447700900123')", [cid])
            store.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm009_phone_contacts'")
            store.db.execute("DROP TABLE phone_opt_outs")
            store.db.execute("DROP TABLE phone_mentions")
    assert any(m.name == "m009_phone_contacts" for m in migrations._migrations)
    with Store.open(path) as store:
        phone = store.ensure_account("twilio", "phone")
        store.ingest(phone, [_rec("SM1", "sms", "+447700900123")])
        assert store.db.execute("SELECT contact_id FROM conversations").fetchone()[0] == cid
