"""Network faults: connections cut, stalled or slowed mid-transfer, servers that answer garbage.

Every fault goes through ``tests/servers/proxy.py`` (a loopback TCP proxy) or the servers'
own fault scripts, against the real client code and a real store. For each one:

* the failing run ends with a clear, one-line, plain-words error (no traceback text) and,
  where there is a timeout, it fires within its bound;
* the next run with the fault gone completes;
* nothing is lost or doubled: the store holds each remote item exactly once, and each reply
  reached the SMTP server at most once.

``FAULTS`` counts the faults injected, for the suite's report.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from owner_tui.config import AccountConfig, Config, OwnerConfig
from owner_tui.records import MessageRecord
from owner_tui.send.outbox_worker import process, requeue
from owner_tui.sources.reviews.common import Runtime
from owner_tui.sources.reviews.sync import sync_account
from owner_tui.store import Store
from tests.servers.proxy import FaultProxy
from tests.servers.review_apis import (  # noqa: F401
    GOOGLE_SECRETS,
    TP_SECRETS,
    api,
    ft,
    google_review,
    tp_review,
)

LOC = "accounts/1/locations/10"
FAULTS = {"http": 0, "smtp": 0, "imap": 0}

#: Short client timeouts so a stall costs a second, not the production 30 s.
TIMEOUT = 1.0


def _plain(msg: str | None) -> None:
    assert msg, "no error message"
    assert "Traceback" not in msg and "File \"" not in msg and "\n" not in msg.strip(), msg
    assert len(msg) < 400, msg


# -- review APIs over HTTP ---------------------------------------------------------------------

class _ShortTimeouts(Runtime):
    def http(self, platform, options, *, auth=None, qpm, **kw):
        kw.setdefault("timeout", httpx.Timeout(TIMEOUT))
        return super().http(platform, options, auth=auth, qpm=qpm, **kw)


@pytest.fixture
def reviews(api, ft, tmp_path):  # noqa: F811
    """Google and Trustpilot behind one fault proxy; 70 Google reviews (2 pages), 30 on TP."""
    base = datetime(2026, 11, 1, tzinfo=UTC)
    api.reviews[LOC] = [google_review(f"g{i}", create=(base + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                      comment=f"review {i} " + "x" * 200) for i in range(70)]
    api.tp_reviews["bu-1"] = [tp_review(f"t{i}", created=(base + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"))
                              for i in range(30)]
    store = Store.open(tmp_path / "faults.db")
    with FaultProxy("127.0.0.1", int(api.url.rsplit(":", 1)[1])) as proxy:
        url = f"http://{proxy.host}:{proxy.port}"
        over = dict(base_url=url, accounts_url=url, locations_url=url, max_attempts=2)
        google = AccountConfig("gbp", "google", {**api.google_options(), **over, "token_url": f"{url}/token"})
        tp = AccountConfig("tp", "trustpilot", {**api.tp_options(), "base_url": url, "max_attempts": 2})
        runtime = _ShortTimeouts(sleep=ft.sleep, clock=ft.clock)

        def sync(which: str):
            acc, getter = (google, GOOGLE_SECRETS) if which == "google" else (tp, TP_SECRETS)
            t0 = time.monotonic()
            summary = sync_account(store, acc, secrets_getter=getter.__getitem__, runtime=runtime)
            return summary, time.monotonic() - t0

        yield store, proxy, api, sync
    store.close()


def _stored(store: Store, kind: str) -> list[str]:
    return [r[0] for r in store.db.execute(
        "SELECT external_id FROM messages m JOIN accounts a ON a.id = m.account_id WHERE a.kind = ?", [kind])]


def _complete(store: Store, sync, which: str, expected: int) -> None:
    """The next run with the fault gone completes, and every item is stored exactly once."""
    summary, _ = sync(which)
    assert summary.error is None, summary.error
    ids = _stored(store, which if which == "google" else "trustpilot")
    assert len(ids) == len(set(ids)) == expected, (len(ids), len(set(ids)), expected)
    acc = summary.account_id
    assert all(r[0] is None for r in store.db.execute("SELECT last_error FROM sync_state WHERE account_id = ?",
                                                        [acc])), "last_error not cleared by the good run"


HTTP_FAULTS = {
    # name: (set up the fault, the words the error must contain)
    "cut-response-start": (lambda p, a: p.cut_after(0, "down"), ("connection",)),
    "cut-mid-body": (lambda p, a: p.cut_after(3000, "down"), ("connection",)),
    "cut-mid-body-rst": (lambda p, a: p.cut_after(3000, "down", rst=True), ("connection",)),
    "cut-request": (lambda p, a: p.cut_after(40, "up"), ("connection",)),
    "refused": (lambda p, a: p.refuse(), ("connect",)),
    "stall": (lambda p, a: p.stall(), ("in time",)),
    "garbage": (lambda p, a: [a.fault("GET", pre, 200, b"<html>\x00\xff garbage</html>", count=99)
                              for pre in ("/v4/", "/v1/private/")], ("not valid JSON",)),
    "truncated-json": (lambda p, a: [a.fault("GET", pre, 200, b'{"reviews": [{"name": "acc', count=99)
                                     for pre in ("/v4/", "/v1/private/")], ("not valid JSON",)),
    "short-body": (lambda p, a: [a.fault("GET", pre, 200, b'{"reviews": [', count=99, truncate=True)
                                 for pre in ("/v4/", "/v1/private/")], ("connection",)),
    "huge-body": (lambda p, a: [a.fault("GET", pre, 200, b'{"reviews": ["' + b"x" * (9 * 1024 * 1024) + b'"]}',
                                        count=99) for pre in ("/v4/", "/v1/private/")], ("limit",)),
    "server-error": (lambda p, a: [a.fault("GET", pre, 503, {"error": {"code": 503, "message": "backend down"}},
                                           count=99) for pre in ("/v4/", "/v1/private/")], ("503",)),
}


@pytest.mark.parametrize("which", ["google", "trustpilot"])
@pytest.mark.parametrize("fault", list(HTTP_FAULTS))
def test_review_sync_survives_http_faults(reviews, which, fault):
    store, proxy, api, sync = reviews
    expected = 70 if which == "google" else 30
    if fault in ("cut-mid-body", "cut-mid-body-rst", "short-body", "truncated-json"):
        _complete(store, sync, which, expected)  # then an update arrives and the next pull meets the fault
        expected += 1
        t = "2026-11-30T10:00:00Z"
        if which == "google":
            api.reviews[LOC].append(google_review("late", create=t, comment="late " + "y" * 5000))
        else:
            api.tp_reviews["bu-1"].append(tp_review("late", created=t, text="late " + "y" * 5000))
    setup, words = HTTP_FAULTS[fault]
    setup(proxy, api)
    FAULTS["http"] += 1
    summary, took = sync(which)
    assert summary.error, f"{fault}: the sync did not notice"
    _plain(summary.error)
    assert any(w.lower() in summary.error.lower() for w in words), summary.error
    assert took < 2 * 2 * TIMEOUT + 5, f"{fault}: took {took:.1f} s; a timeout did not fire"
    assert summary.retryable or fault in ("huge-body",), summary.error
    row = store.db.execute("SELECT last_error FROM sync_state WHERE account_id = ? AND last_error IS NOT NULL",
                           [summary.account_id]).fetchone()
    assert row and row[0] in summary.error  # the feed keeps its own error; the account line names it
    ids = _stored(store, which if which == "google" else "trustpilot")
    assert len(ids) == len(set(ids))

    proxy.clear()
    with api.lock:
        api.faults.clear()
    _complete(store, sync, which, expected)


def test_slow_link_is_slow_but_complete(reviews):
    store, proxy, api, sync = reviews
    proxy.latency(0.01)  # every chunk in either direction waits 10 ms
    FAULTS["http"] += 1
    summary, took = sync("google")
    assert summary.error is None, summary.error
    assert proxy.bytes_down > 70 * 200
    _complete(store, sync, "google", 70)


# -- SMTP through the outbox worker -------------------------------------------------------------

OWNER = "owner@example.com"


@pytest.fixture
def outbox(tmp_path, smtp_server, imap_account):
    """A store with one conversation awaiting a reply; the account's SMTP goes through a proxy."""
    with FaultProxy(smtp_server.host, smtp_server.port) as proxy:
        account = AccountConfig("shop", "imap", {
            "host": imap_account.host, "port": imap_account.port, "security": "none", "user": imap_account.user,
            "address": OWNER, "password_env": "OT_PW", "smtp_host": proxy.host, "smtp_port": proxy.port,
            "smtp_security": "none", "smtp_user": OWNER, "smtp_password_env": "OT_SMTP_PW", "timeout": 1})
        config = Config(owner=OwnerConfig(name="Sam", addresses=(OWNER,)), accounts=(account,))
        store = Store.open(tmp_path / "outbox.db", config=config)
        acc = store.ensure_account("imap", "shop", {"address": OWNER})
        store.ingest(acc, [MessageRecord(external_id="q1@cust.example", sender_handle="ann@cust.example",
                                         subject="Order", text="Where is it?", sent_at="2026-11-20T10:00:00+00:00")])
        conv = store.db.execute("SELECT id FROM conversations").fetchone()[0]
        yield store, config, proxy, smtp_server, conv
        store.close()


