"""On-site feedback and email, against the real servers: a customer who left an address gets
the owner's reply by email through the outbox and SMTP (aiosmtpd on loopback), and a low
rating is mailed to the owner at once when [feedback] alert_email is set."""

from __future__ import annotations

import email
import time
from dataclasses import replace
from email import policy
from types import MappingProxyType

import httpx

from owner_tui.config import AccountConfig, Config, FeedbackConfig, OwnerConfig
from owner_tui.send.outbox_worker import process
from owner_tui.sources.feedback.alerts import email_alert
from owner_tui.store import Store
from tests.feedback_support import fill, serve

OWNER = "owner@example.com"


def mail_config(smtp, **fb) -> Config:
    acc = AccountConfig(name="shop", kind="imap", options=MappingProxyType({
        "host": "127.0.0.1", "port": 1, "security": "none", "user": OWNER, "address": OWNER,
        "password_cmd": "printf %s secret", "smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_security": "none",
        "smtp_saves_sent": True, "timeout": 10}))
    return Config(owner=OwnerConfig(name="Sam", business="Corner Café", addresses=(OWNER,)), accounts=(acc,),
                  feedback=replace(FeedbackConfig(), port=0, rate_per_minute=1000, **fb))


def test_the_owner_replies_by_email_to_a_customer_who_left_an_address(tmp_path, smtp_server):
    cfg = mail_config(smtp_server)
    with serve(tmp_path, cfg) as srv, httpx.Client(base_url=f"http://127.0.0.1:{srv.port}") as c:
        assert fill(c, rating=2, comment="Cold soup", table="4", contact="Ann <ann@example.net>").status_code == 400
        assert fill(c, rating=2, comment="Cold soup", table="4", contact="ann@example.net").status_code == 200
    with Store.open(tmp_path / "store.db", config=cfg) as store:
        conv = store.db.execute("SELECT id FROM conversations WHERE channel = 'on-site'").fetchone()[0]
        oid = store.queue_reply(conv, "Sorry about the soup: the next one is on us.")
        report = process(store, cfg)
        assert report.sent == [oid], report
        row = store.conversation(conv)
        assert row["waiting_since"] is None and row["last_outbound_at"]  # the wait closed
    [got] = smtp_server.messages
    assert got.rcpt_tos == ("ann@example.net",)
    msg = email.message_from_bytes(got.content, policy=policy.default)
    assert msg["To"] == "ann@example.net" and msg["Subject"].startswith("Re: On-site feedback: 2★, table 4")
    assert "next one is on us" in msg.get_content() and msg["Message-ID"].startswith("<")


def test_a_low_rating_is_mailed_to_the_owner_at_once(tmp_path, smtp_server):
    cfg = mail_config(smtp_server, alert_email="sam@example.org", alert_rating=3)
    with serve(tmp_path, cfg, alert=email_alert(cfg)) as srv, \
            httpx.Client(base_url=f"http://127.0.0.1:{srv.port}") as c:
        sent = time.monotonic()
        assert fill(c, rating=1, comment="Waited 40 minutes\nfor a cold coffee", table="Terrace 2").status_code == 200
        assert fill(c, rating=5, comment="Lovely").status_code == 200
        while not smtp_server.messages and time.monotonic() - sent < 5:
            time.sleep(0.02)
        took = time.monotonic() - sent
    print(f"\nfrom the customer's tap to the owner's alert mail at the SMTP server: {took * 1000:.0f} ms")
    assert took < 2.0, f"alert after {took:.2f} s"
    [got] = smtp_server.messages  # only the low rating
    msg = email.message_from_bytes(got.content, policy=policy.default)
    assert got.rcpt_tos == ("sam@example.org",) and msg["Auto-Submitted"] == "auto-generated"
    assert msg["Subject"] == "On-site feedback: 1★ at table Terrace 2: Waited 40 minutes for a cold coffee"
    assert "for a cold coffee" in msg.get_content()


def test_an_on_site_customer_with_an_address_is_that_email_contact(tmp_path):
    from datetime import datetime, timezone

    from owner_tui.records import MessageRecord
    from owner_tui.sources.feedback.submission import Submission, store_submission

    with Store.open(tmp_path / "s.db") as s:
        mail = s.ensure_account("imap", "shop", {"address": OWNER})
        s.ingest(mail, [MessageRecord(external_id="m1@x", sender_handle="ann@example.net", sender_name="Ann",
                                      recipients=(OWNER,), subject="Booking", text="Table for 4?",
                                      sent_at=datetime(2026, 11, 1, tzinfo=timezone.utc).isoformat())])
        assert store_submission(s, Submission("t1", 2, "Cold soup", name="Ann", email="ann@example.net"))
        assert not store_submission(s, Submission("t1", 2, "Cold soup", name="Ann", email="ann@example.net"))
        contacts = {r[0] for r in s.db.execute("SELECT contact_id FROM conversations")}
        assert len(contacts) == 1  # the booking and the feedback: one person, one history
