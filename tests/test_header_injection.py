"""Replies cannot be hijacked: a stranger's name, subject, address or Message-ID can never add
a header or a recipient to the owner's reply.

Each case goes through the real path: the hostile values are stored as an inbound message,
the owner queues a reply, the outbox row is claimed and turned into an ``OutgoingReply`` by the
store, ``SmtpSender`` hands it to a real aiosmtpd on loopback, and the test parses the bytes the
server received (and the SMTP envelope) and compares them with what an honest reply holds.
A value that cannot be made safe must make the send fail with a clear error, the reply text
kept in the outbox, and nothing reaching the server.
"""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes
from email import policy as email_policy
from email.utils import getaddresses

import pytest

from owner_tui.config import AccountConfig, Config, OwnerConfig
from owner_tui.records import MessageRecord
from owner_tui.send.compose import build_reply
from owner_tui.send.outbox_worker import process
from owner_tui.send.smtp import SmtpSender
from owner_tui.store import Store
from tests.servers.smtp import SmtpServer

OWNER = "owner@example.com"
CUSTOMER = "cust@example.org"
EVIL = "evil@attacker.example"

#: The headers an honest reply has, and nothing else.
REPLY_HEADERS = {"from", "to", "subject", "date", "message-id", "in-reply-to", "references",
                 "content-type", "content-transfer-encoding", "mime-version"}

#: Every way we know to smuggle a line break into a header value.
NEWLINES = [
    "\r\n", "\n", "\r", "\r\n\t", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x00",
    "=?utf-8?q?=0D=0A?=", "=?utf-8?Q?=0A?=", "=?utf-8?b?DQo=?=", "=?iso-8859-1?q?=0D=0A?=",
    "%0d%0a", "%0D%0A", "\\r\\n", "&#13;&#10;",
]


def _payload(nl: str) -> str:
    return f"Hello{nl}Bcc: {EVIL}{nl}X-Injected: yes"


def _encoded_whole(text: str) -> str:
    """The whole value as one RFC 2047 Q encoded word (CR/LF as =0D=0A, spaces as _)."""
    q = "".join(c if c.isalnum() else "=%02X" % ord(c) for c in text.encode("utf-8").decode("latin-1"))
    return f"=?utf-8?q?{q}?="


SUBJECTS = [_payload(nl) for nl in NEWLINES] + [
    _encoded_whole(f"Hi\r\nBcc: {EVIL}"),
    "=?utf-8?q?Hi=0D=0ABcc:_evil@attacker.example?=",
    "=?utf-8?q?=3D=3Futf-8=3Fq=3F=3D0D=3D0ABcc:_evil@attacker.example=3F=3D?=",  # encoded twice
    "Hi =?utf-8?q?x?= =?utf-8?q?=0D?= =?utf-8?q?=0ABcc:_evil@attacker.example?=",  # split across words
    f"Hi\r\n\r\nBcc: {EVIL}",  # an empty line: the rest would become the body
    "Hi\r\nContent-Type: multipart/mixed; boundary=x",
    "x" * 2000 + f"\r\nBcc: {EVIL}",  # folded long line then injection
]

#: Message-IDs a stranger picks for their own mail; ours copies them into In-Reply-To/References.
MSGIDS = [
    f"abc@x.example>\r\nBcc: {EVIL}",
    f"abc@x.example\nBcc: {EVIL}",
    f"abc@x.example\u2028Bcc: {EVIL}",
    "=?utf-8?q?abc@x.example=0D=0ABcc:_evil@attacker.example?=",
    "abc@x.example> <def@y.example",
    "abc@x.example%0d%0aBcc:%20evil@attacker.example",
]

#: Sender addresses that are not one plain address: must be refused, never "cleaned up".
BAD_ADDRESSES = [
    f"{CUSTOMER}\r\nBcc: {EVIL}",
    f"{CUSTOMER}\nBcc: {EVIL}",
    f"{CUSTOMER}\u2028Bcc: {EVIL}",
    f"{CUSTOMER}, {EVIL}",
    f"{CUSTOMER};{EVIL}",
    f"{CUSTOMER}>, <{EVIL}",
    f"{CUSTOMER} ({EVIL})",
    f"=?utf-8?q?{CUSTOMER}=0D=0ABcc:_{EVIL}?=",
    f"{CUSTOMER}%0d%0abcc:{EVIL}",
    f"{CUSTOMER}\x00{EVIL}",
    f'"{CUSTOMER}\r\nBcc: {EVIL}"@example.org',
]

