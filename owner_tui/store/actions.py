"""What the owner does to conversations: done, snooze, replied elsewhere, noise, undo.

Every change is an ``events`` row holding the state before and after, written in the same
transaction: undo restores the "before" of the latest event not yet undone, and the
metrics read the same log.
"""

from __future__ import annotations

import json
from datetime import datetime

from owner_tui import aging
from owner_tui.classify import noise_reason
from owner_tui.records import MessageRecord
from owner_tui.store.queries import escape_like

_STATE_COLS = ("status", "status_at", "snoozed_until", "replied_elsewhere")


class ActionsMixin:
    # -- helpers ---------------------------------------------------------------------------

    def _state(self, conv_id: int) -> dict:
        row = self.db.execute(f"SELECT {', '.join(_STATE_COLS)} FROM conversations WHERE id = ?",
                              [conv_id]).fetchone()
        if row is None:
            raise KeyError(f"no conversation {conv_id}")
        return dict(zip(_STATE_COLS, row))

    def _set_state(self, conv_id: int, kind: str, changes: dict, extra: dict | None = None) -> int:
        before = self._state(conv_id)
        after = {**before, **changes}
        self.db.execute(f"UPDATE conversations SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                        [*changes.values(), conv_id])
        return self.db.execute(
            "INSERT INTO events (at, conversation_id, kind, before, after) VALUES (?, ?, ?, ?, ?)",
            [self.now_iso(), conv_id, kind, json.dumps(before),
             json.dumps({**after, **(extra or {}), **({"batch": batch} if (batch := getattr(self, "_batch", None))
                                                      else {})})]).lastrowid

    # -- state changes ---------------------------------------------------------------------

    def mark_done(self, conv_id: int) -> None:
        with self.write():
            self._set_state(conv_id, "done", {"status": "done", "status_at": self.now_iso(), "snoozed_until": None})

    def reopen(self, conv_id: int) -> None:
        with self.write():
            self._set_state(conv_id, "reopen", {"status": "open", "status_at": self.now_iso(), "snoozed_until": None})

    def snooze(self, conv_id: int, until: datetime) -> None:
        until_iso = aging.to_iso(until)
        if until_iso <= self.now_iso():
            raise ValueError("a snooze must end in the future")
        with self.write():
            self._set_state(conv_id, "snooze", {"status": "snoozed", "status_at": self.now_iso(),
                                                "snoozed_until": until_iso})

    def wake_snoozed(self) -> list[int]:
        """Bring back conversations whose snooze has ended; returns their ids."""
        now = self.now_iso()
        ids = [r[0] for r in self.db.execute(
            "SELECT id FROM conversations WHERE status = 'snoozed' AND snoozed_until <= ?", [now])]
        if ids:
            with self.write():
                for cid in ids:
                    self._set_state(cid, "wake", {"status": "open", "snoozed_until": None})
        return ids

    def mark_replied_elsewhere(self, conv_id: int, note: str = "") -> None:
        """The owner answered outside owner-tui (phone, the platform's site): an outbound
        message at this moment closes the wait honestly, and metrics see when."""
        from owner_tui.store.ingest import Ingester

        now = self.now_iso()
        conv = self.conversation(conv_id)
        with self.write():
            ext = f"replied-elsewhere:{conv_id}:{now}"
            ing = Ingester(self, conv["account_id"], self.now())
            ing.add(MessageRecord(external_id=ext, channel=conv["channel"], direction="out", sent_at=now,
                                  text=note or "(replied elsewhere)", thread_key=conv["external_key"],
                                  in_reply_to=conv["external_key"] if conv["channel"] == "email" else None,
                                  subject=conv["subject"]))
            self._set_state(conv_id, "replied_elsewhere", {"replied_elsewhere": 1}, {"message": ext})

    def add_rule(self, pattern: str, action: str = "noise", conv_id: int | None = None) -> int:
        """A sender (``a@b.com``) or domain (``@b.com``) rule; re-classifies that sender's
        inbound messages and records an undoable event."""
        from owner_tui.store.ingest import rebuild_conversation

        pattern = pattern.strip().lower()
        if not pattern or ("@" not in pattern and not pattern.startswith("name:")):
            raise ValueError("a rule needs an address (a@b.com) or a domain (@b.com)")
        with self.write():
            self.db.execute("INSERT INTO rules (pattern, action, created_at) VALUES (?, ?, ?) "
                            "ON CONFLICT (pattern) DO UPDATE SET action = excluded.action",
                            [pattern, action, self.now_iso()])
            self._invalidate()
            touched = self._reclassify(pattern)
            before = self._state(conv_id) if conv_id else {}
            if conv_id and action == "noise":
                self.db.execute("UPDATE conversations SET status = 'noise', status_at = ? WHERE id = ?",
                                [self.now_iso(), conv_id])
                touched.add(conv_id)
            for cid in touched:
                rebuild_conversation(self, cid)
            return self.db.execute(
                "INSERT INTO events (at, conversation_id, kind, before, after) VALUES (?, ?, 'rule', ?, ?)",
                [self.now_iso(), conv_id, json.dumps(before),
                 json.dumps({"pattern": pattern, "action": action})]).lastrowid

    def _reclassify(self, pattern: str) -> set[int]:
        """Re-run the noise classifier on inbound messages matching ``pattern``."""
        from owner_tui.store.ingest import stored_record

        sql = ("SELECT m.id, m.conversation_id, m.sender_handle, m.rating, m.text, m.extra, c.channel, m.subject, "
               "m.attachments, m.sender_name, m.recipients "
               "FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.direction = 'in' AND ")
        if pattern.startswith("@"):
            cursor = self.db.execute(sql + "m.sender_handle LIKE ? ESCAPE '\\'", ["%" + escape_like(pattern)])
        else:
            cursor = self.db.execute(sql + "m.sender_handle = ?", [pattern])
        names = [d[0] for d in cursor.description]
        touched: set[int] = set()
        rules = self.rules()
        for values in cursor.fetchall():
            row = dict(zip(names, values))
            mid, cid = row["id"], row["conversation_id"]
            reason = noise_reason(stored_record(row), rules,
                                  positive_rating_only_awaits=self.aging.positive_rating_only_awaits,
                                  groups=self.group_addresses())
            self.db.execute("UPDATE messages SET noise = ? WHERE id = ?", [reason, mid])
            touched.add(cid)
        return touched

    def undo(self) -> dict | None:
        """Undo the owner's latest change; returns the event undone, or None. A bulk change
        (``bulk``) is one step: every event of its batch is undone together."""
        with self.write():
            row = self.db.execute("SELECT id, conversation_id, kind, before, after FROM events "
                                  "WHERE undone = 0 AND kind != 'wake' ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                return None
            batch = (json.loads(row[4]) or {}).get("batch") if row[4] else None
            rows = [row]
            if batch:
                rows = self.db.execute("SELECT id, conversation_id, kind, before, after FROM events WHERE undone = 0 "
                                       "AND kind != 'wake' AND json_extract(after, '$.batch') = ? ORDER BY id DESC",
                                       [batch]).fetchall()
            for r in rows:
                self._undo_event(r)
            event = {"id": row[0], "conversation_id": row[1], "kind": row[2]}
            if batch:
                event["count"] = len(rows)
            return event

    def _undo_event(self, row) -> None:
        from owner_tui.store.ingest import rebuild_conversation

        eid, conv_id, kind, before, after = row[0], row[1], row[2], json.loads(row[3]), json.loads(row[4])
        if kind == "rule":
            self.db.execute("DELETE FROM rules WHERE pattern = ?", [after["pattern"]])
            self._invalidate()
            touched = self._reclassify(after["pattern"])
            if conv_id and before:
                touched.add(conv_id)
            for cid in touched:
                rebuild_conversation(self, cid)
        if kind == "merge":
            self._reverse_merge(before, after or {})
        if kind == "replied_elsewhere" and after.get("message"):
            self.db.execute("DELETE FROM messages WHERE account_id = (SELECT account_id FROM conversations "
                            "WHERE id = ?) AND external_id = ?", [conv_id, after["message"]])
            rebuild_conversation(self, conv_id)
        if conv_id and before:
            cols = [c for c in _STATE_COLS if c in before]
            self.db.execute(f"UPDATE conversations SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                            [*(before[c] for c in cols), conv_id])
        self.db.execute("UPDATE events SET undone = 1 WHERE id = ?", [eid])

    def bulk(self, kind: str, ids, until: datetime | None = None) -> int:
        """Apply ``done``, ``snooze`` (until), ``replied_elsewhere`` or ``noise`` to many
        conversations as one undoable step (their events share a batch); returns how many."""
        import uuid

        ids = list(dict.fromkeys(ids))
        if kind == "snooze" and (until is None or aging.to_iso(until) <= self.now_iso()):
            raise ValueError("a snooze must end in the future")
        self._batch = uuid.uuid4().hex
        try:
            with self.write():
                now = self.now_iso()
                for cid in ids:
                    if kind == "done":
                        self._set_state(cid, "done", {"status": "done", "status_at": now, "snoozed_until": None})
                    elif kind == "snooze":
                        self._set_state(cid, "snooze", {"status": "snoozed", "status_at": now,
                                                        "snoozed_until": aging.to_iso(until)})
                    elif kind == "noise":
                        self._set_state(cid, "noise", {"status": "noise", "status_at": now, "snoozed_until": None})
                    elif kind == "replied_elsewhere":
                        self.mark_replied_elsewhere(cid)
                    else:
                        raise ValueError(f"no bulk action {kind!r}")
        finally:
            self._batch = None
        return len(ids)

    # -- contacts, drafts, templates -------------------------------------------------------

    def merge_contacts(self, keep: int, merge: int) -> None:
        """Make ``merge`` (e.g. a reviewer) the same person as ``keep`` (e.g. an email contact).

        The event records exactly what moved (identities, conversations, earlier merges), so
        ``unmerge_contact`` or undo can put each back; a conversation keeps its own messages'
        address, so replies and exports still go where it came from."""
        if keep == merge:
            return
        with self.write():
            moved = {
                "identities": [r[0] for r in self.db.execute("SELECT id FROM identities WHERE contact_id = ?", [merge])],
                "conversations": [r[0] for r in self.db.execute("SELECT id FROM conversations WHERE contact_id = ?",
                                                                [merge])],
                "earlier": [r[0] for r in self.db.execute("SELECT id FROM contacts WHERE merged_into = ?", [merge])],
            }
            self.db.execute("UPDATE identities SET contact_id = ? WHERE contact_id = ?", [keep, merge])
            self.db.execute("UPDATE conversations SET contact_id = ? WHERE contact_id = ?", [keep, merge])
            self.db.execute("UPDATE contacts SET merged_into = ? WHERE id = ? OR merged_into = ?", [keep, merge, merge])
            self.db.execute("INSERT INTO events (at, kind, before, after) VALUES (?, 'merge', ?, ?)",
                            [self.now_iso(), json.dumps({"keep": keep, "merge": merge}), json.dumps(moved)])

    def _reverse_merge(self, before: dict, after: dict) -> None:
        keep, merge = before["keep"], before["merge"]
        for table, key in (("identities", "identities"), ("conversations", "conversations")):
            ids = after.get(key) or []
            if ids:
                self.db.execute(f"UPDATE {table} SET contact_id = ? WHERE contact_id = ? AND id IN "
                                f"({','.join('?' * len(ids))})", [merge, keep, *ids])
        self.db.execute("UPDATE contacts SET merged_into = NULL WHERE id = ? AND merged_into = ?", [merge, keep])
        earlier = after.get("earlier") or []
        if earlier:
            self.db.execute(f"UPDATE contacts SET merged_into = ? WHERE id IN ({','.join('?' * len(earlier))})",
                            [merge, *earlier])

    def unmerge_contact(self, merged: int) -> dict | None:
        """Undo the latest merge of contact ``merged`` into another (CLI: contacts unmerge);
        returns ``{"keep", "merge"}`` or None when it was not merged."""
        with self.write():
            for eid, before, after in self.db.execute(
                    "SELECT id, before, after FROM events WHERE kind = 'merge' AND undone = 0 ORDER BY id DESC").fetchall():
                b = json.loads(before)
                if b.get("merge") == merged:
                    self._reverse_merge(b, json.loads(after or "{}"))
                    self.db.execute("UPDATE events SET undone = 1 WHERE id = ?", [eid])
                    return b
        return None

    def merge_suggestions(self, contact_id: int, limit: int = 9) -> list[dict]:
        """Contacts that may be the same person: the same name (any channel), or a reviewer
        name equal to an email address's name part. Never the contact itself."""
        row = self.db.execute("SELECT name FROM contacts WHERE id = ?", [contact_id]).fetchone()
        name = (row[0] or "").strip().lower() if row else ""
        handles = [r[0].lower() for r in self.db.execute("SELECT handle FROM identities WHERE contact_id = ?",
                                                         [contact_id])]
        locals_ = {h.split("@")[0] for h in handles if "@" in h} | {h.split(":", 1)[1] for h in handles if ":" in h}
        out = []
        # The same phone number first (issue 19): a texter or caller whose number a reviewer or a
        # feedback form gave is very likely that person.
        by_phone = self.phone_suggestions(contact_id)[:limit]  # type: ignore[attr-defined]
        if by_phone:
            marks = ",".join("?" * len(by_phone))
            rows = {r["id"]: r for r in self.db.query(
                f"""SELECT ct.id, ct.name, group_concat(i.channel || ' ' || i.handle, ', ') AS handles,
                          (SELECT count(*) FROM conversations c WHERE c.contact_id = ct.id) AS conversations,
                          'same phone number' AS why
                   FROM contacts ct LEFT JOIN identities i ON i.contact_id = ct.id
                   WHERE ct.merged_into IS NULL AND ct.id IN ({marks}) GROUP BY ct.id""", by_phone)}
            out += [rows[c] for c in by_phone if c in rows]
        for r in self.db.query(
                """SELECT ct.id, ct.name, group_concat(i.channel || ' ' || i.handle, ', ') AS handles,
                          (SELECT count(*) FROM conversations c WHERE c.contact_id = ct.id) AS conversations
                   FROM contacts ct JOIN identities i ON i.contact_id = ct.id
                   WHERE ct.merged_into IS NULL AND ct.id != ? GROUP BY ct.id ORDER BY ct.name""", [contact_id]):
            other = (r["name"] or "").strip().lower()
            if any(o["id"] == r["id"] for o in out):
                continue
            their = {h.split(" ", 1)[1].split("@")[0].split(":", 1)[-1] for h in (r["handles"] or "").split(", ") if " " in h}
            if (name and other == name) or (name and name.replace(" ", "") in their) or (other and other.replace(" ", "") in locals_):
                out.append(r)
            if len(out) >= limit:
                break
        return out

    def save_draft(self, conv_id: int, body: str) -> None:
        with self.write():
            if body.strip():
                self.db.execute("INSERT INTO drafts (conversation_id, body, updated_at) VALUES (?, ?, ?) "
                                "ON CONFLICT (conversation_id) DO UPDATE SET body = excluded.body, "
                                "updated_at = excluded.updated_at", [conv_id, body, self.now_iso()])
            else:
                self.db.execute("DELETE FROM drafts WHERE conversation_id = ?", [conv_id])

    def draft(self, conv_id: int) -> str | None:
        row = self.db.execute("SELECT body FROM drafts WHERE conversation_id = ?", [conv_id]).fetchone()
        return row[0] if row else None

    def templates(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM templates ORDER BY name"))

    def save_template(self, name: str, body: str) -> None:
        with self.write():
            self.db.execute("INSERT INTO templates (name, body) VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
                            "SET body = excluded.body", [name, body])
