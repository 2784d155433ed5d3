"""Email replies over SMTP (stdlib ``smtplib``; blocking, so it runs in a worker thread).

Implements the ``Sender`` protocol of ``owner_tui.send.sender``. Every failure becomes a
``SendError`` in plain words ("wrong password (535)", "server unreachable: connection
refused", "certificate problem: ...") that never contains the password or token.

``retryable`` follows SMTP's own split: 4xx replies, timeouts and lost connections may
work later; 5xx replies, bad credentials and certificate problems will not.

Three outcomes of a cut connection, told apart as far as the protocol allows: the end-of-data
dot goes out on its own, only after the body reached the server and the server is still
there (``_peer_gone``). Cut before the dot: **not delivered** (RFC 5321 §4.1.1.4: without the
dot a server delivers nothing), safe to send again. Cut after the dot and before the answer:
**unknown** (SMTP has no way to ask), reported as not retryable with what to check, rather
than risk a second copy at the customer. An answer: delivered or refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any

from owner_tui.records import OutgoingReply, SendResult, normalize_msgid
from owner_tui.sanitize import one_line
from owner_tui.send.compose import build_reply, check_address, parse_recipient
from owner_tui.send.sender import SendError

SECURITY_MODES = ("starttls", "tls", "none")

#: EHLO argument. smtplib's default, ``socket.getfqdn()``, can stall on a broken resolver
#: and tells every server the machine's name; an address literal is what many clients send.
DEFAULT_EHLO_NAME = "[127.0.0.1]"


#: After the message body and before the end-of-data dot: how long to wait for the body to
#: reach the server (its TCP acknowledged every byte) and for a hang-up to show.
DOT_GRACE = 0.25


class CutBeforeDot(smtplib.SMTPServerDisconnected):
    """The connection died before the end-of-data dot went out: the server cannot have
    delivered the message (RFC 5321 4.1.1.4: no final dot, no message)."""


class _TrackingMixin:
    """Sends the end-of-data dot on its own, only to a server still there, and remembers
    whether it went out: before it, the outcome is known (not delivered); after it and
    before the server's answer, it cannot be known (the ambiguous case)."""

    dot_sent = False
    _in_data = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._in_data = True
        try:
            return super().data(msg)  # type: ignore[misc]
        finally:
            self._in_data = False

    def send(self, s: Any) -> None:
        # smtplib hands over the dot-stuffed message and the "\r\n.\r\n" in one piece.
        if not (self._in_data and isinstance(s, bytes) and s.endswith(b"\r\n.\r\n")):
            super().send(s)  # type: ignore[misc]
            return
        try:
            super().send(s[:-3])  # type: ignore[misc]  # the body, up to its last CRLF
        except (OSError, smtplib.SMTPServerDisconnected):
            self.close()  # type: ignore[attr-defined]
            raise CutBeforeDot("connection lost while the message was being sent") from None
        if _peer_gone(self.sock, DOT_GRACE):  # type: ignore[attr-defined]
            self.close()  # type: ignore[attr-defined]
            raise CutBeforeDot("connection lost before the end of the message was sent")
        super().send(b".\r\n")  # type: ignore[misc]
        self.dot_sent = True


def _peer_gone(sock: socket.socket | None, grace: float) -> bool:
    """Whether the server hung up (or reset, or spoke) while we sent the body. Waits until
    the kernel has the body acknowledged, then ``grace`` seconds more for a hang-up to
    arrive. A server in DATA says nothing until the dot: anything readable means it is
    closing. Not knowing (no TIOCOUTQ) counts as still there."""
    import fcntl
    import select
    import struct
    import termios
    import time

    if sock is None:
        return True
    deadline = None
    give_up = time.monotonic() + max(grace * 8, 2.0)
    while True:
        try:
            readable, _, broken = select.select([sock], [], [sock], 0.005)
        except (OSError, ValueError):
            return True
        if readable or broken:
            try:  # the raw TCP socket: peeking works under TLS too
                got = socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                got = None
            except OSError:
                return True
            if got is not None:
                return True  # EOF (b"") or the server speaking before our dot (421...)
        now = time.monotonic()
        if deadline is None:
            try:
                unacked = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
            except OSError:
                unacked = 0
            if unacked == 0 or now > give_up:
                deadline = now + grace
        elif now >= deadline:
            return False


class _SMTP(_TrackingMixin, smtplib.SMTP):
    pass


class _SMTP_SSL(_TrackingMixin, smtplib.SMTP_SSL):
    pass


