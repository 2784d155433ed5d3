"""The reply editor: prefill, templates, drafts that survive closing and quitting, send ->
outbox, $EDITOR, and what the UI says about where the reply went."""

from __future__ import annotations

import sys

import pytest
from owner_tui.screens import reply as reply_module
from owner_tui.screens.reply import EditorError, ReplyScreen, edit_externally
from textual.widgets import TextArea

from owner_tui.store import Store
from owner_tui.tui.app import OwnerApp
from tests.tui_support import FrozenClock, build_store, config, screen_text, settle


@pytest.fixture
def env(tmp_path):
    clock = FrozenClock()
    ids = build_store(tmp_path / "t.db", clock)
    return tmp_path, clock, ids


def make_app(env, **kw) -> OwnerApp:
    tmp, clock, _ids = env
    return OwnerApp(tmp / "t.db", config(), clock=clock, exports_dir=tmp / "exports", **kw)


def store(env) -> Store:
    tmp, clock, _ = env
    return Store.open(tmp / "t.db", clock=clock)


def editor(app) -> TextArea:
    return app.screen.query_one("#editor", TextArea)


async def test_reply_prefilled_then_queued_in_the_outbox(env):
    tmp, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReplyScreen)
        assert editor(app).text == "Hi Ann,\n\n\n\nSam, Corner Shop"
        assert editor(app).cursor_location == (2, 0)
        text = screen_text(app)
        assert "Reply to Ann Archer <ann@example.com>" in text and "> Do you make wedding cakes?" in text
        assert "No sender is set up for shop-mail yet" in text
        await pilot.press(*"Yes we do!")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is app.inbox
    with store(env) as s:
        [row] = s.outbox()
        assert row["conversation_id"] == ids["ann"] and row["status"] == "queued"
        assert row["body"] == "Hi Ann,\n\nYes we do!\n\nSam, Corner Shop"
        assert s.draft(ids["ann"]) is None
    assert any("queued in the local outbox" in n and "not sent" in n for n in app.notices)


async def test_the_reply_goes_to_the_address_the_customer_asked_for(env):
    # Ann writes again from work, asking for answers at home (Reply-To): the editor says where
    # the reply goes, and the outbox sends it there, as any mail client would.
    from tests.tui_support import OWNER, email, iso

    tmp, clock, ids = env
    with Store.open(tmp / "t.db", config=config(), clock=clock) as s:
        s.ingest(s.ensure_account("imap", "shop-mail", {"address": OWNER}), [
            email("a2@x", "ann@work.example", "Ann Archer", "Re: Wedding cake?", "Answer me at home, please.",
                  iso(clock, days=4), in_reply_to="a1@x", headers={"reply-to": "Ann Archer <ann@home.example>"})])
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ReplyScreen)
        assert "Reply to Ann Archer <ann@home.example>" in screen_text(app)
        await pilot.press(*"Yes we do!")
        await pilot.press("ctrl+s")
        await settle(pilot)
    with store(env) as s:
        [row] = s.outbox()
        assert row["conversation_id"] == ids["ann"]
        assert s.outgoing(row["id"]).to == ("ann@home.example",)


async def test_demo_mode_says_plainly_the_reply_stays_local(env):
    tmp, clock, ids = env
    app = make_app(env, demo=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert "Demo: replies go to the demo's local outbox only" in screen_text(app)
        await pilot.press(*"Hello", "ctrl+s")
        await settle(pilot)
        # Issue 16: the demo simulates delivery, so the reply closes the wait as in real use.
        assert any("Reply to Ann Archer: delivered in the demo" in n for n in app.notices), list(app.notices)
        rows = [app.inbox.aging_list.row_at(i) for i in range(app.inbox.aging_list.total)]
        assert ids["ann"] not in [r["id"] for r in rows]


async def test_empty_reply_is_refused(env):
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        editor(app).load_text("   ")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReplyScreen) and app.notices[-1] == "The reply is empty."
    with store(env) as s:
        assert s.outbox() == []


async def test_draft_survives_closing_the_editor(env):
    tmp, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"Half a thought")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.inbox
        with store(env) as s:
            assert "Half a thought" in s.draft(ids["ann"])
        await pilot.press("r")
        await settle(pilot)
        assert "Half a thought" in editor(app).text


