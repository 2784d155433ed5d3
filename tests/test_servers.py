"""The test servers themselves: a fixture that lies makes every test built on it worthless."""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import socket
import ssl
import threading
import time

import imapclient
import pytest
from imapclient.exceptions import LoginError
from imapclient.imapclient import SENT

from tests.servers.dovecot import DovecotServer
from tests.servers.fixtures import ImapAccount
from tests.servers.proxy import FaultProxy
from tests.servers.smtp import SmtpServer

pytestmark = pytest.mark.servers


def _raw(subject: str, msgid: str) -> bytes:
    return (
        f"From: Ann <ann@example.net>\r\nTo: owner@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{msgid}>\r\nDate: Mon, 02 Sep 2024 10:00:00 +0000\r\n\r\nHello.\r\n"
    ).encode()


# ------------------------------------------------------------------ Dovecot


def test_login_and_wrong_password(imap_account: ImapAccount) -> None:
    with imap_account.client() as c:
        assert b"IMAP4REV1" in c.capabilities()
    bad = imapclient.IMAPClient(imap_account.host, imap_account.port, ssl=False, timeout=5)
    with pytest.raises(LoginError):
        bad.login(imap_account.user, "not-the-password")
    bad.shutdown()


def test_capabilities_the_sync_engine_relies_on(imap_account: ImapAccount) -> None:
    with imap_account.client() as c:
        caps = set(c.capabilities())
    assert {b"IDLE", b"CONDSTORE", b"QRESYNC", b"SPECIAL-USE", b"UIDPLUS", b"MOVE"} <= caps


def test_sent_folder_has_special_use(imap_account: ImapAccount) -> None:
    with imap_account.client() as c:
        folders = {name: flags for flags, _sep, name in c.list_folders()}
        assert b"\\Sent" in folders["Sent"]
        assert c.find_special_folder(SENT) == "Sent"


def test_append_fetch_round_trip(imap_account: ImapAccount) -> None:
    raw = _raw("Round trip", "rt-1@example.net")
    when = dt.datetime(2024, 9, 2, 10, 0, tzinfo=dt.timezone.utc)
    uid = imap_account.append("INBOX", raw, flags=[b"\\Seen"], date=when)
    assert uid == 1
    with imap_account.client() as c:
        c.select_folder("INBOX", readonly=True)
        data = c.fetch([uid], ["RFC822", "FLAGS", "INTERNALDATE"])[uid]
    assert data[b"RFC822"] == raw
    assert b"\\Seen" in data[b"FLAGS"]
    assert data[b"INTERNALDATE"] == when.replace(tzinfo=None)  # IMAPClient gives local naive


def test_accounts_are_isolated(dovecot: DovecotServer, imap_account: ImapAccount) -> None:
    imap_account.append("INBOX", _raw("mine", "iso-1@example.net"))
    other = ImapAccount(dovecot, imap_account.user, imap_account.password)
    with other.client() as c:
        assert c.select_folder("INBOX")[b"EXISTS"] == 1
    from tests.servers.fixtures import _new_account

    fresh = _new_account(dovecot)
    with fresh.client() as c:
        assert c.select_folder("INBOX")[b"EXISTS"] == 0


def test_deliver_files_bulk_and_dates(imap_account: ImapAccount) -> None:
    raws = [_raw(f"bulk {i}", f"bulk-{i}@example.net") for i in range(500)]
    when = dt.datetime(2023, 1, 5, 8, 30, tzinfo=dt.timezone.utc)
    imap_account.deliver_files("Archive/2023", raws, dates=[when] * len(raws))
    with imap_account.client() as c:
        info = c.select_folder("Archive/2023", readonly=True)
        assert info[b"EXISTS"] == 500
        got = c.fetch([1, 500], ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]", "INTERNALDATE"])
    assert got[1][b"BODY[HEADER.FIELDS (SUBJECT)]"].startswith(b"Subject: bulk 0\r\n")
    assert got[500][b"BODY[HEADER.FIELDS (SUBJECT)]"].startswith(b"Subject: bulk 499\r\n")
    assert got[1][b"INTERNALDATE"] == when.replace(tzinfo=None)


