"""Issue 15 in the TUI: an unverified location and a quota-0 project in the status line's
words, the feed totals and moderation in the conversation, and deleting a published reply from
the conversation (X, one confirmation) against the local Google contract server."""

from __future__ import annotations

import pytest

from owner_tui.config import AccountConfig, Config, OwnerConfig
from owner_tui.screens.conversation import ConversationScreen
from owner_tui.tui.app import OwnerApp
from tests.servers.review_apis import GOOGLE_CLIENT, api, google_review  # noqa: F401
from tests.tui_support import FrozenClock, screen_text, settle

LOC = "accounts/1/locations/10"


def google_app(api, tmp_path, monkeypatch, **opts):  # noqa: F811
    monkeypatch.setenv("OT_CS", GOOGLE_CLIENT[1])
    monkeypatch.setenv("OT_RT", "rt-good")
    acc = AccountConfig("gbp", "google", {**api.google_options(qpm=60000, max_attempts=1, **opts),
                                          "client_secret_env": "OT_CS", "refresh_token_env": "OT_RT"})
    config = Config(owner=OwnerConfig(name="Sam", addresses=("own@example.com",)), accounts=(acc,))
    return OwnerApp(tmp_path / "t.db", config, clock=FrozenClock(), live_mail=False)


async def sync_in_app(pilot) -> None:
    await settle(pilot)
    await pilot.press("g")
    await settle(pilot, rounds=80)
    for _ in range(50):
        if not pilot.app.syncing:
            break
        await pilot.pause(0.1)
    await settle(pilot)


async def wait_for(pilot, predicate, tries: int = 60) -> None:
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError("condition not reached")


@pytest.mark.servers
async def test_delete_a_published_reply_from_the_conversation(api, tmp_path, monkeypatch):  # noqa: F811
    api.reviews[LOC] = [google_review("r", comment="Lovely \x1b[31mbread", create="2026-11-20T10:00:00Z",
                                      reply=("Thank you!", "2026-11-20T12:00:00Z"))]
    app = google_app(api, tmp_path, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await sync_in_app(pilot)
        app.push_screen(ConversationScreen(1))
        await settle(pilot, rounds=40)
        text = screen_text(app)
        assert "Main St: 4.5 stars, 1 reviews" in text  # the location's rating and count
        assert "\x1b" not in text
        await pilot.press("X")
        await settle(pilot)
        await pilot.press("1")  # "Delete it on Google"
        await wait_for(pilot, lambda: api.requests("DELETE"))
        await settle(pilot, rounds=40)
        assert "reviewReply" not in api.reviews[LOC][0]
        await wait_for(pilot, lambda: "reply removed on the platform" in screen_text(app))
        assert "Thank you!" in screen_text(app)  # kept and readable


@pytest.mark.servers
async def test_keep_leaves_the_reply_alone(api, tmp_path, monkeypatch):  # noqa: F811
    api.reviews[LOC] = [google_review("r", create="2026-11-20T10:00:00Z", reply=("Thanks", "2026-11-20T12:00:00Z"))]
    app = google_app(api, tmp_path, monkeypatch)
    async with app.run_test(size=(100, 30)) as pilot:
        await sync_in_app(pilot)
        app.push_screen(ConversationScreen(1))
        await settle(pilot, rounds=40)
        await pilot.press("X")
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot, rounds=20)
        assert not api.requests("DELETE") and "reviewReply" in api.reviews[LOC][0]
