"""Reading an mbox without losing a customer's text.

``mailbox.mbox`` starts a new message at every line beginning "From ": a customer's "From
the desk of..." cut their message there and the rest became a message with no headers (it
was skipped, the text lost), and a body block that looked like headers became a forged
message. Here a "From " line separates messages only when it is a real envelope line
(``From sender date`` with a time and a year) **and** a real header block follows it;
anything else stays in the text, and the message records that it held such a line.

Also read rather than skipped: a UTF-8 BOM, blank lines before the first message, CR-only
(old Mac) and mixed line endings. Bodies are unescaped by the mboxrd rule (``>From `` ->
``From ``, ``>>From `` -> ``>From ``), which is also right for every mboxo file (where only
``>From `` occurs). The file is read in chunks: memory is bounded by the largest message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

BOM = b"\xef\xbb\xbf"
CHUNK = 1 << 20
LOOKAHEAD = 64 * 1024  # bytes after a "From " line inspected for a header block
#: ``From sender Wed Oct  2 08:30:00 2024`` (asctime, ctime with zone, Thunderbird's "From - ").
ENVELOPE = re.compile(rb"From \S+ +[^\r\n]*?\d{1,2}:\d\d[^\r\n]*?\b\d{4}\b[^\r\n]*\r?$")
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")
_MAIL_HEADERS = re.compile(
    rb"^(?:from|date|message-id|received|return-path|delivered-to|mime-version|subject|to)[ \t]*:",
    re.I | re.M,
)
_ESCAPED = re.compile(rb"(?m)^>(>*From )")
KEPT_NOTE = "a body line starting 'From ' was kept in the text (not an mbox separator)"


class Entry(NamedTuple):
    index: int
    from_line: bytes
    raw: bytes
    notes: tuple[str, ...]


def is_envelope(line: bytes) -> bool:
    return bool(ENVELOPE.match(line.rstrip(b"\n")))


def strip_start(data: bytes) -> bytes:
    """Without a BOM and the blank (or space-only) lines before the first real line."""
    data = data.removeprefix(BOM)
    stripped = data.lstrip(b" \t\r\n")
    if not stripped:
        return stripped
    # Keep the first real line whole (its own leading spaces would make it a continuation).
    cut = len(data) - len(stripped)
    line_start = max(data.rfind(b"\n", 0, cut), data.rfind(b"\r", 0, cut)) + 1
    return data[line_start:]


def cr_only(head: bytes) -> bool:
    """Old Mac line endings: CRs and no LF at all in the first block."""
    return b"\r" in head and b"\n" not in head


def header_block_follows(data: bytes | bytearray, start: int) -> bool | None:
    """Does a header block start at ``start``? None when ``data`` ends too soon to tell."""
    end = data.find(b"\n\n", start, start + LOOKAHEAD)
    if end < 0:
        end = data.find(b"\n\r\n", start, start + LOOKAHEAD)
    if end < 0:
        if len(data) - start < LOOKAHEAD:
            return None
        return False
    block = bytes(data[start:end])
    lines = block.split(b"\n")
    if not lines or not _HEADER_LINE.match(lines[0]):
        return False
    # A few lines a gateway broke (a header continued at column 0) are allowed: the parser
    # reads them as continuations (``mail.parse``); a body paragraph is not mostly fields.
    bad = sum(1 for line in lines if not (_HEADER_LINE.match(line) or line[:1] in (b" ", b"\t")))
    if bad > max(3, len(lines) // 5):
        return False
    return bool(_MAIL_HEADERS.search(block))


def read_mbox(f: BinaryIO) -> Iterator[Entry]:
    """The messages of an mbox, each with its envelope line and notes."""
    buf = bytearray()
    first = f.read(CHUNK)
    translate = cr_only(first[:LOOKAHEAD])
    if translate:
        first = first.replace(b"\r", b"\n")
    buf += strip_start(first)
    eof = len(first) < CHUNK
    index = 0
    notes: list[str] = []
    scan_from = 0
    while buf:
        pos = buf.find(b"\nFrom ", scan_from)
        if pos < 0 or (not eof and len(buf) - pos < LOOKAHEAD + 1024):
            if eof:
                yield _entry(index, bytes(buf), notes)
                return
            scan_from = max(0, len(buf) - 6) if pos < 0 else pos
            chunk = f.read(CHUNK)
            eof = len(chunk) < CHUNK
            buf += chunk.replace(b"\r", b"\n") if translate else chunk
            continue
        line_end = buf.find(b"\n", pos + 1)
        line_end = len(buf) if line_end < 0 else line_end
        if is_envelope(bytes(buf[pos + 1:line_end])) and header_block_follows(buf, line_end + 1) is not False:
            yield _entry(index, bytes(buf[:pos + 1]), notes)
            index += 1
            notes = []
            del buf[:pos + 1]
            scan_from = 0
        else:
            if KEPT_NOTE not in notes and _in_body(buf, pos):
                notes.append(KEPT_NOTE)
            scan_from = pos + 1


def _in_body(buf: bytearray, pos: int) -> bool:
    """Is ``pos`` past the header block of the message at the start of ``buf``? (An obsolete
    ``From  :`` header line is no separator and no note either.)"""
    ends = [i for i in (buf.find(b"\n\n", 0, pos + 1), buf.find(b"\n\r\n", 0, pos + 1)) if i >= 0]
    return bool(ends) and min(ends) < pos


def _entry(index: int, data: bytes, notes: list[str]) -> Entry:
    from_line, _, raw = data.partition(b"\n")
    if b">From " in raw:
        raw = _ESCAPED.sub(rb"\1", raw)
    return Entry(index, from_line, raw, tuple(notes))