def test_reset_uidvalidity_changes_it(imap_account: ImapAccount) -> None:
    for i in range(3):
        imap_account.append("INBOX", _raw(f"m{i}", f"uv-{i}@example.net"))
    with imap_account.client() as c:
        before = c.select_folder("INBOX")[b"UIDVALIDITY"]
    imap_account.reset_uidvalidity("INBOX")
    with imap_account.client() as c:
        info = c.select_folder("INBOX")
        assert info[b"UIDVALIDITY"] > before
        assert info[b"EXISTS"] == 3  # the messages survive, only their UID state is new
        assert sorted(c.search()) == [1, 2, 3]


def test_new_user_can_log_in_at_once_on_running_server(dovecot: DovecotServer) -> None:
    # Dovecot re-reads a changed passwd-file at most once a second; per-user files avoid it.
    for i in range(3):
        dovecot.add_user(f"burst{i}-{time.monotonic_ns()}@example.com", "pw")
        user = list(dovecot.users)[-1]
        dovecot.client(user).logout()


def test_tls_server_trusts_only_its_cert(imap_tls_account: ImapAccount) -> None:
    with imap_tls_account.client(tls=True) as c:  # implicit TLS on tls_port
        assert c.select_folder("INBOX")[b"EXISTS"] == 0
    plain = imapclient.IMAPClient(imap_tls_account.host, imap_tls_account.port, ssl=False, timeout=5)
    plain.starttls(imap_tls_account.server.cert.client_context())
    plain.login(imap_tls_account.user, imap_tls_account.password)
    plain.logout()
    with pytest.raises(ssl.SSLCertVerificationError):
        imapclient.IMAPClient(imap_tls_account.host, imap_tls_account.tls_port, ssl=True,
                              ssl_context=ssl.create_default_context(), timeout=5)


