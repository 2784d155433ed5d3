"""Trustpilot: the real client and sender against the local contract server, into a real Store."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs

import pytest

from owner_tui.config import AccountConfig
from owner_tui.send.sender import SendError
from owner_tui.send.trustpilot import TrustpilotSender
from owner_tui.sources.reviews import trustpilot
from owner_tui.sources.reviews.common import PullReport
from owner_tui.sources.reviews.sync import sync_account
from tests.servers.review_apis import (  # noqa: F401
    TP_KEY,
    TP_PASSWORD,
    TP_SECRET,
    TP_SECRETS,
    TP_USER,
    api,
    ft,
    tp_review,
)

FOLDER = "business-units/bu-1"


def day(d: int, h: int = 10) -> str:
    return f"2026-11-{d:02d}T{h:02d}:00:00Z"


def sync(store, api, ft, **opts):
    acc = AccountConfig("tp", "trustpilot", api.tp_options(**opts))
    return sync_account(store, acc, secrets_getter=TP_SECRETS.__getitem__, runtime=ft.runtime())


def conv(store, key):
    row = store.db.execute("SELECT id FROM conversations WHERE external_key = ?", [key]).fetchone()
    return store.conversation(row[0])


def awaiting(store, key):
    c = conv(store, key)
    return c["status"] == "open" and c["waiting_since"] is not None


def review_gets(api):
    return api.requests("GET", "/v1/private/business-units/")


def test_password_grant_uses_basic_auth_and_a_string_expiry(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review("t1", created=day(1))]
    summary = sync(store, api, ft)
    assert summary.error is None and summary.new == 1
    grant = api.requests("POST", "/v1/oauth/")[0]
    assert grant.path.endswith("/accesstoken")
    assert grant.headers["authorization"] == "Basic " + base64.b64encode(f"{TP_KEY}:{TP_SECRET}".encode()).decode()
    form = {k: v[0] for k, v in parse_qs(grant.body.decode()).items()}
    assert form == {"grant_type": "password", "username": TP_USER, "password": TP_PASSWORD}
    # "359999" (a string) was understood: a second sync reuses the token instead of a new grant.
    sync(store, api, ft)
    assert api.tp_grants == ["password"]


def test_paging_follows_links_and_stops_on_a_short_page(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review(f"t{i:02d}", created=day(1 + i % 20, i % 24)) for i in range(45)]
    summary = sync(store, api, ft, per_page=20)
    assert summary.new == 45 and summary.batches == 3
    assert [g.query["page"] for g in review_gets(api)] == ["1", "2", "3"]
    assert all(g.query["orderBy"] == "createdat.desc" and g.query["perPage"] == "20" for g in review_gets(api))
    assert store.sync_state(summary.account_id, FOLDER)["high_water"] == "2026-11-20T19:00:00+00:00"


def test_without_links_paging_runs_until_an_empty_page(api, ft):
    api.tp_links = False  # the links shape is partly UNCONFIRMED: the loop must not depend on it
    api.tp_reviews["bu-1"] = [tp_review(f"t{i}", created=day(1 + i)) for i in range(4)]
    batches = list(trustpilot.pull(api.tp_options(per_page=2), TP_SECRETS.__getitem__, {}, runtime=ft.runtime()))
    assert [len(b) for b, _ in batches] == [2, 2, 0]
    assert batches[-1][1].high_water == "2026-11-04T10:00:00+00:00"


def test_incremental_pull_stops_at_high_water(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review(f"old{i}", created=day(1, i)) for i in range(10)]
    sync(store, api, ft, per_page=5)
    before = len(review_gets(api))
    api.tp_reviews["bu-1"].append(tp_review("new", created=day(15)))
    summary = sync(store, api, ft, per_page=5)
    assert summary.new == 1 and len(review_gets(api)) == before + 1


def test_record_mapping_with_company_reply(api, ft):
    api.tp_reviews["bu-1"] = [
        tp_review("t1", stars=2, text="Late delivery", created=day(3), name="Cleo", reply=("Sorry!", day(4))),
        {**tp_review("t2", created=day(5)), "stars": 9, "consumer": "not an object"},
        {"stars": 4, "text": "no id", "createdAt": day(6)},
    ]
    report = PullReport()
    batches = list(trustpilot.pull(api.tp_options(), TP_SECRETS.__getitem__, {}, report=report, runtime=ft.runtime()))
    recs = {r.external_id: r for b, _ in batches for r in b}
    t1 = recs["t1"]
    assert (t1.rating, t1.sender_name, t1.sender_handle, t1.subject) == (2, "Cleo", "c-t1", "Title t1")
    assert t1.url == "https://www.trustpilot.com/reviews/t1" and t1.extra["consumer_email"] == "cleo@example.org"
    out = recs["t1:reply"]
    assert (out.direction, out.thread_key, out.text, out.sent_at) == ("out", "t1", "Sorry!", "2026-11-04T10:00:00+00:00")
    assert recs["t2"].rating is None and recs["t2"].sender_name == "Trustpilot user"
    assert any("stars" in p for p in recs["t2"].problems)
    assert report.skipped == 1 and "without an id" in report.problems[0]


def test_expired_token_refreshes_once(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review("t1", created=day(1))]
    sync(store, api, ft)
    api.expire_access_tokens()
    summary = sync(store, api, ft)
    assert summary.error is None and api.tp_grants == ["password", "refresh_token"]


@pytest.mark.parametrize("refusal", ["missing path", "expired refresh token", "401"])
def test_refresh_failing_falls_back_to_the_password_grant(store, api, ft, refusal):
    api.tp_reviews["bu-1"] = [tp_review("t1", created=day(1))]
    sync(store, api, ft)
    api.expire_access_tokens()
    if refusal == "missing path":  # the refresh path is UNCONFIRMED: a 404 there must not stop us
        api.tp_refresh_works = False
    elif refusal == "expired refresh token":  # refresh tokens last 30 days
        api.tp_refresh_tokens.clear()
    else:
        api.fault("POST", "/v1/oauth/oauth-business-users-for-applications/refresh", 401, {"message": "Unauthorized"})
    summary = sync(store, api, ft)
    assert summary.error is None and summary.new == 0
    assert api.tp_grants[0] == "password" and api.tp_grants[-1] == "password"
    assert len(api.requests("POST", "/v1/oauth/oauth-business-users-for-applications/refresh")) == 1


def test_wrong_password_needs_reauth_without_leaking_it(store, api, ft):
    summary = sync_account(store, AccountConfig("tp", "trustpilot", api.tp_options()),
                           secrets_getter={**TP_SECRETS, "password": "wrong-pass-123"}.__getitem__,
                           runtime=ft.runtime())
    assert summary.needs_reauth and "Invalid username or password" in summary.error
    assert "fresh sign-in" not in summary.error
    assert "wrong-pass-123" not in summary.error and TP_SECRET not in summary.error


def test_reply_through_the_outbox_posts_once_and_closes_the_wait(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review("t1", stars=1, created=day(3))]
    sync(store, api, ft)
    assert awaiting(store, "t1")
    oid = store.queue_reply(conv(store, "t1")["id"], "We are sorry, a refund is on its way.")
    assert store.outbox_claim(oid)
    sender = TrustpilotSender(api.tp_options(), TP_SECRETS.__getitem__, ft.runtime())
    assert sender.verify(store.outgoing(oid)) is False
    result = sender.send(store.outgoing(oid))
    store.outbox_finish(oid, result)
    posts = api.requests("POST", "/v1/private/reviews/")
    assert len(posts) == 1 and posts[0].path == "/v1/private/reviews/t1/reply"
    assert json.loads(posts[0].body) == {"message": "We are sorry, a refund is on its way.",
                                         "authorBusinessUserId": "bizuser-1"}
    assert result.external_id == "t1:reply" and not awaiting(store, "t1")
    assert sender.verify(store.outgoing(oid)) is True
    assert sender.verified_result(store.outgoing(oid)).external_id == "t1:reply"
    assert sync(store, api, ft, lookback_days=30).new == 0 and not awaiting(store, "t1")


def test_a_500_on_the_reply_post_is_not_resent(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review("t1", created=day(3))]
    sync(store, api, ft)
    oid = store.queue_reply(conv(store, "t1")["id"], "Thanks!")
    api.fault("POST", "/v1/private/reviews/t1/reply", 500, {"message": "Internal error"}, count=5)
    sender = TrustpilotSender(api.tp_options(), TP_SECRETS.__getitem__, ft.runtime())
    with pytest.raises(SendError) as err:
        sender.send(store.outgoing(oid))
    assert err.value.retryable and "may or may not have acted" in str(err.value)
    assert len(api.requests("POST", "/v1/private/reviews/")) == 1  # verify decides, not a blind retry


def test_a_429_on_the_reply_post_is_retried(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review("t1", created=day(3))]
    sync(store, api, ft)
    oid = store.queue_reply(conv(store, "t1")["id"], "Thanks!")
    api.fault("POST", "/v1/private/reviews/t1/reply", 429, {"message": "Too many requests"},
              headers={"Retry-After": "2"})
    TrustpilotSender(api.tp_options(qpm=0), TP_SECRETS.__getitem__, ft.runtime()).send(store.outgoing(oid))
    assert 2.0 in ft.sleeps and api.tp_reviews["bu-1"][0]["companyReply"]["text"] == "Thanks!"


def test_review_edited_after_the_reply_awaits_again(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review("t1", stars=3, created=day(3), reply=("Thanks", day(4)))]
    sync(store, api, ft)
    assert not awaiting(store, "t1")
    api.tp_reviews["bu-1"][0].update(text="Changed my mind", stars=1, updatedAt=day(8))
    sync(store, api, ft, lookback_days=30)
    assert awaiting(store, "t1") and conv(store, "t1")["waiting_since"] == "2026-11-08T10:00:00+00:00"
