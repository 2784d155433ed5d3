"""``owner-tui sync`` with nothing new takes the quick path (``owner_tui.quick_sync``, issue 18),
and only then: whatever the full command would do differently makes it hand over."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from owner_tui import quick_sync
from owner_tui.accounts.add import add_account
from owner_tui.store import Store
from tests.imap_helpers import account, mail

pytestmark = pytest.mark.servers


def owner_tui(tmp_path, *args, env=None, importtime=False):
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "owner_tui",
           "--config", str(tmp_path / "config.toml"), "--db", str(tmp_path / "db"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, cwd=tmp_path)


def quick(tmp_path, *args) -> int | None:
    return quick_sync.run(["--config", str(tmp_path / "config.toml"), "--db", str(tmp_path / "db"), "sync", *args])


def health(tmp_path) -> tuple[list, list]:
    """What a sync leaves in the store, times left out."""
    with Store.open(tmp_path / "db") as s:
        h = s.db.execute("SELECT account_id, last_attempt IS NOT NULL, last_success IS NOT NULL, syncing_since, "
                         "last_error, error_kind, error_at, temporary, failures FROM account_health").fetchall()
        st = s.db.execute("SELECT account_id, folder, uidvalidity, last_uid, highestmodseq, page_token, last_error, "
                          "last_error_at FROM sync_state ORDER BY folder").fetchall()
    return h, st


@pytest.fixture
def synced(imap_account, tmp_path, monkeypatch):
    imap_account.append("INBOX", mail(1))
    add_account(tmp_path / "config.toml", "shop", "imap",
                {**account(imap_account).options, "password_cmd": None, "password_env": "SHOP_PW"})
    monkeypatch.setenv("SHOP_PW", imap_account.password)
    res = owner_tui(tmp_path, "sync")
    assert res.returncode == 0 and res.stdout.strip() == "shop: INBOX: 1 new; Sent: 0 new", res.stderr
    return imap_account


def test_nothing_new_is_answered_without_click_or_sqlite_utils_and_writes_what_the_full_path_writes(
        synced, tmp_path, capsys):
    res = owner_tui(tmp_path, "sync", importtime=True)
    assert res.returncode == 0 and res.stdout.strip() == "shop: INBOX: nothing new; Sent: nothing new"
    loaded = {line.split("|")[-1].strip() for line in res.stderr.splitlines() if "|" in line}
    assert not loaded & {"click", "sqlite_utils", "imapclient", "owner_tui.store", "owner_tui.config", "email.parser"}
    quick_state = health(tmp_path)
    # The full path on the same nothing-new state leaves the same rows.
    with Store.open(tmp_path / "db") as s:
        s.db.execute("DELETE FROM store_meta WHERE key = 'quick_sync'")
    res = owner_tui(tmp_path, "sync")
    assert res.returncode == 0 and res.stdout.strip() == "shop: INBOX: nothing new; Sent: nothing new"
    assert health(tmp_path) == quick_state
    assert quick(tmp_path, "-q") == 0 and capsys.readouterr().out == ""
    assert quick(tmp_path) == 0 and capsys.readouterr().out == "shop: INBOX: nothing new; Sent: nothing new\n"


def test_an_earlier_error_is_cleared_as_the_full_path_clears_it(synced, tmp_path):
    with Store.open(tmp_path / "db") as s:
        acc = s.db.execute("SELECT id FROM accounts WHERE name = 'shop'").fetchone()[0]
        s.sync_failed(acc, "login refused", "login")
        s.set_sync_error(acc, "INBOX", "login refused")
    assert quick(tmp_path) == 0
    h, st = health(tmp_path)
    assert h[0][4:] == (None, None, None, 0, 0) and all(r[6] is None for r in st)


def test_new_mail_a_flag_a_folder_the_config_or_the_outbox_hand_over(synced, tmp_path):
    assert quick(tmp_path) == 0
    synced.append("INBOX", mail(2))
    assert quick(tmp_path) is None
    res = owner_tui(tmp_path, "sync")
    assert res.stdout.strip() == "shop: INBOX: 1 new; Sent: nothing new"
    assert quick(tmp_path) == 0

    with synced.client() as c:  # another client answers a message: the full path closes the wait
        c.select_folder("INBOX")
        c.add_flags(c.search(["ALL"])[:1], [b"\\Answered"])
    assert quick(tmp_path) is None
    assert owner_tui(tmp_path, "sync").returncode == 0
    assert quick(tmp_path) == 0

    with synced.client() as c:  # a new folder may be the Sent folder now
        c.create_folder("Archive")
    assert quick(tmp_path) is None
    assert owner_tui(tmp_path, "sync").returncode == 0
    assert quick(tmp_path) == 0

    cfg = tmp_path / "config.toml"
    cfg.write_text(cfg.read_text() + "\n")  # any edit: the full command reads the config again
    assert quick(tmp_path) is None
    assert owner_tui(tmp_path, "sync").returncode == 0
    assert quick(tmp_path) == 0

    with Store.open(tmp_path / "db") as s:
        conv = s.db.execute("SELECT id FROM conversations LIMIT 1").fetchone()[0]
        s.queue_reply(conv, "On its way.")
    assert quick(tmp_path) is None  # a reply to send
    assert quick(tmp_path, "--no-send") == 0


def test_other_command_lines_and_secrets_go_to_the_full_command(synced, tmp_path, monkeypatch):
    for args in (["-a", "shop"], ["--verbose"], ["x"]):
        assert quick(tmp_path, *args) is None
    assert quick_sync.run(["status"]) is None
    monkeypatch.setenv("SHOP_PW", "wrong")
    assert quick(tmp_path) is None  # a refused login is the full command's to report
    monkeypatch.delenv("SHOP_PW")
    assert quick(tmp_path) is None
    res = owner_tui(tmp_path, "sync")
    assert res.returncode == 1 and "SHOP_PW" in res.stderr


def test_a_failed_sync_forgets_the_plan(synced, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOP_PW", "wrong")
    assert owner_tui(tmp_path, "sync").returncode == 1
    with Store.open(tmp_path / "db") as s:
        assert s.db.execute("SELECT count(*) FROM store_meta WHERE key = 'quick_sync'").fetchone()[0] == 0


@pytest.mark.parametrize("argv, parsed", [
    (["sync"], (None, None, True, False)),
    (["--config", "c", "--db=d", "sync", "--no-send", "-q"], ("c", "d", False, True)),
    (["--config=c", "sync", "--quiet", "--send"], ("c", None, True, True)),
    (["sync", "-a", "x"], None), (["--db"], None), (["--db", "d"], None), (["--help", "sync"], None),
    (["--db=", "sync"], None), (["export", "sync"], None),
])
def test_parse_argv(argv, parsed):
    assert quick_sync.parse_argv(argv) == parsed


def test_a_closed_stdout_ends_quietly(synced, tmp_path):
    r, w = os.pipe()
    os.close(r)  # `owner-tui sync | head -0`: the reader is gone before the line is written
    try:
        res = subprocess.run([sys.executable, "-m", "owner_tui", "--config", str(tmp_path / "config.toml"),
                              "--db", str(tmp_path / "db"), "sync"], stdout=w, stderr=subprocess.PIPE,
                             text=True, timeout=60, cwd=tmp_path)
    finally:
        os.close(w)
    assert res.returncode == 0 and res.stderr == ""
    assert quick(tmp_path) == 0  # and it was the quick path that answered
