"""A store connection that lives on its own thread, for a UI that must never wait on SQLite.

Why: a SQLite connection belongs to one thread, and the UI thread must not block. Page reads
take about a millisecond, but a write can wait up to the busy timeout while ``owner-tui sync``
(cron) holds the write lock, and a UI frozen for seconds loses keystrokes. So the TUI keeps
two of these: a *reader* (pages, counts, history; WAL lets it read while a writer writes)
and a *writer* (done, snooze, drafts, the outbox). Each runs calls one at a time, in order,
on its own connection; callers ``await`` the result from the event loop.

No Textual import here: this is plain asyncio + concurrent.futures.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, TypeVar

from owner_tui.config import Config
from owner_tui.store import Store

T = TypeVar("T")


class StoreThread:
    """``await thread(fn, *args)`` runs ``fn(store, *args)`` on this object's own thread."""

    def __init__(self, path: Path, *, config: Config, clock: Callable, name: str) -> None:
        self.path = path
        self._config = config
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"owner-tui-{name}")
        self._store: Store | None = None
        self._closed = False
        self._lock = threading.Lock()
        # Open the connection now, on its own thread, while the UI is still starting.
        self._executor.submit(self._get)

    def _get(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.path, config=self._config, clock=self._clock)
        return self._store

    def _run(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        return fn(self._get(), *args, **kwargs)

    async def __call__(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        if self._closed:
            raise RuntimeError("the store is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, fn, args, kwargs)

    def run_sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run on the store's thread and wait: only for shutdown (saving drafts on exit)."""
        return self._executor.submit(self._run, fn, args, kwargs).result()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True

        def _close() -> None:
            if self._store is not None:
                self._store.close()
                self._store = None

        self._executor.submit(_close)
        self._executor.shutdown(wait=True)
