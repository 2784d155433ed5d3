"""What a sync reports: progress per batch, counts per folder and per account.

Plain data for the CLI line and the TUI's status row; ``summary()`` is the one line both show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Progress:
    """Reported after each stored batch: for a progress bar per account."""

    account: str
    folder: str
    done: int
    total: int


@dataclass
class FolderResult:
    folder: str
    role: str  # "inbox", "sent" or "extra"
    new: int = 0
    duplicate: int = 0
    noise: int = 0
    problems: int = 0
    fetched: int = 0  # messages downloaded whole
    remapped: int = 0  # known messages given their new UID after a UIDVALIDITY change
    skipped: bool = False  # nothing changed on the server: no SELECT, no FETCH
    reset: bool = False  # UIDVALIDITY changed
    error: str | None = None

    def add(self, result: Any) -> None:
        for key in ("new", "duplicate", "noise", "problems"):
            setattr(self, key, getattr(self, key) + int(getattr(result, key, 0) or 0))


@dataclass
class AccountResult:
    account: str
    account_id: int | None = None
    folders: list[FolderResult] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    #: What a successful sync still found wrong, for the account's health (``records.NO_SENT_WARNING``).
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False
    #: The ``MailError.kind`` of the (first) failure, and whether it is temporary.
    error_kind: str | None = None
    temporary: bool = False
    #: What the folders were resolved from, for ``quick_sync``'s plan: the SHA-256 of the LIST
    #: answer, the capabilities, and the ``(folder, role)`` list (None when not resolved here).
    list_sha256: str | None = None
    capabilities: list[str] = field(default_factory=list)
    plan: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and not any(f.error for f in self.folders)

    @property
    def new(self) -> int:
        return sum(f.new for f in self.folders)

    def summary(self) -> str:
        """One line for the CLI and the TUI status bar."""
        if self.error:
            return f"{self.account}: {self.error}"
        parts = []
        for f in self.folders:
            if f.error:
                parts.append(f"{f.folder}: {f.error}")
            elif f.skipped:
                parts.append(f"{f.folder}: nothing new")
            else:
                bits = [f"{f.new} new"] + ([f"{f.remapped} re-mapped"] if f.remapped else []) \
                    + (["UIDVALIDITY changed"] if f.reset else [])
                parts.append(f"{f.folder}: {', '.join(bits)}")
        return f"{self.account}: " + "; ".join(parts + self.notes)
