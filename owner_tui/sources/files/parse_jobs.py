"""Parsing jobs for the files source, in this process or in a small process pool.

A job is one message: a file to read (Maildir entry, .eml) or bytes already read (an mbox
entry). Workers read and parse, so a big import uses a second core for the parsing while the
importer's process writes to SQLite.

Measured on the 2-core dev box (20,000-file generated Maildir, ``owner-tui import``): with a
core free the pool gave 1,770 vs 1,360 msg/s whole-process (scan alone 4,580 vs 2,730); with
the box loaded by other work (load average 3-5) it lost 10-15 % (1,150-1,280 vs
1,390-1,460) to pickling and IPC. ``auto_workers`` therefore asks for a pool only when the
import is big and a core is idle right now (``idle_cores``).
"""

from __future__ import annotations

import multiprocessing
import os
import stat
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from owner_tui.mail.parse import parse_message
from owner_tui.records import MessageRecord
from owner_tui.sources.files.mbox import cr_only, strip_start

MAX_FILE = 200 * 1024 * 1024  # one message file larger than this is skipped, not read
POOL_MIN = 2000  # messages from which a worker pool pays for its start-up (~0.2 s)
BATCH = 100  # messages per task sent to a worker
BOM = b"\xef\xbb\xbf"

Result = MessageRecord | tuple[str, str]  # a record, or (path, reason) for a skipped file


def auto_workers(total: int | None) -> int:
    """2 for a big import on a machine with a core to spare, else 1."""
    cores = os.cpu_count() or 1
    if (total or 0) < POOL_MIN or cores < 2:
        return 1
    idle = idle_cores()
    if idle is None:
        try:
            idle = cores - os.getloadavg()[0]
        except OSError:
            idle = 0.0
    return 2 if idle >= FREE_CORE else 1


#: Idle CPU (in cores) from which a second parser pays: a core mostly free.
FREE_CORE = 0.75


def idle_cores(window: float = 0.1) -> float | None:
    """How many cores sat idle over the next ``window`` seconds (Linux ``/proc/stat``), or
    ``None`` where that cannot be read.

    Not the load average: that is a one-minute mean, so it still counts work that has just
    ended (the bench's own previous run, a build that finished) and refused the pool on an
    idle machine (issue 18: 1,620 msg/s one-process against ~2,300 with the pool).
    """
    import time

    def sample() -> tuple[int, int] | None:
        try:
            with open("/proc/stat", "rb") as fh:
                fields = fh.readline().split()
        except OSError:
            return None
        if len(fields) < 5 or fields[0] != b"cpu":
            return None
        ticks = [int(x) for x in fields[1:9]]
        return sum(ticks), ticks[3] + ticks[4]  # all, idle + iowait

    first = sample()
    if first is None:
        return None
    time.sleep(window)
    second = sample()
    if second is None or second[0] <= first[0]:
        return None
    return (os.cpu_count() or 1) * (second[1] - first[1]) / (second[0] - first[0])


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
    #: What the reader noticed before parsing (an mbox "From " line kept in the text).
    notes: tuple[str, ...] = ()


class NotRegular(Exception):
    """The path is not a regular file (a FIFO, a socket, a device, a link): never read."""


def kind_of_file(mode: int) -> str | None:
    """Why a file of this mode is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file: not read"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file: not read"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file: not read"
    if stat.S_ISLNK(mode):
        return "a symbolic link: not followed"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file: not read"


def open_regular(path: str):
    """Open ``path`` for reading only if it is a regular file, without following a final
    symbolic link and without blocking (a FIFO would make ``open`` wait for a writer for
    ever). The check is on the opened descriptor, so a file swapped after the scan is caught."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == getattr(__import__("errno"), "ELOOP", -1):
            raise NotRegular("a symbolic link: not followed") from None
        raise
    try:
        st = os.fstat(fd)
        why = kind_of_file(st.st_mode)
        if why:
            raise NotRegular(why)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st
    except BaseException:
        os.close(fd)
        raise


def run(job: Job) -> Result:
    """Parse one job; a file that cannot be read comes back as ``(path, reason)``."""
    data, fallback = job.raw, job.fallback
    notes = list(job.notes)
    if job.path is not None:
        try:
            f, st = open_regular(job.path)
            with f:
                if st.st_size > MAX_FILE:
                    return job.path, f"message file over {MAX_FILE // (1024 * 1024)} MB"
                data = f.read(MAX_FILE + 1)  # bounded even if the file grows meanwhile
        except NotRegular as exc:
            return job.path, str(exc)
        except OSError as exc:
            return job.path, f"cannot read: {exc.strerror or exc}"
        if not data.strip():
            return job.path, "empty file"
        fallback = mtime(st)
        start = strip_start(data)
        if len(start) != len(data.removeprefix(BOM)):
            notes.append("blank lines before the headers skipped")
        data = start
        if cr_only(data[:65536]):
            notes.append("CR-only line endings read as line breaks")
            data = data.replace(b"\r", b"\n")
    rec = parse_message(data or b"", folder=job.folder, keep_raw_limit=job.keep_raw_limit,
                        fallback_time=fallback, arrived_at=job.arrived)
    answered = job.answered or "a" in rec.headers.get("x-status", "").lower()  # mbox (mutt): X-Status: A
    problems = rec.problems + tuple(n for n in notes if n not in rec.problems)
    return replace(rec, extra={**rec.extra, **job.extra}, answered=answered, problems=problems)


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
