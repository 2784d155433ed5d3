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
#: Only the body: the draft already has the greeting and the signature (``into_draft``).
DEFAULT_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("thanks", "Thank you so much for your message!"),
    ("sorry", "I'm really sorry about this. I'd like to put it right: could you tell me a little more?"),
    ("review-thanks", "Thank you for the lovely review, {first_name}! We hope to see you again soon."),
)

_GREETING = re.compile(r"^[ \t]*(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^\n]*\n+", re.I)


def first_name(name: str, handle: str = "") -> str:
    """The word to greet someone by: the first word of their name, or "there" when there is no
    name to greet (an address, or a texter known only by a number: "Hi +44," is no greeting)."""
    name = one_line(name, limit=80)
    if name and "@" not in name:
        word = name.split()[0].strip(",.;:")
        return word if any(ch.isalpha() for ch in word) else "there"
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


def into_draft(draft: str, template: str, context: Mapping[str, str],
               cursor: tuple[int, int]) -> tuple[str, tuple[int, int]]:
    """Insert a saved reply's *body* at ``cursor`` in ``draft``: a greeting or signature the
    template carries is dropped when the draft has one already, so neither appears twice.
    Returns the new text and where the cursor goes (the end of the inserted body)."""
    body = render(template, context)
    if _GREETING.match(draft):
        body = _GREETING.sub("", body, count=1)
    for sig in (context.get("signature", "").strip(), f"— {context.get('business', '')}".strip()):
        if sig and sig not in ("—",) and sig in draft and body.rstrip().endswith(sig):
            body = body.rstrip()[: -len(sig)].rstrip(" —\n")
    body = body.strip("\n")
    lines = draft.split("\n")
    row = max(0, min(cursor[0], len(lines) - 1))
    col = max(0, min(cursor[1], len(lines[row])))
    before = "\n".join(lines[:row] + [lines[row][:col]])
    after = "\n".join([lines[row][col:]] + lines[row + 1:])
    text = before + body + after
    end_lines = (before + body).split("\n")
    return text, (len(end_lines) - 1, len(end_lines[-1]))


def prefill(channel: str, rating: int | None, context: Mapping[str, str]) -> tuple[str, int]:
    """A fresh reply for ``channel`` and the (row) where the cursor should start.

    Email gets a greeting and the signature with room between; a review reply is public and
    short, signed with the business name rather than a personal signature.
    """
    if channel in _REVIEW_CHANNELS:
        if rating is not None and rating <= 3:
            # A low rating is a complaint in public: no canned cheerfulness, just the name.
            body = "{first_name}, \n\n— {business}" if context.get("first_name", "there") != "there" \
                else "\n\n— {business}"
        else:
            body = "Thank you, {first_name}! \n\n— {business}"
        if not context.get("business"):
            body = body.replace("\n\n— {business}", "")
        return render(body, context), 0
    if channel in ("sms", "whatsapp", "call"):
        # A text: every character counts against a segment; no signature, the number says who.
        return render("Hi {first_name}, ", context), 0
    body = "Hi {first_name},\n\n\n\n{signature}" if context.get("signature") else "Hi {first_name},\n\n\n"
    return render(body, context), 2
