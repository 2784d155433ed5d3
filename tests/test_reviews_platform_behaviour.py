"""Issue 15: review platforms as they really behave over days of use, against the local
contract servers (tests/servers/review_apis.py) and a real Store. No test sleeps for real."""

from __future__ import annotations

import json

import pytest

from owner_tui.config import AccountConfig
from owner_tui.send.google import GoogleSender
from owner_tui.send.reply_actions import delete_published_reply
from owner_tui.send.sender import SendError
from owner_tui.send.trustpilot import TrustpilotSender
from owner_tui.sources.reviews.sync import reply_meta, sync_account
from owner_tui.store.reviews import feed_stats, review_facts
from tests.servers.review_apis import (  # noqa: F401
    GOOGLE_SECRETS,
    TP_SECRETS,
    YELP_KEY,
    api,
    ft,
    google_review,
    tp_review,
)

LOC = "accounts/1/locations/10"


def day(d: int, h: int = 10) -> str:
    return f"2026-11-{d:02d}T{h:02d}:00:00Z"


def g_sync(store, api, ft, **opts):
    acc = AccountConfig("g", "google", api.google_options(**opts))
    return sync_account(store, acc, secrets_getter=GOOGLE_SECRETS.__getitem__, runtime=ft.runtime())


def tp_sync(store, api, ft, **opts):
    acc = AccountConfig("tp", "trustpilot", api.tp_options(**opts))
    return sync_account(store, acc, secrets_getter=TP_SECRETS.__getitem__, runtime=ft.runtime())


def yelp_sync(store, api, ft, **opts):
    acc = AccountConfig("y", "yelp", {"base_url": api.url, "business_id": "biz-1", **opts})
    return sync_account(store, acc, secrets_getter={"api_key": YELP_KEY}.__getitem__, runtime=ft.runtime())


def conv(store, key):
    row = store.db.execute("SELECT id FROM conversations WHERE external_key = ?", [key]).fetchone()
    return store.conversation(row[0])


def awaiting(store, key) -> bool:
    c = conv(store, key)
    return c["status"] == "open" and c["waiting_since"] is not None


def notes(store, external_id) -> list[str]:
    row = store.db.execute("SELECT notes FROM messages WHERE external_id = ?", [external_id]).fetchone()
    return json.loads(row[0])


def send(store, api, ft, key, body, sender_cls=GoogleSender, options=None):
    cid = conv(store, key)["id"]
    oid = store.queue_reply(cid, body, meta=reply_meta(store, cid))
    assert store.outbox_claim(oid)
    sender = sender_cls(options or api.google_options(), (GOOGLE_SECRETS if sender_cls is GoogleSender
                                                         else TP_SECRETS).__getitem__, ft.runtime())
    store.outbox_finish(oid, sender.send(store.outgoing(oid)))


# -- every account and location on its own --------------------------------------------------------

def test_an_account_that_cannot_list_locations_does_not_stop_the_other_accounts(store, api, ft):
    api.accounts.append({"name": "accounts/2", "accountName": "Agency", "type": "USER_GROUP"})
    api.broken_accounts.add("accounts/2")
    api.reviews[LOC] = [google_review("a", create=day(1))]
    summary = g_sync(store, api, ft)
    assert summary.new == 1 and awaiting(store, "a")  # accounts/1's location synced
    assert summary.error and "accounts/2" in summary.error
    assert "no permission" in store.sync_state(summary.account_id, "accounts/2")["last_error"]
    assert store.sync_state(summary.account_id, LOC)["last_error"] is None


def test_an_unverified_location_stays_failing_on_its_own_while_the_others_sync(store, api, ft):
    api.locations["accounts/1"].append({"name": "locations/20", "title": "New shop"})
    api.reviews["accounts/1/locations/20"] = []
    api.unverified.add("accounts/1/locations/20")
    api.reviews[LOC] = [google_review("a", create=day(1))]
    for _ in range(2):  # and again on the next run: it stays failing, the other stays fine
        summary = g_sync(store, api, ft)
        err = store.sync_state(summary.account_id, "accounts/1/locations/20")["last_error"]
        assert "not verified" in err and "https://support.google.com/business/answer/7107242" in err
        assert store.sync_state(summary.account_id, LOC)["last_error"] is None
        assert summary.error_kind == "unverified" and not summary.retryable
    assert awaiting(store, "a")


