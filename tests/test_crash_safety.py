"""Crash safety: ``kill -9`` at random points of import, sync and send, again and again.

After every kill: ``PRAGMA integrity_check`` is ``ok`` and no foreign key dangles. After the
loop, one run to completion, then: every message is stored exactly once (none lost, none
doubled), every conversation's state equals a full recompute from its messages, and no
reply reached the SMTP server twice (envelopes counted at the server, per Message-ID).

Kills land inside the work, not in interpreter start-up: the test waits for a random amount
of progress (batches committed, requests served, a random share of a calibrated run) and
then a random few milliseconds more.

CI setting: 6-10 kills per scenario (about 36 in all); ``OWNER_TUI_LONG=1``: 200 per scenario.
``SURVIVED`` counts the kills survived, for the suite's report.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest

from owner_tui.config import Config, OwnerConfig
from owner_tui.store import Store
from owner_tui.store.ingest import _recompute
from tests.servers.review_apis import GOOGLE_CLIENT, api, google_review  # noqa: F401

LONG = os.environ.get("OWNER_TUI_LONG") == "1"
ROOT = Path(__file__).resolve().parent.parent
SURVIVED: Counter = Counter()


def _iterations(ci: int) -> int:
    return 200 if LONG else ci


def _spawn(args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env or os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill(proc: subprocess.Popen) -> bool:
    """SIGKILL; True if it was still running (a real crash, not a finished run)."""
    alive = proc.poll() is None
    if alive:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    return alive


def _check_integrity(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def _assert_state_is_a_recompute(store: Store) -> None:
    mode = store.aging.waiting_since
    for row in store.db.execute("SELECT id, waiting_since, last_inbound_at, last_outbound_at, last_message_at, "
                                "message_count FROM conversations").fetchall():
        state = _recompute(store.db, row[0], mode)
        assert (row[1], row[2], row[3], row[4]) == (state.waiting_since, state.last_inbound_at,
                                                      state.last_outbound_at, state.last_message_at), row
        count = store.db.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", [row[0]]).fetchone()[0]
        assert row[5] == count, f"conversation {row[0]}: message_count {row[5]} != {count}"


# -- ingest (the import path's store side) ------------------------------------------------------

def test_kill_during_ingest(tmp_path):
    from tests.gen import OWNER, generate

    db = tmp_path / "ingest.db"
    n = 400
    rnd = random.Random(11)
    kills = 0
    for _ in range(_iterations(10)):
        proc = _spawn(["-m", "tests.crash_worker", "ingest", str(db), str(n), "3"])
        target = rnd.randint(0, n // 7)
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("batch") and int(line.split()[1]) >= target:
                break
        time.sleep(rnd.random() * 0.01)
        kills += _kill(proc)
        _check_integrity(db)
    final = _spawn(["-m", "tests.crash_worker", "ingest", str(db), str(n), "3"])
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    _check_integrity(db)
    expected = [r.external_id for r in generate(n, __import__("tests.conftest").conftest.FROZEN_NOW, seed=3)]
    with Store.open(db, config=Config(owner=OwnerConfig(addresses=(OWNER,)))) as store:
        ids = [r[0] for r in store.db.execute("SELECT external_id FROM messages")]
        assert sorted(ids) == sorted(set(expected)), "messages lost or doubled"
        _assert_state_is_a_recompute(store)
    assert kills >= _iterations(10) // 2, f"only {kills} kills hit a running process"
    SURVIVED["ingest"] += kills


# -- review sync through the CLI ---------------------------------------------------------------------

LOC = "accounts/1/locations/10"


def test_kill_during_review_sync(api, tmp_path):  # noqa: F811
    home = Path(os.environ["OWNER_TUI_HOME"])
    api.reviews[LOC] = [google_review(f"r{i}", create=f"2026-11-{1 + i // 24:02d}T{i % 24:02d}:00:00Z",
                                      comment=f"review {i}", name=f"R{i}",
                                      reply=("Thanks!", f"2026-11-{1 + i // 24:02d}T{i % 24:02d}:30:00Z")
                                      if i % 3 == 0 else None) for i in range(300)]
    opts = api.google_options(qpm=60000, page_size=50)
    (home / "config.toml").write_text("[accounts.gbp]\nkind = \"google\"\n" + "".join(
        f'{k} = "{v}"\n' if isinstance(v, str) else f"{k} = {v}\n" for k, v in opts.items())
        + 'client_secret_env = "OT_G_CS"\nrefresh_token_env = "OT_G_RT"\n')
    env = {**os.environ, "OT_G_CS": GOOGLE_CLIENT[1], "OT_G_RT": "rt-good"}
    db = home / "owner-tui.db"
    rnd = random.Random(5)
    kills = 0
    for i in range(_iterations(6)):
        if i % 3 == 2:  # a "full" re-read now and then, so kills also land late in a long pass
            with sqlite3.connect(db) as conn:
                conn.execute("DELETE FROM sync_state")
        seen = len(api.requests())
        proc = _spawn(["-m", "owner_tui", "sync", "--no-send"], env)
        want = seen + rnd.randint(1, 8)
        deadline = time.monotonic() + 20
        while len(api.requests()) < want and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rnd.random() * 0.02)
        kills += _kill(proc)
        if db.exists():
            _check_integrity(db)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM sync_state")  # the completing run re-reads everything
    done = subprocess.run([sys.executable, "-m", "owner_tui", "sync", "--no-send"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    _check_integrity(db)
    with Store.open(db) as store:
        ids = [r[0] for r in store.db.execute("SELECT external_id FROM messages")]
        assert len(ids) == len(set(ids)) == 300 + 100, (len(ids), len(set(ids)))
        _assert_state_is_a_recompute(store)
    assert kills >= 1
    SURVIVED["sync-reviews"] += kills


# -- outbox send to aiosmtpd (Sent folder on Dovecot as the witness) ----------------------------------

def test_kill_during_send_never_sends_twice(tmp_path, smtp_server, imap_account):
    from owner_tui.config import load_config
    from owner_tui.records import MessageRecord
    from owner_tui.send.outbox_worker import process, requeue

    owner = imap_account.user
    smtp_server.users = {owner: "smtp-pw"}

    def write_config(path: Path, imap_user: str, pw_env: str, smtp_port: int) -> Path:
        path.write_text(f"""
