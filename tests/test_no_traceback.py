"""No traceback ever reaches the owner (issue 14, items 7, 9, 10, 12, 15).

Every CLI command is run through the real entry point (``python -m owner_tui``, a
subprocess) against a broken config, broken databases (not SQLite, from a newer owner-tui,
read-only, in a read-only folder) and a full disk (a small tmpfs mounted in a private mount
namespace with ``unshare``). Each run must end with at most a few plain lines on stderr, no
traceback, and an exit code a script can rely on (0, 1 or 2).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from owner_tui.store import Store

#: Every leaf command with the arguments it needs (``tui`` is added where the store cannot be
#: opened: it opens it before taking over the terminal).
COMMANDS = [
    ["doctor"],
    ["accounts", "list"],
    ["accounts", "test", "shop"],
    ["accounts", "add", "imap", "shop2", "--host", "127.0.0.1", "--user", "a@b.example",
     "--password-env", "X_PW", "--smtp-host", ""],
    ["accounts", "add", "trustpilot", "tp"],  # stdin closed: the first question aborts in one line
    ["accounts", "add", "yelp", "yelp"],
    ["accounts", "add", "facebook", "fb"],
    ["accounts", "add", "twilio", "tw"],  # stdin closed: the first question aborts in one line
    ["contacts", "find", "ann"],
    ["contacts", "merge", "1", "2"],
    ["contacts", "unmerge", "1"],
    ["digest"],
    ["export"],
    ["export", "--format", "markdown"],
    ["import", "{mail}"],
    ["status"],
    ["status", "--json"],
    ["report"],
    ["report", "--period", "month", "--format", "markdown"],
    ["schedule"],
    ["feedback", "card", "card.svg"],
    ["sync"],
]
#: Commands that never open the database (they write config, print cron lines, draw a card).
STORELESS = ("accounts", "schedule", "feedback")
CONFIG = """[owner]
addresses = ["sam@shop.example"]

[accounts.shop]
kind = "imap"
host = "127.0.0.1"
port = 1
security = "none"
user = "sam@shop.example"
password_env = "X_PW"
timeout = 2
"""
MAIL = b"From: Ann <ann@example.net>\nTo: sam@shop.example\nSubject: Hi\nMessage-ID: <a@x>\n" \
       b"Date: Mon, 23 Nov 2026 10:00:00 +0000\n\nHello\n"


def _all_commands_listed() -> set[str]:
    import click

    from owner_tui.cli.root import cli

    ctx = click.Context(cli)
    names: set[str] = set()

    def walk(group, prefix):
        for n in group.list_commands(ctx):
            c = group.get_command(ctx, n)
            if isinstance(c, click.Group):
                walk(c, prefix + [n])
            else:
                names.add(" ".join(prefix + [n]))

    walk(cli, [])
    return names


def test_the_list_covers_every_command():
    covered = {" ".join(c[:3] if c[:2] == ["accounts", "add"] else c[:2] if c[0] in ("accounts", "contacts", "feedback")
                        else c[:1]) for c in COMMANDS}
    # Interactive, full-screen or serving until stopped: accounts add google (a browser consent),
    # tui, demo, feedback serve (tests/test_feedback_cli.py drives it).
    left_out = {"accounts add google", "tui", "demo", "feedback serve"}
    assert _all_commands_listed() - left_out <= covered


def _run(home: Path, args: list[str], *, prefix: list[str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    mail = home.parent / "mail.eml"  # outside the home: a tmpfs may be mounted over it
    if not mail.exists():
        mail.write_bytes(MAIL)
    argv = [a.replace("{mail}", str(mail)) for a in args]
    env = {**os.environ, "OWNER_TUI_HOME": str(home), "X_PW": "pw", "COLUMNS": "200"}
    env.pop("OWNER_TUI_DEBUG", None)
    cmd = [*(prefix or []), sys.executable, "-m", "owner_tui", *argv]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=str(home))


def _assert_plain(proc: subprocess.CompletedProcess, args) -> None:
    err = proc.stderr
    assert "Traceback" not in err and "Traceback" not in proc.stdout, (args, err[-2000:])
    assert proc.returncode in (0, 1, 2), (args, proc.returncode, err)
    assert len(err.strip().splitlines()) <= 3, (args, err)
    assert "\x1b" not in err


def _scenario_config_is_a_folder(home: Path) -> None:
    (home / "config.toml").mkdir()


def _scenario_config_is_not_toml(home: Path) -> None:
    (home / "config.toml").write_text("[accounts.shop\nkind = \n")


def _scenario_database_is_not_sqlite(home: Path) -> None:
    (home / "config.toml").write_text(CONFIG)
    (home / "owner-tui.db").write_bytes(b"this is a text file, not a database\n" * 200)


def _scenario_database_from_a_newer_version(home: Path) -> None:
    (home / "config.toml").write_text(CONFIG)
    Store.open(home / "owner-tui.db").close()
    db = sqlite3.connect(home / "owner-tui.db")
    db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
               "VALUES ('owner_tui', 'm099_from_the_future', '2030-01-01')")
    db.execute("CREATE TABLE future_things (x)")
    db.commit()
    db.close()


@pytest.mark.parametrize("scenario", [_scenario_config_is_a_folder, _scenario_config_is_not_toml,
                                      _scenario_database_is_not_sqlite, _scenario_database_from_a_newer_version],
                         ids=lambda f: f.__name__.removeprefix("_scenario_"))
def test_every_command_fails_in_one_line(tmp_path, scenario):
    home = tmp_path / "home"
    home.mkdir()
    scenario(home)
    for args in COMMANDS + [["tui"]]:  # the TUI opens the store before taking the terminal
        proc = _run(home, args)
        _assert_plain(proc, args)
        if "config" in scenario.__name__:
            assert proc.returncode == 2, (args, proc.stderr)
            assert "config.toml" in proc.stderr or "config.toml" in proc.stdout, (args, proc.stderr)
        if "newer" in scenario.__name__ and args[0] not in STORELESS:
            out = proc.stderr + proc.stdout
            assert proc.returncode != 0 and "newer owner-tui" in out and "m099_from_the_future" in out, (args, out)
            assert "integrity: ok" not in out


def test_a_newer_database_is_refused_before_anything_is_written(tmp_path):
    _scenario_database_from_a_newer_version(tmp_path)
    before = (tmp_path / "owner-tui.db").read_bytes()
    from owner_tui.store import NewerDatabaseError

    with pytest.raises(NewerDatabaseError, match="m099_from_the_future"):
        Store.open(tmp_path / "owner-tui.db")
    assert (tmp_path / "owner-tui.db").read_bytes() == before


# -- permissions: without root's power over file modes --------------------------------------

def _ordinary() -> list[str]:
    """A command prefix that runs as an ordinary user would: as root, with every capability
    dropped (root otherwise writes to read-only files; file modes then hold for uid 0 too)."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: file modes cannot be tested")
    return ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


