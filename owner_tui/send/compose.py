"""Build the reply email: threading headers right, header injection impossible.

Everything that goes into a header here may come from a stranger: the customer's name and
address, the subject, the Message-IDs of their mail. A CR/LF in any of them, or an RFC 2047
encoded word that *decodes* to one (``=?utf-8?q?x=0D=0ABcc:_evil?=``: Python's email
package writes that back out as a real line break), must never add a header or a recipient.
Three layers make sure of it:

1. Display text (names, subject) is decoded and stripped of control characters, and left-over
   ``=?`` sequences are broken up so the header parser cannot decode them a second time.
   Address headers are written by ``format_mailbox``, not the email package's folder.
2. Addresses and Message-IDs are validated strictly and refused (or, for the parent's
   References, dropped) when they are not plain single values.
3. The finished message is serialized and parsed back: if the header names or the
   recipients are not exactly the ones we meant to write, ``build_reply`` raises.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from collections.abc import Iterable, Sequence
from email import policy as email_policy
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import format_datetime, getaddresses

from owner_tui.records import normalize_msgid

#: The References header keeps the thread root and the most recent ids (RFC 5322 §3.6.4
#: sets no limit; long threads would otherwise grow it without end).
MAX_REFERENCES = 20

# Anything that can end or fold a line in some decoder: C0 controls, DEL, NEL, LS, PS.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
# A Message-ID as we accept it: <...> of visible ASCII, no nested brackets or spaces.
_MSGID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+>")
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")
# Reply prefixes in common mail clients: Re, RE, Re[2], AW (de), SV (da/sv/no), Antw (nl).
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|sv|antw)\s*(?:\[\d+\])?\s*:\s*", re.IGNORECASE)

# Headers are stored raw for the ids (see ``_set_raw``): the default folder would turn a
# Message-ID longer than a line into RFC 2047 encoded words, which breaks threading.
_POLICY = email_policy.SMTP.clone(refold_source="none")


def clean_text(value: str) -> str:
    """Header display text made safe: encoded words decoded, no control characters.

    Encoded words are decoded repeatedly (a decoded value may itself look encoded), control
    characters become spaces, whitespace is collapsed, and any ``=?`` left over is split
    so nothing downstream decodes it again.
    """
    for _ in range(5):
        try:
            decoded = str(make_header(decode_header(value)))
        except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
            break
        if decoded == value:
            break
        value = decoded
    value = _CONTROL.sub(" ", value)
    value = " ".join(value.split())
    return value.replace("=?", "= ?")


def check_address(value: str) -> str:
    """A single plain addr-spec (``local@domain``), returned stripped; else ValueError.

    An internationalised domain comes back in its ASCII (IDNA) form. Refuses lists, display names, comments, whitespace, control characters and encoded
    words: an address is never "cleaned up" into a different one.
    """
    addr = value.strip() if isinstance(value, str) else ""
    if (
        not addr
        or _CONTROL.search(addr)
        or any(c.isspace() for c in addr)
        or "=?" in addr
        or any(c in addr for c in ",;<>()")
        or addr.count("@") != 1
    ):
        raise ValueError(f"not a single email address: {_shown(value)}")
    local, _, domain = addr.partition("@")
    if not local.isascii():
        # Would need SMTPUTF8 end to end; rare enough to refuse clearly instead.
        raise ValueError(f"addresses with non-ASCII characters before the @ are not supported: {_shown(value)}")
    if not domain.isascii():  # an IDN domain: its ASCII (punycode) form works everywhere
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"not a valid email domain: {_shown(value)}") from exc
        addr = f"{local}@{domain}"
    try:
        parsed = Address(addr_spec=addr)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise ValueError(f"not a valid email address: {_shown(value)}") from exc
    if parsed.addr_spec != addr or not parsed.domain or not parsed.username:
        raise ValueError(f"not a valid email address: {_shown(value)}")
    return addr


def parse_recipient(value: str | tuple[str, str]) -> Address:
    """``"a@b.c"``, ``"Name <a@b.c>"`` or ``(name, addr)`` -> Address (name cleaned, addr checked)."""
    if isinstance(value, tuple):
        name, addr = value
    else:
        m = re.fullmatch(r"\s*(.*?)\s*<([^<>]*)>\s*", value, re.DOTALL)
        name, addr = (m.group(1), m.group(2)) if m else ("", value)
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return Address(display_name=clean_text(name), addr_spec=check_address(addr))


#: Display names longer than this are cut (a name is a name, not a message).
MAX_NAME = 120


def format_mailbox(address: Address) -> str:
    """``"Name" <addr>`` written by us, not by the email package's folder.

    Python 3.11's folder drops the quotes around a long display name full of specials
    (``Ann: x@evil.example`` becomes a group and adds a recipient to the To header), so an
    ASCII name is always a quoted-string and any other name base64 encoded words: nothing
    in it can be read as an address, group or header.
    """
    name = address.display_name[:MAX_NAME]
    addr = address.addr_spec
    if not name:
        return addr
    if name.isascii():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{addr}>'
    # RFC 2047: an encoded word is at most 75 chars, so it carries at most 45 bytes of
    # UTF-8. Break between words where possible (the space stays inside the next encoded
    # word); the line breaks between encoded words are folding, not text.
    chunks: list[bytes] = [b""]
    for piece in re.split(r"(?= )", name):
        data = piece.encode("utf-8")
        if len(chunks[-1]) + len(data) <= 45:
            chunks[-1] += data
            continue
        if chunks[-1]:
            chunks.append(b"")
        for ch in piece:  # a single over-long word: split between characters
            b = ch.encode("utf-8")
            if len(chunks[-1]) + len(b) > 45:
                chunks.append(b"")
            chunks[-1] += b
    encoded = "\n ".join(f"=?utf-8?b?{base64.b64encode(c).decode('ascii')}?=" for c in chunks)
    return f"{encoded}{' ' if len(encoded) + len(addr) < 70 else chr(10) + ' '}<{addr}>"


def clean_msgid(value: str | None) -> str | None:
    """``<id>`` when ``value`` is one plain Message-ID, else None.

    The store keeps ids without brackets (``normalize_msgid``), so a bare ``id@host`` gets
    them back; a bare value without ``@`` is junk, not an id.
    """
    if not value or not isinstance(value, str):
        return None
    v = value.strip()
    if not v.startswith("<"):
        if "@" not in v:
            return None
        v = f"<{v}>"
    # "=?" is legal in an id, but a reader that decodes RFC 2047 in In-Reply-To/References
    # (Python's default policy does) turns "=?utf-8?q?=0D=0A...?=" into a line break.
    return v if _MSGID.fullmatch(v) and "=?" not in v else None


def reply_subject(subject: str) -> str:
    """``Re: <subject>`` without stacking prefixes ("Re: Re: AW: x" -> "Re: x")."""
    text = clean_text(subject or "")
    while True:
        stripped = _REPLY_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    return f"Re: {text}" if text else "Re:"


def thread_references(references: Sequence[str] | str | None, in_reply_to: str | None) -> list[str]:
    """The reply's References: the parent's (valid ones only) plus the parent's own id.

    Duplicates go (compared as ``normalize_msgid`` does); beyond ``MAX_REFERENCES`` the
    first id (the thread root) and the newest ones are kept.
    """
    if isinstance(references, str):  # a raw header value: take the <...> tokens only
        references = re.findall(r"<[^<>\s]*>", references)
    ids = [c for c in (clean_msgid(r) for r in (references or ())) if c]
    parent = clean_msgid(in_reply_to)
    if parent:
        ids.append(parent)
    seen: set[str] = set()
    unique = []
    for i in ids:
        key = normalize_msgid(i)
        if key not in seen:
            seen.add(key)
            unique.append(i)
    if parent and unique[-1] != parent:  # the parent must be last, even if seen before
        unique = [i for i in unique if normalize_msgid(i) != normalize_msgid(parent)] + [parent]
    if len(unique) > MAX_REFERENCES:
        unique = unique[:1] + unique[-(MAX_REFERENCES - 1) :]
    return unique


def make_message_id(domain: str) -> str:
    """A fresh, unguessable ``<random@domain>`` (chosen before sending, stored in the outbox)."""
    try:
        ascii_domain = domain.strip().encode("idna").decode("ascii")
    except (UnicodeError, ValueError) as exc:
        raise ValueError(f"not a usable domain for a Message-ID: {_shown(domain)}") from exc
    if not _DOMAIN.fullmatch(ascii_domain):
        raise ValueError(f"not a usable domain for a Message-ID: {_shown(domain)}")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d%H%M%S")
    return f"<{stamp}.{secrets.token_hex(10)}@{ascii_domain.lower()}>"


def build_reply(
    *,
    from_addr: str,
    from_name: str = "",
    to: Iterable[str | tuple[str, str]],
    subject: str,
    body: str,
    in_reply_to: str | None,
    references: Sequence[str] | str | None,
    message_id: str,
    date: dt.datetime,
) -> EmailMessage:
    """The reply as an ``EmailMessage`` (``policy.SMTP``: CRLF, 7-bit clean headers).

    ``subject`` is the parent's subject; ``Re:`` is added once. ``in_reply_to`` is the
    parent's Message-ID and ``references`` the parent's References. Raises ValueError for a
    bad address, an empty recipient list, a bad ``message_id`` or a naive ``date``.
    """
    sender = Address(display_name=clean_text(from_name or ""), addr_spec=check_address(from_addr))
    recipients = [parse_recipient(r) for r in to]
    if not recipients:
        raise ValueError("a reply needs at least one recipient")
    own_id = clean_msgid(message_id)
    if own_id is None or not message_id.strip().startswith("<"):
        raise ValueError(f"not a valid Message-ID: {_shown(message_id)}")
    if date.tzinfo is None:
        raise ValueError("date must be timezone-aware")
    parent = clean_msgid(in_reply_to)
    refs = thread_references(references, in_reply_to)

    msg = EmailMessage(policy=_POLICY)
    msg.set_raw("From", format_mailbox(sender))
    msg.set_raw("To", ",\n ".join(format_mailbox(r) for r in recipients))
    msg["Subject"] = reply_subject(subject)
    msg["Date"] = format_datetime(date)
    _set_raw(msg, "Message-ID", [own_id])
    if parent:
        _set_raw(msg, "In-Reply-To", [parent])
    if refs:
        _set_raw(msg, "References", refs)
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    plain = text.isascii() and all(len(line) <= 998 for line in text.split("\n"))
    msg.set_content(text, charset="utf-8", cte="7bit" if plain else "quoted-printable")

    _verify(msg, recipients)
    return msg


def _set_raw(msg: EmailMessage, name: str, ids: list[str]) -> None:
    # Already validated: visible ASCII, one id per line, folded with a leading space.
    # Raw values are written as they are (policy refold_source="none"); the header
    # factory would RFC 2047-encode an id longer than a line, and threading would break.
    msg.set_raw(name, "\n ".join(ids))


_EXPECTED = {
    "from", "to", "subject", "date", "message-id", "in-reply-to", "references",
    "content-type", "content-transfer-encoding", "mime-version",
}


def _verify(msg: EmailMessage, recipients: list[Address]) -> None:
    """Serialize and parse back: exactly our headers, once each, and exactly our recipients."""
    raw = msg.as_bytes()
    head, sep, _ = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("reply could not be serialized")
    if not head.isascii():
        raise ValueError("refusing to send: non-ASCII bytes in the reply's headers")
    parsed = HeaderParser(policy=email_policy.compat32).parsestr(head.decode("ascii") + "\r\n\r\n")
    names = [k.lower() for k in parsed.keys()]
    if len(names) != len(set(names)) or not set(names) <= _EXPECTED or len(parsed.defects):
        raise ValueError("refusing to send: the reply's headers came out different than built")
    written = [a.lower() for _, a in getaddresses(parsed.get_all("To", []))]
    if written != [r.addr_spec.lower() for r in recipients]:
        raise ValueError("refusing to send: the reply's recipients came out different than built")


def _shown(value: object) -> str:
    """A value for an error message: repr (control characters visible), shortened."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
