"""Phone numbers in the store (issue 19): who opted out of texts, and which contacts share a
number (a texter, a caller, a feedback form's phone, a number written in a review).

Opt-out: each inbound text whose whole body is an opt-out or opt-in keyword (``phone``) sets
the number's row in ``phone_opt_outs`` when it is newer than the row's last change, so the
state is the customer's latest word whatever order the messages were synced in.
"""

from __future__ import annotations

from typing import Any

from owner_tui.phone import OPT_OUT_KEYWORDS, to_e164


def record_keyword(db: Any, e164: str, word: str, at: str, channel: str) -> None:
    """Remember a STOP/START-like keyword texted by ``e164`` at ``at`` (inside a write)."""
    opted_out_at = at if word in OPT_OUT_KEYWORDS else None
    db.execute(
        """INSERT INTO phone_opt_outs (e164, opted_out_at, keyword, changed_at, channel) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (e164) DO UPDATE SET opted_out_at = excluded.opted_out_at, keyword = excluded.keyword,
               changed_at = excluded.changed_at, channel = excluded.channel
           WHERE excluded.changed_at >= phone_opt_outs.changed_at""",
        [e164, opted_out_at, word, at, channel])


class PhonesMixin:
    db: Any

    def phone_opt_out(self, e164: str) -> str | None:
        """When the customer at ``e164`` opted out of texts (their STOP's time, UTC ISO), or None
        when they never did or opted back in (START). The sender checks it before any text."""
        number = to_e164(e164) or e164
        row = self.db.execute("SELECT opted_out_at FROM phone_opt_outs WHERE e164 = ?", [number]).fetchone()
        return row[0] if row else None

    def phone_opt_out_keyword(self, e164: str) -> str | None:
        """The keyword behind ``phone_opt_out`` ("STOP", "UNSUBSCRIBE"...), for the owner's words."""
        number = to_e164(e164) or e164
        row = self.db.execute("SELECT keyword, opted_out_at FROM phone_opt_outs WHERE e164 = ?", [number]).fetchone()
        return row[0] if row and row[1] else None

    def contact_phones(self, contact_id: int) -> set[str]:
        """The numbers a contact texts or calls from (its ``phone`` identities, merged ones too)."""
        return {r[0] for r in self.db.execute(
            """SELECT i.handle FROM identities i JOIN contacts c ON c.id = i.contact_id
               WHERE i.channel = 'phone' AND (c.id = ? OR c.merged_into = ?)""", [contact_id, contact_id])}

    def phone_suggestions(self, contact_id: int) -> list[int]:
        """Contacts that share a number with ``contact_id``: the number is one's identity and
        is written in the other's review or feedback, either way round. Never the contact itself,
        never a contact already merged away."""
        mine = self.contact_phones(contact_id)
        mentioned = {r[0] for r in self.db.execute(
            """SELECT DISTINCT pm.e164 FROM phone_mentions pm JOIN messages m ON m.id = pm.message_id
               JOIN conversations cv ON cv.id = m.conversation_id WHERE cv.contact_id = ?""", [contact_id])}
        out: list[int] = []
        if mentioned:
            marks = ",".join("?" * len(mentioned))
            out += [r[0] for r in self.db.execute(
                f"""SELECT DISTINCT COALESCE(c.merged_into, c.id) FROM identities i JOIN contacts c ON c.id = i.contact_id
                    WHERE i.channel = 'phone' AND i.handle IN ({marks})""", sorted(mentioned))]
        if mine:
            marks = ",".join("?" * len(mine))
            out += [r[0] for r in self.db.execute(
                f"""SELECT DISTINCT cv.contact_id FROM phone_mentions pm JOIN messages m ON m.id = pm.message_id
                    JOIN conversations cv ON cv.id = m.conversation_id
                    WHERE pm.e164 IN ({marks}) AND cv.contact_id IS NOT NULL""", sorted(mine))]
        seen: list[int] = []
        for cid in out:
            if cid != contact_id and cid not in seen:
                seen.append(cid)
        return seen
