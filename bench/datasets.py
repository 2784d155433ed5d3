"""Generated data on disk: filled stores and Maildirs, cached under ``bench/out/`` (gitignored).

Stores are filled through ``store.ingest`` in batches of 5,000 records per account: the same
code path as sync and import, so every derived column (waiting_since, status, excerpt,
thread_refs, FTS rows) is the real thing, not a re-implementation that could drift. At about
5-7k records/s on 2 cores the 1M store takes a few minutes once; it is then cached, keyed on
a digest of what the generator makes and on the schema, and rebuilt only when either changes (or with
``python -m bench --rebuild``). Builds take a file lock, so two bench processes never build
the same store at once.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from . import generate as gen

OUT = Path(__file__).resolve().parent / "out"
BATCH = 5000
#: Bump when what ``fill_store`` puts in a store changes (edits elsewhere in this module do
#: not invalidate the cache).
FILL_VERSION = 1


@functools.lru_cache(maxsize=1)
def cache_key() -> str:
    """Changes when the generated data or the schema would, so cached data is rebuilt then.

    The generator is keyed on what it makes (a digest of its first 2,000 messages, records
    and files), not on its source text, so a cosmetic edit does not cost a 1M rebuild.
    """
    from owner_tui.store import schema

    h = hashlib.sha256(str(FILL_VERSION).encode())
    h.update(Path(schema.__file__).read_bytes())
    for i, m in enumerate(gen.generate(messages=2000, seed=1)):
        h.update(repr(gen.to_record(m)).encode())
        if i % 10 == 0 and m.channel == "email":
            h.update(gen.to_bytes(m))
    return h.hexdigest()[:10]


@contextmanager
def _locked(name: str) -> Iterator[None]:
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def fill_store(path: Path, *, messages: int | None = None, conversations: int | None = None, seed: int = 1,
               batch: int = BATCH, progress: Callable[[int], None] | None = None) -> dict:
    """Fill a new store at ``path``; returns counts and the ingest rate."""
    from owner_tui.store import Store

    t0 = time.perf_counter()
    n = 0
    with Store.open(path, clock=lambda: gen.ANCHOR) as store, _bulk(store):
        ids = {"email": store.ensure_account("imap", "shop", {"user": gen.OWNER, "host": "127.0.0.1"})}
        for ch in gen.REVIEW_CHANNELS:
            ids[ch] = store.ensure_account(ch, "harbour-bakery", {})
        for channel, recs in _produced(messages, conversations, seed, batch):
            store.ingest(ids[channel], recs, now=gen.ANCHOR)
            n += len(recs)
            if progress:
                progress(n)
        ingest_s = time.perf_counter() - t0
        _owner_actions(store)
        db = store.db
        stats = {
            "messages": db.execute("SELECT count(*) FROM messages").fetchone()[0],
            "conversations": db.execute("SELECT count(*) FROM conversations").fetchone()[0],
            "awaiting": db.execute("SELECT count(*) FROM conversations WHERE status = 'open' "
                                   "AND waiting_since IS NOT NULL").fetchone()[0],
            "ingest_seconds": round(ingest_s, 2),
            "ingest_rate": round(n / ingest_s) if ingest_s else 0,
        }
    return stats


def _produce(q, messages, conversations, seed, batch) -> None:
    pending: dict[str, list] = defaultdict(list)
    for m in gen.generate(messages=messages, conversations=conversations, seed=seed):
        recs = pending[m.channel]
        recs.append(gen.to_record(m))
        if len(recs) >= batch:
            q.put((m.channel, recs))
            pending[m.channel] = []
    for ch, recs in pending.items():
        if recs:
            q.put((ch, recs))
    q.put(None)


def _produced(messages, conversations, seed, batch) -> Iterator[tuple[str, list]]:
    """Batches of records per channel, generated in a second process while this one ingests
    (generation is about a third of the work; the machine has two cores)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    q = ctx.Queue(maxsize=4)
    proc = ctx.Process(target=_produce, args=(q, messages, conversations, seed, batch), daemon=True)
    proc.start()
    try:
        while (item := q.get()) is not None:
            yield item
    finally:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()


@contextmanager
def _bulk(store) -> Iterator[None]:
    """Build-time settings that change speed, never content: no fsync, a big page cache, and
    the FTS index built in one pass at the end (FTS5 'rebuild' reads the external content
    table, so the index is exactly what the per-row trigger would have made)."""
    db = store.db
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -262144")  # 256 MiB
    trigger = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_ai'").fetchone()
    if trigger:
        db.execute("DROP TRIGGER messages_ai")
    # Each ingest batch indexes its own rows (schema.m008_fts_in_batches): not here, the
    # rebuild below does it once.
    store._index_pending = lambda: db.execute("DELETE FROM fts_pending")
    try:
        yield
    finally:
        del store._index_pending
        if trigger:
            with store.write():
                db.execute("INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')")
                db.execute(trigger[0])
        db.execute("PRAGMA synchronous = NORMAL")


