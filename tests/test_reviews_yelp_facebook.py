"""Yelp (read-only excerpts + the manual reply path) and Facebook Page ratings (behind a flag)."""

from __future__ import annotations

import subprocess

import pytest

from owner_tui.config import AccountConfig
from owner_tui.send.manual import ManualSender, copy_to_clipboard
from owner_tui.sources.reviews import facebook, yelp
from owner_tui.sources.reviews.common import PullReport
from owner_tui.sources.reviews.http import NeedsReauth, SourceError
from owner_tui.sources.reviews.sync import sync_account
from tests.servers.review_apis import FB_TOKEN, YELP_KEY, api, ft  # noqa: F401

YELP_SECRETS = {"api_key": YELP_KEY}
FB_SECRETS = {"token": FB_TOKEN}


def yelp_review(i: int, **over) -> dict:
    return {"id": f"y{i}", "url": f"https://www.yelp.example/biz/shop?hrid=y{i}", "text": f"Excerpt {i}...",
            "rating": 1 + i % 5, "time_created": f"2026-11-{10 + i:02d} 09:30:00",
            "user": {"id": f"u{i}", "profile_url": "https://yelp.example/u", "image_url": None, "name": f"User {i}"},
            "newField": True, **over}


def yelp_options(api, **over):
    return {"base_url": api.url, "business_id": "biz-1", **over}


def conv(store, key):
    row = store.db.execute("SELECT id FROM conversations WHERE external_key = ?", [key]).fetchone()
    return store.conversation(row[0])


# -- Yelp -----------------------------------------------------------------------------------------

def test_yelp_gives_at_most_three_excerpts_with_their_page(api, ft):
    api.yelp_reviews["biz-1"] = [yelp_review(i) for i in range(5)] + [{"text": "no id"}]
    report = PullReport()
    (records, cursor), = yelp.pull(yelp_options(api, timezone="America/New_York"), YELP_SECRETS.__getitem__, {},
                                   report=report, runtime=ft.runtime())
    assert [r.external_id for r in records] == ["y0", "y1", "y2"]
    first = records[0]
    assert first.url == "https://www.yelp.example/biz/shop?hrid=y0" and first.extra["excerpt"] is True
    assert (first.channel, first.direction, first.rating, first.sender_name) == ("yelp", "in", 1, "User 0")
    assert first.sent_at == "2026-11-10T14:30:00+00:00"  # 09:30 in New York is 14:30 UTC
    assert cursor.high_water == "2026-11-12T14:30:00+00:00"
    assert api.requests("GET", "/v3/")[0].headers["authorization"] == f"Bearer {YELP_KEY}"


def test_yelp_review_without_an_id_is_skipped_and_counted(api, ft):
    api.yelp_reviews["biz-1"] = [{"text": "anonymous excerpt", "rating": 3}, yelp_review(1, rating="five")]
    report = PullReport()
    (records, _), = yelp.pull(yelp_options(api), YELP_SECRETS.__getitem__, {}, report=report, runtime=ft.runtime())
    assert [r.external_id for r in records] == ["y1"] and records[0].rating is None
    assert any("rating" in p for p in records[0].problems)
    assert report.skipped == 1 and "without an id" in report.problems[0]


def test_yelp_daily_limit_is_explained_and_not_retried(api, ft):
    api.fault("GET", "/v3/", 429, {"error": {"code": "ACCESS_LIMIT_REACHED", "description": "Daily limit"}}, count=5)
    with pytest.raises(SourceError, match="daily call limit .* resets at midnight UTC") as err:
        list(yelp.pull(yelp_options(api), YELP_SECRETS.__getitem__, {}, runtime=ft.runtime()))
    assert err.value.retryable and len(api.requests("GET", "/v3/")) == 1 and ft.sleeps == []


def test_yelp_per_second_limit_is_retried(api, ft):
    api.yelp_reviews["biz-1"] = [yelp_review(0)]
    api.fault("GET", "/v3/", 429, {"error": {"code": "TOO_MANY_REQUESTS_PER_SECOND", "description": "Slow down"}})
    (records, _), = yelp.pull(yelp_options(api, qpm=0), YELP_SECRETS.__getitem__, {}, runtime=ft.runtime())
    assert len(records) == 1 and ft.sleeps == [1.0]


def test_yelp_wrong_key_needs_reauth(api, ft):
    with pytest.raises(NeedsReauth, match="refused the saved API key"):
        list(yelp.pull(yelp_options(api), {"api_key": "wrong-key-1"}.__getitem__, {}, runtime=ft.runtime()))


