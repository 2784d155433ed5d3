"""How many SMS segments a text costs, and in which encoding (3GPP TS 23.038 and 23.040).

A text made only of the GSM 7-bit default alphabet goes as GSM-7: 160 septets in one message,
153 per segment once it is split (the User Data Header of a concatenated SMS takes 7). The
characters of the extension table (``^ { } \\ [ ~ ] | €`` and form feed) cost two septets
each: an escape and the character. Any other character switches the *whole* message to UCS-2:
70 UTF-16 code units in one message, 67 per segment; a character outside the Basic
Multilingual Plane (most emoji) is two code units.

Carriers reassemble segments in order, and neither an escape pair nor a surrogate pair may be
cut in two, so the split here is greedy by character: a two-unit character that does not fit
in what is left of a segment opens the next one (Twilio's segment calculator does the same).

WhatsApp has no segments: ``whatsapp_length`` measures its body against its limit.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The GSM 7-bit default alphabet (TS 23.038 6.2.1), less ESC (0x1B), which only introduces
#: the extension table and is never a character of its own in a text.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
#: The extension table (TS 23.038 6.2.1.1): two septets each (ESC + the character).
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
WHATSAPP_LIMIT = 4096


@dataclass(frozen=True)
class Segments:
    """What the text costs as an SMS."""

    encoding: str  # "GSM-7" or "UCS-2"
    used: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int  # 0 for an empty text
    left: int  # septets or code units still free in the last segment
    #: The characters that forced UCS-2, in order of first appearance (empty for GSM-7).
    non_gsm: tuple[str, ...] = ()

    def line(self) -> str:
        """``GSM-7 · 2 segments · 146 left``."""
        n = self.segments
        return f"{self.encoding} · {n} segment{'' if n == 1 else 's'} · {self.left} left"


def _cost_gsm(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _cost_ucs2(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def is_gsm7(ch: str) -> bool:
    return ch in GSM7_BASIC or ch in GSM7_EXTENSION


def count(text: str) -> Segments:
    """The encoding, size, segments and room left for ``text`` as one SMS."""
    non_gsm: list[str] = []
    for ch in text:
        if not is_gsm7(ch) and ch not in non_gsm:
            non_gsm.append(ch)
    if non_gsm:
        encoding, cost, single, part = "UCS-2", _cost_ucs2, UCS2_SINGLE, UCS2_PART
    else:
        encoding, cost, single, part = "GSM-7", _cost_gsm, GSM7_SINGLE, GSM7_PART
    costs = [cost(ch) for ch in text]
    used = sum(costs)
    if used == 0:
        return Segments(encoding, 0, 0, single, tuple(non_gsm))
    if used <= single:
        return Segments(encoding, used, 1, single - used, tuple(non_gsm))
    segments, filled = 1, 0
    for c in costs:
        if filled + c > part:  # a pair never straddles two segments
            segments += 1
            filled = 0
        filled += c
    return Segments(encoding, used, segments, part - filled, tuple(non_gsm))


def describe_char(ch: str) -> str:
    """A character named safely for the status line: printable ones quoted, others by code."""
    import unicodedata

    name = unicodedata.name(ch, "")
    if ch.isprintable() and not ch.isspace():
        return f"“{ch}”" + (f" ({name.lower()})" if name else "")
    return f"U+{ord(ch):04X}" + (f" ({name.lower()})" if name else "")


def editor_line(text: str) -> tuple[str, str | None]:
    """The reply editor's status for an SMS: the count, and a warning naming the character
    that switched the text to UCS-2 (which cuts a segment from 160 to 70)."""
    s = count(text)
    warning = None
    if s.non_gsm:
        first = describe_char(s.non_gsm[0])
        more = f" and {len(s.non_gsm) - 1} other character{'s' if len(s.non_gsm) > 2 else ''}" \
            if len(s.non_gsm) > 1 else ""
        warning = (f"{first}{more} is not in the GSM-7 alphabet: the whole text goes as UCS-2, "
                   f"{UCS2_SINGLE} characters a segment instead of {GSM7_SINGLE}")
    return s.line(), warning


def whatsapp_length(text: str) -> tuple[int, int]:
    """(characters, limit) of a WhatsApp body: no segments, one limit."""
    return len(text), WHATSAPP_LIMIT
