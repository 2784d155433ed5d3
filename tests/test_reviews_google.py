"""Google Business Profile: the real client and sender against the local contract server, into a real Store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from owner_tui.config import AccountConfig
from owner_tui.send.google import GoogleSender
from owner_tui.send.sender import SendError
from owner_tui.sources.reviews import google
from owner_tui.sources.reviews.common import PullReport, Runtime
from owner_tui.sources.reviews.http import NeedsReauth, SourceError
from owner_tui.sources.reviews.oauth import run_consent_flow
from owner_tui.sources.reviews.sync import reply_meta, sync_account
from tests.servers.review_apis import (  # noqa: F401
    GOOGLE_CLIENT,
    GOOGLE_SECRETS,
    api,
    ft,
    google_review,
)

LOC = "accounts/1/locations/10"


def day(d: int, h: int = 10, m: int = 0) -> str:
    return f"2026-11-{d:02d}T{h:02d}:{m:02d}:00Z"


def sync(store, api, ft, **opts):
    acc = AccountConfig("gbp", "google", api.google_options(**opts))
    return sync_account(store, acc, secrets_getter=GOOGLE_SECRETS.__getitem__, runtime=ft.runtime())


def conv(store, key: str) -> dict:
    row = store.db.execute("SELECT id FROM conversations WHERE external_key = ?", [key]).fetchone()
    assert row, f"no conversation for {key}"
    return store.conversation(row[0])


def awaiting(store, key: str) -> bool:
    c = conv(store, key)
    return c["status"] == "open" and c["waiting_since"] is not None


def pull_all(api, ft, cursors=None, **opts):
    report = PullReport()
    batches = list(google.pull(api.google_options(**opts), GOOGLE_SECRETS.__getitem__, cursors or {},
                               report=report, runtime=ft.runtime()))
    return batches, report


def review_gets(api):
    return [r for r in api.requests("GET", "/v4/") if r.path.endswith("/reviews")]


# -- pulling ------------------------------------------------------------------------------------

def test_full_pull_pages_into_store_and_saves_high_water(store, api, ft):
    api.reviews[LOC] = [google_review(f"r{i:03d}", create=day(1 + i % 20, 8, i % 60),
                                      reply=("Thank you!", day(21)) if i % 3 == 0 else None) for i in range(120)]
    summary = sync(store, api, ft, page_size=200)  # asks for 200: the client sends at most 50
    assert summary.error is None
    assert summary.new == 120 + 40 and summary.batches == 3
    gets = review_gets(api)
    assert [g.query["pageSize"] for g in gets] == ["50", "50", "50"]
    assert all(g.query["orderBy"] == "updateTime desc" for g in gets)
    assert "pageToken" not in gets[0].query and gets[1].query["pageToken"]
    loc_req = api.requests("GET", "/v1/accounts/1/locations")[0]
    assert loc_req.query["readMask"] == "name,title,storeCode"
    assert store.sync_state(summary.account_id, LOC)["high_water"] == "2026-11-20T08:59:00+00:00"
    waiting = store.db.execute("SELECT count(*) FROM conversations WHERE waiting_since IS NOT NULL").fetchone()[0]
    assert waiting == 80
    assert not awaiting(store, "r000") and awaiting(store, "r001")


def test_incremental_pull_stops_at_high_water(store, api, ft):
    api.reviews[LOC] = [google_review(f"old{i}", create=day(1, 8, i)) for i in range(30)]
    first = sync(store, api, ft, page_size=10)
    assert first.new == 30 and len(review_gets(api)) == 3
    api.reviews[LOC] += [google_review("new1", create=day(20)), google_review("new2", create=day(21))]
    second = sync(store, api, ft, page_size=10)
    assert second.new == 2 and second.error is None
    assert len(review_gets(api)) == 4  # one page: it reached reviews older than the mark and stopped
    assert store.sync_state(first.account_id, LOC)["high_water"] == "2026-11-21T10:00:00+00:00"


def test_cut_off_pass_keeps_the_old_high_water_until_the_last_page(api, ft):
    api.reviews[LOC] = [google_review(f"r{i}", create=day(2 + i)) for i in range(5)]
    cursors = {LOC: {"high_water": "2026-11-01T00:00:00+00:00"}}
    batches, _ = pull_all(api, ft, cursors, page_size=2)
    marks = [c.high_water for _, c in batches]
    assert marks == ["2026-11-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00", "2026-11-06T10:00:00+00:00"]


def test_lookback_window_sees_a_reply_made_on_the_platform(store, api, ft):
    api.reviews[LOC] = [google_review("a", create=day(10)), google_review("b", create=day(15))]
    sync(store, api, ft)
    assert awaiting(store, "a")
    # Replied on Google's own site; the review's updateTime does not move.
    api.reviews[LOC][0]["reviewReply"] = {"comment": "Sorry about that", "updateTime": day(16)}
    sync(store, api, ft, lookback_days=0)
    assert awaiting(store, "a")  # without a window the old review is not re-read...
    sync(store, api, ft, lookback_days=30)
    assert not awaiting(store, "a")  # ...with one, the reply closes the wait


def test_record_mapping(api, ft):
    api.reviews[LOC] = [
        google_review("five", create=day(1)),
        google_review("unspec", stars="STAR_RATING_UNSPECIFIED", create=day(2)),
        google_review("weird", stars="SIX", create=day(3)),
        google_review("anon", anonymous=True, create=day(4)),
        google_review("stars-only", comment=None, stars="FOUR", create=day(5)),
        google_review("replied", create=day(6), reply=("Thanks", "2026-11-07T11:00:00.123456789Z")),
        {**google_review("badtime", create=day(8)), "createTime": "yesterday", "comment": 42},
        {"starRating": "ONE", "comment": "no id", "createTime": day(9), "updateTime": day(9)},
    ]
    batches, report = pull_all(api, ft)
    recs = {r.external_id: r for b, _ in batches for r in b}
    assert recs["five"].rating == 5 and recs["five"].direction == "in" and recs["five"].sender_name == "Ann"
    assert recs["five"].extra["name"] == f"{LOC}/reviews/five" and recs["five"].channel == "google"
    assert recs["unspec"].rating is None and recs["unspec"].problems == ()
    assert recs["weird"].rating is None and "unknown starRating 'SIX'" in recs["weird"].problems
    assert recs["anon"].sender_name == "Anonymous" and recs["anon"].sender_handle == "anonymous:anon"
    assert recs["stars-only"].text == "" and recs["stars-only"].rating == 4 and recs["stars-only"].extra["rating_only"]
    out = recs["replied:reply"]
    assert (out.direction, out.thread_key, out.text) == ("out", "replied", "Thanks")
    assert out.sent_at == "2026-11-07T11:00:00.123456+00:00"  # nanoseconds truncated, UTC
    bad = recs["badtime"]
    assert bad.sent_at == "2026-11-08T10:00:00+00:00"  # fell back to updateTime
    assert any("createTime" in p for p in bad.problems) and any("comment" in p for p in bad.problems)
    assert report.skipped == 1 and "without a reviewId" in report.problems[0]


# -- transport behaviour --------------------------------------------------------------------------

def test_429_retry_after_seconds_is_honoured(store, api, ft):
    api.reviews[LOC] = [google_review("r", create=day(1))]
    api.fault("GET", "/v4/", 429, {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
              headers={"Retry-After": "7"})
    summary = sync(store, api, ft, qpm=0)
    assert summary.error is None and summary.new == 1
    assert ft.sleeps == [7.0]


def test_429_retry_after_http_date_is_honoured(api, ft):
    fixed = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    api.reviews[LOC] = [google_review("r", create=day(1))]
    api.fault("GET", "/v4/", 429, headers={"Retry-After": format_datetime(fixed + timedelta(seconds=30), usegmt=True)})
    rt = Runtime(sleep=ft.sleep, clock=ft.clock, wallclock=lambda: fixed)
    list(google.pull(api.google_options(qpm=0), GOOGLE_SECRETS.__getitem__, {}, runtime=rt))
    assert ft.sleeps == [30.0]


def test_retry_after_beyond_the_cap_is_a_retryable_error(api, ft):
    api.fault("GET", "/v4/", 429, headers={"Retry-After": "3600"})
    with pytest.raises(SourceError) as err:
        pull_all(api, ft, qpm=0)
    assert err.value.retryable and "wait 60 min" in str(err.value) and ft.sleeps == []


def test_5xx_backs_off_exponentially_then_succeeds(api, ft):
    api.reviews[LOC] = [google_review("r", create=day(1))]
    api.fault("GET", "/v4/", 500, {"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}, count=2)
    batches, _ = pull_all(api, ft, qpm=0)
    assert [r.external_id for r in batches[0][0]] == ["r"]
    assert ft.sleeps == [1.0, 2.0]


def test_5xx_gives_up_with_a_plain_retryable_error(store, api, ft):
    api.fault("GET", "/v4/", 503, count=10)
    summary = sync(store, api, ft, qpm=0, max_attempts=3)
    assert summary.retryable and "having trouble (HTTP 503, gave up after 3 tries)" in summary.error
    assert ft.sleeps == [1.0, 2.0]
    # The location keeps its own error; the account line names it (issue 15: per-feed health)
    assert store.sync_state(summary.account_id, LOC)["last_error"] in summary.error


def test_pacing_spaces_requests_to_the_quota(api, ft):
    api.reviews[LOC] = [google_review(f"r{i}", create=day(1, 8, i)) for i in range(6)]
    pull_all(api, ft, page_size=2)  # token, accounts, locations, 3 review pages at 300 QPM
    assert ft.sleeps == [pytest.approx(0.2)] * 5


def test_expired_access_token_is_refreshed_once(store, api, ft):
    api.reviews[LOC] = [google_review("r", create=day(1))]
    sync(store, api, ft)
    assert len(api.requests("POST", "/token")) == 1
    api.expire_access_tokens()
    api.reviews[LOC].append(google_review("s", create=day(2)))
    summary = sync(store, api, ft)
    assert summary.error is None and summary.new == 1
    assert len(api.requests("POST", "/token")) == 2


def test_401_after_a_fresh_token_is_not_retried_for_ever(api, ft):
    api.fault("GET", "/v1/accounts", 401, {"error": {"code": 401, "message": "Nope", "status": "UNAUTHENTICATED"}},
              count=10)
    with pytest.raises(NeedsReauth, match="even after a fresh sign-in"):
        pull_all(api, ft)
    assert len(api.requests("GET", "/v1/accounts")) == 2 and len(api.requests("POST", "/token")) == 2


def test_revoked_refresh_token_needs_reauth_and_says_so_plainly(store, api, ft):
    api.google_refresh_tokens.clear()
    summary = sync(store, api, ft)
    assert summary.needs_reauth and not summary.retryable
    assert "no longer accepts the saved sign-in" in summary.error
    assert "rt-good" not in summary.error and GOOGLE_CLIENT[1] not in summary.error
    assert store.sync_state(summary.account_id, "")["last_error"] == summary.error


def test_garbage_json_is_a_clear_error_and_saves_nothing(store, api, ft):
    api.reviews[LOC] = [google_review("r", create=day(1))]
    api.fault("GET", "/v4/", 200, b'{"reviews": [{"reviewId": "r", "comm', headers={"Content-Type": "application/json"})
    summary = sync(store, api, ft)
    assert summary.retryable and "not valid JSON" in summary.error and "cut off" in summary.error
    assert store.message_count() == 0
    assert (store.sync_state(summary.account_id, LOC) or {}).get("high_water") is None


def test_truncated_transfer_is_retried(api, ft):
    api.reviews[LOC] = [google_review("r", create=day(1))]
    api.fault("GET", "/v4/", 200, b'{"reviews": []', truncate=True)
    batches, _ = pull_all(api, ft, qpm=0)
    assert [r.external_id for r in batches[0][0]] == ["r"] and len(review_gets(api)) == 2


def test_one_failing_location_does_not_stop_the_others(store, api, ft):
    api.locations["accounts/1"].append({"name": "locations/20", "title": "Unverified"})
    api.reviews["accounts/1/locations/20"] = []
    api.reviews[LOC] = [google_review("ok", create=day(1))]
    api.fault("GET", "/v4/accounts/1/locations/20/", 403,
              {"error": {"code": 403, "message": "The location is not verified.", "status": "PERMISSION_DENIED"}},
              count=10)
    summary = sync(store, api, ft)
    assert summary.new == 1
    assert "1 of 2 Google locations" in summary.error and "The location is not verified." in summary.error
    assert store.sync_state(summary.account_id, "accounts/1/locations/20")["last_error"]


# -- replying -------------------------------------------------------------------------------------

def send_reply(store, api, ft, key: str, body: str, *, meta: bool = True, **opts):
    cid = conv(store, key)["id"]
    oid = store.queue_reply(cid, body, meta=reply_meta(store, cid) if meta else None)
    assert store.outbox_claim(oid)
    sender = GoogleSender(api.google_options(**opts), GOOGLE_SECRETS.__getitem__, ft.runtime())
    reply = store.outgoing(oid)
    try:
        result = sender.send(reply)
    except SendError as exc:
        store.outbox_fail(oid, str(exc))
        raise
    store.outbox_finish(oid, result)
    return sender, reply, result


def test_reply_through_the_outbox_reaches_google_and_closes_the_wait(store, api, ft):
    api.reviews[LOC] = [google_review("r1", comment="Cold coffee", stars="TWO", create=day(10))]
    api.reply_time = day(21)
    sync(store, api, ft)
    assert awaiting(store, "r1")
    _, _, result = send_reply(store, api, ft, "r1", "Sorry, next one is on us.")
    put = api.requests("PUT", "/v4/")[0]
    assert put.path == f"/v4/{LOC}/reviews/r1/reply" and json.loads(put.body) == {"comment": "Sorry, next one is on us."}
    assert api.reviews[LOC][0]["reviewReply"]["comment"] == "Sorry, next one is on us."
    assert result.external_id == "r1:reply" and result.sent_at == "2026-11-21T10:00:00+00:00"
    assert not awaiting(store, "r1")
    again = sync(store, api, ft, lookback_days=30)
    assert again.new == 0 and not awaiting(store, "r1")  # the synced reply is the same message


def test_reply_without_a_recorded_name_finds_the_location(store, api, ft):
    api.reviews[LOC] = [google_review("r1", create=day(10))]
    api.reply_time = day(21)
    sync(store, api, ft)
    send_reply(store, api, ft, "r1", "Thanks!", meta=False)
    assert api.reviews[LOC][0]["reviewReply"]["comment"] == "Thanks!" and not awaiting(store, "r1")


def test_rejected_reply_is_a_send_error_with_googles_message(store, api, ft):
    api.reviews[LOC] = [google_review("r1", create=day(10))]
    sync(store, api, ft)
    with pytest.raises(SendError) as err:
        send_reply(store, api, ft, "r1", "This is forbidden text")
    assert not err.value.retryable
    assert "The reply contains content that is not allowed." in str(err.value) and "HTTP 400" in str(err.value)
    row = store.outbox("failed")[0]
    assert row["body"] == "This is forbidden text" and "not allowed" in row["error"]
    assert awaiting(store, "r1") and "reviewReply" not in api.reviews[LOC][0]


def test_verify_tells_whether_the_reply_is_there(store, api, ft):
    api.reviews[LOC] = [google_review("r1", create=day(10))]
    api.reply_time = day(21)
    sync(store, api, ft)
    cid = conv(store, "r1")["id"]
    oid = store.queue_reply(cid, "Thanks a lot", meta=reply_meta(store, cid))
    sender = GoogleSender(api.google_options(), GOOGLE_SECRETS.__getitem__, ft.runtime())
    assert sender.verify(store.outgoing(oid)) is False
    sender.send(store.outgoing(oid))
    assert sender.verify(store.outgoing(oid)) is True
    dead = GoogleSender(api.google_options(base_url="http://127.0.0.1:9", max_attempts=1),
                        GOOGLE_SECRETS.__getitem__, ft.runtime())
    assert dead.verify(store.outgoing(oid)) is None


def test_review_edited_after_the_reply_awaits_again_and_a_new_reply_closes_it(store, api, ft):
    api.reviews[LOC] = [google_review("r1", comment="Slow", stars="THREE", create=day(10),
                                      reply=("We are on it", day(11)))]
    sync(store, api, ft)
    assert not awaiting(store, "r1")
    review = api.reviews[LOC][0]
    review.update(comment="Still slow, one star now", starRating="ONE", updateTime=day(15))
    sync(store, api, ft)
    c = conv(store, "r1")
    assert awaiting(store, "r1") and c["waiting_since"] == "2026-11-15T10:00:00+00:00" and c["rating"] == 1
    api.reply_time = day(16)
    _, _, result = send_reply(store, api, ft, "r1", "Call us, we will fix it")
    assert result.external_id == "r1:reply:2026-11-16T10:00:00+00:00"
    assert not awaiting(store, "r1")
    assert sync(store, api, ft).new == 0 and not awaiting(store, "r1")
    texts = [m["text"] for m in store.messages(c["id"])]
    assert texts.count("Call us, we will fix it") == 1 and "We are on it" in texts


# -- consent flow -----------------------------------------------------------------------------------

def browser(tamper=None):
    """Plays the browser: loads the consent page, follows the redirect to the loopback server."""
    def open_url(url: str) -> bool:
        with httpx.Client() as client:
            resp = client.get(url)
            assert resp.status_code == 302
            location = resp.headers["location"]
            assert location.startswith("http://127.0.0.1:")
            assert client.get(tamper(location) if tamper else location).status_code == 200
        return True
    return open_url


def test_consent_flow_end_to_end_gives_a_working_refresh_token(api, ft):
    from owner_tui.sources.reviews.http import Http
    shown: list[str] = []
    with Http("Google", sleep=ft.sleep, clock=ft.clock) as http:
        tokens = run_consent_flow(http, client_id=GOOGLE_CLIENT[0], client_secret=GOOGLE_CLIENT[1],
                                  auth_url=f"{api.url}/o/oauth2/v2/auth", token_url=f"{api.url}/token",
                                  open_browser=browser(), timeout=10, say=shown.append)
    assert tokens.refresh_token in api.google_refresh_tokens and tokens.refresh_token != "rt-good"
    assert "access_type=offline" in shown[0] and "prompt=consent" in shown[0] and "code_challenge_method=S256" in shown[0]
    exchange = api.requests("POST", "/token")[0]
    assert b"code_verifier=" in exchange.body and b"grant_type=authorization_code" in exchange.body
    api.reviews[LOC] = [google_review("r", create=day(1))]
    secrets = {**GOOGLE_SECRETS, "refresh_token": tokens.refresh_token}
    batches = list(google.pull(api.google_options(), secrets.__getitem__, {}, runtime=ft.runtime()))
    assert batches[0][0][0].external_id == "r"


def test_consent_flow_rejects_a_forged_state_and_a_refusal(api, ft):
    from owner_tui.sources.reviews.http import Http
    with Http("Google", sleep=ft.sleep, clock=ft.clock) as http:
        forged = browser(lambda loc: loc.replace("state=", "state=evil"))
        with pytest.raises(SourceError, match="state mismatch"):
            run_consent_flow(http, client_id=GOOGLE_CLIENT[0], client_secret=GOOGLE_CLIENT[1],
                             auth_url=f"{api.url}/o/oauth2/v2/auth", token_url=f"{api.url}/token",
                             open_browser=forged, timeout=10)
        api.consent_error = "access_denied"
        with pytest.raises(SourceError, match="not completed: access_denied"):
            run_consent_flow(http, client_id=GOOGLE_CLIENT[0], client_secret=GOOGLE_CLIENT[1],
                             auth_url=f"{api.url}/o/oauth2/v2/auth", token_url=f"{api.url}/token",
                             open_browser=browser(), timeout=10)
    assert api.requests("POST", "/token") == []  # nothing was exchanged


# -- through the lead's outbox worker -----------------------------------------------------------

def test_outbox_worker_sends_and_recovers_without_sending_twice(store, api, ft):
    from owner_tui.config import Config
    from owner_tui.send.outbox_worker import process

    api.reviews[LOC] = [google_review("r1", create=day(10)), google_review("r2", create=day(11))]
    api.reply_time = day(21)
    sync(store, api, ft)
    config = Config(accounts=(AccountConfig("gbp", "google", api.google_options()),))

    def factory(acc):
        return GoogleSender(acc.options, GOOGLE_SECRETS.__getitem__, ft.runtime())

    cid = conv(store, "r1")["id"]
    oid = store.queue_reply(cid, "Thank you!", meta=reply_meta(store, cid))
    report = process(store, config, factory)
    assert report.sent == [oid] and not awaiting(store, "r1")
    # A crash after the PUT but before the outbox recorded it: the row is left in `sending`.
    cid2 = conv(store, "r2")["id"]
    oid2 = store.queue_reply(cid2, "Thanks again!", meta=reply_meta(store, cid2))
    assert store.outbox_claim(oid2)
    factory(config.accounts[0]).send(store.outgoing(oid2))
    report = process(store, config, factory, stale_after=0)
    assert report.recovered_sent == [oid2] and not awaiting(store, "r2")
    assert len(api.requests("PUT", "/v4/")) == 2  # one per reply: the interrupted one was not resent
    sender = factory(config.accounts[0])
    assert sender.verify(store.outgoing(oid2)) is True
    assert sender.verified_result(store.outgoing(oid2)).external_id == "r2:reply"
    # The recovered row was recorded under the platform's id, so the next sync sees the
    # same reply instead of storing a second copy of it.
    sync(store, api, ft)
    replies = store.db.execute("SELECT external_id FROM messages WHERE direction = 'out' AND "
                               "conversation_id = ?", [cid2]).fetchall()
    assert [r[0] for r in replies] == ["r2:reply"]