@pytest.fixture(autouse=True)
def _mail_secrets(monkeypatch, request):
    if "outbox" in request.fixturenames:
        imap = request.getfixturevalue("imap_account")
        monkeypatch.setenv("OT_PW", imap.password)
        monkeypatch.setenv("OT_SMTP_PW", "secret")


def _outbox_row(store, oid):
    return store.db.execute("SELECT status, body, error FROM outbox WHERE id = ?", [oid]).fetchone()


SMTP_FAULTS = {
    "cut-at-greeting": lambda p: p.cut_after(0, "down"),
    "cut-mid-data": lambda p: p.cut_after(300, "up"),
    "cut-mid-data-rst": lambda p: p.cut_after(300, "up", rst=True),
    "refused": lambda p: p.refuse(),
    "stall": lambda p: p.stall(),
}


@pytest.mark.parametrize("fault", list(SMTP_FAULTS))
def test_reply_survives_smtp_faults_and_goes_out_once(outbox, fault):
    store, config, proxy, server, conv = outbox
    oid = store.queue_reply(conv, "On its way, sorry for the wait.")
    SMTP_FAULTS[fault](proxy)
    FAULTS["smtp"] += 1
    t0 = time.monotonic()
    report = process(store, config)
    took = time.monotonic() - t0
    assert report.failed and report.failed[0][0] == oid, report
    _plain(report.failed[0][1])
    assert took < 4 * TIMEOUT + 5, f"{fault}: took {took:.1f} s"
    status, body, error = _outbox_row(store, oid)
    assert (status, body) == ("failed", "On its way, sorry for the wait.") and error
    assert server.messages == [], "a message was delivered although the send failed"

    proxy.clear()
    process(store, config)  # a failed row is not retried behind the owner's back
    assert server.messages == []
    assert requeue(store, oid)  # the owner presses "retry"
    report = process(store, config)
    assert report.sent == [oid], report
    assert len(server.messages) == 1
    assert _outbox_row(store, oid)[0] == "sent"
    c = store.conversation(conv)
    assert c["waiting_since"] is None, "the sent reply did not close the wait"


