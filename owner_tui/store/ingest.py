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
from typing import TYPE_CHECKING, Any, Mapping

from owner_tui import aging
from owner_tui.classify import direction as classify_direction
from owner_tui.classify import (
    is_sent_folder,
    is_short_thanks,
    noise_reason,
    outbound_noise_reason,
    via_group,
)
from owner_tui.mail.addresses import parse_addresses
from owner_tui.mail.leads import find_lead, is_machine_sender, is_sibling, order_without_note, site_domains
from owner_tui.phone import keyword as phone_keyword
from owner_tui.phone import display as phone_display
from owner_tui.phone import numbers_in, region_of, to_e164
from owner_tui.records import PHONE_CHANNELS, SIDE_ANSWER, Attachment, MessageRecord, normalize_msgid
from owner_tui.store.phones import record_keyword
from owner_tui.threader import (
    has_thread_headers,
    is_forward,
    is_reply_subject,
    normalize_subject,
    root_key,
    starts_a_thread,
    thread_ids,
)

if TYPE_CHECKING:
    from owner_tui.store import Store

EXCERPT_CHARS = 240
#: A Date this far after the message reached the mailbox is a sender's clock running ahead.
AHEAD_SLACK = timedelta(minutes=10)
#: A Date this far before the receiving server's own stamp is a sender's clock running behind.
BEHIND_SLACK = timedelta(hours=1)
#: Reasons an outbound message does not close a wait (kept in ``messages.noise``).
NOT_A_REPLY = "not a reply to the customer"
BOUNCED = "your reply bounced: it was not delivered"
ANSWERED_ELSEWHERE = "answered elsewhere"
#: Channels whose customers may write their phone number in the text (issue 19): a review, a
#: feedback form. Email is not read for numbers (signatures are everywhere; ingest stays quick).
MENTION_CHANNELS = ("google", "trustpilot", "yelp", "facebook", "on-site")


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


def stored_record(row: Mapping[str, Any]) -> MessageRecord:
    """A stored ``messages`` row (a mapping of its columns; any may be missing) as the record it
    was made from, for reading it again with today's rules (a new noise rule, an upgrade)."""
    extra = json.loads(row.get("extra") or "{}")
    extra = extra if isinstance(extra, dict) else {}
    headers = extra.pop("headers", {}) if isinstance(extra.get("headers"), dict) else {}
    atts = tuple(Attachment(**a) for a in json.loads(row.get("attachments") or "[]")
                 if isinstance(a, dict) and set(a) == {"filename", "content_type", "size"})
    return MessageRecord(
        external_id=row.get("external_id") or "x", channel=row.get("channel") or "email",
        sent_at=row.get("sent_at") or "", sender_handle=row.get("sender_handle") or "",
        sender_name=row.get("sender_name") or "", recipients=tuple(json.loads(row.get("recipients") or "[]")),
        subject=row.get("subject") or "", text=row.get("text") or "", rating=row.get("rating"),
        in_reply_to=row.get("in_reply_to"), references=tuple(json.loads(row.get("refs") or "[]")),
        headers=headers, attachments=atts, folder=row.get("folder"), extra=extra)


def _excerpt(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(">")]
    return " ".join(" ".join(lines).split())[:EXCERPT_CHARS]


def _reused_id(rec: MessageRecord) -> MessageRecord:
    """Another sender reusing a stored Message-ID (a broken mailer, or a spoof sent first to hide
    the real mail): keep both, this one under an id derived from its sender and text."""
    other = (rec.sender_handle or "").lower()
    digest = hashlib.sha256(f"{other}\0{rec.subject}\0{rec.text}".encode()).hexdigest()[:16]
    return replace(rec, external_id=f"{rec.external_id}#{digest}",
                   problems=(*rec.problems, "Message-ID already used by another sender"))


def _json_list(items) -> str:
    """``json.dumps(list(items))``; most lists of a message are empty."""
    return json.dumps(list(items)) if items else "[]"


def _iso_or(value: str, fallback: str) -> str:
    try:
        return aging.to_iso(aging.parse_iso(value)) if value else fallback
    except (ValueError, TypeError):
        return fallback


def _placeholder(name: str | None, channel: str, handle: str) -> bool:
    """A contact name that only repeats its address or number, or none."""
    if not name or name.strip().lower() == handle:
        return True
    return channel == "phone" and name in (handle, phone_display(handle))


