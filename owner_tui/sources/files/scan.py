"""Mail on disk -> records: one ``.eml``, a directory of them, a Maildir (with Maildir++
subfolders), an mbox, or a directory holding any mix of these.

This is how an owner brings in years of old mail (a Thunderbird or mutt archive, a Maildir
copied off a server) without an IMAP account. Nothing here touches the store: ``scan`` yields
``MessageRecord`` values and ``owner-tui import`` ingests them in batches.

Files that are not mail are never guessed at: they are listed in ``ScanStats.skipped`` with
the reason, so the owner can see exactly what was left out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import NamedTuple

from owner_tui.records import MessageRecord
from owner_tui.sources.files import mbox as mboxes
from owner_tui.sources.files.parse_jobs import (
    Job,
    NotRegular,
    auto_workers,
    execute,
    kind_of_file,
    mtime,
    open_regular,
)

#: Folder names (last path component, case-folded) that hold the owner's sent mail.
#: Localised names are what Thunderbird, Outlook and Apple Mail create in those languages.
SENT_NAMES = frozenset(
    {"sent", "sent items", "sent messages", "sent mail", "gesendet", "gesendete elemente",
     "gesendete objekte", "envoyés", "éléments envoyés", "enviados", "elementos enviados",
     "posta inviata", "inviata", "verzonden", "verzonden items", "skickat", "sendt"}
)
PROGRESS_EVERY = 200
_MAILDIR_INFO = re.compile(r"[:!]2,")
_HEAD = 8192
# A header line: printable ASCII name without ":" (RFC 5322 ftext), then ":".
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")  # "From  :" is an obsolete but real header
# One of these in the first block means it is mail, not any "Key: value" text file.
_MAIL_HEADERS = re.compile(
    rb"^(?:from|date|message-id|received|return-path|delivered-to|mime-version|subject)[ \t]*:",
    re.I | re.M,
)

Progress = Callable[[int, "int | None"], None]


class Skipped(NamedTuple):
    """A file (or mbox entry) that yielded no message, and why; prints as "path: reason"."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class ScanStats:
    """What a scan did: counts for the summary line, and every skipped file with its reason."""

    messages: int = 0
    with_problems: int = 0
    mailboxes: int = 0  # Maildirs and mbox files opened
    files: int = 0  # message files read (.eml, Maildir entries)
    skipped: list[Skipped] = field(default_factory=list)

    def skip(self, path: Path | str, reason: str) -> None:
        self.skipped.append(Skipped(str(path), reason))


def scan(
    path: str | os.PathLike[str],
    *,
    on_progress: Progress | None = None,
    stats: ScanStats | None = None,
    keep_raw_limit: int = 256 * 1024,
    workers: int | None = None,
) -> Iterator[MessageRecord]:
    """Yield one record per message under ``path``.

    Raises ``FileNotFoundError`` at once (not on first iteration) when ``path`` does not
    exist. ``on_progress(done, total)`` is called every ~200 messages and at the end, with
    ``total`` from ``count_messages`` (an estimate, possibly ``None``).

    ``workers``: parse in that many processes (``None``: 2 for a big import when a core is
    idle, see ``parse_jobs``). Worker processes start through a forkserver, which re-imports
    the main script: a script calling this needs the ``if __name__ == "__main__"`` guard
    (the ``owner-tui`` entry point and ``python -m owner_tui`` are fine), or ``workers=1``.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"no such file or directory: {root}")
    return _scan(root, on_progress, stats if stats is not None else ScanStats(), keep_raw_limit,
                 workers)


def _scan(root: Path, on_progress: Progress | None, stats: ScanStats, keep_raw_limit: int,
          workers: int | None) -> Iterator[MessageRecord]:
    total = count_messages(root) if on_progress or workers is None else None
    if workers is None:
        workers = auto_workers(total)
    done = 0
    for result in execute(_jobs(root, stats, keep_raw_limit, _base(root)), workers):
        if isinstance(result, tuple):
            stats.skip(*result)
            continue
        stats.messages += 1
        stats.with_problems += bool(result.problems)
        done += 1
        if on_progress and done % PROGRESS_EVERY == 0:
            on_progress(done, total)
        yield result
    if on_progress:
        on_progress(done, total)


# -- discovery -------------------------------------------------------------------------------

def _folder(parts: tuple[str, ...]) -> str | None:
    """A folder name from path components; any Sent-like last component becomes "Sent"."""
    cleaned = tuple(p.removesuffix(".sbd") for p in parts if p)  # Thunderbird subfolder dirs
    if not cleaned:
        return None
    if cleaned[-1].casefold() in SENT_NAMES:
        return "Sent"  # the store treats folder "Sent" as the owner's outbound mail
    return "/".join(cleaned)


def _is_maildir(d: Path) -> bool:
    return (d / "cur").is_dir() and (d / "new").is_dir()


def _base(root: Path) -> Path:
    """The folder links may point into: the given folder, or a given file's folder."""
    real = root.resolve()
    return real if real.is_dir() else real.parent


