"""A real SMTP server on loopback (aiosmtpd) that records what it receives.

``SmtpServer(mode="plain" | "starttls" | "tls")``:

* ``plain``: no TLS; AUTH offered over plain text (``auth_require_tls=False``).
* ``starttls``: STARTTLS offered and required before MAIL and AUTH (port 587 style).
* ``tls``: implicit TLS from the first byte (port 465 style).

AUTH PLAIN and LOGIN check ``users``; XOAUTH2 checks ``tokens`` (user -> access token) and
behaves like Gmail on failure: a base64 JSON error challenge, then 535 after the client's
empty reply. ``require_auth=True`` refuses MAIL before AUTH (530).

Failure injection: ``refuse_rcpt["a@b.c"] = "550 5.1.1 no such user"`` refuses one
recipient; ``fail_data("451 4.3.0 try later")`` answers the next DATA with that
reply (``times`` controls how often); ``drop_after(n)`` accepts ``n`` more messages and then
closes the connection when the following message's data has arrived, without a reply
(the ambiguous case: the client cannot tell whether it was delivered).

Every accepted message is a ``Received`` in ``.messages``; the raw ``content`` bytes are
exactly what came over the wire after dot-unstuffing, so tests can parse them.
"""

from __future__ import annotations

import atexit
import base64
import functools
import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.servers.certs import TestCert, make_cert
from tests.servers.process import free_port


@functools.cache
def shared_cert() -> TestCert:
    """One self-signed cert per test process for the SMTP servers (made on first use)."""
    directory = tempfile.mkdtemp(prefix="otsmtp-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return make_cert(Path(directory))


@dataclass(frozen=True)
class Received:
    """One accepted message: envelope plus the bytes of the message as received."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    login: str | None  # the authenticated user, if any
    tls: bool  # whether the session was encrypted when DATA arrived
    mail_options: tuple[str, ...] = ()


class _Handler:
    """aiosmtpd handler: records envelopes, applies injected failures, speaks XOAUTH2."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.owner.refuse_rcpt.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self.owner
        with owner._lock:
            if owner._drop_after is not None and owner._accepted_since_drop >= owner._drop_after:
                owner._drop_after = None
                owner.dropped += 1
                drop = True
            else:
                drop = False
            reply = None
            if not drop and owner._data_reply is not None and owner._data_reply_times != 0:
                reply = owner._data_reply
                owner._data_reply_times -= 1
                if owner._data_reply_times == 0:
                    owner._data_reply = None
        if drop:
            assert server.transport is not None
            server.transport.abort()  # no reply at all: the client sees a dead connection
            return "421 dropped"  # never reaches the client
        if reply is not None:
            return reply
        content = envelope.original_content or b""
        received = Received(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            content=bytes(content),
            login=_login_of(session),
            # after STARTTLS aiosmtpd swaps in the TLS transport; implicit TLS has it from the start
            tls=server.transport is not None and server.transport.get_extra_info("ssl_object") is not None,
            mail_options=tuple(envelope.mail_options),
        )
        with owner._lock:
            owner.messages.append(received)
            owner._accepted_since_drop += 1
        return "250 2.0.0 OK queued"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 2:
            blob: Any = base64.b64decode(args[1])
        else:
            blob = await server.challenge_auth("")
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=False)
        # "user=" user "\x01auth=Bearer " token "\x01\x01"
        parts = dict(p.split("=", 1) for p in blob.decode().split("\x01") if "=" in p)
        user, token = parts.get("user", ""), parts.get("auth", "").removeprefix("Bearer ")
        if token and self.owner.tokens.get(user) == token:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"})
        await server.challenge_auth(error)  # the client must answer with an empty line
        return AuthResult(success=False, handled=False)


def _login_of(session: Session) -> str | None:
    data = session.auth_data
    return data.login.decode() if isinstance(data, LoginPassword) else None


class SmtpServer:
    """An aiosmtpd server in a thread on 127.0.0.1 and a concrete free port.

    Use as a context manager or ``start()``/``stop()``. ``host``, ``port``, ``cert``
    (``cert.client_context()`` trusts only it), ``messages``, ``dropped``.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        mode: str = "plain",
        users: dict[str, str] | None = None,
        tokens: dict[str, str] | None = None,
        require_auth: bool = False,
        smtputf8: bool = True,
    ) -> None:
        if mode not in ("plain", "starttls", "tls"):
            raise ValueError(f"mode must be plain, starttls or tls, not {mode!r}")
        self.mode = mode
        self.users = dict({"owner@example.com": "secret"} if users is None else users)
        self.tokens = dict({"owner@example.com": "good-token"} if tokens is None else tokens)
        self.require_auth = require_auth
        self.smtputf8 = smtputf8
        self.cert = shared_cert() if mode != "plain" else None
        self.port = 0
        self.messages: list[Received] = []
        #: address (lower-case) -> reply to its RCPT TO, e.g. "550 5.1.1 no such user"
        self.refuse_rcpt: dict[str, str] = {}
        #: When set, every AUTH is answered with this reply (e.g. "454 4.7.0 Temporary
        #: authentication failure", what a server says when its user database is down).
        self.auth_reply: str | None = None
        self.dropped = 0
        self._lock = threading.Lock()
        self._data_reply: str | None = None
        self._data_reply_times = 0
        self._drop_after: int | None = None
        self._accepted_since_drop = 0
        self._controller: Controller | None = None

    # --------------------------------------------------------------- failure injection

    def fail_data(self, reply: str, times: int = 1) -> None:
        """Answer the next ``times`` DATA commands with ``reply`` (e.g. "554 5.7.1 no"); -1 = always."""
        with self._lock:
            self._data_reply, self._data_reply_times = reply, times

    def drop_after(self, n: int) -> None:
        """Accept ``n`` more messages, then drop the connection after the next one's data."""
        with self._lock:
            self._drop_after, self._accepted_since_drop = n, 0

    # --------------------------------------------------------------- life cycle

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {
            "authenticator": self._authenticate,
            "auth_required": self.require_auth,
            "enable_SMTPUTF8": self.smtputf8,
        }
        ssl_context = None
        if self.mode == "plain":
            kwargs["auth_require_tls"] = False
        elif self.mode == "starttls":
            assert self.cert is not None
            kwargs["tls_context"] = self.cert.server_context()
            kwargs["require_starttls"] = True
        else:
            assert self.cert is not None
            ssl_context = self.cert.server_context()
            kwargs["auth_require_tls"] = False  # implicit TLS: the session is already encrypted
        self.port = free_port()
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            ssl_context=ssl_context,
            server_hostname="localhost",
            ready_timeout=10,
            **kwargs,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if self.auth_reply:
            return AuthResult(success=False, handled=False, message=self.auth_reply)
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if user in self.users and self.users[user] == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
