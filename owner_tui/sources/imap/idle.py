"""IMAP IDLE on INBOX while the TUI is open: new mail shows up within seconds.

``IdleWatcher(account, on_new, open_store=...)`` runs a blocking loop (``run()``, or
``start()`` for a daemon thread) that never touches Textual: the TUI wraps ``run`` in a thread
worker and turns ``on_new(count)`` / ``on_status(text)`` into messages with
``post_message`` (thread-safe).

The loop: connect, catch up with an incremental INBOX sync, IDLE (RFC 2177). On ``EXISTS``
leave IDLE, sync INBOX, call ``on_new`` with the number of new messages stored, IDLE again.
IDLE is re-issued every ``renew_after`` seconds (servers may drop a client idle for 30
minutes, so before 29), with a sync each time in case a notification was missed. A lost
connection is retried with exponential backoff (``backoff_base`` doubling up to
``backoff_max``, with jitter), reset after a successful reconnect.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from typing import Callable

from imapclient import IMAPClient

from owner_tui.config import AccountConfig
from owner_tui.sources.imap.connection import ImapSettings, SecretGetter, close, connect
from owner_tui.sources.imap.errors import MailError, as_mail_error
from owner_tui.sources.imap.sync import sync_folder

RENEW_AFTER = 20 * 60.0  # well before the 29-minute limit of RFC 2177


class IdleWatcher:
    def __init__(self, account: AccountConfig, on_new: Callable[[int], None], *,
                 open_store: Callable[[], object], on_status: Callable[[str], None] | None = None,
                 secrets: SecretGetter | None = None, renew_after: float = RENEW_AFTER,
                 backoff_base: float = 2.0, backoff_max: float = 300.0, poll: float = 1.0) -> None:
        self.settings = ImapSettings.from_account(account)
        self.account = account
        self.on_new = on_new
        self.on_status = on_status or (lambda text: None)
        self.open_store = open_store
        self.secrets = secrets
        self.renew_after = renew_after
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.poll = poll
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connections = 0  # successful connects, for tests and the status line
        self.failures = 0  # consecutive failed attempts (drives the backoff)
        self.renewals = 0  # IDLE commands re-issued on the same connection
        self.last_delay = 0.0  # the latest backoff wait, in seconds

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, name=f"idle-{self.account.name}", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 10.0) -> None:
        """Ask the loop to end; it leaves IDLE and logs out within ``poll`` seconds."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def backoff_delay(self, failures: int) -> float:
        """Seconds before attempt ``failures + 1``: doubling, capped, 50-100 % jitter so many
        clients do not reconnect in lock-step."""
        delay = min(self.backoff_max, self.backoff_base * (2 ** max(0, failures - 1)))
        return delay * random.uniform(0.5, 1.0)

    def run(self) -> None:
        store = self.open_store()
        try:
            while not self._stop.is_set():
                client: IMAPClient | None = None
                try:
                    client = connect(self.settings, secrets=self.secrets)
                    self.connections += 1
                    self._watch(client, store)
                except Exception as exc:
                    err = as_mail_error(exc, host=self.settings.host, port=self.settings.port,
                                        user=self.settings.user)
                    if self._stop.is_set():
                        break
                    self.failures += 1
                    # A wrong password or a bad certificate will not fix itself in seconds:
                    # wait the longest, rather than hammer the server with failing logins.
                    delay = self.last_delay = self.backoff_delay(self.failures if err.retryable else 64)
                    self.on_status(f"{self.account.name}: {err}; retrying in {delay:.0f} s")
                    self._stop.wait(delay)
                finally:
                    if client is not None:
                        close(client)
        finally:
            close_store = getattr(store, "close", None)
            if close_store:
                close_store()

    # -- one connection --------------------------------------------------------------------

    def _sync(self, client: IMAPClient, store, *, probe: bool) -> None:
        account_id = store.ensure_account("imap", self.account.name, self.settings.public_settings())
        result = sync_folder(client, store, account_id, "INBOX", "inbox", batch_size=self.settings.batch_size,
                             account=self.account.name, probe=probe, should_stop=self._stop.is_set)
        if result.new:
            self.on_new(result.new)

    def _watch(self, client: IMAPClient, store) -> None:
        _keepalive(client)
        self._sync(client, store, probe=True)  # catch up with what came while we were away
        self.failures = 0
        self.on_status(f"{self.account.name}: watching INBOX for new mail")
        client.select_folder("INBOX", readonly=True)
        client.idle()
        started = time.monotonic()
        quick_empty = 0
        while not self._stop.is_set():
            t0 = time.monotonic()
            responses = client.idle_check(timeout=self.poll)
            if not responses:
                # IMAPClient's idle_check swallows EOF and returns []: a dead connection shows
                # up as empty answers that come back long before the timeout.
                quick_empty = quick_empty + 1 if time.monotonic() - t0 < self.poll / 2 else 0
                if quick_empty >= 3:
                    raise MailError(f"{self.settings.host} closed the connection", "closed", retryable=True)
            else:
                quick_empty = 0
            if any(len(r) >= 2 and r[1] == b"EXISTS" for r in responses):
                client.idle_done()
                self._sync(client, store, probe=False)
                client.select_folder("INBOX", readonly=True)
                client.idle()
                started = time.monotonic()
            elif time.monotonic() - started >= self.renew_after:
                self.renewals += 1
                client.idle_done()
                self._sync(client, store, probe=False)
                client.select_folder("INBOX", readonly=True)
                client.idle()
                started = time.monotonic()
        client.idle_done()


def _keepalive(client: IMAPClient) -> None:
    """TCP keepalive, so a silently dead connection (NAT timeout, sleep) is noticed in
    minutes rather than at the next IDLE renewal."""
    try:
        sock = client.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for opt, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 20), ("TCP_KEEPCNT", 3)):
            if hasattr(socket, opt):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), value)
    except OSError:
        pass