def test_reply_cut_after_the_final_dot_is_never_sent_twice(outbox):
    """The server took the message but the answer was lost: sending again could deliver a
    second copy, so the row fails with that explanation and is not retried automatically."""
    store, config, proxy, server, conv = outbox
    oid = store.queue_reply(conv, "Ambiguous.")
    server.drop_after(0)
    FAULTS["smtp"] += 1
    report = process(store, config)
    assert report.failed and "delivered" in report.failed[0][1], report
    _plain(report.failed[0][1])
    for _ in range(3):
        process(store, config)
    assert server.dropped == 1 and server.messages == []
    assert _outbox_row(store, oid)[0] == "failed"


def test_slow_smtp_still_sends_once(outbox):
    store, config, proxy, server, conv = outbox
    oid = store.queue_reply(conv, "Slowly but surely.")
    proxy.latency(0.02)
    FAULTS["smtp"] += 1
    report = process(store, config)
    assert report.sent == [oid], report
    assert len(server.messages) == 1


# -- IMAP sync against Dovecot ---------------------------------------------------------------------

def _mail(i: int) -> bytes:
    return (f"From: Customer {i} <c{i}@cust.example>\r\nTo: {OWNER}\r\nSubject: Question {i}\r\n"
            f"Date: Mon, 16 Nov 2026 10:{i % 60:02d}:00 +0000\r\nMessage-ID: <q{i}@cust.example>\r\n\r\n"
            + f"Is order {i} ready? " + "x" * 900 + "\r\n").encode()


@pytest.fixture
def mailbox(tmp_path, imap_account):
    """60 messages in INBOX on Dovecot; the account reaches it through a fault proxy."""
    from owner_tui.sources.imap.sync import sync_account

    imap_account.deliver_files("INBOX", [_mail(i) for i in range(60)])
    store = Store.open(tmp_path / "imap.db", config=Config(owner=OwnerConfig(addresses=(OWNER,))))
    with FaultProxy(imap_account.host, imap_account.port) as proxy:
        account = AccountConfig("shop", "imap", {
            "host": proxy.host, "port": proxy.port, "security": "none", "user": imap_account.user,
            "address": OWNER, "timeout": 1, "batch_size": 10})

        def sync():
            t0 = time.monotonic()
            result = sync_account(store, account, secrets=lambda kind: imap_account.password)
            return result, time.monotonic() - t0

        yield store, proxy, sync
    store.close()


def _imap_error(result) -> str | None:
    return result.error or next((f.error for f in result.folders if f.error), None)


IMAP_FAULTS = {
    "cut-at-greeting": lambda p: p.cut_after(0, "down"),
    "cut-mid-fetch": lambda p: p.cut_after(25_000, "down"),
    "cut-mid-fetch-rst": lambda p: p.cut_after(25_000, "down", rst=True),
    "cut-request": lambda p: p.cut_after(60, "up"),
    "refused": lambda p: p.refuse(),
    "stall": lambda p: p.stall(),
}


