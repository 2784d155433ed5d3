"""A text's delivery after the send (issue 19): its status on the outbox row, read again with
backoff until it is final.

Twilio takes a text as ``queued`` and moves it through ``sending`` and ``sent`` to
``delivered``, ``undelivered`` or ``failed`` (WhatsApp adds ``read``). The outbox row keeps
the message id (``remote_id``), the latest status, the error and when to look next.

A text that was **not delivered** is a reply the customer never got: nothing is deleted; the
outbound message stays, with the reason as its ``noise`` and a note, so the conversation (a
recompute of its messages) awaits a reply again; the outbox row turns ``failed`` with the
reason and keeps the text, and the reply editor offers it to edit and send again.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from owner_tui.store import Store

#: Statuses after which nothing changes any more.
FINAL = frozenset({"delivered", "undelivered", "failed", "read", "canceled"})
NOT_DELIVERED = frozenset({"undelivered", "failed"})
#: How long a WhatsApp message is still read after ``delivered``, for ``read``.
READ_WATCH = timedelta(hours=24)
#: After this, a text still ``sent`` (many carriers never confirm) is no longer followed.
GIVE_UP = timedelta(hours=72)
FIRST, LONGEST = 10, 3600
#: The noise reason of an outbound text that did not arrive (the customer awaits again).
UNDELIVERED = "text not delivered"


def is_final(status: str, channel: str = "sms") -> bool:
    if channel == "whatsapp" and status == "delivered":
        return False  # it may still be read
    return status in FINAL


def next_delay(checks: int) -> int:
    """Seconds to the next look after ``checks`` looks: 10, 20, 40, … one hour at most."""
    return min(LONGEST, FIRST * 2 ** min(checks, 20))


def due(store: "Store", only=None) -> list[dict]:
    """Outbox rows whose delivery is to be read now."""
    rows = store.db.execute(
        "SELECT o.id, o.account_id, o.remote_id, o.delivery, o.delivery_checks, o.sent_at, o.conversation_id, "
        "c.channel FROM outbox o JOIN conversations c ON c.id = o.conversation_id "
        "WHERE o.delivery_next IS NOT NULL AND o.delivery_next <= ? ORDER BY o.delivery_next",
        [store.now().isoformat()]).fetchall()
    keys = ("id", "account_id", "remote_id", "delivery", "checks", "sent_at", "conversation_id", "channel")
    out = [dict(zip(keys, r, strict=True)) for r in rows]
    return [r for r in out if only is None or r["id"] in only]


def pending_count(store: "Store") -> int:
    """Texts whose delivery is still followed (the TUI keeps a timer while there are any)."""
    return store.db.execute("SELECT count(*) FROM outbox WHERE delivery_next IS NOT NULL").fetchone()[0]


def record(store: "Store", outbox_id: int, status: str, words: str = "") -> bool:
    """Store a status read from the platform; True when it changed. ``words`` (the error in
    the owner's words, with its code) go with a status that was not delivered."""
    row = store.db.execute("SELECT o.delivery, o.delivery_checks, o.sent_at, o.remote_id, o.account_id, "
                           "o.conversation_id, c.channel FROM outbox o JOIN conversations c ON "
                           "c.id = o.conversation_id WHERE o.id = ?", [outbox_id]).fetchone()
    if row is None:
        return False
    before, checks, sent_at, remote_id, account_id, conv_id, channel = row
    now = store.now()
    status = status or before or "queued"
    nxt = None
    if not is_final(status, channel):
        from owner_tui.aging import parse_iso

        try:
            age = now - parse_iso(sent_at)
        except (TypeError, ValueError):
            age = timedelta(0)
        limit = READ_WATCH if status == "delivered" else GIVE_UP
        if age < limit:
            nxt = (now + timedelta(seconds=next_delay(checks + 1))).isoformat()
    error = f"{status}: {words}" if status in NOT_DELIVERED and words else (status if status in NOT_DELIVERED else None)
    with store.write():
        store.db.execute("UPDATE outbox SET delivery = ?, delivery_error = ?, delivery_at = ?, delivery_next = ?, "
                         "delivery_checks = delivery_checks + 1 WHERE id = ?",
                         [status, error, now.isoformat(), nxt, outbox_id])
        if status == before:
            return False
        if status in NOT_DELIVERED:
            _not_delivered(store, outbox_id, account_id, conv_id, remote_id, error or status)
    return True


def _not_delivered(store: "Store", outbox_id: int, account_id: int, conv_id: int, remote_id: str | None,
                   error: str) -> None:
    """The text never reached them: the reply stays, as noise with the reason; they await again;
    the outbox row fails with the reason and keeps the text for the editor."""
    from owner_tui.store.ingest import rebuild_conversation

    store.db.execute("UPDATE outbox SET status = 'failed', error = ?, updated_at = ? WHERE id = ?",
                     [f"not delivered ({error})"[:1000], store.now_iso(), outbox_id])
    msg = store.db.execute("SELECT id, notes FROM messages WHERE account_id = ? AND external_id = ?",
                           [account_id, remote_id or ""]).fetchone()
    if msg is not None:
        notes = [n for n in json.loads(msg[1] or "[]") if isinstance(n, str) and not n.startswith(UNDELIVERED)]
        notes.append(f"{UNDELIVERED}: {error}. The text is kept: r edits it and sends it again.")
        store.db.execute("UPDATE messages SET noise = ?, notes = ? WHERE id = ?",
                         [UNDELIVERED, json.dumps(notes), msg[0]])
    rebuild_conversation(store, conv_id)


def latest(store: "Store", conversation_id: int) -> dict | None:
    """The newest followed text of a conversation: ``{"status", "error", "outbox_id"}``."""
    row = store.db.execute("SELECT id, delivery, delivery_error FROM outbox WHERE conversation_id = ? AND "
                           "delivery IS NOT NULL ORDER BY id DESC LIMIT 1", [conversation_id]).fetchone()
    return {"outbox_id": row[0], "status": row[1], "error": row[2]} if row else None


def label(status: str | None, error: str | None = None) -> str:
    """How a status reads in the conversation and the status line."""
    if not status:
        return ""
    if status in NOT_DELIVERED and error:
        return error
    return {"queued": "queued at Twilio", "accepted": "queued at Twilio", "sending": "sending",
            "sent": "sent (waiting for the carrier's receipt)", "delivered": "delivered", "read": "read",
            "canceled": "canceled"}.get(status, status)
