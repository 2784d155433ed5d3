"""Texts and missed calls from Twilio, against the contract server over real HTTP (issue 19).

Each test names the behaviour it pins; the server (tests/servers/twilio_api.py) speaks the
documented API, so these fail when the client stops speaking it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest

from owner_tui.config import AccountConfig
from owner_tui.store import Store
from owner_tui.sync import sync_one
from tests.servers.review_apis import FakeTime
from tests.servers.twilio_api import BUSINESS, twilio  # noqa: F401

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ANN, BO, CY = "+15550001111", "+15550002222", "+15550003333"


@pytest.fixture
def db(tmp_path):
    s = Store.open(tmp_path / "t.db", clock=lambda: NOW)
    yield s
    s.close()


def account(server, **over) -> AccountConfig:
    return AccountConfig("shop-phone", "twilio", MappingProxyType(server.options(**over)))


def convs(store) -> dict[str, dict]:
    return {r["external_key"]: r for r in store.db.query("SELECT * FROM conversations")}


def at(minutes: float) -> datetime:
    return NOW - timedelta(hours=6) + timedelta(minutes=minutes)


def test_texts_become_one_sms_conversation_per_customer_waiting_since_the_first(twilio, db):  # noqa: F811
    twilio.add_message(ANN, BUSINESS, "Are you open Sunday?", when=at(0))
    twilio.add_message(ANN, BUSINESS, "And do you take cards?", when=at(5))
    twilio.add_message(BO, BUSINESS, "Thanks for the cake", when=at(10))
    out = sync_one(db, account(twilio))
    assert out.ok and out.new == 3, out.line
    c = convs(db)
    assert set(c) == {f"sms:{ANN}", f"sms:{BO}"}
    assert c[f"sms:{ANN}"]["channel"] == "sms"
    assert c[f"sms:{ANN}"]["waiting_since"] == at(0).isoformat()
    ident = db.db.execute("SELECT channel, handle FROM identities WHERE handle = ?", [ANN]).fetchone()
    assert ident == ("phone", ANN)


def test_an_outbound_text_sent_from_elsewhere_closes_the_wait(twilio, db):  # noqa: F811
    twilio.add_message(ANN, BUSINESS, "Can I book for 4?", when=at(0))
    twilio.add_message(BUSINESS, ANN, "Yes, see you at 7", when=at(20), direction="outbound-api")
    sync_one(db, account(twilio))
    c = convs(db)[f"sms:{ANN}"]
    assert c["waiting_since"] is None and c["last_outbound_at"] == at(20).isoformat()
    out = db.db.execute("SELECT direction, external_id FROM messages WHERE text LIKE 'Yes%'").fetchone()
    assert out[0] == "out" and out[1].startswith("SM")  # the message SID: the sender stores the same id


def test_an_undelivered_outbound_text_does_not_close_the_wait(twilio, db):  # noqa: F811
    twilio.add_message(ANN, BUSINESS, "Hello?", when=at(0))
    twilio.add_message(BUSINESS, ANN, "Hi!", when=at(3), direction="outbound-api", status="undelivered",
                       error_code=30003)
    sync_one(db, account(twilio))
    assert convs(db)[f"sms:{ANN}"]["waiting_since"] == at(0).isoformat()
    noise = db.db.execute("SELECT noise FROM messages WHERE direction = 'out'").fetchone()[0]
    assert "undelivered" in noise and "30003" in noise


def test_whatsapp_is_its_own_channel_on_the_same_contact(twilio, db):  # noqa: F811
    twilio.add_message(ANN, BUSINESS, "sms hi", when=at(0))
    twilio.add_message(f"whatsapp:{ANN}", twilio.whatsapp_from, "wa hi", when=at(1))
    sync_one(db, account(twilio, whatsapp_from=twilio.whatsapp_from))
    c = convs(db)
    assert c[f"whatsapp:{ANN}"]["channel"] == "whatsapp"
    assert c[f"whatsapp:{ANN}"]["contact_id"] == c[f"sms:{ANN}"]["contact_id"]
    assert [s.query.get("To") for s in twilio.requests("GET", "/2010-04-01/Accounts/") if "Messages.json" in s.path
            and "To" in s.query] == [BUSINESS, twilio.whatsapp_from]


def test_mms_media_are_a_count_and_links_and_fetched_only_when_there_are_some(twilio, db):  # noqa: F811
    mms = twilio.add_message(ANN, BUSINESS, "The crack in the cup", when=at(0), media=["image/jpeg", "image/png"])
    twilio.add_message(BO, BUSINESS, "plain", when=at(1))
    sync_one(db, account(twilio))
    text, extra = db.db.execute("SELECT text, extra FROM messages WHERE external_id = ?", [mms["sid"]]).fetchone()
    assert "2 attachments:" in text and "image/png" in text
    assert f"{twilio.url}/2010-04-01/Accounts/{twilio.account_sid}/Messages/{mms['sid']}/Media/ME" in text
    assert '"num_media": 2' in extra
    media_calls = [s.path for s in twilio.requests("GET") if s.path.endswith("/Media.json")]
    assert media_calls == [f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/{mms['sid']}/Media.json"]


def test_paging_follows_next_page_uri_and_a_second_sync_asks_from_the_cursor(twilio, db):  # noqa: F811
    for i in range(7):
        twilio.add_message(f"+1555000{1000 + i}", BUSINESS, f"msg {i}", when=at(i))
    out = sync_one(db, account(twilio, page_size=3))
    assert out.new == 7
    pages = [s for s in twilio.requests("GET") if s.path.endswith("/Messages.json") and s.query.get("To") == BUSINESS]
    assert len(pages) == 3 and pages[1].query.get("PageToken")  # the link Twilio gave, as given
    assert "DateSent>" not in pages[0].query  # the first sync reads everything
    state = db.sync_state(out.details.account_id, f"messages:to:{BUSINESS}")
    assert state["high_water"] == at(6).isoformat() and state["page_token"] is None
    twilio.log.clear()
    again = sync_one(db, account(twilio, page_size=3))
    assert again.ok and again.new == 0
    first = next(s for s in twilio.requests("GET") if s.path.endswith("/Messages.json") and s.query.get("To") == BUSINESS)
    assert first.query["DateSent>"] == (at(6) - timedelta(days=1)).strftime("%Y-%m-%d")


def test_a_pass_stopped_mid_way_resumes_from_the_saved_page_and_misses_nothing(twilio, db):  # noqa: F811
    from owner_tui.sources.reviews.sync import StoreCursors
    from owner_tui.sources.twilio.sync import pull

    for i in range(6):
        twilio.add_message(f"+1555000{2000 + i}", BUSINESS, f"m{i}", when=at(i))
    acc = account(twilio, page_size=2, calls=False)
    acc_id = db.ensure_account("twilio", acc.name)
    gen = pull(acc.options, lambda s: twilio.auth_token, StoreCursors(db, acc_id))
    batch, cursor = next(gen)  # one page stored, then the "crash"
    db.ingest(acc_id, batch, cursor)
    gen.close()
    assert cursor.page_token and cursor.high_water is None  # the high water waits for the whole pass
    twilio.log.clear()
    out = sync_one(db, acc)
    assert out.ok
    assert db.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 6
    first = next(s for s in twilio.requests("GET") if s.path.endswith("/Messages.json"))
    assert first.query.get("PageToken")  # resumed at the saved page, not from the top


def test_stop_opts_out_is_noise_and_start_opts_back_in_and_help_is_a_message(twilio, db):  # noqa: F811
    twilio.add_message(ANN, BUSINESS, "  stop ", when=at(0))
    twilio.add_message(BO, BUSINESS, "HELP", when=at(0))
    twilio.add_message(CY, BUSINESS, "Stop sending me the menu please", when=at(0))
    sync_one(db, account(twilio))
    c = convs(db)
    assert db.phone_opt_out(ANN) == at(0).isoformat()
    assert db.phone_opt_out_keyword(ANN) == "STOP"
    assert c[f"sms:{ANN}"]["waiting_since"] is None
    assert db.db.execute("SELECT noise FROM messages WHERE text = '  stop '").fetchone()[0] == "opted out (STOP)"
    assert c[f"sms:{BO}"]["waiting_since"] is not None and db.phone_opt_out(BO) is None
    assert c[f"sms:{CY}"]["waiting_since"] is not None and db.phone_opt_out(CY) is None
    twilio.add_message(ANN, BUSINESS, "Start", when=at(30))
    sync_one(db, account(twilio))
    assert db.phone_opt_out(ANN) is None
    assert db.phone_opt_out("(555) 000-1111") is None  # any way of writing the number


def test_the_latest_keyword_wins_whatever_order_they_are_stored_in(db):
    from owner_tui.records import MessageRecord

    acc = db.ensure_account("twilio", "t")

    def rec(sid, text, when):
        return MessageRecord(external_id=sid, channel="sms", direction="in", sent_at=when.isoformat(),
                             sender_handle=ANN, text=text, thread_key=f"sms:{ANN}")
    db.ingest(acc, [rec("SM2", "START", at(10))])
    db.ingest(acc, [rec("SM1", "STOP", at(0))])  # older, synced later
    assert db.phone_opt_out(ANN) is None
    db.ingest(acc, [rec("SM3", "unsubscribe", at(20))])
    assert db.phone_opt_out(ANN) == at(20).isoformat()


def test_429_with_retry_after_is_waited_out_and_5xx_retried(twilio, db):  # noqa: F811
    from owner_tui.sources.twilio.sync import sync_account

    ft = FakeTime()
    twilio.add_message(ANN, BUSINESS, "hi", when=at(0))
    twilio.rate_limit("/2010-04-01/Accounts", retry_after="7")
    twilio.fault("GET", "/2010-04-01/Accounts", 503, {"code": 20503, "message": "Service Unavailable",
                                                       "more_info": "", "status": 503})
    s = sync_account(db, account(twilio), runtime=ft.runtime(),
                     secrets_getter=lambda name: twilio.auth_token)
    assert s.error is None and s.new == 1
    assert 7.0 in ft.sleeps  # Retry-After honoured


def test_rate_limited_for_good_is_a_temporary_error_in_words(twilio, db):  # noqa: F811
    from owner_tui.sources.twilio.sync import sync_account

    ft = FakeTime()
    twilio.rate_limit("/2010-04-01/Accounts", retry_after=None, count=50)
    s = sync_account(db, account(twilio), runtime=ft.runtime(), secrets_getter=lambda name: twilio.auth_token)
    assert s.retryable and s.error_kind == "rate"
    assert "Twilio error 20429" in s.error and "too many requests" in s.error
    assert ft.sleeps and ft.sleeps == sorted(ft.sleeps)  # backed off, never at once


def test_a_wrong_token_is_wrong_credentials_in_health_and_never_shows_the_token(twilio, db, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TWILIO_TEST_TOKEN", "wrong-token-12345678")
    out = sync_one(db, account(twilio))
    assert not out.ok and out.error_kind == "credentials" and not out.temporary
    assert "Twilio error 20003" in out.line and "wrong-token" not in out.line
    from owner_tui.config import Config

    h = db.health(Config(accounts=(account(twilio),)), now=NOW)
    a = h.accounts[0]
    assert a.state == "failing" and a.error_kind == "credentials" and "Account SID" in a.advice
    raw = (db.path.read_bytes() + db.path.with_name(db.path.name + "-wal").read_bytes())
    assert b"wrong-token" not in raw and twilio.auth_token.encode() not in raw


def test_test_credentials_and_unknown_resources_have_their_own_words(twilio, db):  # noqa: F811
    twilio.test_credentials = True
    out = sync_one(db, account(twilio))
    assert "test credentials" in out.line and "20008" in out.line and not out.temporary


# -- missed calls -----------------------------------------------------------------------------

def test_a_missed_call_waits_for_a_call_back_with_its_number(twilio, db):  # noqa: F811
    twilio.add_call(ANN, BUSINESS, status="no-answer", when=at(0))
    twilio.add_call(BO, BUSINESS, status="busy", when=at(1))
    sync_one(db, account(twilio))
    c = convs(db)
    assert c[f"call:{ANN}"]["channel"] == "call" and c[f"call:{ANN}"]["waiting_since"] == at(0).isoformat()
    assert c[f"call:{ANN}"]["excerpt"] == "Missed call (no answer), 0:00"
    assert c[f"call:{BO}"]["excerpt"] == "Missed call (busy), 0:00"


def test_a_voicemail_waits_with_its_recording_link_and_transcription(twilio, db):  # noqa: F811
    call = twilio.add_call(ANN, BUSINESS, status="completed", when=at(0), duration=25)
    rec = twilio.add_recording(call["sid"], duration=14, transcription="Hi it's Ann, please call me back")
    sync_one(db, account(twilio))
    c = convs(db)[f"call:{ANN}"]
    assert c["waiting_since"] == at(0).isoformat()
    text = db.db.execute("SELECT text FROM messages WHERE external_id = ?", [call["sid"]]).fetchone()[0]
    assert text.startswith("Voicemail, 0:14")
    assert f"Recording: {rec['media_url']}" in text
    assert "Transcription: Hi it's Ann, please call me back" in text


def test_a_transcription_still_in_progress_is_not_shown(twilio, db):  # noqa: F811
    call = twilio.add_call(ANN, BUSINESS, status="completed", when=at(0))
    twilio.add_recording(call["sid"], transcription="partial", transcription_status="in-progress")
    twilio.transcriptions[-1]["transcription_text"] = "partial"  # even if Twilio shows the text so far
    sync_one(db, account(twilio))
    text = db.db.execute("SELECT text FROM messages WHERE external_id = ?", [call["sid"]]).fetchone()[0]
    assert "Transcription" not in text and "partial" not in text


def test_an_answered_call_is_not_waiting_and_closes_an_earlier_missed_one(twilio, db):  # noqa: F811
    twilio.add_call(ANN, BUSINESS, status="completed", when=at(0), duration=95)
    twilio.add_call(BO, BUSINESS, status="no-answer", when=at(1))
    twilio.add_call(BO, BUSINESS, status="completed", when=at(30), duration=60)
    sync_one(db, account(twilio))
    c = convs(db)
    assert c[f"call:{ANN}"]["waiting_since"] is None
    assert c[f"call:{BO}"]["waiting_since"] is None


def test_a_forwarded_call_nobody_took_is_missed(twilio, db):  # noqa: F811
    parent = twilio.add_call(ANN, BUSINESS, status="completed", when=at(0), duration=30)
    twilio.add_call(BUSINESS, "+15559990000", status="no-answer", when=at(0), direction="outbound-dial",
                    parent_call_sid=parent["sid"])
    sync_one(db, account(twilio))
    c = convs(db)
    assert c[f"call:{ANN}"]["waiting_since"] == at(0).isoformat()
    assert "call:+15559990000" not in c  # the forwarded leg is not a customer


def test_a_call_back_closes_the_wait_and_an_unanswered_one_does_not(twilio, db):  # noqa: F811
    twilio.add_call(ANN, BUSINESS, status="no-answer", when=at(0))
    twilio.add_call(BUSINESS, ANN, status="completed", when=at(10), duration=40, direction="outbound-api")
    twilio.add_call(BO, BUSINESS, status="no-answer", when=at(0))
    twilio.add_call(BUSINESS, BO, status="no-answer", when=at(10), direction="outbound-api")
    sync_one(db, account(twilio))
    c = convs(db)
    assert c[f"call:{ANN}"]["waiting_since"] is None
    assert c[f"call:{BO}"]["waiting_since"] == at(0).isoformat()


@pytest.mark.parametrize("text_first", [True, False])
def test_a_text_back_closes_a_missed_call_in_either_sync_order(db, text_first):
    """The store, not the source: an outbound text to the number after the missed call is the
    reply, whichever of the two is stored first; and a full recompute agrees."""
    from owner_tui.records import MessageRecord
    from owner_tui.store.ingest import rebuild_conversation

    acc = db.ensure_account("twilio", "t")
    call = MessageRecord(external_id="CA1", channel="call", direction="in", sent_at=at(0).isoformat(),
                         sender_handle=ANN, text="Missed call (no answer), 0:00", thread_key=f"call:{ANN}")
    text = MessageRecord(external_id="SM1", channel="sms", direction="out", sent_at=at(5).isoformat(),
                         sender_handle=ANN, recipients=(ANN,), text="Sorry I missed you", thread_key=f"sms:{ANN}")
    early = MessageRecord(external_id="SM0", channel="sms", direction="out", sent_at=at(-5).isoformat(),
                          sender_handle=ANN, recipients=(ANN,), text="earlier text", thread_key=f"sms:{ANN}")
    db.ingest(acc, [early])
    for rec in ([text, call] if text_first else [call, text]):
        db.ingest(acc, [rec])
    conv = convs(db)[f"call:{ANN}"]
    assert conv["waiting_since"] is None and conv["last_outbound_at"] == at(5).isoformat()
    with db.write():
        state = rebuild_conversation(db, conv["id"])
    assert state.waiting_since is None
    # an earlier text alone does not answer a later missed call
    db.ingest(acc, [MessageRecord(external_id="CA2", channel="call", direction="in", sent_at=at(9).isoformat(),
                                  sender_handle=ANN, text="Missed call (busy), 0:00", thread_key=f"call:{ANN}")])
    assert convs(db)[f"call:{ANN}"]["waiting_since"] == at(9).isoformat()


def test_sync_is_idempotent_and_equals_a_full_recompute(twilio, db):  # noqa: F811
    from owner_tui.store.ingest import rebuild_conversation

    twilio.add_message(ANN, BUSINESS, "hi", when=at(0))
    twilio.add_call(ANN, BUSINESS, status="no-answer", when=at(1))
    twilio.add_message(BUSINESS, ANN, "call you soon", when=at(2), direction="outbound-api")
    twilio.add_call(BO, BUSINESS, status="busy", when=at(3))
    sync_one(db, account(twilio))
    sync_one(db, account(twilio, lookback_days=30))
    assert db.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 4
    before = {k: (v["waiting_since"], v["last_outbound_at"]) for k, v in convs(db).items()}
    with db.write():
        for cid in [r[0] for r in db.db.execute("SELECT id FROM conversations")]:
            rebuild_conversation(db, cid)
    assert {k: (v["waiting_since"], v["last_outbound_at"]) for k, v in convs(db).items()} == before
    assert before[f"call:{ANN}"][0] is None and before[f"call:{BO}"][0] is not None


def test_api_key_auth_is_used_when_configured(twilio, db):  # noqa: F811
    import base64

    twilio.add_message(ANN, BUSINESS, "hi", when=at(0))
    opts = {k: v for k, v in twilio.options().items() if k != "auth_token_env"}
    acc = AccountConfig("k", "twilio", MappingProxyType({**opts, "api_key_sid": twilio.api_key_sid,
                                                        "api_key_secret_env": "TWILIO_TEST_KEY_SECRET"}))
    assert sync_one(db, acc).ok
    auth = twilio.requests("GET")[0].headers["authorization"]
    assert base64.b64decode(auth[6:]).decode().startswith(twilio.api_key_sid + ":")


def test_a_twiml_auto_reply_does_not_close_the_wait(twilio, db):  # noqa: F811
    twilio.add_message(ANN, BUSINESS, "Do you deliver?", when=at(0))
    twilio.add_message(BUSINESS, ANN, "Thanks for your text! We'll reply soon.", when=at(0.1),
                       direction="outbound-reply")
    sync_one(db, account(twilio))
    assert convs(db)[f"sms:{ANN}"]["waiting_since"] == at(0).isoformat()


@pytest.mark.parametrize("status, code, words, kind", [
    (404, 20404, "Twilio has no such resource for this account (Twilio error 20404)", "notfound"),
    (403, 20008, "test credentials", "credentials"),
    (403, 21408, "no permission for that region", "permission"),
    (400, 29999, "Twilio refused the request (HTTP 400): Something new", "protocol"),
])
def test_twilio_error_codes_on_reads_have_their_own_words(twilio, db, status, code, words, kind):  # noqa: F811
    twilio.fault("GET", f"/2010-04-01/Accounts/{twilio.account_sid}/Calls.json", status,
                 {"code": code, "message": "Something new", "more_info": "", "status": status})
    out = sync_one(db, account(twilio))
    assert not out.ok and words in out.line and out.error_kind == kind and not out.temporary, out.line
    state = db.sync_state(out.details.account_id, f"calls:to:{BUSINESS}")
    assert words in state["last_error"]  # the feed that failed carries the words


def test_a_missing_token_variable_is_a_secret_problem_not_twilios(twilio, db, monkeypatch):  # noqa: F811
    monkeypatch.delenv("TWILIO_TEST_TOKEN")
    out = sync_one(db, account(twilio))
    assert not out.ok and out.error_kind == "secret" and "TWILIO_TEST_TOKEN is not set" in out.line
    assert twilio.requests() == []  # nothing went on the wire without credentials


def test_a_saved_page_link_twilio_no_longer_takes_restarts_the_pass(twilio, db):  # noqa: F811
    import json as _json

    from owner_tui.records import Cursor

    twilio.add_message(ANN, BUSINESS, "hi", when=at(0))
    acc = account(twilio, calls=False)
    acc_id = db.ensure_account("twilio", acc.name)
    gone = f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/Gone.json?Page=3&PageToken=PAexpired"
    db.save_cursor(acc_id, Cursor(folder=f"messages:to:{BUSINESS}", page_token=_json.dumps({"next": gone})))
    out = sync_one(db, acc)
    assert out.ok and out.new == 1, out.line
    assert [s.path.rsplit("/", 1)[-1] for s in twilio.requests("GET")][:2] == ["Gone.json", "Messages.json"]
