"""Which way a message went, and whether it is noise that never awaits a reply.

Noise signals (design.md): ``Auto-Submitted`` other than ``no`` (RFC 3834), ``List-Id`` or
``List-Unsubscribe``, ``Precedence: bulk/list/junk``, a null return path or mailer-daemon
(bounces), no-reply senders, and the owner's own rules. Noise is kept, never deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from owner_tui.records import MessageRecord

SENT_FOLDER_NAMES = {"sent", "sent items", "sent messages", "sent mail", "[gmail]/sent mail", "inbox.sent"}

_NOREPLY = re.compile(r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|noreply[-_.+].*|notifications?)@", re.I)
_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.I)
_THANKS = re.compile(r"\b(thanks?|thank\s+you|thx|cheers|merci|danke|gracias|great|perfect|ok|okay)\b", re.I)


@dataclass(frozen=True)
class Rule:
    """An owner's rule: ``pattern`` is an address (``a@b.com``) or a domain (``@b.com``)."""

    pattern: str
    action: str  # "noise" or "keep"

    def matches(self, handle: str) -> bool:
        handle = handle.lower()
        p = self.pattern.lower()
        if p.startswith("@"):
            return handle.endswith(p)
        return handle == p


def is_sent_folder(folder: str | None) -> bool:
    if not folder:
        return False
    f = folder.strip().lower().lstrip(".")
    return f in SENT_FOLDER_NAMES or f.endswith("/sent") or f.endswith(".sent")


def direction(rec: MessageRecord, owner_addresses: Iterable[str]) -> str:
    if rec.direction in ("in", "out"):
        return rec.direction
    if is_sent_folder(rec.folder):
        return "out"
    if rec.sender_handle and rec.sender_handle.lower() in owner_addresses:
        return "out"
    return "in"


def noise_reason(rec: MessageRecord, rules: Iterable[Rule] = (), *,
                 positive_rating_only_awaits: bool = True) -> str | None:
    """Why an inbound message is noise, or ``None`` when a person may be waiting."""
    handle = (rec.sender_handle or "").lower()
    for rule in rules:
        if rule.matches(handle):
            return "your rule: " + rule.pattern if rule.action == "noise" else None
    if rec.channel != "email":
        if (not positive_rating_only_awaits and rec.rating is not None and rec.rating >= 4
                and not rec.text.strip()):
            return "rating-only positive review"
        return None
    h = {k.lower(): (v or "").strip() for k, v in rec.headers.items()}
    auto = h.get("auto-submitted", "").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"auto-submitted: {auto.split(';')[0].strip()}"
    if h.get("x-autoreply") or h.get("x-autorespond"):
        return "auto-reply"
    if "list-id" in h:
        return "mailing list"
    if "list-unsubscribe" in h:
        return "newsletter (List-Unsubscribe)"
    prec = h.get("precedence", "").lower()
    if prec in ("bulk", "list", "junk"):
        return f"precedence: {prec}"
    if h.get("return-path", "").replace(" ", "") == "<>" or _DAEMON.match(handle):
        return "bounce"
    if "multipart/report" in h.get("content-type", "").lower():
        return "delivery report"
    if _NOREPLY.match(handle):
        return "no-reply sender"
    return None


def outbound_noise_reason(rec: MessageRecord) -> str | None:
    """Machine mail sent from the owner's own address (the emailed digest, a vacation reply)
    is not a reply to anyone and must not start a "no answer yet" follow-up."""
    auto = {k.lower(): v for k, v in rec.headers.items()}.get("auto-submitted", "").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"auto-submitted: {auto.split(';')[0].strip()}"
    return None


def is_short_thanks(text: str) -> bool:
    """A short thank-you that needs no answer ("Thanks!", "Great, cheers")."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip() and not ln.lstrip().startswith(">")]
    body = " ".join(lines[:3]).strip()
    if not body or len(body) > 80 or "?" in body:
        return False
    return bool(_THANKS.search(body))