class SmtpSender:
    """Send replies from one account.

    ``security``: ``"starttls"`` (port 587; refuses to go on if the server does not offer
    STARTTLS), ``"tls"`` (implicit TLS, port 465) or ``"none"`` (only for a relay on this
    machine: credentials are never sent unencrypted to another host).

    Credentials: ``user`` plus ``password`` (a string, or a callable returning one so a
    password command runs only when needed), or ``token``: a callable returning a current
    OAuth2 access token for SASL XOAUTH2 (Gmail, Microsoft 365).

    Hooks from the IMAP side: ``append_to_sent(raw_bytes)`` is called after a successful
    send to file a copy in the Sent folder, unless ``provider_saves_sent`` (Gmail keeps its
    own copy); ``sent_checker(message_id)`` answers ``verify`` after a crash.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        from_addr: str,
        from_name: str = "",
        security: str = "starttls",
        user: str | None = None,
        password: str | Callable[[], str] | None = None,
        token: Callable[[], str] | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        sent_checker: Callable[[str], bool | None] | None = None,
        append_to_sent: Callable[[bytes], object] | None = None,
        provider_saves_sent: bool = False,
        ehlo_name: str = DEFAULT_EHLO_NAME,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_MODES)}, not {security!r}")
        if password is not None and token is not None:
            raise ValueError("give a password or an OAuth2 token, not both")
        if (password is not None or token is not None) and not user:
            raise ValueError("a password or token needs a user name")
        if user and security == "none" and not _is_loopback(host):
            raise ValueError(f"refusing to send a password unencrypted to {host}; "
                             'use security = "starttls" or "tls"')
        self.host = host
        self.port = port
        self.from_addr = from_addr
        self.from_name = from_name
        self.security = security
        self.user = user
        self._password = password
        self._token = token
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.sent_checker = sent_checker
        self.append_to_sent = append_to_sent
        self.provider_saves_sent = provider_saves_sent
        self.ehlo_name = ehlo_name
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._secrets: list[str] = [password] if isinstance(password, str) and password else []

    # ------------------------------------------------------------------ Sender protocol

    def send(self, reply: OutgoingReply) -> SendResult:
        """Build the reply, hand it to the server, file a copy in Sent. Raises SendError."""
        now = self._clock()
        try:
            msg = build_reply(
                from_addr=self.from_addr,
                from_name=self.from_name,
                to=reply.to,
                subject=reply.subject,
                body=reply.body,
                in_reply_to=reply.in_reply_to,
                references=reply.references,
                message_id=reply.message_id,
                date=now,
            )
            envelope_from = parse_recipient(self.from_addr).addr_spec
            envelope_to = [parse_recipient(r).addr_spec for r in reply.to]
        except ValueError as exc:
            raise SendError(f"reply not sent: {exc}") from None
        raw = msg.as_bytes()
        refused = self._deliver(envelope_from, envelope_to, raw)

        notes = []
        if refused:
            notes.append("not delivered to " + "; ".join(
                f"{addr} ({code} {_text(resp)})" for addr, (code, resp) in refused.items()))
        if self.append_to_sent is not None and not self.provider_saves_sent:
            try:
                self.append_to_sent(raw)
            except Exception as exc:  # the mail is out: never turn this into a failed send
                notes.append(f"sent, but no copy could be saved in Sent: {self._scrub(str(exc))}")
        return SendResult(
            external_id=normalize_msgid(reply.message_id),
            sent_at=now.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
            note="; ".join(notes),
        )

    def verify(self, reply: OutgoingReply) -> bool | None:
        """SMTP cannot tell; the Sent-folder checker can, in one direction.

        Found in Sent: True. Not found: False only when the provider files sent mail itself
        (``provider_saves_sent``); when we file the copy, None (can't tell), see below.
        """
        if self.sent_checker is None:
            return None
        try:
            found = self.sent_checker(reply.message_id)
        except Exception:
            return None  # cannot tell: the worker leaves the decision to the owner
        if found is False and not self.provider_saves_sent:
            # We file the copy in Sent only after the server took the message, so a crash
            # between the two leaves it delivered but not in Sent: absence proves nothing.
            return None
        return found

    # ------------------------------------------------------------------ the wire

    def deliver(self, mail_from: str, rcpts: Sequence[str], raw: bytes) -> dict[str, tuple[int, bytes]]:
        """Hand an already built message to the server (e.g. the digest, which is no reply).

        Connection, TLS, login and error words as for ``send``; no Sent copy. Returns the
        refused recipients ({} when all were accepted); raises SendError otherwise. The
        caller vouches for ``raw``'s headers; the envelope addresses are checked here.
        """
        try:
            mail_from = check_address(mail_from)
            rcpts = [check_address(r) for r in rcpts]
        except ValueError as exc:
            raise SendError(f"not sent: {exc}") from None
        if not rcpts:
            raise SendError("not sent: no recipient")
        return self._deliver(mail_from, rcpts, raw)

    def _deliver(self, mail_from: str, rcpts: Sequence[str], raw: bytes) -> dict[str, tuple[int, bytes]]:
        context = self.ssl_context or ssl.create_default_context()
        conn: _SMTP | _SMTP_SSL | None = None
        try:
            # Host given to the constructor: smtplib verifies the certificate against it.
            if self.security == "tls":
                conn = _SMTP_SSL(self.host, self.port, local_hostname=self.ehlo_name,
                                 timeout=self.timeout, context=context)
            else:
                conn = _SMTP(self.host, self.port, local_hostname=self.ehlo_name, timeout=self.timeout)
            conn.ehlo()
            if self.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise SendError("the server does not offer STARTTLS; refusing to send unencrypted")
                conn.starttls(context=context)
                conn.ehlo()  # RFC 3207 §4.2: forget everything learned before TLS
            self._authenticate(conn)
            refused = conn.sendmail(mail_from, list(rcpts), raw)
        except SendError:
            if conn is not None:
                conn.close()
            raise
        except Exception as exc:
            if conn is not None:
                conn.close()  # not QUIT: after a timeout that would wait out the timeout again
            raise self._map_error(exc, dot_sent=bool(conn and conn.dot_sent)) from None
        try:
            conn.quit()
        except Exception:
            conn.close()
        return refused

    def _authenticate(self, conn: smtplib.SMTP) -> None:
        if self.user is None:
            return
        if self._token is not None:
            try:
                token = self._token()
            except Exception as exc:
                raise SendError(f"could not get an access token: {self._scrub(str(exc))}") from None
            sasl = f"user={self.user}\x01auth=Bearer {token}\x01\x01"
            self._remember(token, sasl)
            mechanisms = conn.esmtp_features.get("auth", "").upper().split()
            if "XOAUTH2" not in mechanisms:
                raise SendError("the server does not offer XOAUTH2 login")

            def answer(challenge: bytes | None = None) -> str:
                # First call: the initial response. Any later call is the server's error
                # challenge (base64 JSON); XOAUTH2 wants an empty line back, then 535.
                return sasl if challenge is None else ""

            conn.auth("XOAUTH2", answer)
        else:
            password = self._password() if callable(self._password) else (self._password or "")
            self._remember(password, f"\0{self.user}\0{password}")
            conn.login(self.user, password)

    def _remember(self, secret: str, sasl: str) -> None:
        """Keep the secret and its base64 forms to scrub from any error text."""
        if secret:
            self._secrets += [secret, base64.b64encode(secret.encode()).decode(),
                              base64.b64encode(sasl.encode()).decode()]

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    # ------------------------------------------------------------------ errors

    def _map_error(self, exc: BaseException, *, dot_sent: bool) -> SendError:
        err = self._describe(exc, dot_sent)
        return SendError(self._scrub(err.args[0]), retryable=err.retryable, maybe_delivered=err.maybe_delivered)

    def _describe(self, exc: BaseException, dot_sent: bool) -> SendError:
        where = f"{self.host}:{self.port}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            if _temporary(exc.smtp_code):  # 454 4.7.0: the server could not check, not a verdict
                return SendError(f"login not possible right now ({exc.smtp_code} {_text(exc.smtp_error)}): a "
                                 "temporary failure on the server's side, not your password; it is retried",
                                 retryable=True)
            what = "access token refused" if self._token is not None else "wrong password"
            if exc.smtp_code != 535:
                what = "login refused"
            detail = "" if exc.smtp_code == 535 else f" ({exc.smtp_code} {_text(exc.smtp_error)})" \
                + enhanced_words(exc.smtp_error)
            if detail:
                return SendError(f"{what}{detail}", retryable=False)
            return SendError(f"{what} ({exc.smtp_code})", retryable=False)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return SendError(f"the server does not support this: {exc}")
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            parts = [f"{addr} ({code} {_text(resp)}){enhanced_words(resp)}"
                     for addr, (code, resp) in exc.recipients.items()]
            retry = all(_temporary(code) for code, _ in exc.recipients.values())
            return SendError("recipient refused: " + "; ".join(parts), retryable=retry)
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return SendError(f"sender address refused: {exc.sender} ({exc.smtp_code} {_text(exc.smtp_error)})"
                             f"{enhanced_words(exc.smtp_error)}",
                             retryable=_temporary(exc.smtp_code))
        if isinstance(exc, smtplib.SMTPDataError):
            return SendError(f"the server refused the message ({exc.smtp_code} {_text(exc.smtp_error)})"
                             f"{enhanced_words(exc.smtp_error)}",
                             retryable=_temporary(exc.smtp_code))
        if isinstance(exc, smtplib.SMTPResponseException):
            return SendError(f"the server said {exc.smtp_code} {_text(exc.smtp_error)}{enhanced_words(exc.smtp_error)}",
                             retryable=_temporary(exc.smtp_code))
        if isinstance(exc, CutBeforeDot):
            return SendError(f"the connection to {where} was lost before the whole reply was sent: "
                             "it was not delivered (a server delivers nothing without the end of the "
                             "message); it can be sent again", retryable=True)
        if dot_sent and isinstance(exc, (smtplib.SMTPServerDisconnected, OSError)):
            return SendError(
                f"the connection to {where} was lost after the whole reply was handed over and before "
                "the server answered: nobody can tell whether it was delivered. A copy in your Sent "
                "folder does not prove it went out; ask the customer or watch for a bounce, then "
                "send it again or cancel it",
                maybe_delivered=True,
            )
        if isinstance(exc, ssl.SSLCertVerificationError):
            return SendError(f"certificate problem: {exc.verify_message or exc.reason} ({where})")
        if isinstance(exc, ssl.SSLError):
            hint = " (does the port expect TLS from the start?)" if "WRONG_VERSION" in str(exc) else ""
            return SendError(f"TLS problem with {where}: {exc.reason or exc}{hint}")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            if "timed out" in str(exc):
                return SendError(f"server did not answer within {self.timeout:g} s ({where})", retryable=True)
            return SendError(f"the server closed the connection ({where})", retryable=True)
        if isinstance(exc, ConnectionRefusedError):
            return SendError(f"server unreachable: connection refused ({where})", retryable=True)
        if isinstance(exc, socket.gaierror):
            return SendError(f"server unreachable: unknown host {self.host}", retryable=True)
        if isinstance(exc, TimeoutError):
            return SendError(f"server did not answer within {self.timeout:g} s ({where})", retryable=True)
        if isinstance(exc, OSError):
            return SendError(f"server unreachable: {exc.strerror or exc} ({where})", retryable=True)
        if isinstance(exc, smtplib.SMTPException):
            return SendError(f"SMTP error: {exc}")
        return SendError(f"unexpected error while sending: {type(exc).__name__}: {exc}")


#: RFC 3463 enhanced status codes (with the IANA registry's later ones, RFC 5248): what the
#: server's ``X.Y.Z`` means, in words an owner can act on. Looked up by ``Y.Z`` (the class
#: 4 or 5 only says temporary or permanent, which ``_temporary`` already tells).
ENHANCED = {
    "1.1": "the recipient's mailbox does not exist: check the address",
    "1.2": "the recipient's domain does not exist or takes no mail: check the address",
    "1.3": "the recipient address is malformed",
    "1.6": "the recipient has moved and left no forwarding address",
    "1.7": "the server does not accept our sender address: check the account's address",
    "1.8": "the server does not accept our sender's domain",
    "1.10": "the recipient's domain takes no mail (null MX)",
    "2.0": "the recipient's mailbox has a problem",
    "2.1": "the recipient's mailbox is disabled",
    "2.2": "the recipient's mailbox is full",
    "2.3": "the message is larger than the recipient accepts",
    "3.0": "the mail system has a problem",
    "3.1": "the mail system is full (out of storage)",
    "3.2": "the server is not accepting mail right now",
    "3.4": "the message is too big for the server",
    "4.0": "a network or routing problem",
    "4.1": "the recipient's server did not answer",
    "4.2": "the connection to the recipient's server broke",
    "4.4": "the recipient's server could not be found (routing)",
    "4.7": "the message was too long in transit",
    "5.0": "a protocol problem between us and the server",
    "5.3": "too many recipients at once",
    "6.0": "the message's content was not accepted",
    "7.0": "refused by the server's security policy",
    "7.1": "refused by the server's policy (not allowed to send this, or seen as spam)",
    "7.8": "the user name or password is wrong",
    "7.9": "the server wants a stronger login method",
    "7.10": "the server wants an encrypted connection for this login",
    "7.11": "the server wants an encrypted connection",
    "7.12": "a password change is needed with your provider",
    "7.13": "the account is disabled by your provider",
    "7.14": "the server does not trust this relationship (trust required)",
    "7.23": "the recipient's domain rejected it: our server is not allowed to send for our domain (SPF)",
    "7.25": "the server refused us: our server's name is not set up (reverse DNS)",
    "7.26": "the recipient's domain rejected it: sender authentication failed (DMARC/DKIM/SPF)",
}
_ENHANCED_RE = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


def enhanced_words(resp: bytes | str) -> str:
    """``": <words> (RFC 3463 X.Y.Z)"`` for a reply that starts with an enhanced status code."""
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    m = _ENHANCED_RE.match(text)
    if not m:
        return ""
    words = ENHANCED.get(f"{m.group(2)}.{m.group(3)}")
    return f": {words}" if words else ""


def _temporary(code: int) -> bool:
    """RFC 5321 §4.2.1: 4yz is a transient failure, 5yz a permanent one."""
    return 400 <= code < 500


def _text(resp: bytes | str) -> str:
    # The server's words reach the owner's terminal (`owner-tui sync`): no escape sequences.
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return one_line(text, limit=300)


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
