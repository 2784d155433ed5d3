"""The MIME tree of one message -> readable body text and attachment metadata.

Text comes from ``text/plain`` (preferred in ``multipart/alternative``) or ``text/html``
rendered by ``html_text``; everything else is recorded as an ``Attachment`` (name, type,
size) and not stored. Nesting is bounded, a multipart without a usable boundary is repaired
when the body shows one, and a bad part is skipped with a problem, never fatal.
"""

from __future__ import annotations

import binascii
import contextvars
import email
import json
import re
import unicodedata
from email.message import Message
from email.policy import compat32
from email.utils import collapse_rfc2231_value

from owner_tui.mail.decode import (
    Problems,
    b64decode_lenient,
    decode_bytes,
    decode_words,
    one_line,
)
from owner_tui.mail.html_text import html_to_text
from owner_tui.records import Attachment

MAX_DEPTH = 50
MAX_DSN_RECIPIENTS = 50
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=\s]")
TEXT_LIMIT = 1_000_000  # characters of body text kept

_DEFECTS: dict[str, str | None] = {
    "NoBoundaryInMultipartDefect": "multipart without boundary",
    "StartBoundaryNotFoundDefect": "MIME boundary never found in body",
    "CloseBoundaryNotFoundDefect": "MIME closing boundary missing",
    "MissingHeaderBodySeparatorDefect": "no blank line after headers",
    "FirstHeaderLineIsContinuationDefect": "first header line is a continuation",
    "MisplacedEnvelopeHeaderDefect": "stray mbox From_ line among headers",
    "MultipartInvariantViolationDefect": None,  # always follows one of the boundary defects
    "InvalidMultipartContentTransferEncodingDefect": "multipart with transfer encoding",
    "InvalidBase64PaddingDefect": "bad base64 padding",
    "InvalidBase64CharactersDefect": "bad base64 characters",
    "InvalidBase64LengthDefect": "bad base64 length",
}


def read_body(msg: Message, problems: Problems, returned: list[str] | None = None,
              facts: dict | None = None) -> tuple[str, tuple[Attachment, ...]]:
    """The message's text (NULs removed, LF newlines, capped) and its attachments.

    ``returned`` collects the Message-IDs of messages that came back inside this one
    (``message/rfc822`` or ``text/rfc822-headers`` parts: a bounce or a delivery report).
    ``facts`` receives ``"calendar"`` when the message carries an iCalendar object (see
    ``calendar_facts``), ``"dsn_actions"`` when it carries a delivery report and ``"reaction"``
    (the emoji) when it is an emoji reaction (see ``reaction_emoji``)."""
    body = _Body(problems)
    body.walk(msg, 0)
    if returned is not None:
        returned.extend(body.returned)
    if facts is not None and body.calendar:
        facts["calendar"] = body.calendar
    if facts is not None and body.dsn_actions:
        facts["dsn_actions"] = body.dsn_actions
    if facts is not None and body.reaction:
        facts["reaction"] = body.reaction
    text = clean_text("\n\n".join(t for t in body.texts if t.strip()), problems)
    return text, tuple(body.attachments)


_RETURNED_ID = re.compile(rb"^Message-ID:[ \t]*(<[^<>\r\n]{1,500}>)", re.I | re.M)


