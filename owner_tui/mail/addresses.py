"""Addresses in header fields (From, To, Reply-To, X-Original-From) as real mailers write them.

The stdlib parser (``parseaddr``/``getaddresses``) is pure Python and was an eighth of the parse
time, and it reads a raw header: an RFC 2047 encoded-word in a display name can hold ":" (read
as a group) or a ``<someone@else>`` of its own (a spoof, or a mailer's "Jane <jane@x>" as the
name), and it returns that address. So the common ``Name <a@b>`` and bare ``a@b`` forms take a
fast path, one ``<addr>`` at the end is the address whatever precedes it, and the stdlib
handles the rest (quotes with escapes, comments, groups, source routes).

Pure functions: names are returned as written (still encoded); ``person`` decodes one.
"""

from __future__ import annotations

import re
from email.utils import getaddresses, parseaddr

from owner_tui.mail.decode import Problems, decode_words, one_line

_ADDR = r"[^\s<>\"(),;:\\@\[\]]+@[^\s<>\"(),;:\\@\[\]]+"
_NAMED = re.compile(r'\s*(?:"([^"\\]*)"|([^"<>()\\,;:@\[\]]*?))\s*<(' + _ADDR + r")>\s*\Z")
_BARE = re.compile(r"\s*(" + _ADDR + r")\s*\Z")
_TRAILING = re.compile(r"()<(" + _ADDR + r")>\s*\Z")
_LOOSE_ADDR = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_LOOSE_LIMIT = 1000
_COMMENT = re.compile(r"\([^()]*\)")
_SPACE_BY_DOT = re.compile(r"\s*([.@])\s*")  # a name and an address; the search is quadratic on a hostile run


def parse_address(value: str) -> tuple[str, str]:
    """One mailbox: ``(name as written, address as written)``; ``("", "")`` when none. Of
    several mailboxes (RFC 5322 allows more than one author), the first with an address."""
    m = _NAMED.match(value)
    if m:
        return m.group(1) if m.group(1) is not None else m.group(2), m.group(3)
    m = _BARE.match(value)
    if m:
        return "", m.group(1)
    cut = value.rfind("<")
    head = value[:cut]
    if cut >= 0 and ("<" not in head or "=?" in head):
        m = _TRAILING.match(value, cut)  # from the last "<": linear on a hostile megabyte
        if m:
            return head.strip().strip('"'), m.group(2)
        inside = value[cut + 1:].partition(">")[0].strip()
        # RFC 5322's obsolete comments and folding inside an address: "pete(his account)@silly.test",
        # "jdoe@machine(comment).  example". Only spaces beside a "." or "@" go: spaces inside a
        # word ("power quadrant system@") stay, so no other address is made up.
        plain = _SPACE_BY_DOT.sub(r"\1", _COMMENT.sub("", inside)).strip()
        if plain != inside and _BARE.match(plain):
            return head.strip().strip('"'), plain
        if "@" in inside and ">" in value[cut:] and "<" not in head:
            # "<power quadrant system@example.com>": broken, but that is what was written. Never
            # an address made up from a piece of it, which could be a stranger's.
            return head.strip().strip('"'), inside
    if len(value) <= _LOOSE_LIMIT:
        pairs = getaddresses([value])
        for name, addr in pairs:
            if _BARE.match(addr or ""):
                return name, addr
    name, addr = parseaddr(value)
    if not _BARE.match(addr or "") and "@" in value and len(value) <= _LOOSE_LIMIT:
        # "Jane Morgan jane@mail.example", no angle brackets (old mailers, some forms): the one
        # address in it, the rest as the name.
        found = _LOOSE_ADDR.findall(value)
        if found:  # "tim@x.example concierge@x.example": the first author
            rest = value
            for f in found:
                rest = rest.replace(f, " ")
            return " ".join(rest.replace('"', " ").split()), found[0]
    return name, addr


def parse_addresses(value: str) -> list[tuple[str, str]]:
    """Every mailbox of an address list, in order, as ``(name as written, address)``."""
    if not any(c in value for c in '"(:;\\'):
        out = []
        for piece in value.split(","):
            if not piece.strip():
                continue
            m = _NAMED.match(piece) or _BARE.match(piece)
            if m is not None:
                out.append((m.group(1) or m.group(2) or "", m.group(3)) if m.re is _NAMED else ("", m.group(1)))
            else:  # an encoded name holding "<...>" of its own, an address without brackets
                out.append(parse_address(piece))
        return out
    return getaddresses([value])


def person(value: str) -> tuple[str, str]:
    """The first mailbox with an address in a header value: ``(decoded name, lower-case
    address)``, or ``("", "")``."""
    for name, addr in parse_addresses(value or ""):
        addr = (addr or "").strip().lower()
        if "@" in addr:
            return one_line(decode_words((name or "").strip(), Problems(), "name"), Problems(), "name"), addr
    return "", ""
