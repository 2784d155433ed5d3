"""The SMTP reply path against a real aiosmtpd (and Dovecot for the Sent hooks).

What the server *received* is the truth here: every header and recipient check parses the
bytes that came over the wire, never the message object we built.
"""

from __future__ import annotations

import datetime as dt
import email
import socket
from email import policy
from email.utils import getaddresses

import pytest

from owner_tui.records import OutgoingReply
from owner_tui.send.sender import SendError
from owner_tui.send.smtp import SmtpSender
from tests.servers.fixtures import ImapAccount
from tests.servers.proxy import FaultProxy
from tests.servers.smtp import SmtpServer

NOW = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.timezone.utc)
PASSWORD = "secret"  # the SmtpServer's password for owner@example.com
EXPECTED_HEADERS = {
    "from", "to", "subject", "date", "message-id", "in-reply-to", "references",
    "content-type", "content-transfer-encoding", "mime-version",
}


def reply(**overrides: object) -> OutgoingReply:
    fields: dict[str, object] = dict(
        outbox_id=1,
        account_id=1,
        conversation_id=1,
        body="Thanks for asking.\nWe open at nine.",
        message_id="<reply-1@example.com>",
        channel="email",
        external_key="root@example.net",
        to=("Ann Customer <ann@example.net>",),
        subject="Opening hours?",
        in_reply_to="<q2@example.net>",
        references=("<q1@example.net>",),
    )
    fields.update(overrides)
    return OutgoingReply(**fields)  # type: ignore[arg-type]


def sender(server: SmtpServer | FaultProxy, **kw: object) -> SmtpSender:
    args: dict[str, object] = dict(
        from_addr="owner@example.com", from_name="Bea's Bakery", security="none",
        timeout=5, clock=lambda: NOW,
    )
    args.update(kw)
    return SmtpSender(server.host, server.port, **args)  # type: ignore[arg-type]


