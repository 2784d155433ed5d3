"""Issue 15: Yelp's partner Respond to Reviews API as an optional sender, against a local server
that speaks its documented contract (POST /reviews/v1/{review_id}, a Bearer business-owner token,
{"response_text", "response_type": "public_comment"}, R2R error ids). Without partner access,
Yelp stays on the manual copy-and-open path."""

from __future__ import annotations

import json

import pytest

from owner_tui.config import AccountConfig, Config, OwnerConfig
from owner_tui.send.outbox_worker import default_senders, process
from owner_tui.send.sender import SendError
from owner_tui.send.yelp import YelpPartnerSender, check_text
from owner_tui.sources.reviews.sync import sync_account
from owner_tui.tui.jobs import delivery_mode
from tests.servers.review_apis import YELP_KEY, YELP_PARTNER_TOKEN, api, ft  # noqa: F401

SECRETS = {"api_key": YELP_KEY, "partner_token": YELP_PARTNER_TOKEN}


def review(i: int) -> dict:
    return {"id": f"y{i}", "url": f"https://www.yelp.example/biz/shop?hrid=y{i}", "text": "Cold coffee.",
            "rating": 2, "time_created": "2026-11-20 09:30:00",
            "user": {"id": f"u{i}", "profile_url": "https://yelp.example/u", "image_url": None, "name": "Pat"}}


def account(api, partner: bool = True) -> AccountConfig:
    opts = {"base_url": api.url, "business_id": "biz-1", "api_key_env": "OT_YELP_KEY"}
    if partner:
        opts.update(partner_url=api.url, partner_token_env="OT_YELP_PARTNER")
    return AccountConfig("yelp", "yelp", opts)


@pytest.fixture
def shop(store, api, ft, monkeypatch):
    monkeypatch.setenv("OT_YELP_KEY", YELP_KEY)
    monkeypatch.setenv("OT_YELP_PARTNER", YELP_PARTNER_TOKEN)
    api.yelp_reviews["biz-1"] = [review(1)]
    sync_account(store, account(api), secrets_getter=SECRETS.__getitem__, runtime=ft.runtime())
    conv = store.db.execute("SELECT id, account_id FROM conversations WHERE external_key = 'y1'").fetchone()
    return store, conv[0], conv[1]


def awaiting(store, conv_id) -> bool:
    c = store.conversation(conv_id)
    return c["status"] == "open" and c["waiting_since"] is not None


def test_a_reply_goes_through_the_partner_api_once_and_closes_the_wait(shop, api):
    store, conv_id, account_id = shop
    config = Config(owner=OwnerConfig(addresses=("sam@shop.example",)), accounts=(account(api),))
    assert delivery_mode(store, config, account_id, "yelp") == "sender"
    oid = store.queue_reply(conv_id, "So sorry about the coffee, Pat. Next one is on us.")
    report = process(store, config)
    assert report.ok and [r for r in report.sent] and not awaiting(store, conv_id)
    posts = api.requests("POST", "/reviews/v1/")
    assert [p.path for p in posts] == ["/reviews/v1/y1"]
    assert json.loads(posts[0].body) == {"response_text": "So sorry about the coffee, Pat. Next one is on us.",
                                         "response_type": "public_comment"}
    assert posts[0].headers["authorization"] == f"Bearer {YELP_PARTNER_TOKEN}"
    assert store.outbox("sent")[0]["id"] == oid
    process(store, config)  # nothing queued: nothing posted again
    assert len(api.requests("POST", "/reviews/v1/")) == 1


def test_without_partner_access_yelp_stays_manual(shop, api):
    store, _conv, account_id = shop
    config = Config(accounts=(account(api, partner=False),))
    assert default_senders(config)(account(api, partner=False)) is None
    assert delivery_mode(store, config, account_id, "yelp") == "manual"


@pytest.mark.parametrize("error_id,words,retryable", [
    ("R2R_PROBLEM_WITH_USER_PHOTO", "photo of you", False),
    ("R2R_COMMENT_QUOTA_EXCEEDED", "20 replies per location a day", True),
    ("R2R_BUSINESS_NOT_CLAIMED", "claim it at biz.yelp.com", False),
])
def test_each_refusal_says_what_to_do_and_keeps_the_text(shop, api, ft, error_id, words, retryable):
    store, conv_id, _account = shop
    api.yelp_r2r_error = error_id
    oid = store.queue_reply(conv_id, "Thank you for telling us.")
    sender = YelpPartnerSender(account(api).options, SECRETS.__getitem__, ft.runtime())
    with pytest.raises(SendError) as err:
        sender.send(store.outgoing(oid))
    assert words in str(err.value) and err.value.retryable is retryable
    assert store.outgoing(oid).body == "Thank you for telling us."


def test_an_expired_partner_token_asks_for_a_new_one(shop, api, ft):
    store, conv_id, _account = shop
    oid = store.queue_reply(conv_id, "Thanks!")
    sender = YelpPartnerSender(account(api).options, {"partner_token": "stale"}.__getitem__, ft.runtime())
    with pytest.raises(SendError) as err:
        sender.send(store.outgoing(oid))
    assert "renew it" in str(err.value) and "stale" not in str(err.value) and not err.value.retryable


def test_a_reply_yelp_would_refuse_is_stopped_before_sending(shop, api, ft):
    with pytest.raises(SendError, match="emoji"):
        check_text("Thanks so much \U0001F600")
    with pytest.raises(SendError, match="shorten it by 1"):
        check_text("x" * 5001)
    assert check_text("  Five stars ★ thank you  ") == "Five stars ★ thank you"
    assert api.requests("POST", "/reviews/v1/") == []


def test_an_interrupted_send_is_never_resent_blindly(shop, api, ft):
    store, conv_id, _account = shop
    oid = store.queue_reply(conv_id, "Thanks!")
    sender = YelpPartnerSender(account(api).options, SECRETS.__getitem__, ft.runtime())
    assert sender.verify(store.outgoing(oid)) is None  # R2R documents no read-back: the owner checks
    api.fault("POST", "/reviews/v1/y1", 500, {"error": {"id": "INTERNAL", "description": "oops"}})
    with pytest.raises(SendError) as err:
        sender.send(store.outgoing(oid))
    assert "may or may not have acted" in str(err.value)
    assert len(api.requests("POST", "/reviews/v1/")) == 1