def test_quota_zero_says_to_apply_for_access_instead_of_retrying(store, api, ft):
    api.quota_zero = True
    summary = g_sync(store, api, ft)
    assert "quota is 0" in summary.error and "Application for Basic API Access" in summary.error
    assert "https://developers.google.com/my-business/content/prereqs#request-access" in summary.error
    assert summary.error_kind == "quota0" and not summary.retryable
    assert len(api.requests("GET", "/v1/accounts")) == 1  # not five tries at a closed door
    assert ft.sleeps == [] or sum(ft.sleeps) < 1


def test_a_429_without_the_quota_detail_still_names_quota_zero_as_the_likely_cause(store, api, ft):
    api.fault("GET", "/v1/accounts", 429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                                     "message": "Quota exceeded"}}, count=10)
    summary = g_sync(store, api, ft, max_attempts=2)
    assert "limiting how fast" in summary.error and "quota 0" in summary.error


def test_api_not_enabled_says_which_and_links_to_enable_it(store, api, ft):
    api.disabled_api = "mybusinessbusinessinformation.googleapis.com"
    summary = g_sync(store, api, ft)
    assert "is not enabled in your Google Cloud project" in summary.error
    assert "https://console.developers.google.com/apis/api/mybusinessbusinessinformation.googleapis.com" in summary.error
    assert summary.error_kind == "api_disabled"


# -- Yelp -----------------------------------------------------------------------------------------

def yelp_review(rid: str, when: str) -> dict:
    return {"id": rid, "url": f"https://www.yelp.example/biz/x?hrid={rid}", "text": "Nice", "rating": 4,
            "time_created": when, "user": {"id": f"u-{rid}", "name": "Cy"}}


def test_yelp_times_are_pacific_with_daylight_saving(store, api, ft):
    api.yelp_reviews["biz-1"] = [yelp_review("summer", "2026-07-10 09:30:00"),
                                 yelp_review("winter", "2026-01-10 09:30:00")]
    yelp_sync(store, api, ft)
    sent = dict(store.db.execute("SELECT external_id, sent_at FROM messages").fetchall())
    assert sent["summer"] == "2026-07-10T16:30:00+00:00"  # PDT, UTC-7
    assert sent["winter"] == "2026-01-10T17:30:00+00:00"  # PST, UTC-8


def test_yelp_total_is_shown_as_n_of_total(store, api, ft):
    api.yelp_reviews["biz-1"] = [yelp_review(f"y{i}", f"2026-11-0{i + 1} 10:00:00") for i in range(3)]
    api.yelp_total = 41
    yelp_sync(store, api, ft)
    assert any("Yelp shows 3 of 41 reviews" in line for line in review_facts(store, conv(store, "y0")["id"]))
    assert feed_stats(store)[0]["total_reviews"] == 41


def test_a_trial_yelp_key_gets_its_own_message(store, api, ft):
    api.yelp_reviews["biz-1"] = [yelp_review("y", "2026-11-01 10:00:00")]
    api.yelp_trial = True
    summary = yelp_sync(store, api, ft)
    assert "trial (Starter) API key does not include review excerpts" in summary.error
    assert "https://docs.developer.yelp.com/" in summary.error and summary.error_kind == "trial_key"
    api.yelp_trial = False
    summary = yelp_sync(store, api, ft, business_id="nope")
    assert "has no business 'nope'" in summary.error


# -- Trustpilot -----------------------------------------------------------------------------------

def test_trustpilot_consumer_email_is_read_from_reference_email(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review("t1", created=day(1), name="Dee")]
    tp_sync(store, api, ft)
    extra = json.loads(store.db.execute("SELECT extra FROM messages WHERE external_id = 't1'").fetchone()[0])
    assert extra["consumer_email"] == "dee@example.org" and extra["reference_id"] == "order-t1"


def test_trustpilot_reply_on_an_old_review_is_seen_by_the_daily_full_pass(store, api, ft, clock):
    api.tp_reviews["bu-1"] = [tp_review("old", created=day(1)), tp_review("new", created=day(20))]
    tp_sync(store, api, ft)
    api.tp_reviews["bu-1"][0]["companyReply"] = {"text": "Thanks!", "createdAt": day(21)}
    clock.advance(hours=2)
    tp_sync(store, api, ft)
    assert awaiting(store, "old")  # outside the look-back: not seen yet
    clock.advance(hours=23)
    tp_sync(store, api, ft)
    assert not awaiting(store, "old")  # the full pass, a day after the last one