def parsed(content: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(content, policy=policy.default)  # type: ignore[return-value]


def body_of(content: bytes) -> str:
    return parsed(content).get_content().replace("\r\n", "\n")


def chain_text(exc: BaseException | None) -> str:
    """Everything an error could show or log: message, args, and every chained exception."""
    parts = []
    while exc is not None:
        parts += [str(exc), repr(exc), repr(exc.args)]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def header_names(content: bytes) -> list[str]:
    return [k.lower() for k in email.message_from_bytes(content, policy=policy.compat32).keys()]


# ------------------------------------------------------------------ delivery


def test_plain_send_threads_the_reply(smtp_server: SmtpServer) -> None:
    result = sender(smtp_server).send(reply())
    [got] = smtp_server.messages
    assert got.mail_from == "owner@example.com"
    assert got.rcpt_tos == ("ann@example.net",)
    msg = parsed(got.content)
    assert msg["Subject"] == "Re: Opening hours?"
    assert msg["From"] == "Bea's Bakery <owner@example.com>"
    assert msg["To"] == "Ann Customer <ann@example.net>"
    assert msg["Message-ID"] == "<reply-1@example.com>"
    assert msg["In-Reply-To"] == "<q2@example.net>"
    assert msg["References"].split() == ["<q1@example.net>", "<q2@example.net>"]
    assert email.utils.parsedate_to_datetime(msg["Date"]) == NOW
    assert body_of(got.content) == "Thanks for asking.\nWe open at nine.\n"
    assert sorted(header_names(got.content)) == sorted(EXPECTED_HEADERS)
    assert result.external_id == "reply-1@example.com"
    assert result.sent_at == "2026-11-22T09:30:00+00:00"
    assert result.note == ""


def test_store_style_ids_without_brackets_still_thread(smtp_server: SmtpServer) -> None:
    sender(smtp_server).send(reply(in_reply_to="q2@example.net", references=("q1@example.net",)))
    msg = parsed(smtp_server.messages[0].content)
    assert msg["In-Reply-To"] == "<q2@example.net>"
    assert msg["References"].split() == ["<q1@example.net>", "<q2@example.net>"]


def test_auth_with_password(smtp_server: SmtpServer) -> None:
    sender(smtp_server, user="owner@example.com", password=PASSWORD).send(reply())
    assert smtp_server.messages[0].login == "owner@example.com"


def test_password_command_runs_only_when_sending(smtp_server: SmtpServer) -> None:
    calls = []

    def password() -> str:
        calls.append(1)
        return PASSWORD

    s = sender(smtp_server, user="owner@example.com", password=password)
    assert calls == []
    s.send(reply())
    assert calls == [1] and smtp_server.messages[0].login == "owner@example.com"


def test_starttls_trusting_only_the_test_cert(smtp_starttls_server: SmtpServer) -> None:
    server = smtp_starttls_server
    assert server.cert is not None
    sender(server, security="starttls", ssl_context=server.cert.client_context(),
           user="owner@example.com", password=PASSWORD).send(reply())
    [got] = server.messages
    assert got.tls and got.login == "owner@example.com"


def test_implicit_tls(smtp_tls_server: SmtpServer) -> None:
    server = smtp_tls_server
    assert server.cert is not None
    sender(server, security="tls", ssl_context=server.cert.client_context(),
           user="owner@example.com", password=PASSWORD).send(reply())
    [got] = server.messages
    assert got.tls and got.login == "owner@example.com"


def test_untrusted_certificate_is_a_clear_permanent_error(smtp_tls_server: SmtpServer) -> None:
    with pytest.raises(SendError) as err:  # default context: the system CAs only
        sender(smtp_tls_server, security="tls", user="owner@example.com", password=PASSWORD).send(reply())
    assert str(err.value).startswith("certificate problem: ")
    assert "self-signed" in str(err.value) or "self signed" in str(err.value)
    assert not err.value.retryable
    assert smtp_tls_server.messages == []


def test_starttls_missing_is_refused_not_downgraded(smtp_server: SmtpServer) -> None:
    with pytest.raises(SendError, match="does not offer STARTTLS"):
        sender(smtp_server, security="starttls", user="owner@example.com", password=PASSWORD).send(reply())
    assert smtp_server.messages == []


def test_tls_against_a_plain_port_says_so(smtp_server: SmtpServer) -> None:
    with pytest.raises(SendError, match="TLS problem"):
        sender(smtp_server, security="tls").send(reply())


def test_no_password_in_clear_to_a_remote_host() -> None:
    with pytest.raises(ValueError, match="unencrypted"):
        SmtpSender("smtp.example.com", 25, from_addr="o@example.com", security="none",
                   user="o@example.com", password="pw")


def test_wrong_password_is_clear_and_never_shows_the_password(smtp_server: SmtpServer) -> None:
    wrong = "hunter2-Very-Distinctive"
    with pytest.raises(SendError) as err:
        sender(smtp_server, user="owner@example.com", password=wrong).send(reply())
    assert str(err.value) == "wrong password (535)"
    assert not err.value.retryable
    assert wrong not in chain_text(err.value)
    assert smtp_server.messages == []


def test_xoauth2_good_and_bad_token(smtp_server: SmtpServer) -> None:
    sender(smtp_server, user="owner@example.com", token=lambda: "good-token").send(reply())
    assert smtp_server.messages[0].login == "owner@example.com"
    with pytest.raises(SendError) as err:
        sender(smtp_server, user="owner@example.com", token=lambda: "stale-token-xyz").send(reply())
    assert str(err.value) == "access token refused (535)"
    assert "stale-token-xyz" not in chain_text(err.value)


def test_token_helper_failure_is_reported_without_the_secret(smtp_server: SmtpServer) -> None:
    def broken() -> str:
        raise RuntimeError("token command exited 1: refresh failed")

    with pytest.raises(SendError, match="could not get an access token: token command exited 1"):
        sender(smtp_server, user="owner@example.com", token=broken).send(reply())


# ------------------------------------------------------------------ failures


def test_4xx_to_data_is_retryable(smtp_server: SmtpServer) -> None:
    smtp_server.fail_data("451 4.3.0 Try again later")
    with pytest.raises(SendError) as err:
        sender(smtp_server).send(reply())
    assert err.value.retryable
    assert "451" in str(err.value) and "Try again later" in str(err.value)
    sender(smtp_server).send(reply())  # and indeed, later it works
    assert len(smtp_server.messages) == 1


def test_5xx_to_data_is_permanent(smtp_server: SmtpServer) -> None:
    smtp_server.fail_data("554 5.7.1 Message rejected as spam")
    with pytest.raises(SendError) as err:
        sender(smtp_server).send(reply())
    assert not err.value.retryable
    assert str(err.value) == ("the server refused the message (554 5.7.1 Message rejected as spam): refused by "
                              "the server's policy (not allowed to send this, or seen as spam)")


def test_recipient_refused(smtp_server: SmtpServer) -> None:
    smtp_server.refuse_rcpt["ann@example.net"] = "550 5.1.1 No such user"
    with pytest.raises(SendError) as err:
        sender(smtp_server).send(reply())
    assert str(err.value) == ("recipient refused: ann@example.net (550 5.1.1 No such user): the recipient's "
                              "mailbox does not exist: check the address")
    assert not err.value.retryable


def test_one_of_two_recipients_refused_is_sent_with_a_note(smtp_server: SmtpServer) -> None:
    smtp_server.refuse_rcpt["gone@example.net"] = "550 5.1.1 No such user"
    result = sender(smtp_server).send(reply(to=("ann@example.net", "gone@example.net")))
    assert smtp_server.messages[0].rcpt_tos == ("ann@example.net",)
    assert result.note == "not delivered to gone@example.net (550 5.1.1 No such user)"


def test_connection_refused_is_retryable() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SendError) as err:
        SmtpSender("127.0.0.1", port, from_addr="owner@example.com", security="none").send(reply())
    assert str(err.value) == f"server unreachable: connection refused (127.0.0.1:{port})"
    assert err.value.retryable


