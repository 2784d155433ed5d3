"""Helper processes for the crash-safety and concurrency tests (run as ``python -m tests.crash_worker``).

Modes:

``tui DB SECONDS SEED OUT``
    Do what the TUI's writer thread does (done, snooze, reopen, undo, save a draft), as fast
    as it can, for SECONDS, on the conversations in DB; write a JSON account of every change
    it made (and every error it met) to OUT. Used against a concurrent ``owner-tui sync``.

``ingest DB COUNT SEED``
    Store COUNT generated records in small batches, printing ``batch N`` after each commit, so
    a test can ``kill -9`` it at a random moment and compare with what it had committed.

``send DB CONFIG``
    Run the real outbox worker once (``process``) with the config's senders, printing
    ``sent N`` lines; killed at random moments by the crash test.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
from datetime import timedelta
from pathlib import Path


def tui(db: str, seconds: float, seed: int, out: str) -> None:
    from owner_tui.store import Store

    rnd = random.Random(seed)
    store = Store.open(Path(db))
    counts = {"done": 0, "snooze": 0, "reopen": 0, "undo": 0, "undo_none": 0, "draft": 0, "reads": 0}
    drafts: dict[int, str] = {}
    errors: list[str] = []
    waits: list[float] = []
    end = time.monotonic() + seconds
    convs: list[int] = []
    refreshed = 0.0
    while time.monotonic() < end:
        if time.monotonic() - refreshed > 0.5 or not convs:
            convs = [r[0] for r in store.db.execute("SELECT id FROM conversations")]
            refreshed = time.monotonic()
            if not convs:
                time.sleep(0.05)
                continue
        cid = rnd.choice(convs)
        action = rnd.choice(("done", "snooze", "reopen", "undo", "draft", "draft", "read"))
        t0 = time.monotonic()
        try:
            if action == "done":
                store.mark_done(cid)
            elif action == "snooze":
                store.snooze(cid, store.now() + timedelta(hours=rnd.randint(1, 48)))
            elif action == "reopen":
                store.reopen(cid)
            elif action == "undo":
                action = "undo" if store.undo() is not None else "undo_none"
            elif action == "draft":
                body = f"draft {cid} {rnd.random()}"
                store.save_draft(cid, body)
                drafts[cid] = body
            else:
                from owner_tui.store.queries import ListFilter

                store.page(ListFilter(), 0, 50)
                action = "reads"
            counts[action] += 1
        except sqlite3.Error as exc:  # "database is locked" would land here
            errors.append(f"{action}: {type(exc).__name__}: {exc}")
        waits.append(time.monotonic() - t0)
    store.close()
    waits.sort()
    Path(out).write_text(json.dumps({
        "counts": counts, "drafts": {str(k): v for k, v in drafts.items()}, "errors": errors,
        "max_wait": waits[-1] if waits else 0.0, "p99_wait": waits[int(len(waits) * 0.99)] if waits else 0.0,
    }))


def ingest(db: str, count: int, seed: int) -> None:
    from datetime import datetime, timezone

    from owner_tui.config import Config, OwnerConfig
    from owner_tui.store import Store
    from tests.gen import OWNER, generate

    now = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
    store = Store.open(Path(db), config=Config(owner=OwnerConfig(addresses=(OWNER,))))
    acc = store.ensure_account("imap", "gen", {"address": OWNER})
    recs = generate(count, now, seed=seed)
    for i in range(0, len(recs), 7):
        store.ingest(acc, recs[i:i + 7])
        print(f"batch {i // 7}", flush=True)
    store.close()


def send(db: str, config_path: str) -> None:
    from owner_tui.config import load_config
    from owner_tui.send.outbox_worker import process
    from owner_tui.store import Store

    config = load_config(Path(config_path))
    store = Store.open(Path(db), config=config)
    report = process(store, config, stale_after=0)
    for line in report.lines():
        print(line, flush=True)
    store.close()


def main(argv: list[str]) -> None:
    mode, *args = argv
    if mode == "tui":
        tui(args[0], float(args[1]), int(args[2]), args[3])
    elif mode == "ingest":
        ingest(args[0], int(args[1]), int(args[2]))
    elif mode == "send":
        send(args[0], args[1])
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