@pytest.mark.parametrize("fault", list(IMAP_FAULTS))
def test_imap_sync_survives_faults(mailbox, fault):
    store, proxy, sync = mailbox
    IMAP_FAULTS[fault](proxy)
    FAULTS["imap"] += 1
    result, took = sync()
    error = _imap_error(result)
    assert error, f"{fault}: the sync did not notice"
    _plain(error)
    assert took < 4 * TIMEOUT + 5, f"{fault}: took {took:.1f} s; a timeout did not fire"
    assert "password" not in error, f"{fault}: a network fault reported as a wrong password: {error}"
    stored = [r[0] for r in store.db.execute("SELECT external_id FROM messages")]
    assert len(stored) == len(set(stored)) < 60
    if fault.startswith("cut-mid-fetch"):
        assert stored, "the batches before the cut were not kept"

    proxy.clear()
    result, _ = sync()
    assert result.ok, _imap_error(result)
    ids = [r[0] for r in store.db.execute("SELECT external_id FROM messages")]
    assert sorted(ids) == sorted(f"q{i}@cust.example" for i in range(60)), "lost or doubled"
    errors = [r[0] for r in store.db.execute(
        "SELECT last_error FROM sync_state WHERE last_error IS NOT NULL AND folder != ''")]
    assert errors == [], f"old folder errors kept after a good sync: {errors}"


def test_imap_account_error_is_cleared_by_a_good_sync(mailbox):
    store, proxy, sync = mailbox
    proxy.refuse()
    sync()
    proxy.clear()
    assert sync()[0].ok
    errors = [r[0] for r in store.db.execute("SELECT last_error FROM sync_state WHERE last_error IS NOT NULL")]
    assert errors == [], f"old errors kept after a good sync: {errors}"


def test_imap_slow_link_completes(mailbox):
    store, proxy, sync = mailbox
    proxy.latency(0.01)
    FAULTS["imap"] += 1
    result, _ = sync()
    assert result.ok, _imap_error(result)
    assert store.message_count() == 60


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if any(FAULTS.values()):
        print(f"\nnetwork faults injected: {dict(FAULTS)} (total {sum(FAULTS.values())})")


# -- servers that speak garbage ------------------------------------------------------------------------

class _GarbageServer:
    """Accepts connections and answers with ``reply`` (bytes), then ``then``: "close" or "hang"."""

    def __init__(self, reply: bytes, then: str = "close") -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.reply, self.then = reply, then
        self.conns: list = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            try:
                conn.sendall(self.reply)
                if self.then == "close":
                    conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


GARBAGE = {
    "binary": (bytes(range(256)) * 4, "close"),
    "http-instead": (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "close"),
    "endless-line": (b"* OK " + b"A" * 2_000_000, "hang"),
    "silent": (b"", "hang"),
}


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_imap_garbage_server_gives_a_clear_error(tmp_path, kind):
    from owner_tui.sources.imap.sync import sync_account

    reply, then = GARBAGE[kind]
    server = _GarbageServer(reply, then)
    FAULTS["imap"] += 1
    try:
        with Store.open(tmp_path / "g.db") as store:
            account = AccountConfig("shop", "imap", {"host": "127.0.0.1", "port": server.port, "security": "none",
                                                     "user": "u@example.com", "timeout": 1})
            t0 = time.monotonic()
            result = sync_account(store, account, secrets=lambda kind: "pw")
            took = time.monotonic() - t0
    finally:
        server.close()
    error = _imap_error(result)
    assert error, kind
    _plain(error)
    assert took < 4 * TIMEOUT + 5, f"{kind}: {took:.1f} s"


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_smtp_garbage_server_fails_the_reply_clearly(outbox, kind):
    store, config, proxy, server, conv = outbox
    reply, then = GARBAGE[kind]
    garbage = _GarbageServer(reply, then)
    FAULTS["smtp"] += 1
    try:
        acc = config.accounts[0]
        bad = Config(owner=config.owner, accounts=(AccountConfig(acc.name, acc.kind, {
            **acc.options, "smtp_host": "127.0.0.1", "smtp_port": garbage.port}),))
        oid = store.queue_reply(conv, "Text kept.")
        t0 = time.monotonic()
        report = process(store, bad)
        took = time.monotonic() - t0
    finally:
        garbage.close()
    assert report.failed and report.failed[0][0] == oid, report
    _plain(report.failed[0][1])
    assert took < 4 * TIMEOUT + 5, f"{kind}: {took:.1f} s"
    assert _outbox_row(store, oid)[:2] == ("failed", "Text kept.")
    assert server.messages == []