def test_stalled_server_times_out_retryably(smtp_server: SmtpServer) -> None:
    with FaultProxy(smtp_server.host, smtp_server.port) as proxy:
        proxy.stall()
        with pytest.raises(SendError) as err:
            sender(proxy, timeout=0.5).send(reply())
    assert "did not answer within 0.5 s" in str(err.value)
    assert err.value.retryable


def test_cut_mid_data_is_retryable_and_nothing_is_delivered(smtp_server: SmtpServer) -> None:
    # The message must be bigger than what the kernel buffers between us and the proxy can
    # hold; otherwise sendall() returns with the whole message handed over and the sender
    # rightly reports "may have been delivered" instead (see the next test).
    body = "A long answer.\n" * 550_000  # ~8 MB
    with FaultProxy(smtp_server.host, smtp_server.port) as proxy:
        proxy.cut_after(100_000)
        with pytest.raises(SendError) as err:
            sender(proxy).send(reply(body=body))
        assert proxy.bytes_up == 100_000
    assert err.value.retryable and not err.value.maybe_delivered
    assert "was not delivered" in str(err.value)
    assert smtp_server.messages == []


@pytest.mark.parametrize("rst", [False, True])
def test_a_small_reply_cut_mid_data_is_known_not_delivered(smtp_server: SmtpServer, rst: bool) -> None:
    """Issue 14, item 5: a reply small enough for the kernel buffers used to be reported as
    "may have been delivered". The dot now goes out only to a server still there, so a cut
    before it is known: not delivered (RFC 5321 4.1.1.4), and safe to send again."""
    body = "Thanks for your order, it ships tomorrow.\n" * 60  # ~2.5 kB
    with FaultProxy(smtp_server.host, smtp_server.port) as proxy:
        proxy.cut_after(1200, rst=rst)  # after EHLO/MAIL/RCPT/DATA and part of the message
        with pytest.raises(SendError) as err:
            sender(proxy).send(reply(body=body))
    assert "was not delivered" in str(err.value), str(err.value)
    assert err.value.retryable and not err.value.maybe_delivered
    assert smtp_server.messages == []


def test_connection_closed_at_once_is_retryable(smtp_server: SmtpServer) -> None:
    with FaultProxy(smtp_server.host, smtp_server.port) as proxy:
        proxy.refuse()
        with pytest.raises(SendError) as err:
            sender(proxy).send(reply())
    assert err.value.retryable and "closed the connection" in str(err.value)


