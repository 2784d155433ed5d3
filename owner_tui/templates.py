"""Saved replies and the text a new reply starts with.

Placeholders are exactly ``{first_name}``, ``{name}``, ``{business}`` and ``{signature}``;
anything else in braces stays as typed. Substitution is a plain regex, not ``str.format``:
a template is user text and ``format`` would let ``{0.__class__}`` reach Python objects.
Names come from strangers, so every value is cleaned to one safe line before it lands in a
reply the owner will send.
"""

from __future__ import annotations

import re
from typing import Mapping

from owner_tui.sanitize import clean, one_line

PLACEHOLDERS = ("first_name", "name", "business", "signature")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_REVIEW_CHANNELS = ("google", "trustpilot", "yelp", "facebook")

#: Offered when the store has no templates of its own (``store.save_template`` adds more).
DEFAULT_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("thanks", "Hi {first_name},\n\nThank you so much for your message!\n\n{signature}"),
    ("sorry", "Hi {first_name},\n\nI'm really sorry about this. I'd like to put it right: could you "
              "tell me a little more?\n\n{signature}"),
    ("review-thanks", "Thank you for the lovely review, {first_name}! We hope to see you again soon. "
                      "— {business}"),
)


def first_name(name: str, handle: str = "") -> str:
    """The word to greet someone by: the first word of their name, or "there"."""
    name = one_line(name, limit=80)
    if name and "@" not in name:
        return name.split()[0].strip(",.;:") or "there"
    return "there"


def context_for(contact_name: str, handle: str, *, owner_name: str = "", signature: str = "",
                business: str = "") -> dict[str, str]:
    """Placeholder values for one contact; every value is safe single-line text, except the
    signature, which may span lines but carries no control characters."""
    name = one_line(contact_name, limit=80) or one_line(handle, limit=80)
    return {
        "first_name": first_name(contact_name, handle),
        "name": name or "there",
        "business": one_line(business or owner_name, limit=80),
        "signature": clean(signature or owner_name, limit=500),
    }


def render(body: str, context: Mapping[str, str]) -> str:
    """Fill the known placeholders in ``body``; unknown braces are left alone."""
    return _PLACEHOLDER.sub(lambda m: context.get(m.group(1), ""), body)


def prefill(channel: str, rating: int | None, context: Mapping[str, str]) -> tuple[str, int]:
    """A fresh reply for ``channel`` and the (row) where the cursor should start.

    Email gets a greeting and the signature with room between; a review reply is public and
    short, signed with the business name rather than a personal signature.
    """
    if channel in _REVIEW_CHANNELS:
        if rating is not None and rating <= 3:
            body = "Hi {first_name}, thank you for telling us. \n\n— {business}"
        else:
            body = "Thank you, {first_name}! \n\n— {business}"
        if not context.get("business"):
            body = body.replace("\n\n— {business}", "")
        return render(body, context), 0
    body = "Hi {first_name},\n\n\n\n{signature}" if context.get("signature") else "Hi {first_name},\n\n\n"
    return render(body, context), 2
