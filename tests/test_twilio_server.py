"""The Twilio contract server answers as Twilio documents (tests/servers/TWILIO.md).

These check the server, not the client: the shapes the clients rely on (the list envelope,
paging by ``next_page_uri``, RFC 2822 dates, the error body), so a change to the server that
breaks the contract fails here first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from tests.servers.twilio_api import API, BUSINESS, TEMPLATE_SID, twilio  # noqa: F401

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _client(server, user=None, secret=None) -> httpx.Client:
    return httpx.Client(base_url=server.url, auth=(user or server.account_sid, secret or server.auth_token))


def test_auth_token_and_api_key_work_and_a_wrong_secret_is_20003(twilio):  # noqa: F811
    acct = f"{API}/Accounts/{twilio.account_sid}.json"
    assert _client(twilio).get(acct).json()["status"] == "active"
    assert _client(twilio, twilio.api_key_sid, twilio.api_key_secret).get(acct).status_code == 200
    bad = _client(twilio, secret="nope").get(acct)
    assert bad.status_code == 401
    assert bad.json() == {"code": 20003, "message": "Authenticate",
                          "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}


def test_messages_list_filters_pages_and_dates(twilio):  # noqa: F811
    for i in range(5):
        twilio.add_message("+15550000001", BUSINESS, f"hi {i}", when=T0 + timedelta(minutes=i))
    twilio.add_message("+15550000002", BUSINESS, "old", when=T0 - timedelta(days=3))
    twilio.add_message(BUSINESS, "+15550000001", "reply", when=T0 + timedelta(hours=1), direction="outbound-api")
    c = _client(twilio)
    url = f"{API}/Accounts/{twilio.account_sid}/Messages.json"
    page = c.get(url, params={"To": BUSINESS, "PageSize": 2, "DateSent>": "2026-12-01"}).json()
    seen = []
    while True:
        assert set(page) >= {"messages", "page", "page_size", "first_page_uri", "next_page_uri",
                             "previous_page_uri", "uri", "start", "end"}
        seen += page["messages"]
        if page["next_page_uri"] is None:
            break
        page = c.get(page["next_page_uri"]).json()
    assert [m["body"] for m in seen] == [f"hi {i}" for i in (4, 3, 2, 1, 0)]  # newest first
    m = seen[0]
    assert m["sid"].startswith("SM") and len(m["sid"]) == 34 and m["direction"] == "inbound"
    assert m["date_sent"] == "Tue, 01 Dec 2026 09:34:00 +0000"
    assert parsedate_to_datetime(m["date_sent"]) == T0 + timedelta(minutes=4)
    assert m["num_media"] == "0" and m["status"] == "received"
    assert c.get(url, params={"From": BUSINESS}).json()["messages"][0]["body"] == "reply"
    assert len(c.get(url, params={"DateSent<": "2026-11-30"}).json()["messages"]) == 1


def test_a_sent_message_is_listed_and_moves_along_its_plan(twilio):  # noqa: F811
    c = _client(twilio)
    url = f"{API}/Accounts/{twilio.account_sid}/Messages.json"
    twilio.plans.append([("queued", None), ("sent", None), ("undelivered", 30003)])
    r = c.post(url, data={"To": "+15550000009", "From": BUSINESS, "Body": "Thanks!"})
    assert r.status_code == 201 and r.json()["status"] == "queued" and r.json()["date_sent"] is None
    sid = r.json()["sid"]
    assert [m["sid"] for m in c.get(url, params={"To": "+15550000009"}).json()["messages"]] == [sid]
    twilio.advance(sid, 2)
    m = c.get(f"{API}/Accounts/{twilio.account_sid}/Messages/{sid}.json").json()
    assert (m["status"], m["error_code"]) == ("undelivered", 30003)


def test_send_errors_opt_out_window_and_rate_limit(twilio):  # noqa: F811
    c = _client(twilio)
    url = f"{API}/Accounts/{twilio.account_sid}/Messages.json"
    twilio.opted_out.add("+15550000003")
    r = c.post(url, data={"To": "+15550000003", "From": BUSINESS, "Body": "x"})
    assert (r.status_code, r.json()["code"]) == (400, 21610)
    assert c.post(url, data={"To": "12", "From": BUSINESS, "Body": "x"}).json()["code"] == 21211
    wa = "whatsapp:+15550000004"
    r = c.post(url, data={"To": wa, "From": twilio.whatsapp_from, "Body": "late"})
    twilio.advance()
    assert c.get(f"{API}/Accounts/{twilio.account_sid}/Messages/{r.json()['sid']}.json").json()["error_code"] == 63016
    twilio.window_mode = "sync"
    assert c.post(url, data={"To": wa, "From": twilio.whatsapp_from, "Body": "late"}).json()["code"] == 63016
    assert c.post(url, data={"To": wa, "From": twilio.whatsapp_from, "ContentSid": TEMPLATE_SID}).status_code == 201
    twilio.rate_limit(retry_after="3")
    r = c.get(url)
    assert (r.status_code, r.headers["retry-after"], r.json()["code"]) == (429, "3", 20429)


def test_calls_recordings_transcriptions_media_and_numbers(twilio):  # noqa: F811
    c = _client(twilio)
    base = f"{API}/Accounts/{twilio.account_sid}"
    call = twilio.add_call("+15550000005", BUSINESS, status="completed", when=T0, duration=40)
    rec = twilio.add_recording(call["sid"], transcription="Please call me back")
    calls = c.get(f"{base}/Calls.json", params={"To": BUSINESS, "StartTime>": "2026-12-01"}).json()["calls"]
    assert calls[0]["sid"].startswith("CA") and calls[0]["duration"] == "40"
    recs = c.get(f"{base}/Recordings.json", params={"CallSid": call["sid"]}).json()["recordings"]
    assert recs[0]["sid"] == rec["sid"]
    tr = c.get(f"{base}/Recordings/{rec['sid']}/Transcriptions.json").json()["transcriptions"]
    assert tr[0]["transcription_text"] == "Please call me back"
    mms = twilio.add_message("+15550000006", BUSINESS, "photo", media=["image/png", "image/jpeg"])
    media = c.get(f"{base}/Messages/{mms['sid']}/Media.json").json()["media_list"]
    assert [m["content_type"] for m in media] == ["image/png", "image/jpeg"]
    nums = c.get(f"{base}/IncomingPhoneNumbers.json", params={"PhoneNumber": BUSINESS}).json()
    assert [n["phone_number"] for n in nums["incoming_phone_numbers"]] == [BUSINESS]
    assert c.get(f"{base}/IncomingPhoneNumbers.json", params={"PhoneNumber": "+19999999999"}).json()[
        "incoming_phone_numbers"] == []
