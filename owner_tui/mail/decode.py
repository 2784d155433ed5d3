"""Bytes and encoded-words to text, the way real mail needs it.

Declared charsets lie (UTF-8 labelled latin-1, latin-1 labelled UTF-8), labels are unknown
("x-foo") or name a Windows superset ("iso-8859-1" means cp1252 in every browser), and
RFC 2047 encoded-words arrive split mid-character or with broken base64. Everything here
returns text and notes what it had to guess in a ``Problems`` list; nothing raises.
"""

from __future__ import annotations

import binascii
import codecs
import re
from functools import lru_cache

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?]*)\?=")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SPACES = re.compile(r"\s+")
FIELD_LIMIT = 998  # RFC 5322 line length: subjects, names, filenames longer than this are cut

# WHATWG encoding rules: labels that mean a superset in practice.
_ALIASES = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252", "latin1": "cp1252",
    "latin-1": "cp1252", "l1": "cp1252", "gb2312": "gb18030", "gbk": "gb18030",
    "ks_c_5601-1987": "cp949", "euc-kr": "cp949", "iso-8859-8-i": "iso-8859-8",
    "shift_jis": "cp932", "x-sjis": "cp932", "sjis": "cp932", "big5": "cp950",
    "tis-620": "cp874", "windows-874": "cp874", "macintosh": "mac_roman",
    "x-mac-roman": "mac_roman", "unicode-1-1-utf-7": "utf-7", "utf8": "utf-8",
}
# Codecs Python knows that are not a mail charset (they transform, not decode).
_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape",
                           "undefined", "unicode_escape", "raw_unicode_escape", "mbcs", "oem"})
# Single-byte "western" labels that UTF-8 text is often mislabelled with.
_WESTERN = frozenset({"ascii", "cp1252", "iso8859-15"})
# Codecs mapping one byte to one character: an undecodable byte there means a wrong label.
_SINGLE_BYTE = frozenset({"ascii", "cp1252", "iso8859-15", "latin-1"})
# Charsets whose text is pure 7-bit bytes: the ASCII fast path would skip their decoding.
_SEVEN_BIT_CODECS = ("iso2022", "utf-7", "utf-16", "utf-32", "hz")
#: What a mailer labelled one charset but wrote in a relative: Shift_JIS (cp932) labelled
#: ISO-2022-JP by Japanese marketing tools, EUC-JP likewise; the wider supersets of the rest.
_RELATIVES = {"iso2022_jp": ("cp932", "euc_jp"), "iso2022_jp_2": ("cp932", "euc_jp"), "euc_jp": ("cp932",),
              "cp932": ("euc_jp",), "gb18030": ("cp950",), "cp950": ("big5hkscs", "gb18030"), "cp949": ("gb18030",)}


class Problems(list[str]):
    """Problems in first-seen order, each once."""

    def add(self, text: str) -> None:
        if text not in self:
            self.append(text)


def b64decode_lenient(data: bytes) -> bytes | None:
    """Base64 with junk characters dropped and padding repaired; None if nothing is left."""
    if not data.strip():
        return b""
    data = _B64_JUNK.sub(b"", data)
    if not data:
        return None
    if len(data) % 4 == 1:
        data = data[:-1]  # one stray character cannot encode anything
    try:
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return None


