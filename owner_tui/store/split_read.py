"""One full read in two processes on one snapshot (issue 18: exporting 100k rows).

SQLite runs a query on one core. A read that builds every row of a big view (the CSV export
builds each line in SQL) is split by its caller into two queries whose rows, one after the
other, are the whole read in order (``QueriesMixin.halves``). The second runs in a child
process (``_read_child``, standard library only) and is written to an unnamed temporary file
while this process reads the first, so a second core does half the work.

**One snapshot.** The two parts must see the same store, or a conversation that moved between
them (a sync committing in between) could come out twice or not at all. The parent takes the
write lock (``BEGIN IMMEDIATE``), starts its own read, starts the child and waits for the
child's ``ready`` (its read has started), then lets the lock go: no commit can fall between the
two starts. A writer waits for that window (tens of milliseconds), never for the read itself.
When the lock cannot be had in ``LOCK_TIMEOUT_S`` (a sync's batch is being written), the store
is read-only, or no child can start, ``split_read`` returns None and the caller reads in one
part as before. A child that fails later is not fatal either: the parent reads the second part
itself, on its own connection, still in the same snapshot.

**Why not threads:** two connections in two threads of one process ran the same read slower
than one (0.93 s on one thread, 1.99 s on two: SQLite's allocator statistics take one mutex
for every allocation in the process). Two processes: 0.93 s to 0.64 s.
"""

from __future__ import annotations

import json
import select
import sqlite3
import subprocess
import sys
import tempfile
from codecs import getincrementaldecoder
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from owner_tui.store.queries import _batches, _prefetched, read_only_uri

CHILD = Path(__file__).with_name("_read_child.py")
LOCK_TIMEOUT_S = 2.0
READY_TIMEOUT_S = 3.0  # (the write lock is held while the child starts: ~30 ms)
CHUNK = 1 << 16


@contextmanager
def read_only(path) -> Iterator[sqlite3.Connection]:
    """A plain read-only connection to the store: its reads go through a small page cache,
    not the store connection's file mapping (whose pages count as the process's memory)."""
    conn = sqlite3.connect(read_only_uri(path), uri=True, timeout=30)
    try:
        yield conn
    finally:
        conn.close()


def split_read(path, first: tuple[str, list], second: tuple[str, list], size: int,
               transform) -> Iterator | None:
    """The rows of ``first`` then of ``second`` (each ``(sql, args)`` with one text column,
    no NUL in it), as ``transform(conn, cols, rows)`` of each batch of ``size`` (``conn``: a
    connection in the same snapshot, for follow-up reads). None when the two processes could
    not be set up on one snapshot (see the module's docstring)."""
    if not sys.executable or not CHILD.exists():
        return None
    uri = read_only_uri(path)
    try:
        lock = sqlite3.connect(str(path), timeout=LOCK_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error:
        return None
    reader = proc = spill = None
    try:
        try:
            lock.execute("BEGIN IMMEDIATE")
            # A connection that may only read takes BEGIN IMMEDIATE without the lock (SQLite
            # 3.40): a write, undone with the rest, proves this one holds it.
            version = int(lock.execute("PRAGMA user_version").fetchone()[0])
            lock.execute(f"PRAGMA user_version = {version}")
        except sqlite3.Error:  # read-only, or a writer held on for LOCK_TIMEOUT_S
            return None
        reader = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
        reader.execute("BEGIN")
        reader.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # this read's snapshot
        spill = tempfile.TemporaryFile()  # unnamed: customers' text never lies in /tmp by name
        proc = _start_child(uri, spill)
    except BaseException:
        _close(reader, proc, spill)
        raise
    finally:
        lock.close()  # (rolls back: the write lock ends here, after both reads have started)
    if proc is not None:
        proc = _send_query(proc, second)
    return _read(reader, proc, spill, first, second, size, transform)


def _start_child(uri: str, spill) -> subprocess.Popen | None:
    """The child, started and in its snapshot; None when it did not get there."""
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-S", str(CHILD), str(spill.fileno())],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=(spill.fileno(),))
    except (OSError, ValueError):  # (ValueError: no pass_fds on this platform)
        return None
    try:
        proc.stdin.write(json.dumps({"uri": uri}).encode() + b"\n")
        proc.stdin.flush()
        ready, _w, _x = select.select([proc.stdout], [], [], READY_TIMEOUT_S)
        if ready and proc.stdout.readline() == b"ready\n":
            return proc
    except (OSError, ValueError):  # (select on a pipe is POSIX)
        pass
    _stop(proc)
    return None


def _send_query(proc: subprocess.Popen, second: tuple[str, list]) -> subprocess.Popen | None:
    """Give the started child its query; None if it is gone."""
    try:
        proc.stdin.write(json.dumps({"sql": second[0], "args": list(second[1])}).encode() + b"\n")
        proc.stdin.close()
    except OSError:
        _stop(proc)
        return None
    return proc


def _read(reader, proc, spill, first, second, size: int, transform) -> Iterator:
    try:
        # (the transform runs in the reading thread; running it in this one instead gained
        # nothing: SQL does most of its work in the first step, the sort, before any batch)
        yield from _prefetched(None, *first, size, transform=transform, conn=reader)
        rows = _child_rows(proc)
        if rows is None:  # no child, or it failed: this connection is in the same snapshot
            yield from _batches(reader.execute(*second), size, transform, reader)
            return
        spill.seek(0)
        got = 0
        for batch in _spilled(spill, size):
            got += len(batch)
            yield transform(reader, ["line"], batch)
        if got != rows:
            raise RuntimeError(f"the second part of the read has {got} rows, its process wrote {rows}")
    finally:
        _close(reader, proc, spill)


def _child_rows(proc) -> int | None:
    """How many rows the child wrote, once it is done; None if it failed."""
    if proc is None:
        return None
    out = proc.stdout.read()  # (through the buffer the "ready" line was read from)
    proc.stderr.read()
    if proc.wait() != 0 or not out.startswith(b"done "):
        return None
    return int(out.split()[1])


def _spilled(fh, size: int) -> Iterator[list[tuple[str]]]:
    """The child's NUL-ended rows, as batches of one-column rows."""
    decode = getincrementaldecoder("utf-8")().decode
    rest = ""
    batch: list[tuple[str]] = []
    while chunk := fh.read(CHUNK):
        parts = (rest + decode(chunk)).split("\0")
        rest = parts.pop()
        for line in parts:
            batch.append((line,))
            if len(batch) == size:
                yield batch
                batch = []
    if rest or decode(b"", True):
        raise RuntimeError("the second part of the read ends in the middle of a row")
    if batch:
        yield batch


def _stop(proc) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None and not pipe.closed:
            try:
                pipe.close()
            except OSError:  # (a broken pipe's buffer)
                pass


def _close(reader, proc, spill) -> None:
    if proc is not None:
        _stop(proc)
    if spill is not None:
        spill.close()
    if reader is not None:
        reader.close()
