"""Replies by text through Twilio, against the contract server over real HTTP (issue 19):
the POST, From = the business number they wrote to, the rules before a text (STOP, WhatsApp's
24-hour window and its template), each send-side error in its own words, at most once after
a lost answer, and the delivery status followed until it is final."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from owner_tui.config import AccountConfig, Config, OwnerConfig
from owner_tui.records import MessageRecord
from owner_tui.send.outbox_worker import follow_delivery, process
from owner_tui.store import Store
from tests.servers.twilio_api import BUSINESS, TEMPLATE_SID, twilio  # noqa: F401

CUSTOMER = "+15559870001"
API_MESSAGES = "/2010-04-01/Accounts/"


class Shop:
    """A store with one Twilio account and a customer's text awaiting a reply."""

    def __init__(self, server, tmp_path, channel: str = "sms", *, to: str = BUSINESS, customer: str = CUSTOMER,
                 when: datetime | None = None, **options) -> None:
        self.server = server
        self.acc = AccountConfig(name="texts", kind="twilio", options=server.options(**options))
        self.config = Config(owner=OwnerConfig(name="Sam"), accounts=(self.acc,))
        self.store = Store.open(tmp_path / "db", config=self.config)
        self.account_id = self.store.ensure_account("twilio", "texts", {})
        self.channel = channel
        self.conv = self.inbound("Do you have gluten-free bread today?", to=to, customer=customer, when=when)

    def inbound(self, text: str, *, to: str = BUSINESS, customer: str = CUSTOMER, when: datetime | None = None) -> int:
        when = when or datetime.now(UTC) - timedelta(minutes=30)
        prefix = "whatsapp:" if self.channel == "whatsapp" else ""
        sid = f"SM{abs(hash((text, customer, when))):032x}"[:34]
        self.store.ingest(self.account_id, [MessageRecord(
            external_id=sid, channel=self.channel, direction="in", sent_at=when.isoformat(),
            sender_handle=prefix + customer, recipients=(prefix + to,), text=text, thread_key=customer)])
        return self.store.db.execute("SELECT conversation_id FROM messages WHERE external_id = ?", [sid]).fetchone()[0]

    def reply(self, body: str = "Yes, two loaves left!", **meta) -> int:
        return self.store.queue_reply(self.conv, body, meta=meta or None)

    def send(self, **kw):
        return process(self.store, self.config, stale_after=0, **kw)

    def row(self, oid: int) -> dict:
        return next(r for r in self.store.outbox() if r["id"] == oid)

    def posts(self) -> list:
        return self.server.requests("POST", API_MESSAGES)

    def awaiting(self) -> bool:
        return self.store.conversation(self.conv)["waiting_since"] is not None


@pytest.fixture
def shop(twilio, tmp_path):  # noqa: F811
    s = Shop(twilio, tmp_path)
    yield s
    s.store.close()


def test_a_reply_goes_as_an_sms_from_the_business_number_and_closes_the_wait(shop):
    oid = shop.reply()
    report = shop.send()
    assert report.sent == [oid], report
    (post,) = shop.posts()
    assert post.form == {"To": [CUSTOMER], "From": [BUSINESS], "Body": ["Yes, two loaves left!"]}
    row = shop.row(oid)
    assert row["status"] == "sent" and row["delivery"] == "queued" and row["remote_id"].startswith("SM")
    out = shop.store.db.execute("SELECT external_id, direction FROM messages WHERE direction = 'out'").fetchall()
    assert out == [(row["remote_id"], "out")]  # the SID: the inbound sync will see the same message
    assert not shop.awaiting()


def test_from_is_the_number_the_customer_wrote_to(twilio, tmp_path):  # noqa: F811
    twilio.numbers = [BUSINESS, "+15551110000"]
    s = Shop(twilio, tmp_path, to="+15551110000")
    try:
        s.reply()
        assert s.send().sent
        assert s.posts()[0].form["From"] == ["+15551110000"]
    finally:
        s.store.close()


