"""``owner-tui sync`` as cron runs it: a real process, real Dovecot, reliable exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from owner_tui.accounts.add import add_account
from owner_tui.store import Store
from tests.imap_helpers import account, mail

pytestmark = pytest.mark.servers


def owner_tui(tmp_path, *args, env=None):
    cmd = [sys.executable, "-m", "owner_tui", "--config", str(tmp_path / "config.toml"), "--db",
           str(tmp_path / "db"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, cwd=tmp_path)


def test_sync_once_then_nothing_new(imap_account, tmp_path):
    imap_account.append("INBOX", mail(1))
    add_account(tmp_path / "config.toml", "shop", "imap",
                {**account(imap_account).options, "password_cmd": None, "password_env": "SHOP_PW"})
    env = {"SHOP_PW": imap_account.password}
    res = owner_tui(tmp_path, "sync", env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "shop: INBOX: 1 new; Sent: 0 new"
    t0 = time.monotonic()
    res = owner_tui(tmp_path, "sync", env=env)
    took = time.monotonic() - t0
    assert res.returncode == 0 and res.stdout.strip() == "shop: INBOX: nothing new; Sent: nothing new"
    assert took < 5  # a whole process; the bench measures it properly
    with Store.open(tmp_path / "db") as store:
        assert store.message_count() == 1
    assert "textual" not in res.stderr


def test_one_failing_account_exits_1_and_the_other_still_syncs(imap_account, tmp_path):
    imap_account.append("INBOX", mail(1))
    add_account(tmp_path / "config.toml", "bad", "imap",
                {**account(imap_account).options, "password_cmd": "printf %s wrong-pw-77"})
    add_account(tmp_path / "config.toml", "good", "imap", dict(account(imap_account).options))
    res = owner_tui(tmp_path, "sync")
    assert res.returncode == 1
    assert res.stderr.strip().startswith("bad: login refused for") and "wrong user name or password" in res.stderr
    assert "Traceback" not in res.stderr and "wrong-pw-77" not in res.stderr + res.stdout
    assert res.stdout.strip() == "good: INBOX: 1 new; Sent: 0 new"


def test_config_errors_exit_2(imap_account, tmp_path):
    (tmp_path / "config.toml").write_text("[accounts.x]\nkind = \"imap\"\nhost = 5\n")
    res = owner_tui(tmp_path, "sync")
    assert res.returncode == 2 and "config.toml" in res.stderr
    (tmp_path / "config.toml").write_text("[accounts.x]\nkind = \"imap\"\nuser = \"u\"\n")
    res = owner_tui(tmp_path, "sync")
    assert res.returncode == 2 and "accounts.x.host is missing" in res.stderr
    res = owner_tui(tmp_path, "sync", "-a", "nope")
    assert res.returncode == 2 and "no account named 'nope'" in res.stderr


def test_sync_sends_queued_replies(imap_account, tmp_path):
    from tests.servers.smtp import SmtpServer

    imap_account.append("INBOX", mail(1, to=imap_account.user))
    with SmtpServer(mode="plain", users={imap_account.user: imap_account.password}) as smtp:
        opts = {**account(imap_account).options, "smtp_host": smtp.host, "smtp_port": smtp.port,
                "smtp_security": "none"}
        add_account(tmp_path / "config.toml", "shop", "imap", opts)
        assert owner_tui(tmp_path, "sync").returncode == 0
        with Store.open(tmp_path / "db") as store:
            conv = store.db.execute("SELECT id FROM conversations").fetchone()[0]
            store.queue_reply(conv, "On its way.")
        res = owner_tui(tmp_path, "sync", "--no-send")
        assert res.returncode == 0 and smtp.messages == []
        res = owner_tui(tmp_path, "sync")
        assert res.returncode == 0, res.stderr
        assert "outbox: 1 reply sent" in res.stdout and len(smtp.messages) == 1


def test_a_broken_review_account_does_not_stop_mail(imap_account, tmp_path):
    imap_account.append("INBOX", mail(1))
    (tmp_path / "config.toml").write_text('[accounts.reviews]\nkind = "google"\n')
    add_account(tmp_path / "config.toml", "shop", "imap", dict(account(imap_account).options))
    res = owner_tui(tmp_path, "sync", "--no-send")
    assert res.returncode == 1 and res.stderr.startswith("reviews: ") and "Traceback" not in res.stderr
    assert res.stdout.strip() == "shop: INBOX: 1 new; Sent: 0 new"
