"""The outbox against real servers: aiosmtpd receives, Dovecot's Sent folder witnesses.

At most once: a row left in ``sending`` is verified against Sent before any retry.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace

import pytest

from owner_tui.config import Config, OwnerConfig
from owner_tui.send.outbox_worker import (
    UNKNOWN_OUTCOME,
    EmailSender,
    _wire_reply,
    process,
    requeue,
)
from owner_tui.sources.imap.connection import ImapSettings
from owner_tui.sources.imap.sent import PENDING, SentWitness
from owner_tui.sources.imap.sync import sync_account
from owner_tui.store import Store
from tests.imap_helpers import account, count, mail
from tests.servers.smtp import SmtpServer

pytestmark = pytest.mark.servers


@pytest.fixture
def smtp(imap_account):
    with SmtpServer(mode="plain", users={imap_account.user: "smtp-secret"}) as server:
        yield server


class Setup:
    def __init__(self, imap_account, smtp, tmp_path, **options) -> None:
        opts = {"smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_security": "none",
                "smtp_password_cmd": "printf %s smtp-secret", **options}
        self.acc = account(imap_account, **opts)
        self.imap = imap_account
        self.smtp = smtp
        self.config = Config(owner=OwnerConfig(name="Sam Baker", addresses=(imap_account.user,)),
                             accounts=(self.acc,))
        self.store = Store.open(tmp_path / "db", config=self.config)
        imap_account.append("INBOX", mail(1, to=imap_account.user, subject="Where is my order?"))
        res = sync_account(self.store, self.acc)
        assert res.ok, res.summary()
        self.conv = self.store.db.execute("SELECT id FROM conversations").fetchone()[0]

    def queue(self, body: str = "It ships today.") -> int:
        return self.store.queue_reply(self.conv, body)

    def sent_copies(self) -> dict[int, tuple]:
        """UID -> (flags, Message-ID) of everything in the Sent folder."""
        with self.imap.client() as c:
            c.select_folder("Sent", readonly=True)
            uids = c.search(["ALL"])
            data = c.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        return {u: (d[b"FLAGS"], next(v for k, v in d.items() if k.startswith(b"BODY[")).decode().strip())
                for u, d in data.items()}

    def row(self, oid: int) -> dict:
        return self.store.outbox()[[r["id"] for r in self.store.outbox()].index(oid)]

    def waiting(self) -> bool:
        return self.store.conversation(self.conv)["waiting_since"] is not None


def test_reply_threading_headers_as_received_and_copy_in_sent(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path)
    assert s.waiting()
    oid = s.queue()
    report = process(s.store, s.config)
    assert report.sent == [oid] and report.ok, report.lines()

    (got,) = smtp.messages
    msg = email.message_from_bytes(got.content, policy=email.policy.default)
    row = s.row(oid)
    assert msg["Message-ID"] == f"<{row['message_id']}>"
    assert msg["In-Reply-To"] == "<m1@example.net>"
    assert msg["References"] == "<m1@example.net>"
    assert msg["Subject"] == "Re: Where is my order?"
    assert msg["From"] == f"Sam Baker <{imap_account.user}>"
    assert got.rcpt_tos == ("ann@example.net",) and got.login == imap_account.user
    assert msg.get_content().strip() == "It ships today."

    assert row["status"] == "sent" and not s.waiting()
    copies = s.sent_copies()
    assert [m for _, m in copies.values()] == [f"Message-ID: <{row['message_id']}>"]
    assert all(PENDING not in f for f, _ in copies.values()) and all(b"\\Seen" in f for f, _ in copies.values())

    # The next sync sees that copy in Sent: the same message, not a second reply.
    res = sync_account(s.store, s.acc)
    sent = next(f for f in res.folders if f.role == "sent")
    assert (sent.new, sent.duplicate) == (0, 1)
    assert count(s.store, "SELECT count(*) FROM messages WHERE direction = 'out'") == 1


def test_provider_that_files_sent_mail_gets_no_second_copy(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path, smtp_saves_sent=True)
    oid = s.queue()
    assert process(s.store, s.config).sent == [oid]
    assert len(smtp.messages) == 1 and s.sent_copies() == {}


def test_crash_after_send_found_in_sent_is_not_sent_again(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path)
    oid = s.queue()
    assert s.store.outbox_claim(oid)
    EmailSender(s.acc, s.config).send(_wire_reply(s.store.outgoing(oid)))  # ...and the process dies here
    assert s.row(oid)["status"] == "sending" and len(smtp.messages) == 1

    report = process(s.store, s.config, stale_after=0)
    assert report.recovered_sent == [oid] and report.sent == []
    assert len(smtp.messages) == 1
    assert s.row(oid)["status"] == "sent" and not s.waiting()
    assert process(s.store, s.config, stale_after=0).sent == [] and len(smtp.messages) == 1


def test_crash_before_smtp_is_sent_exactly_once(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path)
    oid = s.queue()
    assert s.store.outbox_claim(oid)  # claimed, then killed before anything went out

    report = process(s.store, s.config, stale_after=0)
    assert report.requeued == [oid] and report.sent == [oid]
    assert len(smtp.messages) == 1 and s.row(oid)["status"] == "sent"
    process(s.store, s.config, stale_after=0)
    assert len(smtp.messages) == 1


def test_crash_during_smtp_cannot_tell_and_keeps_the_text(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path)
    oid = s.queue("Exactly these words.")
    assert s.store.outbox_claim(oid)
    reply = _wire_reply(s.store.outgoing(oid))
    with SentWitness(ImapSettings.from_account(s.acc)) as w:  # filed as pending, then the crash
        w.file(mail(99, msgid=reply.message_id.strip("<>")), pending=True)

    report = process(s.store, s.config, stale_after=0)
    assert report.failed == [(oid, UNKNOWN_OUTCOME)] and smtp.messages == []
    row = s.row(oid)
    assert row["status"] == "failed" and "cannot be checked" in row["error"]
    assert row["body"] == "Exactly these words."
    # The pending copy is never ingested as a reply by the sync.
    sync_account(s.store, s.acc)
    assert s.waiting()


def test_sent_folder_unreachable_cannot_tell(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path)
    oid = s.queue()
    assert s.store.outbox_claim(oid)
    from tests.servers.dovecot import free_port

    dead = replace(s.config, accounts=(account(imap_account, port=free_port(), smtp_host=smtp.host,
                                               smtp_port=smtp.port, smtp_security="none",
                                               smtp_password_cmd="printf %s smtp-secret"),))
    report = process(s.store, dead, stale_after=0)
    assert [oid for oid, _ in report.failed] == [oid] and smtp.messages == []
    assert "cannot be checked" in s.row(oid)["error"]


def test_recent_sending_row_is_left_to_its_worker(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path)
    oid = s.queue()
    assert s.store.outbox_claim(oid)  # another process is sending it right now
    report = process(s.store, s.config)  # default: only rows idle for 5 minutes are recovered
    assert report.sent == report.requeued == report.recovered_sent == []
    assert s.row(oid)["status"] == "sending" and smtp.messages == []


def test_refused_send_keeps_text_and_removes_pending_copy(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path)
    smtp.fail_data("554 5.7.1 message refused", times=-1)
    oid = s.queue("Keep me.")
    report = process(s.store, s.config)
    assert [o for o, _ in report.failed] == [oid]
    row = s.row(oid)
    assert row["status"] == "failed" and row["body"] == "Keep me."
    assert "554" in row["error"] and "refused" in row["error"]
    assert s.sent_copies() == {} and s.waiting()

    smtp.fail_data("250 ok", times=0)
    assert requeue(s.store, oid)
    assert process(s.store, s.config).sent == [oid]
    assert len(smtp.messages) == 1 and len(s.sent_copies()) == 1


def test_connection_lost_after_data_is_left_for_the_owner(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path)
    smtp.drop_after(0)  # the server takes the message and hangs up without an answer
    oid = s.queue()
    report = process(s.store, s.config)
    error = s.row(oid)["error"]
    assert [o for o, _ in report.failed] == [oid] and "nobody can tell whether it was delivered" in error
    assert "does not prove it went out" in error
    (flags, _), = s.sent_copies().values()
    assert PENDING in flags  # may have gone out: the copy stays, marked, as evidence
    # ...and flagged, which every client shows (a keyword alone is invisible in most).
    assert b"\\Flagged" in flags
    # Retried anyway? The verification after a crash would say "cannot tell", never "resend".
    assert EmailSender(s.acc, s.config).verify(_wire_reply(s.store.outgoing(oid))) is None
    # The owner sends it again: the unconfirmed copy goes, one plain copy stays.
    smtp.drop_after(10_000)  # accept from now on
    assert requeue(s.store, oid)
    assert process(s.store, s.config).sent == [oid]
    (flags, _), = s.sent_copies().values()
    assert PENDING not in flags and b"\\Flagged" not in flags


def test_a_reply_cut_mid_data_leaves_no_copy_in_sent_and_can_be_sent_again(imap_account, smtp, tmp_path):
    """Issue 14, item 5: cut in the middle of DATA, the reply is known not delivered; the
    copy filed in Sent before SMTP (its keyword invisible in normal clients) is removed, so
    nothing in Sent suggests it went out; the text is kept and sending again works."""
    from tests.servers.proxy import FaultProxy

    with FaultProxy(smtp.host, smtp.port) as proxy:
        s = Setup(imap_account, smtp, tmp_path, smtp_host=proxy.host, smtp_port=proxy.port)
        proxy.cut_after(900)
        oid = s.queue("It ships today. " * 100)
        report = process(s.store, s.config)
        assert [o for o, _ in report.failed] == [oid]
        row = s.row(oid)
        assert "was not delivered" in row["error"] and row["body"].startswith("It ships today.")
        assert s.sent_copies() == {} and smtp.messages == [] and s.waiting()
        proxy.clear()
        assert requeue(s.store, oid)
        assert process(s.store, s.config).sent == [oid]
    assert len(smtp.messages) == 1 and len(s.sent_copies()) == 1 and not s.waiting()


def test_wrong_smtp_password_fails_in_plain_words(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path, smtp_password_cmd="printf %s wrong-one")
    oid = s.queue()
    report = process(s.store, s.config)
    (fid, msg), = report.failed
    assert fid == oid and "wrong password" in msg and "wrong-one" not in msg
    assert s.sent_copies() == {}


def test_account_without_smtp_host_fails_with_the_reason(imap_account, smtp, tmp_path):
    s = Setup(imap_account, smtp, tmp_path)
    bare = replace(s.config, accounts=(account(imap_account),))
    oid = s.queue()
    report = process(s.store, bare)
    assert report.failed == [(oid, "account mail has no smtp_host: add smtp_host (and smtp_port, "
                                   "smtp_security) to [accounts.mail] to send replies")]
    assert s.row(oid)["body"] == "It ships today."


def test_tui_entry_points_send_and_sync(imap_account, smtp, tmp_path):
    """What app.py calls: ``send.sender_for`` (then send with the store's bare Message-ID) and
    ``sync.sync_accounts``."""
    from owner_tui.send import sender_for
    from owner_tui.sync import sync_accounts

    s = Setup(imap_account, smtp, tmp_path)
    oid = s.queue()
    sender = sender_for(s.store, s.row(oid)["account_id"], s.config)
    assert isinstance(sender, EmailSender)
    assert s.store.outbox_claim(oid)
    s.store.outbox_finish(oid, sender.send(s.store.outgoing(oid)))  # as app.py does: no wrapping
    assert len(smtp.messages) == 1 and not s.waiting()

    bare = replace(s.config, accounts=(account(imap_account),))  # no smtp_host: no sender
    assert sender_for(s.store, s.row(oid)["account_id"], bare) is None

    imap_account.append("INBOX", mail(5, to=imap_account.user))
    lines: list[str] = []
    summary = sync_accounts(s.store, s.config, report=lines.append, cancelled=lambda: False)
    assert summary == "Sync: 1 new"
    # Progress per batch, then the account's line (the Sent copy of the reply is no news).
    assert lines == ["mail INBOX: 1/1", "mail Sent: 1/1", "mail: INBOX: 1 new; Sent: 0 new"]
    assert sync_accounts(s.store, s.config, cancelled=lambda: True) == "Sync: 0 new"
