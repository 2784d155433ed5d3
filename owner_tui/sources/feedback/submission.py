"""A posted feedback form -> a checked ``Submission`` -> one ``MessageRecord`` on the
"on-site" channel, stored by ``Store.ingest`` in one write transaction.

Every field has a size limit and is checked before anything is written, so bad input is
refused whole and nothing is stored half-way. The form's one-time token is the message's
external id, so a double tap (or a resent POST) lands once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from owner_tui import aging
from owner_tui.records import MessageRecord
from owner_tui.sanitize import clean

CHANNEL = "on-site"
ACCOUNT_KIND = "onsite"
ACCOUNT_NAME = "on-site"
EXTERNAL_PREFIX = "onsite:"

#: Limits, in characters (the body limit in ``app`` is bytes).
LIMITS = {"comment": 2000, "name": 100, "contact": 200, "table": 40}
FIELDS = ("rating", "comment", "name", "contact", "table", "lang", "token", "website")

_EMAIL = re.compile(r"[^@\s<>\"(),;:\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+")
_PHONE = re.compile(r"\+?[0-9][0-9 ().-]{5,24}")


@dataclass(frozen=True)
class Submission:
    token: str
    rating: int
    comment: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    table: str = ""
    lang: str = "en"


class Invalid(Exception):
    """The form is wrong; ``problems`` are string keys (``strings.py``) with their arguments."""

    def __init__(self, problems: list[tuple[str, dict]]):
        super().__init__(", ".join(p for p, _ in problems))
        self.problems = problems


def _field(form: dict[str, str], key: str) -> str:
    # Escape sequences removed whole and other controls made visible (``sanitize.clean``)
    # before anything is stored; display cleans again, and the page escapes for HTML.
    return clean(form.get(key, "")).strip()


def refill(form: dict[str, str]) -> dict[str, str]:
    """The customer's entries to put back in the form after an error: controls dropped and
    each cut to its limit (the page escapes them)."""
    out = {k: _field(form, k)[:limit] for k, limit in LIMITS.items()}
    out["rating"] = form.get("rating", "")[:1]
    return out


def parse_form(form: dict[str, str], *, token: str, lang: str) -> Submission:
    """Check every field; raise ``Invalid`` listing every problem at once."""
    problems: list[tuple[str, dict]] = []
    raw_rating = form.get("rating", "")
    rating = int(raw_rating) if raw_rating in ("1", "2", "3", "4", "5") else 0
    if not rating:
        problems.append(("err_rating", {}))
    values = {k: _field(form, k) for k in LIMITS}
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            problems.append(("err_long", {"field": key, "max": limit}))
    email = phone = ""
    contact = values["contact"]
    if contact:
        if "@" in contact:
            if _EMAIL.fullmatch(contact):
                email = contact.lower()
            else:
                problems.append(("err_contact", {}))
        elif _PHONE.fullmatch(contact):
            phone = contact
        else:
            problems.append(("err_contact", {}))
    if problems:
        raise Invalid(problems)
    return Submission(token=token, rating=rating, comment=values["comment"], name=" ".join(values["name"].split()),
                      email=email, phone=phone, table=" ".join(values["table"].split()), lang=lang)


def subject_of(sub: Submission) -> str:
    where = f", table {sub.table}" if sub.table else ""
    return f"On-site feedback: {sub.rating}★{where}"


def to_record(sub: Submission, now: datetime) -> MessageRecord:
    """The submission as an inbound message. With an email address the customer is that
    address (a reply goes there by email); otherwise a phone number or the form itself."""
    handle = sub.email or (f"phone:{re.sub(r'[^0-9+]', '', sub.phone)}" if sub.phone else f"{EXTERNAL_PREFIX}{sub.token}")
    name = sub.name or (f"Guest at table {sub.table}" if sub.table else "On-site guest")
    lines = [sub.comment] if sub.comment else []
    if sub.phone:
        lines.append(f"Phone: {sub.phone}")
    ext = f"{EXTERNAL_PREFIX}{sub.token}"
    return MessageRecord(
        external_id=ext, channel=CHANNEL, direction="in", sent_at=aging.to_iso(now), sender_handle=handle,
        sender_name=name, subject=subject_of(sub), text="\n".join(lines), rating=sub.rating, thread_key=ext,
        extra={"table": sub.table, "email": sub.email, "phone": sub.phone, "lang": sub.lang})


def store_submission(store, sub: Submission) -> bool:
    """Store one submission (one ``ingest`` transaction); False when it was already stored."""
    account_id = store.ensure_account(ACCOUNT_KIND, ACCOUNT_NAME, {})
    result = store.ingest(account_id, [to_record(sub, store.now())])
    return result.new == 1


def onsite_since(store, after_id: int, limit: int = 20) -> list[dict]:
    """On-site messages stored after message id ``after_id``, oldest first (the TUI's watch)."""
    import json

    rows = store.db.execute(
        """SELECT m.id, m.conversation_id, m.rating, m.text, m.sender_name, m.extra, m.sent_at
           FROM messages m JOIN conversations c ON c.id = m.conversation_id
           WHERE m.id > ? AND c.channel = ? AND m.direction = 'in' ORDER BY m.id LIMIT ?""",
        [after_id, CHANNEL, limit]).fetchall()
    out = []
    for mid, cid, rating, text, name, extra, sent_at in rows:
        table = (json.loads(extra or "{}") or {}).get("table", "")
        out.append({"id": mid, "conversation_id": cid, "rating": rating, "text": text or "", "name": name or "",
                    "table": table, "sent_at": sent_at})
    return out


def last_message_id(store) -> int:
    # fetchall: a statement left unfinished would hold this connection's read snapshot open.
    return store.db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchall()[0][0]