def test_stop_and_start_keep_mail(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.servers.fixtures import require_dovecot

    require_dovecot()
    with DovecotServer(users={"a@example.com": "pw"}) as server:
        server.append("Sent", _raw("kept", "keep-1@example.net"))
        server.stop()
        assert not server.running
        server.start()
        with server.client() as c:
            assert c.select_folder("Sent")[b"EXISTS"] == 1


def test_missing_dovecot_skips_locally_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.servers import fixtures

    monkeypatch.setattr(fixtures, "dovecot_binary", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install dovecot-imapd"):
        fixtures.require_dovecot()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install dovecot-imapd"):
        fixtures.require_dovecot()


# ------------------------------------------------------------------ aiosmtpd


def test_smtp_server_records_envelope_and_bytes(smtp_server: SmtpServer) -> None:
    raw = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: x\r\n\r\n.leading dot\r\nend\r\n"
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as c:
        c.login("owner@example.com", "secret")
        c.sendmail("a@example.com", ["b@example.net", "c@example.net"], raw)
    [got] = smtp_server.messages
    assert (got.mail_from, got.rcpt_tos, got.login, got.tls) == (
        "a@example.com", ("b@example.net", "c@example.net"), "owner@example.com", False)
    assert got.content == raw  # dot-stuffing undone, bytes exact


def test_smtp_server_failure_injection(smtp_server: SmtpServer) -> None:
    smtp_server.fail_data("452 4.3.1 Out of memory", times=2)
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as c:
        for _ in range(2):
            with pytest.raises(smtplib.SMTPDataError) as err:
                c.sendmail("a@example.com", ["b@example.net"], b"Subject: x\r\n\r\nx\r\n")
            assert err.value.smtp_code == 452
        c.sendmail("a@example.com", ["b@example.net"], b"Subject: x\r\n\r\nx\r\n")
    assert len(smtp_server.messages) == 1
    smtp_server.drop_after(1)
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as c:
        c.sendmail("a@example.com", ["b@example.net"], b"Subject: y\r\n\r\ny\r\n")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            c.sendmail("a@example.com", ["b@example.net"], b"Subject: z\r\n\r\nz\r\n")
    assert len(smtp_server.messages) == 2 and smtp_server.dropped == 1


def test_smtp_starttls_is_required_before_mail(smtp_starttls_server: SmtpServer) -> None:
    with smtplib.SMTP(smtp_starttls_server.host, smtp_starttls_server.port, timeout=5) as c:
        code, _ = c.mail("a@example.com")
        assert code == 530
    assert smtp_starttls_server.messages == []


# ------------------------------------------------------------------ fault proxy


class _Echo:
    """A loopback echo server, so proxy faults are checked on bytes we fully control."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)


def _roundtrip(port: int, payload: bytes, timeout: float = 2) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_proxy_forwards_faithfully_and_counts() -> None:
    echo = _Echo()
    with FaultProxy("127.0.0.1", echo.port) as proxy:
        payload = bytes(range(256)) * 1000
        assert _roundtrip(proxy.port, payload) == payload
        assert proxy.bytes_up == proxy.bytes_down == len(payload)
        assert proxy.connections == 1


def test_proxy_cuts_after_exact_byte_count() -> None:
    echo = _Echo()
    with FaultProxy("127.0.0.1", echo.port) as proxy:
        proxy.cut_after(1000, direction="down")
        assert _roundtrip(proxy.port, b"x" * 5000) == b"x" * 1000


def test_proxy_stall_then_resume_and_latency() -> None:
    echo = _Echo()
    with FaultProxy("127.0.0.1", echo.port) as proxy:
        proxy.stall()
        with pytest.raises(TimeoutError):
            _roundtrip(proxy.port, b"ping", timeout=0.3)
        proxy.resume()
        proxy.latency(0.2)
        start = time.monotonic()
        assert _roundtrip(proxy.port, b"ping") == b"ping"
        assert time.monotonic() - start >= 0.4  # one delay each way


def test_no_dovecot_outlives_a_killed_test_process() -> None:
    """A crashed or SIGKILLed pytest must not leave Dovecot running on a shared machine."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from tests.servers.fixtures import require_dovecot
    from tests.servers.process import group_alive

    require_dovecot()
    script = (
        "import os, sys\n"
        "from tests.servers.dovecot import DovecotServer\n"
        "s = DovecotServer().start()\n"
        "print(s._proc.pid, s.root, flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=Path(__file__).parent.parent, timeout=30).stdout
    pgid, root = out.split()
    try:
        deadline = time.monotonic() + 10
        while group_alive(int(pgid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not group_alive(int(pgid))
    finally:
        shutil.rmtree(root, ignore_errors=True)


# -- as an ordinary user (issue 14, item 14) -----------------------------------------------------

def test_config_for_an_ordinary_user_names_its_own_internal_group(monkeypatch, tmp_path):
    """Not root: every Dovecot process runs as us, and the internal group must be ours too,
    or the master's chown of its sockets fails ("chown(.../stats-writer) failed: Operation
    not permitted") and no IMAP test can run. CI also runs the suite once as a created user
    (.ci/run)."""
    import grp
    import pwd

    from tests.servers import dovecot_conf

    me = pwd.getpwuid(os.getuid())
    monkeypatch.setattr(dovecot_conf.os, "geteuid", lambda: 1000)
    text = dovecot_conf.render_config(tmp_path, 1143)
    assert f"default_internal_user = {me.pw_name}" in text
    assert f"default_internal_group = {grp.getgrgid(os.getgid()).gr_name}" in text


def test_a_dovecot_that_cannot_start_leaves_no_folder_behind(monkeypatch):
    from tests.servers import dovecot as dovecot_mod

    monkeypatch.setattr(dovecot_mod, "dovecot_binary", lambda: "/bin/false")
    server = dovecot_mod.DovecotServer()
    assert server.root.exists()
    with pytest.raises(dovecot_mod.DovecotError):
        server.start(timeout=5)
    assert not server.root.exists(), "a failed start left its /tmp/otdc-* folder"