def _inside(base: Path, target: Path) -> bool:
    return target == base or base in target.parents


def _entry_kind(e: os.DirEntry, base: Path) -> tuple[str, Path | None, str]:
    """("dir" | "file" | "skip", the path to read, why skipped) for one directory entry.

    Only regular files are read; a symbolic link is followed only to a regular file inside
    the folder the owner gave (a link to /dev/zero or to another user's mail is not)."""
    p = Path(e.path)
    try:
        if e.is_symlink():
            try:
                target = p.resolve(strict=True)
            except (OSError, RuntimeError):
                return "skip", None, "broken symbolic link"
            if not _inside(base, target):
                return "skip", None, "symbolic link out of the imported folder: not followed"
            if target.is_dir():
                return "skip", None, "symbolic link to a directory not followed"
            why = kind_of_file(os.stat(target).st_mode)
            return ("skip", None, why) if why else ("file", target, "")
        if e.is_dir(follow_symlinks=False):
            return "dir", p, ""
        why = kind_of_file(e.stat(follow_symlinks=False).st_mode)
    except OSError as exc:
        return "skip", None, f"cannot read: {exc.strerror or exc}"
    return ("skip", None, why) if why else ("file", p, "")


def _discover(root: Path, stats: ScanStats,
              base: Path | None = None) -> Iterator[tuple[str, Path, str | None]]:
    """(kind, path, folder) for every mailbox under ``root``; kind is maildir, mbox or eml."""
    base = base or _base(root)
    if not root.is_dir() and not root.is_file():
        try:
            why = kind_of_file(os.stat(root).st_mode) or "not a regular file: not read"
        except OSError as exc:
            why = f"cannot read: {exc.strerror or exc}"
        stats.skip(root, why)
        return
    if root.is_file():
        kind = _sniff(root, stats)
        if kind == "mbox":
            yield "mbox", root, _folder((_mbox_name(root),))
        elif kind == "eml":
            parent = root.parent.parent if root.parent.name in ("cur", "new") else root.parent
            yield "eml", root, "Sent" if _is_sent(parent.name) else None
        return
    # The root's own name matters only when it says "Sent" (scanning ~/Maildir/.Sent).
    yield from _walk(root, (root.name.lstrip("."),) if _is_sent(root.name) else (), stats, base)


def _is_sent(name: str) -> bool:
    return name.lstrip(".").casefold() in SENT_NAMES