[owner]
addresses = ["{owner}"]
[accounts.shop]
kind = "imap"
host = "{imap_account.host}"
port = {imap_account.port}
security = "none"
user = "{imap_user}"
address = "{owner}"
password_env = "{pw_env}"
smtp_host = "{smtp_server.host}"
smtp_port = {smtp_port}
smtp_security = "none"
smtp_user = "{owner}"
smtp_password_env = "OT_SMTP_PW"
timeout = 10
""")
        return path

    cfg_path = write_config(tmp_path / "config.toml", owner, "OT_PW", smtp_server.port)
    env = {**os.environ, "OT_PW": imap_account.password, "OT_SMTP_PW": "smtp-pw"}
    os.environ.update(OT_PW=imap_account.password, OT_SMTP_PW="smtp-pw")
    config = load_config(cfg_path)
    db = tmp_path / "send.db"
    store = Store.open(db, config=config)
    acc = store.ensure_account("imap", "shop", {"address": owner})
    oids: list[int] = []

    def queue_more(store: Store, n: int) -> None:
        for _ in range(n):
            i = len(oids)
            store.ingest(acc, [MessageRecord(external_id=f"q{i}@cust.example", sender_handle=f"c{i}@cust.example",
                                             subject=f"Question {i}", text="?", sent_at="2026-11-20T10:00:00+00:00")])
            conv = store.db.execute("SELECT conversation_id FROM messages WHERE external_id = ?",
                                    [f"q{i}@cust.example"]).fetchone()[0]
            oids.append(store.queue_reply(conv, f"Answer {i}"))

    queue_more(store, 4)
    store.close()

    # Calibrate on a copy, against a second server: how long does a run that sends them all take?
    import shutil

    from tests.servers.fixtures import _new_account
    from tests.servers.smtp import SmtpServer

    other_imap = _new_account(imap_account.server)  # its own Sent folder: the witness stays clean
    with SmtpServer(mode="plain", users={owner: "smtp-pw"}) as other:
        probe_cfg = write_config(tmp_path / "probe.toml", other_imap.user, "OT_PW2", other.port)
        shutil.copy(db, tmp_path / "probe.db")
        t0 = time.monotonic()
        probe = _spawn(["-m", "tests.crash_worker", "send", str(tmp_path / "probe.db"), str(probe_cfg)],
                       {**env, "OT_PW2": other_imap.password})
        probe.communicate(timeout=60)
        per_run = max(0.2, time.monotonic() - t0)
        assert len(other.messages) == len(oids)

    rnd = random.Random(9)
    kills = 0
    for _ in range(_iterations(8)):
        with Store.open(db, config=config) as s:  # the owner retries whatever failed
            for row in s.outbox("failed"):
                if "cannot be checked" not in (row["error"] or ""):
                    requeue(s, row["id"])
            if len(s.outbox("queued")) < 3:  # keep every run busy, so every kill lands in live work
                queue_more(s, 3)
        proc = _spawn(["-m", "tests.crash_worker", "send", str(db), str(cfg_path)], env)
        time.sleep(rnd.uniform(0.15, 1.0) * per_run)
        kills += _kill(proc)
        _check_integrity(db)

    with Store.open(db, config=config) as s:  # run to completion
        for _ in range(5):
            process(s, config, stale_after=0)
            for row in s.outbox("failed"):
                if "cannot be checked" not in (row["error"] or ""):
                    requeue(s, row["id"])
        rows = {r["id"]: r for r in s.outbox()}
        _assert_state_is_a_recompute(s)
    per_id = Counter(message_from_bytes(m.content)["Message-ID"].strip("<> ") for m in smtp_server.messages)
    twice = {k: v for k, v in per_id.items() if v > 1}
    assert not twice, f"replies sent more than once: {twice}"
    for oid in oids:
        row = rows[oid]
        assert row["body"].startswith("Answer"), "reply text lost"
        assert row["status"] in ("sent", "failed"), row
        if row["status"] == "sent":
            assert per_id[row["message_id"].strip("<>")] == 1, row
        else:  # left for the owner to decide, with the reason
            assert "cannot be checked" in row["error"], row
    assert sum(r["status"] == "sent" for r in rows.values()) >= len(oids) // 2
    SURVIVED["send"] += kills


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if SURVIVED:
        print(f"\ncrash safety: kill -9 survived: {dict(SURVIVED)} (total {sum(SURVIVED.values())})")


# -- import from files, and IMAP sync against Dovecot, through the CLI -----------------------------------

def _mail(i: int, to: str = "shop@example.com") -> bytes:
    return (f"From: Customer {i % 40} <c{i % 40}@cust.example>\r\nTo: {to}\r\nSubject: Question {i // 3}\r\n"
            f"Date: Mon, 16 Nov 2026 {i % 24:02d}:{i % 60:02d}:00 +0000\r\nMessage-ID: <q{i}@cust.example>\r\n"
            + (f"In-Reply-To: <q{i - 1}@cust.example>\r\n" if i % 3 else "")
            + f"\r\nIs order {i} ready? " + "words " * 150 + "\r\n").encode()


def _group_gone(pgid: int, timeout: float = 10.0) -> bool:
    """True once no live process is left in the killed process group (parse workers,
    forkserver). Zombies count as gone: reaping orphans is init's job, not ours."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive = True
                break
        if not alive:
            return True
        time.sleep(0.05)
    return False