class _Body:
    """Walks the MIME tree once: text parts into ``texts``, the rest into ``attachments``."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.texts: list[str] = []
        self.attachments: list[Attachment] = []
        self.returned: list[str] = []
        self.calendar: dict | None = None  # the first iCalendar object with a METHOD
        self.dsn_actions: list[str] = []  # a delivery report's Action fields (RFC 3464)
        self.reaction = ""  # the emoji of a Gmail emoji reaction

    def walk(self, part: Message, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.problems.add(f"MIME nesting deeper than {MAX_DEPTH}; inner parts ignored")
            return
        for defect in part.defects:
            name = type(defect).__name__
            text = _DEFECTS.get(name, f"MIME defect: {name}")
            if text:
                self.problems.add(text)
        try:
            self._walk(part, depth)
        except Exception as exc:  # noqa: BLE001 -- one bad part must not lose the others
            self.problems.add(f"unreadable MIME part ({type(exc).__name__}) skipped")

    def _walk(self, part: Message, depth: int) -> None:
        ctype = part.get_content_type()
        maintype = ctype.partition("/")[0]
        if ctype == "message/rfc822" or (maintype == "message" and part.is_multipart()):
            if ctype == "message/delivery-status":
                self._dsn(part)
            self._attach(part, ctype)
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message) and inner.get("Message-ID"):
                self.returned.append(str(inner.get("Message-ID")))
        elif ctype == "text/rfc822-headers":
            self._attach(part, ctype)
            m = _RETURNED_ID.search(payload_bytes(part)[:65536])
            if m:
                self.returned.append(m.group(1).decode("ascii", "replace"))
        elif part.is_multipart():
            children = [p for p in part.get_payload() if isinstance(p, Message)]
            if ctype == "multipart/alternative":
                self._alternative(children, depth)
            else:
                for child in children:
                    self.walk(child, depth + 1)
        elif maintype == "multipart":
            self._salvage(part, ctype, depth)
        elif ctype in ("text/plain", "text/html") and (depth == 0 or not _is_attachment(part)):
            self._text(part, ctype == "text/html")
        else:
            if ctype in _CALENDAR_TYPES:
                self._calendar(part)
            elif ctype == REACTION_TYPE:
                self._reaction(part)
            self._attach(part, ctype)

    def _alternative(self, children: list[Message], depth: int) -> None:
        # Prefer text/plain (what the sender wrote for terminals), then a nested multipart,
        # then HTML; an empty plain part (some mailers send one) falls through to the next.
        rank = {"text/plain": 0, "text/html": 2}

        def key(child: Message) -> int:
            ctype = child.get_content_type()
            return rank.get(ctype, 1 if ctype.startswith("multipart/") else 3)

        ordered = sorted(children, key=key)
        for child in ordered:  # an invitation's answer or a reaction: its part sits beside the text
            if child.get_content_type() in _CALENDAR_TYPES:
                self._calendar(child)
            elif child.get_content_type() == REACTION_TYPE:
                self._reaction(child)
        for child in ordered:
            before = len(self.texts)
            self.walk(child, depth + 1)
            if any(t.strip() for t in self.texts[before:]):
                return

    def _dsn(self, part: Message) -> None:
        """The per-recipient ``Action`` of a delivery report: failed, delayed, or the positive
        ones (delivered, relayed, expanded) that a delivery receipt carries."""
        for block in part.get_payload()[:MAX_DSN_RECIPIENTS]:
            action = block.get("Action") if isinstance(block, Message) else None
            if action:
                self.dsn_actions.append(" ".join(str(action).split()).lower()[:20])

    def _calendar(self, part: Message) -> None:
        if self.calendar is None:
            try:
                self.calendar = calendar_facts(part)
            except Exception:  # noqa: BLE001 -- a broken calendar part is an attachment like any other
                self.calendar = None

    def _reaction(self, part: Message) -> None:
        if not self.reaction and not _is_attachment(part):  # as an attachment it is not one (Gmail's rule)
            self.reaction = reaction_emoji(_transfer_decode(part, Problems())[:4096])

    def _salvage(self, part: Message, ctype: str, depth: int) -> None:
        """A multipart with no (usable) boundary: guess it from the first ``--x`` line."""
        body = payload_bytes(part)
        m = re.search(rb"^--([^\s\"]{1,200})[ \t]*\r?$", body, re.M)
        if m:
            head = b'Content-Type: %s; boundary="%s"\n\n' % (ctype.encode(), m.group(1))
            inner = email.message_from_bytes(head + body, policy=compat32)
            if inner.is_multipart():
                self.problems.add("MIME boundary guessed from body")
                self.walk(inner, depth + 1)
                return
        self.problems.add("multipart body shown as plain text")
        self.texts.append(decode_bytes(body, _charset(part), self.problems, "body"))

    def _text(self, part: Message, html: bool) -> None:
        data = _transfer_decode(part, self.problems)
        text = decode_bytes(data, _charset(part), self.problems, "body")
        if html:
            if len(text) > 2 * TEXT_LIMIT:
                self.problems.add("HTML body over 2 MB, rest ignored")
            text = html_to_text(text, limit=2 * TEXT_LIMIT)
        self.texts.append(text)

    def _attach(self, part: Message, ctype: str) -> None:
        try:
            filename = part.get_filename() or ""
        except Exception:  # noqa: BLE001 -- broken RFC 2231 parameters
            filename = ""
        filename = one_line(decode_words(str(filename), self.problems, "filename"),
                            self.problems, "filename")
        if part.is_multipart():
            size = _tree_size(part, 0)
        else:
            size = _encoded_size(part)
        self.attachments.append(Attachment(filename, ctype, size))


_CALENDAR_TYPES = ("text/calendar", "application/ics")
_ICAL_LINE = re.compile(r"^(METHOD|COMMENT|ATTENDEE)([;:][^\n]*)$", re.M | re.I)
_PARTSTAT = re.compile(r";PARTSTAT=([A-Za-z-]{1,20})", re.I)


def calendar_facts(part: Message) -> dict | None:
    """What an iCalendar part (RFC 5545/5546) says, or ``None`` when it names no method:
    ``{"method": "REPLY", "partstat": "ACCEPTED", "comment": False}``. A REPLY is a
    client's automatic answer to an invitation; ``comment`` says the person also wrote a note.
    The method comes from the Content-Type parameter, else the object's METHOD line (some
    clients leave the parameter out); only the first 64 kB are read. Its problems are not the
    message's (the part is kept as an attachment either way), so they are not recorded."""
    data = _transfer_decode(part, Problems())[:65536]
    text = decode_bytes(data, _charset(part), Problems(), "calendar")
    text = re.sub(r"\r?\n[ \t]", "", text.replace("\r\n", "\n"))  # unfold (RFC 5545 3.1)
    method = str(part.get_param("method") or "").strip().upper()
    partstat = ""
    comment = False
    for m in _ICAL_LINE.finditer(text):
        name = m.group(1).upper()
        if name == "METHOD" and not method:
            method = m.group(2)[1:].strip().upper()
        elif name == "COMMENT":
            comment = comment or bool(m.group(2).partition(":")[2].strip())
        elif name == "ATTENDEE" and not partstat:
            p = _PARTSTAT.search(m.group(2))
            partstat = p.group(1).upper() if p else ""
    if not method:
        return None
    return {"method": method[:20], "partstat": partstat, "comment": comment}


