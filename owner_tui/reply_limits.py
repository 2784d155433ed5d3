"""How long a reply each platform takes, checked when the reply is queued, so the owner
learns it in the editor (the text stays there) rather than from a refusal after sending.

Google's ``ReviewReply.comment`` limit is 4096 **bytes** of UTF-8 (issue 15; the docs'
excerpt cut the unit off): CJK text takes 3 bytes a character and most emoji 4, so a
1,400-character Japanese reply is already over. Counting characters let such replies through
to be refused by Google.
"""

from __future__ import annotations

#: channel -> (limit, unit); units: "bytes" (UTF-8) or "characters".
LIMITS: dict[str, tuple[int, str]] = {
    "google": (4096, "bytes"),
    # Twilio takes at most 1,600 characters in a Body (error 21617); a missed call is answered
    # by text. WhatsApp's own limit is 4,096 (UNCONFIRMED through Twilio, which may hold it to
    # 1,600: its refusal is then shown in words).
    "sms": (1600, "characters"),
    "call": (1600, "characters"),
    "whatsapp": (4096, "characters"),
}
#: How a refusal names the reply, where the channel's id is not a word.
_NAMES = {"sms": "A text", "call": "A text", "whatsapp": "WhatsApp"}


def reply_size(channel: str, text: str) -> tuple[int, int, str] | None:
    """(size, limit, unit) of ``text`` for the channel's limit, or None when it has none."""
    if channel not in LIMITS:
        return None
    limit, unit = LIMITS[channel]
    size = len(text.encode("utf-8")) if unit == "bytes" else len(text)
    return size, limit, unit


def reply_problem(channel: str, text: str) -> str | None:
    """A plain sentence when the reply is too long for the platform, else None."""
    measured = reply_size(channel, text.strip())
    if measured is None or measured[0] <= measured[1]:
        return None
    size, limit, unit = measured
    extra = ""
    if unit == "bytes" and size != len(text.strip()):
        extra = (f" ({len(text.strip()):,} characters: accented letters, CJK and emoji take 2-4 bytes "
                 "each)")
    return (f"{_NAMES.get(channel, channel.capitalize())} takes at most {limit:,} {unit} in a reply; this one has {size:,}{extra}. "
            f"Shorten it by {size - limit:,} {unit}; nothing was sent.")