NAMES = [_payload(nl) for nl in NEWLINES] + [
    f'"Eve" <{EVIL}>, "',
    f"Eve <{EVIL}>",
    f"Eve, {EVIL}",
    "=?utf-8?q?Eve_=3Cevil@attacker.example=3E,?=",
]


@pytest.fixture(scope="module")
def _smtp_module():
    with SmtpServer(mode="plain") as server:
        yield server


@pytest.fixture
def smtp_server(_smtp_module):
    """One aiosmtpd for the module (starting one per case costs more than the cases)."""
    _smtp_module.messages.clear()
    yield _smtp_module
    _smtp_module.messages.clear()


@pytest.fixture
def shop(tmp_path):
    config = Config(owner=OwnerConfig(name="Sam", addresses=(OWNER,)),
                    accounts=(AccountConfig("shop", "imap", {"address": OWNER}),))
    store = Store.open(tmp_path / "shop.db", config=config)
    account = store.ensure_account("imap", "shop", {"address": OWNER})
    yield store, account
    store.close()


def _sender(server) -> SmtpSender:
    return SmtpSender(server.host, server.port, from_addr=OWNER, from_name="Sam's Bakery", security="none",
                      timeout=10)


def _inbound(store: Store, account: int, *, mid: str = "root@x.example", handle: str = CUSTOMER,
             name: str = "Ann", subject: str = "Order", refs: tuple[str, ...] = ()) -> int:
    store.ingest(account, [MessageRecord(
        external_id=mid, sender_handle=handle, sender_name=name, recipients=(OWNER,), subject=subject,
        text="Where is my order?", sent_at="2026-11-20T10:00:00+00:00", references=refs,
        in_reply_to=refs[-1] if refs else None)])
    return store.db.execute("SELECT conversation_id FROM messages WHERE external_id = ?", [mid]).fetchone()[0]


def _reply(store: Store, conv: int, sender: SmtpSender, body: str = "Your order ships today.") -> tuple[int, str | None]:
    """Queue a reply and let the real outbox worker send it; (outbox id, error or None)."""
    oid = store.queue_reply(conv, body)
    report = process(store, store.config, lambda account: sender)
    errors = [msg for i, msg in report.failed if i == oid]
    assert errors or report.sent == [oid], report
    return oid, (errors[0] if errors else None)


def _header_names(head: bytes) -> list[str]:
    """Header field names exactly as a receiving server splits them: a line that does not
    start with white space starts a new field (RFC 5322 2.2.3 folding)."""
    names = []
    for line in head.split(b"\r\n"):
        if line and line[:1] not in (b" ", b"\t"):
            names.append(line.split(b":", 1)[0].decode("ascii", "replace").lower())
    return names


def _only_honest(received, *, rcpt: str = CUSTOMER) -> None:
    """One message, to exactly ``rcpt``, with exactly the honest headers, each once, and no
    header that decodes (RFC 2047) to a line break a later reader could act on."""
    assert len(received) == 1, f"{len(received)} messages reached the server"
    got = received[0]
    assert [r.lower() for r in got.rcpt_tos] == [rcpt.lower()], got.rcpt_tos
    assert got.mail_from.lower() == OWNER
    head = got.content.split(b"\r\n\r\n", 1)[0]
    assert not any(b in head for b in (b"\r\r", b"\n\n", b"\x00")) and head.count(b"\n") == head.count(b"\r\n")
    names = _header_names(head)
    assert len(names) == len(set(names)), names
    assert set(names) <= REPLY_HEADERS, set(names) - REPLY_HEADERS
    msg = message_from_bytes(got.content, policy=email_policy.default)
    assert sorted(k.lower() for k in msg.keys()) == sorted(names)
    assert not msg.defects, msg.defects
    to = [a.lower() for _, a in getaddresses(msg.get_all("To", []))]
    assert to == [rcpt.lower()], to
    assert [a for _, a in getaddresses(msg.get_all("From", []))] == [OWNER]
    for key, value in msg.items():
        decoded = str(value)
        assert not any(c in decoded for c in "\r\n\x00\x85\u2028\u2029"), (key, decoded)
        if key.lower() in ("to", "in-reply-to", "references", "message-id", "date"):
            assert EVIL not in decoded.lower() or key.lower() in ("in-reply-to", "references"), (key, decoded)


