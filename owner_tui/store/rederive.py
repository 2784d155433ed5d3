"""Reading every stored message again when the rules of reading change (migration m003).

An owner who upgrades must not need a reset for the list to become right: contact-form leads
hidden as noise, forwards that closed a wait, replies ordered before their question, repeats
shown twice, auto-replies and bounces left waiting. ``rederive`` applies today's rules to what
the store already holds, inside the caller's write transaction, then rebuilds every
conversation's state. The owner's own decisions (done, snoozed, marked noise: a status with a
``status_at``) are kept.

Raw mail is parsed again only where the stored headers cannot answer (a machine or own-address
sender whose Reply-To was not kept, a possible bounce), so an upgrade of a big store is quick.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from owner_tui import aging
from owner_tui.classify import direction as classify_direction
from owner_tui.classify import noise_reason, outbound_noise_reason
from owner_tui.mail.decode import Problems, decode_words, one_line
from owner_tui.mail.leads import is_machine_sender
from owner_tui.records import MessageRecord
from owner_tui.store.ingest import BOUNCED, NOT_A_REPLY, Ingester, rebuild_conversation, stored_record
from owner_tui.threader import has_thread_headers, normalize_subject

if TYPE_CHECKING:
    from owner_tui.store import Store

_COLUMNS = ("id, conversation_id, account_id, direction, external_id, sent_at, sender_handle, sender_name, "
            "recipients, subject, text, rating, noise, in_reply_to, refs, raw, attachments, folder, extra, notes")


#: What only the raw mail shows to a rule added later: an emoji reaction's part, a spam
#: filter's verdict header or fml's list header (kept with the message only since m012), DSPAM's
#: and Microsoft 365's verdicts, a tracker's header, a list server's Sender (since m014).
_RAW_SIGNS = re.compile(rb"text/vnd\.google\.email-reaction\+json|^X-Spam(?:-Flag|-Status)?:|^X-MLServer:|"
                        rb"^X-DSPAM-Result:|^X-Forefront-Antispam-Report:|^X-(?:JIRA-FingerPrint|GitHub-Reason|"
                        rb"GitLab-Project|Redmine-Project|Bugzilla-Product|Errors-To):|^Sender:[^\n]*(?:owner-|-bounces|-request|-owner)",
                        re.I | re.M)


def _needs_raw(rec: MessageRecord, owner: frozenset[str], raw: bytes) -> bool:
    handle = rec.sender_handle.lower()
    return ("reply-to" not in rec.headers and (is_machine_sender(handle) or handle in owner or not handle)) or (
        "content-type" in rec.headers and "report" in rec.headers["content-type"].lower()) or (
        bool(_RAW_SIGNS.search(raw)))


def rederive(store: "Store") -> None:
    """Apply today's reading rules to every stored email, then rebuild every conversation.
    Call inside ``store.write()``."""
    from owner_tui.mail.parse import parse_message

    db = store.db
    owner = store.owner_addresses()
    ingesters: dict[int, Ingester] = {}
    touched: set[int] = set()
    bounces: list[tuple[int, str, int]] = []
    rows = db.execute(f"SELECT {_COLUMNS} FROM messages m WHERE EXISTS (SELECT 1 FROM conversations c "
                      "WHERE c.id = m.conversation_id AND c.channel = 'email') ORDER BY id").fetchall()
    names = [c.strip() for c in _COLUMNS.split(",")]
    for values in rows:
        row = dict(zip(names, values))
        if str(row["external_id"]).startswith(("replied-elsewhere:", "answered-elsewhere:")):
            continue
        ing = ingesters.get(row["account_id"]) or ingesters.setdefault(
            row["account_id"], Ingester(store, row["account_id"], store.now()))
        rec = stored_record(row)
        if row["raw"] and _needs_raw(rec, owner, row["raw"]):
            fresh = parse_message(row["raw"], folder=row["folder"])
            rec = replace(rec, headers=fresh.headers, arrived_at=fresh.arrived_at,
                          extra={**rec.extra, **fresh.extra}, in_reply_to=rec.in_reply_to or fresh.in_reply_to)
        if row["direction"] == "out" and rec.sender_handle.lower() not in owner:
            rec = replace(rec, direction="out")  # outbound though not from an owner address: filed in Sent
        rec = ing.read_person(rec)
        direction = classify_direction(rec, owner)
        if direction == "in":
            noise = noise_reason(rec, ing.rules, positive_rating_only_awaits=store.aging.positive_rating_only_awaits,
                                 groups=ing.groups)
        else:
            noise = row["noise"] if (row["noise"] or "").startswith((NOT_A_REPLY, BOUNCED)) else \
                outbound_noise_reason(rec)
        notes = json.loads(row["notes"] or "[]")
        notes += [n for n in rec.notes if n not in notes]
        before = (row["direction"], row["noise"], row["sender_handle"], json.loads(row["notes"] or "[]"))
        if (direction, noise, rec.sender_handle.lower(), notes) != before:
            db.execute("UPDATE messages SET direction = ?, noise = ?, sender_handle = ?, sender_name = ?, notes = ?, "
                       "arrived_at = coalesce(arrived_at, ?) WHERE id = ?",
                       [direction, noise, rec.sender_handle.lower(), rec.sender_name, json.dumps(notes),
                        rec.arrived_at or None, row["id"]])
            touched.add(row["conversation_id"])
            if rec.sender_handle.lower() != row["sender_handle"] and direction == "in":
                contact = ing.contact_for("email", rec.sender_handle, rec.sender_name)
                db.execute("UPDATE conversations SET contact_id = ? WHERE id = ? AND contact_id IN "
                           "(SELECT contact_id FROM identities WHERE channel = 'email' AND handle = ?)",
                           [contact, row["conversation_id"], row["sender_handle"]])
        if direction == "in" and noise and rec.extra.get("returned_id"):
            bounces.append((row["account_id"], rec.extra["returned_id"], row["conversation_id"]))
    for account_id, returned, conv_id in bounces:
        if ingesters[account_id].mark_bounced(returned, conv_id):
            touched.update(r[0] for r in db.execute("SELECT conversation_id FROM messages WHERE account_id = ? "
                                                    "AND external_id = ?", [account_id, returned]))
    touched |= _causal_order(db)
    _merge_repeats(store)
    _decode_names(db)
    for (conv_id,) in db.execute("SELECT id FROM conversations WHERE channel = 'email'").fetchall():
        _fix_status(db, conv_id)
        rebuild_conversation(store, conv_id)
    db.execute("UPDATE store_meta SET value = 'done' WHERE key = 'rederive'")


def _causal_order(db) -> set[int]:
    """Replies dated before the message they answer are moved after it."""
    touched: set[int] = set()
    for _ in range(10):  # chains of replies settle in a few rounds
        rows = db.execute(
            """SELECT c.id, c.conversation_id, c.sent_at, c.arrived_at, c.notes, p.sent_at FROM messages c
               JOIN messages p ON p.account_id = c.account_id AND p.external_id = c.in_reply_to
               WHERE c.sent_at <= p.sent_at""").fetchall()
        if not rows:
            break
        for mid, conv_id, at, arrived, notes_json, parent_at in rows:
            fixed = arrived if arrived and arrived > parent_at else aging.to_iso(
                aging.parse_iso(parent_at) + timedelta(seconds=1))
            notes = json.loads(notes_json or "[]") + [
                f"dated {at}, not after the message it answers ({parent_at}): ordered after it"]
            db.execute("UPDATE messages SET sent_at = ?, notes = ? WHERE id = ?", [fixed, json.dumps(notes), mid])
            touched.add(conv_id)
    return touched


def _merge_repeats(store: "Store") -> None:
    """Open conversations of one contact on one subject (or the later with no subject at all),
    the later started by a message without threading headers within the window: one
    conversation, as ``Ingester.find_conversation`` files new mail. Left apart when the later
    one holds something of the owner's (a draft, an outbox row, an event)."""
    db = store.db
    window = timedelta(days=store.aging.subject_window_days)
    for (subject_key,) in db.execute("SELECT DISTINCT subject_key FROM conversations WHERE channel = 'email'").fetchall():
        fresh = normalize_subject(subject_key)  # keys written by an older normaliser
        if fresh != subject_key:
            db.execute("UPDATE conversations SET subject_key = ? WHERE subject_key = ? AND channel = 'email'",
                       [fresh, subject_key])
    groups = db.execute(
        """SELECT account_id, contact_id, group_concat(id) FROM conversations
           WHERE channel = 'email' AND status IN ('open', 'snoozed') AND contact_id IS NOT NULL
           GROUP BY account_id, contact_id HAVING count(*) > 1""").fetchall()
    for _account, _contact, ids in groups:
        convs = db.execute(
            f"SELECT id, subject_key, (SELECT min(sent_at) FROM messages WHERE conversation_id = c.id), "
            f"(SELECT max(sent_at) FROM messages WHERE conversation_id = c.id) FROM conversations c "
            f"WHERE id IN ({','.join('?' * len(ids.split(',')))}) ORDER BY 3, id", ids.split(",")).fetchall()
        by_key: dict[str, list] = {}  # subject key -> [conversation id, last message at]
        latest: list | None = None
        for conv_id, key, first_at, last_at in convs:
            target = by_key.get(key) if key else latest
            first = db.execute("SELECT in_reply_to, refs FROM messages WHERE conversation_id = ? ORDER BY sent_at, id "
                               "LIMIT 1", [conv_id]).fetchone()
            busy = any(db.execute(f"SELECT 1 FROM {t} WHERE conversation_id = ? LIMIT 1", [conv_id]).fetchone()
                       for t in ("drafts", "outbox", "events"))
            headerless = first is not None and not has_thread_headers(MessageRecord(
                external_id="x", in_reply_to=first[0], references=tuple(json.loads(first[1] or "[]"))))
            near = target and target[1] and first_at and \
                aging.parse_iso(first_at) - aging.parse_iso(target[1]) <= window
            if headerless and near and not busy:
                for table in ("messages", "thread_refs"):
                    db.execute(f"UPDATE OR IGNORE {table} SET conversation_id = ? WHERE conversation_id = ?",
                               [target[0], conv_id])
                db.execute("DELETE FROM thread_refs WHERE conversation_id = ?", [conv_id])
                db.execute("DELETE FROM conversations WHERE id = ?", [conv_id])
                target[1] = max(target[1], last_at or "")
                latest = target
            else:
                latest = by_key[key] = [conv_id, last_at]


def _decode_names(db) -> None:
    """Contacts named by a form's Reply-To before its encoded-words were decoded there
    ("=?UTF-8?B?SsO2cmcg...?=" for Jörg Müller): their names, decoded."""
    for contact_id, name in db.execute("SELECT id, name FROM contacts WHERE name LIKE '%=?%?=%'").fetchall():
        decoded = one_line(decode_words(name, Problems(), "name"), Problems(), "name")
        if decoded != name:
            db.execute("UPDATE contacts SET name = ? WHERE id = ?", [decoded, contact_id])


def _fix_status(db, conv_id: int) -> None:
    """A status the rules chose (never one the owner set: those have ``status_at``) follows the
    messages: a conversation with a person's message is not noise, one with only noise is."""
    row = db.execute("SELECT status, status_at FROM conversations WHERE id = ?", [conv_id]).fetchone()
    if row is None or row[1] is not None or row[0] not in ("open", "noise"):
        return
    person = db.execute("SELECT 1 FROM messages WHERE conversation_id = ? AND noise IS NULL LIMIT 1",
                        [conv_id]).fetchone()
    status = "open" if person else "noise"
    if status != row[0]:
        db.execute("UPDATE conversations SET status = ? WHERE id = ?", [status, conv_id])
