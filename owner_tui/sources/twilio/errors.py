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