def decode_words(value: str, problems: Problems, what: str) -> str:
    """Decode RFC 2047 encoded-words, tolerating what real mailers send.

    Adjacent words in one charset are joined as bytes before decoding, because Outlook and
    others split a multi-byte character across two encoded-words.
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: tuple[str, bytearray] | None = None
    pos = 0
    for m in _ENCODED_WORD.finditer(value):
        gap = value[pos : m.start()]
        charset = m.group(1).split("*", 1)[0]  # RFC 2231 language suffix: utf-8*en
        data = _word_bytes(m.group(2), m.group(3))
        if data is None:
            problems.add(f"undecodable encoded-word in {what}")
            data_text = m.group(0)
            if pending:
                out.append(decode_bytes(bytes(pending[1]), pending[0], problems, what))
                pending = None
            out.append(gap + data_text)
        elif pending and (not gap or gap.isspace()):
            # RFC 2047 section 6.2: whitespace between encoded-words is not displayed.
            if pending[0].lower() == charset.lower():
                pending[1].extend(data)
            else:
                out.append(decode_bytes(bytes(pending[1]), pending[0], problems, what))
                pending = (charset, bytearray(data))
        else:
            if pending:
                out.append(decode_bytes(bytes(pending[1]), pending[0], problems, what))
            out.append(gap)
            pending = (charset, bytearray(data))
        pos = m.end()
    if pending:
        out.append(decode_bytes(bytes(pending[1]), pending[0], problems, what))
    out.append(value[pos:])
    return "".join(out)


def _word_bytes(kind: str, text: str) -> bytes | None:
    data = text.encode("utf-8", "surrogateescape")
    if kind in "qQ":
        return binascii.a2b_qp(data, header=True)
    return b64decode_lenient(data)


def one_line(value: str, problems: Problems, what: str) -> str:
    """A header field for display: whitespace runs collapsed, NULs gone, length capped."""
    value = _SPACES.sub(" ", value).strip().replace("\x00", "")
    if len(value) > FIELD_LIMIT:
        problems.add(f"{what} longer than {FIELD_LIMIT} characters, cut")
        value = value[:FIELD_LIMIT]
    return value


@lru_cache(maxsize=512)
def _codec(label: str) -> str | None:
    """Python codec name for a MIME charset label, or None when unknown or not a charset."""
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def decode_bytes(
    data: bytes, label: str | None, problems: Problems, what: str, *, quiet_utf8: bool = False
) -> str:
    """Declared charset -> UTF-8 -> cp1252 with replacement, noting each step taken."""
    codec = _codec(label[:64]) if label else None
    if label and codec is None and label.strip().lower() not in ("unknown-8bit", "x-unknown"):
        problems.add(f"unknown charset {label[:40]!r} in {what}")
    if data.isascii() and not (codec and codec.startswith(_SEVEN_BIT_CODECS)):
        if codec is None and (b"\x1b$B" in data or b"\x1b$@" in data):
            # ISO-2022-JP's escapes with no charset declared (old Japanese mailers): its text.
            try:
                text = data.decode("iso2022_jp")
            except (UnicodeDecodeError, ValueError):
                pass
            else:
                problems.add(f"{what} has ISO-2022-JP text without a charset; read as ISO-2022-JP")
                return text
        return data.decode("ascii")
    # Bytes that are valid UTF-8 with non-ASCII in them are UTF-8 whatever the label says: text
    # really in GB2312, Shift_JIS, KOI8-R or cp1252 is almost never valid UTF-8 by chance, and a
    # mailer that declares its locale's charset but writes UTF-8 is common (Chinese, Japanese).
    if codec is None or not codec.startswith(_SEVEN_BIT_CODECS):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if codec is not None and codec not in ("utf-8", "utf_8"):
                problems.add(f"{what} declared {label} but is UTF-8")
            elif not quiet_utf8 and not label:
                problems.add(f"{what} has 8-bit text without a charset; UTF-8 used")
            return text
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError):
            problems.add(f"{what} is not valid {label}")
        for relative in _RELATIVES.get(codec, ()):
            try:
                text = data.decode(relative)
            except (UnicodeDecodeError, LookupError, ValueError):
                continue
            problems.add(f"{what} read as {relative}")
            return text
        # A few broken bytes in a multi-byte charset (a character cut at a line or part
        # boundary, an odd byte at the end of UTF-16) read better with replacement marks
        # than the whole text as cp1252: keep the declared charset when most of it decodes.
        text = data.decode(codec, "replace")
        bad = text.count("\ufffd")
        if codec.startswith(("utf-16", "utf-32")):
            mostly = bad <= max(1, len(text) // 20)
        else:  # UTF-8, CJK: real text has more good non-ASCII characters than bad ones
            mostly = len(_NON_ASCII.findall(text)) - bad >= bad
        if codec not in _SINGLE_BYTE and mostly:
            problems.add(f"invalid {label} bytes in {what} replaced")
            return text
    problems.add(f"{what} decoded as cp1252")
    return data.decode("cp1252", "replace")
