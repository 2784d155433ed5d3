"""Untrusted text is inert on every screen: no escape sequence, control or bidi override
reaches the terminal, and ``[markup]`` in a name or subject is shown literally."""

from __future__ import annotations

import pytest

from owner_tui.records import MessageRecord
from owner_tui.store import Store
from owner_tui.tui.app import OwnerApp
from tests.tui_support import (
    FrozenClock,
    config,
    iso,
    screen_lines,
    settle,
    wait_for_palette_hits,
)

OSC_TITLE = "\x1b]0;OWNED-TITLE\x07"
CSI = "\x1b[2J\x1b[31m"
OSC52 = "\x1b]52;c;Q0xJUEJPQVJE\x07"
C1_CSI = "\x9b31m"
HOSTILE = f"{OSC_TITLE}Eve{CSI} \u202eevil\u202c [bold red]Boom[/bold red] nul\x00 {OSC52}{C1_CSI}x"
PAYLOADS = ("OWNED-TITLE", "Q0xJUEJPQVJE")


def hostile_store(path, clock) -> dict[str, int]:
    with Store.open(path, config=config(), clock=clock) as store:
        mail = store.ensure_account("imap", f"mail {HOSTILE}", {"address": "owner@shop.example"})
        google = store.ensure_account("google", "g", {})
        store.ingest(mail, [MessageRecord(
            external_id="h1@x", sender_handle="eve@evil.example", sender_name=HOSTILE,
            recipients=("owner@shop.example",),
            subject=f"Subject {HOSTILE}", text=f"Body {HOSTILE}\nline two {HOSTILE}", sent_at=iso(clock, hours=5),
            folder="INBOX")])
        store.ingest(google, [MessageRecord(
            external_id="r1", channel="google", direction="in", sender_handle="google:eve", sender_name=HOSTILE,
            subject=HOSTILE, text=f"Review {HOSTILE}", rating=1, thread_key="r1", sent_at=iso(clock, hours=2),
            url=f"https://reviews.example/{OSC52}r1")])
        store.save_template(f"tpl {HOSTILE}", f"Hi {{first_name}} {HOSTILE}")
        return {r["channel"]: r["id"] for r in store.db.query("SELECT id, channel FROM conversations")}


def check(app) -> str:
    """Assert the current screen is clean (``screen_lines`` checks every segment) and that
    the markup in the hostile text stayed literal: wherever "Boom" is drawn, the tag that
    would have made it bold red is drawn right before it, as text."""
    text = "\n".join(screen_lines(app))
    for payload in PAYLOADS:
        assert payload not in text
    assert text.count("Boom") == text.count("red]Boom"), text
    return text


@pytest.fixture
def env(tmp_path):
    clock = FrozenClock()
    ids = hostile_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exports")
    return app, ids


async def test_hostile_text_is_inert_on_every_screen(env):
    app, ids = env
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        text = check(app)
        assert "[bold red]Boom[/bold red]" in text  # literal, in the list
        for view in "23456":
            await pilot.press(view)
            await settle(pilot)
            check(app)
        await pilot.press("1")
        await settle(pilot)

        # conversation (email: body, subject, name), then the reply editor over it
        await pilot.press("home", "enter")
        await settle(pilot)
        assert "Body" in check(app)
        await pilot.press("r")
        await settle(pilot)
        text = check(app)
        assert "Reply to" in text
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert "tpl" in check(app)
        await pilot.press("1")
        await settle(pilot)
        assert "\x1b" not in app.screen.query_one("#editor").text
        check(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert "Snooze" in check(app)
        await pilot.press("escape", "n")
        await settle(pilot)
        assert "this sender" in check(app)
        await pilot.press("escape", "escape")
        await settle(pilot)

        # the review: stars, link, excerpt
        await pilot.press("end", "enter")
        await settle(pilot)
        text = check(app)
        assert "★☆☆☆☆" in text and "Review" in text
        await pilot.press("d")  # a notification carrying the name
        await settle(pilot)
        assert "Done:" in check(app)
        await pilot.press("u")
        await settle(pilot)

        # triage banner and summary
        await pilot.press("t")
        await settle(pilot)
        check(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "Triage finished" in check(app)
        await pilot.press("escape")
        await settle(pilot)

        # the command palette's contact search, and the filter bar after jumping
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Eve")
        await wait_for_palette_hits(pilot, app)
        await settle(pilot)
        text = check(app)
        assert "Contact: Eve" in text
        await pilot.press("enter")
        await settle(pilot)
        text = check(app)
        assert "contact Eve" in text and app.inbox.filter.contact_id is not None

        await pilot.press("question_mark")
        await settle(pilot)
        check(app)


async def test_export_notice_and_reply_header_use_clean_names(env):
    app, ids = env
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("home", "r")
        await settle(pilot)
        text = check(app)
        assert "No sender is set up for mail Eve" in text  # the account name, cleaned
        await pilot.press("escape", "x", "1")
        await settle(pilot)
        check(app)
        assert all("\x1b" not in n for n in app.notices)
