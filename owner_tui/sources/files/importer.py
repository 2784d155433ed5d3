"""``owner-tui import``: files on disk -> the store, in batches, with progress and counts.

Each batch of records is one transaction, so an interrupted import keeps what it stored and
a second run counts the rest as duplicates instead of storing them twice.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable

from owner_tui.store.ingest import IngestResult


@dataclass
class ImportResult(IngestResult):
    skipped: int = 0
    skipped_reasons: tuple[str, ...] = ()


class _Progress:
    """A progress line on stderr for long runs; silent when stderr is not a terminal."""

    def __init__(self, err: IO[str]):
        self.err = err
        self.tty = hasattr(err, "isatty") and err.isatty()
        self.last = 0.0
        self.start = time.monotonic()

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if not self.tty or now - self.last < 0.2:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        of = f"/{total}" if total else ""
        self.err.write(f"\rimporting… {done}{of} messages ({rate:,.0f}/s)")
        self.err.flush()

    def close(self) -> None:
        if self.tty:
            self.err.write("\r\x1b[K")
            self.err.flush()


def run_import(store, paths: Iterable[Path], *, account: str = "files", batch: int = 500,
               err: IO[str] = sys.stderr) -> ImportResult:
    from owner_tui.sources.files import scan as files

    account_id = store.ensure_account("files", account, {})
    result = ImportResult()
    skipped: list[str] = []
    for path in paths:
        progress = _Progress(err)  # scan() counts the messages and passes the total
        stats = files.ScanStats()
        pending = []
        try:
            # ``batch`` messages per ingest (the parsers keep working meanwhile), several
            # ingests per transaction (``Store.batches``: fewer commits, issue 18).
            with store.batches() as tx:
                for rec in files.scan(path, on_progress=progress, stats=stats):
                    pending.append(rec)
                    if len(pending) >= batch:
                        result.add(tx.ingest(account_id, pending))
                        pending = []
                if pending:
                    result.add(tx.ingest(account_id, pending))
        finally:
            progress.close()
        skipped.extend(str(item) for item in stats.skipped)
    result.skipped = len(skipped)
    result.skipped_reasons = tuple(skipped)
    return result