@pytest.mark.parametrize("subject", SUBJECTS, ids=range(len(SUBJECTS)))
def test_hostile_subject_stays_one_inert_header(shop, smtp_server, subject):
    store, account = shop
    conv = _inbound(store, account, subject=subject)
    _, error = _reply(store, conv, _sender(smtp_server))
    assert error is None, error
    _only_honest(smtp_server.messages)
    msg = message_from_bytes(smtp_server.messages[0].content, policy=email_policy.default)
    assert str(msg["subject"]).strip().startswith("Re:")
    # The body is ours alone: nothing from the subject leaked below the headers.
    assert msg.get_content().strip() == "Your order ships today."


@pytest.mark.parametrize("mid", MSGIDS, ids=range(len(MSGIDS)))
def test_hostile_message_id_cannot_add_headers(shop, smtp_server, mid):
    store, account = shop
    conv = _inbound(store, account, mid=mid, refs=(mid, "ok@x.example"))
    _, error = _reply(store, conv, _sender(smtp_server))
    assert error is None, error
    _only_honest(smtp_server.messages)
    msg = message_from_bytes(smtp_server.messages[0].content, policy=email_policy.default)
    for header in ("in-reply-to", "references"):
        for token in str(msg.get(header, "")).split():
            # One inert <id> per token; an id that decodes to something else (an RFC 2047
            # encoded word) has no business being copied into our headers.
            assert token.startswith("<") and token.endswith(">") and token.count("<") == 1, (header, token)
            assert "=?" not in token, (header, token)


@pytest.mark.parametrize("handle", BAD_ADDRESSES, ids=range(len(BAD_ADDRESSES)))
def test_hostile_address_is_refused_and_the_reply_kept(shop, smtp_server, handle):
    store, account = shop
    conv = _inbound(store, account, handle=handle)
    oid, error = _reply(store, conv, _sender(smtp_server), body="Kept text 123")
    assert smtp_server.messages == [], "a reply went out to a hostile address"
    assert error and "address" in error, error
    assert "Traceback" not in error
    row = store.db.execute("SELECT status, body, error FROM outbox WHERE id = ?", [oid]).fetchone()
    assert row[0] == "failed" and row[1] == "Kept text 123" and row[2]


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_hostile_display_name_stays_a_name(smtp_server, name):
    """The store sends to the bare address, but the composer also takes ``(name, address)``
    pairs (a contact's saved name): the name must never become a header or a recipient."""
    msg = build_reply(from_addr=OWNER, from_name=name, to=[(name, CUSTOMER)], subject="Order", body="ok",
                      in_reply_to="<a@x.example>", references=None, message_id="<m1@example.com>",
                      date=dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc))
    sender = _sender(smtp_server)
    sender.from_name = name
    from owner_tui.records import OutgoingReply

    sender.send(OutgoingReply(outbox_id=1, account_id=1, conversation_id=1, body="ok", message_id="<m2@example.com>",
                              channel="email", external_key="a@x.example", to=(CUSTOMER,), subject=name,
                              in_reply_to="a@x.example"))
    _only_honest(smtp_server.messages)
    raw = msg.as_bytes()
    parsed = message_from_bytes(raw, policy=email_policy.default)
    assert [a.lower() for _, a in getaddresses(parsed.get_all("To", []))] == [CUSTOMER]
    assert set(k.lower() for k in parsed.keys()) <= REPLY_HEADERS


SMUGGLE_BODIES = [
    # SMTP smuggling: end the DATA early and start a second transaction inside the body.
    f"hi\r\n.\r\nMAIL FROM:<{OWNER}>\r\nRCPT TO:<{EVIL}>\r\nDATA\r\nSubject: owned\r\n\r\nx\r\n.\r\n",
    f"hi\n.\nMAIL FROM:<{OWNER}>\nRCPT TO:<{EVIL}>\nDATA\nowned\n.\n",
    f"hi\r.\rMAIL FROM:<{OWNER}>\rRCPT TO:<{EVIL}>\rDATA\rowned\r.\r",
    f"hi\n.\r\nMAIL FROM:<{OWNER}>\r\nRCPT TO:<{EVIL}>\r\nDATA\r\nowned\r\n.\r\n",
    f"hi\r\n.\nRCPT TO:<{EVIL}>\n",
    "\r\n\r\nBcc: evil@attacker.example\r\n",  # a header-looking line in the body is body text
]


