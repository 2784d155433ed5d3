"""Issue 15: tokens kept across runs (a cron sync per run must not sign in afresh), a 429 from a
token endpoint waited out rather than retried at once. Against the local contract server."""

from __future__ import annotations

import json
import os
import stat

from owner_tui.config import AccountConfig
from owner_tui.paths import get_paths
from owner_tui.sources.reviews import oauth, trustpilot
from owner_tui.sources.reviews.sync import sync_account
from owner_tui.sources.reviews.tokens import forget_process_memory
from tests.servers.review_apis import (  # noqa: F401
    GOOGLE_SECRETS,
    TP_SECRETS,
    api,
    ft,
    google_review,
    tp_review,
)

TP_GRANT = "/v1/oauth/oauth-business-users-for-applications/"


def new_process() -> None:
    """What a new cron run starts with: nothing in memory."""
    oauth.clear_token_cache()
    trustpilot.clear_token_cache()
    forget_process_memory()


def tp_sync(store, api, ft, **opts):
    acc = AccountConfig("tp", "trustpilot", api.tp_options(**opts))
    return sync_account(store, acc, secrets_getter=TP_SECRETS.__getitem__, runtime=ft.runtime())


def g_sync(store, api, ft, **opts):
    acc = AccountConfig("g", "google", api.google_options(**opts))
    return sync_account(store, acc, secrets_getter=GOOGLE_SECRETS.__getitem__, runtime=ft.runtime())


def test_trustpilot_token_survives_the_process_in_an_owner_only_file(store, api, ft):
    api.tp_reviews["bu-1"] = [tp_review("t1", created="2026-11-01T10:00:00Z")]
    assert tp_sync(store, api, ft).error is None
    new_process()
    ft.now += 3600  # an hour later, the next cron run
    assert tp_sync(store, api, ft).error is None
    assert api.tp_grants == ["password"]  # one sign-in for both runs
    path = get_paths().state_dir / "tokens.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    text = path.read_text()
    assert TP_SECRETS["password"] not in text and TP_SECRETS["api_secret"] not in text
    # ...and not in the database either
    dump = "\n".join(store.db.iterdump())
    entry = next(iter(json.loads(text).values()))
    assert entry["access_token"] not in dump


def test_trustpilot_token_is_renewed_only_after_expiry_with_the_refresh_token(store, api, ft):
    tp_sync(store, api, ft)
    new_process()
    ft.now += 100 * 3600  # 100 hours: the access token has expired
    assert tp_sync(store, api, ft).error is None
    assert api.tp_grants == ["password", "refresh_token"]


def test_token_429_is_waited_out_inline_when_short(store, api, ft):
    api.fault("POST", TP_GRANT, 429, {"message": "Too many requests"}, headers={"Retry-After": "20"})
    summary = tp_sync(store, api, ft)
    assert summary.error is None
    assert 20 in ft.sleeps
    assert len(api.requests("POST", TP_GRANT)) == 2


def test_token_429_is_not_retried_at_once_and_later_runs_wait(store, api, ft):
    api.fault("POST", TP_GRANT, 429, {"message": "Too many requests"}, count=5)  # no Retry-After
    first = tp_sync(store, api, ft)
    assert first.error and "signed in too often" in first.error and first.retryable
    assert len(api.requests("POST", TP_GRANT)) == 1  # asked once, not five times in a row
    assert ft.sleeps == [] or max(ft.sleeps) < 1  # and no busy retry
    new_process()
    ft.now += 60
    second = tp_sync(store, api, ft)  # a cron run a minute later does not ask again
    assert second.error and "waits until" in second.error
    assert len(api.requests("POST", TP_GRANT)) == 1
    api.faults.clear()
    ft.now += 3600  # after the cool-off the sign-in works again
    assert tp_sync(store, api, ft).error is None
    assert len(api.requests("POST", TP_GRANT)) == 2


def test_google_access_token_is_reused_by_the_next_run(store, api, ft):
    api.reviews["accounts/1/locations/10"] = [google_review("a", create="2026-11-01T10:00:00Z")]
    g_sync(store, api, ft)
    new_process()
    ft.now += 600
    g_sync(store, api, ft)
    assert len(api.requests("POST", "/token")) == 1
    new_process()
    ft.now += 3600
    g_sync(store, api, ft)
    assert len(api.requests("POST", "/token")) == 2
    text = (get_paths().state_dir / "tokens.json").read_text()
    assert "rt-good" not in text and GOOGLE_SECRETS["client_secret"] not in text  # only access tokens


def test_revoked_google_consent_says_what_to_do_with_a_link(store, api, ft):
    api.google_refresh_tokens.clear()
    summary = g_sync(store, api, ft)
    assert summary.needs_reauth
    assert "owner-tui accounts add google" in summary.error and "https://myaccount.google.com/permissions" in summary.error