# -- deletions: reconciled, never deleted locally -------------------------------------------------

def test_a_review_removed_on_google_leaves_the_list_but_stays_readable(store, api, ft, clock):
    api.reviews[LOC] = [google_review("gone", create=day(1)), google_review("stays", create=day(2))]
    g_sync(store, api, ft)
    api.delete_review(LOC, "gone")
    clock.advance(hours=1)
    g_sync(store, api, ft)
    assert awaiting(store, "gone")  # within the day: no full pass yet (at most daily)
    clock.advance(hours=24)
    summary = g_sync(store, api, ft)
    assert summary.removed == 1
    assert not awaiting(store, "gone") and awaiting(store, "stays")
    assert any("removed on the platform" in n for n in notes(store, "gone"))
    assert store.db.execute("SELECT text FROM messages WHERE external_id = 'gone'").fetchone()[0] == "Great!"


def test_a_reply_removed_on_the_platform_reopens_the_wait(store, api, ft, clock):
    api.reviews[LOC] = [google_review("r", create=day(1), reply=("Thanks", day(2)))]
    g_sync(store, api, ft)
    assert not awaiting(store, "r")
    del api.reviews[LOC][0]["reviewReply"]
    clock.advance(hours=25)
    g_sync(store, api, ft)
    assert awaiting(store, "r")
    assert any("reply removed on the platform" in n for n in notes(store, "r:reply"))


# -- moderation -----------------------------------------------------------------------------------

def test_pending_then_rejected_reply_goes_back_on_the_list_with_the_reason(store, api, ft, clock):
    api.reviews[LOC] = [google_review("m", stars="ONE", comment="Rude staff", create=day(1))]
    api.moderation = "PENDING"
    g_sync(store, api, ft)
    send(store, api, ft, "m", "We are sorry.")
    clock.advance(hours=25)
    g_sync(store, api, ft)
    assert not awaiting(store, "m")
    assert any("held for moderation (PENDING)" in n for n in notes(store, "m:reply"))
    api.moderate(LOC, "m", "REJECTED", "Contains personal information\x1b]8;;http://evil.example\x07")
    clock.advance(hours=25)
    g_sync(store, api, ft)
    assert awaiting(store, "m")
    line = next(n for n in notes(store, "m:reply") if "not published" in n)
    assert "REJECTED" in line and "Contains personal information" in line
    assert "\x1b" not in line and "\x07" not in line  # the platform's words are made inert
    extra = json.loads(store.db.execute("SELECT extra FROM messages WHERE external_id = 'm:reply'").fetchone()[0])
    assert extra["reply_state"] == "REJECTED"
    # An edited reply that Google then publishes closes the wait again.
    send(store, api, ft, "m", "We are sorry; please call us.")
    api.moderate(LOC, "m", "PUBLISHED")
    clock.advance(hours=25)
    g_sync(store, api, ft)
    assert not awaiting(store, "m")


# -- editing and deleting a published reply -------------------------------------------------------

def test_delete_a_google_reply_from_the_conversation(store, api, ft):
    api.reviews[LOC] = [google_review("d", create=day(1), reply=("Old answer", day(2)))]
    g_sync(store, api, ft)
    cid = conv(store, "d")["id"]
    sender = GoogleSender(api.google_options(), GOOGLE_SECRETS.__getitem__, ft.runtime())
    line = delete_published_reply(store, None, cid, sender=sender)
    assert "Reply deleted on Google" in line
    assert [r.path for r in api.requests("DELETE")] == [f"/v4/{LOC}/reviews/d/reply"]
    assert "reviewReply" not in api.reviews[LOC][0]
    assert awaiting(store, "d")
    assert store.db.execute("SELECT text FROM messages WHERE external_id = 'd:reply'").fetchone()[0] == "Old answer"


def test_delete_a_trustpilot_reply(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review("t", created=day(1), reply=("Thanks", day(2)))]
    tp_sync(store, api, ft)
    sender = TrustpilotSender(api.tp_options(), TP_SECRETS.__getitem__, ft.runtime())
    delete_published_reply(store, None, conv(store, "t")["id"], sender=sender)
    assert api.tp_deleted_replies == ["t"] and awaiting(store, "t")