def _owner_actions(store) -> None:
    """What an owner has done over the years: closed some old waits without replying, snoozed
    a few. Through the store's own actions, so events rows exist as they would."""
    old = gen.to_iso(gen.ANCHOR - timedelta(days=30))
    until = gen.ANCHOR + timedelta(days=3)
    rows = store.db.execute("SELECT id, waiting_since < ? FROM conversations WHERE status = 'open' "
                            "AND waiting_since IS NOT NULL ORDER BY id", [old]).fetchall()
    with store.write():
        for cid, is_old in rows:
            if is_old and cid % 5 == 0:
                store.mark_done(cid)
            elif cid % 97 == 0:
                store.snooze(cid, until)


def store_name(*, messages: int | None = None, conversations: int | None = None) -> str:
    tag = f"m{gen.human(messages)}" if messages is not None else f"c{gen.human(conversations)}"
    return f"store-{tag}"


def cached_store(*, messages: int | None = None, conversations: int | None = None, rebuild: bool = False,
                 log: Callable[[str], None] = lambda s: None) -> Path:
    """A filled store (read-only use: copy it first if you write), built once per cache key."""
    name = store_name(messages=messages, conversations=conversations)
    path = OUT / f"{name}-{cache_key()}.db"
    with _locked(name):
        if path.exists() and not rebuild:
            return path
        for old in OUT.glob(f"{name}-*.db*"):
            old.unlink()
        tmp = OUT / f"{name}.building.db"
        for p in OUT.glob(f"{name}.building.db*"):
            p.unlink()
        log(f"building {name} (cached in {OUT})...")
        stats = fill_store(tmp, messages=messages, conversations=conversations)
        log(f"  {stats}")
        (OUT / f"{name}.stats").write_text(repr(stats))
        tmp.rename(path)
    return path


def store_stats(path: Path) -> dict:
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        q = lambda sql: conn.execute(sql).fetchone()[0]
        return {"messages": q("SELECT count(*) FROM messages"),
                "conversations": q("SELECT count(*) FROM conversations"),
                "awaiting": q("SELECT count(*) FROM conversations WHERE status = 'open' AND waiting_since IS NOT NULL"),
                "bytes": path.stat().st_size}
    finally:
        conn.close()


def email_messages(n: int, seed: int = 1) -> Iterator[gen.Mail]:
    """The first ``n`` emails of the generated stream (reviews left out: they are not mail)."""
    k = 0
    for m in gen.generate(messages=2 * n + 100, seed=seed):
        if m.channel == "email":
            yield m
            k += 1
            if k >= n:
                return


def write_maildir(root: Path, n: int, seed: int = 1) -> dict:
    """``n`` files in a Maildir++ tree: INBOX at ``root``, the Sent folder at ``root/.Sent``.

    Most files are in ``cur/`` flagged seen (``:2,S``), the newest ones unread in ``new/``; the
    file mtime is the message date, which Dovecot takes as INTERNALDATE.
    """
    stats = {"files": 0, "inbox": 0, "sent": 0, "bytes": 0}
    for folder in (root, root / ".Sent"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    (root / ".Sent" / "maildirfolder").touch()
    recent = gen.ANCHOR - timedelta(days=7)
    for i, m in enumerate(email_messages(n, seed)):
        raw = gen.to_bytes(m)
        sent = m.folder == "Sent"
        folder = root / ".Sent" if sent else root
        ts = int(m.date.timestamp())
        base = f"{ts}.M{i:07d}P{seed}.bench,S={len(raw)}"
        path = folder / "new" / base if (m.date > recent and not sent) else folder / "cur" / f"{base}:2,S"
        path.write_bytes(raw)
        os.utime(path, (ts, ts))
        stats["files"] += 1
        stats["sent" if sent else "inbox"] += 1
        stats["bytes"] += len(raw)
    return stats


def cached_maildir(n: int, rebuild: bool = False) -> Path:
    """A generated Maildir of ``n`` files (do not write into it; copy it first)."""
    name = f"maildir-{gen.human(n)}"
    path = OUT / f"{name}-{cache_key()}"
    with _locked(name):
        done = path.with_suffix(".complete")  # beside, not inside: importers would see it
        if done.exists() and not rebuild:
            return path
        for old in OUT.glob(f"{name}-*"):
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
        done.write_text(repr(write_maildir(path, n)))
    return path
