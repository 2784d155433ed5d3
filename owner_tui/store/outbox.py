"""The outbox: a reply is a row before anything is sent, so it goes out at most once.

``queued -> sending`` is a compare-and-set in a write transaction, so two workers (the TUI
and a cron sync) can never both send one row. A failed send keeps the body; the owner can
retry or edit it. A row left in ``sending`` by a crash is verified before any retry.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # records load with the first reply, not with every start
    from owner_tui.records import OutgoingReply, SendResult

#: The first look at a text's delivery, this long after the send (then ``store.delivery``'s backoff).
FIRST_DELIVERY_CHECK = 10


def make_message_id(domain: str | None = None) -> str:
    """A fresh Message-ID (without angle brackets), chosen before sending."""
    import secrets
    import socket

    domain = (domain or socket.getfqdn() or "owner-tui.local").strip(".") or "owner-tui.local"
    if "." not in domain:
        domain += ".local"
    return f"{secrets.token_hex(12)}@{domain}"


class OutboxMixin:
    def queue_reply(self, conversation_id: int, body: str, *, account_id: int | None = None,
                    message_id: str | None = None, meta: dict | None = None) -> int:
        if not body.strip():
            raise ValueError("the reply is empty")
        conv = self.conversation(conversation_id)
        if conv is None:
            raise KeyError(f"no conversation {conversation_id}")
        from owner_tui.reply_limits import reply_problem

        too_long = reply_problem(conv["channel"], body)
        if too_long:  # said before anything is queued: the text stays in the editor
            raise ValueError(too_long)
        acc = account_id or conv["account_id"]
        if message_id is None:
            settings = json.loads(self.db.execute("SELECT settings FROM accounts WHERE id = ?",
                                                  [acc]).fetchone()[0] or "{}")
            address = settings.get("address") or settings.get("user") or ""
            message_id = make_message_id(address.rpartition("@")[2] if "@" in address else None)
        now = self.now_iso()
        with self.write():
            oid = self.db.execute(
                "INSERT INTO outbox (conversation_id, account_id, body, message_id, status, meta, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
                [conversation_id, acc, body, message_id, json.dumps(meta or {}), now, now]).lastrowid
            self.db.execute("DELETE FROM drafts WHERE conversation_id = ?", [conversation_id])
            self.db.execute("INSERT INTO events (at, conversation_id, kind, before, after) VALUES (?, ?, 'queue', '{}', ?)",
                            [now, conversation_id, json.dumps({"outbox_id": oid})])
        return oid

    def outbox(self, status: str | None = None, conversation_id: int | None = None) -> list[dict]:
        where, args = [], []
        if status:
            where.append("status = ?")
            args.append(status)
        if conversation_id:
            where.append("conversation_id = ?")
            args.append(conversation_id)
        sql = "SELECT * FROM outbox" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return list(self.db.query(sql, args))

    def outbox_claim(self, outbox_id: int, *, from_status: tuple[str, ...] = ("queued", "failed")) -> bool:
        """``queued|failed -> sending``; False when someone else has it or it is already sent."""
        with self.write():
            marks = ",".join("?" * len(from_status))
            cur = self.db.execute(
                f"UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ? "
                f"WHERE id = ? AND status IN ({marks})", [self.now_iso(), outbox_id, *from_status])
            return cur.rowcount == 1

    def outbox_finish(self, outbox_id: int, result: SendResult) -> None:
        """Record a successful send: the row becomes ``sent`` and the reply an outbound message
        in the conversation, which closes the wait; both in one transaction."""
        from owner_tui import records
        from owner_tui.store.ingest import Ingester

        row = self.db.execute("SELECT conversation_id, account_id, body, message_id FROM outbox WHERE id = ?",
                              [outbox_id]).fetchone()
        conv = self.conversation(row[0])
        with self.write():
            self.db.execute("UPDATE outbox SET status = 'sent', error = NULL, sent_at = ?, updated_at = ? WHERE id = ?",
                            [result.sent_at, self.now_iso(), outbox_id])
            if result.delivery:  # a text: its delivery is followed from here (store.delivery)
                from datetime import timedelta

                from owner_tui.store.delivery import is_final

                nxt = None if is_final(result.delivery, conv["channel"]) else \
                    (self.now() + timedelta(seconds=FIRST_DELIVERY_CHECK)).isoformat()
                self.db.execute("UPDATE outbox SET remote_id = ?, delivery = ?, delivery_at = ?, delivery_next = ?, "
                                "delivery_error = NULL, delivery_checks = 0 WHERE id = ?",
                                [result.external_id, result.delivery, self.now_iso(), nxt, outbox_id])
            ing = Ingester(self, row[1], self.now())
            ing.add(records.MessageRecord(
                external_id=result.external_id or row[3], channel=conv["channel"], direction="out",
                sent_at=result.sent_at, text=row[2], subject=conv["subject"],
                thread_key=conv["external_key"] if conv["channel"] != "email" else None,
                in_reply_to=conv["external_key"] if conv["channel"] == "email" else None,
                extra={"outbox_id": outbox_id, "note": result.note}))
            if conv["channel"] != "email":  # a reply rewritten after a rejection or a removal
                from owner_tui.store.reviews import reply_sent_again

                reply_sent_again(self, row[1], result.external_id or row[3], result.sent_at)
            if result.note and "replied elsewhere" in result.note:
                self.db.execute("UPDATE conversations SET replied_elsewhere = 1 WHERE id = ?", [row[0]])

    def outbox_fail(self, outbox_id: int, error: str) -> None:
        with self.write():
            self.db.execute("UPDATE outbox SET status = 'failed', error = ?, updated_at = ? WHERE id = ?",
                            [error[:1000], self.now_iso(), outbox_id])

    def outbox_cancel(self, outbox_id: int) -> bool:
        with self.write():
            cur = self.db.execute("UPDATE outbox SET status = 'cancelled', updated_at = ? WHERE id = ? "
                                  "AND status IN ('queued', 'failed')", [self.now_iso(), outbox_id])
            return cur.rowcount == 1

    def answer_to(self, message: dict) -> tuple[str, ...]:
        """Where a reply to this inbound email goes: its ``Reply-To`` if it asks (as every mail
        client answers), else its sender (``store.ingest.answer_to``)."""
        from owner_tui.store.ingest import answer_to

        return answer_to(message, self.owner_addresses())

    def outgoing(self, outbox_id: int) -> OutgoingReply:
        """Everything a sender needs for one outbox row."""
        from owner_tui import records

        row = self.db.execute("SELECT * FROM outbox WHERE id = ?", [outbox_id]).fetchone()
        cols = [d[0] for d in self.db.execute("SELECT * FROM outbox LIMIT 0").description]
        ob = dict(zip(cols, row))
        conv = self.conversation(ob["conversation_id"])
        msgs = [m for m in self.messages(ob["conversation_id"]) if m["noise"] is None]
        last_in = next((m for m in reversed(msgs) if m["direction"] == "in"), None)
        parent = last_in or (msgs[-1] if msgs else None)
        to: tuple[str, ...] = ()
        refs: tuple[str, ...] = ()
        if parent:
            if parent["direction"] == "in" and conv["channel"] == "email":
                to = self.answer_to(parent)
            elif parent["direction"] == "in":
                to = (parent["sender_handle"],) if parent["sender_handle"] else ()
            else:
                to = tuple(json.loads(parent["recipients"]))
            refs = tuple(json.loads(parent["refs"] or "[]")) + (parent["external_id"],)
        meta = json.loads(ob["meta"] or "{}")
        if conv["channel"] in records.PHONE_CHANNELS:
            meta.update(self._phone_facts(conv["channel"], last_in, ob))
        return records.OutgoingReply(
            outbox_id=outbox_id, account_id=ob["account_id"], conversation_id=ob["conversation_id"],
            body=ob["body"], message_id=ob["message_id"], channel=conv["channel"],
            external_key=conv["external_key"], to=to, subject=(parent or {}).get("subject") or conv["subject"],
            in_reply_to=parent["external_id"] if parent and conv["channel"] == "email" else None,
            references=refs if conv["channel"] == "email" else (), url=conv["url"],
            meta=meta)

    def _phone_facts(self, channel: str, last_in: dict | None, ob: dict) -> dict:
        """What a text's sender checks at send time (``send/phone_rules``): the customer's number,
        the business number they wrote to or called, when they last wrote (WhatsApp's window),
        whether they texted STOP, and when this attempt started (``verify`` looks from there)."""
        customer = (last_in or {}).get("sender_handle") or ""
        try:
            recipients = json.loads((last_in or {}).get("recipients") or "[]")
            extra = json.loads((last_in or {}).get("extra") or "{}")
        except (TypeError, ValueError):
            recipients, extra = [], {}
        # The sync keeps the number they wrote to or called as ``business_number``; recipients
        # other than the customer are the fallback.
        business = extra.get("business_number") if isinstance(extra, dict) else None
        if not business:
            business = next((r for r in recipients if r != customer), "")
        opt_out = getattr(self, "phone_opt_out", None)
        opted_out_at = None
        if callable(opt_out) and customer:
            number = customer.split(":", 1)[1] if customer.lower().startswith("whatsapp:") else customer
            opted_out_at = opt_out(number)
        return {"customer": customer, "business": business or "",
                "last_inbound_at": (last_in or {}).get("sent_at") if channel == "whatsapp" else None,
                "opted_out_at": opted_out_at, "checked_at": self.now_iso(), "attempted_at": ob["updated_at"]}