def test_yelp_reply_is_manual_copy_and_open_and_closes_the_wait(store, api, ft):
    api.yelp_reviews["biz-1"] = [yelp_review(0, rating=2)]
    summary = sync_account(store, AccountConfig("yelp", "yelp", yelp_options(api)),
                           secrets_getter=YELP_SECRETS.__getitem__, runtime=ft.runtime())
    assert summary.new == 1 and conv(store, "y0")["waiting_since"] is not None
    copied, opened = [], []
    sender = ManualSender(copy=lambda text: copied.append(text) or "wl-copy", open_url=lambda u: opened.append(u) or True)
    oid = store.queue_reply(conv(store, "y0")["id"], "Sorry to hear that, please call us.")
    assert store.outbox_claim(oid)
    result = sender.send(store.outgoing(oid))
    store.outbox_finish(oid, result)
    assert copied == ["Sorry to hear that, please call us."] and opened == ["https://www.yelp.example/biz/shop?hrid=y0"]
    assert result.note == "Yelp has no reply API: text copied, page opened; marked replied elsewhere"
    c = conv(store, "y0")
    assert c["waiting_since"] is None and c["replied_elsewhere"] == 1
    assert api.requests("POST") == [] and sender.verify(store.outgoing(oid)) is False


def test_manual_sender_says_plainly_when_it_could_not_copy_or_open(store, api, ft):
    api.yelp_reviews["biz-1"] = [yelp_review(0)]
    sync_account(store, AccountConfig("yelp", "yelp", yelp_options(api)), secrets_getter=YELP_SECRETS.__getitem__,
                 runtime=ft.runtime())
    oid = store.queue_reply(conv(store, "y0")["id"], "Thanks!")
    result = ManualSender(copy=lambda text: None, open_url=lambda url: False).send(store.outgoing(oid))
    assert "could not copy the text (no wl-copy, xclip or pbcopy found)" in result.note
    assert "could not open the page: go to https://www.yelp.example/biz/shop?hrid=y0" in result.note


def test_copy_to_clipboard_tries_the_tools_in_order():
    calls = []

    def run(argv, **kw):
        calls.append((argv, kw["input"]))
        return subprocess.CompletedProcess(argv, 0)

    found = {"xclip": "/usr/bin/xclip", "pbcopy": "/usr/bin/pbcopy"}
    assert copy_to_clipboard("héllo", which=found.get, run=run) == "xclip"
    assert calls == [(["/usr/bin/xclip", "-selection", "clipboard"], "héllo".encode())]
    assert copy_to_clipboard("x", which=lambda name: None, run=run) is None

    def failing(argv, **kw):
        return subprocess.CompletedProcess(argv, 1)
    assert copy_to_clipboard("x", which=found.get, run=failing) is None


# -- Facebook --------------------------------------------------------------------------------------

def fb_rating(i: int, **over) -> dict:
    return {"created_time": f"2026-11-{1 + i % 20:02d}T10:00:00+0000", "recommendation_type": "negative" if i % 4 == 0
            else "positive", "review_text": f"Recommendation {i}", "has_review": True, "has_rating": False,
            "open_graph_story": {"id": f"story-{i}", "newField": 1}, **over}


def fb_options(api, **over):
    return {"base_url": api.url, "page_id": "page-1", "enabled_ratings": True, **over}


def test_facebook_is_off_unless_the_flag_is_set(api, ft):
    with pytest.raises(SourceError, match="switched off .* enabled_ratings = true"):
        list(facebook.pull(fb_options(api, enabled_ratings=False), FB_SECRETS.__getitem__, {}, runtime=ft.runtime()))
    assert api.requests() == []


def test_facebook_cursor_paging_without_the_token_in_the_url(store, api, ft):
    api.fb_ratings["page-1"] = [fb_rating(i) for i in range(23)] + [{"created_time": "2026-11-21T10:00:00+0000"}]
    summary = sync_account(store, AccountConfig("fb", "facebook", fb_options(api, page_size=10)),
                           secrets_getter=FB_SECRETS.__getitem__, runtime=ft.runtime())
    assert summary.new == 23 and summary.skipped == 1 and summary.batches == 3
    gets = api.requests("GET", "/v21.0/page-1/ratings")
    assert [g.query.get("after") for g in gets][0] is None and all(g.query.get("after") for g in gets[1:])
    assert all("access_token" not in g.query and g.headers["authorization"] == f"Bearer {FB_TOKEN}" for g in gets)
    c = conv(store, "story-0")
    assert c["channel"] == "facebook" and c["waiting_since"] == "2026-11-01T10:00:00+00:00"
    msg = store.messages(c["id"])[0]
    assert msg["subject"] == "Does not recommend" and msg["rating"] is None


def test_facebook_deprecation_is_explained(api, ft):
    with pytest.raises(SourceError) as err:
        list(facebook.pull(fb_options(api, api_version="v22.0"), FB_SECRETS.__getitem__, {}, runtime=ft.runtime()))
    assert not err.value.retryable and "deprecated" in str(err.value) and "error 12" in str(err.value)


def test_facebook_missing_permission_is_explained(api, ft):
    api.fb_refuse = "permission"
    with pytest.raises(SourceError, match="pages_read_user_content"):
        list(facebook.pull(fb_options(api), FB_SECRETS.__getitem__, {}, runtime=ft.runtime()))


def test_facebook_expired_page_token_needs_reauth(api, ft):
    api.fb_refuse = "token"
    with pytest.raises(NeedsReauth, match="Page access token"):
        list(facebook.pull(fb_options(api), FB_SECRETS.__getitem__, {}, runtime=ft.runtime()))
