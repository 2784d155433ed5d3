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
