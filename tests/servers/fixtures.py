"""pytest fixtures for the real loopback servers (registered by ``tests/conftest.py``).

IMAP:

* ``dovecot`` (session): one plain-IMAP Dovecot shared by the whole run (starts in ~30 ms).
* ``dovecot_tls`` (session): one Dovecot with a self-signed cert: ``port`` offers STARTTLS,
  ``tls_port`` is implicit TLS, ``cert.client_context()`` trusts only that cert.
* ``imap_account`` (function): a brand-new user with an empty mailbox on ``dovecot``, so
  tests never see each other's mail. Use ``imap_account.client()`` for a logged-in
  IMAPClient, ``.append(...)``/``.deliver_files(...)`` to seed, ``.reset_uidvalidity(f)``.
* ``imap_tls_account`` (function): the same on ``dovecot_tls``.

SMTP (``tests/servers/smtp.py``): ``smtp_server`` (plain, AUTH offered, not required),
``smtp_starttls_server``, ``smtp_tls_server`` (implicit TLS), each function-scoped and
recording what it received in ``.messages``.

Without Dovecot installed the IMAP fixtures skip with the install hint, or FAIL when the
environment says ``CI=true`` (a CI run must never pass by skipping).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.servers.dovecot import INSTALL_HINT, DovecotServer, dovecot_binary
from tests.servers.smtp import SmtpServer

_user_numbers = itertools.count(1)


def require_dovecot() -> None:
    """Skip (or under CI=true fail) when the dovecot binary is missing."""
    if dovecot_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)


@dataclass
class ImapAccount:
    """One test user on a running ``DovecotServer``; everything bound to that user."""

    server: DovecotServer
    user: str
    password: str

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def tls_port(self) -> int:
        return self.server.tls_port

    def client(self, *, tls: bool | None = None) -> IMAPClient:
        """A logged-in IMAPClient; the caller logs out (or uses it as a context manager)."""
        return self.server.client(self.user, tls=tls)

    def append(
        self,
        folder: str,
        raw: bytes,
        flags: Iterable[bytes | str] = (),
        date: dt.datetime | None = None,
    ) -> int | None:
        """APPEND over IMAP; returns the new UID."""
        return self.server.append(folder, raw, flags, date, user=self.user)

    def deliver_files(
        self, folder: str, raws: Sequence[bytes], *, dates: Sequence[dt.datetime] | None = None
    ) -> list[Path]:
        """Drop messages into the folder's Maildir ``new/`` (fast bulk seeding)."""
        return self.server.deliver_files(folder, raws, user=self.user, dates=dates)

    def maildir(self, folder: str) -> Path:
        return self.server.maildir(folder, self.user)

    def reset_uidvalidity(self, folder: str) -> None:
        """Restart the server with ``folder``'s UID state wiped: new UIDVALIDITY."""
        self.server.reset_uidvalidity(folder, user=self.user)


def _new_account(server: DovecotServer) -> ImapAccount:
    if not server.running:  # a previous test may have stopped it on purpose
        server.start()
    user = f"u{next(_user_numbers)}-{secrets.token_hex(3)}@example.com"
    password = secrets.token_urlsafe(12)
    server.add_user(user, password)
    return ImapAccount(server=server, user=user, password=password)


def _running(**options) -> Iterator[DovecotServer]:
    """One Dovecot for the session, closed (and its folder removed) at the end."""
    require_dovecot()
    server = DovecotServer(**options).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    yield from _running()


@pytest.fixture(scope="session")
def dovecot_tls() -> Iterator[DovecotServer]:
    yield from _running(tls=True)


@pytest.fixture(scope="session")
def dovecot_plain() -> Iterator[DovecotServer]:
    """A server without SPECIAL-USE and without a Sent made for each user."""
    yield from _running(special_use=False)


@pytest.fixture
def imap_plain_account(dovecot_plain: DovecotServer) -> ImapAccount:
    return _new_account(dovecot_plain)


@pytest.fixture
def imap_account(dovecot: DovecotServer) -> ImapAccount:
    return _new_account(dovecot)


@pytest.fixture
def imap_tls_account(dovecot_tls: DovecotServer) -> ImapAccount:
    return _new_account(dovecot_tls)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Plain SMTP; AUTH PLAIN/LOGIN/XOAUTH2 offered (``owner@example.com`` / ``secret``)."""
    with SmtpServer(mode="plain") as server:
        yield server


@pytest.fixture
def smtp_starttls_server() -> Iterator[SmtpServer]:
    """STARTTLS required before MAIL and AUTH (port 587 style)."""
    with SmtpServer(mode="starttls") as server:
        yield server


@pytest.fixture
def smtp_tls_server() -> Iterator[SmtpServer]:
    """Implicit TLS from the first byte (port 465 style)."""
    with SmtpServer(mode="tls") as server:
        yield server
