"""Ingest: classify -> thread -> contact -> insert (idempotent) -> conversation state.

Runs inside the caller's write transaction. The conversation's state is folded in one
message at a time (``aging.apply``) and recomputed from all its messages only when a message
arrives out of order; ``rebuild_conversation`` is the full recompute that tests compare with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from owner_tui import aging
from owner_tui.classify import direction as classify_direction
from owner_tui.classify import is_short_thanks, noise_reason, outbound_noise_reason
from owner_tui.records import MessageRecord
from owner_tui.threader import (
    has_thread_headers,
    normalize_subject,
    root_key,
    thread_ids,
)

if TYPE_CHECKING:
    from owner_tui.store import Store

EXCERPT_CHARS = 240


@dataclass
class IngestResult:
    new: int = 0
    duplicate: int = 0
    noise: int = 0
    problems: int = 0
    updated: int = 0

    def add(self, other: "IngestResult") -> None:
        for f in ("new", "duplicate", "noise", "problems", "updated"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


def _excerpt(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(">")]
    return " ".join(" ".join(lines).split())[:EXCERPT_CHARS]


def _iso_or(value: str, fallback: str) -> str:
    try:
        return aging.to_iso(aging.parse_iso(value)) if value else fallback
    except (ValueError, TypeError):
        return fallback


class Ingester:
    def __init__(self, store: "Store", account_id: int, now: datetime) -> None:
        self.store = store
        self.db = store.db
        self.account_id = account_id
        self.now = aging.to_iso(now)
        self.result = IngestResult()
        self.owner = store.owner_addresses()
        self.rules = store.rules()
        self.cfg = store.aging

    # -- contacts --------------------------------------------------------------------------

    def contact_for(self, channel: str, handle: str, name: str) -> int | None:
        handle = (handle or "").strip().lower()
        ident_channel = "email" if channel == "email" else channel
        if not handle:
            if not name:
                return None
            handle = "name:" + name.strip().lower()
        row = self.db.execute("SELECT contact_id FROM identities WHERE channel = ? AND handle = ?",
                              [ident_channel, handle]).fetchone()
        if row:
            cid = row[0]
            merged = self.db.execute("SELECT merged_into, name FROM contacts WHERE id = ?", [cid]).fetchone()
            if merged and merged[0]:
                cid = merged[0]
            elif merged and name and not merged[1]:
                self.db.execute("UPDATE contacts SET name = ? WHERE id = ?", [name, cid])
            return cid
        cid = self.db.execute("INSERT INTO contacts (name, created_at) VALUES (?, ?)",
                              [name or handle.removeprefix("name:"), self.now]).lastrowid
        self.db.execute("INSERT INTO identities (contact_id, channel, handle) VALUES (?, ?, ?)",
                        [cid, ident_channel, handle])
        return cid

    def counterpart(self, rec: MessageRecord, direction: str) -> tuple[str, str]:
        if direction == "in" or rec.channel != "email":
            return rec.sender_handle, rec.sender_name
        for r in rec.recipients:
            if r.lower() not in self.owner:
                return r, ""
        return (rec.recipients[0] if rec.recipients else ""), ""

    # -- threading -------------------------------------------------------------------------

    def find_conversation(self, rec: MessageRecord, contact_id: int | None, sent_at: str) -> int | None:
        if rec.thread_key:
            row = self.db.execute("SELECT id FROM conversations WHERE account_id = ? AND external_key = ?",
                                  [self.account_id, rec.thread_key]).fetchone()
            return row[0] if row else None
        for ref in thread_ids(rec):
            row = self.db.execute("SELECT conversation_id FROM thread_refs WHERE account_id = ? AND ref = ?",
                                  [self.account_id, ref]).fetchone()
            if row:
                return row[0]
        key = normalize_subject(rec.subject)
        if key and contact_id is not None:
            # Fallback for mailers that drop threading headers: same subject, same contact,
            # recent enough. Only for replies (headers or a "Re:") or when this message has no
            # headers at all, so two unrelated "Question" mails months apart stay apart.
            window = timedelta(days=self.cfg.subject_window_days)
            lo = aging.to_iso(aging.parse_iso(sent_at) - window)
            hi = aging.to_iso(aging.parse_iso(sent_at) + window)
            row = self.db.execute(
                """SELECT id FROM conversations WHERE account_id = ? AND subject_key = ? AND contact_id = ?
                   AND channel = 'email' AND last_message_at BETWEEN ? AND ?
                   ORDER BY last_message_at DESC LIMIT 1""",
                [self.account_id, key, contact_id, lo, hi]).fetchone()
            if row and (has_thread_headers(rec) or key != (rec.subject or "").strip().lower()):
                return row[0]
        return None

    def new_conversation(self, rec: MessageRecord, contact_id: int | None, noise: bool) -> int:
        key = root_key(rec)
        exists = self.db.execute("SELECT id FROM conversations WHERE account_id = ? AND external_key = ?",
                                 [self.account_id, key]).fetchone()
        if exists:  # a root id reused by an unrelated thread: keep them apart
            key = rec.external_id
            exists = self.db.execute("SELECT id FROM conversations WHERE account_id = ? AND external_key = ?",
                                     [self.account_id, key]).fetchone()
            if exists:
                return exists[0]
        return self.db.execute(
            """INSERT INTO conversations (account_id, contact_id, channel, subject, subject_key, external_key,
                   status, status_at, url, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)""",
            [self.account_id, contact_id, rec.channel, rec.subject, normalize_subject(rec.subject), key,
             "noise" if noise else "open", rec.url, self.now]).lastrowid

    # -- the main step ---------------------------------------------------------------------

    def add(self, rec: MessageRecord) -> None:
        if not rec.external_id:
            raise ValueError("a record needs an external_id")
        existing = self.db.execute(
            "SELECT id, conversation_id, text, rating, sender_handle FROM messages WHERE account_id = ? "
            "AND external_id = ?", [self.account_id, rec.external_id]).fetchone()
        if existing:
            other = (rec.sender_handle or "").lower()
            if rec.channel == "email" and existing[4] and other and existing[4] != other:
                # Another sender reusing a Message-ID (a broken mailer, or a spoof sent first to
                # hide the real mail): keep both, under an id derived from the sender and text.
                digest = hashlib.sha256(f"{other}\0{rec.subject}\0{rec.text}".encode()).hexdigest()[:16]
                self.add(replace(rec, external_id=f"{rec.external_id}#{digest}",
                                 problems=(*rec.problems, "Message-ID already used by another sender")))
                return
            if rec.channel != "email" and (existing[2] != rec.text or existing[3] != rec.rating):
                self.db.execute("UPDATE messages SET text = ?, rating = ? WHERE id = ?",
                                [rec.text, rec.rating, existing[0]])
                rebuild_conversation(self.store, existing[1])
                self.result.updated += 1
            else:
                self.result.duplicate += 1
            return

        direction = classify_direction(rec, self.owner)
        noise = noise_reason(rec, self.rules, positive_rating_only_awaits=self.cfg.positive_rating_only_awaits) \
            if direction == "in" else outbound_noise_reason(rec)
        problems = list(rec.problems)
        sent_at = _iso_or(rec.sent_at, "")
        if sent_at and not "1970" <= sent_at[:4] < "2100":
            # Year 0/9999 from a broken source: every later date sum (SLA due, windows) overflows.
            problems.append(f"date {sent_at[:25]} out of range")
            sent_at = ""
        if not sent_at:
            sent_at = self.now
            problems.append("no usable date; time of import used")
        handle, name = self.counterpart(rec, direction)
        contact_id = self.contact_for(rec.channel, handle, name)
        conv_id = self.find_conversation(rec, contact_id, sent_at)
        if conv_id is None:
            conv_id = self.new_conversation(rec, contact_id, noise is not None)

        self.db.execute(
            """INSERT INTO messages (conversation_id, account_id, direction, external_id, sent_at, received_at,
                   sender_handle, sender_name, recipients, subject, text, rating, noise, in_reply_to, refs, raw,
                   problems, attachments, url, folder, extra)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [conv_id, self.account_id, direction, rec.external_id, sent_at, self.now,
             (rec.sender_handle or "").lower(), rec.sender_name, json.dumps(list(rec.recipients)), rec.subject,
             rec.text, rec.rating, noise, rec.in_reply_to, json.dumps(list(rec.references)), rec.raw,
             json.dumps(problems), json.dumps([a.__dict__ for a in rec.attachments]), rec.url, rec.folder,
             json.dumps({**rec.extra, **({'headers': rec.headers} if rec.headers else {})}, default=str)])
        if rec.channel == "email":
            for ref in thread_ids(rec):
                self.db.execute("INSERT OR IGNORE INTO thread_refs (account_id, ref, conversation_id) VALUES (?, ?, ?)",
                                [self.account_id, ref, conv_id])
        self.result.new += 1
        self.result.noise += noise is not None
        self.result.problems += bool(problems)
        self.update_conversation(conv_id, rec, direction, sent_at, noise is not None)

    def update_conversation(self, conv_id: int, rec: MessageRecord, direction: str, sent_at: str,
                            noise: bool) -> None:
        conv = self.db.execute(
            """SELECT waiting_since, last_inbound_at, last_outbound_at, last_message_at, status, status_at,
                   message_count, last_activity_at FROM conversations WHERE id = ?""", [conv_id]).fetchone()
        state = aging.ConvState(conv[0], conv[1], conv[2], conv[3])
        new_state = aging.apply(state, aging.Msg(direction, sent_at, noise), self.cfg.waiting_since)
        if new_state is None:
            new_state = _recompute(self.db, conv_id, self.cfg.waiting_since)
        status, status_at = conv[4], conv[5]
        new_status = status
        if direction == "in" and not noise and (status_at is None or sent_at > status_at):
            if status == "noise" or status == "done":
                new_status = "open"
            elif status == "snoozed" and not (self.cfg.snooze_ignores_thanks and is_short_thanks(rec.text)):
                new_status = "open"
        sets = {"waiting_since": new_state.waiting_since, "last_inbound_at": new_state.last_inbound_at,
                "last_outbound_at": new_state.last_outbound_at, "last_message_at": new_state.last_message_at,
                "message_count": conv[6] + 1,
                "last_activity_at": sent_at if conv[7] is None or sent_at > conv[7] else conv[7]}
        if new_status != status:
            sets.update(status=new_status, snoozed_until=None)
        if direction == "in" and not noise and sent_at == new_state.last_inbound_at:
            sets["excerpt"] = _excerpt(rec.text)
            if rec.rating is not None:
                sets["rating"] = rec.rating
            if rec.url:
                sets["url"] = rec.url
        self.db.execute(f"UPDATE conversations SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                        [*sets.values(), conv_id])


def _recompute(db, conv_id: int, mode: str) -> aging.ConvState:
    msgs = [aging.Msg(r[0], r[1], r[2] is not None) for r in db.execute(
        "SELECT direction, sent_at, noise FROM messages WHERE conversation_id = ?", [conv_id])]
    return aging.recompute(msgs, mode)


def rebuild_conversation(store: "Store", conv_id: int) -> aging.ConvState:
    """Recompute a conversation's derived state from its messages (the reference the
    incremental path must equal). Call inside ``store.write()``."""
    db = store.db
    state = _recompute(db, conv_id, store.aging.waiting_since)
    rows = db.execute(
        """SELECT text, rating, url FROM messages WHERE conversation_id = ? AND direction = 'in'
           AND noise IS NULL ORDER BY sent_at DESC, id DESC LIMIT 1""", [conv_id]).fetchone()
    count, newest = db.execute("SELECT count(*), max(sent_at) FROM messages WHERE conversation_id = ?",
                               [conv_id]).fetchone()
    sets: dict = {"waiting_since": state.waiting_since, "last_inbound_at": state.last_inbound_at,
                  "last_outbound_at": state.last_outbound_at, "last_message_at": state.last_message_at,
                  "message_count": count, "last_activity_at": newest}
    if rows:
        sets["excerpt"] = _excerpt(rows[0])
        if rows[1] is not None:
            sets["rating"] = rows[1]
    db.execute(f"UPDATE conversations SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?", [*sets.values(), conv_id])
    return state
