"""Phone numbers as one form (E.164, ``+15551234567``), and the opt-out keywords of texting.

Every number the app keeps (a text's sender, a caller, a number left on the feedback form or
written in a review) goes through ``to_e164`` so the same person is one contact whatever way
they wrote it. ``phonenumbers`` (Google's libphonenumber metadata) does the parsing; it is
imported when first needed, so ``owner-tui`` starts without it.

The keywords are Twilio's documented defaults for SMS opt-out and opt-in ("Twilio's default
opt-out keywords": STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, plus REVOKE and OPTOUT;
opt-in: START, YES, UNSTOP, plus SUBSCRIBE). Twilio matches the whole message body, trimmed,
case-insensitively; so do we ("Stop sending me these" is an ordinary message).
"""

from __future__ import annotations

import re
from functools import lru_cache

#: The default region when a number is written without its country code.
DEFAULT_REGION = "US"

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP", "SUBSCRIBE"})
#: The number a WhatsApp address carries: ``whatsapp:+15551234567``.
CHANNEL_PREFIXES = ("whatsapp:", "sms:", "tel:", "phone:")

#: Seven digits or more, possibly broken up by spaces, dots, dashes and brackets: the cheap test
#: before the real parser runs on a message body.
_DIGITS = re.compile(r"\+?\(?\d[\d\s().\-]{5,}\d")


def keyword(text: str) -> str | None:
    """``"STOP"``-like or ``"START"``-like keyword the whole body is, upper-cased, else None."""
    word = (text or "").strip().strip(".!").upper()
    if word in OPT_OUT_KEYWORDS or word in OPT_IN_KEYWORDS:
        return word
    return None


def is_opt_out(text: str) -> bool:
    return keyword(text) in OPT_OUT_KEYWORDS


def is_opt_in(text: str) -> bool:
    return keyword(text) in OPT_IN_KEYWORDS


def strip_channel(address: str) -> str:
    """``whatsapp:+1555...`` -> ``+1555...``; other text unchanged."""
    value = (address or "").strip()
    low = value.lower()
    for prefix in CHANNEL_PREFIXES:
        if low.startswith(prefix):
            return value[len(prefix):].strip()
    return value


@lru_cache(maxsize=4096)
def to_e164(text: str | None, region: str | None = DEFAULT_REGION) -> str | None:
    """The number in E.164 (``+15551234567``), or None when ``text`` is not a possible number.

    A number without a country code is read in ``region`` (ISO 3166 alpha-2, e.g. "US", "FR").
    "Possible" rather than "valid": numbers the metadata does not know yet (and the fictional
    555 numbers of tests and demos) are still numbers, and Twilio is the judge of delivery.
    """
    raw = strip_channel(text or "")
    if not raw or len(raw) > 40 or not any(c.isdigit() for c in raw):
        return None
    import phonenumbers

    try:
        num = phonenumbers.parse(raw, (region or DEFAULT_REGION).upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def numbers_in(text: str, region: str | None = DEFAULT_REGION, *, limit: int = 4000) -> list[str]:
    """The phone numbers written in a message (a review that says "call me on 415-555-2671", an
    email signature), in E.164, in order, without repeats. Only the first ``limit`` characters
    are read: a signature is near the top of what a customer writes, and this runs at ingest."""
    head = (text or "")[:limit]
    if not _DIGITS.search(head):
        return []
    import phonenumbers

    out: list[str] = []
    try:
        matcher = phonenumbers.PhoneNumberMatcher(head, (region or DEFAULT_REGION).upper(),
                                                  leniency=phonenumbers.Leniency.POSSIBLE)
        for match in matcher:
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in out:
                out.append(e164)
    except Exception:  # the matcher on hostile text: a mention is a hint, never worth a failed ingest
        return out
    return out


def display(e164: str) -> str:
    """A number for people: ``+1 555-123-4567`` (international format), or as given."""
    if not e164 or not e164.startswith("+"):
        return e164 or ""
    import phonenumbers

    try:
        num = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def region_of(config) -> str:
    """The default region for numbers written without a country code: the first ``twilio``
    account's ``region`` (or ``country``) option, else "US"."""
    for acc in getattr(config, "accounts", ()):
        if acc.kind == "twilio":
            value = acc.options.get("region") or acc.options.get("country")
            if isinstance(value, str) and len(value) == 2:
                return value.upper()
    return DEFAULT_REGION
