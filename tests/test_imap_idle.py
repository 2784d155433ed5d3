"""IMAP IDLE against a real Dovecot: delivery within seconds, renewal, reconnect with backoff."""

from __future__ import annotations

import threading
import time

import pytest

from owner_tui.sources.imap.idle import IdleWatcher
from tests.imap_helpers import account, count, mail, open_store
from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import _new_account, require_dovecot

pytestmark = pytest.mark.servers


class Recorder:
    def __init__(self) -> None:
        self.new: list[int] = []
        self.status: list[str] = []
        self.event = threading.Event()

    def on_new(self, n: int) -> None:
        self.new.append(n)
        self.event.set()

    def on_status(self, text: str) -> None:
        self.status.append(text)

    def wait_status(self, needle: str, timeout: float = 5.0, after: int = 0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(needle in s for s in self.status[after:]):
                return True
            time.sleep(0.02)
        return False


def watcher(acc, db, rec: Recorder, **kw) -> IdleWatcher:
    return IdleWatcher(account(acc), rec.on_new, open_store=lambda: open_store(db), on_status=rec.on_status, **kw)


def test_new_mail_arrives_within_seconds(imap_account, tmp_path):
    imap_account.append("INBOX", mail(1))  # already there: the catch-up sync stores it quietly
    rec = Recorder()
    w = watcher(imap_account, tmp_path / "db", rec)
    w.start()
    try:
        assert rec.wait_status("watching INBOX")
        assert rec.new == [1]  # the catch-up found one
        rec.event.clear()
        t0 = time.monotonic()
        imap_account.append("INBOX", mail(2))
        assert rec.event.wait(5), rec.status
        assert time.monotonic() - t0 < 3
        assert rec.new == [1, 1]
    finally:
        w.stop()
    assert not w._thread.is_alive()
    store = open_store(tmp_path / "db")
    assert count(store) == 2


def test_idle_is_renewed(imap_account, tmp_path):
    rec = Recorder()
    w = watcher(imap_account, tmp_path / "db", rec, renew_after=0.3, poll=0.1)
    w.start()
    try:
        assert rec.wait_status("watching INBOX")
        time.sleep(1.2)
        assert w.renewals >= 2
        imap_account.append("INBOX", mail(1))
        assert rec.event.wait(5)
        assert w.connections == 1  # renewed in place, not by reconnecting
    finally:
        w.stop()


def test_reconnects_with_backoff_after_the_server_goes_away(tmp_path):
    require_dovecot()
    server = DovecotServer().start()
    try:
        acc = _new_account(server)
        rec = Recorder()
        w = watcher(acc, tmp_path / "db", rec, backoff_base=0.2, backoff_max=0.4, poll=0.1)
        w.start()
        assert rec.wait_status("watching INBOX")
        seen = len(rec.status)
        server.stop()
        assert rec.wait_status("retrying in", after=seen), rec.status
        assert w.failures >= 1
        server.start()
        assert rec.wait_status("watching INBOX", timeout=10, after=seen), rec.status
        assert w.connections == 2 and w.failures == 0
        acc.append("INBOX", mail(7))
        assert rec.event.wait(5)
        w.stop()
    finally:
        server.close()


def test_backoff_doubles_and_is_capped(imap_account):
    w = IdleWatcher(account(imap_account), lambda n: None, open_store=lambda: None, backoff_base=1, backoff_max=8)
    for failures, full in ((1, 1), (2, 2), (3, 4), (4, 8), (9, 8)):
        delays = [w.backoff_delay(failures) for _ in range(50)]
        assert all(full * 0.5 <= d <= full for d in delays)


def test_wrong_password_is_reported_and_retried_slowly(imap_account, tmp_path):
    rec = Recorder()
    acc = account(imap_account, password_cmd="printf %s nope")
    w = IdleWatcher(acc, rec.on_new, open_store=lambda: open_store(tmp_path / "db"), on_status=rec.on_status,
                    backoff_base=0.01, backoff_max=0.1)
    w.start()
    try:
        assert rec.wait_status("wrong user name or password")
        assert w.failures >= 1 and w.connections == 0
        # Not a network blip: it waits the longest backoff before logging in again.
        assert w.last_delay >= 0.05
        assert not any("nope" in s for s in rec.status)
    finally:
        w.stop()
