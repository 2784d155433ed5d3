"""Parsing jobs for the files source, in this process or in a small process pool.

A job is one message: a file to read (Maildir entry, .eml) or bytes already read (an mbox
entry). Workers read and parse, so a big import uses a second core for the parsing while the
importer's process writes to SQLite.

Measured on the 2-core dev box (20,000-file generated Maildir, ``owner-tui import``): with a
core free the pool gave 1,770 vs 1,360 msg/s whole-process (scan alone 4,580 vs 2,730); with
the box loaded by other work (load average 3-5) it lost 10-15 % (1,150-1,280 vs
1,390-1,460) to pickling and IPC. ``auto_workers`` therefore asks for a pool only when the
import is big and a core is idle.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from owner_tui.mail.parse import parse_message
from owner_tui.records import MessageRecord

MAX_FILE = 200 * 1024 * 1024  # one message file larger than this is skipped, not read
POOL_MIN = 2000  # messages from which a worker pool pays for its start-up (~0.2 s)
BATCH = 100  # messages per task sent to a worker
BOM = b"\xef\xbb\xbf"

Result = MessageRecord | tuple[str, str]  # a record, or (path, reason) for a skipped file


def auto_workers(total: int | None) -> int:
    """2 for a big import on a machine with a core to spare, else 1."""
    cores = os.cpu_count() or 1
    try:
        idle = os.getloadavg()[0] <= cores - 1
    except OSError:
        idle = False
    return 2 if (total or 0) >= POOL_MIN and cores >= 2 and idle else 1


def mtime(st: os.stat_result) -> str | None:
    try:
        return datetime.fromtimestamp(st.st_mtime, UTC).replace(microsecond=0).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


@dataclass(frozen=True)
class Job:
    """One message to parse: a file to read (Maildir entry, .eml) or bytes (mbox entry)."""

    folder: str | None
    extra: dict
    keep_raw_limit: int
    path: str | None = None
    raw: bytes | None = None
    fallback: str | None = None
    #: When the message reached the mailbox, where the format records it (a Maildir file
    #: name's delivery time, an mbox From line); a plain file's mtime is not trusted for it.
    arrived: str | None = None
    #: Another client marked it answered (Maildir flag R).
    answered: bool = False


def run(job: Job) -> Result:
    """Parse one job; a file that cannot be read comes back as ``(path, reason)``."""
    data, fallback = job.raw, job.fallback
    if job.path is not None:
        try:
            st = os.stat(job.path)
            if st.st_size > MAX_FILE:
                return job.path, f"message file over {MAX_FILE // (1024 * 1024)} MB"
            with open(job.path, "rb") as f:
                data = f.read()
        except OSError as exc:
            return job.path, f"cannot read: {exc.strerror or exc}"
        if not data.strip():
            return job.path, "empty file"
        data, fallback = data.removeprefix(BOM), mtime(st)
    rec = parse_message(data or b"", folder=job.folder, keep_raw_limit=job.keep_raw_limit,
                        fallback_time=fallback, arrived_at=job.arrived)
    answered = job.answered or "a" in rec.headers.get("x-status", "").lower()  # mbox (mutt): X-Status: A
    return replace(rec, extra={**rec.extra, **job.extra}, answered=answered)


def run_batch(jobs: list[Job]) -> list[Result]:
    return [run(j) for j in jobs]


def execute(jobs: Iterator[Job], workers: int) -> Iterator[Result]:
    """Results in job order; with ``workers > 1`` parsed in worker processes.

    At most a few batches are in flight, so memory stays flat on a huge mbox. If the pool
    breaks (a worker killed), the remaining batches are parsed here: nothing is lost.
    """
    if workers <= 1:
        yield from map(run, jobs)
        return
    # forkserver, not fork: the TUI calls this from a process with threads and open SQLite.
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
    pending: deque[tuple[list[Job], Future | None]] = deque()
    broken = False
    try:
        for batch in _batched(jobs, BATCH):
            pending.append((batch, None if broken else pool.submit(run_batch, batch)))
            while len(pending) > 2 * workers + 1 or (pending and pending[0][1] is None):
                batch_done, fut = pending.popleft()
                results, broken = _collect(batch_done, fut, broken)
                yield from results
        while pending:
            batch_done, fut = pending.popleft()
            results, broken = _collect(batch_done, fut, broken)
            yield from results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(batch: list[Job], fut: Future | None,
             broken: bool) -> tuple[list[Result], bool]:
    if fut is not None and not broken:
        try:
            return fut.result(), False
        except BrokenProcessPool:
            broken = True
    return run_batch(batch), broken


def _batched(items: Iterator[Job], n: int) -> Iterator[list[Job]]:
    batch: list[Job] = []
    for item in items:
        batch.append(item)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch
