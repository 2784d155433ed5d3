"""Parsing fetched mail into records, in this process or in worker processes.

Parsing is the CPU-heavy part of a big sync (about 60 % of it with a fast store), so
``owner-tui sync`` hands it to a small pool of worker processes while the next batch downloads
and the previous one is stored. This module is what the workers import: it must stay light
and free of any connection or store.
"""

from __future__ import annotations

import os
from concurrent.futures import Future
from dataclasses import replace
from datetime import datetime
from typing import Any, Callable, Sequence

from owner_tui.records import MessageRecord


def _parse(raw: bytes, folder: str, internaldate: datetime | None) -> MessageRecord:
    from owner_tui.mail.parse import parse_message

    return parse_message(raw, folder=folder, fallback_time=internaldate, arrived_at=internaldate)


def to_record(raw: bytes, *, folder: str, role: str, uid: int, uidvalidity: int,
              internaldate: datetime | None, flags: Sequence[bytes] = ()) -> MessageRecord:
    """One fetched message as a record; Sent-folder messages are outbound. INTERNALDATE is the
    arrival time; ``\\Answered`` says another client replied to it."""
    rec = _parse(raw, folder, internaldate)
    extra = {**rec.extra, "uid": uid, "uidvalidity": uidvalidity}
    answered = any(bytes(f).lower() == b"\\answered" for f in flags or ())
    return replace(rec, folder=folder, extra=extra, direction="out" if role == "sent" else rec.direction,
                   answered=answered)


def parse_items(items: Sequence[tuple], folder: str, role: str, uidvalidity: int) -> list[MessageRecord]:
    """Parse ``(uid, raw, internaldate[, flags])`` items; module-level so a worker process can run it."""
    return [to_record(item[1], folder=folder, role=role, uid=item[0], uidvalidity=uidvalidity,
                      internaldate=item[2], flags=item[3] if len(item) > 3 else ())
            for item in items]


class _Inline:
    """An executor stand-in that runs the call at once, in this thread."""

    def submit(self, fn: Callable, *args: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # delivered where the result is read, like a real executor
            fut.set_exception(exc)
        return fut


_INLINE = _Inline()


def _exit_with(owner: int) -> None:
    """Parse-worker initializer: leave when the sync process is gone. Killed (kill -9, a cron
    timeout, the OOM killer), it cannot shut the pool down, and its workers would wait on their
    queue for ever, holding the sync's stdout/stderr open (cron waits for those to close)."""
    import threading
    import time

    def alive() -> bool:
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:  # a killed process not yet reaped is a zombie: gone for our purposes
            with open(f"/proc/{owner}/stat", "rb") as fh:
                return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except (OSError, IndexError):
            return True

    def watch() -> None:
        while alive():
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()


def default_workers() -> int:
    """One parse worker per usable core but one, at most 4.

    The core left over is the sync process's: its thread storing batches is the pipeline's
    critical path, and it shares the process with the download thread. A worker on every core
    took CPU from it: on the 2-core dev box a full 10k-message sync took 4.57-5.07 s with two
    workers and 4.12-4.31 s with one (issue 18, interleaved runs).
    """
    from owner_tui.cores import usable_cores

    return max(1, min(4, usable_cores() - 1))


class ParsePool:
    """Worker processes for parsing: the CPU-heavy part of a big sync (about 60 % of it).

    Only for a process of our own (``owner-tui sync``): the workers are forked, which is
    unsafe in a process full of threads (the TUI), so the TUI syncs without one. Started at
    the first folder with ``min_messages`` or more to fetch, before the download thread.
    """

    def __init__(self, workers: int | None = None, min_messages: int = 400) -> None:
        self.workers = workers or default_workers()
        self.min_messages = min_messages
        self._executor: Any = None

    def executor(self):
        """The ``ProcessPoolExecutor``, started on first use (multiprocessing is imported only
        then: a no-op cron sync does not pay for it)."""
        if self._executor is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # forkserver: workers come from a fresh process, so they hold none of our sockets or
            # locks (a forked copy of an IMAP or proxy socket would keep it from ever closing).
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["owner_tui.sources.imap.parse", "owner_tui.mail.parse"])
            self._executor = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_exit_with,
                                                 initargs=(os.getpid(),))
            self._executor.submit(int).result()
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
