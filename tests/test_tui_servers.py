"""The TUI against real servers: a reply typed in the editor goes out over SMTP (aiosmtpd),
a copy lands in Dovecot's Sent folder and the wait closes; "sync now" pulls new mail from
Dovecot into the list. Also the copy-and-open path for a platform with no reply API."""

from __future__ import annotations

import email
import email.policy

import pytest

from owner_tui.config import Config, OwnerConfig, SendConfig
from owner_tui.records import MessageRecord
from owner_tui.sources.imap.sync import sync_account
from owner_tui.store import Store
from owner_tui.tui import jobs
from owner_tui.tui.app import OwnerApp
from tests.imap_helpers import account, mail
from tests.servers.smtp import SmtpServer
from tests.tui_support import FrozenClock, iso, screen_text, settle


@pytest.fixture
def smtp(imap_account):
    with SmtpServer(mode="plain", users={imap_account.user: "smtp-secret"}) as server:
        yield server


@pytest.fixture
def mailbox(imap_account, smtp, tmp_path):
    acc = account(imap_account, smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none",
                  smtp_password_cmd="printf %s smtp-secret")
    config = Config(owner=OwnerConfig(name="Sam Baker", addresses=(imap_account.user,)), accounts=(acc,),
                    send=SendConfig(undo_seconds=0))
    path = tmp_path / "t.db"
    imap_account.append("INBOX", mail(1, to=imap_account.user, subject="Where is my order?"))
    with Store.open(path, config=config) as store:
        assert sync_account(store, acc).ok
    return path, config


@pytest.mark.servers
async def test_reply_from_the_editor_is_sent_over_smtp_and_closes_the_wait(mailbox, smtp, imap_account, tmp_path):
    path, config = mailbox
    app = OwnerApp(path, config, exports_dir=tmp_path / "exports")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.inbox.aging_list.total == 1
        await pilot.press("r")
        await settle(pilot)
        assert "No sender is set up" not in str(app.screen.query_one("#reply-note").render())
        await pilot.press(*"It ships today.", "ctrl+s")
        await settle(pilot, rounds=60)
        assert any("Reply to Customer 1: sent." in n for n in app.notices), list(app.notices)
        assert app.inbox.aging_list.total == 0
    (got,) = smtp.messages
    msg = email.message_from_bytes(got.content, policy=email.policy.default)
    assert msg["In-Reply-To"] == "<m1@example.net>" and "It ships today." in msg.get_content()
    with Store.open(path, config=config) as store:
        assert [r["status"] for r in store.outbox()] == ["sent"]
    with imap_account.client() as c:
        c.select_folder("Sent", readonly=True)
        assert len(c.search(["ALL"])) == 1


@pytest.mark.servers
async def test_sync_now_pulls_new_mail_into_the_list(mailbox, imap_account, tmp_path):
    path, config = mailbox
    # Without live mail: IDLE would race "sync now" for the new message (test_tui_live_mail).
    app = OwnerApp(path, config, exports_dir=tmp_path / "exports", live_mail=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.inbox.aging_list.total == 1
        imap_account.append("INBOX", mail(2, frm="bo@example.net", to=imap_account.user, subject="Opening hours?"))
        await pilot.press("g")
        await settle(pilot, rounds=60)
        assert app.inbox.aging_list.total == 2
        assert any(n.startswith("Sync: 1 new") for n in app.notices), list(app.notices)


async def test_no_reply_api_copies_opens_and_marks_replied_elsewhere(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)  # no graphical browser: the note says where to go
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    clock = FrozenClock()
    path = tmp_path / "t.db"
    with Store.open(path, clock=clock) as store:
        acc = store.ensure_account("yelp", "shop-yelp", {})
        store.ingest(acc, [MessageRecord(external_id="y1", channel="yelp", direction="in", sender_handle="yelp:zoe",
                                         sender_name="Zoë", text="Stale croissant.", rating=2, thread_key="y1",
                                         url="https://reviews.example/yelp/y1", sent_at=iso(clock, hours=3))])
    app = OwnerApp(path, Config(send=SendConfig(undo_seconds=0)), clock=clock, exports_dir=tmp_path / "exports")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert "Yelp has no reply API" in str(app.screen.query_one("#reply-note").render())
        await pilot.press(*"Sorry!", "ctrl+s")
        await settle(pilot)
        assert "Publish this reply publicly on Yelp" in screen_text(app)  # a second key for the public
        await pilot.press("y")
        await settle(pilot, rounds=60)
        note = app.notices[-1] if "Yelp" in app.notices[-1] else next(n for n in app.notices if "Yelp" in n)
        assert "Yelp has no reply API" in note and "https://reviews.example/yelp/y1" in note
        assert "marked replied elsewhere" in note
        assert app.inbox.aging_list.total == 0
    with Store.open(path, clock=clock) as store:
        conv = store.db.execute("SELECT replied_elsewhere, waiting_since FROM conversations").fetchone()
        assert conv == (1, None)
        assert store.outbox()[0]["status"] == "sent"


def test_no_sender_keeps_the_reply_queued(tmp_path):
    clock = FrozenClock()
    with Store.open(tmp_path / "t.db", clock=clock) as store:
        acc = store.ensure_account("imap", "not-in-config", {"address": "me@shop.example"})
        store.ingest(acc, [MessageRecord(external_id="a@x", sender_handle="a@example.com", subject="Hi",
                                         text="Hello", sent_at=iso(clock, hours=1), folder="INBOX")])
        cid = store.db.execute("SELECT id FROM conversations").fetchone()[0]
        oid = store.queue_reply(cid, "Hello back")
        assert jobs.deliver(store, Config(), oid) == jobs.Delivery("queued")
        assert store.outbox()[0]["status"] == "queued"


def test_gui_browser_detection():
    assert jobs.gui_browser_available({"DISPLAY": ":0"}) or jobs.sys.platform in ("darwin", "win32")
    if jobs.sys.platform.startswith("linux"):
        assert not jobs.gui_browser_available({})