#: Gmail's emoji reactions (developers.google.com/workspace/gmail/reactions/format): a part of
#: this type, not an attachment, holding ``{"emoji": "👍", "version": 1}``, beside the text and
#: HTML that other clients show ("👍 via Gmail").
REACTION_TYPE = "text/vnd.google.email-reaction+json"


def reaction_emoji(data: bytes) -> str:
    """The emoji of a reaction part, or "" when the part is not a valid reaction (version 1, one
    emoji: a short string of emoji characters only). An invalid one is an ordinary message."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ""
    if not isinstance(value, dict) or value.get("version") != 1:
        return ""
    emoji = value.get("emoji")
    if not isinstance(emoji, str) or not 0 < len(emoji) <= 16 or not any(_EMOJI_CATEGORY.get(
            unicodedata.category(c)) for c in emoji) or not all(_emoji_char(c, emoji) for c in emoji):
        return ""
    return emoji


#: What an emoji is made of: symbols, the marks and joiners that combine them (skin tones are
#: Sk, the variation selector U+FE0F is Mn, the zero-width joiner U+200D is Cf), and a keycap's
#: digit. Nothing else (letters, spaces, control characters) gets into a reason shown on screen.
_EMOJI_CATEGORY = {"So": True, "Sk": True, "Me": True}


def _emoji_char(c: str, emoji: str) -> bool:
    cat = unicodedata.category(c)
    return cat in ("So", "Sk", "Mn", "Me") or c in "\u200d\U000e007f" or "\U000e0020" <= c <= "\U000e007e" or (
        c in "0123456789#*" and "\u20e3" in emoji)


def _charset(part: Message) -> str | None:
    value = part.get_param("charset")
    if isinstance(value, tuple):  # RFC 2231 form
        value = collapse_rfc2231_value(value)
    return str(value) if value else None


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("content-disposition", "")).partition(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    if disposition == "inline":
        return False
    return bool(part.get_param("name") or part.get_param("filename", header="content-disposition"))


def _cte(part: Message) -> str:
    return str(part.get("content-transfer-encoding", "")).strip().strip("\"'").lower()


#: Big leaves cut out before parsing (see ``bounded.reduce_for_parsing``): the token
#: that replaced each run -> the run's decoded size. Set per parse, read by the size helpers.
ELIDED: contextvars.ContextVar[dict[bytes, int]] = contextvars.ContextVar("elided", default={})


def _elided_size(data: bytes) -> int | None:
    table = ELIDED.get()
    return table.get(data.strip()) if table and len(data) < 64 else None


def payload_bytes(part: Message) -> bytes:
    # compat32 keeps the undecoded body as a str with 8-bit bytes as surrogates.
    payload = part._payload  # noqa: SLF001 -- the raw form; get_payload() decodes lossily
    if isinstance(payload, bytes):
        return payload
    return str(payload).encode("ascii", "surrogateescape")


def _transfer_decode(part: Message, problems: Problems) -> bytes:
    data = payload_bytes(part)
    elided = _elided_size(data)
    if elided is not None:
        problems.add(f"a {elided / 1048576:.0f} MB encoded body part was too large to decode; skipped")
        return b""
    cte = _cte(part)
    if cte == "base64":
        if _NOT_BASE64.search(data):
            problems.add("invalid characters in base64 body ignored")
        decoded = b64decode_lenient(data)
        if decoded is None:
            problems.add("undecodable base64 body")
            return data
        return decoded
    if cte == "quoted-printable":
        return binascii.a2b_qp(data)
    if cte in ("x-uuencode", "uuencode", "x-uue", "uue"):
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else data
    if cte not in ("", "7bit", "8bit", "binary"):
        problems.add(f"unknown Content-Transfer-Encoding {cte[:40]!r}")
    return data


def _encoded_size(part: Message) -> int:
    """Decoded size without decoding: attachments can be tens of MB."""
    data = payload_bytes(part)
    elided = _elided_size(data)
    if elided is not None:
        return elided
    if _cte(part) == "base64":
        n = len(data) - sum(data.count(c) for c in (b"\n", b"\r", b" ", b"\t"))
        return max(0, n * 3 // 4 - data.rstrip().endswith(b"=") - data.rstrip().endswith(b"=="))
    return len(data)


def _tree_size(part: Message, depth: int) -> int:
    size = sum(len(str(k)) + len(str(v)) + 4 for k, v in part.raw_items())
    if depth > MAX_DEPTH:
        return size
    if part.is_multipart():
        return size + sum(_tree_size(p, depth + 1) for p in part.get_payload()
                          if isinstance(p, Message))
    return size + len(payload_bytes(part))


def clean_text(text: str, problems: Problems) -> str:
    if "\x00" in text:
        problems.add("NUL bytes removed")
        text = text.replace("\x00", "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > TEXT_LIMIT:
        problems.add(f"text over {TEXT_LIMIT // 1_000_000} MB, cut")
        text = text[:TEXT_LIMIT]
    return text
