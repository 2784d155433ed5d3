"""Concurrent writers: ``owner-tui sync`` from cron while the TUI edits state.

Real processes share one database file: ``owner-tui sync`` and ``owner-tui import`` run
again and again (each run a fresh process, as cron starts it), pulling reviews that keep
arriving at the local Google contract server and mail that keeps arriving in a Maildir; and
a TUI-like process (``tests/crash_worker.py tui``) that marks
done, snoozes, reopens, undoes, saves drafts and reads pages as fast as it can. Afterwards:

* zero "database is locked" (or any SQLite error) in either process, every sync exited 0;
* no lost update: every state change the TUI process made is one ``events`` row (and every
  successful undo one undone row), every draft reads back as last saved;
* nothing lost or doubled: one message per review the server holds, one per mail delivered.

CI setting: about 10 s of concurrent writing; ``OWNER_TUI_LONG=1``: 3 minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from owner_tui.store import Store
from tests.servers.review_apis import GOOGLE_CLIENT, api, google_review  # noqa: F401

LOC = "accounts/1/locations/10"
LONG = os.environ.get("OWNER_TUI_LONG") == "1"
SECONDS = 180.0 if LONG else 10.0
ROOT = Path(__file__).resolve().parent.parent


def _config(api) -> Path:  # noqa: F811
    home = Path(os.environ["OWNER_TUI_HOME"])
    opts = api.google_options(qpm=60000)
    lines = ["[accounts.gbp]", 'kind = "google"', *(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}"
                                                   for k, v in opts.items()),
             'client_secret_env = "OT_G_CS"', 'refresh_token_env = "OT_G_RT"']
    path = home / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _sync(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "owner_tui", "sync", "--no-send"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def _import(env: dict[str, str], maildir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "owner_tui", "import", "--batch", "20", str(maildir)], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def _deliver(maildir: Path, i: int) -> None:
    """One customer mail into the Maildir the cron import reads (tmp/ then rename, as MDAs do)."""
    body = (f"From: Customer {i % 30} <c{i % 30}@cust.example>\nTo: shop@example.com\nSubject: Order {i // 2}\n"
            f"Date: Mon, 16 Nov 2026 10:{i % 60:02d}:00 +0000\nMessage-ID: <o{i}@cust.example>\n"
            + (f"In-Reply-To: <o{i - 1}@cust.example>\n" if i % 2 else "") + f"\nWhere is order {i}?\n")
    tmp = maildir / "tmp" / f"{i}.otc"
    tmp.write_text(body)
    tmp.rename(maildir / "new" / f"{i}.otc")


def test_cron_sync_while_the_tui_writes(api, tmp_path):  # noqa: F811
    _config(api)
    env = {**os.environ, "OT_G_CS": GOOGLE_CLIENT[1], "OT_G_RT": "rt-good"}
    db = Path(os.environ["OWNER_TUI_HOME"]) / "owner-tui.db"
    base = datetime(2026, 11, 1, tzinfo=UTC)
    added = 0

    def add_reviews(n: int) -> None:
        nonlocal added
        with api.lock:
            for _ in range(n):
                t = (base + timedelta(minutes=added)).strftime("%Y-%m-%dT%H:%M:%SZ")
                api.reviews[LOC].append(google_review(f"r{added}", create=t, comment=f"review {added}",
                                                      name=f"Reviewer {added}", stars="TWO"))
                added += 1

    add_reviews(40)
    first = _sync(env)
    assert first.returncode == 0, first.stderr

    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    delivered = 0

    stop = threading.Event()
    runs: list[subprocess.CompletedProcess] = []

    def cron() -> None:  # what a crontab would run: sync, and an import of a local Maildir
        while not stop.is_set():
            runs.append(_sync(env))
            runs.append(_import(env, maildir))

    def arrivals() -> None:
        nonlocal delivered
        while not stop.is_set():
            add_reviews(3)
            _deliver(maildir, delivered)
            delivered += 1
            time.sleep(0.05)

    out = tmp_path / "tui.json"
    threads = [threading.Thread(target=cron), threading.Thread(target=arrivals)]
    started = time.monotonic()
    for t in threads:
        t.start()
    try:
        tui = subprocess.run([sys.executable, "-m", "tests.crash_worker", "tui", str(db), str(SECONDS), "7", str(out)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=SECONDS + 120)
    finally:
        stop.set()
        for t in threads:
            t.join(150)
    elapsed = time.monotonic() - started
    assert tui.returncode == 0, tui.stderr
    final = _sync(env)  # the reviews that arrived after the last cron run
    assert final.returncode == 0, final.stderr
    final_import = _import(env, maildir)
    assert final_import.returncode == 0, final_import.stderr

    report = json.loads(out.read_text())
    counts = report["counts"]
    # The two writers really overlapped, and both did real work.
    assert len(runs) >= 4, f"only {len(runs)} cron runs in {elapsed:.0f} s"
    assert sum(counts[k] for k in ("done", "snooze", "reopen", "draft")) >= 100, counts

    # Zero "database is locked", zero SQLite errors, every sync a success.
    assert report["errors"] == [], report["errors"][:5]
    for run in [first, *runs, final, final_import]:
        assert run.returncode == 0, run.stderr
        assert "locked" not in (run.stdout + run.stderr).lower(), run.stderr

    with Store.open(db) as store:
        kinds = dict(store.db.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())
        undone = store.db.execute("SELECT count(*) FROM events WHERE undone = 1").fetchone()[0]
        for kind in ("done", "snooze", "reopen"):
            assert kinds.get(kind, 0) == counts[kind], (kind, kinds, counts)
        assert undone == counts["undo"], (undone, counts)
        for cid, body in report["drafts"].items():
            assert store.draft(int(cid)) == body, f"draft of conversation {cid} lost"
        # Nothing lost or doubled: one inbound message per review on the server.
        ids = [r[0] for r in store.db.execute(
            "SELECT external_id FROM messages m JOIN accounts a ON a.id = m.account_id WHERE a.kind = 'google'")]
        assert len(ids) == len(set(ids)) == added, (len(ids), len(set(ids)), added)
        mail = [r[0] for r in store.db.execute(
            "SELECT external_id FROM messages m JOIN accounts a ON a.id = m.account_id WHERE a.kind = 'files'")]
        assert sorted(mail) == sorted(f"o{i}@cust.example" for i in range(delivered)), "imported mail lost or doubled"
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    print(f"\nconcurrency: {elapsed:.1f} s of concurrent writing, {len(runs)} cron runs (sync + import), "
          f"{sum(counts.values())} TUI operations, max wait {report['max_wait'] * 1000:.0f} ms, {added} reviews, "
          f"{delivered} mails")
