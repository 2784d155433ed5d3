"""A big message cut down to what the reader needs, before the stdlib parser sees it.

The stdlib parser keeps every line of a body as its own object: 20 MB of short lines peaked at
880 MB, 75 MB of blank lines at 3.3 GB. Yet a record keeps at most ``TEXT_LIMIT`` characters
of text and only the size of an attachment. So for a message over ``REDUCE_AT`` bytes we walk
the MIME tree at the byte level (headers parsed alone, boundaries found with one linear scan
per multipart) and rebuild a small message:

- a text part keeps its first ``TEXT_PART_CAP`` bytes (cut at a line end), the rest is
  recorded as cut;
- any other leaf (an attachment, an image) becomes a short token whose decoded size goes in
  the ``ELIDED`` table, so the attachment list still shows its real size;
- at most ``KEEP_TOTAL`` bytes of leaves are kept in all, at most ``MAX_PARTS`` parts are read,
  nesting stops at ``MAX_DEPTH``, and a header block over ``HEADER_CAP`` is cut.

Peak memory is then the message itself plus a parse of at most a few MB, whatever its shape
(blank lines, one huge line, soft line breaks, one-line base64): see ``bench`` row
``parse_rss`` and ``tests/test_memory.py``.
"""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser
from email.policy import compat32

from owner_tui.mail.body import MAX_DEPTH
from owner_tui.mail.decode import Problems

REDUCE_AT = 2 * 1024 * 1024
TEXT_PART_CAP = 2 * 1024 * 1024
KEEP_TOTAL = 4 * 1024 * 1024
HEADER_CAP = 512 * 1024
MAX_PARTS = 1000
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_TOKEN = b"OwnerTuiElided%06d"


def reduce_for_parsing(raw: bytes, problems: Problems) -> tuple[bytes, dict[bytes, int]]:
    """``raw`` cut down for parsing, and token -> decoded size for each leaf left out."""
    state = _State(problems)
    out: list[bytes] = []
    state.entity(raw, 0, len(raw), 0, out)
    return b"".join(out), state.sizes


class _State:
    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.sizes: dict[bytes, int] = {}
        self.kept = 0
        self.parts = 0

    def entity(self, raw: bytes, start: int, end: int, depth: int, out: list[bytes]) -> None:
        """One MIME entity (headers, blank line, body) of ``raw[start:end]`` into ``out``."""
        m = _HEADER_END.search(raw, start, min(end, start + HEADER_CAP))
        if m is None:
            if end - start <= HEADER_CAP:
                out.append(raw[start:end])  # headers only, small
                return
            cut = raw.rfind(b"\n", start, start + HEADER_CAP)
            cut = cut + 1 if cut > start else start + HEADER_CAP
            self.problems.add(f"header block over {HEADER_CAP // 1024} kB, the rest not read")
            out.append(raw[start:cut])
            return
        head = raw[start:m.end()]
        body_start = m.end()
        out.append(head)
        msg = BytesHeaderParser(policy=compat32).parsebytes(head)
        ctype = msg.get_content_type()
        if msg.get_content_maintype() == "multipart" and depth < MAX_DEPTH:
            boundary = msg.get_boundary()
            if boundary:
                self.multipart(raw, body_start, end, boundary, depth, out)
                return
        if ctype == "message/rfc822" and depth < MAX_DEPTH:
            self.entity(raw, body_start, end, depth + 1, out)
            return
        self.leaf(raw, body_start, end, msg, out)

    def multipart(self, raw: bytes, start: int, end: int, boundary: str, depth: int,
                  out: list[bytes]) -> None:
        delim = re.compile(rb"(?m)^--" + re.escape(boundary.encode("utf-8", "surrogateescape"))
                           + rb"(--)?[ \t]*\r?$")
        marks = []
        for m in delim.finditer(raw, start, end):
            marks.append(m)
            if m.group(1) or len(marks) > MAX_PARTS:
                break
        if not marks:
            self.leaf_text(raw, start, end, out)  # no boundary in the body: read as text
            return
        out.append(raw[start:min(marks[0].start(), start + 4096)])  # preamble, small
        for a, b in zip(marks, marks[1:]):
            out.append(raw[a.start():a.end()])
            self.parts += 1
            if self.parts > MAX_PARTS:
                self.problems.add(f"more than {MAX_PARTS} MIME parts; the rest not read")
                out.append(b"\n")
                return
            # The part runs from after the delimiter line to the newline before the next one.
            part_start = a.end() + (2 if raw[a.end():a.end() + 2] == b"\r\n" else 1)
            part_end = b.start()
            out.append(b"\r\n" if raw[a.end():a.end() + 2] == b"\r\n" else b"\n")
            if part_end > part_start:
                self.entity(raw, part_start, part_end, depth + 1, out)
        last = marks[-1]
        out.append(raw[last.start():last.end()] + b"\n")
        if not last.group(1):
            self.problems.add("MIME closing boundary missing; a part may be cut")

    def leaf(self, raw: bytes, start: int, end: int, msg, out: list[bytes]) -> None:
        size = end - start
        room = min(TEXT_PART_CAP, KEEP_TOTAL - self.kept)
        if size <= room:
            self.kept += size
            out.append(raw[start:end])
            return
        if msg.get_content_maintype() == "text" and room > 0:
            self.leaf_text(raw, start, end, out)
            return
        token = _TOKEN % len(self.sizes)
        self.sizes[token] = _decoded_size(raw, start, end, msg)
        out.extend((token, b"\r\n"))

    def leaf_text(self, raw: bytes, start: int, end: int, out: list[bytes]) -> None:
        room = max(0, min(TEXT_PART_CAP, KEEP_TOTAL - self.kept))
        if end - start <= room:
            self.kept += end - start
            out.append(raw[start:end])
            return
        cut = raw.rfind(b"\n", start, start + room) if room else -1
        cut = cut + 1 if cut > start else start + room
        self.kept += cut - start
        out.extend((raw[start:cut], b"\n"))
        self.problems.add(f"a {(end - start) / 1048576:.0f} MB text part was cut to its first "
                          f"{(cut - start) / 1048576:.1f} MB for reading")


def _decoded_size(raw: bytes, start: int, end: int, msg) -> int:
    """The size of a leaf once decoded, counted without copying it."""
    cte = str(msg.get("content-transfer-encoding", "")).strip().strip("\"'").lower()
    n = end - start
    if cte == "base64":
        blanks = sum(raw.count(c, start, end) for c in (b"\n", b"\r", b" ", b"\t", b"="))
        return max(0, (n - blanks) * 3 // 4)
    return n