@pytest.fixture
def user_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(CONFIG)
    os.chmod(home / "config.toml", 0o600)
    db = home / "owner-tui.db"
    with Store.open(db) as s:
        acc = s.ensure_account("files", "files", {})
        from owner_tui.records import MessageRecord

        s.ingest(acc, [MessageRecord(external_id="r@x", sender_handle="ann@example.net", subject="Hi",
                                     text="hello", sent_at="2026-11-23T10:00:00+00:00")])
    return home, _ordinary()


def test_a_read_only_database_is_refused_and_never_chmodded(user_home):
    home, prefix = user_home
    db = home / "owner-tui.db"
    os.chmod(db, 0o400)
    before = db.read_bytes()
    for args in COMMANDS + [["tui"]]:
        proc = _run(home, args, prefix=prefix)
        _assert_plain(proc, args)
        if args[0] not in STORELESS:
            assert proc.returncode != 0 and "read-only" in proc.stderr + proc.stdout, (args, proc.stderr)
    assert oct(os.stat(db).st_mode & 0o777) == oct(0o400), "owner-tui changed the file's mode"
    assert db.read_bytes() == before


def test_a_read_only_folder_is_not_called_a_broken_database(user_home):
    home, prefix = user_home
    for suffix in ("-wal", "-shm"):
        Path(str(home / "owner-tui.db") + suffix).unlink(missing_ok=True)
    os.chmod(home, 0o500)
    try:
        for args in (["export"], ["doctor"], ["digest"]):
            proc = _run(home, args, prefix=prefix)
            _assert_plain(proc, args)
            out = proc.stderr + proc.stdout
            assert "not an owner-tui database" not in out, (args, out)
            assert str(home) in out and "cannot write in" in out, (args, out)
    finally:
        os.chmod(home, 0o700)


# -- a full disk ---------------------------------------------------------------------------

def _can_mount_tmpfs() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="cannot mount a tmpfs here (no user namespaces)")
def test_every_command_on_a_full_disk(tmp_path):
    """The home on a 3 MB tmpfs, filled to the last block after the database is made."""
    home = tmp_path / "full"
    home.mkdir()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    for n in range(300):
        (mail_dir / f"{n}.eml").write_bytes(MAIL.replace(b"<a@x>", f"<a{n}@x>".encode())
                                            + b"lorem ipsum " * 400 + b"\n")
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "config.toml").write_text(CONFIG)
    Store.open(seed / "owner-tui.db").close()
    script = (f'mount -t tmpfs -o size=3m tmpfs "{home}" && cp -a "{seed}/." "{home}/" && '
              f'(dd if=/dev/zero of="{home}/filler" bs=4k 2>/dev/null; true) && exec "$@"')
    prefix = ["unshare", "-rm", "sh", "-c", script, "sh"]
    saw_full = False
    for args in COMMANDS + [["import", str(mail_dir)]]:
        proc = _run(home, args, prefix=prefix)
        _assert_plain(proc, args)
        out = proc.stderr + proc.stdout
        assert "not an owner-tui database" not in out, (args, out)
        saw_full |= "disk" in out and "full" in out
        if args[0] == "import":
            assert proc.returncode == 1 and "full" in out, (args, out)
    assert saw_full


# -- a closed pipe ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "json", "markdown"])
def test_export_into_a_closed_pipe_ends_quietly(tmp_path, fmt):
    """``owner-tui export | head -1``: head leaves, export stops without a word, exit 0."""
    home = tmp_path / "h"
    home.mkdir()
    with Store.open(home / "owner-tui.db") as s:
        acc = s.ensure_account("files", "files", {})
        from owner_tui.records import MessageRecord

        s.ingest(acc, [MessageRecord(external_id=f"p{n}@x", sender_handle=f"c{n}@example.net",
                                     subject=f"Question {n} " + "x" * 200, text="hello",
                                     sent_at="2026-11-23T10:00:00+00:00") for n in range(3000)])
    env = {**os.environ, "OWNER_TUI_HOME": str(home)}
    proc = subprocess.run(f'"{sys.executable}" -m owner_tui export --format {fmt} | head -c 10 >/dev/null; '
                          'echo "rc=${PIPESTATUS[0]}" >&2', shell=True, executable="/bin/bash",
                          capture_output=True, text=True, env=env, timeout=60)
    assert "rc=0" in proc.stderr and "Broken pipe" not in proc.stderr and "Traceback" not in proc.stderr, \
        proc.stderr