def _walk(
    d: Path, parts: tuple[str, ...], stats: ScanStats, base: Path
) -> Iterator[tuple[str, Path, str | None]]:
    try:
        entries = sorted(os.scandir(d), key=lambda e: e.name)
    except OSError as exc:
        stats.skip(d, f"cannot list directory: {exc.strerror or exc}")
        return
    if _is_maildir(d):
        yield "maildir", d, _folder(parts) or "INBOX"  # a Maildir++ root is the INBOX
        for e in entries:
            if e.name in ("cur", "new", "tmp") or not e.is_dir(follow_symlinks=False):
                continue  # files beside cur/new are server state (dovecot-uidlist, maildirfolder)
            sub = Path(e.path)
            if e.name.startswith("."):
                # Maildir++: ".Sent", ".Archive.2023" (dot is the hierarchy separator).
                if _is_maildir(sub):
                    yield "maildir", sub, _folder(parts + tuple(e.name[1:].split(".")))
                else:
                    stats.skip(sub, "hidden directory in a Maildir that is not a Maildir folder")
            else:
                yield from _walk(sub, parts + (e.name,), stats, base)
        return
    for e in entries:
        p = Path(e.path)
        kind, target, why = _entry_kind(e, base)
        if kind == "skip":
            stats.skip(p, why)
        elif kind == "dir":
            if not e.name.startswith(".") or _is_maildir(p):
                yield from _walk(p, parts + (e.name.lstrip("."),), stats, base)
            else:
                stats.skip(p, "hidden directory not scanned")
        elif e.name.startswith("."):
            stats.skip(p, "hidden file")
        else:
            kind = _sniff(target, stats, shown=p)
            if kind == "mbox":
                yield "mbox", target, _folder(parts + (_mbox_name(p),))
            elif kind == "eml":
                yield "eml", target, _folder(parts)