def test_deleting_without_a_reply_or_on_yelp_says_why(store, api, ft):
    api.reviews[LOC] = [google_review("n", create=day(1))]
    g_sync(store, api, ft)
    with pytest.raises(SendError, match="no published reply"):
        delete_published_reply(store, None, conv(store, "n")["id"], sender=object())
    api.yelp_reviews["biz-1"] = [yelp_review("y", "2026-11-01 10:00:00")]
    yelp_sync(store, api, ft)
    with pytest.raises(SendError, match="no API for deleting"):
        delete_published_reply(store, None, conv(store, "y")["id"])


# -- Google's reply limit in bytes ------------------------------------------------------------------

def test_google_reply_limit_counts_utf8_bytes_before_queueing(store, api, ft):
    api.reviews[LOC] = [google_review("b", create=day(1))]
    g_sync(store, api, ft)
    cid = conv(store, "b")["id"]
    cjk = "ありがとう" * 274  # 1,370 characters, 4,110 bytes
    with pytest.raises(ValueError, match=r"at most 4,096 bytes.*4,110.*1,370 characters"):
        store.queue_reply(cid, cjk)
    assert not store.outbox("queued")
    emoji = "🙏" * 1024  # 1,024 characters, exactly 4,096 bytes: accepted
    assert store.queue_reply(cid, emoji)
    over = GoogleSender(api.google_options(), GOOGLE_SECRETS.__getitem__, ft.runtime())
    from owner_tui.records import OutgoingReply

    with pytest.raises(SendError, match="4,096 bytes"):
        over.send(OutgoingReply(1, 1, cid, "é" * 2049, "", "google", "b", meta={"name": f"{LOC}/reviews/b"}))
    assert not api.requests("PUT")


# -- media and each location's rating and count ---------------------------------------------------

def test_media_and_location_rating_and_count_are_shown(store, api, ft):
    review = google_review("p", create=day(1))
    review["reviewMediaItems"] = [{"thumbnailUrl": "https://lh3.example/p1.jpg", "mediaFormat": "PHOTO"},
                                  {"googleUrl": "https://lh3.example/v1", "mediaFormat": "VIDEO"}]
    api.reviews[LOC] = [review]
    g_sync(store, api, ft)
    facts = review_facts(store, conv(store, "p")["id"])
    assert any(f.startswith("2 photo/videos") and "https://lh3.example/p1.jpg" in f for f in facts)
    assert any("Main St: 4.5 stars, 1 reviews" in f for f in facts)


def test_a_location_that_keeps_failing_does_not_force_a_full_pass_every_sync(store, api, ft, clock):
    api.locations["accounts/1"].append({"name": "locations/20", "title": "New shop"})
    api.reviews["accounts/1/locations/20"] = []
    api.unverified.add("accounts/1/locations/20")
    api.reviews[LOC] = [google_review(f"r{i}", create=day(1 + i)) for i in range(6)]
    g_sync(store, api, ft, page_size=1)
    first = len(api.requests("GET", f"/v4/{LOC}/reviews"))
    assert first == 6  # the first sync reads everything
    clock.advance(hours=1)
    g_sync(store, api, ft, page_size=1)
    # incremental: down to the high water (two pages), not all six again
    assert len(api.requests("GET", f"/v4/{LOC}/reviews")) - first == 2


def test_a_new_reply_after_deleting_the_old_one_closes_the_wait_at_once(store, api, ft):
    api.reviews[LOC] = [google_review("w", create=day(1), reply=("Old answer", day(2)))]
    g_sync(store, api, ft)
    sender = GoogleSender(api.google_options(), GOOGLE_SECRETS.__getitem__, ft.runtime())
    delete_published_reply(store, None, conv(store, "w")["id"], sender=sender)
    assert awaiting(store, "w")
    api.reply_time = day(21)
    send(store, api, ft, "w", "A better answer")
    assert not awaiting(store, "w")  # without waiting for the next sync
    text, noise = store.db.execute("SELECT text, noise FROM messages WHERE external_id = 'w:reply'").fetchone()
    assert (text, noise) == ("A better answer", None)