def test_delivery_is_followed_until_final(shop):
    oid = shop.reply()
    shop.send()
    shop.store.db.execute("UPDATE outbox SET delivery_next = ? WHERE id = ?", ["2000-01-01T00:00:00+00:00", oid])
    shop.server.advance()  # queued -> sent
    assert follow_delivery(shop.store, shop.config).changed == [(oid, "sent", "")]
    row = shop.row(oid)
    assert row["delivery"] == "sent" and row["delivery_next"] > datetime.now(UTC).isoformat()
    assert follow_delivery(shop.store, shop.config).changed == []  # not due yet: backoff
    shop.store.db.execute("UPDATE outbox SET delivery_next = ? WHERE id = ?", ["2000-01-01T00:00:00+00:00", oid])
    shop.server.advance()  # -> delivered
    assert follow_delivery(shop.store, shop.config).changed == [(oid, "delivered", "")]
    row = shop.row(oid)
    assert row["delivery"] == "delivered" and row["delivery_next"] is None and row["status"] == "sent"
    gets = shop.server.requests("GET", API_MESSAGES)
    assert all(g.path.endswith(f"/Messages/{row['remote_id']}.json") for g in gets)


def test_undelivered_keeps_the_text_and_the_customer_awaits_again(shop):
    shop.server.plans.append([("queued", None), ("sent", None), ("undelivered", 30007)])
    oid = shop.reply("Call us back please")
    shop.send()
    assert not shop.awaiting()
    shop.server.advance(steps=2)
    shop.store.db.execute("UPDATE outbox SET delivery_next = ? WHERE id = ?", ["2000-01-01T00:00:00+00:00", oid])
    report = shop.send()  # the outbox worker follows delivery on every pass
    assert report.delivery and report.delivery[0][:2] == (oid, "undelivered")
    assert any("30007" in line and "carrier rejected" in line for line in report.lines())
    row = shop.row(oid)
    assert row["status"] == "failed" and row["body"] == "Call us back please"
    assert "carrier rejected" in row["error"] and "(30007)" in row["error"]
    assert row["delivery_next"] is None
    assert shop.awaiting()  # the customer never got it
    noise, notes = shop.store.db.execute("SELECT noise, notes FROM messages WHERE direction = 'out'").fetchone()
    assert noise == "text not delivered" and "30007" in notes
    from tests.test_crash_safety import _assert_state_is_a_recompute

    _assert_state_is_a_recompute(shop.store)


@pytest.mark.parametrize("code, words, retryable", [
    (21610, "texted STOP", False),
    (21211, "not a valid phone number", False),
    (21614, "not a mobile number", False),
    (21408, "no permission for that region", False),
])
def test_send_side_errors_have_their_own_words(shop, code, words, retryable):
    shop.server.send_errors[CUSTOMER] = code
    oid = shop.reply()
    report = shop.send()
    (failed_id, message), = report.failed
    assert failed_id == oid and words in message and f"({code})" in message
    row = shop.row(oid)
    assert row["status"] == "failed" and row["body"] == "Yes, two loaves left!"
    assert len(shop.posts()) == 1  # refused, never retried blindly
    assert shop.awaiting()


def test_errors_map_to_send_errors_with_retryable_right(shop):
    from owner_tui.send.sender import SendError
    from owner_tui.send.twilio import TwilioSender

    sender = TwilioSender(shop.acc.options, lambda name: shop.server.auth_token)
    oid = shop.reply()
    for code, retryable in ((21610, False), (21211, False), (30003, True)):
        shop.server.send_errors[CUSTOMER] = code
        with pytest.raises(SendError) as info:
            sender.send(shop.store.outgoing(oid))
        assert info.value.retryable is retryable, code
    sender.close()


def test_wrong_credentials_say_so_and_never_show_the_secret(shop, monkeypatch):
    monkeypatch.setenv("TWILIO_TEST_TOKEN", "wrong-token-s3cr3t")
    oid = shop.reply()
    report = shop.send()
    (_, message), = report.failed
    assert "refused the Account SID and auth token" in message and "(20003)" in message
    assert "wrong-token-s3cr3t" not in message and shop.server.auth_token not in message
    assert shop.row(oid)["status"] == "failed"
    raw = b"".join(p.read_bytes() for p in shop.store.path.parent.glob("db*"))
    assert b"wrong-token-s3cr3t" not in raw and shop.server.auth_token.encode() not in raw


def test_a_short_429_is_waited_out_and_the_text_goes_once(shop):
    shop.server.rate_limit(API_MESSAGES, retry_after="0", method="POST")
    oid = shop.reply()
    assert shop.send().sent == [oid]
    assert len(shop.posts()) == 2  # the 429, then the one that was taken
    assert len([m for m in shop.server.messages if m["direction"] == "outbound-api"]) == 1