def _mbox_name(p: Path) -> str:
    name = p.name
    for suffix in (".mbox", ".mbx", ".mbs"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _sniff(p: Path, stats: ScanStats, shown: Path | None = None) -> str | None:
    """"mbox", "eml" or None (recorded as skipped with the reason)."""
    shown = shown or p
    try:
        f, _st = open_regular(str(p))
        with f:
            head = f.read(_HEAD)
    except NotRegular as exc:
        stats.skip(shown, str(exc))
        return None
    except OSError as exc:
        stats.skip(shown, f"cannot read: {exc.strerror or exc}")
        return None
    kind, reason = _kind_of(head)
    if kind is None:
        stats.skip(shown, reason)
    return kind


def _kind_of(head: bytes) -> tuple[str | None, str]:
    if not head.strip():
        return None, "empty file"
    # A BOM, blank or space-only lines first (iPhone, Exchange samples), CR-only line ends.
    head = mboxes.strip_start(head)
    if mboxes.cr_only(head):
        head = head.replace(b"\r", b"\n")
    first_line = head.split(b"\n", 1)[0]
    if mboxes.is_envelope(first_line):
        return "mbox", ""  # "From sender date"; an obsolete "From  :" header is not one
    if _looks_like_message(head):
        return "eml", ""
    return None, "not an email message or mbox (no mail headers at the start)"


def _looks_like_message(head: bytes) -> bool:
    block = head.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    return bool(_HEADER_LINE.match(head)) and bool(_MAIL_HEADERS.search(block))


# -- readers ---------------------------------------------------------------------------------

def _jobs(root: Path, stats: ScanStats, keep_raw_limit: int, base: Path) -> Iterator[Job]:
    for kind, where, folder in _discover(root, stats, base):
        if kind == "mbox":
            yield from _mbox_jobs(where, folder, stats, keep_raw_limit)
        elif kind == "eml":
            stats.files += 1
            yield Job(folder, {"file": str(where)}, keep_raw_limit, path=str(where))
        else:
            yield from _maildir_jobs(where, folder, stats, keep_raw_limit, base)


def _maildir_jobs(d: Path, folder: str | None, stats: ScanStats,
                  keep_raw_limit: int, base: Path) -> Iterator[Job]:
    stats.mailboxes += 1
    for sub in ("new", "cur"):  # tmp/ holds deliveries in progress: never read (Maildir spec)
        try:
            entries = sorted((e for e in os.scandir(d / sub) if not e.name.startswith(".")),
                             key=lambda e: e.name)
        except OSError as exc:
            stats.skip(d / sub, f"cannot list directory: {exc.strerror or exc}")
            continue
        for e in entries:
            name = e.name
            if not e.is_symlink() and e.is_file(follow_symlinks=False):
                target = e.path  # the common case, without a Path or a stat per file
            else:
                kind, target, why = _entry_kind(e, base)
                if kind != "file":
                    stats.skip(e.path, why or "a folder inside a Maildir's cur/new: not read")
                    continue
            extra: dict = {"file": e.path}
            # "unique:2,FLAGS" (":" or "!" on filesystems without ":"); R = replied.
            info = _MAILDIR_INFO.split(name, maxsplit=1)
            flags = info[1] if len(info) == 2 else ""  # the letters after ":2,"
            if len(info) == 2:
                extra["maildir_flags"] = info[1]
            stats.files += 1
            yield Job(folder, extra, keep_raw_limit, path=str(target), arrived=_delivered_at(name),
                      answered="R" in flags)


def _mbox_jobs(p: Path, folder: str | None, stats: ScanStats,
               keep_raw_limit: int) -> Iterator[Job]:
    try:
        f, st = open_regular(str(p))
    except NotRegular as exc:
        stats.skip(p, str(exc))
        return
    except OSError as exc:
        stats.skip(p, f"cannot read mbox: {exc.strerror or exc}")
        return
    fallback = mtime(st)
    stats.mailboxes += 1
    with f:
        try:
            for entry in mboxes.read_mbox(f):
                raw = entry.raw
                if not raw.strip():
                    stats.skip(f"{p} #{entry.index + 1}", "empty mbox entry")
                    continue
                delivered = _from_line_time(entry.from_line)
                yield Job(folder, {"file": str(p), "mbox_index": entry.index}, keep_raw_limit, raw=raw,
                          fallback=delivered or fallback, arrived=delivered, notes=entry.notes)
        except OSError as exc:
            stats.skip(p, f"cannot read mbox: {exc.strerror or exc}")


_DELIVERED = re.compile(r"^(\d{9,11})(?:\.|_)")


def _delivered_at(name: str) -> str | None:
    """The delivery time a Maildir file name starts with (``1700000000.M1P2.host:2,S``)."""
    m = _DELIVERED.match(name)
    if not m:
        return None
    try:
        return datetime.fromtimestamp(int(m.group(1)), UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _from_line_time(line: bytes) -> str | None:
    """The delivery time in an mbox ``From sender Mon Jan  1 00:00:00 2024`` line."""
    parts = line.decode("ascii", "replace").split(None, 2)
    if len(parts) < 3:
        return None
    try:
        dt = parsedate_to_datetime(parts[2])
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()


# -- counting --------------------------------------------------------------------------------

def count_messages(path: str | os.PathLike[str]) -> int | None:
    """A cheap count for a progress bar: files in Maildirs and .eml dirs, "From " lines in
    mboxes. ``None`` when the path cannot be read."""
    root = Path(path).expanduser()
    if not root.exists():
        return None
    total = 0
    try:
        for kind, where, _folder_name in _discover(root, ScanStats(), _base(root)):
            if kind == "maildir":
                for sub in ("new", "cur"):
                    try:
                        total += sum(1 for e in os.scandir(where / sub)
                                     if not e.name.startswith("."))
                    except OSError:
                        pass
            elif kind == "mbox":
                total += _count_from_lines(where)
            else:
                total += 1
    except OSError:
        return None
    return total


def _count_from_lines(p: Path, chunk: int = 1 << 20) -> int:
    """Lines starting with "From " (an estimate of the messages, for a progress bar)."""
    count, tail, first = 0, b"", True
    try:
        f, _st = open_regular(str(p))
    except (NotRegular, OSError):
        return 0
    with f:
        while block := f.read(chunk):
            data = tail + block
            if first:
                count += data.startswith(b"From ")
                first = False
            count += data.count(b"\nFrom ")
            tail = data[-5:]  # a "\nFrom " cut by the chunk edge is counted in the next round
    return count
