"""Twilio's error codes in plain words (https://www.twilio.com/docs/errors/<code>).

A plain dict ``code -> (words, what to do, retryable)`` so each half of issue 19 adds its codes
without touching the other's: the read side (sync, the account test) is here; the send side
(opted out, outside the WhatsApp window, invalid number...) is added by the sender. ``words``
says what happened, ``todo`` what the owner can do about it; ``retryable`` is whether trying
again later may help without the owner changing anything.
"""

from __future__ import annotations

ERRORS: dict[int, tuple[str, str, bool]] = {
    20003: ("Twilio refused the Account SID and auth token (or API key and secret)",
            "check them in the Twilio console (Account > API keys & tokens) and save them again", False),
    20005: ("this Twilio account is not active (suspended or closed)",
            "look at the account's status in the Twilio console", False),
    20008: ("these are Twilio test credentials, which cannot read messages or calls",
            "use the live Account SID and auth token", False),
    20404: ("Twilio has no such resource for this account",
            "check the Account SID and the business numbers in config.toml", False),
    20429: ("Twilio is limiting how fast we may call it (too many requests)",
            "nothing to do: owner-tui waits and tries again", True),
    20500: ("Twilio had an internal error", "nothing to do: owner-tui tries again later", True),
    20503: ("Twilio is temporarily unavailable", "nothing to do: owner-tui tries again later", True),
    21408: ("this Twilio account has no permission for that region",
            "enable the country under Messaging > Settings > Geo permissions in the Twilio console", False),
    21606: ("that number is not an SMS-capable number of this Twilio account",
            "check `numbers` and `whatsapp_from` in config.toml", False),
    # -- the send side (send/twilio): refused when the text is posted ---------------------------
    21211: ("the customer's number is not a valid phone number", "check the number; nothing was sent", False),
    21610: ("the customer texted STOP: Twilio will not send to this number until they text START",
            "answer another way (phone, email) and mark it replied elsewhere", False),
    21614: ("the customer's number is not a mobile number and cannot take texts", "call them back instead", False),
    21617: ("the text is longer than Twilio takes in one message (1,600 characters)", "shorten it", False),
    63016: ("WhatsApp allows a free-form reply only within 24 hours of the customer's last message",
            "send the approved template (set whatsapp_template_sid) or wait for them to write again", False),
    # -- accepted, then not delivered (error_code on an undelivered or failed message) -----------
    30003: ("the customer's phone is unreachable (switched off or out of coverage)",
            "try again later or call them", True),
    30005: ("the customer's number is unknown to their carrier (it may no longer exist)", "check the number",
            False),
    30006: ("the number is a landline or its carrier cannot take texts", "call them back instead", False),
    30007: ("the carrier rejected the message (filtered as spam or unregistered traffic)",
            "register the number for business texting (A2P 10DLC) or reword the text", False),
    30008: ("the message could not be delivered (an unknown error from the carrier)", "try again later", True),
}


def describe(code: int | str | None) -> tuple[str, str, bool] | None:
    """The words for a Twilio error code, or None for a code not in the table."""
    try:
        return ERRORS.get(int(code)) if code is not None else None
    except (TypeError, ValueError):
        return None


def words_for(code: int | str | None, fallback: str = "") -> str:
    """One line for the owner: "what happened (Twilio error N): what to do"."""
    found = describe(code)
    if found is None:
        return f"{fallback} (Twilio error {code})" if code is not None and fallback else fallback
    words, todo, _ = found
    return f"{words} (Twilio error {code}): {todo}"
