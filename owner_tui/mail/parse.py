"""Raw email bytes -> ``MessageRecord``, for any bytes at all.

Sources (IMAP, Maildir, mbox, .eml) hand us whatever servers and old clients produced:
encoded-word headers split mid-character, bodies whose charset lies, multiparts without a
boundary, dates in year 0. ``parse_message`` never raises; every irregularity becomes a short
string in ``problems`` and the message is kept, because losing a customer's mail is worse
than showing it imperfectly.

Why ``compat32`` and hand-written decoding: ``email.policy.default`` parses a few hundred
messages a second, the compat32 parser several thousand, and its lazy header objects are
exactly what breaks on bad input. We read raw header values (``Message.raw_items``) and decode
them here, which also lets us repair what the stdlib gives up on.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime

from owner_tui.mail.body import (
    ELIDED,
    MAX_DEPTH,
    TEXT_LIMIT,
    clean_text,
    payload_bytes,
    read_body,
)
from owner_tui.mail.bounded import REDUCE_AT, reduce_for_parsing
from owner_tui.mail.decode import (
    FIELD_LIMIT,
    Problems,
    decode_bytes,
    decode_words,
    one_line,
)
from owner_tui.mail.addresses import parse_address, parse_addresses
from owner_tui.mail.boundaries import install as _fast_boundaries
from owner_tui.records import NOISE_HEADERS, MessageRecord, normalize_msgid

_fast_boundaries()  # no regex compile per multipart message in the stdlib parser (boundaries.py)

HEADER_LIMIT = 64 * 1024  # characters of one header value we decode
MAX_REFERENCES = 100
MAX_RECIPIENTS = 500
#: Mail dated before RFC 822 (1982) comes from a broken clock, not from history.
MIN_TIME = datetime(1982, 1, 1, tzinfo=UTC)
#: Clocks and zones are often off by hours; a day more than that is a broken clock.
FUTURE_SLACK = timedelta(days=2)
_NEVER = datetime.min.replace(tzinfo=UTC)  # stands for "before any sane date"
_FOREVER = datetime.max.replace(tzinfo=UTC)

_WANTED = frozenset(
    {"message-id", "date", "from", "sender", "to", "cc", "bcc", "subject", "in-reply-to",
     "references", "received", *NOISE_HEADERS}
)
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_NEWLINES = re.compile(r"[\r\n]+")
_ANGLE_ID = re.compile(r"<([^<>]*)>")
# A 4-digit year not part of a zone (+0000) or a time: parsedate maps "0000" to 2000.
_YEAR = re.compile(r"(?<![+\-\d:])(\d{4})(?![\d:])")
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_message(
    raw: bytes,
    *,
    folder: str | None = None,
    keep_raw_limit: int = 256 * 1024,
    fallback_time: str | datetime | None = None,
    now: datetime | None = None,
    arrived_at: str | datetime | None = None,
) -> MessageRecord:
    """Parse one message; never raises.

    ``fallback_time`` (an IMAP INTERNALDATE or a file's mtime) is used when the Date header is
    missing, unparseable or out of range and no Received header gives a time. ``now`` bounds
    "the future" (tests pass a fixed clock). Naive datetimes and ISO strings count as UTC.
    ``arrived_at`` is when the source says the message reached the mailbox (IMAP INTERNALDATE,
    a Maildir delivery time, an mbox From line); the newest Received stamp is preferred to it.
    """
    problems = Problems()
    try:
        raw = _as_bytes(raw)
    except Exception:  # noqa: BLE001 -- a caller passing odd types still gets a record
        raw, problems = b"", Problems(["input was not bytes"])
    try:
        rec = _parse(raw, problems, folder, keep_raw_limit, fallback_time, now)
        arrival = rec.arrived_at or _fallback_iso(arrived_at, now) or ""
        return replace(rec, arrived_at=arrival) if arrival != rec.arrived_at else rec
    except Exception as exc:  # noqa: BLE001 -- the contract is "never raises": keep the message
        problems.add(f"parser failure ({type(exc).__name__}); message kept as raw text")
        body = raw.partition(b"\n\n")[2] or raw
        # Bounded: this path also serves a message that ran out of memory in the parser.
        text = clean_text(decode_bytes(body[:2 * TEXT_LIMIT], None, problems, "body"), problems)
        return MessageRecord(
            external_id=_synthetic_id(raw),
            sent_at=_fallback_iso(fallback_time, now) or "",
            text=text,
            raw=raw if len(raw) <= keep_raw_limit else None,
            problems=tuple(problems),
            folder=folder,
        )


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    if isinstance(raw, (bytearray, memoryview)):
        return bytes(raw)
    raise TypeError(type(raw).__name__)  # bytes(12345) would be 12,345 NULs, not a message


def _parse(raw, problems, folder, keep_raw_limit, fallback_time, now) -> MessageRecord:
    elided: dict[bytes, int] = {}
    to_parse = _fix_obsolete_names(_repair_header_block(raw, problems), problems)
    if len(raw) > REDUCE_AT:
        # Bounded memory whatever the shape: the parser sees a cut-down copy (see bounded.py).
        to_parse, elided = reduce_for_parsing(to_parse, problems)
    token = ELIDED.set(elided)
    try:
        return _parse_elided(raw, to_parse, problems, folder, keep_raw_limit, fallback_time, now)
    finally:
        ELIDED.reset(token)


def _parse_elided(raw, to_parse, problems, folder, keep_raw_limit, fallback_time, now) -> MessageRecord:
    try:
        msg = email.message_from_bytes(to_parse, policy=compat32)
        deep = False
    except RecursionError:
        # The stdlib parser recurses once per nesting level and fails near 1,000 levels.
        problems.add(f"MIME nesting deeper than {MAX_DEPTH}; body kept as raw text")
        msg = BytesHeaderParser(policy=compat32).parsebytes(to_parse)
        deep = True
    hdr = _collect_headers(msg, problems)
    if not msg.keys():
        problems.add("no headers")
    external_id = _guard(problems, "Message-ID", lambda: _message_id(hdr.get("message-id"), raw, problems),
                         lambda: _synthetic_id(raw))
    name, handle = _guard(problems, "From", lambda: _sender(hdr, problems), lambda: ("", ""))
    returned: list[str] = []
    facts: dict = {}
    if deep:
        text = clean_text(decode_bytes(payload_bytes(msg), None, problems, "body"), problems)
        attachments = ()
    else:
        text, attachments = read_body(msg, problems, returned, facts)
    if not text and not attachments:
        problems.add("no text body")

    keep = raw if len(raw) <= keep_raw_limit else None
    if keep is None:
        problems.add("raw too large, not kept")
    extra: dict = {}
    for key in ("calendar", "dsn_actions", "reaction"):
        if facts.get(key):
            extra[key] = facts[key]
    if "received" in hdr:
        extra["arrival_source"] = "received"
    returned_id = next((normalize_msgid(r) for r in (*returned, hdr.get("x-original-message-id", ""))
                        if normalize_msgid(r)), "")
    if returned_id and returned_id != external_id:
        extra["returned_id"] = returned_id  # a bounce: the Message-ID of the mail that came back
    # Each header on its own: one that breaks the stdlib (a To: with thousands of ":" recursed
    # until RecursionError) costs only itself, never the From, Subject, Date or Message-ID.
    return MessageRecord(
        external_id=external_id,
        sent_at=_guard(problems, "Date", lambda: _sent_at(hdr, fallback_time, now, problems),
                       lambda: _fallback_iso(fallback_time, now) or ""),
        sender_handle=handle,
        sender_name=name,
        recipients=_guard(problems, "To/Cc", lambda: _recipients(hdr, problems), tuple),
        subject=_guard(problems, "Subject", lambda: one_line(decode_words(hdr.get("subject", ""), problems,
                                                                          "Subject"), problems, "Subject"), str),
        text=text,
        in_reply_to=_guard(problems, "In-Reply-To", lambda: _first_id(hdr.get("in-reply-to")), lambda: None),
        references=_guard(problems, "References", lambda: _references(hdr.get("references"), problems), tuple),
        headers={k: v[:FIELD_LIMIT] for k, v in hdr.items() if k in NOISE_HEADERS},
        raw=keep,
        problems=tuple(problems),
        attachments=attachments,
        folder=folder,
        extra=extra,
        arrived_at=_received_at(hdr, now),
    )


# -- headers ---------------------------------------------------------------------------------

#: Characters of an address header given to the stdlib address parser (pure Python, recursive
#: on groups): 500 recipients fit in far less.
ADDRESS_LIMIT = 32 * 1024


def _guard(problems: Problems, what: str, fn, default):
    try:
        return fn()
    except RecursionError:
        problems.add(f"{what} header too deeply nested to read; left out")
    except Exception as exc:  # noqa: BLE001 -- one header never costs the message
        problems.add(f"{what} header unreadable ({type(exc).__name__}); left out")
    return default()


#: An obsolete header with space before its colon (RFC 5322 4.5, "From  : x"): the stdlib
#: parser takes a first line "From  :" for an mbox envelope line and loses the header.
_OBS_NAME = re.compile(rb"(?m)^([!-9;-~]+)[ \t]+:")


def _head_end(raw: bytes) -> int:
    """Where the header block ends: the first blank line (LF or CRLF), else the end. Scans the
    header block only, not a big body after it."""
    lf = raw.find(b"\n\n")
    crlf = raw.find(b"\n\r\n", 0, len(raw) if lf < 0 else lf)
    return crlf - 1 if crlf > 0 and raw[crlf - 1:crlf] == b"\r" else lf if lf >= 0 else len(raw)


def _fix_obsolete_names(raw: bytes, problems: Problems) -> bytes:
    end = _head_end(raw)
    head = raw[:end]
    if not _OBS_NAME.search(head):
        return raw
    problems.add("obsolete header names with space before the colon read")
    return _OBS_NAME.sub(rb"\1:", head) + raw[end:]

#: A line of a header block that is neither a field ("Name: value"), nor a folded continuation,
#: nor the end of the block; nor an mbox envelope line at the very top.
_NOT_A_FIELD = re.compile(rb"(?m)^(?![ \t]|[!-9;-~]+:|\r?$)")
_FIELD = re.compile(rb"[!-9;-~]+:")


def _repair_header_block(raw: bytes, problems: Problems) -> bytes:
    """A header block as real mailers and gateways damage it, made readable: a spam filter's
    long header continued on lines without indentation (the stdlib parser ends the headers
    there, and From and Subject below are lost), a line of text before the first field
    ("---- Original email message ----"), a body that starts with no blank line before it."""
    end = _head_end(raw)
    head = raw[:end]
    bad = _NOT_A_FIELD.search(head)
    if bad is None or (bad.start() == 0 and head.startswith(b"From ") and not _NOT_A_FIELD.search(head, 1)):
        return raw
    lines = head.split(b"\n")
    first = next((i for i, ln in enumerate(lines) if _FIELD.match(ln)), None)
    if first is None:
        return raw  # no field at all: not a header block (the parser says "no headers")
    last = max(i for i, ln in enumerate(lines) if _FIELD.match(ln))
    out = [ln for ln in lines[:first] if ln.startswith(b"From ")]  # an mbox envelope line stays
    if len(out) < first:
        problems.add("text before the headers skipped")
    joined = False
    for ln in lines[first:last + 1]:
        if ln and not (ln[:1] in b" \t" or _FIELD.match(ln)) and ln.strip(b"\r"):
            ln = b" " + ln  # a field continued without indentation
            joined = True
        out.append(ln)
    if joined:
        problems.add("header lines without indentation read as continuations")
    rest = lines[last + 1:]
    while rest and rest[0].startswith((b" ", b"\t")):  # the last field's own continuations
        out.append(rest.pop(0))
    if rest:
        out.append(b"\r" if out[-1].endswith(b"\r") else b"")  # the blank line the body needs
        out.extend(rest)
    return b"\n".join(out) + raw[end:]


def _collect_headers(msg: Message, problems: Problems) -> dict[str, str]:
    """First value of each header we use, unfolded and turned into real text."""
    found: dict[str, str] = {}
    hint: list[str | None] = []

    def charset() -> str | None:  # asked only for a header with raw 8-bit bytes, once
        if not hint:
            hint.append(_text_charset(msg))
        return hint[0]

    for name, value in msg.raw_items():
        key = name.strip().lower()
        if key in _WANTED and (key not in found or (key == "from" and "@" not in found[key])):
            if key in found:
                problems.add("several From headers; the first with an address used")
            found[key] = _header_text(str(value), key, problems, charset)
    return found


_WESTERN_LABELS = frozenset({"us-ascii", "ascii", "iso-8859-1", "iso-8859-15", "windows-1252", "cp1252", "latin1",
                             "utf-8", "utf8"})


def _text_charset(msg: Message) -> str | None:
    """The charset the message's first text part declares: the likeliest one for raw 8-bit
    header bytes a mailer wrote in its local charset (GB2312, Shift_JIS) without encoding."""
    first = None
    for i, part in enumerate(msg.walk()):
        if i > 20:
            break
        if part.get_content_maintype() == "text":
            label = part.get_param("charset")
            if isinstance(label, str) and label:
                if label.lower().replace("_", "-") not in _WESTERN_LABELS:
                    return label  # a multi-byte charset anywhere says more than a Western one
                first = first or label
    return first


def _header_text(value: str, name: str, problems: Problems, charset=lambda: None) -> str:
    if len(value) > HEADER_LIMIT:
        value = value[:HEADER_LIMIT]
        problems.add(f"{name} header over {HEADER_LIMIT // 1024} kB, truncated")
    value = _NEWLINES.sub(" ", _FOLD.sub("", value)).strip()
    if not value.isascii():
        # The parser kept raw 8-bit bytes as surrogates: RFC 6532 says UTF-8, old clients
        # sent their local charset.
        data = value.encode("ascii", "surrogateescape") if _SURROGATE.search(value) else None
        if data is not None:
            try:
                value = data.decode("utf-8")
            except UnicodeDecodeError:
                value = decode_bytes(data, charset(), problems, f"{name} header", quiet_utf8=True)
    return value.replace("\x00", "")


_NULL_SENDER = re.compile(r"<\s*>")


def _sender(hdr: dict[str, str], problems: Problems) -> tuple[str, str]:
    value = hdr.get("from")
    if value is None:
        problems.add("no From header")
        value = ""
    name, addr = parse_address(value)
    if not addr.strip() and not _NULL_SENDER.search(value):
        # No address to answer (a From missing, or "From: [??????]"): who the mail says to
        # answer instead. Never for an explicit null sender "<>", which is a machine's.
        for key, label in (("sender", "Sender"), ("reply-to", "Reply-To")):
            other_name, other = parse_address(hdr.get(key, ""))
            if "@" in other:
                problems.add(f"sender taken from {label} header")
                name, addr = name.strip() or other_name, other
                break
    addr = addr.strip().lower()
    if not addr and "from" in hdr:
        problems.add("From header has no address")
    elif addr and "@" not in addr:
        problems.add("From address has no domain")
    return one_line(decode_words(name, problems, "From"), problems, "From name"), addr[:FIELD_LIMIT]


def _recipients(hdr: dict[str, str], problems: Problems) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    # Bcc is only in the sender's own copy (a Sent folder keeps it): there it names real
    # recipients, such as the customer of a reply sent To the owner herself with the customer in Bcc.
    pairs = [pair for key in ("to", "cc", "bcc") if key in hdr for pair in parse_addresses(hdr[key][:ADDRESS_LIMIT])]
    for _name, addr in pairs:
        addr = addr.strip().lower()
        if addr:
            seen.setdefault(addr[:FIELD_LIMIT])
    if len(seen) > MAX_RECIPIENTS:
        problems.add(f"more than {MAX_RECIPIENTS} recipients, list cut")
    return tuple(seen)[:MAX_RECIPIENTS]


def _message_id(value: str | None, raw: bytes, problems: Problems) -> str:
    if value is None:
        problems.add("no Message-ID; synthetic id used")
        return _synthetic_id(raw)
    mid = _first_id(value)
    if mid and not _ANGLE_ID.search(value):
        problems.add("Message-ID without angle brackets")
    if not mid or len(mid) > FIELD_LIMIT:
        problems.add("unusable Message-ID; synthetic id used")
        return _synthetic_id(raw)
    return mid


def _first_id(value: str | None) -> str | None:
    """The first msg-id in a header; a bare ``x@y`` token is accepted (broken mailers)."""
    if not value:
        return None
    m = _ANGLE_ID.search(value)
    if m:
        mid = normalize_msgid("<" + m.group(1) + ">")
        return mid or None
    tokens = value.split()
    if len(tokens) == 1 and "@" in tokens[0]:
        return normalize_msgid(tokens[0])
    return None


def _references(value: str | None, problems: Problems) -> tuple[str, ...]:
    if not value:
        return ()
    ids = [normalize_msgid("<" + v + ">") for v in _ANGLE_ID.findall(value)]
    if not ids:
        ids = [normalize_msgid(t) for t in value.split() if "@" in t]
    unique = [i for i in dict.fromkeys(ids) if i]
    if len(unique) > MAX_REFERENCES:
        # Keep the root (first) and the nearest ancestors (last): what threading needs.
        problems.add(f"more than {MAX_REFERENCES} References, middle dropped")
        unique = unique[:1] + unique[-(MAX_REFERENCES - 1) :]
    return tuple(unique)


def _synthetic_id(raw: bytes) -> str:
    """A stable id from the bytes, so a re-import deduplicates a message without Message-ID.

    Line endings are normalised and an mbox ``From `` line dropped, so the same message read
    from IMAP (CRLF), a Maildir file (LF) or an mbox gets the same id.
    """
    data = raw.replace(b"\r\n", b"\n")
    if data.startswith(b"From "):
        data = data.partition(b"\n")[2]
    return "sha256:" + hashlib.sha256(data.rstrip(b"\n")).hexdigest()


# -- dates -----------------------------------------------------------------------------------

def _sent_at(hdr, fallback_time, now, problems: Problems) -> str:
    """Date header, else the newest Received time, else the caller's fallback, else a clamp.

    Received comes before the caller's fallback: a file's mtime changes when mail is copied
    without ``-p``, while the receiving server's stamp does not.
    """
    lo, hi = MIN_TIME, _now(now) + FUTURE_SLACK
    clamped: datetime | None = None
    value = hdr.get("date")
    if value is None:
        problems.add("no Date header")
    else:
        dt = _parse_date(value)
        if dt is None:
            problems.add(f"unparseable Date {value[:60]!r}")
        elif lo <= dt <= hi:
            return _iso(dt)
        else:
            problems.add(f"Date {value[:60]!r} out of range")
            clamped = lo if dt < lo else hi
    received = hdr.get("received", "")
    rdt = _parse_date(received.rpartition(";")[2]) if ";" in received else None
    if rdt is not None and lo <= rdt <= hi:
        problems.add("sent time taken from Received header")
        return _iso(rdt)
    fallback = _fallback_iso(fallback_time, now)
    if fallback:
        problems.add("sent time taken from fallback time")
        return fallback
    if clamped is not None:
        problems.add("sent time clamped to sane range")
        return _iso(clamped)
    problems.add("no usable sent time")
    return ""


def _received_at(hdr: dict[str, str], now: datetime | None) -> str:
    """The newest Received stamp (the receiving server's clock), or "" when there is none."""
    received = hdr.get("received", "")
    rdt = _parse_date(received.rpartition(";")[2]) if ";" in received else None
    if rdt is None or not MIN_TIME <= rdt <= _now(now) + FUTURE_SLACK:
        return ""
    return _iso(rdt)


def _parse_date(value: str) -> datetime | None:
    try:
        dt = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    m = _YEAR.search(value)
    if m and int(m.group(1)) != dt.year:
        # parsedate turns "0000" into 2000: a date we cannot believe.
        return _NEVER
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # "-0000" or no zone: RFC 5322 says UTC is the best guess
    try:
        return dt.astimezone(UTC)
    except (OverflowError, ValueError):
        return _FOREVER if dt.year > 2000 else _NEVER


def _fallback_iso(value: str | datetime | None, now: datetime | None) -> str | None:
    if value is None:
        return None
    try:
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        dt = dt.astimezone(UTC)
    except (ValueError, OverflowError, TypeError):
        return None
    if not MIN_TIME <= dt <= _now(now) + FUTURE_SLACK:
        return None
    return _iso(dt)


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat()
