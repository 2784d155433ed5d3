"""The conversation view: history across channels, in/out, stars and link, HTML as text,
long messages scrollable, and the actions from inside it."""

from __future__ import annotations

import pytest
from owner_tui.screens.conversation import ConversationScreen
from textual.containers import VerticalScroll

from owner_tui.records import MessageRecord
from owner_tui.store import Store
from owner_tui.tui.app import OwnerApp
from tests.tui_support import (
    OWNER,
    FrozenClock,
    build_store,
    config,
    email,
    iso,
    review,
    screen_text,
    settle,
)


@pytest.fixture
def env(tmp_path):
    clock = FrozenClock()
    ids = build_store(tmp_path / "t.db", clock)
    path = tmp_path / "t.db"
    with Store.open(path, clock=clock) as store:
        mail = store.ensure_account("imap", "shop-mail")
        google = store.ensure_account("google", "shop-google")
        store.ingest(mail, [
            MessageRecord(external_id="a1r@shop", sender_handle=OWNER, sender_name="Sam",
                          recipients=("ann@example.com",),
                          subject="Re: Wedding cake?", text="We do! Which date?", sent_at=iso(clock, days=4),
                          in_reply_to="a1@x", references=("a1@x",), folder="Sent"),
            email("a2@x", "ann@example.com", "Ann Archer", "Re: Wedding cake?",
                  "<html><body><p>14 June.</p><p>Thanks,<br>Ann</p></body></html>", iso(clock, days=3),
                  in_reply_to="a1r@shop"),
            email("long@x", "lou@example.com", "Lou Long", "A long story",
                  "\n".join(f"line {i}" for i in range(300)), iso(clock, hours=1)),
        ])
        store.ingest(google, [review("google", "g-ann", "Ann A", 5, "Lovely cake!", iso(clock, days=2))])
        ann_review = store.db.execute("SELECT contact_id FROM conversations WHERE external_key = 'g-ann'").fetchone()[0]
        ann_mail = store.conversation(ids["ann"])["contact_id"]
        store.merge_contacts(ann_mail, ann_review)
        ids["lou"] = store.db.execute("SELECT id FROM conversations WHERE subject = 'A long story'").fetchone()[0]
    return path, clock, ids


def make_app(env) -> OwnerApp:
    path, clock, _ = env
    return OwnerApp(path, config(), clock=clock, exports_dir=path.parent / "exports")


async def open_conv(pilot, app, cid: int) -> ConversationScreen:
    app.push_screen(ConversationScreen(cid))
    await settle(pilot)
    assert isinstance(app.screen, ConversationScreen) and app.screen.loaded
    return app.screen


async def test_history_across_channels_newest_last(env):
    path, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        screen = await open_conv(pilot, app, ids["ann"])
        text = screen_text(app)
        said = ("Do you make wedding cakes?", "We do! Which date?", "14 June.", "Lovely cake!")
        order = [text.index(s) for s in said]
        assert order == sorted(order)
        assert "← Ann Archer <ann@example.com> · email" in text
        assert "→ You · email" in text
        assert "← Ann A · google" in text and "★★★★★" in text
        assert "↗ https://reviews.example/google/g-ann" in text
        assert "<p>" not in text and "<br>" not in text and "Thanks," in text  # HTML shown as text
        assert "Wedding cake?" in text  # the subject in the header
        outbound = [w for w in screen.query(".msg.out")]
        assert len(outbound) == 1 and len(screen.query(".msg.in")) == 3


async def test_long_messages_scroll_and_the_view_opens_at_the_newest(env):
    path, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = await open_conv(pilot, app, ids["lou"])
        history = screen.query_one("#history", VerticalScroll)
        assert history.max_scroll_y > 200
        assert history.scroll_y == history.max_scroll_y
        assert "line 299" in screen_text(app)
        await pilot.press("home")
        await settle(pilot)
        assert history.scroll_y == 0


async def test_done_from_the_conversation_goes_back_to_the_list(env):
    path, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        cid = app.screen.conversation_id
        assert cid == ids["ann"]
        await pilot.press("d")
        await settle(pilot)
        assert app.screen is app.inbox
        with Store.open(path, clock=clock) as store:
            assert store.conversation(cid)["status"] == "done"


async def test_reply_from_the_conversation_stays_and_shows_it_queued(env):
    path, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conv(pilot, app, ids["bob"])
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"On its way", "ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        with Store.open(path, clock=clock) as store:
            assert store.outbox(conversation_id=ids["bob"])[0]["body"].count("On its way") == 1


async def test_open_link_refuses_anything_but_http(env):
    path, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conv(pilot, app, ids["bob"])
        await pilot.press("l")
        assert app.notices[-1] == "This conversation has no web page to open."
        screen.row["url"] = "javascript:alert(1)"
        await pilot.press("l")
        assert app.notices[-1] == "This conversation has no web page to open."


async def test_next_is_only_offered_in_triage(env):
    path, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await open_conv(pilot, app, ids["bob"])
        assert "Next" not in screen_text(app)
        await pilot.press("space")
        await settle(pilot)
        assert app.screen.conversation_id == ids["bob"]


async def test_reopen_and_undo_inside_the_conversation_show_the_state(env):
    path, clock, ids = env
    with Store.open(path, clock=clock) as store:
        store.mark_done(ids["bob"])
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_conv(pilot, app, ids["bob"])
        assert "· done" in screen_text(app)
        await pilot.press("o")
        await settle(pilot)
        assert app.screen is screen and "· open" in screen_text(app)
        await pilot.press("u")
        await settle(pilot)
        assert "· done" in screen_text(app)