def test_connection_lost_after_the_final_dot_is_not_retried_blindly(smtp_server: SmtpServer) -> None:
    smtp_server.drop_after(0)  # the server takes the whole message, then hangs up unanswered
    with pytest.raises(SendError) as err:
        sender(smtp_server).send(reply())
    assert not err.value.retryable and err.value.maybe_delivered
    assert "nobody can tell whether it was delivered" in str(err.value)
    assert "does not prove it went out" in str(err.value)
    assert smtp_server.dropped == 1


# ------------------------------------------------------------------ injection, end to end

INJECTIONS = [
    {"subject": "Hi\r\nBcc: thief@evil.example"},
    {"subject": "=?utf-8?q?Hi=0D=0ABcc:_thief@evil.example?="},
    {"subject": "=?utf-8?b?SGkNCkJjYzogdGhpZWZAZXZpbC5leGFtcGxl?="},
    {"subject": "Hi\u2028Bcc: thief@evil.example\x85Cc: x@evil.example"},
    {"to": ("=?utf-8?q?Ann=0D=0ABcc:_thief@evil.example?= <ann@example.net>",)},
    {"to": (("Ann\r\nBcc: thief@evil.example", "ann@example.net"),)},
    {"in_reply_to": "<q2@example.net>\r\nBcc: thief@evil.example"},
    {"references": ("<q1@example.net>\r\nBcc: thief@evil.example",)},
    {"references": "<q1@example.net>\r\nBcc: thief@evil.example <q0@x.example>"},
]


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_cannot_add_a_header_or_recipient(smtp_server: SmtpServer, attack: dict) -> None:
    sender(smtp_server).send(reply(**attack))
    [got] = smtp_server.messages
    assert got.rcpt_tos == ("ann@example.net",)
    names = header_names(got.content)
    assert len(names) == len(set(names)) and set(names) <= EXPECTED_HEADERS
    to = getaddresses([parsed(got.content)["To"]])
    assert [a for _, a in to] == ["ann@example.net"]


@pytest.mark.parametrize("from_name", [
    "Bea\r\nBcc: thief@evil.example",
    "=?utf-8?q?Bea=0ABcc:_thief@evil.example?=",
])
def test_injection_through_the_owner_name(smtp_server: SmtpServer, from_name: str) -> None:
    sender(smtp_server, from_name=from_name).send(reply())
    [got] = smtp_server.messages
    assert got.rcpt_tos == ("ann@example.net",)
    assert set(header_names(got.content)) <= EXPECTED_HEADERS


@pytest.mark.parametrize("to", [
    "ann@example.net\r\nBcc: thief@evil.example",
    "ann@example.net, thief@evil.example",
    "ann@example.net>\r\nRCPT TO:<thief@evil.example",
    "=?utf-8?q?x=0A?=@example.net",
])
def test_bad_recipient_address_is_refused_before_connecting(smtp_server: SmtpServer, to: str) -> None:
    with pytest.raises(SendError, match="reply not sent: not a"):
        sender(smtp_server).send(reply(to=(to,)))
    assert smtp_server.messages == []


def test_bad_own_address_is_refused(smtp_server: SmtpServer) -> None:
    with pytest.raises(SendError, match="reply not sent"):
        sender(smtp_server, from_addr="owner@example.com\r\nBcc: thief@evil.example").send(reply())
    assert smtp_server.messages == []


# ------------------------------------------------------------------ Sent hooks


def test_append_to_sent_gets_exactly_what_was_sent(smtp_server: SmtpServer) -> None:
    copies: list[bytes] = []
    sender(smtp_server, append_to_sent=copies.append).send(reply())
    assert copies == [smtp_server.messages[0].content]


def test_provider_that_keeps_sent_mail_gets_no_second_copy(smtp_server: SmtpServer) -> None:
    copies: list[bytes] = []
    sender(smtp_server, append_to_sent=copies.append, provider_saves_sent=True).send(reply())
    assert copies == [] and len(smtp_server.messages) == 1