def test_a_long_429_fails_retryable_with_the_wait(shop):
    shop.server.rate_limit(API_MESSAGES, retry_after="120", method="POST")
    oid = shop.reply()
    (_, message), = shop.send().failed
    assert "too many requests" in message and "120 s" in message
    assert shop.row(oid)["status"] == "failed" and not shop.server.messages[1:]


def test_a_customer_who_texted_stop_is_never_sent_to(shop):
    shop.store.phone_opt_out = lambda number: "2026-11-20T10:00:00+00:00" if number == CUSTOMER else None
    oid = shop.reply()
    (_, message), = shop.send().failed
    assert "texted STOP" in message and "START" in message
    assert shop.posts() == []  # refused before the wire
    assert shop.row(oid)["body"] == "Yes, two loaves left!"


def test_a_lost_answer_is_verified_not_resent(shop):
    """The POST reaches Twilio, the answer never comes back (timeout): the sender lists the
    messages and finds it, so it is recorded once with its SID."""
    import time

    original = shop.server.handle

    def slow_answer(method, path, *args):
        result = original(method, path, *args)
        if method == "POST":
            time.sleep(1.5)  # created; the answer is late
        return result

    shop.server.handle = slow_answer
    shop.store.close()
    shop.acc = AccountConfig(name="texts", kind="twilio", options=shop.server.options(timeout=0.5))
    shop.config = Config(owner=OwnerConfig(name="Sam"), accounts=(shop.acc,))
    shop.store = Store.open(shop.store.path, config=shop.config)
    oid = shop.reply()
    report = shop.send()
    assert report.sent == [oid], report
    sent = [m for m in shop.server.messages if m["direction"] == "outbound-api"]
    assert len(sent) == 1 and len(shop.posts()) == 1
    assert shop.row(oid)["remote_id"] == sent[0]["sid"]


def test_a_5xx_with_nothing_listed_is_not_sent_and_says_so(shop):
    shop.server.fault("POST", API_MESSAGES, 500, b"oops")
    oid = shop.reply()
    (_, message), = shop.send().failed
    assert "not sent" in message and "try again" in message
    assert shop.row(oid)["status"] == "failed" and len(shop.posts()) == 1


def test_interrupted_send_is_recovered_from_the_message_list(shop):
    """A row left in ``sending`` (a crash): out already -> recorded, not resent; not out ->
    queued again and sent once."""
    first = shop.reply("Yes, two loaves left!")
    shop.store.outbox_claim(first, from_status=("queued",))
    shop.server.add_message(BUSINESS, CUSTOMER, "Yes,  two loaves\nleft!", direction="outbound-api", status="sent")
    report = shop.send()
    assert report.recovered_sent == [first]
    assert shop.posts() == []
    assert shop.row(first)["delivery"] == "sent"
    conv2 = shop.inbound("And rye?", customer="+15559870002")
    shop.conv = conv2
    second = shop.reply("Rye too.")
    shop.store.outbox_claim(second, from_status=("queued",))
    report = shop.send()
    assert report.requeued == [second] and report.sent == [second]
    assert len(shop.posts()) == 1


# -- WhatsApp --------------------------------------------------------------------------------------

def _whatsapp(server, tmp_path, hours_ago: float, **options) -> Shop:
    server.add_message("whatsapp:" + CUSTOMER, server.whatsapp_from, "Hi",
                       when=datetime.now(UTC) - timedelta(hours=hours_ago))
    return Shop(server, tmp_path, "whatsapp", to=server.whatsapp_from,
                when=datetime.now(UTC) - timedelta(hours=hours_ago), **options)


def test_whatsapp_inside_the_window_is_free_form(twilio, tmp_path):  # noqa: F811
    s = _whatsapp(twilio, tmp_path, 2)
    try:
        s.reply("See you soon")
        assert s.send().sent
        assert s.posts()[0].form == {"To": ["whatsapp:" + CUSTOMER], "From": [twilio.whatsapp_from],
                                     "Body": ["See you soon"]}
    finally:
        s.store.close()


def test_whatsapp_outside_the_window_without_a_template_says_what_to_set(twilio, tmp_path):  # noqa: F811
    s = _whatsapp(twilio, tmp_path, 30)
    try:
        oid = s.reply("See you soon")
        (_, message), = s.send().failed
        assert "24-hour window" in message and "whatsapp_template_sid" in message
        assert s.posts() == [] and s.row(oid)["body"] == "See you soon"
    finally:
        s.store.close()