async def test_untouched_prefill_is_not_kept_as_a_draft(env):
    tmp, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
    with store(env) as s:
        assert s.draft(ids["ann"]) is None


async def test_draft_survives_quitting_the_app(env):
    tmp, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"typed before quitting")
        await pilot.press("ctrl+q")
        await pilot.pause()
    with store(env) as s:
        assert "typed before quitting" in s.draft(ids["ann"])


async def test_draft_autosaves_while_typing(env, monkeypatch):
    tmp, clock, ids = env
    monkeypatch.setattr(reply_module, "AUTOSAVE_SECONDS", 0.05)
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"crash-proof")
        await pilot.pause(0.2)
        await settle(pilot)
        with store(env) as s:
            assert "crash-proof" in (s.draft(ids["ann"]) or "")
        assert "draft saved" in screen_text(app)


async def test_template_inserts_with_placeholders(env):
    tmp, clock, ids = env
    with store(env) as s:
        s.save_template("ack", "Thanks {first_name}, {business} will reply by noon.")
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert "Thanks Ann, Sam will reply by noon." in editor(app).text


async def test_default_templates_when_the_store_has_none(env):
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        editor(app).load_text("")
        await pilot.press("ctrl+t")
        await settle(pilot)
        await pilot.press("enter")  # first: "thanks"
        await settle(pilot)
        assert editor(app).text.startswith("Thank you so much")


async def test_review_reply_is_public_and_short(env):
    tmp, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("end", "r")
        await settle(pilot)
        assert "Public reply to Gail's ★★☆☆☆ review on google" in screen_text(app)
        assert editor(app).text.startswith("Gail, \n")  # a 2-star review: no canned cheerfulness
        assert "thank" not in editor(app).text.lower()


async def test_undo_of_a_queued_reply_cancels_it_and_restores_the_draft(env):
    tmp, clock, ids = env
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"Oops, wrong person", "ctrl+s")
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        assert "Undone: queued reply (back in the draft)" in app.notices
    with store(env) as s:
        assert s.outbox()[0]["status"] == "cancelled"
        assert "Oops, wrong person" in s.draft(ids["ann"])


async def test_editor_key_without_a_terminal_says_so(env):
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+e")
        await settle(pilot)
        assert "cannot be handed to an external editor" in app.notices[-1]
        assert isinstance(app.screen, ReplyScreen)


def test_external_editor_round_trip(tmp_path):
    script = tmp_path / "ed.py"
    script.write_text("import sys\np = sys.argv[1]\nt = open(p).read()\nopen(p, 'w').write(t + 'edited\\x1b[31m\\n')\n")
    env = {"EDITOR": f"{sys.executable} {script}"}
    out = edit_externally("Hi Ann,\n", tmp_path / "drafts", env=env)
    assert out == "Hi Ann,\nedited"  # the escape sequence is gone, the text stays
    assert list((tmp_path / "drafts").iterdir()) == []  # the temporary file is removed


def test_external_editor_failure_keeps_the_draft(tmp_path):
    with pytest.raises(EditorError, match="status 3"):
        edit_externally("x", tmp_path, env={"EDITOR": f"{sys.executable} -c 'raise SystemExit(3)'"})
    with pytest.raises(EditorError, match="not found"):
        edit_externally("x", tmp_path, env={"EDITOR": "/nonexistent/editor"})


async def test_a_failed_send_is_shown_and_can_be_edited_and_sent_again(env):
    tmp, clock, ids = env
    with store(env) as s:
        old = s.queue_reply(ids["bob"], "First try")
        assert s.outbox_claim(old)
        s.outbox_fail(old, "550 mailbox unavailable")
    app = make_app(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "✗ send failed" in screen_text(app)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert "your reply was not sent: 550 mailbox unavailable" in screen_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert editor(app).text == "First try"
        assert "Your earlier reply was not sent (550 mailbox unavailable)" in screen_text(app)
        await pilot.press("end", *" and a second", "ctrl+s")
        await settle(pilot)
        assert "your reply is waiting in the outbox" in screen_text(app)
    with store(env) as s:
        rows = {r["id"]: r for r in s.outbox(conversation_id=ids["bob"])}
        assert rows[old]["status"] == "cancelled"
        [new] = [r for oid, r in rows.items() if oid != old]
        assert new["status"] == "queued" and new["body"] == "First try and a second"