@pytest.mark.parametrize("body", SMUGGLE_BODIES, ids=range(len(SMUGGLE_BODIES)))
def test_reply_body_cannot_smuggle_a_second_message(shop, smtp_server, body):
    """The owner's text may quote a stranger's; no line in it can end the SMTP DATA early."""
    store, account = shop
    conv = _inbound(store, account)
    _, error = _reply(store, conv, _sender(smtp_server), body=body)
    assert error is None, error
    _only_honest(smtp_server.messages)
    msg = message_from_bytes(smtp_server.messages[0].content, policy=email_policy.default)
    assert "RCPT TO" in msg.get_content() or "Bcc" in msg.get_content()


def test_every_path_with_everything_hostile_at_once(shop, smtp_server):
    """Hostile name, subject, Message-ID and References together, one honest address."""
    store, account = shop
    conv = _inbound(store, account, mid=MSGIDS[0], name=NAMES[0], subject=SUBJECTS[10],
                    refs=tuple(MSGIDS[1:]))
    _, error = _reply(store, conv, _sender(smtp_server))
    assert error is None, error
    _only_honest(smtp_server.messages)


# -- the whole way: raw hostile mail -> parser -> store -> reply -> SMTP -----------------------------

RAW_ATTACKS = {
    "encoded-crlf-in-name-and-subject": (
        "From: =?utf-8?q?Ann=0D=0ABcc:_evil@attacker.example?= <cust@example.org>\r\n"
        "Subject: =?utf-8?q?Order=0D=0ABcc:_evil@attacker.example=0D=0AX-Injected:_yes?=\r\n"),
    "folded-and-encoded-subject": (
        "From: Ann <cust@example.org>\r\n"
        "Subject: Order\r\n =?utf-8?b?DQpCY2M6IGV2aWxAYXR0YWNrZXIuZXhhbXBsZQ==?=\r\n"),
    "unicode-line-separators": (
        "From: =?utf-8?q?Ann=E2=80=A8Bcc:_evil@attacker.example?= <cust@example.org>\r\n"
        "Subject: =?utf-8?q?Order=E2=80=A9Bcc:_evil@attacker.example=C2=85X-Injected:_yes?=\r\n"),
    "percent-and-entities": (
        "From: Ann%0d%0aBcc:evil@attacker.example <cust@example.org>\r\n"
        "Subject: Order%0D%0ABcc: evil@attacker.example&#13;&#10;X-Injected: yes\r\n"),
    "hostile-ids": (
        "From: Ann <cust@example.org>\r\nSubject: Order\r\n"
        "References: <a@x.example>\r\n <=?utf-8?q?b@x.example=0D=0ABcc:_evil@attacker.example?=>\r\n"
        " <c@x.example>\r\nBcc: evil@attacker.example>\r\n"),
    "two-from-addresses": (
        "From: Ann <cust@example.org>, Eve <evil@attacker.example>\r\nSubject: Order\r\n"),
    "group-syntax-from": (
        "From: friends: cust@example.org, evil@attacker.example;\r\nSubject: Order\r\n"),
}


@pytest.mark.parametrize("attack", list(RAW_ATTACKS))
def test_raw_hostile_mail_cannot_hijack_the_reply(shop, smtp_server, attack):
    """What the parser makes of hostile headers, the reply path must still send to at most
    the one real sender, with only honest headers."""
    from owner_tui.mail.parse import parse_message

    store, account = shop
    raw = (RAW_ATTACKS[attack] + "To: owner@example.com\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n"
           "Message-ID: <m1@cust.example>\r\n\r\nWhere is my order?\r\n").encode()
    rec = parse_message(raw, folder="INBOX")
    store.ingest(account, [rec])
    conv = store.db.execute("SELECT conversation_id FROM messages").fetchone()[0]
    _, error = _reply(store, conv, _sender(smtp_server))
    if error is not None:  # refusing to send is a safe outcome; sending elsewhere is not
        assert smtp_server.messages == [] and "Traceback" not in error
        return
    _only_honest(smtp_server.messages, rcpt=smtp_server.messages[0].rcpt_tos[0])
    assert smtp_server.messages[0].rcpt_tos[0].lower() == "cust@example.org"