def test_failed_copy_to_sent_does_not_fail_the_send(smtp_server: SmtpServer) -> None:
    def broken(raw: bytes) -> None:
        raise OSError("IMAP server went away")

    result = sender(smtp_server, append_to_sent=broken).send(reply())
    assert result.note == "sent, but no copy could be saved in Sent: IMAP server went away"
    assert len(smtp_server.messages) == 1


def test_verify_without_checker_cannot_tell(smtp_server: SmtpServer) -> None:
    assert sender(smtp_server).verify(reply()) is None


def test_verify_absent_is_certain_only_when_the_provider_files_sent_mail(smtp_server: SmtpServer) -> None:
    def absent(message_id: str) -> bool:
        return False

    assert sender(smtp_server, sent_checker=absent, provider_saves_sent=True).verify(reply()) is False
    assert sender(smtp_server, sent_checker=absent).verify(reply()) is None


def test_verify_when_checker_fails_cannot_tell(smtp_server: SmtpServer) -> None:
    def broken(message_id: str) -> bool:
        raise OSError("down")

    assert sender(smtp_server, sent_checker=broken).verify(reply()) is None


def test_sent_hooks_against_real_dovecot(smtp_server: SmtpServer, imap_account: ImapAccount) -> None:
    """The contract the IMAP module fills: append the bytes to Sent, find them by Message-ID."""

    def append(raw: bytes) -> None:
        imap_account.append("Sent", raw, flags=[b"\\Seen"])

    def in_sent(message_id: str) -> bool:
        with imap_account.client() as c:
            c.select_folder("Sent", readonly=True)
            return bool(c.search(["HEADER", "Message-ID", message_id]))

    s = sender(smtp_server, append_to_sent=append, sent_checker=in_sent)
    other = reply(message_id="<never-sent@example.com>")
    assert s.verify(reply()) is None  # not in Sent proves nothing: the copy is filed after sending
    s.send(reply())
    assert s.verify(reply()) is True
    assert s.verify(other) is None
    with imap_account.client() as c:
        c.select_folder("Sent", readonly=True)
        [uid] = c.search()
        assert c.fetch([uid], ["RFC822"])[uid][b"RFC822"] == smtp_server.messages[0].content


# ------------------------------------------------------------------ what the wire carries


def test_long_message_ids_are_not_encoded(smtp_server: SmtpServer) -> None:
    long_id = "<" + "a" * 150 + "@example.net>"
    sender(smtp_server).send(reply(in_reply_to=long_id, references=()))
    msg = parsed(smtp_server.messages[0].content)
    assert msg["In-Reply-To"] == long_id and msg["References"] == long_id


def test_non_ascii_text_survives(smtp_server: SmtpServer) -> None:
    sender(smtp_server, from_name="Bäckerei Jürgen").send(
        reply(subject="Öffnungszeiten?", body="Grüße aus Köln – bis bald!", to=("Zoë <zoe@bücher.example>",)))
    [got] = smtp_server.messages
    assert got.content.isascii()  # 7-bit clean: no 8BITMIME needed anywhere
    assert got.rcpt_tos == ("zoe@xn--bcher-kva.example",)
    msg = parsed(got.content)
    assert msg["Subject"] == "Re: Öffnungszeiten?"
    assert msg["From"].addresses[0].display_name == "Bäckerei Jürgen"
    assert body_of(got.content) == "Grüße aus Köln – bis bald!\n"


def test_deliver_prebuilt_message_checks_the_envelope(smtp_server: SmtpServer) -> None:
    raw = b"From: owner@example.com\r\nTo: me@example.com\r\nSubject: Digest\r\n\r\nNumbers.\r\n"
    s = sender(smtp_server)
    assert s.deliver("owner@example.com", ["me@example.com"], raw) == {}
    assert smtp_server.messages[0].content == raw
    with pytest.raises(SendError, match="not sent: not a single email address"):
        s.deliver("owner@example.com", ["me@example.com\r\nRCPT TO:<x@evil.example>"], raw)
    assert len(smtp_server.messages) == 1