class Ingester:
    def __init__(self, store: "Store", account_id: int, now: datetime) -> None:
        self.store = store
        # The connection itself, not sqlite-utils' wrapper: ~15 statements a message, and the
        # wrapper's extra call was a measurable share of a big import (issue 18).
        self.db = store.db.conn
        self.account_id = account_id
        self.now = aging.to_iso(now)
        self.result = IngestResult()
        self.owner = store.owner_addresses()
        self.groups = store.group_addresses()
        self.rules = store.rules()
        self.cfg = store.aging
        self.region = region_of(store.config)
        # Per transaction: (channel, handle, name) -> contact, so a repeat sender costs no
        # query. Only ``contact_for`` writes contacts while an Ingester lives; a repeat with
        # the same name would change nothing.
        self._contacts: dict[tuple[str, str, str], int | None] = {}
        # Ids of a batch known absent when it began (``prefetch``), less those added since.
        self._absent: set[str] = set()
        self._site_domains: frozenset[str] | None = None  # the owner's own domains, at first use
        # The store's other mail accounts (a business address and the owner's own Gmail, one
        # often forwarding to the other): a message they already hold is that message, and a
        # reply filed there belongs to the conversation it answers, whichever account has it.
        self.other_mail = [r[0] for r in self.db.execute(
            "SELECT id FROM accounts WHERE kind IN ('imap', 'files') AND id != ?", [account_id])]

    # -- contacts --------------------------------------------------------------------------

    def contact_for(self, channel: str, handle: str, name: str) -> int | None:
        key = (channel, handle, name)
        if key in self._contacts:
            return self._contacts[key]
        cid = self._contacts[key] = self._contact_for(channel, handle, name)
        return cid

    def _contact_for(self, channel: str, handle: str, name: str) -> int | None:
        handle = (handle or "").strip().lower()
        # An on-site customer who left an email address is that address's contact: one history.
        ident_channel = "email" if channel == "email" or (channel == "on-site" and "@" in handle) else channel
        if channel in PHONE_CHANNELS or (channel == "on-site" and handle.startswith("phone:")):
            # A texter, a caller and a feedback form's phone are one contact per number (E.164).
            e164 = to_e164(handle, self.region)
            if e164:
                ident_channel, handle = "phone", e164
                name = name or phone_display(e164)
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
            elif merged and name and name != merged[1] and _placeholder(merged[1], ident_channel, handle):
                # Named only by the address (the owner wrote first, or a relay answered before
                # the guest wrote) or the number: the first real name replaces it.
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

    def find_conversation(self, rec: MessageRecord, contact_id: int | None, sent_at: str,
                          ids: list[str] | None = None) -> int | None:
        if rec.thread_key:
            row = self.db.execute("SELECT id FROM conversations WHERE account_id = ? AND external_key = ?",
                                  [self.account_id, rec.thread_key]).fetchone()
            return row[0] if row else None
        refs = thread_ids(rec) if ids is None else ids
        for ref in refs:
            row = self.db.execute("SELECT conversation_id FROM thread_refs WHERE account_id = ? AND ref = ?",
                                  [self.account_id, ref]).fetchone()
            if row:
                return row[0]
        if rec.channel == "email" and self.other_mail:
            # A reply sent from another of the owner's accounts (her phone's Gmail answering
            # what came to info@), or a customer answering it there: the same conversation.
            marks = ",".join("?" * len(self.other_mail))
            for ref in refs:
                row = self.db.execute(
                    f"SELECT conversation_id FROM thread_refs WHERE account_id IN ({marks}) AND ref = ?",
                    [*self.other_mail, ref]).fetchone()
                if row:
                    return row[0]
        key = normalize_subject(rec.subject)
        if contact_id is None:
            return None
        window = timedelta(days=self.cfg.subject_window_days)
        lo = aging.to_iso(aging.parse_iso(sent_at) - window)
        hi = aging.to_iso(aging.parse_iso(sent_at) + window)
        if key:
            # Fallback for mailers that drop threading headers: same subject, same contact,
            # recent enough. Only for replies (headers or a "Re:") or when this message has no
            # headers at all, so two unrelated "Question" mails months apart stay apart.
            row = self.db.execute(
                """SELECT id, status FROM conversations WHERE account_id = ? AND subject_key = ? AND contact_id = ?
                   AND channel = 'email' AND last_message_at BETWEEN ? AND ?
                   ORDER BY last_message_at DESC LIMIT 1""",
                [self.account_id, key, contact_id, lo, hi]).fetchone()
            # A reply (headers or "Re:") joins; so does a repeat without threading headers while
            # the contact's conversation on that subject is still open (asked twice, "Loyalty
            # card" and "Loyalty card?": one row, waiting since the first).
            if row and (has_thread_headers(rec) or is_reply_subject(rec.subject) or row[1] in ("open", "snoozed")):
                return row[0]
        elif not has_thread_headers(rec):
            # No subject and no threading headers (a phone's quick "also, candles please"): the
            # same person's open conversation, if one is recent, rather than a second row that
            # stays waiting after the owner answers the first.
            row = self.db.execute(
                """SELECT id FROM conversations WHERE contact_id = ? AND account_id = ? AND channel = 'email'
                   AND status IN ('open', 'snoozed') AND last_message_at BETWEEN ? AND ?
                   ORDER BY last_message_at DESC LIMIT 1""",
                [contact_id, self.account_id, lo, hi]).fetchone()
            if row:
                return row[0]
        return None

    def held_elsewhere(self, rec: MessageRecord) -> str | None:
        """Whether another of the owner's mail accounts already holds this Message-ID: ``"same"``
        message (same sender: mail sent to two of her addresses, or forwarded from one to the
        other), ``"other"`` (another sender reusing it), or None."""
        if rec.external_id.startswith(("answered-elsewhere:", "replied-elsewhere:")):
            return None
        marks = ",".join("?" * len(self.other_mail))
        row = self.db.execute(  # the sender as stored, or the form's mailer it was read from ("via")
            f"SELECT sender_handle, lower(json_extract(extra, '$.via')) FROM messages WHERE account_id IN ({marks}) "
            "AND external_id = ? LIMIT 1", [*self.other_mail, rec.external_id]).fetchone()
        if row is None:
            return None
        sender = (rec.sender_handle or "").lower()
        return "same" if sender in row or not (sender and row[0]) else "other"

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

    def prefetch(self, records: list[MessageRecord]) -> None:
        """Learn in one query which of a batch's ids are not stored yet, so ``add`` skips its
        per-message lookup for them (a big sync or import is almost all new messages)."""
        ids = list({r.external_id for r in records if r.external_id})
        absent = set(ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            absent.difference_update(r[0] for r in self.db.execute(
                f"SELECT external_id FROM messages WHERE account_id = ? AND external_id IN ({','.join('?' * len(chunk))})",
                [self.account_id, *chunk]))
        self._absent = absent

    def add(self, rec: MessageRecord) -> None:
        if not rec.external_id:
            raise ValueError("a record needs an external_id")
        if rec.external_id in self._absent:
            self._absent.discard(rec.external_id)  # a repeat later in the batch is looked up
            existing = None
        else:
            existing = self.db.execute(
                "SELECT id, conversation_id, text, rating, sender_handle FROM messages WHERE account_id = ? "
                "AND external_id = ?", [self.account_id, rec.external_id]).fetchone()
        if existing is None and rec.channel == "email" and self.other_mail:
            elsewhere = self.held_elsewhere(rec)
            if elsewhere == "same":
                self.result.duplicate += 1  # the same mail, brought by another of the owner's accounts
                return
            if elsewhere == "other":
                self.add(_reused_id(rec))
                return
        if existing:
            other = (rec.sender_handle or "").lower()
            if rec.channel == "email" and existing[4] and other and existing[4] != other:
                self.add(_reused_id(rec))
                return
            if rec.channel != "email" and (existing[2] != rec.text or existing[3] != rec.rating):
                self.db.execute("UPDATE messages SET text = ?, rating = ? WHERE id = ?",
                                [rec.text, rec.rating, existing[0]])
                rebuild_conversation(self.store, existing[1])
                self.result.updated += 1
            else:
                self.result.duplicate += 1
            return

        rec = self.read_person(rec)
        direction = classify_direction(rec, self.owner)
        noise = noise_reason(rec, self.rules, positive_rating_only_awaits=self.cfg.positive_rating_only_awaits,
                             groups=self.groups) if direction == "in" else outbound_noise_reason(rec)
        problems = list(rec.problems)
        notes = list(rec.notes)
        sent_at = _iso_or(rec.sent_at, "")
        if sent_at and not "1970" <= sent_at[:4] < "2100":
            # Year 0/9999 from a broken source: every later date sum (SLA due, windows) overflows.
            problems.append(f"date {sent_at[:25]} out of range")
            sent_at = ""
        if not sent_at:
            sent_at = rec.arrived_at or self.now
            problems.append("no usable date; " + ("arrival time used" if rec.arrived_at else "time of import used"))
        sent_at = self.believable_time(rec, sent_at, notes)
        if rec.channel == "email" and noise and rec.extra.get("returned_id") and not rec.in_reply_to:
            rec = replace(rec, in_reply_to=rec.extra["returned_id"])  # a bounce joins what bounced
        handle, name = self.counterpart(rec, direction)
        contact_id = self.contact_for(rec.channel, handle, name)
        ids = thread_ids(rec) if rec.channel == "email" else None
        conv_id = self.find_conversation(rec, contact_id, sent_at, ids)
        if conv_id is None:
            conv_id = self.new_conversation(rec, contact_id, noise is not None)
        if rec.channel == "email":
            sent_at = self.after_parent(rec, sent_at, notes)
            if direction == "in" and noise is None:
                noise = self.side_answer(conv_id, rec)
                if noise:
                    notes.append(noise)
            if direction == "out" and noise is None:
                noise = self.not_a_reply(conv_id, rec)
                if noise is None and self.bounced(rec.external_id, conv_id):
                    noise = BOUNCED
                if noise:
                    notes.append(noise)

        msg_id = self.db.execute(
            """INSERT INTO messages (conversation_id, account_id, direction, external_id, sent_at, received_at,
                   sender_handle, sender_name, recipients, subject, text, rating, noise, in_reply_to, refs, raw,
                   problems, attachments, url, folder, extra, notes, arrived_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [conv_id, self.account_id, direction, rec.external_id, sent_at, self.now,
             (rec.sender_handle or "").lower(), rec.sender_name, _json_list(rec.recipients), rec.subject,
             rec.text, rec.rating, noise, normalize_msgid(rec.in_reply_to) or None, _json_list(rec.references),
             rec.raw, _json_list(problems), _json_list([a.__dict__ for a in rec.attachments]), rec.url, rec.folder,
             json.dumps({**rec.extra, **({'headers': rec.headers} if rec.headers else {})}, default=str),
             _json_list(notes), rec.arrived_at or None]).lastrowid
        if ids:
            self.db.executemany("INSERT OR IGNORE INTO thread_refs (account_id, ref, conversation_id) VALUES (?, ?, ?)",
                                [(self.account_id, ref, conv_id) for ref in ids])
        self.result.new += 1
        self.result.noise += noise is not None
        self.result.problems += bool(problems)
        reorder = False
        if rec.channel == "email":
            reorder = self.children_before(conv_id, rec.external_id, sent_at)
            if direction == "out" and (noise or "").startswith(NOT_A_REPLY):
                # Answers to this forward synced before it (the inbox before Sent): judged again.
                reorder |= self.db.execute("SELECT 1 FROM messages WHERE conversation_id = ? AND in_reply_to = ? "
                                           "AND direction = 'in' LIMIT 1", [conv_id, rec.external_id]).fetchone() is not None
            if direction == "out" and noise is None and not rec.external_id.startswith("answered-elsewhere:"):
                # The real reply is here: an "answered elsewhere" placeholder made later goes.
                # (only for messages this reply comes after: a later follow-up stays answered).
                reorder |= self.db.execute(
                    "DELETE FROM messages WHERE conversation_id = ? AND direction = 'out' "
                    "AND external_id LIKE 'answered-elsewhere:%' AND in_reply_to IN (SELECT external_id FROM messages "
                    "WHERE conversation_id = ? AND direction = 'in' AND sent_at <= ?)",
                    [conv_id, conv_id, sent_at]).rowcount > 0
            if direction == "in" and noise is not None and noise.startswith("bounce") and rec.extra.get("returned_id"):
                reorder |= self.mark_bounced(rec.extra["returned_id"], conv_id)
        if rec.channel in PHONE_CHANNELS:
            self.phone_message(rec, direction, sent_at, conv_id)
        elif direction == "in" and rec.channel in MENTION_CHANNELS and rec.text:
            for e164 in numbers_in(rec.text, self.region):
                self.db.execute("INSERT OR IGNORE INTO phone_mentions (e164, message_id) VALUES (?, ?)",
                                [e164, msg_id])
        # A call conversation's wait also closes by a text or call back on another conversation
        # (``call_back_replies``): always recomputed, and its few messages make that cheap.
        self.update_conversation(conv_id, rec, direction, sent_at, noise is not None,
                                 force_recompute=reorder or rec.channel == "call")
        if rec.answered and direction == "in" and noise is None:
            self.answered_elsewhere(conv_id, rec, msg_id, sent_at)

    def phone_message(self, rec: MessageRecord, direction: str, sent_at: str, conv_id: int) -> None:
        """A text or call (issue 19): remember an opt-out/opt-in keyword; an outbound text or
        call is a call back for the customer's call conversation (its state is recomputed)."""
        e164 = to_e164(rec.sender_handle, self.region)
        if not e164:
            return
        if direction == "in" and rec.channel in ("sms", "whatsapp"):
            word = phone_keyword(rec.text)
            if word:
                record_keyword(self.db, e164, word, sent_at, rec.channel)
        if direction == "out" and rec.channel != "call":
            row = self.db.execute("SELECT id FROM conversations WHERE account_id = ? AND external_key = ?",
                                  [self.account_id, f"call:{e164}"]).fetchone()
            if row and row[0] != conv_id:
                rebuild_conversation(self.store, row[0])

    # -- reading a message truly (issue 12) --------------------------------------------------

    def read_person(self, rec: MessageRecord) -> MessageRecord:
        """A form's or a group's notification becomes the person's own message."""
        if rec.channel != "email" or rec.direction == "out":
            return rec
        grouped = via_group({k.lower(): v for k, v in rec.headers.items()}, rec.recipients, self.groups)
        lead = find_lead(rec.sender_handle, rec.sender_name, rec.headers, rec.text, own=self.owner, grouped=grouped,
                         subject=rec.subject, self_sent=self.self_sent(rec),
                         recipients=tuple(r.lower() for r in rec.recipients))
        # A shop's order or sale notification with no words from the buyer is not a message.
        order = ((lead.form if lead else is_machine_sender(rec.sender_handle))
                 and order_without_note(rec.subject, rec.text))
        if lead is None:
            return replace(rec, extra={**rec.extra, "order": "no note"}) if order else rec
        extra = {**rec.extra, "via": rec.sender_handle, "via_name": rec.sender_name,
                 **({"lead": "form"} if lead.form else {}), **({"order": "no note"} if order else {})}
        return replace(rec, sender_handle=lead.handle, sender_name=lead.name, extra=extra,
                       notes=(*rec.notes, lead.how), direction="in")

    def self_sent(self, rec: MessageRecord) -> str:
        """Mail in the inbox from one of the owner's addresses, or another address on her own
        domain, to the owner alone: how a site's contact form sends when it mails from the
        site's own address (Contact Form 7 set up with ``From: info@`` for SPF, Elementor's
        ``email@``, a host's form-to-mail script from ``kontakt@``). See ``leads.find_lead``."""
        sender = (rec.sender_handle or "").lower()
        if self._site_domains is None:
            self._site_domains = site_domains(self.owner)
        if (not (sender in self.owner or is_sibling(sender, self.owner, self._site_domains))
                or is_sent_folder(rec.folder) or not rec.recipients
                or not all(r in self.owner for r in rec.recipients)):
            return ""
        auto = {k.lower(): v for k, v in rec.headers.items()}.get("auto-submitted", "").split(";")[0].strip().lower()
        if auto and auto != "no":
            return ""  # owner-tui's own digest or feedback alert, mailed to the owner: not a visitor's
        return "body" if starts_a_thread(rec) else "reply-to"

    def believable_time(self, rec: MessageRecord, sent_at: str, notes: list[str]) -> str:
        """The Date header unless the arrival time shows it cannot be right."""
        if not rec.arrived_at:
            return sent_at
        try:
            sent, arrived = aging.parse_iso(sent_at), aging.parse_iso(rec.arrived_at)
        except (TypeError, ValueError):
            return sent_at
        if sent > arrived + AHEAD_SLACK:
            notes.append(f"dated {sent_at} but arrived {rec.arrived_at} (the sender's clock is ahead): "
                         "ordered by arrival")
            return aging.to_iso(arrived)
        if rec.extra.get("arrival_source") == "received" and sent < arrived - BEHIND_SLACK:
            notes.append(f"dated {sent_at} but the receiving server stamped {rec.arrived_at} "
                         "(the sender's clock is behind): ordered by arrival")
            return aging.to_iso(arrived)
        return sent_at

    def after_parent(self, rec: MessageRecord, sent_at: str, notes: list[str]) -> str:
        """A message that answers another is never ordered before it (a phone with a slow clock)."""
        parent = normalize_msgid(rec.in_reply_to) or (normalize_msgid(rec.references[-1]) if rec.references else "")
        if not parent:
            return sent_at
        row = self.db.execute("SELECT sent_at FROM messages WHERE account_id = ? AND external_id = ?",
                              [self.account_id, parent]).fetchone()
        if row is None or sent_at > row[0]:
            return sent_at
        fixed = _after(row[0], rec.arrived_at)
        notes.append(f"dated {sent_at}, not after the message it answers ({row[0]}): ordered after it")
        return fixed

    def children_before(self, conv_id: int, external_id: str, sent_at: str) -> bool:
        """Replies stored before this, their parent, and dated before it: move them after it."""
        rows = self.db.execute(
            "SELECT id, sent_at, arrived_at, notes FROM messages WHERE conversation_id = ? AND in_reply_to = ? "
            "AND sent_at <= ?", [conv_id, external_id, sent_at]).fetchall()
        for mid, child_at, arrived, notes_json in rows:
            fixed = _after(sent_at, arrived)
            notes = json.loads(notes_json or "[]") + [
                f"dated {child_at}, not after the message it answers ({sent_at}): ordered after it"]
            self.db.execute("UPDATE messages SET sent_at = ?, notes = ? WHERE id = ?", [fixed, json.dumps(notes), mid])
        return bool(rows)

    def customers(self, conv_id: int) -> set[str]:
        """The addresses of the people this conversation is with, and where they asked to be
        answered (``Reply-To``)."""
        rows = self.db.execute(f"SELECT DISTINCT sender_handle, {_REPLY_TO_SQL} FROM messages "
                               "WHERE conversation_id = ? AND direction = 'in' AND noise IS NULL", [conv_id]).fetchall()
        people = _same_people(self.db, {r[0] for r in rows if r[0] and "@" in r[0]} - self.owner)
        return (people | {a for r in rows for a in reply_to_list(r[1])}) - self.owner

    def not_a_reply(self, conv_id: int, rec: MessageRecord) -> str | None:
        """Only a message addressed (To/Cc) to one of the conversation's customers is a reply; a
        forward to a supplier or a note to staff stays in the history and the customer waits."""
        has_inbound = self.db.execute("SELECT 1 FROM messages WHERE conversation_id = ? AND direction = 'in' "
                                      "AND noise IS NULL LIMIT 1", [conv_id]).fetchone()
        if not has_inbound:
            return None
        return reply_verdict({r.lower() for r in rec.recipients}, rec.subject, self.customers(conv_id), self.owner)

    def side_answer(self, conv_id: int, rec: MessageRecord) -> str | None:
        """An answer to the owner's forward or note to someone else, from someone who is not
        this conversation's customer: why it does not speak for the customer, else None."""
        parent = normalize_msgid(rec.in_reply_to) or (normalize_msgid(rec.references[-1]) if rec.references else "")
        if not parent:
            return None
        row = self.db.execute("SELECT noise, conversation_id, direction FROM messages WHERE account_id = ? "
                              "AND external_id = ?", [self.account_id, parent]).fetchone()
        if row is None or row[1] != conv_id or row[2] != "out" or not (row[0] or "").startswith(NOT_A_REPLY):
            return None
        sender = (rec.sender_handle or "").lower()
        if sender in self.customers(conv_id):
            return None
        return side_verdict(row[0])

    def bounced(self, external_id: str, conv_id: int) -> bool:
        """A bounce of this outbound message arrived before it (the inbox is synced before Sent):
        the bounce moves into this conversation, where the owner sees it."""
        row = self.db.execute("SELECT conversation_id FROM thread_refs WHERE account_id = ? AND ref = ?",
                              [self.account_id, "bounce:" + external_id]).fetchone()
        if row is None:
            return False
        if row[0] != conv_id:
            old = row[0]
            self.db.execute("UPDATE messages SET conversation_id = ? WHERE conversation_id = ? AND direction = 'in' "
                            "AND noise IS NOT NULL", [conv_id, old])
            self.db.execute("UPDATE OR IGNORE thread_refs SET conversation_id = ? WHERE conversation_id = ?",
                            [conv_id, old])
            if not self.db.execute("SELECT 1 FROM messages WHERE conversation_id = ? LIMIT 1", [old]).fetchone():
                self.db.execute("DELETE FROM thread_refs WHERE conversation_id = ?", [old])
                self.db.execute("DELETE FROM conversations WHERE id = ?", [old])
            else:
                rebuild_conversation(self.store, old)
        return True

    def mark_bounced(self, returned_id: str, bounce_conv_id: int) -> bool:
        """A bounce (in conversation ``bounce_conv_id``) of the owner's own message
        ``returned_id``: that message did not reach the customer. Remembered, so an outbound
        message stored later (Sent synced after the inbox) is marked too."""
        self.db.execute("INSERT OR IGNORE INTO thread_refs (account_id, ref, conversation_id) VALUES (?, ?, ?)",
                        [self.account_id, "bounce:" + returned_id, bounce_conv_id])
        row = self.db.execute("SELECT id, notes FROM messages WHERE account_id = ? AND external_id = ? "
                              "AND direction = 'out' AND (noise IS NULL OR noise != ?)",
                              [self.account_id, returned_id, BOUNCED]).fetchone()
        if row is None:
            return False
        notes = json.loads(row[1] or "[]") + [BOUNCED]
        self.db.execute("UPDATE messages SET noise = ?, notes = ? WHERE id = ?", [BOUNCED, json.dumps(notes), row[0]])
        return True

    def answered_by_id(self, external_id: str) -> bool:
        """A stored inbound message was marked answered by another client after it was synced
        (an IMAP flag change): close its wait the same way. True when a wait closed."""
        row = self.db.execute(
            "SELECT id, conversation_id, sent_at, subject, sender_handle FROM messages WHERE account_id = ? "
            "AND external_id = ? AND direction = 'in' AND noise IS NULL", [self.account_id, external_id]).fetchone()
        if row is None:
            return False
        before = self.result.new
        self.answered_elsewhere(row[1], MessageRecord(external_id=external_id, subject=row[3] or "",
                                                      sender_handle=row[4] or ""), row[0], row[2])
        return self.result.new > before

    def answered_elsewhere(self, conv_id: int, rec: MessageRecord, msg_id: int, sent_at: str) -> None:
        """Another mail client marked this message answered and no reply is in any synced folder:
        the wait closes as "answered elsewhere", at the time the mark was first seen."""
        waiting = self.db.execute("SELECT waiting_since FROM conversations WHERE id = ?", [conv_id]).fetchone()
        if not waiting or waiting[0] is None or self.db.execute(
                "SELECT 1 FROM messages WHERE conversation_id = ? AND direction = 'out' AND noise IS NULL "
                "AND sent_at >= ? LIMIT 1", [conv_id, sent_at]).fetchone():
            return  # nobody waits, or a reply after this message is already here
        at = self.now if self.now > sent_at else _after(sent_at, None)
        note = (f"{ANSWERED_ELSEWHERE}: another mail client marked the message of {sent_at} answered, "
                "and no reply is in the synced folders")
        self.add(MessageRecord(external_id=f"answered-elsewhere:{rec.external_id}", direction="out", sent_at=at,
                               subject=rec.subject, text="(answered in another mail client)",
                               in_reply_to=rec.external_id, recipients=(rec.sender_handle,), notes=(note,)))

    def update_conversation(self, conv_id: int, rec: MessageRecord, direction: str, sent_at: str,
                            noise: bool, *, force_recompute: bool = False) -> None:
        conv = self.db.execute(
            """SELECT waiting_since, last_inbound_at, last_outbound_at, last_message_at, status, status_at,
                   message_count, last_activity_at FROM conversations WHERE id = ?""", [conv_id]).fetchone()
        state = aging.ConvState(conv[0], conv[1], conv[2], conv[3])
        new_state = None if force_recompute else aging.apply(state, aging.Msg(direction, sent_at, noise),
                                                               self.cfg.waiting_since)
        if new_state is None:
            judge_replies(self.db, conv_id, self.owner)
            new_state = _recompute(self.db, conv_id, self.cfg.waiting_since)
        status, status_at = conv[4], conv[5]
        new_status = status
        if direction == "in" and not noise and (status_at is None or sent_at > status_at):
            if status == "noise" or status == "done":
                new_status = "open"
            elif status == "snoozed" and not (self.cfg.snooze_ignores_thanks and is_short_thanks(rec.text)):
                new_status = "open"
        sets = {"message_count": conv[6] + 1}
        # Only the columns that change: SQLite leaves an index alone when no column of it is
        # SET, and conversations carry eight of them.
        for i, (col, value) in enumerate((("waiting_since", new_state.waiting_since),
                                          ("last_inbound_at", new_state.last_inbound_at),
                                          ("last_outbound_at", new_state.last_outbound_at),
                                          ("last_message_at", new_state.last_message_at),
                                          ("last_activity_at", sent_at if conv[7] is None or sent_at > conv[7]
                                           else conv[7]))):
            if value != conv[i if i < 4 else 7]:
                sets[col] = value
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


#: "Fwd:", "FW:", "WG:" (German), "TR:" (French), "RV:" (Spanish), "I:" (Italian Outlook).


def reply_verdict(to: set[str], subject: str, customers: set[str], owner: frozenset[str]) -> str | None:
    """``None`` when an outbound message addressed to ``to`` is a reply to the conversation's
    ``customers``; else why it is not (a forward to a supplier, a note to staff)."""
    if not customers or not to or to & customers:
        return None  # no To/Cc at all (a Bcc'd reply, a reply made elsewhere): given the benefit
    others = sorted(r for r in to if r not in owner) or sorted(to)
    kind = "a forward" if is_forward(subject) else "a message"
    return f"{NOT_A_REPLY}: {kind} to {', '.join(others[:3]) or 'nobody'}"


def side_verdict(forward_noise: str) -> str:
    """"not from the customer: an answer to your forward to orders@…" from the forward's own
    verdict ("not a reply to the customer: a forward to orders@…")."""
    what = forward_noise.partition(": ")[2] or "message to someone else"
    return f"{SIDE_ANSWER}: an answer to your {what.removeprefix('a ')}"


def _after(parent_at: str, arrived: str | None) -> str:
    """A time after ``parent_at``: the arrival time when it is later, else one second after."""
    if arrived and arrived > parent_at:
        return arrived
    return aging.to_iso(aging.parse_iso(parent_at) + timedelta(seconds=1))


#: A message's stored ``extra`` when it holds a Reply-To (most do not: they are not read).
_REPLY_TO_SQL = "CASE WHEN instr(extra, '\"reply-to\"') THEN extra END"


MAX_REPLY_TO = 20


def reply_to_list(extra: str | None) -> list[str]:
    """The ``Reply-To`` addresses kept in a message's ``extra`` JSON, in the header's order: a
    reply addressed there is a reply to that customer (RFC 5322 3.6.2: mail clients answer to
    Reply-To)."""
    if not extra:
        return []
    try:
        value = (json.loads(extra).get("headers") or {}).get("reply-to")
    except (ValueError, AttributeError):
        return []
    if not isinstance(value, str):
        return []
    out: list[str] = []
    for _, a in parse_addresses(value[:4000])[:MAX_REPLY_TO]:
        a = (a or "").strip().lower()
        if "@" in a and a not in out:
            out.append(a)
    return out


def answer_to(message: Mapping[str, Any], owner: frozenset[str]) -> tuple[str, ...]:
    """Where a reply to this inbound email goes: the addresses its ``Reply-To`` asks for, as
    every mail client does (less the owner's own, and less no-reply addresses a misconfigured
    form may set), else its sender. A form's or a marketplace's lead is already its sender."""
    from owner_tui.mail.leads import customer_address

    asked = tuple(a for a in reply_to_list(message.get("extra")) if a not in owner and customer_address(a))
    sender = (message.get("sender_handle") or "").strip()
    return asked or ((sender,) if sender else ())


def _same_people(db, handles: set[str]) -> set[str]:
    """The addresses of the contacts behind ``handles`` (a merged contact has several)."""
    if not handles:
        return set()
    marks = ",".join("?" * len(handles))
    rows = db.execute(f"""SELECT i2.handle FROM identities i1 JOIN identities i2 ON i2.contact_id = i1.contact_id
                          WHERE i1.channel = 'email' AND i2.channel = 'email' AND i1.handle IN ({marks})""",
                      sorted(handles)).fetchall()
    return handles | {r[0] for r in rows}


def judge_replies(db, conv_id: int, owner: frozenset[str]) -> None:
    """Judge every outbound email of a conversation again as a reply or not, in time order: an
    outbound message answers the customers who wrote before it (the senders of earlier inbound
    messages, with their contacts' other addresses). Needed when messages arrive out of order
    (a Sent folder synced before the inbox). A conversation the owner's forward started is the
    customer's once the customer's message is in it."""
    conv = db.execute("SELECT channel, contact_id FROM conversations WHERE id = ?", [conv_id]).fetchone()
    if not conv or conv[0] != "email":
        return
    seen: set[str] = set()
    first_sender = None
    reply_to: set[str] = set()  # where the customers asked to be answered
    not_replies: dict[str, str] = {}  # the owner's forwards and notes to others: id -> verdict
    rows = db.execute(f"SELECT id, direction, noise, sender_handle, recipients, subject, {_REPLY_TO_SQL}, "
                      "external_id, in_reply_to, refs FROM messages WHERE conversation_id = ? "
                      "ORDER BY sent_at, direction = 'out', id", [conv_id]).fetchall()
    for mid, direction, noise, sender, recipients, subject, extra, external_id, in_reply_to, refs in rows:
        if direction == "in":
            if noise is None or noise.startswith(SIDE_ANSWER):
                parent = in_reply_to or (json.loads(refs or "[]") or [""])[-1]
                side = (side_verdict(not_replies[parent]) if parent in not_replies and sender not in owner
                        and sender not in (_same_people(db, seen) | reply_to) else None)
                if side != noise:
                    db.execute("UPDATE messages SET noise = ? WHERE id = ?", [side, mid])
                    noise = side
            if noise is None and sender and "@" in sender and sender not in owner:
                seen.add(sender)
                reply_to.update(reply_to_list(extra))
                first_sender = first_sender or sender
            continue
        if noise is not None and not noise.startswith(NOT_A_REPLY):
            continue
        verdict = reply_verdict({r.lower() for r in json.loads(recipients or "[]")}, subject,
                                (_same_people(db, seen) | reply_to) - owner, owner)
        if verdict != noise:
            db.execute("UPDATE messages SET noise = ? WHERE id = ?", [verdict, mid])
        if verdict:
            not_replies[external_id] = verdict
    if first_sender:
        contact = db.execute("SELECT contact_id FROM identities WHERE channel = 'email' AND handle = ?",
                             [first_sender]).fetchone()
        mine = {r[0] for r in db.execute("SELECT handle FROM identities WHERE contact_id = ?", [conv[1]])}
        if contact and not mine & seen:
            db.execute("UPDATE conversations SET contact_id = ? WHERE id = ?", [contact[0], conv_id])


def _recompute(db, conv_id: int, mode: str) -> aging.ConvState:
    msgs = [aging.Msg(r[0], r[1], r[2] is not None) for r in db.execute(
        "SELECT direction, sent_at, noise FROM messages WHERE conversation_id = ?", [conv_id])]
    return aging.recompute(msgs + call_back_replies(db, conv_id), mode)


def call_back_replies(db, conv_id: int) -> list[aging.Msg]:
    """For a ``call`` conversation (``call:+1555...``): the owner's texts to that number on the
    same account (its ``sms:`` and ``whatsapp:`` conversations), which answer a missed call as
    well as a call back does. Only delivered ones count (an undelivered text is noise)."""
    conv = db.execute("SELECT channel, external_key, account_id FROM conversations WHERE id = ?", [conv_id]).fetchone()
    if not conv or conv[0] != "call" or not str(conv[1]).startswith("call:"):
        return []
    number = conv[1][len("call:"):]
    return [aging.Msg("out", r[0], False) for r in db.execute(
        """SELECT m.sent_at FROM messages m JOIN conversations c ON c.id = m.conversation_id
           WHERE c.account_id = ? AND c.external_key IN (?, ?) AND m.direction = 'out' AND m.noise IS NULL""",
        [conv[2], f"sms:{number}", f"whatsapp:{number}"])]


def rebuild_conversation(store: "Store", conv_id: int) -> aging.ConvState:
    """Recompute a conversation's derived state from its messages (the reference the
    incremental path must equal). Call inside ``store.write()``."""
    db = store.db
    judge_replies(db, conv_id, store.owner_addresses())
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
