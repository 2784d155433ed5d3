"""Twilio's numeric error codes in words an owner understands, with what to do.

``ERRORS[code] = (what happened, what to do, retryable)``. Twilio answers a refused request
with JSON ``{"code", "message", "more_info", "status"}``; a message that failed after it was
accepted carries ``error_code`` and ``error_message`` on the Message resource. Codes are
Twilio's documented ones (https://www.twilio.com/docs/api/errors); their exact wording is not
relied on, only the numbers.
"""

from __future__ import annotations

ERRORS: dict[int, tuple[str, str, bool]] = {
    # -- refused at send time --------------------------------------------------------------------
    20003: ("Twilio did not accept the account's credentials",
            "check account_sid and the auth token (or API key) in config.toml", False),
    20429: ("Twilio asked us to slow down (too many requests)", "it is tried again after the wait", True),
    21211: ("the customer's number is not a valid phone number", "check the number; nothing was sent", False),
    21408: ("texting this country is not enabled on the Twilio account",
            "enable the region in the Twilio console (Messaging > Geo permissions)", False),
    21610: ("the customer texted STOP: Twilio will not send to this number until they text START",
            "answer another way (phone, email) and mark it replied elsewhere", False),
    21614: ("the customer's number is not a mobile number and cannot take texts",
            "call them back instead", False),
    63016: ("WhatsApp allows a free-form reply only within 24 hours of the customer's last message",
            "send the approved template (set whatsapp_template_sid) or wait for them to write again", False),
    # -- accepted, then not delivered ------------------------------------------------------------
    30003: ("the customer's phone is unreachable (switched off or out of coverage)",
            "try again later or call them", True),
    30005: ("the customer's number is unknown to their carrier (it may no longer exist)",
            "check the number", False),
    30006: ("the number is a landline or the carrier cannot take texts", "call them back instead", False),
    30007: ("the carrier rejected the message (filtered as spam or unregistered traffic)",
            "register your number for business texting (A2P 10DLC) or reword the text", False),
    30008: ("the message could not be delivered (unknown error from the carrier)", "try again later", True),
}

#: HTTP 429 without a Twilio code is read as 20429.
RATE_LIMIT = 20429


def explain(code: int | str | None) -> tuple[str, str, bool] | None:
    """The words for ``code``, or None for a code not in the table."""
    try:
        number = int(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return ERRORS.get(number)


def describe(code: int | str | None, fallback: str = "") -> str:
    """One line for the owner: ``the carrier rejected the message (30007)``; an unknown code
    gives Twilio's own (cleaned) message with the code, so it can be looked up."""
    found = explain(code)
    if found:
        return f"{found[0]} ({int(code)})"  # type: ignore[arg-type]
    from owner_tui.sanitize import one_line

    words = one_line(fallback or "", limit=200) or "Twilio gave no reason"
    return f"{words} ({code})" if code not in (None, "") else words