def test_whatsapp_outside_the_window_sends_the_chosen_template(twilio, tmp_path):  # noqa: F811
    s = _whatsapp(twilio, tmp_path, 30, whatsapp_template_sid=TEMPLATE_SID, whatsapp_template_name="follow_up")
    try:
        s.reply("Your order is ready")  # not chosen in the editor: refused, nothing sent
        (_, message), = s.send().failed
        assert "template" in message and s.posts() == []
        oid = s.reply("Your order is ready", whatsapp_template=True)
        report = s.send(only=[oid])
        assert report.sent == [oid], report
        (post,) = s.posts()
        assert post.form["ContentSid"] == [TEMPLATE_SID] and "Body" not in post.form
        assert json.loads(post.form["ContentVariables"][0]) == {"1": "Your order is ready"}
    finally:
        s.store.close()


def test_a_missed_call_is_answered_by_sms_from_the_number_called(twilio, tmp_path):  # noqa: F811
    s = Shop(twilio, tmp_path, "call")
    try:
        s.reply("Sorry we missed you, call any time after 2pm")
        assert s.send().sent
        assert s.posts()[0].form["To"] == [CUSTOMER] and s.posts()[0].form["From"] == [BUSINESS]
        assert not s.awaiting()
    finally:
        s.store.close()


# -- kill -9 during a send --------------------------------------------------------------------------

def test_kill_during_send_never_sends_twice(twilio, tmp_path):  # noqa: F811
    """The outbox worker in a subprocess is killed after its POST reached Twilio (which holds
    its answer back) and before it recorded anything; a fresh run finds the text in Twilio's
    list and records it: exactly one message on the server, the row sent, with its SID."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.test_crash_safety import ROOT, _check_integrity

    original = twilio.handle

    def late_answer(method, path, *args):
        result = original(method, path, *args)
        if method == "POST":
            time.sleep(3.0)  # the message exists; the answer is late
        return result

    twilio.handle = late_answer
    s = Shop(twilio, tmp_path)
    db = s.store.path
    rounds = 3
    oids = []
    for i in range(rounds):
        if i:
            s.conv = s.inbound(f"question {i}", customer=f"+1555987000{i + 1}")
        oids.append(s.reply(f"Answer number {i}"))
    s.store.close()
    cfg = tmp_path / "config.toml"  # the owner's own config file, read by the worker
    cfg.write_text(f"""