def _kill_group(proc: subprocess.Popen) -> bool:
    alive = _kill(proc)
    if not _group_gone(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)  # our own process group: leave nothing behind
        raise AssertionError("helper processes outlived the killed sync/import")
    return alive


def _run_killed(args: list[str], env: dict, per_run: float, rnd: random.Random, db: Path) -> bool:
    """Start the command and kill -9 it at a random point. A run that was already over (it had
    less left to do than the calibrated full run, or the box is busier or idler than then) is
    tried again with the kill earlier, up to three times, so the kills keep landing mid-run
    whatever the load: the test must not depend on the machine's speed."""
    fraction = 1.0
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "owner_tui", *args], cwd=ROOT, env=env,
                                start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(rnd.uniform(0.05, 0.9) * per_run * fraction)
        killed = _kill_group(proc)
        if db.exists():
            _check_integrity(db)
        if killed:
            return True
        fraction /= 4
    return False


def _calibrate(args: list[str], env: dict) -> float:
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "owner_tui", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - t0


def test_kill_during_import(tmp_path):
    maildir = tmp_path / "Archive"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    n = 450
    for i in range(n):
        (maildir / "cur" / f"{1700000000 + i}.M{i}P1.host:2,S").write_bytes(_mail(i).replace(b"\r\n", b"\n"))
    mbox = tmp_path / "old.mbox"
    mbox.write_bytes(b"".join(b"From c@x Mon Nov 16 10:00:00 2026\n" + _mail(10_000 + i).replace(b"\r\n", b"\n")
                              + b"\n" for i in range(150)))
    db = tmp_path / "import.db"
    args = ["--db", str(db), "import", "--batch", "25", str(maildir), str(mbox)]
    env = os.environ.copy()
    per_run = _calibrate(["--db", str(tmp_path / "probe.db"), *args[2:]], env)
    rnd = random.Random(21)
    kills = sum(_run_killed(args, env, per_run, rnd, db) for _ in range(_iterations(6)))
    done = subprocess.run([sys.executable, "-m", "owner_tui", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    _check_integrity(db)
    with Store.open(db) as store:
        ids = [r[0] for r in store.db.execute("SELECT external_id FROM messages")]
        expected = {f"q{i}@cust.example" for i in range(n)} | {f"q{10_000 + i}@cust.example" for i in range(150)}
        assert len(ids) == len(set(ids)) and set(ids) == expected, (len(ids), len(set(ids)), len(expected))
        _assert_state_is_a_recompute(store)
    assert kills >= _iterations(6) // 2
    SURVIVED["import"] += kills


def test_kill_during_imap_sync(tmp_path, imap_account):
    n = 410  # above the parse-pool threshold (400): kills also hit the worker processes
    imap_account.deliver_files("INBOX", [_mail(i, imap_account.user) for i in range(n)])
    imap_account.deliver_files("Sent", [
        (f"From: {imap_account.user}\r\nTo: c{i % 40}@cust.example\r\nSubject: Re: Question {i // 3}\r\n"
         f"Date: Mon, 16 Nov 2026 23:{i % 60:02d}:00 +0000\r\nMessage-ID: <r{i}@shop.example>\r\n"
         f"In-Reply-To: <q{i}@cust.example>\r\n\r\nYes.\r\n").encode() for i in range(0, n, 10)])
    home = Path(os.environ["OWNER_TUI_HOME"])
    (home / "config.toml").write_text(f"""
[owner]
addresses = ["{imap_account.user}"]
[accounts.shop]
kind = "imap"
host = "{imap_account.host}"
port = {imap_account.port}
security = "none"
user = "{imap_account.user}"
password_env = "OT_PW"
batch_size = 30
""")
    env = {**os.environ, "OT_PW": imap_account.password}
    db = home / "owner-tui.db"
    probe_home = tmp_path / "probe"
    probe_home.mkdir()
    (probe_home / "config.toml").write_text((home / "config.toml").read_text())
    per_run = _calibrate(["sync", "--no-send"], {**env, "OWNER_TUI_HOME": str(probe_home)})
    rnd = random.Random(33)
    kills = 0
    for i in range(_iterations(6)):
        if i % 2 == 1 and db.exists():  # start over every other time, so kills land in full passes too
            db.unlink()
            for suffix in ("-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
        kills += _run_killed(["sync", "--no-send"], env, per_run, rnd, db)
    done = subprocess.run([sys.executable, "-m", "owner_tui", "sync", "--no-send"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    _check_integrity(db)
    with Store.open(db) as store:
        ids = [r[0] for r in store.db.execute("SELECT external_id FROM messages")]
        assert len(ids) == len(set(ids)) == n + n // 10, (len(ids), len(set(ids)))
        _assert_state_is_a_recompute(store)
        answered = store.db.execute("SELECT count(*) FROM conversations WHERE waiting_since IS NULL").fetchone()[0]
        assert answered > 0, "the Sent folder's replies closed no wait"
    assert kills >= 2, f"only {kills} kills hit a running sync"
    SURVIVED["sync-imap"] += kills