[accounts.texts]
kind = "twilio"
account_sid = "{twilio.account_sid}"
auth_token_env = "TWILIO_TEST_TOKEN"
numbers = ["{BUSINESS}"]
base_url = "{twilio.url}"
""")
    for i in range(rounds):
        posts_before = len(twilio.requests("POST", API_MESSAGES))
        proc = subprocess.Popen([sys.executable, "-m", "tests.crash_worker", "send", str(db), str(cfg)],
                                cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while len(twilio.requests("POST", API_MESSAGES)) == posts_before:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the POST never reached the server"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # the POST is in; its answer is 3 s away
        proc.communicate(timeout=30)
        _check_integrity(db)
        with Store.open(db) as check:
            assert [r["status"] for r in check.outbox() if r["id"] == oids[i]] == ["sending"]
    done = subprocess.run([sys.executable, "-m", "tests.crash_worker", "send", str(db), str(cfg)],
                          cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    sent = [m for m in twilio.messages if m["direction"] == "outbound-api"]
    assert sorted(m["body"] for m in sent) == [f"Answer number {i}" for i in range(rounds)]  # once each
    with Store.open(db) as check:
        rows = {r["id"]: r for r in check.outbox()}
        assert all(rows[o]["status"] == "sent" for o in oids), rows
        assert {rows[o]["remote_id"] for o in oids} == {m["sid"] for m in sent}
        assert "interrupted" in done.stdout or "found" in done.stdout, done.stdout


# -- with the inbound sync (twilio-in's half) --------------------------------------------------------

@pytest.mark.parametrize("channel", ["sms", "whatsapp", "call"])
def test_synced_in_replied_out_synced_again_is_one_closed_conversation(twilio, tmp_path, channel):  # noqa: F811
    """A text (or WhatsApp message, or missed call) pulled by the sync, answered from here: the
    reply goes from the number they wrote to or called, and the next sync sees the same message
    (its SID), not a second one; nobody waits."""
    from owner_tui.sync import sync_one

    second = "+15551110000"
    twilio.numbers = [BUSINESS, second]
    when = datetime.now(UTC) - timedelta(minutes=20)
    if channel == "sms":
        twilio.add_message(CUSTOMER, second, "Open Sunday?", when=when)
    elif channel == "whatsapp":
        twilio.add_message("whatsapp:" + CUSTOMER, twilio.whatsapp_from, "Open Sunday?", when=when)
    else:
        twilio.add_call(CUSTOMER, second, status="no-answer", when=when)
    acc = AccountConfig(name="texts", kind="twilio", options=twilio.options(whatsapp_from=twilio.whatsapp_from))
    config = Config(owner=OwnerConfig(name="Sam"), accounts=(acc,))
    with Store.open(tmp_path / "e2e.db", config=config) as store:
        assert sync_one(store, acc).ok
        [conv] = store.db.execute("SELECT id, channel FROM conversations").fetchall()
        assert conv[1] == channel
        oid = store.queue_reply(conv[0], "Yes, 9 to 1")
        report = process(store, config, stale_after=0)
        assert report.sent == [oid], report
        (post,) = twilio.requests("POST", API_MESSAGES)
        expect_from = twilio.whatsapp_from if channel == "whatsapp" else second
        expect_to = ("whatsapp:" if channel == "whatsapp" else "") + CUSTOMER
        assert post.form["From"] == [expect_from] and post.form["To"] == [expect_to]
        twilio.advance()
        assert sync_one(store, acc).ok
        outs = store.db.execute("SELECT external_id FROM messages WHERE direction = 'out'").fetchall()
        assert len(outs) == 1, outs  # the sync saw our reply as the message already stored
        assert store.conversation(conv[0])["waiting_since"] is None


def test_whatsapp_window_closed_at_twilio_is_said_in_words_either_way(twilio, tmp_path):  # noqa: F811
    """Our store thinks the window is open (their last message 2 h ago) but Twilio does not:
    a synchronous 400 63016, or an accepted message that then fails with 63016, both end as a
    failed reply with the window's words, the text kept."""
    s = Shop(twilio, tmp_path, "whatsapp", to=twilio.whatsapp_from)  # nothing inbound on the server
    try:
        twilio.window_mode = "sync"
        first = s.reply("See you soon")
        (_, message), = s.send().failed
        assert "24 hours" in message and "(63016)" in message
        s.store.outbox_cancel(first)
        twilio.window_mode = "async"
        oid = s.reply("See you soon")
        assert s.send().sent == [oid]
        twilio.advance()
        s.store.db.execute("UPDATE outbox SET delivery_next = '2000-01-01T00:00:00+00:00' WHERE id = ?", [oid])
        follow_delivery(s.store, s.config)
        row = s.row(oid)
        assert row["status"] == "failed" and "24 hours" in row["error"] and "(63016)" in row["error"]
        assert row["body"] == "See you soon" and s.awaiting()
    finally:
        s.store.close()


def test_a_lost_template_send_with_another_body_there_cannot_be_told(twilio, tmp_path):  # noqa: F811
    """After a crash, a template reply whose rendered body does not show our text: a message to
    them since the attempt may be ours, so the row is left for the owner, never resent."""
    s = _whatsapp(twilio, tmp_path, 30, whatsapp_template_sid=TEMPLATE_SID)
    try:
        oid = s.reply("Your order is ready", whatsapp_template=True)
        s.store.outbox_claim(oid, from_status=("queued",))
        twilio.add_message(twilio.whatsapp_from, "whatsapp:" + CUSTOMER, "Hello! Following up on your order.",
                           direction="outbound-api", status="sent")
        report = s.send()
        assert report.failed and report.failed[0][0] == oid and "cannot be checked" in report.failed[0][1]
        assert s.posts() == []
    finally:
        s.store.close()


def test_a_text_too_long_for_twilio_is_refused_in_words(shop):
    shop.server.send_errors[CUSTOMER] = 21617
    shop.reply("x" * 40)
    (_, message), = shop.send().failed
    assert "1,600 characters" in message and "(21617)" in message


def test_a_text_over_1600_characters_is_refused_when_queued(shop):
    with pytest.raises(ValueError, match="A text takes at most 1,600 characters"):
        shop.store.queue_reply(shop.conv, "x" * 1601)
    assert shop.store.outbox() == []
    shop.store.queue_reply(shop.conv, "x" * 1600)
